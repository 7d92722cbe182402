package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
)

var driftPeople = map[string]auth.Principal{
	"admin":  {Kind: "user", Person: "ada", Role: auth.Admin},
	"viewer": {Kind: "user", Person: "vic", Role: auth.Viewer},
	"cx":     {Kind: "user", Person: "cyd", Role: auth.Viewer, Team: "cx"},
	"rev":    {Kind: "user", Person: "amy", Role: auth.Reviewer},
}

// The seeded drift events' ids.
var (
	driftTokensID = ids.New("dft_", now.Add(-2*time.Hour))
	driftRefusaID = ids.New("dft_", now.Add(-5*time.Hour))
	// An id without a time in it: found by reading every event.
	driftFinishID = "dft_legacy"
)

// newDriftEnv is a dashboard over a fresh store, with the drift sources
// wired when wired is set.
func newDriftEnv(t *testing.T, wired bool) env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opt := Options{Auth: fakeAuth{driftPeople}, Requests: st, Rollups: st, Now: func() time.Time { return now }}
	if wired {
		opt.Drift = DriftSources{Events: st, Identities: st}
	}
	d, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return env{d: d, st: st}
}

// seedDrift writes calls and events:
//   - openai/gpt-4o, called by support-reply (team cx), answered as
//     gpt-4o-2024-08-06 fp_a three days ago and gpt-4o-2024-11-20 fp_c
//     since yesterday: an identity change the monitor has not stored;
//   - anthropic/claude, called by =HYPERLINK("x") (team growth), answered
//     as claude-a then claude-b: an identity change stored as the monitor
//     stores it;
//   - three behaviour events: output_tokens of support-reply on gpt-4o
//     (continuous, two hours ago), refusal_rate of =HYPERLINK("x") on
//     claude (a rate, five hours ago) and finish_reason of calls naming
//     no use case on claude (categorical, ten days ago).
func seedDrift(t *testing.T, st *sqlite.Store) (liveID, storedID string) {
	t.Helper()
	ctx := context.Background()
	var recs []record.Record
	call := func(id string, at time.Time, useCase, team, provider, model, respModel, fp string) {
		r := record.Record{ID: id, ReceivedAt: at, Endpoint: record.EndpointChatCompletions, Provider: provider,
			RequestedModel: model, Model: model, Status: 200, E2EMs: 500,
			ResponseModel: respModel, SystemFingerprint: fp, Usage: usage.Usage{InputTokens: 10, OutputTokens: 20}}
		r.UseCase, r.Team = useCase, team
		recs = append(recs, r)
	}
	for i := range 10 {
		call(fmt.Sprintf("g-old-%02d", i), now.Add(-72*time.Hour+time.Duration(i)*time.Minute), "support-reply", "cx", "openai", "gpt-4o", "gpt-4o-2024-08-06", "fp_a")
		call(fmt.Sprintf("g-new-%02d", i), now.Add(-24*time.Hour+time.Duration(i)*time.Minute), "support-reply", "cx", "openai", "gpt-4o", "gpt-4o-2024-11-20", "fp_c")
		call(fmt.Sprintf("c-old-%02d", i), now.Add(-96*time.Hour+time.Duration(i)*time.Minute), `=HYPERLINK("x")`, "growth", "anthropic", "claude", "claude-a", "")
		call(fmt.Sprintf("c-new-%02d", i), now.Add(-48*time.Hour+time.Duration(i)*time.Minute), `=HYPERLINK("x")`, "growth", "anthropic", "claude", "claude-b", "")
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	all, err := st.ModelIdentities(ctx, store.IdentityQuery{})
	if err != nil {
		t.Fatal(err)
	}
	evs := drift.IdentityEvents(all)
	if len(evs) != 2 {
		t.Fatalf("%d identity events, want 2: %+v", len(evs), evs)
	}
	save := func(e drift.Event) {
		t.Helper()
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		signal := e.Signal
		if e.Kind == drift.KindModelIdentity {
			signal = drift.SignalModelIdentity
		}
		if err := st.SaveDriftEvent(ctx, store.DriftEvent{ID: e.ID, Signal: signal, UseCase: e.UseCase, Provider: e.Provider, Model: e.Model,
			StartedAt: e.At, DetectedAt: e.DetectedAt, Event: b}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range evs {
		if e.Provider == "openai" {
			liveID = drift.IdentityEventID(e)
			continue
		}
		e.ID, e.DetectedAt = drift.IdentityEventID(e), e.At.Add(time.Minute)
		e.Summary = "anthropic/claude now answers as claude-b (was claude-a)"
		storedID = e.ID
		save(e)
	}

	edges := make([]float64, 21)
	for i := range edges {
		edges[i] = float64(10 * i)
	}
	bh, rh := make([]int, 20), make([]int, 20)
	bh[3], bh[4], rh[12], rh[13] = 150, 150, 30, 30
	bm, rm := 35.0, 125.0
	at := now.Add(-3 * time.Hour)
	save(drift.Event{ID: driftTokensID, Kind: drift.KindBehaviour, Signal: drift.SignalOutputTokens, UseCase: "support-reply", Provider: "openai", Model: "gpt-4o",
		At: at, DetectedAt: now.Add(-2 * time.Hour), Summary: "support-reply on openai/gpt-4o: output_tokens went up +257% (median 35 → 125)",
		Finding: &drift.Finding{Signal: drift.SignalOutputTokens, Test: drift.TestKS, Statistic: 0.42, P: 3e-12, PAdjusted: 4.5e-11,
			EffectName: "ks_d", Effect: 0.42, MinEffect: 0.15, Direction: "up", Change: 2.57, Edges: edges, StartedAt: at,
			Baseline: drift.Window{From: now.Add(-30 * time.Hour), To: at.Add(-time.Minute), Calls: 300, Mean: &bm, Histogram: bh,
				Quantiles: &drift.Quantiles{P5: 31, P25: 33, P50: 35, P75: 38, P95: 44}},
			Recent: drift.Window{From: at, To: now.Add(-2 * time.Hour), Calls: 60, Mean: &rm, Histogram: rh,
				Quantiles: &drift.Quantiles{P5: 120, P25: 122, P50: 125, P75: 131, P95: 139}},
			Changes: []drift.Change{
				{Kind: "prompt_version", Value: "triage@3", Previous: "triage@2", FirstSeen: at, Share: 1, Near: true},
				{Kind: "route", Value: "fast", Previous: "default", FirstSeen: at.Add(40 * time.Minute), Share: 0.2},
			}}})

	bhits, rhits, brate, rrate := 4, 12, 0.01, 0.12
	at = now.Add(-6 * time.Hour)
	save(drift.Event{ID: driftRefusaID, Kind: drift.KindBehaviour, Signal: drift.SignalRefusalRate, UseCase: `=HYPERLINK("x")`, Provider: "anthropic", Model: "claude",
		At: at, DetectedAt: now.Add(-5 * time.Hour), Summary: `=HYPERLINK("x") on anthropic/claude: refusal_rate went up from 1.0% to 12.0%`,
		Finding: &drift.Finding{Signal: drift.SignalRefusalRate, Test: drift.TestFisher, Statistic: 5.1, P: 2e-5, PAdjusted: 0.0004,
			EffectName: "cohens_h", Effect: 0.47, MinEffect: 0.2, Direction: "up", Change: 0.11, StartedAt: at,
			Baseline: drift.Window{From: now.Add(-40 * time.Hour), To: at, Calls: 400, Hits: &bhits, Rate: &brate},
			Recent:   drift.Window{From: at, To: now.Add(-5 * time.Hour), Calls: 100, Hits: &rhits, Rate: &rrate},
			Changes:  []drift.Change{}}})

	at = now.Add(-10 * 24 * time.Hour)
	save(drift.Event{ID: driftFinishID, Kind: drift.KindBehaviour, Signal: drift.SignalFinishReason, Provider: "anthropic", Model: "claude",
		At: at, DetectedAt: at.Add(time.Hour), Summary: "anthropic/claude: finish_reason changed their mix (Cramér's V 0.31)",
		Finding: &drift.Finding{Signal: drift.SignalFinishReason, Test: drift.TestChiSquared, Statistic: 48, P: 1e-9, PAdjusted: 2e-8,
			EffectName: "cramers_v", Effect: 0.31, MinEffect: 0.1, Direction: "changed", StartedAt: at,
			Baseline: drift.Window{From: at.Add(-time.Hour), To: at, Calls: 400, Categories: map[string]int{"stop": 380, "length": 20}},
			Recent:   drift.Window{From: at, To: at.Add(time.Hour), Calls: 100, Categories: map[string]int{"stop": 60, "length": 40}},
			Changes:  []drift.Change{{Kind: "model_identity", Value: "claude-b ", Previous: "claude-a ", FirstSeen: at, Share: 0.9, Near: true}}}})
	return liveID, storedID
}

func (e env) driftPage(t *testing.T, target string, want int) string {
	t.Helper()
	w := e.do(t, req{target: target, session: "viewer"})
	body := w.Body.String()
	if w.Code != want {
		t.Fatalf("GET %s: %d, want %d\n%s", target, w.Code, want, body)
	}
	if strings.Contains(body, " style=") || strings.Contains(body, "<style") || strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") {
		t.Errorf("GET %s: inline style or script, which the CSP blocks", target)
	}
	return body
}

// order reports whether the wants appear in body in this order.
func inOrder(body string, wants ...string) bool {
	at := 0
	for _, s := range wants {
		i := strings.Index(body[at:], s)
		if i < 0 {
			return false
		}
		at += i + len(s)
	}
	return true
}

const (
	tokensSummary  = "output_tokens went up &#43;257%"
	refusalSummary = "refusal_rate went up from 1.0% to 12.0%"
	finishSummary  = "finish_reason changed their mix"
	gptSummary     = "openai/gpt-4o now answers as gpt-4o-2024-11-20 (fp_c) (was gpt-4o-2024-08-06 (fp_a))"
	claudeSummary  = "anthropic/claude now answers as claude-b (was claude-a)"
)

func TestDriftList(t *testing.T) {
	e := newDriftEnv(t, true)
	liveID, storedID := seedDrift(t, e.st)
	body := e.driftPage(t, "/ui/drift", http.StatusOK)
	// Newest first: the tokens (3 h ago), the refusals (6 h ago), the
	// live identity change (yesterday), the stored one (2 days ago) and
	// the finish reasons (10 days ago).
	if !inOrder(body, tokensSummary, refusalSummary, gptSummary, claudeSummary, finishSummary) {
		t.Error("the events are not all listed newest first")
	}
	wantAll(t, "the Drift page", body,
		`href="/ui/drift/`+liveID+`"`, `href="/ui/drift/`+storedID+`"`, `href="/ui/drift/`+driftTokensID+`"`, `href="/ui/drift/`+driftFinishID+`"`,
		`href="/ui/usecases/support-reply"`, `href="/ui/usecases/=HYPERLINK%28%22x%22%29"`,
		"KS D 0.420", "Cohen&#39;s h 0.470", "Cramér&#39;s V 0.310",
		"prompt triage@3", "model identity gpt-4o-2024-11-20 fp_c", "model identity claude-b",
		"(found now)", "(no use case)",
		// The model identities.
		"Model identities", "gpt-4o-2024-08-06 (fp_a)", "gpt-4o-2024-11-20 (fp_c)", "claude-a", "2 identities")
	if strings.Count(body, claudeSummary) != 1 || strings.Count(body, gptSummary) != 1 {
		t.Error("an identity change is listed twice (stored and found)")
	}
	if strings.Count(body, "(found now)") != 1 {
		t.Error("the stored identity change is marked as found now")
	}
	// The route appeared far from the change point: not in the list.
	if strings.Contains(body, "route fast") {
		t.Error("a change far from the change point is listed as changed with it")
	}
	if !strings.Contains(navLinks.FindString(body), `href="/ui/drift" aria-current="page"`) {
		t.Error("the navigation does not mark Drift as the current page")
	}
}

func TestDriftFilters(t *testing.T) {
	e := newDriftEnv(t, true)
	seedDrift(t, e.st)
	all := []string{tokensSummary, refusalSummary, finishSummary, gptSummary, claudeSummary}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"signal=refusal_rate", []string{refusalSummary}},
		{"signal=model_identity", []string{gptSummary, claudeSummary}},
		{"kind=model_identity", []string{gptSummary, claudeSummary}},
		{"kind=behaviour", []string{tokensSummary, refusalSummary, finishSummary}},
		{"kind=behaviour&signal=finish_reason", []string{finishSummary}},
		// A use case: its events and the identity changes of its models.
		{"use_case=support-reply", []string{tokensSummary, gptSummary}},
		{"use_case=support-reply&kind=behaviour", []string{tokensSummary}},
		{"use_case=" + url.QueryEscape(`=HYPERLINK("x")`), []string{refusalSummary, claudeSummary}},
		{"model=claude", []string{refusalSummary, finishSummary, claudeSummary}},
		{"provider=openai", []string{tokensSummary, gptSummary}},
		{"range=7d", []string{tokensSummary, refusalSummary, gptSummary, claudeSummary}},
		// The new identity's first call is 24 hours ago: in.
		{"range=24h", []string{tokensSummary, refusalSummary, gptSummary}},
		{"from=2026-03-01&to=2026-03-05&tz=UTC", []string{finishSummary}},
		{"from=2026-03-13T12:00:00Z", []string{tokensSummary, refusalSummary, gptSummary}},
		{"signal=canary_score:polite", nil},
		{"use_case=nobody", nil},
	} {
		t.Run(tc.query, func(t *testing.T) {
			body := e.driftPage(t, "/ui/drift?"+tc.query, http.StatusOK)
			for _, s := range all {
				if want := slices.Contains(tc.want, s); strings.Contains(body, s) != want {
					t.Errorf("listed %q: %v, want %v", s, !want, want)
				}
			}
			if tc.want == nil && !strings.Contains(body, "No drift event matches these filters") {
				t.Error("no note that nothing matches")
			}
		})
	}
	for _, q := range []string{"signal=bogus", "kind=other", "range=5y", "from=yesterday", "from=2026-03-05&to=2026-03-01", "tz=Mars/Olympus&from=2026-03-01"} {
		body := e.driftPage(t, "/ui/drift?"+q, http.StatusBadRequest)
		if !strings.Contains(body, `class="error"`) {
			t.Errorf("%s: no error shown", q)
		}
	}
	// htmx asks for the results only and gets the URL to push.
	w := e.do(t, req{target: "/ui/drift?kind=behaviour&signal=", session: "viewer", header: map[string]string{"HX-Request": "true", "HX-Target": "results"}})
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "<html") || !strings.Contains(w.Body.String(), tokensSummary) {
		t.Errorf("htmx results: %d\n%s", w.Code, w.Body.String())
	}
	if got := w.Header().Get("HX-Push-Url"); got != "/ui/drift?kind=behaviour" {
		t.Errorf("pushed URL %q", got)
	}
}

func TestDriftEventPages(t *testing.T) {
	e := newDriftEnv(t, true)
	liveID, storedID := seedDrift(t, e.st)
	for _, tc := range []struct {
		name, id string
		want     []string
		not      []string
	}{
		{"continuous", driftTokensID, []string{
			tokensSummary, "Drift of output_tokens", `href="/ui/usecases/support-reply"`, "kolmogorov_smirnov",
			"3.0e-12", "4.5e-11", "KS D 0.420 against a threshold of 0.150", "&#43;257.0% (median)",
			// The histogram: an SVG on the shared edges, and its table.
			"<svg", `class="dh-base"`, `class="dh-recent"`, "30 – 40", "190 – 200 and above", "50.0%",
			// The quantiles.
			"<th scope=\"row\">median</th><td>35</td><td>125</td>", "<th scope=\"row\">p95</th><td>44</td><td>139</td>", "<th scope=\"row\">mean</th>",
			// What else changed: both, the near one highlighted.
			`<tr class="near">`, "prompt triage@3", "route fast", "triage@2", "at the change point",
			// The calls of the scope in the recent window.
			`/ui/calls?from=2026-03-14T12%3A00%3A00Z&amp;model=gpt-4o&amp;provider=openai&amp;to=2026-03-14T13%3A00%3A01Z&amp;use_case=support-reply`,
		}, nil},
		{"rate", driftRefusaID, []string{
			refusalSummary, "fisher_exact", "Cohen&#39;s h 0.470", "4 of 400", "12 of 100", "1.00%", "12.00%", "&#43;11.00 points",
			"Nothing new in the recent window",
		}, []string{"<svg"}},
		{"categorical", driftFinishID, []string{
			finishSummary, "chi_squared", "calls naming no use case on anthropic / claude", "Cramér&#39;s V 0.310",
			"<th scope=\"row\">length</th><td>20</td><td>5.0%</td><td>40</td><td>40.0%</td><td>&#43;35.0</td>",
			"<th scope=\"row\">stop</th><td>380</td><td>95.0%</td><td>60</td><td>60.0%</td><td>-35.0</td>",
			"model identity claude-b", "The calls list cannot select calls without a use case",
		}, []string{"<svg", "use_case="}},
		{"live identity", liveID, []string{
			"Model identity change", gptSummary, "Found from the model identities just now", "gpt-4o-2024-08-06 (fp_a)",
			"<strong>gpt-4o-2024-11-20 (fp_c)</strong>", "Every identity of openai / gpt-4o", `/ui/calls?from=2026-03-13T15%3A00%3A00Z&amp;model=gpt-4o&amp;provider=openai`,
		}, nil},
		{"stored identity", storedID, []string{claudeSummary, "<strong>claude-b</strong>", "Every identity of anthropic / claude", "Detected"}, []string{"just now"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := e.driftPage(t, "/ui/drift/"+url.PathEscape(tc.id), http.StatusOK)
			wantAll(t, tc.name, body, tc.want...)
			for _, s := range tc.not {
				if strings.Contains(body, s) {
					t.Errorf("%s has %q", tc.name, s)
				}
			}
		})
	}
	for _, id := range []string{"dft_nope", "dft_id_000000000000000000000000", ids.New("dft_", now), "x"} {
		body := e.driftPage(t, "/ui/drift/"+id, http.StatusNotFound)
		if !strings.Contains(body, "There is no drift event") {
			t.Errorf("%s: %s", id, body)
		}
	}
}

func TestDriftEmptyAndUnwired(t *testing.T) {
	e := newDriftEnv(t, true)
	body := e.driftPage(t, "/ui/drift", http.StatusOK)
	wantAll(t, "the empty Drift page", body, "No drift found yet", "Model identity", "refusals", "docs/drift.md", "No model reported an identity")
	if !strings.Contains(navLinks.FindString(body), `href="/ui/drift"`) {
		t.Error("a wired Drift page is not in the navigation")
	}

	e = newDriftEnv(t, false)
	body = e.driftPage(t, "/ui/drift", http.StatusOK)
	wantAll(t, "the unwired Drift page", body, "Drift detection is not available on this server")
	if strings.Contains(navLinks.FindString(body), `href="/ui/drift"`) {
		t.Error("an unwired Drift page is in the navigation")
	}
	e.driftPage(t, "/ui/drift/"+driftTokensID, http.StatusNotFound)
}

func TestDriftAccess(t *testing.T) {
	e := newDriftEnv(t, true)
	seedDrift(t, e.st)
	for _, target := range []string{"/ui/drift", "/ui/drift/" + driftTokensID} {
		for _, session := range []string{"cx", "rev"} {
			w := e.do(t, req{target: target, session: session})
			if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "output_tokens") {
				t.Errorf("%s GET %s: %d, want 403 without the event", session, target, w.Code)
			}
		}
		if w := e.do(t, req{target: target}); w.Code != http.StatusSeeOther {
			t.Errorf("anonymous GET %s: %d, want 303 to sign in", target, w.Code)
		}
		if w := e.do(t, req{target: target, session: "admin"}); w.Code != http.StatusOK {
			t.Errorf("admin GET %s: %d", target, w.Code)
		}
	}
	// A team-limited viewer's navigation leaves it out.
	w := e.do(t, req{target: "/ui/calls", session: "cx"})
	if nav := navLinks.FindString(w.Body.String()); strings.Contains(nav, `href="/ui/drift"`) || !strings.Contains(nav, `href="/ui/calls"`) {
		t.Errorf("a team-limited viewer's navigation:\n%s", nav)
	}
}

func TestUseCaseDrift(t *testing.T) {
	e := newDriftEnv(t, true)
	liveID, _ := seedDrift(t, e.st)
	body := e.driftPage(t, "/ui/usecases/support-reply", http.StatusOK)
	wantAll(t, "the use case page", body, `id="drift-h"`, tokensSummary, gptSummary, `href="/ui/drift/`+driftTokensID+`"`,
		`href="/ui/drift/`+liveID+`"`, "prompt triage@3", `href="/ui/drift?from=2026-02-13&amp;to=2026-03-14&amp;use_case=support-reply"`)
	for _, s := range []string{refusalSummary, claudeSummary, finishSummary} {
		if strings.Contains(body, s) {
			t.Errorf("the use case page lists another use case's event: %s", s)
		}
	}
	// The markers on the spend and latency charts.
	charts := regexp.MustCompile(`class="chart" data-chart="([^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(charts) != 2 {
		t.Fatalf("%d charts, want the spend and latency charts", len(charts))
	}
	for i, m := range charts {
		var c chartData
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &c); err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, m := range c.Markers {
			labels = append(labels, m.Label)
		}
		got := strings.Join(labels, "|")
		if !strings.Contains(got, "drift output_tokens") || !strings.Contains(got, "model gpt-4o changed") {
			t.Errorf("chart %d markers %q lack the drift", i, got)
		}
	}
	// A team-limited viewer sees no drift: it spans teams.
	w := e.do(t, req{target: "/ui/usecases/support-reply", session: "cx"})
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `id="drift-h"`) {
		t.Errorf("a team-limited viewer: %d, drift section shown: %v", w.Code, strings.Contains(w.Body.String(), `id="drift-h"`))
	}
	// A use case without events says so.
	body = e.driftPage(t, "/ui/usecases/"+url.PathEscape(`=HYPERLINK("x")`)+"?range=7d", http.StatusOK)
	wantAll(t, "the other use case's page", body, refusalSummary, claudeSummary)
}

func TestIDTime(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 4, 5, 678e6, time.UTC)
	for _, tc := range []struct {
		id   string
		want time.Time
		ok   bool
	}{
		{ids.New("dft_", at), at, true},
		{ids.New("dft_", time.UnixMilli(1)), time.Time{}, false}, // before 2000: not a time
		{"dft_legacy", time.Time{}, false},
		{"dft_" + strings.Repeat("u", 26), time.Time{}, false}, // u is not a digit
		{ids.New("req_", at), time.Time{}, false},
	} {
		got, ok := idTime(tc.id, "dft_")
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("idTime(%q) = %v, %v; want %v, %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDriftHist(t *testing.T) {
	f := &drift.Finding{Signal: drift.SignalTTFT, Edges: []float64{0, 100, 200, 300},
		Baseline: drift.Window{Histogram: []int{50, 50, 0}}, Recent: drift.Window{Histogram: []int{0, 10, 30}}}
	h := newDriftHist(f)
	if h == nil || len(h.Bins) != 3 || len(h.Ticks) != 3 {
		t.Fatalf("hist %+v", h)
	}
	// The tallest bar (recent's 75% in the last band) fills the height;
	// the others are to scale.
	if b := h.Bins[2]; b.RecentH != driftHistHeight || b.RecentY != 0 || b.BaseH != 0 || b.Label != "200 ms – 300 ms and above" {
		t.Errorf("last band %+v", b)
	}
	if b := h.Bins[0]; b.BaseH != driftHistHeight*0.5/0.75 || b.BaseY != driftHistHeight-b.BaseH || b.RecentX() <= b.X {
		t.Errorf("first band %+v", b)
	}
	for _, bad := range []*drift.Finding{
		{Edges: []float64{0, 1}, Baseline: drift.Window{Histogram: []int{1, 2}}, Recent: drift.Window{Histogram: []int{1}}},
		{Edges: []float64{0, 1}, Baseline: drift.Window{Histogram: []int{0}}, Recent: drift.Window{Histogram: []int{0}}},
		{},
	} {
		if h := newDriftHist(bad); h != nil {
			t.Errorf("a histogram of %+v", bad)
		}
	}
}

func TestParseDriftFilter(t *testing.T) {
	for _, tc := range []struct {
		query    string
		from, to time.Time
		err      bool
	}{
		{"", time.Time{}, time.Time{}, false},
		{"range=7d", now.Add(-7 * 24 * time.Hour), time.Time{}, false},
		{"range=all", time.Time{}, time.Time{}, false},
		{"from=2026-03-01&to=2026-03-02&range=7d", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), false},
		{"from=2026-03-01&tz=Europe/Paris", time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC), time.Time{}, false},
		{"signal=canary_score:polite", time.Time{}, time.Time{}, false},
		{"signal=canary_score:", time.Time{}, time.Time{}, true},
		{"kind=behaviour&signal=ttft_ms", time.Time{}, time.Time{}, false},
		{"kind=Behaviour", time.Time{}, time.Time{}, true},
		{"tz=Local&from=2026-03-01", time.Time{}, time.Time{}, true},
		{"model=" + strings.Repeat("m", maxFilterLen+1), time.Time{}, time.Time{}, true},
	} {
		q, _ := url.ParseQuery(tc.query)
		f, err := parseDriftFilter(q, now)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v, want error %v", tc.query, err, tc.err)
			continue
		}
		if err == nil && (!f.from.Equal(tc.from) || !f.to.Equal(tc.to)) {
			t.Errorf("%q: [%v, %v), want [%v, %v)", tc.query, f.from, f.to, tc.from, tc.to)
		}
	}
}

func FuzzParseDriftFilter(f *testing.F) {
	for _, s := range []string{"", "range=7d", "use_case=a&model=b&signal=ttft_ms&kind=behaviour", "from=2026-03-01&to=2026-03-02&tz=Europe/Paris",
		"signal=canary_score:x", "from=2026-03-01T10:00:00Z", "range=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		d, err := parseDriftFilter(q, now)
		if err != nil {
			return
		}
		// The canonical query reads back as the same filter.
		again, err := parseDriftFilter(d.values(), now)
		if err != nil {
			t.Fatalf("%q: canonical %q does not parse: %v", raw, d.values().Encode(), err)
		}
		if !again.from.Equal(d.from) || !again.to.Equal(d.to) || again.UseCase != d.UseCase || again.Model != d.Model ||
			again.Signal != d.Signal || again.Kind != d.Kind || again.Provider != d.Provider {
			t.Fatalf("%q: canonical %q reads as %+v, not %+v", raw, d.values().Encode(), again, d)
		}
	})
}

// TestStoredDriftScan finds events by id past the first page read:
// among many starting at the same instant, and older than a page.
func TestStoredDriftScan(t *testing.T) {
	e := newDriftEnv(t, true)
	ctx := context.Background()
	save := func(id string, at time.Time) {
		t.Helper()
		raw, _ := json.Marshal(drift.Event{Kind: drift.KindBehaviour, Signal: drift.SignalTTFT, Provider: "p", Model: "m", At: at, Summary: "event " + id})
		if err := e.st.SaveDriftEvent(ctx, store.DriftEvent{ID: id, Signal: drift.SignalTTFT, Provider: "p", Model: "m", StartedAt: at, DetectedAt: at, Event: raw}); err != nil {
			t.Fatal(err)
		}
	}
	tie := now.Add(-time.Hour)
	for i := range 80 {
		save(fmt.Sprintf("dft_tie_%03d", i), tie)
	}
	save("dft_a_tied", tie) // sorts last among the tied
	for i := range 80 {
		save(fmt.Sprintf("dft_old_%03d", i), tie.Add(-time.Duration(i+1)*time.Minute))
	}
	save("dft_a_oldest", tie.Add(-24*time.Hour))
	for _, id := range []string{"dft_a_tied", "dft_a_oldest", "dft_tie_079", "dft_old_040"} {
		body := e.driftPage(t, "/ui/drift/"+id, http.StatusOK)
		if !strings.Contains(body, "event "+id) {
			t.Errorf("%s: the wrong event", id)
		}
	}
	e.driftPage(t, "/ui/drift/dft_a_missing", http.StatusNotFound)
}

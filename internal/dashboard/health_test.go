package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/gateway"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/resilience"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
)

// healthPeople are the principals of the health pages' tests: people's,
// and a reviewer, whose role cannot read calls.
var healthPeople = func() map[string]auth.Principal {
	m := map[string]auth.Principal{"reviewer-secret": {Kind: "user", Person: "rae", Role: auth.Reviewer, Session: true}}
	for k, v := range people {
		m[k] = v
	}
	return m
}()

// fakeRoutes is a router's state: route "chat" with two targets, the
// first a real resilience.Target (rpm 500, tpm 200000) that took a call,
// the second a hand-made open breaker with a history.
type fakeRoutes struct{ first *resilience.Target }

func newFakeRoutes() fakeRoutes {
	tg := resilience.NewTarget(resilience.BreakerConfig{}, 500, 200_000)
	if ok, r := tg.Acquire(now, 1000); !ok {
		panic("acquire: " + r.Reason)
	}
	hdr := http.Header{}
	hdr.Set("X-Ratelimit-Remaining-Requests", "4321")
	hdr.Set("X-Ratelimit-Remaining-Tokens", "765432")
	hdr.Set("X-Ratelimit-Reset-Requests", "30s")
	hdr.Set("X-Ratelimit-Reset-Tokens", "30s")
	tg.Done(now, resilience.Result{Header: hdr, Estimated: 1000, Used: 1000})
	return fakeRoutes{tg}
}

func (f fakeRoutes) RouteStates(at time.Time) []gateway.RouteState {
	opened := now.Add(-2 * time.Minute)
	return []gateway.RouteState{{Name: "chat", Targets: []gateway.RouteTargetState{
		{Provider: "openai", Model: "gpt-4o", Priority: 1, Weight: 1, TargetSnapshot: f.first.Snapshot(at)},
		{Provider: "anthropic", Model: "claude-sonnet", Priority: 2, Weight: 1, TargetSnapshot: resilience.TargetSnapshot{
			Breaker: resilience.Snapshot{State: resilience.Open, Calls: 12, Failures: 9, OpenedAt: &opened, History: []resilience.Transition{
				{At: now.Add(-time.Hour), From: resilience.Closed, To: resilience.Open, Reason: "8 of 10 failed"},
				{At: now.Add(-50 * time.Minute), From: resilience.Open, To: resilience.HalfOpen, Reason: "probe"},
				{At: now.Add(-49 * time.Minute), From: resilience.HalfOpen, To: resilience.Closed, Reason: "probe succeeded"},
				{At: opened, From: resilience.Closed, To: resilience.Open, Reason: "overloaded-marker"},
			}},
		}},
	}}}
}

var healthRouteConfig = map[string]config.Route{"chat": {Targets: []config.RouteTarget{
	{Provider: "openai", Model: "gpt-4o", RPM: 500, TPM: 200_000},
	{Provider: "anthropic", Model: "claude-sonnet", Priority: 2},
}}}

// seedHealth writes n calls, one a minute back from now. Even calls went
// to openai/gpt-4o, odd ones to anthropic/claude-sonnet, all through route
// "chat" but every fourth, which named gpt-4o-mini directly. Calls i%3 == 2
// are team growth's, the others team cx's. Every fifth odd call fell back
// from openai (a 429) to anthropic; every seventh call failed with a 500.
// TTFT is 100 + 10*(i%10) ms on streamed (even) calls.
func seedHealth(t testing.TB, st *sqlite.Store, n int, at time.Time) []record.Record {
	return seedHealthEvery(t, st, n, at, time.Minute)
}

// seedHealthEvery is seedHealth with the calls every apart.
func seedHealthEvery(t testing.TB, st *sqlite.Store, n int, at time.Time, every time.Duration) []record.Record {
	t.Helper()
	recs := make([]record.Record, 0, n)
	for i := range n {
		r := record.Record{
			ID: fmt.Sprintf("h-%06d", i), ReceivedAt: at.Add(-time.Duration(i+1) * every),
			Endpoint: record.EndpointChatCompletions, Provider: "openai", RequestedModel: "chat", Model: "gpt-4o", Route: "chat",
			Status: 200, E2EMs: 800 + float64(i%10)*10, UpstreamMs: 790, OverheadMs: 2 + float64(i%3),
			Usage:    usage.Usage{InputTokens: 500, OutputTokens: 100},
			Attempts: []record.Attempt{{Provider: "openai", Model: "gpt-4o", DurationMs: 790, Status: 200}},
		}
		r.Team, r.UseCase = "cx", "support"
		if i%3 == 2 {
			r.Team, r.UseCase = "growth", "ads"
		}
		if i%2 == 0 {
			r.Stream = true
			r.TTFTMs, r.TTFCTMs = ptr(100+10*float64(i%10)), ptr(150+10*float64(i%10))
			r.ITLMs = &record.ITL{Mean: 20, Count: 99}
			r.OTPS = ptr(50.0)
		} else {
			r.Provider, r.Model = "anthropic", "claude-sonnet"
			r.Attempts[0] = record.Attempt{Provider: "anthropic", Model: "claude-sonnet", DurationMs: 790, Status: 200}
			if i%5 == 0 {
				r.Attempts = []record.Attempt{{Provider: "openai", Model: "gpt-4o", DurationMs: 5, Status: 429, ErrorKind: "rate_limited"}, r.Attempts[0]}
			}
		}
		if i%4 == 0 {
			r.Route, r.RequestedModel, r.Model = "", "gpt-4o-mini", "gpt-4o-mini"
			r.Attempts[len(r.Attempts)-1].Model = "gpt-4o-mini"
		}
		if i%7 == 0 {
			r.Status, r.ErrorKind = 500, "upstream_unavailable"
			r.Attempts[len(r.Attempts)-1].Status = 500
		}
		recs = append(recs, r)
	}
	for i := 0; i < len(recs); i += 5000 {
		if err := st.WriteRecords(context.Background(), recs[i:min(i+5000, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

// healthEnv is a dashboard over a store with n seeded calls, the rollups
// and the fake routes wired.
func healthEnv(t *testing.T, n int, opt func(*Options)) (env, []record.Record) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	recs := seedHealth(t, st, n, now)
	o := Options{Auth: fakeAuth{healthPeople}, Requests: st, Costs: st, Rollups: st, Now: func() time.Time { return now },
		Health: HealthSources{Routes: newFakeRoutes(), RouteConfig: healthRouteConfig}}
	if opt != nil {
		opt(&o)
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return env{d: d, st: st}, recs
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, body string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(body, w) {
			t.Errorf("the page has %q", w)
		}
	}
}

// chartsOf returns the data-chart JSON of a page, by element id.
func chartsOf(t *testing.T, body string) map[string]chartData {
	t.Helper()
	out := map[string]chartData{}
	for _, m := range regexp.MustCompile(`<div id="([^"]*)" class="chart" data-chart="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		var c chartData
		if err := json.Unmarshal([]byte(html.UnescapeString(m[2])), &c); err != nil {
			t.Fatalf("chart %s: %v", m[1], err)
		}
		out[m[1]] = c
	}
	return out
}

// rowOf returns the cells of the table row whose header cell contains
// label, stripped of tags.
func rowOf(body, label string) []string {
	for _, tr := range regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`).FindAllStringSubmatch(body, -1) {
		cells := regexp.MustCompile(`(?s)<t[hd][^>]*>(.*?)</t[hd]>`).FindAllStringSubmatch(tr[1], -1)
		if len(cells) == 0 {
			continue
		}
		tag := regexp.MustCompile(`<[^>]+>`)
		if strings.TrimSpace(tag.ReplaceAllString(cells[0][1], "")) != label {
			continue
		}
		var out []string
		for _, c := range cells {
			out = append(out, strings.TrimSpace(html.UnescapeString(tag.ReplaceAllString(c[1], ""))))
		}
		return out
	}
	return nil
}

func TestLatencyPage(t *testing.T) {
	e, recs := healthEnv(t, 120, nil)
	w := e.do(t, req{target: "/ui/latency", session: "admin-secret"})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, body)
	}
	mustContain(t, body, "last 24 hours", ">120 calls<", "Time to first token (TTFT)", "Weir overhead", "Inter-token latency",
		`<option value="anthropic">`, `<option value="gpt-4o-mini">`, `aria-current="page">Latency`)

	charts := chartsOf(t, body)
	ttft, ok := charts["chart-ttft"]
	if !ok || len(ttft.Series) != 3 {
		t.Fatalf("the TTFT chart: %+v", ttft)
	}
	if len(ttft.T) != 24 {
		t.Errorf("the 24 h chart has %d points, want 24 (an hour each)", len(ttft.T))
	}
	// The p50 over the range of TTFTs 100..190 ms (each ten times, but
	// even calls only: 100, 120, ... 180) from the small multiples.
	var want []float64
	for _, r := range recs {
		if r.TTFTMs != nil && r.Provider == "openai" && r.Model == "gpt-4o" {
			want = append(want, *r.TTFTMs)
		}
	}
	row := rowOf(body, "openai / gpt-4o")
	if row == nil {
		t.Fatal("no small-multiples row of openai / gpt-4o")
	}
	n := 0
	for _, r := range recs {
		if r.Provider == "openai" && r.Model == "gpt-4o" {
			n++
		}
	}
	if row[1] != fmt.Sprint(n) {
		t.Errorf("openai / gpt-4o calls %q, want %d", row[1], n)
	}
	// p50 of TTFT: the exact median within the sketches' 1 %.
	var p50 float64
	fmt.Sscanf(row[2], "%g ms", &p50)
	exact := median(want)
	if math.Abs(p50-exact) > exact*0.02+1 {
		t.Errorf("p50 TTFT %q, want about %.0f ms", row[2], exact)
	}
	// A target without streamed calls has no TTFT and a trend of e2e.
	if r := rowOf(body, "anthropic / claude-sonnet"); r == nil || r[2] != "—" {
		t.Errorf("anthropic's row %q: TTFT should be —", r)
	}
	// The chart's values sum to the page's calls' TTFT: every point is
	// within the seeded range.
	for _, s := range ttft.Series {
		for _, v := range s.Values {
			if v != nil && (*v < 99 || *v > 192) {
				t.Errorf("%s point %v outside the seeded TTFTs", s.Label, *v)
			}
		}
	}

	// Headroom: the configured rpm against the bucket's level, and what
	// the provider reported.
	hr := rowOf(body, "chat")
	if hr == nil {
		t.Fatal("no headroom row of route chat")
	}
	mustContain(t, strings.Join(hr, "|"), "499 / 500", "199,000 / 200,000", "4,321", "765,432")
	mustContain(t, body, `<meter min="0" max="500" low="100" optimum="500" value="499"`)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[(len(s)-1)/2]
}

func TestLatencySelection(t *testing.T) {
	e, recs := healthEnv(t, 120, nil)
	w := e.do(t, req{target: "/ui/latency?range=1h&provider=anthropic&model=claude-sonnet", session: "admin-secret"})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, body)
	}
	n := 0
	for _, r := range recs {
		if r.Provider == "anthropic" && !r.ReceivedAt.Before(now.Add(-59*time.Minute)) {
			n++
		}
	}
	mustContain(t, body, fmt.Sprintf(">%d calls<", n), `<option value="anthropic" selected>`, "last hour",
		`href="/ui/calls?from=2026-03-14T14%3A01%3A00Z&amp;model=claude-sonnet&amp;provider=anthropic&amp;to=2026-03-14T15%3A01%3A00Z"`)
	if rowOf(body, "openai / gpt-4o") != nil {
		t.Error("the selection of anthropic shows openai's row")
	}
	// Only the selected target's headroom.
	if r := rowOf(body, "chat"); r == nil || r[1] != "anthropic / claude-sonnet" {
		t.Errorf("headroom row %q, want anthropic's only", r)
	}
	if c := chartsOf(t, body)["chart-overhead"]; len(c.T) != 60 {
		t.Errorf("the hour's chart has %d points, want 60", len(c.T))
	}
	// A selection without calls says what to do.
	w = e.do(t, req{target: "/ui/latency?provider=nobody", session: "admin-secret"})
	mustContain(t, w.Body.String(), "No calls of nobody / any model in the last 24 hours", "all providers and models")
}

func TestLatencyEmptyAndMissingSources(t *testing.T) {
	e, _ := healthEnv(t, 0, nil)
	w := e.do(t, req{target: "/ui/latency", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "No calls in the last 24 hours", "weir demo", "499 / 500")

	e, _ = healthEnv(t, 10, func(o *Options) { o.Rollups, o.Health = nil, HealthSources{} })
	w = e.do(t, req{target: "/ui/latency", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "Latency charts are not available on this server", "The routes' live state is not available")
	w = e.do(t, req{target: "/ui/providers", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, w.Body.String(), "Call counts are not available on this server", "The routes' live state is not available")

	// Routes without a configuration: levels shown, no limits.
	e, _ = healthEnv(t, 10, func(o *Options) { o.Health.RouteConfig = nil })
	w = e.do(t, req{target: "/ui/latency", session: "admin-secret"})
	mustContain(t, w.Body.String(), "no rpm", "4,321")
}

func TestHealthPagesBadRangeAndRoles(t *testing.T) {
	e, _ := healthEnv(t, 10, nil)
	for _, p := range []string{"/ui/latency", "/ui/providers"} {
		w := e.do(t, req{target: p + "?range=2y", session: "admin-secret"})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "unknown range &#34;2y&#34;") {
			t.Errorf("%s?range=2y: status %d", p, w.Code)
		}
		if w := e.do(t, req{target: p, session: "reviewer-secret"}); w.Code != http.StatusForbidden {
			t.Errorf("%s as a reviewer: status %d, want 403", p, w.Code)
		}
		if w := e.do(t, req{target: p}); w.Code != http.StatusSeeOther {
			t.Errorf("%s signed out: status %d, want 303", p, w.Code)
		}
	}
}

func TestHealthPagesTeamLimited(t *testing.T) {
	e, recs := healthEnv(t, 120, nil)
	var cx, cxOpenAI int
	for _, r := range recs {
		if r.Team == "cx" {
			cx++
			if r.Provider == "openai" && r.Model == "gpt-4o" {
				cxOpenAI++
			}
		}
	}
	w := e.do(t, req{target: "/ui/latency", session: "cx-secret"})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, body, "You see team <strong>cx</strong> only", fmt.Sprintf(">%d calls<", cx))
	if r := rowOf(body, "openai / gpt-4o"); r == nil || r[1] != fmt.Sprint(cxOpenAI) {
		t.Errorf("cx's openai row %q, want %d calls", r, cxOpenAI)
	}

	w = e.do(t, req{target: "/ui/providers", session: "cx-secret"})
	body = w.Body.String()
	mustContain(t, body, "You see team <strong>cx</strong> only")
	if r := rowOf(body, "All"); r == nil || r[1] != fmt.Sprint(cx) {
		t.Errorf("cx's total %q, want %d calls", r, cx)
	}
}

func TestProvidersPage(t *testing.T) {
	e, recs := healthEnv(t, 120, nil)
	w := e.do(t, req{target: "/ui/providers", session: "admin-secret"})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, body)
	}
	type counts struct{ calls, errors, r429, retried, fellBack int }
	per := map[string]*counts{}
	route := map[string]int{}
	routeCalls, direct := 0, 0
	for _, r := range recs {
		c := per[r.Provider]
		if c == nil {
			c = &counts{}
			per[r.Provider] = c
		}
		c.calls++
		if r.Status >= 400 {
			c.errors++
		}
		for _, a := range r.Attempts {
			if a.Status == 429 {
				c.r429++
			}
		}
		if len(r.Attempts) > 1 {
			c.retried++
			c.fellBack++ // every retried seeded call changed provider
		}
		if r.Route == "chat" {
			route[r.Provider+" / "+r.Model]++
			routeCalls++
		} else {
			direct++
		}
	}
	for p, c := range per {
		row := rowOf(body, p)
		if row == nil {
			t.Errorf("no row of %s", p)
			continue
		}
		rate := fmt.Sprintf("%.1f%%", float64(c.errors)/float64(c.calls)*100)
		want := []string{p, fmt.Sprint(c.calls), fmt.Sprint(c.errors), rate, fmt.Sprint(c.r429), fmt.Sprint(c.retried), fmt.Sprint(c.fellBack)}
		if strings.Join(row, "|") != strings.Join(want, "|") {
			t.Errorf("%s: row %q, want %q", p, row, want)
		}
	}
	if per["anthropic"].fellBack == 0 {
		t.Fatal("the seed has no fallback")
	}
	if r := rowOf(body, "All"); r == nil || r[1] != "120" {
		t.Errorf("total %q", r)
	}
	// Where traffic went: each target's calls and share of route chat.
	for target, n := range route {
		r := rowOf(body[strings.Index(body, "Where traffic went"):], target)
		share := fmt.Sprintf("%.1f%%", float64(n)/float64(routeCalls)*100)
		if r == nil || r[1] != fmt.Sprint(n) || r[2] != share {
			t.Errorf("route chat, %s: %q, want %d calls, %s", target, r, n, share)
		}
	}
	mustContain(t, body, fmt.Sprintf(">%d calls</a> named a model directly", direct), "Route chat", fmt.Sprintf("· %d calls", routeCalls))
	// The stacked chart: each target's calls per step, summing to the
	// route's calls.
	var c chartData
	for _, m := range regexp.MustCompile(`class="chart" data-chart="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &c); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Stacked || len(c.Series) != 2 {
		t.Fatalf("traffic chart %+v", c)
	}
	sum := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			sum += *v
		}
	}
	if sum != float64(routeCalls) {
		t.Errorf("the chart's calls: %v, want %d", sum, routeCalls)
	}
	// Breakers with their history, newest first; links to the calls.
	mustContain(t, body, `<span class="bad">open</span>`, "4 changes", "12 / 9", "overloaded-marker",
		`href="/ui/calls?from=2026-03-13T16%3A00%3A00Z&amp;model=claude-sonnet&amp;provider=anthropic&amp;to=2026-03-14T16%3A00%3A00Z"`)
	if i, j := strings.Index(body, "overloaded-marker"), strings.Index(body, "8 of 10 failed"); i < 0 || j < 0 || i > j {
		t.Error("the breaker history is not newest first")
	}
}

func TestProvidersEmpty(t *testing.T) {
	e, _ := healthEnv(t, 0, nil)
	w := e.do(t, req{target: "/ui/providers?range=7d", session: "admin-secret"})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	mustContain(t, body, "No calls in the last 7 days", "weir demo", "Route chat", "never tripped")
	e, _ = healthEnv(t, 0, func(o *Options) { o.Health.Routes = fakeNoRoutes{} })
	mustContain(t, e.do(t, req{target: "/ui/providers", session: "admin-secret"}).Body.String(), "No route is configured")
}

type fakeNoRoutes struct{}

func (fakeNoRoutes) RouteStates(time.Time) []gateway.RouteState { return nil }

func TestHealthPagesHTMX(t *testing.T) {
	e, _ := healthEnv(t, 30, nil)
	for _, c := range []struct{ target, push string }{
		{"/ui/latency?range=7d&provider=openai", "/ui/latency?provider=openai&range=7d"},
		{"/ui/providers?range=1h", "/ui/providers?range=1h"},
		{"/ui/providers?range=24h", "/ui/providers"},
	} {
		w := e.do(t, req{target: c.target, session: "admin-secret", header: map[string]string{"HX-Request": "true", "HX-Target": "results"}})
		body := w.Body.String()
		if w.Code != http.StatusOK || strings.Contains(body, "<html") || strings.Contains(body, "<form") {
			t.Errorf("%s: status %d, want the results block only", c.target, w.Code)
		}
		if got := w.Header().Get("HX-Push-Url"); got != c.push {
			t.Errorf("%s: HX-Push-Url %q, want %q", c.target, got, c.push)
		}
	}
}

// FuzzParseHealthRange: any input either is refused with errFilter or
// gives a range of whole steps, at most a few hundred of them, that ends
// after now and within one step of it.
func FuzzParseHealthRange(f *testing.F) {
	for _, s := range []string{"", "1h", "24h", "7d", "30d", "2y", "1H", " 1h", "\x00"} {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, s string, offset int64) {
		at := now.Add(time.Duration(offset % int64(400*24*time.Hour)))
		h, err := parseHealthRange(s, at)
		if err != nil {
			if !errors.Is(err, errFilter) {
				t.Fatalf("%q: error %v does not wrap errFilter", s, err)
			}
			return
		}
		n := h.To.Sub(h.From) / h.Step
		if h.To.Sub(h.From)%h.Step != 0 || n < 1 || n > 200 || len(h.buckets()) != int(n) {
			t.Fatalf("%q: %s to %s in steps of %s", s, h.From, h.To, h.Step)
		}
		if !h.To.After(at) || h.To.Sub(at) > h.Step || !h.From.Equal(h.From.Truncate(h.Step)) {
			t.Fatalf("%q at %s: %s to %s", s, at, h.From, h.To)
		}
	})
}

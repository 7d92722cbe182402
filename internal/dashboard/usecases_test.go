package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
	"github.com/weirhq/weir/internal/value"
)

// valuePeople adds a team growth viewer and a reviewer (no read) to people.
var valuePeople = func() map[string]auth.Principal {
	m := map[string]auth.Principal{
		"growth-secret":   {Kind: "user", Person: "gus", Role: auth.Viewer, Team: "growth", Session: true},
		"reviewer-secret": {Kind: "user", Person: "rex", Role: auth.Reviewer, Session: true},
		// team-1 is a team of the benchmarks' history.
		"team1-secret": {Kind: "user", Person: "tia", Role: auth.Viewer, Team: "team-1", Session: true},
	}
	for k, v := range people {
		m[k] = v
	}
	return m
}()

type fakeForecaster struct{ total float64 }

func (f fakeForecaster) Forecast(ctx context.Context, q store.CostQuery, tz string) (forecast.Forecast, error) {
	return forecast.Forecast{MonthToDateUSD: 1, ForecastTotalUSD: f.total, Low: f.total - 1, High: f.total + 1}, nil
}

type fakeLimits struct{}

func (fakeLimits) List() []limits.Limit {
	usd := *pricing.Dec("10")
	return []limits.Limit{
		{Name: "monthly-cap", USD: &usd, Window: "month", Mode: "warn"},
		{Name: "growth-day", Match: limits.Match{Team: "growth"}, USD: &usd, Window: "day", Mode: "block"},
	}
}

func (fakeLimits) States(ctx context.Context) ([]limits.State, error) {
	return []limits.State{
		{Limit: "monthly-cap", Used: "4.00", Cap: "10", Share: 0.4, State: "ok"},
		{Limit: "growth-day", Used: "9.00", Cap: "10", Share: 0.9, State: "warning"},
	}, nil
}

type fakeAlerts struct{ as []alert.Alert }

func (f fakeAlerts) List(ctx context.Context, q alert.ListQuery) ([]alert.Alert, error) {
	var out []alert.Alert
	for _, a := range f.as {
		if q.ScopeKey != "" && a.Scope[q.ScopeKey] != q.ScopeValue {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// valueEnv is a dashboard over the sqlite store with rollups, the value
// service and fakes of the forecast, limits and alerts.
type valueEnv struct {
	env
	svc *value.Service
	// cost is what the seeded calls of each use case cost, by team.
	cost map[string]store.Amount
}

var callCost = pricing.Money(3 * pricing.Milli)

// seedValue defines support-reply (team cx; versions 1 and 2; KPI
// resolved, boolean, goal 0.7, $4.50 a resolution) and lead-gen (team
// growth), and writes runs: support-reply t1..t5 of 2 calls each and t6
// of 12 calls (the outlier), version 1 before two days ago and 2 after;
// lead-gen g1..g3 of 1 call; 4 calls of cx's undefined use case
// "triage"; 2 calls of nothing. KPI results: t1..t4 resolved, t5 not.
func seedValue(t testing.TB, st *sqlite.Store, svc *value.Service) map[string]store.Amount {
	ctx := context.Background()
	v2 := now.Add(-48 * time.Hour)
	svc.Now = func() time.Time { return now.Add(-20 * 24 * time.Hour) }
	goal := 0.7
	usd := *pricing.Dec("4.50")
	if _, err := svc.Put(ctx, value.UseCase{Name: "support-reply", Description: "Drafts replies to tickets", BusinessOwner: "cx-lead", TechnicalOwner: "ml-eng", Version: "1",
		KPIs: []value.KPI{{Name: "resolved", Type: value.TypeBoolean, Goal: &goal, Direction: value.HigherIsBetter, Value: []value.ValueRule{{USDPerUnit: usd}}}}}, 0, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Put(ctx, value.UseCase{Name: "lead-gen", Version: "1", KPIs: []value.KPI{{Name: "qualified", Type: value.TypeNumber, Direction: value.HigherIsBetter}}}, 0, "test"); err != nil {
		t.Fatal(err)
	}
	svc.Now = func() time.Time { return v2 }
	if _, err := svc.NewVersion(ctx, "support-reply", "2", "shorter prompt", "test"); err != nil {
		t.Fatal(err)
	}
	svc.Now = func() time.Time { return now }
	cost := map[string]store.Amount{}
	var recs []record.Record
	n := 0
	add := func(useCase, version, team, instance string, at time.Time) {
		n++
		r := record.Record{ID: fmt.Sprintf("v-%04d", n), ReceivedAt: at, Endpoint: record.EndpointChatCompletions, Provider: "openai",
			RequestedModel: "gpt-4o-mini", Model: "gpt-4o-mini", Status: 200, Stream: true, TTFTMs: ptr(100.0 + float64(n)), E2EMs: 800,
			Usage: usage.Usage{InputTokens: 100, OutputTokens: 10}, CostUSD: ptr(callCost),
			Cost:        &pricing.Cost{Total: callCost, PriceAs: "openai", EntryID: "openai/gpt-4o-mini", Version: "test", Multiplier: 1_000_000},
			Attribution: record.Attribution{UseCase: useCase, UseCaseVersion: version, UseCaseInstance: instance, UseCaseStep: "draft", Team: team}}
		recs = append(recs, r)
		c := cost[useCase+"/"+team]
		c.Add(callCost)
		cost[useCase+"/"+team] = c
		c = cost[team]
		c.Add(callCost)
		cost[team] = c
		c = cost[""]
		c.Add(callCost)
		cost[""] = c
	}
	for i := 1; i <= 6; i++ {
		calls := 2
		if i == 6 {
			calls = 12
		}
		start := now.Add(-time.Duration(7-i) * 12 * time.Hour) // t1..t4 before v2, t5 and t6 after
		ver := "1"
		if start.After(v2) {
			ver = "2"
		}
		for c := range calls {
			add("support-reply", ver, "cx", fmt.Sprintf("t%d", i), start.Add(time.Duration(c)*time.Second))
		}
	}
	for i := 1; i <= 3; i++ {
		add("lead-gen", "1", "growth", fmt.Sprintf("g%d", i), now.Add(-time.Duration(i)*time.Hour))
	}
	for i := range 4 {
		add("triage", "", "cx", "", now.Add(-time.Duration(i+1)*time.Minute))
	}
	for i := range 2 {
		add("", "", "cx", "", now.Add(-time.Duration(i+10)*time.Minute))
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		raw := json.RawMessage("true")
		if i == 5 {
			raw = json.RawMessage("false")
		}
		if _, _, err := svc.PutKPI(ctx, "support-reply", fmt.Sprintf("t%d", i), "resolved", raw, now.Add(-time.Hour), "test"); err != nil {
			t.Fatal(err)
		}
	}
	return cost
}

func newValueEnv(t testing.TB, seeded bool) valueEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := &value.Service{St: st}
	var cost map[string]store.Amount
	if seeded {
		cost = seedValue(t, st, svc)
	}
	as := fakeAlerts{[]alert.Alert{
		{ID: "alt_1", Kind: alert.KindErrorRate, Severity: alert.SeverityWarning, Title: "Error rate of support-reply above 5%", Scope: map[string]string{"use_case": "support-reply", "team": "cx"}, At: now.Add(-time.Hour), LastAt: now.Add(-time.Hour), Count: 2},
		{ID: "alt_2", Kind: alert.KindErrorRate, Severity: alert.SeverityCritical, Title: "Growth spend spike", Scope: map[string]string{"team": "growth"}, At: now.Add(-2 * time.Hour), LastAt: now.Add(-2 * time.Hour), Count: 1},
	}}
	d, err := New(Options{Auth: fakeAuth{valuePeople}, Sessions: &fakeSessions{}, Requests: st, Costs: st, Rollups: st, Now: func() time.Time { return now },
		Value: ValueSources{UseCases: svc, Reports: st, KPIs: st, KPIDays: st, Forecaster: fakeForecaster{12.5}, Limits: fakeLimits{}, Alerts: as}})
	if err != nil {
		t.Fatal(err)
	}
	return valueEnv{env: env{d: d, st: st}, svc: svc, cost: cost}
}

func get(t *testing.T, e env, target, session string, want int) string {
	t.Helper()
	w := e.do(t, req{target: target, session: session})
	if w.Code != want {
		t.Fatalf("GET %s as %s: status %d, want %d: %s", target, session, w.Code, want, w.Body)
	}
	return w.Body.String()
}

func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func lacks(t *testing.T, what, body string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(body, w) {
			t.Errorf("%s shows %q", what, w)
		}
	}
}

func sum(ms ...pricing.Money) store.Amount {
	var a store.Amount
	for _, m := range ms {
		a.Add(m)
	}
	return a
}

func TestUseCasesPage(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		e := newValueEnv(t, false)
		body := get(t, e.env, "/ui/usecases", "admin-secret", http.StatusOK)
		contains(t, "the empty list", body, "No use cases yet", "x-weir-use-case")
	})
	e := newValueEnv(t, true)
	t.Run("admin", func(t *testing.T) {
		body := get(t, e.env, "/ui/usecases?value=1", "admin-secret", http.StatusOK)
		sr, lg, tr := e.cost["support-reply/cx"], e.cost["lead-gen/growth"], e.cost["triage/cx"]
		contains(t, "the list", body,
			`href="/ui/usecases/support-reply"`, "cx-lead", "ml-eng", "$"+sr.Format(2), // 24 calls
			`href="/ui/usecases/lead-gen"`, "$"+lg.Format(2),
			`href="/ui/usecases/triage"`, "not defined", "$"+tr.Format(2),
			"4 <span", // 4 resolved outcomes
			"$18.00",  // their value at $4.50
			"data-sparkline=", "name no use case", "1 use case seen in calls is not defined")
		// Cost per resolution: the month's spend over 4 outcomes; value $18.
		contains(t, "the list", body, "$18.00", "$"+sum(callCost*22/4).Format(4))
		// Most expensive first.
		if i, j := strings.Index(body, "/ui/usecases/support-reply"), strings.Index(body, "/ui/usecases/triage"); i < 0 || j < 0 || i > j {
			t.Errorf("support-reply (24 calls) is not listed before triage (4 calls)")
		}
	})
	t.Run("lazy", func(t *testing.T) {
		// The page loads the KPI and value figures apart.
		body := get(t, e.env, "/ui/usecases", "admin-secret", http.StatusOK)
		contains(t, "the list", body, `hx-get="/ui/usecases?value=1"`, "$"+e.cost["support-reply/cx"].Format(2))
		lacks(t, "the list", body, "$18.00")
		w := e.do(t, req{target: "/ui/usecases?value=1", session: "admin-secret", header: map[string]string{"HX-Request": "true", "HX-Target": "usecases-table"}})
		body = w.Body.String()
		if w.Code != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `id="usecases-table"`) || strings.Contains(body, "hx-trigger") {
			t.Fatalf("status %d, want the table alone, loaded: %s", w.Code, body)
		}
		contains(t, "the table", body, "$18.00", "/ui/usecases/support-reply")
	})
	t.Run("team", func(t *testing.T) {
		body := get(t, e.env, "/ui/usecases?value=1", "cx-secret", http.StatusOK)
		contains(t, "cx's list", body, "/ui/usecases/support-reply", "/ui/usecases/triage", "You see team")
		lacks(t, "cx's list", body, "/ui/usecases/lead-gen", "$"+e.cost[""].Format(2))
		contains(t, "cx's list", body, "$18.00")
		body = get(t, e.env, "/ui/usecases?value=1", "growth-secret", http.StatusOK)
		contains(t, "growth's list", body, "/ui/usecases/lead-gen")
		lacks(t, "growth's list", body, "/ui/usecases/support-reply", "/ui/usecases/triage", "cx-lead")
	})
	t.Run("forbidden", func(t *testing.T) {
		get(t, e.env, "/ui/usecases", "reviewer-secret", http.StatusForbidden)
	})
	t.Run("no sources", func(t *testing.T) {
		d, err := New(Options{Auth: fakeAuth{valuePeople}, Requests: e.st, Rollups: e.st, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		body := get(t, env{d: d, st: e.st}, "/ui/usecases", "admin-secret", http.StatusOK)
		contains(t, "the list without definitions", body, "/ui/usecases/support-reply", "definitions are not available")
	})
}

func TestUseCasePage(t *testing.T) {
	e := newValueEnv(t, true)
	t.Run("admin", func(t *testing.T) {
		body := get(t, e.env, "/ui/usecases/support-reply?range=7d&report=1", "admin-secret", http.StatusOK)
		contains(t, "the use case page", body,
			"Drafts replies to tickets", "$"+e.cost["support-reply/cx"].Format(2), ">22</a>",
			"80.0%",                  // 4 of 5 resolved
			"<span class=\"ok\">met", // goal 0.7
			`&#34;label&#34;:&#34;v2&#34;`, "TTFT p95", "Cost per resolved", "resolved rate", "resolved goal",
			`href="/ui/usecases/support-reply/instances/t6"`, "outlier", "<meter",
			"Version comparison", `hx-get="/ui/usecases/support-reply?a=1&amp;b=2&amp;range=7d"`, `hx-trigger="load"`,
			"gpt-4o-mini", `href="/ui/calls?from=`)
		// t6 is the costliest run, first in the table.
		if m := regexp.MustCompile(`/instances/(t\d)"`).FindStringSubmatch(body); m == nil || m[1] != "t6" {
			t.Errorf("the costliest run listed first is %v, want t6", m)
		}
	})
	t.Run("report partial", func(t *testing.T) {
		// The page loads its report figures apart.
		body := get(t, e.env, "/ui/usecases/support-reply?range=7d", "admin-secret", http.StatusOK)
		contains(t, "the page", body, `hx-get="/ui/usecases/support-reply?range=7d&amp;report=1"`, "TTFT p95", ">22</a>")
		lacks(t, "the page", body, "80.0%", "/instances/t6")
		w := e.do(t, req{target: "/ui/usecases/support-reply?range=7d&report=1", session: "admin-secret", header: map[string]string{"HX-Request": "true", "HX-Target": "report"}})
		body = w.Body.String()
		if w.Code != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `id="report"`) {
			t.Fatalf("status %d, want the report block alone: %s", w.Code, body)
		}
		contains(t, "the report block", body, "80.0%", "/instances/t6", "$18.00", "Cost per resolved")
	})
	t.Run("compare partial", func(t *testing.T) {
		w := e.do(t, req{target: "/ui/usecases/support-reply?range=7d&a=2&b=1", session: "admin-secret", header: map[string]string{"HX-Request": "true", "HX-Target": "compare"}})
		body := w.Body.String()
		if w.Code != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `id="compare"`) {
			t.Fatalf("status %d, want the compare block alone: %s", w.Code, body)
		}
		contains(t, "the comparison", body, "Version 2</th><th scope=\"col\">Version 1", `<th scope="row">resolved</th>`)
		// Without JavaScript, the versions asked for are compared in the page.
		body = get(t, e.env, "/ui/usecases/support-reply?range=7d&a=1&b=2", "admin-secret", http.StatusOK)
		contains(t, "the page with versions", body, "Version 1</th><th scope=\"col\">Version 2", "<html", "resolved rate: 1 in 1, 0.5 in 2")
	})
	t.Run("undefined", func(t *testing.T) {
		body := get(t, e.env, "/ui/usecases/triage?report=1", "admin-secret", http.StatusOK)
		contains(t, "an undefined use case", body, "is not defined", "$"+e.cost["triage/cx"].Format(2))
	})
	t.Run("team", func(t *testing.T) {
		body := get(t, e.env, "/ui/usecases/support-reply?report=1", "cx-secret", http.StatusOK)
		contains(t, "cx's page", body, "80.0%", "$18.00")
		get(t, e.env, "/ui/usecases/support-reply", "growth-secret", http.StatusNotFound)
		get(t, e.env, "/ui/usecases/lead-gen", "cx-secret", http.StatusNotFound)
	})
	t.Run("errors", func(t *testing.T) {
		get(t, e.env, "/ui/usecases/nothing", "admin-secret", http.StatusNotFound)
		get(t, e.env, "/ui/usecases/support-reply?range=2y", "admin-secret", http.StatusBadRequest)
		get(t, e.env, "/ui/usecases/support-reply", "reviewer-secret", http.StatusForbidden)
	})
}

func TestInstancePage(t *testing.T) {
	e := newValueEnv(t, true)
	body := get(t, e.env, "/ui/usecases/support-reply/instances/t6", "admin-secret", http.StatusOK)
	var ids []string
	for _, m := range regexp.MustCompile(`href="/ui/calls/(v-\d+)"`).FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != 12 || !slices.IsSorted(ids) {
		t.Errorf("calls %v: want the run's 12 calls, oldest first", ids)
	}
	contains(t, "the run", body, "$"+sum(callCost*12).Format(4), "resolved", "not recorded", "draft", "version 2")
	body = get(t, e.env, "/ui/usecases/support-reply/instances/t1", "cx-secret", http.StatusOK)
	contains(t, "run t1", body, ">true<", "$"+sum(callCost*2).Format(4))
	get(t, e.env, "/ui/usecases/support-reply/instances/t1", "growth-secret", http.StatusNotFound)
	get(t, e.env, "/ui/usecases/support-reply/instances/nope", "admin-secret", http.StatusNotFound)
	get(t, e.env, "/ui/usecases/support-reply/instances/t1", "reviewer-secret", http.StatusForbidden)
}

func TestOverviewValue(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		e := newValueEnv(t, false)
		body := get(t, e.env, "/ui/", "admin-secret", http.StatusOK)
		contains(t, "the empty overview", body, "No calls recorded yet", "OPENAI_BASE_URL")
	})
	e := newValueEnv(t, true)
	t.Run("admin", func(t *testing.T) {
		body := get(t, e.env, "/ui/?value=1", "admin-secret", http.StatusOK)
		// Today's calls: t5 and t6 (from 24 h ago: only those after midnight), g1..g3, triage, none.
		contains(t, "the overview", body,
			"$"+e.cost[""].Format(2), // the month's spend: everything is in March
			"forecast <strong>$12.50", "$18.00", "monthly-cap", "growth-day", "over the cap",
			"Error rate of support-reply", "Growth spend spike",
			"/ui/usecases/support-reply", "/ui/usecases/triage", `&#34;unit&#34;:&#34;usd&#34;`, "TTFT today")
	})
	t.Run("lazy", func(t *testing.T) {
		body := get(t, e.env, "/ui/", "admin-secret", http.StatusOK)
		contains(t, "the overview", body, `hx-get="/ui/?value=1"`, "$"+e.cost[""].Format(2), "/ui/usecases/support-reply")
		lacks(t, "the overview", body, "$18.00")
		w := e.do(t, req{target: "/ui/?value=1", session: "admin-secret", header: map[string]string{"HX-Request": "true", "HX-Target": "value"}})
		body = w.Body.String()
		if w.Code != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, `id="value"`) {
			t.Fatalf("status %d, want the value block alone: %s", w.Code, body)
		}
		// $18 of value for the month's spend.
		vpd := fmt.Sprintf("%.2f", 18/ucDollars(e.cost[""]))
		contains(t, "the value block", body, "$18.00", vpd+" per dollar", "/ui/usecases/support-reply")
	})
	t.Run("team", func(t *testing.T) {
		body := get(t, e.env, "/ui/?value=1", "growth-secret", http.StatusOK)
		contains(t, "growth's overview", body, "$"+e.cost["growth"].Format(2), "growth-day", "Growth spend spike", "/ui/usecases/lead-gen")
		lacks(t, "growth's overview", body, "monthly-cap", "Error rate of support-reply", "/ui/usecases/support-reply", "$"+e.cost[""].Format(2))
	})
	t.Run("forbidden", func(t *testing.T) {
		get(t, e.env, "/ui/", "reviewer-secret", http.StatusForbidden)
	})
}

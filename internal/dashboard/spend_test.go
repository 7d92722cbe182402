package dashboard

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/access"
	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/prompt"
	"github.com/weirhq/weir/internal/reconcile"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/watch"
)

// spendPeople adds to people the roles the spend and settings pages tell
// apart.
var spendPeople = map[string]auth.Principal{
	"admin-secret":    {Kind: "user", Person: "ada", Role: auth.Admin, Session: true},
	"cx-secret":       {Kind: "user", Person: "cyd", Role: auth.Viewer, Team: "cx", Session: true},
	"finance-secret":  {Kind: "user", Person: "fin", Role: auth.Finance, Session: true},
	"reviewer-secret": {Kind: "user", Person: "rev", Role: auth.Reviewer, Session: true},
}

type spendPricesFake struct {
	entries []store.StoredPriceEntry
	history map[string][]store.StoredPriceEntry
	revs    []store.CostRevision
}

func (p spendPricesFake) Entries(context.Context) ([]store.StoredPriceEntry, error) {
	return p.entries, nil
}
func (p spendPricesFake) History(_ context.Context, id string) ([]store.StoredPriceEntry, error) {
	return p.history[id], nil
}
func (p spendPricesFake) Revisions(context.Context, store.RevisionQuery) ([]store.CostRevision, error) {
	return p.revs, nil
}

type spendForecasterFake struct{ queries []store.CostQuery }

func (f *spendForecasterFake) Forecast(_ context.Context, q store.CostQuery, tz string) (forecast.Forecast, error) {
	f.queries = append(f.queries, q)
	return forecast.Forecast{MonthToDateUSD: 40, ForecastRestUSD: 80, ForecastTotalUSD: 120, Low: 100, High: 140, Method: "a test forecast"}, nil
}

type spendReconcilerFake struct {
	got  string
	from time.Time
	to   time.Time
}

func (f *spendReconcilerFake) Reconcile(_ context.Context, vendor string, export io.Reader, from, to time.Time, tol float64) (reconcile.Report, error) {
	b, _ := io.ReadAll(export)
	f.got, f.from, f.to = string(b), from, to
	if vendor != "openai" {
		return reconcile.Report{}, store.ErrInvalidQuery
	}
	var bill, weir store.Amount
	bill.AddMicro(5_000_000)
	weir.AddMicro(4_900_000)
	diff := weir
	diff.SubAmount(bill)
	return reconcile.Report{Provider: "openai", Format: "csv", Basis: reconcile.BasisCost, TolerancePct: 1,
		Totals: reconcile.Totals{BillUSD: bill, WeirUSD: weir, DiffUSD: diff, WeirCalls: 7},
		Rows:   []reconcile.Row{{Day: now.Truncate(24 * time.Hour), Model: "gpt-4o-mini", BillUSD: bill, WeirUSD: weir, DiffUSD: diff}}}, nil
}

type spendPeopleFake []store.Person

func (p spendPeopleFake) People(context.Context) ([]store.Person, error) { return p, nil }

type spendEnv struct {
	env
	fc  *spendForecasterFake
	rec *spendReconcilerFake
}

// newSpendEnv is newEnv with every source of the Costs, Limits and
// Settings pages: the real sqlite store, limits, access and prompt
// managers and alert engine, fakes for the rest. empty leaves the sources
// without any definitions.
func newSpendEnv(t *testing.T, calls int, empty bool) spendEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if calls > 0 {
		seed(t, st, calls)
	}
	lim, err := limits.New(ctx, limits.Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := alert.New(alert.Options{Store: alert.NewMemoryStore(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alerts.Close(context.Background()) })
	acc, err := access.New(ctx, st, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	prompts := prompt.New(prompt.Options{Store: st})
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	fp := spendPricesFake{}
	people := spendPeopleFake{}
	if !empty {
		usd := func(s string) *pricing.Decimal {
			var d pricing.Decimal
			if err := d.UnmarshalJSON([]byte(s)); err != nil {
				t.Fatal(err)
			}
			return &d
		}
		for _, l := range []limits.Limit{
			{Name: "cx-month", Match: limits.Match{Team: "cx"}, USD: usd("100"), Window: limits.WindowMonth, Mode: limits.ModeWarn},
			{Name: "growth-day", Match: limits.Match{Team: "growth"}, USD: usd("0.01"), Window: limits.WindowDay, Mode: limits.ModeBlock},
			{Name: "per-team", Per: limits.PerTeam, USD: usd("50"), Window: limits.WindowMonth, Mode: limits.ModeWarn},
		} {
			if _, err := lim.Put(ctx, l, "test"); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range []alert.Alert{
			{Rule: "growth-day", Kind: alert.KindLimitExceeded, Severity: alert.SeverityCritical, Scope: map[string]string{"limit": "growth-day"}, Title: "limit growth-day: blocked", At: now.Add(-time.Hour)},
			{Rule: "cx-month", Kind: alert.KindLimitThreshold, Severity: alert.SeverityWarning, Scope: map[string]string{"limit": "cx-month"}, Title: "limit cx-month: warning", At: now.Add(-2 * time.Hour)},
		} {
			if _, _, err := alerts.Raise(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range []access.Application{{Name: "cx-bot", Team: "cx", Environment: "prod"}, {Name: "growth-app", Team: "growth"}} {
			if _, err := acc.PutApplication(ctx, a, "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := acc.CreateKey(ctx, a.Name, time.Time{}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := prompts.Put(ctx, "support-reply", prompt.Content{Description: "answers a ticket",
			Messages:  []prompt.Message{{Role: "user", Content: "Answer {{question}}"}},
			Variables: []prompt.Variable{{Name: "question"}},
			Variants:  []prompt.Variant{{Name: "claude", Provider: "anthropic", Messages: []prompt.Message{{Role: "user", Content: "Please answer {{question}}"}}}},
		}, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := prompts.SetLabel(ctx, store.PromptKindPrompt, "support-reply", "production", 1, "test"); err != nil {
			t.Fatal(err)
		}
		e := &pricing.Entry{ID: "openai/negotiated", Match: pricing.Match{Exact: []string{"gpt-4o-mini"}}, From: pricing.DateOf(now.AddDate(0, -1, 0)), Prices: pricing.Prices{Input: usd("0.1"), Output: usd("0.4")}}
		v1 := store.StoredPriceEntry{ID: "openai/negotiated", Version: 1, Provider: "openai", Entry: e, ChangedAt: now.AddDate(0, -1, 0), ChangedBy: "fin"}
		v2 := v1
		v2.Version, v2.ChangedAt = 2, now.AddDate(0, 0, -1)
		fp.entries = []store.StoredPriceEntry{v2}
		fp.history = map[string][]store.StoredPriceEntry{"openai/negotiated": {v1, v2}}
		old, nu := pricing.Money(3*pricing.Milli), pricing.Money(2*pricing.Milli)
		fp.revs = []store.CostRevision{
			{Seq: 2, RunID: "run-b", RequestID: "call-001", ReceivedAt: now.Add(-2 * time.Minute), RevisedAt: now.Add(-time.Minute), Reason: "negotiated price", OldCostUSD: &old, NewCostUSD: &nu},
			{Seq: 1, RunID: "run-b", RequestID: "call-004", ReceivedAt: now.Add(-5 * time.Minute), RevisedAt: now.Add(-time.Minute), Reason: "negotiated price", NewCostUSD: &nu},
		}
		people = spendPeopleFake{{Name: "ada", Role: "admin", PasswordHash: "x", CreatedAt: now, ChangedAt: now, ChangedBy: "setup"}, {Name: "cyd", Role: "viewer", Team: "cx", Subject: "iss sub", CreatedAt: now, ChangedAt: now}}
	}
	fc, rec := &spendForecasterFake{}, &spendReconcilerFake{}
	ses := &fakeSessions{}
	d, err := New(Options{Auth: fakeAuth{spendPeople}, Sessions: ses, Requests: st, Costs: st, Rollups: st, Now: func() time.Time { return now },
		Spend: SpendSources{Catalog: func() *pricing.Catalog { return cat }, Prices: fp, Reconciler: rec, Limits: lim, Forecaster: fc, Alerts: alerts,
			WatchRules: func() watch.Rules { return watch.Rules{ErrorRate: 0.1} }},
		Settings: SettingsSources{Access: acc, People: people, Prompts: prompts}})
	if err != nil {
		t.Fatal(err)
	}
	return spendEnv{env{d, st, ses}, fc, rec}
}

func hasAll(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}

func hasNone(t *testing.T, body string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(body, w) {
			t.Errorf("the page has %q", w)
		}
	}
}

func TestCostsPage(t *testing.T) {
	e := newSpendEnv(t, 40, false)
	w := e.do(t, req{method: "GET", target: "/ui/costs", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	// 40 calls: 32 priced at $0.003 = $0.096; 20 each team, cx (even)
	// has 16 priced ($0.048), 4 unpriced (i%5==4 and even: 4, 14, 24, 34).
	hasAll(t, body, `data-chart=`, `&#34;stacked&#34;:true`, "By provider", "By model", "By team", "By use case",
		`hx-get="/ui/costs/accounts?from=2026-03-01&amp;to=2026-03-14"`,
		"$0.096000", "$0.048000", "openai", "gpt-4o-mini", "support-reply",
		"Unpriced models", "PUT /api/v1/prices/custom/{id}",
		"Price catalog", "openai/gpt-4o-mini", // the embedded catalog
		"openai/negotiated", "History (2 versions)",
		"run-b", "negotiated price", "Reconcile",
		`/ui/calls?from=2026-03-01&amp;team=cx&amp;to=2026-03-14`,
		`/ui/costs.csv?table=provider&amp;from=2026-03-01&amp;to=2026-03-14`)
	// The run: before $0.003, after 2 × $0.002, one call newly priced.
	hasAll(t, body, "$0.003000", "$0.004000", "$0.001000")
	if !spendMatch(`<td class="num">1 <span class="muted">|<td class="num">1</td>`, body) {
		t.Error("the run's newly priced count is missing")
	}

	// The spend by account and user, loaded by htmx.
	w = e.do(t, req{method: "GET", target: "/ui/costs/accounts?from=2026-03-01&to=2026-03-14", session: "admin-secret", header: map[string]string{"HX-Request": "true"}})
	if w.Code != http.StatusOK {
		t.Fatalf("accounts: status %d: %s", w.Code, w.Body)
	}
	body = w.Body.String()
	hasNone(t, body, "<html", "Price catalog")
	hasAll(t, body, "By account", "By user", "u1", "-u2", `/ui/calls?from=2026-03-01&amp;to=2026-03-14&amp;user=u1`, "$0.048000", "$0.096000")
	// Without JavaScript: the whole page with them.
	w = e.do(t, req{method: "GET", target: "/ui/costs/accounts?from=2026-03-01&to=2026-03-14", session: "admin-secret"})
	hasAll(t, w.Body.String(), "<html", "Price catalog", "By account", "By user")
	hasNone(t, w.Body.String(), `hx-get="/ui/costs/accounts`)
}

func spendMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

func TestCostsTeamViewer(t *testing.T) {
	e := newSpendEnv(t, 40, false)
	w := e.do(t, req{method: "GET", target: "/ui/costs", session: "cx-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	hasAll(t, body, "You see team <strong>cx</strong> only", "$0.048000", "support-reply")
	hasNone(t, body, "HYPERLINK", "growth", "$0.096000", "run-b", `action="/ui/costs/reconcile"`)
	w = e.do(t, req{method: "GET", target: "/ui/costs/accounts", session: "cx-secret", header: map[string]string{"HX-Request": "true"}})
	hasAll(t, w.Body.String(), "u1", "$0.048000")
	hasNone(t, w.Body.String(), "-u2", "$0.096000")
	// The CSV of another team's use case is empty but for the header.
	w = e.do(t, req{method: "GET", target: "/ui/costs.csv?table=use_case&from=2026-03-01&to=2026-03-14", session: "cx-secret"})
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != "support-reply" || rows[1][3] != "0.048000000" {
		t.Errorf("team CSV = %v", rows)
	}
	// Revisions span teams.
	if w := e.do(t, req{method: "GET", target: "/ui/costs.csv?table=revisions", session: "cx-secret"}); w.Code != http.StatusNotFound {
		t.Errorf("team revisions CSV: status %d", w.Code)
	}
}

func TestSpendPagesRefuseRoleWithoutRead(t *testing.T) {
	e := newSpendEnv(t, 0, true)
	for _, target := range []string{"/ui/costs", "/ui/costs.csv?table=day", "/ui/costs/accounts", "/ui/limits", "/ui/limits/forecasts", "/ui/settings"} {
		if w := e.do(t, req{method: "GET", target: target, session: "reviewer-secret"}); w.Code != http.StatusForbidden {
			t.Errorf("GET %s as reviewer: status %d, want 403", target, w.Code)
		}
	}
	// A viewer cannot reconcile.
	w := e.do(t, req{method: "POST", target: "/ui/costs/reconcile", session: "cx-secret", header: map[string]string{"X-CSRF-Token": auth.CSRFToken("cx-secret")}})
	if w.Code != http.StatusForbidden {
		t.Errorf("POST reconcile as viewer: status %d, want 403", w.Code)
	}
}

func TestCostsEmpty(t *testing.T) {
	e := newSpendEnv(t, 0, true)
	w := e.do(t, req{method: "GET", target: "/ui/costs", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	hasAll(t, w.Body.String(), "No calls in this range", "Every call of the range is priced", "No custom prices", "No re-pricing runs yet")
}

func TestCostsWithoutSources(t *testing.T) {
	e := newEnv(t, 3)
	for _, target := range []string{"/ui/costs", "/ui/limits", "/ui/settings", "/ui/limits/forecasts"} {
		w := e.do(t, req{method: "GET", target: target, session: "admin-secret"})
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", target, w.Code, w.Body)
		}
		if !strings.Contains(w.Body.String(), "not available on this server") {
			t.Errorf("GET %s does not say what is missing", target)
		}
	}
	if w := e.do(t, req{method: "GET", target: "/ui/costs.csv?table=catalog", session: "admin-secret"}); w.Code != http.StatusNotFound {
		t.Errorf("catalog CSV without a catalog: status %d", w.Code)
	}
}

func TestCostsRange(t *testing.T) {
	e := newSpendEnv(t, 5, true)
	for target, want := range map[string]int{
		"/ui/costs?from=2026-03-14&to=2026-03-14": 200,
		"/ui/costs?from=2026-03-15&to=2026-03-14": 400,
		"/ui/costs?from=yesterday":                400,
		"/ui/costs?from=2024-01-01&to=2026-03-14": 400,
	} {
		if w := e.do(t, req{method: "GET", target: target, session: "admin-secret"}); w.Code != want {
			t.Errorf("GET %s: status %d, want %d", target, w.Code, want)
		}
	}
	// A range without calls.
	w := e.do(t, req{method: "GET", target: "/ui/costs?from=2026-02-01&to=2026-02-28", session: "admin-secret"})
	hasAll(t, w.Body.String(), "No calls in this range", `value="2026-02-01"`)
}

func TestCostsHTMX(t *testing.T) {
	e := newSpendEnv(t, 10, true)
	w := e.do(t, req{method: "GET", target: "/ui/costs?from=2026-03-10&to=2026-03-14&by=team", session: "admin-secret",
		header: map[string]string{"HX-Request": "true", "HX-Target": "costs-results"}})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	if strings.Contains(body, "<html") || strings.Contains(body, "Price catalog") {
		t.Error("an htmx request got more than the results")
	}
	hasAll(t, body, "Spend per day by Team")
	if got := w.Header().Get("HX-Push-Url"); got != "/ui/costs?by=team&from=2026-03-10&to=2026-03-14" {
		t.Errorf("HX-Push-Url = %q", got)
	}
}

func TestCostsCSV(t *testing.T) {
	e := newSpendEnv(t, 40, false)
	get := func(table string) [][]string {
		t.Helper()
		w := e.do(t, req{method: "GET", target: "/ui/costs.csv?table=" + table + "&from=2026-03-14&to=2026-03-14", session: "admin-secret"})
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", table, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("%s: Content-Type %q", table, ct)
		}
		rows, err := csv.NewReader(w.Body).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		return rows
	}
	rows := get("use_case")
	found := false
	for _, r := range rows[1:] {
		if strings.Contains(r[0], "HYPERLINK") {
			found = true
			if !strings.HasPrefix(r[0], "'=") {
				t.Errorf("formula not guarded: %q", r[0])
			}
		}
	}
	if !found {
		t.Errorf("no =HYPERLINK use case in %v", rows)
	}
	day := get("day")
	if len(day) != 2 || day[1][0] != "2026-03-14" || day[1][1] != "40" || day[1][2] != "8" || day[1][3] != "0.096000000" {
		t.Errorf("day CSV = %v", day)
	}
	user := get("user")
	if len(user) != 3 || user[1][0] != "u1" && user[1][0] != "'-u2" {
		t.Errorf("user CSV = %v", user)
	}
	for _, r := range user[1:] {
		if r[0] == "-u2" {
			t.Errorf("formula not guarded: %q", r[0])
		}
	}
	for _, table := range []string{"provider", "model", "team", "account", "unpriced", "catalog", "custom_prices", "revisions"} {
		if rows := get(table); len(rows) < 2 {
			t.Errorf("%s CSV has no rows: %v", table, rows)
		}
	}
	if w := e.do(t, req{method: "GET", target: "/ui/costs.csv?table=nope", session: "admin-secret"}); w.Code != http.StatusBadRequest {
		t.Errorf("unknown table: status %d", w.Code)
	}
}

func spendMultipart(t *testing.T, fields map[string]string, file string) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("export", "export.csv")
		fw.Write([]byte(file))
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestReconcileForm(t *testing.T) {
	e := newSpendEnv(t, 5, true)
	post := func(fields map[string]string, file string, htmx bool) *httptest.ResponseRecorder {
		body, ct := spendMultipart(t, fields, file)
		r := httptest.NewRequest("POST", "/ui/costs/reconcile", body)
		r.Header.Set("Content-Type", ct)
		r.Header.Set("X-CSRF-Token", auth.CSRFToken("finance-secret"))
		if htmx {
			r.Header.Set("HX-Request", "true")
		}
		r.AddCookie(&http.Cookie{Name: "weir_session", Value: "finance-secret"})
		w := httptest.NewRecorder()
		e.d.ServeHTTP(w, r)
		return w
	}
	w := post(map[string]string{"provider": "openai", "from": "2026-03-01", "to": "2026-03-14"}, "date,cost\n", true)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	hasAll(t, body, "off by more than 1.0 %", "$5.000000", "$4.900000", "$-0.100000", "gpt-4o-mini")
	hasNone(t, body, "<html")
	if e.rec.got != "date,cost\n" || !e.rec.from.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !e.rec.to.Equal(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("reconciler got %q %v %v", e.rec.got, e.rec.from, e.rec.to)
	}
	for _, c := range []struct {
		fields map[string]string
		file   string
		want   string
	}{
		{map[string]string{"provider": "openai"}, "", "Choose the export file"},
		{map[string]string{"provider": "openai", "from": "March"}, "x", "is not a day"},
		{map[string]string{"provider": "openai", "tolerance": "200"}, "x", "Tolerance"},
		{map[string]string{"provider": "cohere"}, "x", "invalid query"},
	} {
		w := post(c.fields, c.file, true)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%v: status %d, body %s", c.fields, w.Code, w.Body)
		}
	}
	// Without JavaScript the whole page comes back with the report.
	w = post(map[string]string{"provider": "openai"}, "x", false)
	hasAll(t, w.Body.String(), "<html", "Price catalog", "$4.900000")
	// Without the CSRF token the form is refused.
	body2, ct := spendMultipart(t, map[string]string{"provider": "openai"}, "x")
	r := httptest.NewRequest("POST", "/ui/costs/reconcile", body2)
	r.Header.Set("Content-Type", ct)
	r.AddCookie(&http.Cookie{Name: "weir_session", Value: "finance-secret"})
	w = httptest.NewRecorder()
	e.d.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Errorf("without CSRF: status %d", w.Code)
	}
}

func TestLimitsPage(t *testing.T) {
	e := newSpendEnv(t, 40, false)
	w := e.do(t, req{method: "GET", target: "/ui/limits", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	hasAll(t, body, "cx-month", "growth-day", "per-team", "$100", "team cx",
		"limit growth-day: blocked", "limit cx-month: warning", "critical",
		"limit_threshold", "limit_exceeded", "forecast_over_limit", "more than 10% of a use case", // the configured error rate
		`hx-get="/ui/limits/forecasts"`)
	// cx's 16 priced calls: $0.048 of $100 used today's month.
	hasAll(t, body, "$0.048000", "$99.95")
	// growth-day: $0.048 of $0.01 used: over the cap.
	hasAll(t, body, "over by $0.04")

	w = e.do(t, req{method: "GET", target: "/ui/limits/forecasts", session: "admin-secret", header: map[string]string{"HX-Request": "true"}})
	if w.Code != http.StatusOK {
		t.Fatalf("forecasts: status %d: %s", w.Code, w.Body)
	}
	body = w.Body.String()
	hasNone(t, body, "<html")
	hasAll(t, body, "cx-month", "$120.00", "$100.00 – $140.00", "likely to pass it", "a test forecast")
	if len(e.fc.queries) != 1 || e.fc.queries[0].Team != "cx" {
		t.Errorf("forecast queries = %+v (only cx-month is a monthly spend limit of one count)", e.fc.queries)
	}
}

func TestLimitsTeamViewer(t *testing.T) {
	e := newSpendEnv(t, 40, false)
	w := e.do(t, req{method: "GET", target: "/ui/limits", session: "cx-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	hasAll(t, body, "cx-month", "per-team", "limit cx-month: warning")
	hasNone(t, body, "growth-day", "spend spike")
	w = e.do(t, req{method: "GET", target: "/ui/limits/forecasts", session: "cx-secret", header: map[string]string{"HX-Request": "true"}})
	hasAll(t, w.Body.String(), "cx-month", "per-team", "(team cx)")
	for _, q := range e.fc.queries {
		if q.Team != "cx" {
			t.Errorf("a team viewer's forecast read team %q", q.Team)
		}
	}
}

func TestLimitsEmpty(t *testing.T) {
	e := newSpendEnv(t, 0, true)
	w := e.do(t, req{method: "GET", target: "/ui/limits", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	hasAll(t, w.Body.String(), "No limits", "PUT /api/v1/limits/{name}", "No alerts yet")
	w = e.do(t, req{method: "GET", target: "/ui/limits/forecasts", session: "admin-secret"})
	hasAll(t, w.Body.String(), "<html", "No monthly spend limit to forecast")
}

func TestSettingsPage(t *testing.T) {
	e := newSpendEnv(t, 40, false)
	w := e.do(t, req{method: "GET", target: "/ui/settings", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	hasAll(t, body, "cx-bot", "growth-app", "team cx · prod", "weir_", "active",
		"ada", "single sign-on", "password", "every team",
		"support-reply", "production → v1", "answers a ticket", "<code>question</code>", "claude: anthropic",
		"cx-month", "$0.048000", // cx's 30-day spend
		"people.write")
	// Never a secret: the keys' hashes are not in the page.
	hasNone(t, body, "Hash", "iss sub")
}

func TestSettingsTeamViewer(t *testing.T) {
	e := newSpendEnv(t, 40, false)
	w := e.do(t, req{method: "GET", target: "/ui/settings", session: "cx-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	hasAll(t, body, "cx-bot", "Only admins see the list of people", "support-reply")
	hasNone(t, body, "growth-app", "growth-day", ">ada<")
}

func TestSettingsEmpty(t *testing.T) {
	e := newSpendEnv(t, 0, true)
	w := e.do(t, req{method: "GET", target: "/ui/settings", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	hasAll(t, w.Body.String(), "No teams yet", "No applications", "Nobody can sign in yet", "No prompts yet")
}

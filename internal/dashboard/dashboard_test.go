package dashboard

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
)

// now is the tests' clock: every seeded call is before it.
var now = time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)

// fakeAuth authenticates by the weir_session cookie's value: a key of
// people is signed in as that principal, anything else is not.
type fakeAuth struct{ people map[string]auth.Principal }

func (a fakeAuth) Authenticate(r *http.Request) (auth.Principal, string, error) {
	c, err := r.Cookie("weir_session")
	if err != nil {
		return auth.Principal{}, "", fmt.Errorf("no cookie: %w", auth.ErrUnauthenticated)
	}
	p, ok := a.people[c.Value]
	if !ok {
		return auth.Principal{}, "", fmt.Errorf("unknown session: %w", auth.ErrUnauthenticated)
	}
	return p, c.Value, nil
}

type fakeSessions struct{ loggedOut []string }

func (s *fakeSessions) Login(ctx context.Context, name, password, addr string) (string, store.Session, error) {
	if name == "ada" && password == "correct horse battery" {
		return "admin-secret", store.Session{}, nil
	}
	return "", store.Session{}, auth.ErrBadCredentials
}

func (s *fakeSessions) ChangePassword(ctx context.Context, name, current, password, addr string) (string, store.Session, error) {
	return "", store.Session{}, auth.ErrBadCredentials
}

func (s *fakeSessions) Logout(ctx context.Context, secret string) error {
	s.loggedOut = append(s.loggedOut, secret)
	return nil
}

func (s *fakeSessions) SetCookie(w http.ResponseWriter, secret string, _ store.Session) {
	http.SetCookie(w, &http.Cookie{Name: "weir_session", Value: secret, Path: "/"})
}

func (s *fakeSessions) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: "weir_session", Value: "", Path: "/", MaxAge: -1})
}

var people = map[string]auth.Principal{
	"admin-secret": {Kind: "user", Person: "ada", Role: auth.Admin, Session: true},
	"cx-secret":    {Kind: "user", Person: "cyd", Role: auth.Viewer, Team: "cx", Session: true},
}

func ptr[T any](v T) *T { return &v }

// seed writes n calls, one a minute back from now: even ones are team cx's
// support-reply calls, odd ones team growth's =HYPERLINK calls (a use case
// a spreadsheet would read as a formula); every fifth failed with a 429.
func seed(t *testing.T, st *sqlite.Store, n int) []record.Record {
	t.Helper()
	var recs []record.Record
	for i := range n {
		r := record.Record{
			ID: fmt.Sprintf("call-%03d", i), ReceivedAt: now.Add(-time.Duration(i+1) * time.Minute),
			Endpoint: record.EndpointChatCompletions, Provider: "openai", RequestedModel: "gpt-4o-mini", Model: "gpt-4o-mini",
			Status: 200, Stream: true, TTFTMs: ptr(120.0 + float64(i)), TTFCTMs: ptr(180.0), E2EMs: 900 + float64(i),
			UpstreamMs: 880, OverheadMs: 1.5, Usage: usage.Usage{InputTokens: 1000, CacheReadTokens: 200, OutputTokens: 50},
			CostUSD:  ptr(pricing.Money(3 * pricing.Milli)),
			Cost:     &pricing.Cost{Total: 3 * pricing.Milli, Input: 2 * pricing.Milli, Output: pricing.Milli, PriceAs: "openai", EntryID: "openai/gpt-4o-mini", Version: "test", Multiplier: 1_000_000},
			Attempts: []record.Attempt{{Provider: "openai", Model: "gpt-4o-mini", StartMs: 1, DurationMs: 890 + float64(i), Status: 200}},
			Request:  `{"messages":[{"role":"user","content":"<b>hi</b>"}]}`, Response: "Hello!",
		}
		r.UseCase, r.Team, r.User = "support-reply", "cx", "u1"
		if i%2 == 1 {
			r.UseCase, r.Team, r.User = "=HYPERLINK(\"x\")", "growth", "-u2"
		}
		if i%5 == 4 {
			r.Status, r.ErrorKind, r.ErrorMessage = 429, "rate_limited", "slow down"
			r.CostUSD, r.Cost = nil, &pricing.Cost{Unpriced: pricing.UnitInput | pricing.UnitOutput}
			r.Attempts = append(r.Attempts, record.Attempt{Provider: "anthropic", Model: "claude", StartMs: 900, DurationMs: 5, Status: 429, ErrorKind: "rate_limited", Error: "slow down", Next: "gave up", BackoffMs: 250})
		}
		recs = append(recs, r)
	}
	if err := st.WriteRecords(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

type env struct {
	d   *Dashboard
	st  *sqlite.Store
	ses *fakeSessions
}

func newEnv(t *testing.T, calls int) env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seed(t, st, calls)
	ses := &fakeSessions{}
	d, err := New(Options{Auth: fakeAuth{people}, Sessions: ses, Requests: st, Costs: st, Rollups: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return env{d, st, ses}
}

type req struct {
	method, target, session string
	header                  map[string]string
	form                    url.Values
}

func (e env) do(t *testing.T, r req) *httptest.ResponseRecorder {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	hr := httptest.NewRequest(r.method, r.target, body)
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.session != "" {
		hr.AddCookie(&http.Cookie{Name: "weir_session", Value: r.session})
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.d.ServeHTTP(w, hr)
	return w
}

// callIDs lists the call links of a page, in order.
func callIDs(body string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`href="/ui/calls/(call-\d+)"`).FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestUnauthenticatedBrowserGoesToSignIn(t *testing.T) {
	e := newEnv(t, 0)
	for _, target := range []string{"/ui/", "/ui/calls?use_case=a", "/ui/calls/call-001", "/ui/calls.csv"} {
		w := e.do(t, req{target: target})
		if w.Code != http.StatusSeeOther {
			t.Fatalf("GET %s: status %d, want 303", target, w.Code)
		}
		want := "/ui/login?next=" + url.QueryEscape(target)
		if got := w.Header().Get("Location"); got != want {
			t.Errorf("GET %s: Location %q, want %q", target, got, want)
		}
	}
	w := e.do(t, req{target: "/ui/calls", header: map[string]string{"HX-Request": "true"}})
	if w.Code != http.StatusNoContent || w.Header().Get("HX-Redirect") == "" {
		t.Errorf("htmx request: status %d, HX-Redirect %q; want 204 and a redirect", w.Code, w.Header().Get("HX-Redirect"))
	}
	// Signing in goes back to where the browser was going.
	w = e.do(t, req{method: http.MethodPost, target: "/ui/login", form: url.Values{"name": {"ada"}, "password": {"correct horse battery"}, "next": {"/ui/calls?team=cx"}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/calls?team=cx" {
		t.Errorf("sign in: status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	w = e.do(t, req{method: http.MethodPost, target: "/ui/login", form: url.Values{"name": {"ada"}, "password": {"wrong"}, "next": {"https://evil.example/"}}})
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "Wrong name or password") {
		t.Errorf("bad password: status %d", w.Code)
	}
}

func TestOverview(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		e := newEnv(t, 0)
		w := e.do(t, req{target: "/ui/", session: "admin-secret"})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		for _, want := range []string{"No calls recorded yet", "OPENAI_BASE_URL"} {
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("the empty overview lacks %q", want)
			}
		}
	})
	t.Run("calls", func(t *testing.T) {
		e := newEnv(t, 20)
		w := e.do(t, req{target: "/ui/", session: "admin-secret"})
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, body)
		}
		if strings.Contains(body, "No calls recorded yet") {
			t.Error("the overview shows the empty state with 20 calls")
		}
		// 16 priced calls of $0.003 today; 4 of 20 failed.
		for _, want := range []string{"$0.05", "20.0%", "support-reply", `data-chart="{&#34;t&#34;:[`, `&#34;unit&#34;:&#34;usd&#34;`} {
			if !strings.Contains(body, want) {
				t.Errorf("the overview lacks %q", want)
			}
		}
	})
}

func TestCallsFilters(t *testing.T) {
	e := newEnv(t, 20)
	cases := []struct {
		query string
		want  int
	}{
		{"", 20},
		{"?use_case=support-reply", 10},
		{"?team=growth", 10},
		{"?status=429", 4},
		{"?error_kind=rate_limited&team=cx", 2},
		{"?range=1h", 20},
		{"?from=2026-03-14T14:50:00Z", 10}, // 14:50 to 14:59, the bound included
		{"?from=2026-03-14T14:50:00Z&to=2026-03-14T14:55:00Z", 5},
		{"?provider=nobody", 0},
	}
	for _, c := range cases {
		w := e.do(t, req{target: "/ui/calls" + c.query, session: "admin-secret"})
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", c.query, w.Code)
		}
		if got := len(callIDs(w.Body.String())); got != c.want {
			t.Errorf("%s: %d calls, want %d", c.query, got, c.want)
		}
		if c.want == 0 && !strings.Contains(w.Body.String(), "No calls match these filters") {
			t.Errorf("%s: no empty-state message", c.query)
		}
	}
	w := e.do(t, req{target: "/ui/calls?status=abc", session: "admin-secret"})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "not an HTTP status") {
		t.Errorf("bad status filter: %d", w.Code)
	}
}

func TestCallsTeamLimitedViewer(t *testing.T) {
	e := newEnv(t, 20)
	// A viewer of team cx asking for team growth still sees cx only.
	w := e.do(t, req{target: "/ui/calls?team=growth", session: "cx-secret"})
	ids := callIDs(w.Body.String())
	if len(ids) != 10 {
		t.Fatalf("%d calls, want cx's 10", len(ids))
	}
	for _, id := range ids {
		var n int
		fmt.Sscanf(id, "call-%d", &n)
		if n%2 != 0 {
			t.Errorf("a cx viewer sees %s of team growth", id)
		}
	}
	// With no calls of the team, the list says how to send some.
	e0 := newEnv(t, 0)
	if w := e0.do(t, req{target: "/ui/calls", session: "cx-secret"}); !strings.Contains(w.Body.String(), "No calls recorded yet") {
		t.Error("an empty list of a team-limited viewer does not say how to send calls")
	}
	if w := e.do(t, req{target: "/ui/calls/call-001", session: "cx-secret"}); w.Code != http.StatusNotFound {
		t.Errorf("another team's call: status %d, want 404", w.Code)
	}
	if w := e.do(t, req{target: "/ui/calls/call-002", session: "cx-secret"}); w.Code != http.StatusOK {
		t.Errorf("own team's call: status %d, want 200", w.Code)
	}
}

func TestCallsHTMXGetsResultsOnly(t *testing.T) {
	e := newEnv(t, 20)
	w := e.do(t, req{target: "/ui/calls?use_case=support-reply&tz=Europe/Paris", session: "admin-secret",
		header: map[string]string{"HX-Request": "true", "HX-Target": "results"}})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if strings.Contains(body, "<html") || strings.Contains(body, "<form") {
		t.Error("an htmx request got the whole page")
	}
	if got := len(callIDs(body)); got != 10 {
		t.Errorf("%d calls, want 10", got)
	}
	if got, want := w.Header().Get("HX-Push-Url"), "/ui/calls?use_case=support-reply"; got != want {
		t.Errorf("HX-Push-Url %q, want %q", got, want)
	}
	// A history restore gets the whole page.
	w = e.do(t, req{target: "/ui/calls", session: "admin-secret",
		header: map[string]string{"HX-Request": "true", "HX-Target": "results", "HX-History-Restore-Request": "true"}})
	if !strings.Contains(w.Body.String(), "<html") {
		t.Error("a history restore did not get the whole page")
	}
}

func TestCallsKeysetPages(t *testing.T) {
	e := newEnv(t, 25)
	seen := map[string]bool{}
	target := "/ui/calls?limit=10"
	var pages []int
	for target != "" {
		w := e.do(t, req{target: target, session: "admin-secret"})
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", target, w.Code)
		}
		ids := callIDs(w.Body.String())
		pages = append(pages, len(ids))
		for _, id := range ids {
			if seen[id] {
				t.Errorf("%s: %s again", target, id)
			}
			seen[id] = true
		}
		m := regexp.MustCompile(`href="(/ui/calls\?[^"]*cursor=[^"]*)" rel="next"`).FindStringSubmatch(w.Body.String())
		target = ""
		if m != nil {
			target = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if len(pages) > 5 {
			t.Fatal("the pages do not end")
		}
	}
	if fmt.Sprint(pages) != "[10 10 5]" || len(seen) != 25 {
		t.Errorf("pages %v, %d calls; want [10 10 5] and 25", pages, len(seen))
	}
	if w := e.do(t, req{target: "/ui/calls?cursor=not-a-cursor", session: "admin-secret"}); w.Code != http.StatusBadRequest {
		t.Errorf("a malformed cursor: status %d, want 400", w.Code)
	}
}

func TestCallDetail(t *testing.T) {
	e := newEnv(t, 5)
	w := e.do(t, req{target: "/ui/calls/call-004", session: "admin-secret"})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, body)
	}
	for _, want := range []string{
		"call-004", `data-copy="call-004"`, "rate_limited", "slow down", "<svg", "<title id=\"tl-title\">", "first token",
		"attempt 2: anthropic claude", "gave up", "250 ms", "Unpriced", "<code>input_tokens</code>", "Cache read tokens",
		"&lt;b&gt;hi&lt;/b&gt;", `/ui/calls?use_case=support-reply`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the detail page lacks %q", want)
		}
	}
	w = e.do(t, req{target: "/ui/calls/call-000", session: "admin-secret"})
	for _, want := range []string{"$0.003", "Input", "Total", "openai/gpt-4o-mini"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("a priced call's page lacks %q", want)
		}
	}
	if w := e.do(t, req{target: "/ui/calls/nope", session: "admin-secret"}); w.Code != http.StatusNotFound {
		t.Errorf("a missing call: status %d, want 404", w.Code)
	}

	// Bodies not logged.
	rec := record.Record{ID: "nolog", ReceivedAt: now.Add(-time.Hour), Status: 200, E2EMs: 10}
	rec.NoLog = true
	if err := e.st.WriteRecords(context.Background(), []record.Record{rec}); err != nil {
		t.Fatal(err)
	}
	w = e.do(t, req{target: "/ui/calls/nolog", session: "admin-secret"})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Not logged (<code>x-weir-no-log</code>)") {
		t.Errorf("no-log call: status %d, no not-logged note", w.Code)
	}
}

func TestCallsCSV(t *testing.T) {
	e := newEnv(t, 12)
	w := e.do(t, req{target: "/ui/calls.csv?team=growth", session: "admin-secret"})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("%d rows, header %v; want the header and 6 calls", len(rows), rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if got := r[col["use_case"]]; got != `'=HYPERLINK("x")` {
			t.Errorf("use_case %q: a formula is not guarded", got)
		}
		if got := r[col["user"]]; got != "'-u2" {
			t.Errorf("user %q: not guarded", got)
		}
		if r[col["team"]] != "growth" {
			t.Errorf("a row of team %q", r[col["team"]])
		}
	}
	// The list's CSV link carries its filters.
	w = e.do(t, req{target: "/ui/calls?team=growth&status=429", session: "admin-secret", header: map[string]string{"HX-Request": "true", "HX-Target": "results"}})
	if want := `href="/ui/calls.csv?status=429&amp;team=growth"`; !strings.Contains(w.Body.String(), want) {
		t.Errorf("the results lack the CSV link %s", want)
	}
	// A team-limited viewer exports its team only.
	w = e.do(t, req{target: "/ui/calls.csv?team=growth", session: "cx-secret"})
	rows, _ = csv.NewReader(w.Body).ReadAll()
	for _, r := range rows[1:] {
		if r[col["team"]] != "cx" {
			t.Errorf("a cx viewer exports a row of team %q", r[col["team"]])
		}
	}
}

func TestUnsafeRequestsNeedCSRFToken(t *testing.T) {
	e := newEnv(t, 0)
	w := e.do(t, req{method: http.MethodPost, target: "/ui/logout", session: "admin-secret", form: url.Values{}})
	if w.Code != http.StatusForbidden || len(e.ses.loggedOut) != 0 {
		t.Errorf("sign-out without a token: status %d, logged out %v", w.Code, e.ses.loggedOut)
	}
	w = e.do(t, req{method: http.MethodPost, target: "/ui/logout", session: "admin-secret", form: url.Values{"csrf": {"forged"}}})
	if w.Code != http.StatusForbidden {
		t.Errorf("sign-out with a wrong token: status %d", w.Code)
	}
	w = e.do(t, req{method: http.MethodPost, target: "/ui/logout", session: "admin-secret", form: url.Values{"csrf": {auth.CSRFToken("admin-secret")}}})
	if w.Code != http.StatusSeeOther || len(e.ses.loggedOut) != 1 {
		t.Errorf("sign-out with the token: status %d, logged out %v", w.Code, e.ses.loggedOut)
	}
	// Another site's form is refused before anything else.
	w = e.do(t, req{method: http.MethodPost, target: "/ui/login", header: map[string]string{"Sec-Fetch-Site": "cross-site"},
		form: url.Values{"name": {"ada"}, "password": {"correct horse battery"}}})
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site sign-in: status %d, want 403", w.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, 0)
	for _, target := range []string{"/ui/", "/ui/login", "/ui/static/app.css", "/ui/nope"} {
		w := e.do(t, req{target: target, session: "admin-secret"})
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") {
			t.Errorf("%s: CSP %q", target, csp)
		}
		if w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: no X-Frame-Options", target)
		}
	}
}

// TestEveryPageRenders opens every page an admin can open and checks
// that it renders whole, with no inline script or style (the CSP would
// block them) and that every static file it links exists.
func TestEveryPageRenders(t *testing.T) {
	e := newEnv(t, 30)
	if len(e.d.pages) == 0 {
		t.Fatal("no page parsed")
	}
	targets := []string{"/ui/password", "/ui/calls/call-000", "/ui/calls/call-004", "/ui/calls?range=7d", "/ui/calls?limit=5"}
	for _, n := range nav {
		targets = append(targets, n.Path)
	}
	if w := e.do(t, req{target: "/ui/login"}); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="password"`) {
		t.Errorf("the sign-in page: status %d", w.Code)
	}
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			w := e.do(t, req{target: target, session: "admin-secret"})
			body := w.Body.String()
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, body)
			}
			if !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
				t.Error("the page is cut short")
			}
			if strings.Contains(body, " style=") || strings.Contains(body, "<style") || inlineScript.MatchString(body) || strings.Contains(body, " onclick=") {
				t.Error("inline style or script, which the CSP blocks")
			}
			for _, m := range regexp.MustCompile(`(?:src|href)="(/ui/static/[^"]+)"`).FindAllStringSubmatch(body, -1) {
				if w := e.do(t, req{target: m[1]}); w.Code != http.StatusOK {
					t.Errorf("%s: status %d", m[1], w.Code)
				}
			}
		})
	}
}

func TestNewFailsWithoutReader(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a request reader succeeded")
	}
}

func TestTimeline(t *testing.T) {
	rec := record.Record{E2EMs: 1000, TTFTMs: ptr(250.0), TTFCTMs: ptr(900.0), Status: 200, Attempts: []record.Attempt{
		{Provider: "a", Model: "m", StartMs: 0, DurationMs: 200, Status: 503, ErrorKind: "upstream_unavailable"},
		{Provider: "b", Model: "n", StartMs: 600, DurationMs: 400, Status: 200},
	}}
	tl := newTimeline(&rec)
	if len(tl.Bars) != 3 || len(tl.Marks) != 2 {
		t.Fatalf("%d bars and %d marks, want 3 and 2", len(tl.Bars), len(tl.Marks))
	}
	b := tl.Bars[1]
	if b.X != 0 || b.W != 200 || b.OK || b.TextEnd {
		t.Errorf("the failed first attempt: %+v", b)
	}
	b = tl.Bars[2]
	if b.X != 600 || b.W != 400 || !b.OK || !b.TextEnd || b.TextX != 1000 {
		t.Errorf("the second attempt: %+v", b)
	}
	if m := tl.Marks[0]; m.X != 250 || m.End || m.Y != tl.Height+12 {
		t.Errorf("first token mark: %+v", m)
	}
	if m := tl.Marks[1]; m.X != 900 || !m.End || m.Y <= tl.Marks[0].Y || tl.ViewHeight <= m.Y {
		t.Errorf("first content token mark: %+v (view height %d)", m, tl.ViewHeight)
	}
	// An attempt running past the call's end widens the scale.
	rec.Attempts[1].DurationMs = 1400
	if tl := newTimeline(&rec); tl.TotalMs != 2000 || tl.Bars[0].W != 500 {
		t.Errorf("scale %v, whole-call bar %v; want 2000 ms and 500", tl.TotalMs, tl.Bars[0].W)
	}
	if tl := newTimeline(&record.Record{}); len(tl.Bars) != 0 {
		t.Error("a call of no length has a timeline")
	}
}

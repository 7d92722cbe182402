package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
)

// TestPeopleOverHTTP walks the management API as people do: the open
// loopback API closes once the first admin exists, a browser session signs
// in with a one-time password, must change it, needs its CSRF token for
// changes, and ends at logout; a team-scoped token reads only its team's
// calls; each change lands in the audit log.
func TestPeopleOverHTTP(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{"gpt-4o-mini": {OutputTokens: 3}}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	cfg.DataDir = t.TempDir()
	cfg.Auth.InsecureCookies = true // httptest serves plain HTTP on 127.0.0.1, which Go's cookie jar treats as insecure
	a, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	type client struct {
		c    *http.Client
		hdr  map[string]string
		csrf string
	}
	newBrowser := func() *client {
		jar, _ := cookiejar.New(nil)
		return &client{c: &http.Client{Jar: jar}, hdr: map[string]string{}}
	}
	do := func(cl *client, method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range cl.hdr {
			req.Header.Set(k, v)
		}
		if cl.csrf != "" {
			req.Header.Set("X-CSRF-Token", cl.csrf)
		}
		resp, err := cl.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		var out map[string]any
		json.Unmarshal(b, &out)
		return out
	}
	anon := &client{c: http.DefaultClient, hdr: map[string]string{}}

	// Open on loopback while nobody exists: the first admin is created
	// through the API itself, with a one-time password.
	do(anon, "GET", "/api/v1/requests", "", 200)
	otp := do(anon, "PUT", "/api/v1/people/root", `{"role":"admin","generate_password":true}`, 201)["one_time_password"].(string)
	do(anon, "GET", "/api/v1/requests", "", 401)

	// A browser signs in, and may do nothing but change the password.
	br := newBrowser()
	do(br, "POST", "/api/v1/login", `{"name":"root","password":"not it at all"}`, 401)
	s := do(br, "POST", "/api/v1/login", `{"name":"root","password":"`+otp+`"}`, 200)
	if s["password_change_required"] != true || s["csrf_token"] == "" {
		t.Fatalf("login: %v", s)
	}
	do(br, "GET", "/api/v1/requests", "", 403)
	do(br, "POST", "/api/v1/me/password", `{"current":"`+otp+`","new":"a much better password"}`, 403) // no CSRF token yet
	br.csrf = s["csrf_token"].(string)
	s = do(br, "POST", "/api/v1/me/password", `{"current":"`+otp+`","new":"a much better password"}`, 200)
	br.csrf = ""
	do(br, "GET", "/api/v1/requests", "", 200) // reads need no CSRF token
	do(br, "PUT", "/api/v1/people/ann", `{"role":"viewer","team":"cx"}`, 403)
	br.csrf = s["csrf_token"].(string)
	do(br, "PUT", "/api/v1/people/ann", `{"role":"finance","team":"cx"}`, 201)
	do(br, "PUT", "/api/v1/people/carol", `{"role":"owner"}`, 201)
	me := do(br, "GET", "/api/v1/me", "", 200)
	if me["principal"].(map[string]any)["person"] != "root" || me["csrf_token"] != br.csrf {
		t.Errorf("me: %v", me)
	}
	// A browser on another site cannot make changes with the cookie.
	br.hdr["Origin"] = "https://evil.example"
	do(br, "PUT", "/api/v1/people/mallory", `{"role":"admin"}`, 403)
	delete(br.hdr, "Origin")

	// Tokens: a team-scoped finance token for ann, made by the admin.
	tok := do(br, "POST", "/api/v1/tokens", `{"name":"cx reports","person":"ann"}`, 201)
	cx := &client{c: http.DefaultClient, hdr: map[string]string{"Authorization": "Bearer " + tok["secret"].(string)}}
	if tok["team"] != "cx" || tok["role"] != "finance" {
		t.Errorf("token: %v", tok)
	}
	// Calls of two teams.
	for _, team := range []string{"cx", "ml"} {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"primary/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("X-Weir-Team", team)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("call: %v", err)
		}
		resp.Body.Close()
	}
	var all []any
	for range 100 {
		if all = do(br, "GET", "/api/v1/requests", "", 200)["requests"].([]any); len(all) == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(all) != 2 {
		t.Fatalf("admin sees %d calls", len(all))
	}
	mine := do(cx, "GET", "/api/v1/requests", "", 200)["requests"].([]any)
	if len(mine) != 1 || mine[0].(map[string]any)["team"] != "cx" {
		t.Errorf("the cx token sees %v", mine)
	}
	do(cx, "GET", "/api/v1/requests?team=ml", "", 403)
	for _, r := range all {
		rec := r.(map[string]any)
		want := 200
		if rec["team"] != "cx" {
			want = 404
		}
		do(cx, "GET", "/api/v1/requests/"+rec["id"].(string), "", want)
	}
	costs := do(cx, "GET", "/api/v1/costs?group_by=team", "", 200)["totals"].([]any)
	if len(costs) != 1 || costs[0].(map[string]any)["key"] != "cx" {
		t.Errorf("the cx token's costs: %v", costs)
	}
	do(cx, "GET", "/api/v1/portfolio", "", 403) // spans teams
	do(cx, "PUT", "/api/v1/limits/x", `{"usd":1,"window":"day","mode":"warn"}`, 403)
	do(cx, "GET", "/api/v1/people", "", 200)
	do(cx, "GET", "/api/v1/audit", "", 403) // finance does not read the audit log

	// An owner changes only the use cases they own.
	otok := do(br, "POST", "/api/v1/tokens", `{"name":"carol","person":"carol"}`, 201)
	carol := &client{c: http.DefaultClient, hdr: map[string]string{"Authorization": "Bearer " + otok["secret"].(string)}}
	do(br, "PUT", "/api/v1/use-cases/triage", `{"business_owner":"ghost","kpis":[{"name":"resolved","type":"boolean","direction":"higher"}]}`, 400) // not a person
	do(br, "PUT", "/api/v1/use-cases/triage", `{"business_owner":"root","kpis":[{"name":"resolved","type":"boolean","direction":"higher"}]}`, 200)
	do(carol, "PUT", "/api/v1/use-cases/triage", `{"business_owner":"carol","kpis":[{"name":"resolved","type":"boolean","direction":"higher"}]}`, 403)
	do(carol, "PUT", "/api/v1/use-cases/triage/instances/t1/kpis/resolved", `{"value":true}`, 403)
	do(carol, "PUT", "/api/v1/use-cases/leads", `{"technical_owner":"carol","kpis":[{"name":"qualified","type":"boolean","direction":"higher"}]}`, 200)
	do(carol, "PUT", "/api/v1/use-cases/leads/instances/l1/kpis/qualified", `{"value":true}`, 200)
	do(carol, "PUT", "/api/v1/use-cases/other", `{"technical_owner":"root","kpis":[{"name":"x","type":"boolean","direction":"higher"}]}`, 403)

	// Revocation is immediate.
	do(br, "DELETE", "/api/v1/tokens/"+tok["id"].(string), "", 204)
	do(cx, "GET", "/api/v1/requests", "", 401)

	// Logout ends the session.
	do(br, "POST", "/api/v1/logout", "", 204)
	br.csrf = ""
	do(br, "GET", "/api/v1/me", "", 401)

	// The audit log names who did what.
	adm := newBrowser()
	s = do(adm, "POST", "/api/v1/login", `{"name":"root","password":"a much better password"}`, 200)
	entries := do(adm, "GET", "/api/v1/audit?object_kind=person", "", 200)["entries"].([]any)
	var actions []string
	for _, e := range entries {
		m := e.(map[string]any)
		actions = append(actions, m["action"].(string)+" "+m["object_id"].(string)+" by "+m["actor"].(map[string]any)["name"].(string))
	}
	for _, want := range []string{"person.create root by anonymous", "person.create ann by root", "person.password root by root"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("audit lacks %q: %q", want, actions)
		}
	}
	if b, _ := json.Marshal(entries); strings.Contains(string(b), "argon2") || strings.Contains(string(b), otp) {
		t.Errorf("the audit log holds a password or its hash: %s", b)
	}
}

// TestServeRefusesExposureWithoutPeople: beyond loopback, Weir does not
// start until someone can sign in.
func TestServeRefusesExposureWithoutPeople(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip("cannot listen on all interfaces here:", err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ln.Addr().String()
	a, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ServeListener(t.Context(), ln, nil); !errors.Is(err, ErrNoPeople) {
		t.Fatalf("serve on %s without people: %v", cfg.Listen, err)
	}
}

package sso

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/sso/ssotest"
)

const redirectURL = "https://weir.example/api/v1/auth/oidc/callback"

type signIn struct {
	ID         Identity
	Role, Team string
}

// fakeSessions records sign-ins and sets a session cookie.
type fakeSessions struct {
	mu    sync.Mutex
	calls []signIn
	err   error
}

func (f *fakeSessions) SignIn(_ context.Context, w http.ResponseWriter, _ *http.Request, id Identity, role, team string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, signIn{id, role, team})
	if f.err != nil {
		return f.err
	}
	http.SetCookie(w, &http.Cookie{Name: "weir_session", Value: "s1", Path: "/", HttpOnly: true})
	return nil
}

type harness struct {
	h    *Handler
	idp  *ssotest.Provider
	sess *fakeSessions
	logs *bytes.Buffer
	now  time.Time
}

func testConfig(issuer string) Config {
	return Config{
		Issuer:       issuer,
		ClientID:     ssotest.ClientID,
		ClientSecret: ssotest.ClientSecret,
		RedirectURL:  redirectURL,
		Roles: []GroupRole{
			{Group: "weir-admins", Role: "admin"},
			{Group: "weir-finance", Role: "finance"},
			{Group: "everyone", Role: "viewer"},
		},
		Teams: []GroupTeam{{Group: "team-search", Team: "search"}, {Group: "team-ads", Team: "ads"}},
	}
}

// newHarness starts a fake provider and a discovered handler; mod edits the
// config before the handler is made.
func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	idp := ssotest.New(t)
	cfg := testConfig(idp.Issuer)
	if mod != nil {
		mod(&cfg)
	}
	hs := &harness{idp: idp, sess: &fakeSessions{}, logs: &bytes.Buffer{}, now: time.Now()}
	h, err := New(cfg, Options{
		Sessions: hs.sess,
		Log:      slog.New(slog.NewJSONHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      func() time.Time { return hs.now },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs.h = h
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return hs
}

// login calls the login route; it returns the flow cookie and the
// provider URL it redirects to.
func (hs *harness) login(t *testing.T, next string) (*http.Cookie, string) {
	t.Helper()
	target := "https://weir.example" + LoginPath
	if next != "" {
		target += "?next=" + url.QueryEscape(next)
	}
	rec := httptest.NewRecorder()
	hs.h.Login(rec, httptest.NewRequest("GET", target, nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("login: status %d, body %s", rec.Code, rec.Body)
	}
	var flow *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName {
			flow = c
		}
	}
	if flow == nil {
		t.Fatal("login set no flow cookie")
	}
	return flow, rec.Header().Get("Location")
}

// authorize follows the provider's authorize step; it returns the
// callback URL the provider redirects back to.
func authorize(t *testing.T, authURL string) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("authorize redirect: %v", err)
	}
	return u
}

func (hs *harness) callback(t *testing.T, u *url.URL, flow *http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", u.String(), nil)
	if flow != nil {
		req.AddCookie(flow)
	}
	rec := httptest.NewRecorder()
	hs.h.Callback(rec, req)
	return rec
}

// flow runs a whole sign-in.
func (hs *harness) flow(t *testing.T, next string) *httptest.ResponseRecorder {
	t.Helper()
	flow, authURL := hs.login(t, next)
	return hs.callback(t, authorize(t, authURL), flow)
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) (code, msg string) {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	return body.Error.Code, body.Error.Message
}

func TestCallback(t *testing.T) {
	alice := func(extra map[string]any) map[string]any {
		c := map[string]any{"sub": "alice-1", "email": "alice@example.com", "email_verified": true, "name": "Alice"}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name      string
		config    func(*Config)
		claims    map[string]any
		tamper    func(map[string]any)
		forge     bool
		authError string
		edit      func(u *url.URL, flow **http.Cookie, hs *harness)
		sessErr   error
		// want: a 302 to next with this sign-in, or a status and code
		want       *signIn
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{
			name:   "role and team from groups: the first matching entry in config order wins",
			claims: alice(map[string]any{"groups": []any{"staff", "team-ads", "weir-finance", "everyone", "team-search"}}),
			want: &signIn{ID: Identity{Subject: "alice-1", Email: "alice@example.com", Name: "Alice", EmailVerified: true,
				Groups: []string{"staff", "team-ads", "weir-finance", "everyone", "team-search"}}, Role: "finance", Team: "search"},
		},
		{
			name:   "no matching group takes the default role",
			config: func(c *Config) { c.DefaultRole = "viewer" },
			claims: alice(map[string]any{"groups": []any{"staff"}}),
			want:   &signIn{ID: Identity{Subject: "alice-1", Email: "alice@example.com", Name: "Alice", EmailVerified: true, Groups: []string{"staff"}}, Role: "viewer"},
		},
		{
			name:       "no matching group and no default role is refused",
			claims:     alice(map[string]any{"groups": []any{"staff"}}),
			wantStatus: 403, wantCode: "sso_no_role",
		},
		{
			name:       "no groups claim and no default role is refused",
			claims:     alice(nil),
			wantStatus: 403, wantCode: "sso_no_role",
		},
		{
			name:   "groups in a nested claim, name from preferred_username",
			config: func(c *Config) { c.GroupsClaim = "realm_access.roles" },
			claims: map[string]any{"sub": "bob", "email": "bob@example.com", "email_verified": "true", "preferred_username": "bob",
				"realm_access": map[string]any{"roles": []any{"weir-admins"}}},
			want: &signIn{ID: Identity{Subject: "bob", Email: "bob@example.com", Name: "bob", EmailVerified: true, Groups: []string{"weir-admins"}}, Role: "admin"},
		},
		{
			name: "wrong state",
			edit: func(u *url.URL, _ **http.Cookie, _ *harness) {
				q := u.Query()
				q.Set("state", "not-the-state")
				u.RawQuery = q.Encode()
			},
			wantStatus: 400, wantCode: "sso_state_invalid", wantMsg: "does not match",
		},
		{
			name:       "no flow cookie (started in another browser)",
			edit:       func(_ *url.URL, c **http.Cookie, _ *harness) { *c = nil },
			wantStatus: 400, wantCode: "sso_state_invalid", wantMsg: "not started in this browser",
		},
		{
			name: "forged flow cookie",
			edit: func(_ *url.URL, c **http.Cookie, _ *harness) {
				v := []byte((*c).Value)
				v[len(v)/2] ^= 1
				(*c).Value = string(v)
			},
			wantStatus: 400, wantCode: "sso_state_invalid",
		},
		{
			name:       "flow older than 10 minutes",
			edit:       func(_ *url.URL, _ **http.Cookie, hs *harness) { hs.now = hs.now.Add(11 * time.Minute) },
			wantStatus: 400, wantCode: "sso_state_invalid", wantMsg: "expired",
		},
		{
			name: "iss parameter from another provider (RFC 9207)",
			edit: func(u *url.URL, _ **http.Cookie, _ *harness) {
				q := u.Query()
				q.Set("iss", "https://evil.example")
				u.RawQuery = q.Encode()
			},
			wantStatus: 400, wantCode: "sso_provider_error",
		},
		{
			name: "code not accepted",
			edit: func(u *url.URL, _ **http.Cookie, _ *harness) {
				q := u.Query()
				q.Set("code", "made-up")
				u.RawQuery = q.Encode()
			},
			wantStatus: 502, wantCode: "sso_exchange_failed",
		},
		{
			name:       "wrong nonce",
			tamper:     func(c map[string]any) { c["nonce"] = "another-sign-in" },
			wantStatus: 401, wantCode: "sso_token_invalid", wantMsg: "nonce",
		},
		{
			name:       "no nonce",
			tamper:     func(c map[string]any) { delete(c, "nonce") },
			wantStatus: 401, wantCode: "sso_token_invalid", wantMsg: "nonce",
		},
		{
			name:       "expired token",
			tamper:     func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() },
			wantStatus: 401, wantCode: "sso_token_invalid", wantMsg: "expired",
		},
		{
			name:       "wrong audience",
			tamper:     func(c map[string]any) { c["aud"] = "someone-else" },
			wantStatus: 401, wantCode: "sso_token_invalid", wantMsg: "another client",
		},
		{
			name:       "several audiences without azp",
			tamper:     func(c map[string]any) { c["aud"] = []any{ssotest.ClientID, "someone-else"} },
			wantStatus: 401, wantCode: "sso_token_invalid", wantMsg: "another party",
		},
		{
			name: "several audiences with azp naming us",
			tamper: func(c map[string]any) {
				c["aud"] = []any{ssotest.ClientID, "someone-else"}
				c["azp"] = ssotest.ClientID
			},
			want: &signIn{ID: Identity{Subject: "alice-1", Email: "alice@example.com", Name: "Alice", EmailVerified: true, Groups: []string{"weir-admins"}}, Role: "admin"},
		},
		{
			name:       "signed with a key not in the provider's key set",
			forge:      true,
			wantStatus: 401, wantCode: "sso_token_invalid", wantMsg: "signature",
		},
		{
			name:       "wrong issuer",
			tamper:     func(c map[string]any) { c["iss"] = "https://evil.example" },
			wantStatus: 401, wantCode: "sso_token_invalid", wantMsg: "another provider",
		},
		{
			name:       "unverified email",
			claims:     alice(map[string]any{"email_verified": false, "groups": []any{"weir-admins"}}),
			wantStatus: 403, wantCode: "sso_email_unverified",
		},
		{
			name:       "no email",
			claims:     map[string]any{"sub": "x", "groups": []any{"weir-admins"}},
			wantStatus: 403, wantCode: "sso_email_unverified",
		},
		{
			name:   "unverified email allowed when not required",
			config: func(c *Config) { f := false; c.RequireVerifiedEmail = &f },
			claims: alice(map[string]any{"email_verified": false, "groups": []any{"weir-admins"}}),
			want:   &signIn{ID: Identity{Subject: "alice-1", Email: "alice@example.com", Name: "Alice", Groups: []string{"weir-admins"}}, Role: "admin"},
		},
		{
			name:       "disallowed domain",
			config:     func(c *Config) { c.AllowedEmailDomains = []string{"corp.example"} },
			claims:     alice(map[string]any{"groups": []any{"weir-admins"}}),
			wantStatus: 403, wantCode: "sso_domain_not_allowed",
		},
		{
			name:       "a subdomain is not the domain",
			config:     func(c *Config) { c.AllowedEmailDomains = []string{"example.com"} },
			claims:     alice(map[string]any{"email": "alice@evil.example.com", "groups": []any{"weir-admins"}}),
			wantStatus: 403, wantCode: "sso_domain_not_allowed",
		},
		{
			name:   "allowed domain, any case",
			config: func(c *Config) { c.AllowedEmailDomains = []string{"corp.example", "example.com"} },
			claims: alice(map[string]any{"email": "Alice@Example.COM", "groups": []any{"weir-admins"}}),
			want:   &signIn{ID: Identity{Subject: "alice-1", Email: "Alice@Example.COM", Name: "Alice", EmailVerified: true, Groups: []string{"weir-admins"}}, Role: "admin"},
		},
		{
			name:       "groups claim of the wrong type",
			claims:     alice(map[string]any{"groups": []any{1, 2}}),
			wantStatus: 401, wantCode: "sso_token_invalid",
		},
		{
			name:       "provider answers access_denied",
			authError:  "access_denied",
			wantStatus: 403, wantCode: "sso_provider_error", wantMsg: "access_denied: The person declined.",
		},
		{
			name:       "provider answers another error",
			authError:  "temporarily_unavailable",
			wantStatus: 401, wantCode: "sso_provider_error", wantMsg: "temporarily_unavailable",
		},
		{
			name:       "Sessions denies the person",
			sessErr:    fmt.Errorf("person disabled: %w", ErrDenied),
			wantStatus: 403, wantCode: "sso_denied",
		},
		{
			name:       "Sessions fails",
			sessErr:    errors.New("database is locked"),
			wantStatus: 500, wantCode: "internal",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, tt.config)
			if tt.claims != nil {
				hs.idp.SetClaims(tt.claims)
			}
			hs.idp.Tamper(tt.tamper)
			hs.idp.AuthorizeError(tt.authError)
			if err := hs.idp.ForgeSignatures(tt.forge); err != nil {
				t.Fatal(err)
			}
			hs.sess.err = tt.sessErr

			flow, authURL := hs.login(t, "/costs?team=ads")
			u := authorize(t, authURL)
			if tt.edit != nil {
				tt.edit(u, &flow, hs)
			}
			rec := hs.callback(t, u, flow)

			if tt.want != nil {
				if rec.Code != http.StatusFound {
					t.Fatalf("status %d, want 302; body %s", rec.Code, rec.Body)
				}
				if got := rec.Header().Get("Location"); got != "/costs?team=ads" {
					t.Errorf("Location %q, want /costs?team=ads", got)
				}
				tt.want.ID.Issuer = hs.idp.Issuer
				if len(hs.sess.calls) != 1 {
					t.Fatalf("%d SignIn calls, want 1", len(hs.sess.calls))
				}
				if diff := cmp.Diff(*tt.want, hs.sess.calls[0]); diff != "" {
					t.Errorf("SignIn (-want +got):\n%s", diff)
				}
			} else {
				if rec.Code != tt.wantStatus {
					t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
				}
				code, msg := errorCode(t, rec)
				if code != tt.wantCode || !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("error %s %q, want %s containing %q", code, msg, tt.wantCode, tt.wantMsg)
				}
				if tt.sessErr == nil && len(hs.sess.calls) != 0 {
					t.Errorf("SignIn called on a refused sign-in: %+v", hs.sess.calls)
				}
			}
			if !clearsFlowCookie(rec) {
				t.Errorf("callback did not clear the flow cookie: %q", rec.Header().Values("Set-Cookie"))
			}
			for _, secret := range []string{ssotest.ClientSecret, "eyJ"} { // eyJ: any JWT
				if strings.Contains(hs.logs.String(), secret) || strings.Contains(rec.Body.String(), secret) {
					t.Errorf("%q appears in the logs or body", secret)
				}
			}
		})
	}
}

func clearsFlowCookie(rec *httptest.ResponseRecorder) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// A callback URL and cookie replayed after a finished sign-in are refused
// before the code reaches the provider again.
func TestReplayedState(t *testing.T) {
	hs := newHarness(t, nil)
	flow, authURL := hs.login(t, "/")
	u := authorize(t, authURL)
	if rec := hs.callback(t, u, flow); rec.Code != http.StatusFound {
		t.Fatalf("first callback: %d %s", rec.Code, rec.Body)
	}
	rec := hs.callback(t, u, flow)
	if code, msg := errorCode(t, rec); rec.Code != 400 || code != "sso_state_invalid" || !strings.Contains(msg, "already completed") {
		t.Errorf("replay: %d %s %q, want 400 sso_state_invalid", rec.Code, code, msg)
	}
	if n := hs.idp.Exchanges(); n != 1 {
		t.Errorf("%d code exchanges, want 1", n)
	}
	if n := len(hs.sess.calls); n != 1 {
		t.Errorf("%d sessions started, want 1", n)
	}
}

func TestLogin(t *testing.T) {
	hs := newHarness(t, nil)
	flow, authURL := hs.login(t, "/usage")
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasPrefix(authURL, hs.idp.Issuer+"/authorize?") {
		t.Errorf("redirects to %s, want the provider's authorization endpoint", authURL)
	}
	for k, want := range map[string]string{
		"client_id": ssotest.ClientID, "redirect_uri": redirectURL, "response_type": "code",
		"scope": "openid email profile", "code_challenge_method": "S256",
	} {
		if q.Get(k) != want {
			t.Errorf("%s=%q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 22 {
			t.Errorf("%s=%q: too short to be unguessable", k, q.Get(k))
		}
		if strings.Contains(flow.Value, q.Get(k)) {
			t.Errorf("the flow cookie shows %s in the clear", k)
		}
	}
	if q.Get("state") == q.Get("nonce") {
		t.Error("state and nonce are the same value")
	}
	if !flow.HttpOnly || !flow.Secure || flow.SameSite != http.SameSiteLaxMode || flow.Path != CallbackPath || flow.MaxAge != 600 {
		t.Errorf("flow cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=%s, Max-Age=600", flow, CallbackPath)
	}
	var st flowState
	if err := hs.h.box.open(flow.Value, &st); err != nil {
		t.Fatalf("open flow cookie: %v", err)
	}
	if st.Next != "/usage" || st.State != q.Get("state") || st.Nonce != q.Get("nonce") {
		t.Errorf("flow state %+v does not match the request", st)
	}

	// Two logins never share state, nonce or verifier.
	_, authURL2 := hs.login(t, "/usage")
	u2, _ := url.Parse(authURL2)
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if u2.Query().Get(k) == q.Get(k) {
			t.Errorf("second login reuses %s", k)
		}
	}
}

func TestFlowCookieSecure(t *testing.T) {
	tests := []struct {
		name        string
		target      string
		redirect    string
		flag, wantS bool
	}{
		{"plain HTTP, http redirect", "http://127.0.0.1:8080" + LoginPath, "http://127.0.0.1:8080" + CallbackPath, false, false},
		{"plain HTTP behind a TLS proxy, flag set", "http://127.0.0.1:8080" + LoginPath, "http://127.0.0.1:8080" + CallbackPath, true, true},
		{"TLS request", "https://127.0.0.1:8443" + LoginPath, "http://127.0.0.1:8443" + CallbackPath, false, true},
		{"https redirect URL", "http://10.0.0.1" + LoginPath, redirectURL, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, func(c *Config) { c.RedirectURL, c.SecureCookie = tt.redirect, tt.flag })
			rec := httptest.NewRecorder()
			hs.h.Login(rec, httptest.NewRequest("GET", tt.target, nil))
			c := rec.Result().Cookies()
			if len(c) != 1 || c[0].Secure != tt.wantS {
				t.Errorf("cookies %+v, want one with Secure=%v", c, tt.wantS)
			}
		})
	}
}

// next survives the round trip only as a path on this site.
func TestNextRoundTrip(t *testing.T) {
	tests := []struct{ next, want string }{
		{"", "/"},
		{"/", "/"},
		{"/costs?team=ads#top", "/costs?team=ads#top"},
		{"//evil.com", "/"},
		{"//evil.com/path", "/"},
		{"https://evil.com", "/"},
		{"http:evil.com", "/"},
		{"javascript:alert(1)", "/"},
		{`/\evil.com`, "/"},
		{`\\evil.com`, "/"},
		{`/costs\..\x`, "/"},
		{"/\t/evil.com", "/"},
		{"/\n/evil.com", "/"},
		{"evil.com", "/"},
		{"costs", "/"},
		{"/%2F%2Fevil.com", "/%2F%2Fevil.com"}, // a path: browsers do not decode it into an authority
	}
	hs := newHarness(t, nil)
	for _, tt := range tests {
		hs.sess.calls = nil
		rec := hs.flow(t, tt.next)
		if rec.Code != http.StatusFound {
			t.Fatalf("next %q: status %d %s", tt.next, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Location"); got != tt.want {
			t.Errorf("next %q: Location %q, want %q", tt.next, got, tt.want)
		}
	}
}

func TestSanitizeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b?c=d":                      "/a/b?c=d",
		"/" + strings.Repeat("a", 1023): "/" + strings.Repeat("a", 1023),
		"/" + strings.Repeat("a", 1024): "/",
		"///evil.com":                   "/",
		"/café":                         "/",
		"/\x7f":                         "/",
		"/a%ZZ":                         "/",
		"https:/evil.com":               "/",
	} {
		if got := SanitizeNext(in); got != want {
			t.Errorf("SanitizeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSanitizeNext(f *testing.F) {
	for _, s := range []string{"/", "/costs?x=1", "//evil.com", `/\evil.com`, "https://evil.com", "/\t/x", "javascript:x", "/%2f%2fx", "/a/../..//b"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://weir.example/dashboard/page")
	f.Fuzz(func(t *testing.T, in string) {
		out := SanitizeNext(in)
		if out != "/" && out != in {
			t.Fatalf("SanitizeNext(%q) = %q: neither the input nor /", in, out)
		}
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\t\r\n") {
			t.Fatalf("SanitizeNext(%q) = %q: not a local path", in, out)
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("SanitizeNext(%q) = %q does not parse: %v", in, out, err)
		}
		if r := base.ResolveReference(u); r.Scheme != "https" || r.Host != "weir.example" || r.User != nil {
			t.Fatalf("SanitizeNext(%q) = %q resolves to %s", in, out, r)
		}
	})
}

// The server starts while the provider is down; login answers 503 until a
// retried discovery succeeds.
func TestProviderDownAtStartup(t *testing.T) {
	idp := ssotest.New(t)
	idp.SetDown(true)
	var logs lockedBuffer
	h, err := New(testConfig(idp.Issuer), Options{Sessions: &fakeSessions{}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.retryMin = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()

	for _, route := range []http.HandlerFunc{h.Login, h.Callback} {
		rec := httptest.NewRecorder()
		route(rec, httptest.NewRequest("GET", "https://weir.example"+LoginPath+"?state=x&code=y", nil))
		if code, _ := errorCode(t, rec); rec.Code != http.StatusServiceUnavailable || code != "sso_unavailable" {
			t.Fatalf("while down: %d %s, want 503 sso_unavailable", rec.Code, code)
		}
	}
	// Let it fail a few times before the provider comes back.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "oidc discovery failed") < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	idp.SetDown(false)
	select {
	case <-h.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("discovery did not succeed after the provider came back")
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	rec := httptest.NewRecorder()
	h.Login(rec, httptest.NewRequest("GET", "https://weir.example"+LoginPath, nil))
	if rec.Code != http.StatusFound {
		t.Errorf("after discovery: login %d, want 302", rec.Code)
	}
}

// lockedBuffer is a log sink read while written.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRunStopsWithContext(t *testing.T) {
	idp := ssotest.New(t)
	idp.SetDown(true)
	h, err := New(testConfig(idp.Issuer), Options{Sessions: &fakeSessions{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want the context's error", err)
	}
}

func TestFlowCookieKey(t *testing.T) {
	a, _ := newBox("k1")
	b, _ := newBox("k1")
	c, _ := newBox("k2")
	sealed, err := a.seal(flowState{State: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var st flowState
	if err := b.open(sealed, &st); err != nil || st.State != "s" {
		t.Errorf("same key: %v %+v", err, st)
	}
	if err := c.open(sealed, &st); err == nil {
		t.Error("another key opened the cookie")
	}
	r1, _ := newBox("")
	r2, _ := newBox("")
	if err := r2.open(mustSeal(t, r1), &st); err == nil {
		t.Error("two generated keys are the same")
	}
}

func mustSeal(t *testing.T, b *box) string {
	t.Helper()
	s, err := b.seal(flowState{State: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Used states are forgotten once expired, and a full memory refuses new
// callbacks rather than growing.
func TestSpendBounded(t *testing.T) {
	hs := newHarness(t, nil)
	h := hs.h
	for i := range maxPending {
		h.used[fmt.Sprint(i)] = hs.now.Add(time.Minute)
	}
	if f := h.spend("new", hs.now.Add(time.Minute)); f == nil || f.code != "sso_unavailable" {
		t.Fatalf("full memory: %+v, want sso_unavailable", f)
	}
	hs.now = hs.now.Add(2 * time.Minute) // all expired
	if f := h.spend("new", hs.now.Add(time.Minute)); f != nil {
		t.Fatalf("after expiry: %+v", f)
	}
	if len(h.used) != 1 {
		t.Errorf("%d states remembered, want 1", len(h.used))
	}
}

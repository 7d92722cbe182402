package auth_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// fast are test-only argon2id costs.
var fast = auth.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newManager(t *testing.T, mod ...func(*auth.Options)) (*auth.Manager, *clock, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	opt := auth.Options{Store: st, Hash: fast, Now: c.now, SessionTTL: 12 * time.Hour, SessionIdle: time.Hour}
	for _, f := range mod {
		f(&opt)
	}
	m, err := auth.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return m, c, dir
}

func withSession(secret string) *http.Request {
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: secret})
	return r
}

func withToken(secret string) *http.Request {
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+secret)
	return r
}

const pw = "correct horse battery"

func TestLoginAndSession(t *testing.T) {
	ctx := context.Background()
	m, c, _ := newManager(t)
	if _, _, err := m.CreatePerson(ctx, "ann", auth.PersonInput{Role: "finance", Team: "cx"}, pw); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Login(ctx, "ann", "wrong password!", "10.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := m.Login(ctx, "nobody", pw, "10.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("unknown person: %v", err)
	}
	secret, s, err := m.Login(ctx, "ann", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.ExpiresAt.Equal(c.now().Add(12 * time.Hour)) {
		t.Errorf("expires %v", s.ExpiresAt)
	}
	p, got, err := m.Authenticate(withSession(secret))
	if err != nil || p.Person != "ann" || p.Role != auth.Finance || p.Team != "cx" || !p.Session || got != secret {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	// Idle for longer than SessionIdle ends it...
	c.add(59 * time.Minute)
	if _, _, err := m.Authenticate(withSession(secret)); err != nil {
		t.Fatalf("within idle: %v", err)
	}
	c.add(59 * time.Minute) // activity above moved last_seen
	if _, _, err := m.Authenticate(withSession(secret)); err != nil {
		t.Fatalf("activity extends the idle window: %v", err)
	}
	c.add(61 * time.Minute)
	if _, _, err := m.Authenticate(withSession(secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("idle session: %v", err)
	}
	// ... and so does the absolute lifetime, however active.
	secret, _, err = m.Login(ctx, "ann", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for range 12 {
		c.add(59 * time.Minute)
		m.Authenticate(withSession(secret))
	}
	if _, _, err := m.Authenticate(withSession(secret)); err != nil {
		t.Fatalf("active session before its end: %v", err)
	}
	c.add(13 * time.Minute)
	if _, _, err := m.Authenticate(withSession(secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("session past its lifetime: %v", err)
	}
	// Logout ends a session at once.
	secret, _, _ = m.Login(ctx, "ann", pw, "10.0.0.1")
	if err := m.Logout(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Authenticate(withSession(secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("after logout: %v", err)
	}
	// A change of role ends the person's sessions.
	secret, _, _ = m.Login(ctx, "ann", pw, "10.0.0.1")
	if _, _, err := m.PutPerson(ctx, "ann", auth.PersonInput{Role: "viewer", Team: "cx"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Authenticate(withSession(secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("after a role change: %v", err)
	}
}

func TestLoginThrottle(t *testing.T) {
	ctx := context.Background()
	m, c, _ := newManager(t)
	if _, _, err := m.CreatePerson(ctx, "ann", auth.PersonInput{Role: "admin"}, pw); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, _, err := m.Login(ctx, "ann", "guess number "+string(rune('a'+i)), "10.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// The sixth try is refused even with the right password, from any
	// address, until the window ends.
	var th *auth.ThrottledError
	if _, _, err := m.Login(ctx, "ann", pw, "10.0.0.2"); !errors.As(err, &th) || th.RetryAfter <= 0 || th.RetryAfter > 15*time.Minute {
		t.Fatalf("sixth try: %v", err)
	}
	// Another name from the first address is still let in.
	if _, _, err := m.CreatePerson(ctx, "bob", auth.PersonInput{Role: "viewer"}, pw); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Login(ctx, "bob", pw, "10.0.0.1"); err != nil {
		t.Fatalf("other name: %v", err)
	}
	c.add(15 * time.Minute)
	if _, _, err := m.Login(ctx, "ann", pw, "10.0.0.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestAddressThrottle(t *testing.T) {
	ctx := context.Background()
	m, _, _ := newManager(t, func(o *auth.Options) { o.AddrThrottle = auth.NewMemoryThrottle(3, time.Minute, o.Now) })
	for i := range 3 {
		m.Login(ctx, "spray"+string(rune('a'+i)), "whatever-whatever", "10.9.9.9")
	}
	var th *auth.ThrottledError
	if _, _, err := m.Login(ctx, "spray-z", "whatever-whatever", "10.9.9.9"); !errors.As(err, &th) {
		t.Fatalf("a fourth name from one address: %v", err)
	}
}

func TestOneTimePassword(t *testing.T) {
	ctx := context.Background()
	m, _, _ := newManager(t)
	_, otp, err := m.CreatePerson(ctx, "ann", auth.PersonInput{Role: "admin"}, "")
	if err != nil || len(otp) < 20 {
		t.Fatalf("one-time password %q: %v", otp, err)
	}
	secret, _, err := m.Login(ctx, "ann", otp, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := m.Authenticate(withSession(secret)); !p.MustChangePassword {
		t.Fatal("a one-time password does not force a change")
	}
	if _, _, err := m.ChangePassword(ctx, "ann", otp, "short", "127.0.0.1"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("short password: %v", err)
	}
	if _, _, err := m.ChangePassword(ctx, "ann", otp, otp, "127.0.0.1"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("same password: %v", err)
	}
	newSecret, _, err := m.ChangePassword(ctx, "ann", otp, pw, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Authenticate(withSession(secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Error("the old session survives a password change")
	}
	if p, _, err := m.Authenticate(withSession(newSecret)); err != nil || p.MustChangePassword {
		t.Errorf("new session: %+v %v", p, err)
	}
	if _, _, err := m.Login(ctx, "ann", otp, "127.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Error("the one-time password still works")
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	m, c, _ := newManager(t)
	for name, role := range map[string]string{"root": "admin", "fin": "finance", "rev": "reviewer"} {
		if _, _, err := m.CreatePerson(ctx, name, auth.PersonInput{Role: role}, pw); err != nil {
			t.Fatal(err)
		}
	}
	root := auth.Principal{Kind: "user", Person: "root", Role: auth.Admin}
	fin := auth.Principal{Kind: "user", Person: "fin", Role: auth.Finance}
	for _, c := range []struct {
		name string
		by   auth.Principal
		in   auth.TokenInput
		want error
	}{
		{"finance for itself", fin, auth.TokenInput{Name: "ci"}, nil},
		{"finance as viewer", fin, auth.TokenInput{Name: "ci", Role: "viewer"}, nil},
		{"finance as admin", fin, auth.TokenInput{Name: "ci", Role: "admin"}, auth.ErrForbidden},
		{"finance for someone else", fin, auth.TokenInput{Name: "ci", Person: "root"}, auth.ErrForbidden},
		{"admin for a reviewer, as admin", root, auth.TokenInput{Name: "ci", Person: "rev", Role: "admin"}, auth.ErrForbidden},
		{"admin for a reviewer", root, auth.TokenInput{Name: "ci", Person: "rev"}, nil},
		{"no name", fin, auth.TokenInput{}, auth.ErrInvalid},
		{"past expiry", fin, auth.TokenInput{Name: "ci", ExpiresAt: ptr(c.now().Add(-time.Hour))}, auth.ErrInvalid},
		{"unknown role", fin, auth.TokenInput{Name: "ci", Role: "god"}, auth.ErrInvalid},
	} {
		if _, err := m.CreateToken(ctx, c.by, c.in); !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	exp := c.now().Add(time.Hour)
	tok, err := m.CreateToken(ctx, fin, auth.TokenInput{Name: "nightly", Role: "viewer", Team: "cx", ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Secret, "weirm_") || !strings.HasPrefix(tok.Secret, tok.Prefix) {
		t.Errorf("secret %q, prefix %q", tok.Secret, tok.Prefix)
	}
	p, _, err := m.Authenticate(withToken(tok.Secret))
	if err != nil || p.Kind != "token" || p.Person != "fin" || p.Role != auth.Viewer || p.Team != "cx" || p.Session {
		t.Fatalf("token principal: %+v %v", p, err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("x-api-key", tok.Secret)
	if _, _, err := m.Authenticate(r); err != nil {
		t.Errorf("x-api-key: %v", err)
	}
	// Others see only their own tokens; an admin sees all.
	if ts, _ := m.Tokens(ctx, auth.Principal{Person: "rev", Role: auth.Reviewer}); len(ts) != 1 {
		t.Errorf("reviewer sees %d tokens", len(ts))
	}
	if err := m.RevokeToken(ctx, auth.Principal{Person: "rev", Role: auth.Reviewer}, tok.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking another's token: %v", err)
	}
	// Revocation takes effect on the next request.
	if err := m.RevokeToken(ctx, fin, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Authenticate(withToken(tok.Secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	// Expiry.
	tok2, _ := m.CreateToken(ctx, fin, auth.TokenInput{Name: "short", ExpiresAt: &exp})
	c.add(time.Hour)
	if _, _, err := m.Authenticate(withToken(tok2.Secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	// A token cannot outrank its person after a demotion.
	tok3, _ := m.CreateToken(ctx, fin, auth.TokenInput{Name: "fin"})
	if _, _, err := m.PutPerson(ctx, "fin", auth.PersonInput{Role: "viewer"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Authenticate(withToken(tok3.Secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("token above its demoted person: %v", err)
	}
	// Gateway keys and junk are not management tokens.
	for _, s := range []string{"weir_abc", "sk-123", "weirm_" + strings.Repeat("a", 52)} {
		if _, _, err := m.Authenticate(withToken(s)); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestLastAdmin(t *testing.T) {
	ctx := context.Background()
	m, _, _ := newManager(t)
	m.CreatePerson(ctx, "root", auth.PersonInput{Role: "admin"}, pw)
	if _, _, err := m.PutPerson(ctx, "root", auth.PersonInput{Role: "viewer"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("demoting the last admin: %v", err)
	}
	if _, _, err := m.PutPerson(ctx, "root", auth.PersonInput{Role: "admin", Disabled: true}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("disabling the last admin: %v", err)
	}
	if err := m.DeletePerson(ctx, "root"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("deleting the last admin: %v", err)
	}
	m.CreatePerson(ctx, "root2", auth.PersonInput{Role: "admin"}, pw)
	if _, _, err := m.PutPerson(ctx, "root", auth.PersonInput{Role: "viewer"}); err != nil {
		t.Errorf("demoting one of two admins: %v", err)
	}
}

func TestDisabledPerson(t *testing.T) {
	ctx := context.Background()
	m, _, _ := newManager(t)
	m.CreatePerson(ctx, "root", auth.PersonInput{Role: "admin"}, pw)
	m.CreatePerson(ctx, "ann", auth.PersonInput{Role: "viewer"}, pw)
	tok, err := m.CreateToken(ctx, auth.Principal{Person: "ann", Role: auth.Viewer}, auth.TokenInput{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	m.PutPerson(ctx, "ann", auth.PersonInput{Role: "viewer", Disabled: true})
	if _, _, err := m.Login(ctx, "ann", pw, "1.1.1.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("disabled login: %v", err)
	}
	if _, _, err := m.Authenticate(withToken(tok.Secret)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("disabled person's token: %v", err)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	m, _, _ := newManager(t, func(o *auth.Options) { o.AllowAnonymous = true })
	if p, _, err := m.Authenticate(httptest.NewRequest("GET", "/", nil)); err != nil || p.Kind != "anonymous" || p.Role != auth.Admin {
		t.Fatalf("open: %+v %v", p, err)
	}
	m.CreatePerson(ctx, "root", auth.PersonInput{Role: "admin"}, pw)
	if _, _, err := m.Authenticate(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("open after the first person: %v", err)
	}
	closed, _, _ := newManager(t)
	if _, _, err := closed.Authenticate(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("not loopback: %v", err)
	}
}

func TestSingleSignOn(t *testing.T) {
	ctx := context.Background()
	m, _, _ := newManager(t)
	secret, s, err := m.SignInPerson(ctx, "https://idp sub-1", "ann@example.com", "ann@example.com", "Ann", auth.Owner, "cx")
	if err != nil || s.Via != "oidc" {
		t.Fatalf("first sign-in: %v", err)
	}
	p, _, _ := m.Authenticate(withSession(secret))
	if p.Person != "ann@example.com" || p.Role != auth.Owner || p.Team != "cx" {
		t.Errorf("principal %+v", p)
	}
	// The provider's groups stay authoritative while nobody changed the
	// person by hand...
	secret, _, _ = m.SignInPerson(ctx, "https://idp sub-1", "ann@example.com", "", "", auth.Viewer, "")
	if p, _, _ := m.Authenticate(withSession(secret)); p.Role != auth.Viewer || p.Team != "" {
		t.Errorf("after the groups changed: %+v", p)
	}
	// ... but the role mapped at a later sign-in does not override what an
	// admin set since.
	m.PutPerson(ctx, "ann@example.com", auth.PersonInput{Role: "finance"})
	secret, _, _ = m.SignInPerson(ctx, "https://idp sub-1", "ann@example.com", "", "", auth.Owner, "")
	if p, _, _ := m.Authenticate(withSession(secret)); p.Role != auth.Finance {
		t.Errorf("role after an admin's change: %s", p.Role)
	}
	// A name already linked to another subject is not taken over.
	if _, _, err := m.SignInPerson(ctx, "https://idp sub-2", "ann@example.com", "", "", auth.Owner, ""); !errors.Is(err, auth.ErrDenied) {
		t.Errorf("takeover: %v", err)
	}
	m.PutPerson(ctx, "ann@example.com", auth.PersonInput{Role: "viewer", Disabled: true})
	if _, _, err := m.SignInPerson(ctx, "https://idp sub-1", "ann@example.com", "", "", auth.Owner, ""); !errors.Is(err, auth.ErrDenied) {
		t.Errorf("disabled: %v", err)
	}
}

// TestNoSecretsAtRest: the database holds no password, session secret or
// token in clear, only hashes.
func TestNoSecretsAtRest(t *testing.T) {
	ctx := context.Background()
	m, _, dir := newManager(t)
	_, otp, _ := m.CreatePerson(ctx, "root", auth.PersonInput{Role: "admin"}, "")
	m.CreatePerson(ctx, "ann", auth.PersonInput{Role: "viewer"}, pw)
	sess, _, err := m.Login(ctx, "ann", pw, "1.1.1.1")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.CreateToken(ctx, auth.Principal{Person: "root", Role: auth.Admin}, auth.TokenInput{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{otp, pw, sess, tok.Secret, auth.CSRFToken(sess)}
	files, _ := filepath.Glob(filepath.Join(dir, "weir.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret in clear (%.8s...)", filepath.Base(f), s)
			}
		}
	}
	if !bytes.Contains(mustRead(t, files), []byte(tok.Prefix)) {
		t.Error("the scan found not even the token's prefix: is it reading the right files?")
	}
}

func mustRead(t *testing.T, files []string) []byte {
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

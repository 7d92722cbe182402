// Package sso signs people in to the management API and dashboard with
// OpenID Connect: the authorization code flow with PKCE (S256), state and
// nonce, ID tokens verified with go-oidc, groups mapped to a role and a
// team. It starts no session itself: it hands the verified Identity to a
// Sessions implementation (internal/auth). Only the app, and internal/auth
// for ErrDenied and Identity, import it.
package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/weirhq/weir/internal/httpjson"
)

// Identity is who the identity provider says signed in.
type Identity struct {
	Issuer, Subject, Email, Name string
	EmailVerified                bool
	Groups                       []string
}

// Sessions starts sessions; internal/auth implements it.
type Sessions interface {
	// SignIn starts a session for id (creating or updating the person per
	// the configured mapping: role, and team when not empty) and sets the
	// session cookie on w. It returns an error wrapping ErrDenied when the
	// person may not sign in (disabled, say); any other error is a 500.
	SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, id Identity, role, team string) error
}

// ErrDenied is wrapped by Sessions.SignIn's error when the person may not
// sign in.
var ErrDenied = errors.New("sign-in denied")

// The routes' paths, for registration and the state cookie's scope.
const (
	LoginPath    = "/api/v1/auth/oidc/login"
	CallbackPath = "/api/v1/auth/oidc/callback"
)

const (
	stateTTL         = 10 * time.Minute
	discoveryTimeout = 10 * time.Second
	retryMin         = time.Second
	retryMax         = time.Minute
	// maxPending bounds the replay memory of used states (each kept for
	// stateTTL): beyond it callbacks answer 503 until old ones expire.
	maxPending = 100_000
)

// Options are the handler's collaborators.
type Options struct {
	// Sessions starts the session once the identity is verified. Required.
	Sessions Sessions
	Log      *slog.Logger
	// HTTPClient talks to the identity provider (discovery, keys, token).
	// Default: a client with a 15 s timeout.
	HTTPClient *http.Client
	// Now is the clock (for tests). Default time.Now.
	Now func() time.Time
}

// Handler serves the login and callback routes.
type Handler struct {
	cfg      Config
	sessions Sessions
	log      *slog.Logger
	client   *http.Client
	now      func() time.Time
	box      *box
	retryMin time.Duration

	idp   atomic.Pointer[idp] // nil until discovery succeeded
	ready chan struct{}       // closed when idp is set

	mu        sync.Mutex
	used      map[string]time.Time // states consumed, until they expire
	lastSweep time.Time
}

// idp is what discovery found.
type idp struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New returns a handler for cfg, which must be valid. It does not reach the
// provider: Run does.
func New(cfg Config, opt Options) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("oidc config: %w", err)
	}
	if opt.Sessions == nil {
		return nil, errors.New("oidc: no Sessions")
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	b, err := newBox(cfg.CookieKey)
	if err != nil {
		return nil, err
	}
	return &Handler{
		cfg:      cfg,
		sessions: opt.Sessions,
		log:      opt.Log,
		client:   opt.HTTPClient,
		now:      opt.Now,
		box:      b,
		retryMin: retryMin,
		ready:    make(chan struct{}),
		used:     map[string]time.Time{},
	}, nil
}

// Run discovers the provider, retrying with backoff (1 s doubling to 1 min)
// while it is unreachable, and returns once it succeeded or ctx is done.
// Run it in its own goroutine at startup: the server starts regardless, and
// the login route answers 503 until discovery succeeded.
func (h *Handler) Run(ctx context.Context) error {
	wait := h.retryMin
	for attempt := 1; ; attempt++ {
		err := h.discover(ctx)
		if err == nil {
			h.log.Info("oidc provider discovered", "issuer", h.cfg.Issuer, "attempts", attempt)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h.log.Warn("oidc discovery failed; single sign-on unavailable until it succeeds",
			"issuer", h.cfg.Issuer, "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
	}
}

// Ready is closed once discovery succeeded.
func (h *Handler) Ready() <-chan struct{} { return h.ready }

func (h *Handler) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, h.client), discoveryTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, h.cfg.Issuer)
	if err != nil {
		return fmt.Errorf("discover %s: %w", h.cfg.Issuer, err)
	}
	if p.Endpoint().AuthURL == "" || p.Endpoint().TokenURL == "" {
		return fmt.Errorf("discover %s: the document names no authorization or token endpoint", h.cfg.Issuer)
	}
	v := p.Verifier(&oidc.Config{ClientID: h.cfg.ClientID, Now: h.now})
	if !h.idp.CompareAndSwap(nil, &idp{
		oauth: oauth2.Config{
			ClientID:     h.cfg.ClientID,
			ClientSecret: h.cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  h.cfg.RedirectURL,
			Scopes:       h.cfg.scopes(),
		},
		verifier: v,
	}) {
		return nil // a concurrent Run got there first
	}
	close(h.ready)
	return nil
}

// Login starts a sign-in: GET /api/v1/auth/oidc/login?next=/path answers
// 302 to the provider, with the flow's secrets in a sealed cookie.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	p := h.idp.Load()
	if p == nil {
		w.Header().Set("Retry-After", "10")
		httpjson.Error(w, http.StatusServiceUnavailable, "sso_unavailable", "single sign-on is not available yet: the identity provider has not answered; try again shortly")
		return
	}
	st := flowState{
		State:    randomToken(),
		Nonce:    randomToken(),
		Verifier: oauth2.GenerateVerifier(),
		Next:     SanitizeNext(r.URL.Query().Get("next")),
		Expires:  h.now().Add(stateTTL).Unix(),
	}
	sealed, err := h.box.seal(st)
	if err != nil {
		h.log.Error("oidc: seal state", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "could not start the sign-in")
		return
	}
	h.setCookie(w, r, sealed, int(stateTTL/time.Second))
	u := p.oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u)
	w.WriteHeader(http.StatusFound)
}

// Callback finishes a sign-in: GET /api/v1/auth/oidc/callback checks the
// state, exchanges the code, verifies the ID token, maps the groups, has
// Sessions start the session and answers 302 to the login's next path.
func (h *Handler) Callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.setCookie(w, r, "", -1) // the flow cookie is spent whatever happens
	id, role, team, next, f := h.callback(r)
	if f == nil {
		err := h.sessions.SignIn(r.Context(), w, r, id, role, team)
		switch {
		case errors.Is(err, ErrDenied):
			f = fail(http.StatusForbidden, "sso_denied", "this account may not sign in to Weir", err)
		case err != nil:
			f = fail(http.StatusInternalServerError, "internal", "could not start a session", err)
		}
	}
	if f != nil {
		h.log.Warn("oidc sign-in refused", "code", f.code, "status", f.status, "subject", id.Subject, "email", id.Email, "err", f.err)
		httpjson.Error(w, f.status, f.code, f.msg)
		return
	}
	h.log.Info("oidc sign-in", "issuer", id.Issuer, "subject", id.Subject, "email", id.Email, "role", role, "team", team)
	w.Header().Set("Location", next)
	w.WriteHeader(http.StatusFound)
}

// failure is a refused callback: msg is safe to show, err is for the log.
type failure struct {
	status    int
	code, msg string
	err       error
}

func fail(status int, code, msg string, err error) *failure {
	return &failure{status: status, code: code, msg: msg, err: err}
}

func (h *Handler) callback(r *http.Request) (id Identity, role, team, next string, f *failure) {
	q := r.URL.Query()
	var st flowState
	c, cerr := r.Cookie(cookieName)
	if cerr == nil {
		cerr = h.box.open(c.Value, &st)
	}
	if e := q.Get("error"); e != "" {
		msg := "the identity provider refused the sign-in: " + printable(e, 64)
		if d := q.Get("error_description"); d != "" {
			msg += ": " + printable(d, 256)
		}
		status := http.StatusUnauthorized
		if e == "access_denied" {
			status = http.StatusForbidden
		}
		return id, "", "", "", fail(status, "sso_provider_error", msg, nil)
	}
	p := h.idp.Load()
	if p == nil {
		return id, "", "", "", fail(http.StatusServiceUnavailable, "sso_unavailable", "single sign-on is not available yet", nil)
	}
	badState := func(why string, err error) *failure {
		return fail(http.StatusBadRequest, "sso_state_invalid", why+"; start the sign-in again", err)
	}
	switch {
	case cerr != nil:
		return id, "", "", "", badState("the sign-in was not started in this browser or has expired", cerr)
	case st.Expires < h.now().Unix():
		return id, "", "", "", badState("the sign-in has expired", nil)
	case q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1:
		return id, "", "", "", badState("the sign-in's state does not match", nil)
	}
	if iss := q.Get("iss"); iss != "" && iss != h.cfg.Issuer { // RFC 9207
		return id, "", "", "", fail(http.StatusBadRequest, "sso_provider_error", "the answer came from another identity provider", fmt.Errorf("iss %q", iss))
	}
	if f := h.spend(st.State, time.Unix(st.Expires, 0)); f != nil {
		return id, "", "", "", f
	}
	code := q.Get("code")
	if code == "" {
		return id, "", "", "", fail(http.StatusBadRequest, "sso_provider_error", "the identity provider sent no authorization code", nil)
	}

	ctx := oidc.ClientContext(r.Context(), h.client)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return id, "", "", "", fail(http.StatusBadGateway, "sso_exchange_failed", "the identity provider did not accept the authorization code", exchangeError(err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return id, "", "", "", fail(http.StatusBadGateway, "sso_exchange_failed", "the identity provider sent no ID token", nil)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return id, "", "", "", fail(http.StatusUnauthorized, "sso_token_invalid", "the ID token is not valid: "+tokenProblem(err), err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return id, "", "", "", fail(http.StatusUnauthorized, "sso_token_invalid", "the ID token is not valid: its nonce does not match this sign-in", nil)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return id, "", "", "", fail(http.StatusUnauthorized, "sso_token_invalid", "the ID token's claims cannot be read", err)
	}
	// OpenID Connect Core 3.1.3.7: with several audiences, azp names us.
	if len(idt.Audience) > 1 {
		if azp, _ := claims["azp"].(string); azp != h.cfg.ClientID {
			return id, "", "", "", fail(http.StatusUnauthorized, "sso_token_invalid", "the ID token is not valid: it was issued to another party", fmt.Errorf("azp %q", azp))
		}
	}
	id, err = identity(idt.Issuer, idt.Subject, claims, h.cfg.groupsClaim())
	if err != nil {
		return id, "", "", "", fail(http.StatusUnauthorized, "sso_token_invalid", "the ID token's claims cannot be read: "+err.Error(), err)
	}
	if f := h.admit(id); f != nil {
		return id, "", "", "", f
	}
	role, team = h.mapGroups(id.Groups)
	if role == "" {
		return id, "", "", "", fail(http.StatusForbidden, "sso_no_role", "none of your groups is given a role in Weir; ask an administrator", nil)
	}
	return id, role, team, SanitizeNext(st.Next), nil // sealed, but checked again
}

// spend records state as used until it expires, refusing one used before.
func (h *Handler) spend(state string, expires time.Time) *failure {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.used[state]; ok {
		return fail(http.StatusBadRequest, "sso_state_invalid", "this sign-in was already completed; start the sign-in again", nil)
	}
	now := h.now()
	if len(h.used) >= maxPending/2 && now.Sub(h.lastSweep) >= 10*time.Second {
		h.lastSweep = now
		for s, exp := range h.used {
			if exp.Before(now) {
				delete(h.used, s)
			}
		}
	}
	if len(h.used) >= maxPending {
		return fail(http.StatusServiceUnavailable, "sso_unavailable", "too many sign-ins in the last minutes; try again shortly", nil)
	}
	h.used[state] = expires
	return nil
}

// admit applies the email rules.
func (h *Handler) admit(id Identity) *failure {
	if h.cfg.requireVerifiedEmail() && (id.Email == "" || !id.EmailVerified) {
		return fail(http.StatusForbidden, "sso_email_unverified", "the identity provider does not vouch for your email address (email_verified is not true)", nil)
	}
	if len(h.cfg.AllowedEmailDomains) > 0 {
		at := strings.LastIndexByte(id.Email, '@')
		if at < 0 || !slices.Contains(h.cfg.AllowedEmailDomains, strings.ToLower(id.Email[at+1:])) {
			return fail(http.StatusForbidden, "sso_domain_not_allowed", "your email domain may not sign in to Weir", nil)
		}
	}
	return nil
}

// mapGroups returns the first role and team whose group the person is in,
// the default role when no role matched.
func (h *Handler) mapGroups(groups []string) (role, team string) {
	role = h.cfg.DefaultRole
	for _, m := range h.cfg.Roles {
		if slices.Contains(groups, m.Group) {
			role = m.Role
			break
		}
	}
	for _, m := range h.cfg.Teams {
		if slices.Contains(groups, m.Group) {
			team = m.Team
			break
		}
	}
	return role, team
}

// exchangeError keeps the provider's error code and description, not the
// response body (which is not logged in full).
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("token endpoint: status %d, error %q: %s", status, re.ErrorCode, printable(re.ErrorDescription, 256))
	}
	return err
}

// tokenProblem says what was wrong with an ID token, in words safe to show.
func tokenProblem(err error) string {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &exp):
		return "it has expired"
	case strings.Contains(msg, "issued by a different provider"):
		return "it was issued by another provider"
	case strings.Contains(msg, "expected audience"):
		return "it was issued to another client"
	case strings.Contains(msg, "signature"):
		return "its signature does not verify"
	}
	return "it failed verification"
}

// printable keeps s to max bytes of printable ASCII, for echoing a
// provider's words.
func printable(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return b.String()
}

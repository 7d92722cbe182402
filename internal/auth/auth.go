package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/store"
)

// Errors the API maps to statuses.
var (
	// ErrInvalid: a request is malformed (400).
	ErrInvalid = errors.New("invalid")
	// ErrUnauthenticated: no valid session or token (401).
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrBadCredentials: the name or password is wrong (401); which of the
	// two is never said.
	ErrBadCredentials = errors.New("wrong name or password")
	// ErrForbidden: the principal may not do this (403).
	ErrForbidden = errors.New("forbidden")
	// ErrDenied: a single sign-on identity may not sign in (403).
	ErrDenied = errors.New("sign-in denied")
)

// ThrottledError says a sign-in was refused because of earlier failures.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Auditor records changes to people and tokens in the audit log.
type Auditor interface {
	Record(ctx context.Context, action, kind, id string, before, after any) error
}

// CookieName is the session cookie.
const CookieName = "weir_session"

// Options configure a Manager.
type Options struct {
	Store store.PeopleStore
	// Hash are argon2id's costs for new passwords (default
	// DefaultHashParams).
	Hash HashParams
	// SessionTTL bounds a session's life (default 12h); SessionIdle ends
	// it after that long without a request (default 2h).
	SessionTTL, SessionIdle time.Duration
	// InsecureCookies drops the Secure attribute (plain HTTP on a host
	// other than localhost; never in production).
	InsecureCookies bool
	// AllowAnonymous lets every request in as admin while no person
	// exists: only when Weir listens on loopback.
	AllowAnonymous bool
	// NameThrottle and AddrThrottle count failed sign-ins per name and per
	// client address (defaults: 5 and 50 per 15 minutes).
	NameThrottle, AddrThrottle Throttle
	Audit                      Auditor
	Now                        func() time.Time
	Log                        *slog.Logger
}

// Manager keeps people, sessions and management tokens.
type Manager struct {
	opt       Options
	st        store.PeopleStore
	now       func() time.Time
	log       *slog.Logger
	dummyHash string

	mu          sync.Mutex // serialises changes to people
	peopleExist atomic.Bool
}

// New returns a Manager.
func New(opt Options) (*Manager, error) {
	if opt.Store == nil {
		return nil, errors.New("auth: a store is required")
	}
	if opt.Hash == (HashParams{}) {
		opt.Hash = DefaultHashParams
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.SessionIdle <= 0 {
		opt.SessionIdle = 2 * time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.NameThrottle == nil {
		opt.NameThrottle = NewMemoryThrottle(5, 15*time.Minute, opt.Now)
	}
	if opt.AddrThrottle == nil {
		opt.AddrThrottle = NewMemoryThrottle(50, 15*time.Minute, opt.Now)
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	// Unknown names are checked against a hash of the same cost, so that
	// timing does not tell which names exist.
	dummy, err := HashPassword(rand.Text(), opt.Hash)
	if err != nil {
		return nil, err
	}
	return &Manager{opt: opt, st: opt.Store, now: opt.Now, log: opt.Log, dummyHash: dummy}, nil
}

// Open reports whether requests without credentials are let in as admin:
// AllowAnonymous is set and no person exists yet. Once a person exists the
// API stays closed until the process restarts.
func (m *Manager) Open(ctx context.Context) bool {
	if !m.opt.AllowAnonymous || m.peopleExist.Load() {
		return false
	}
	n, err := m.st.CountPeople(ctx)
	if err != nil {
		m.log.Error("count people", "err", err)
		return false
	}
	if n > 0 {
		m.peopleExist.Store(true)
		return false
	}
	return true
}

// HasPeople reports whether anyone can sign in.
func (m *Manager) HasPeople(ctx context.Context) (bool, error) {
	n, err := m.st.CountPeople(ctx)
	return n > 0, err
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)

// PersonInput is what an administrator sets on a person.
type PersonInput struct {
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Role        string `json:"role"`
	Team        string `json:"team,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
}

func (in PersonInput) check(name string) (Role, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("%w: name %q: 1-128 letters, digits, '.', '_', '@', '+' or '-'", ErrInvalid, name)
	}
	if len(in.DisplayName) > 256 || len(in.Email) > 256 || len(in.Team) > 128 {
		return "", fmt.Errorf("%w: display_name and email have at most 256 bytes, team 128", ErrInvalid)
	}
	if in.Email != "" && !strings.Contains(in.Email, "@") {
		return "", fmt.Errorf("%w: email %q has no @", ErrInvalid, in.Email)
	}
	return ParseRole(in.Role)
}

func (m *Manager) record(ctx context.Context, action, kind, id string, before, after any) {
	if m.opt.Audit == nil {
		return
	}
	if err := m.opt.Audit.Record(ctx, action, kind, id, before, after); err != nil {
		m.log.Error("audit log", "action", action, "id", id, "err", err)
	}
}

func changedBy(ctx context.Context) string {
	a := audit.ActorFrom(ctx)
	if a.Name != "" {
		return a.Name
	}
	return a.Kind
}

// CreatePerson adds a person. With password empty a one-time password is
// generated and returned; it must be changed at the first sign-in.
func (m *Manager) CreatePerson(ctx context.Context, name string, in PersonInput, password string) (store.Person, string, error) {
	role, err := in.check(name)
	if err != nil {
		return store.Person{}, "", err
	}
	oneTime := password == ""
	if oneTime {
		password = GeneratePassword()
	} else if err := CheckPassword(password); err != nil {
		return store.Person{}, "", err
	}
	hash, err := HashPassword(password, m.opt.Hash)
	if err != nil {
		return store.Person{}, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.st.Person(ctx, name); err == nil {
		return store.Person{}, "", fmt.Errorf("person %s already exists (%w)", name, store.ErrConflict)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Person{}, "", err
	}
	now := m.now().UTC()
	p := store.Person{Name: name, DisplayName: in.DisplayName, Email: in.Email, Role: string(role), Team: in.Team, Disabled: in.Disabled,
		PasswordHash: hash, MustChangePassword: oneTime, CreatedAt: now, ChangedAt: now, ChangedBy: changedBy(ctx)}
	if err := m.st.PutPerson(ctx, p); err != nil {
		return store.Person{}, "", err
	}
	m.peopleExist.Store(true)
	m.record(ctx, "person.create", "person", name, nil, p)
	if !oneTime {
		password = ""
	}
	return p, password, nil
}

// PutPerson creates (without a password: single sign-on, or set one
// later) or updates a person. A change of role, team or a disabling ends
// the person's sessions. The last enabled admin cannot be demoted or
// disabled.
func (m *Manager) PutPerson(ctx context.Context, name string, in PersonInput) (store.Person, bool, error) {
	role, err := in.check(name)
	if err != nil {
		return store.Person{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UTC()
	before, err := m.st.Person(ctx, name)
	created := errors.Is(err, store.ErrNotFound)
	if err != nil && !created {
		return store.Person{}, false, err
	}
	if !created && before.Role == string(Admin) && !before.Disabled && (role != Admin || in.Disabled) {
		if err := m.keepAnAdmin(ctx, name); err != nil {
			return store.Person{}, false, err
		}
	}
	p := before
	if created {
		p = store.Person{Name: name, CreatedAt: now}
	}
	p.DisplayName, p.Email, p.Role, p.Team, p.Disabled = in.DisplayName, in.Email, string(role), in.Team, in.Disabled
	p.PasswordHash, p.ChangedAt, p.ChangedBy = "", now, changedBy(ctx)
	if err := m.st.PutPerson(ctx, p); err != nil {
		return store.Person{}, false, err
	}
	if !created && (before.Role != p.Role || before.Team != p.Team || p.Disabled) {
		if err := m.st.DeleteSessions(ctx, name); err != nil {
			return p, false, err
		}
	}
	m.peopleExist.Store(true)
	if created {
		m.record(ctx, "person.create", "person", name, nil, p)
	} else {
		m.record(ctx, "person.update", "person", name, before, p)
	}
	p, err = m.st.Person(ctx, name)
	return p, created, err
}

// keepAnAdmin refuses to leave no enabled admin but name.
func (m *Manager) keepAnAdmin(ctx context.Context, name string) error {
	people, err := m.st.People(ctx)
	if err != nil {
		return err
	}
	for _, o := range people {
		if o.Name != name && o.Role == string(Admin) && !o.Disabled {
			return nil
		}
	}
	return fmt.Errorf("%s is the last enabled admin: make someone else admin first (%w)", name, store.ErrConflict)
}

// DeletePerson removes a person, their sessions and tokens.
func (m *Manager) DeletePerson(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	before, err := m.st.Person(ctx, name)
	if err != nil {
		return err
	}
	if before.Role == string(Admin) && !before.Disabled {
		if err := m.keepAnAdmin(ctx, name); err != nil {
			return err
		}
	}
	if err := m.st.DeletePerson(ctx, name); err != nil {
		return err
	}
	m.record(ctx, "person.delete", "person", name, before, nil)
	return nil
}

// People lists everyone.
func (m *Manager) People(ctx context.Context) ([]store.Person, error) { return m.st.People(ctx) }

// Person returns one person.
func (m *Manager) Person(ctx context.Context, name string) (store.Person, error) {
	return m.st.Person(ctx, name)
}

// SetPassword sets a person's password (an administrator's reset); with
// password empty a one-time password is generated and returned. The
// person's sessions end.
func (m *Manager) SetPassword(ctx context.Context, name, password string) (string, error) {
	oneTime := password == ""
	if oneTime {
		password = GeneratePassword()
	} else if err := CheckPassword(password); err != nil {
		return "", err
	}
	if err := m.setPassword(ctx, name, password, oneTime); err != nil {
		return "", err
	}
	if !oneTime {
		password = ""
	}
	return password, nil
}

func (m *Manager) setPassword(ctx context.Context, name, password string, oneTime bool) error {
	hash, err := HashPassword(password, m.opt.Hash)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.st.Person(ctx, name)
	if err != nil {
		return err
	}
	p.PasswordHash, p.MustChangePassword, p.ChangedAt, p.ChangedBy = hash, oneTime, m.now().UTC(), changedBy(ctx)
	if err := m.st.PutPerson(ctx, p); err != nil {
		return err
	}
	if err := m.st.DeleteSessions(ctx, name); err != nil {
		return err
	}
	m.record(ctx, "person.password", "person", name, nil, map[string]any{"one_time": oneTime})
	return nil
}

// ChangePassword changes one's own password after checking the current
// one; every session of the person ends and a new one is returned.
func (m *Manager) ChangePassword(ctx context.Context, name, current, password, addr string) (string, store.Session, error) {
	if _, _, err := m.verify(ctx, name, current, addr); err != nil {
		return "", store.Session{}, err
	}
	if err := CheckPassword(password); err != nil {
		return "", store.Session{}, err
	}
	if current == password {
		return "", store.Session{}, fmt.Errorf("%w: the new password is the current one", ErrInvalid)
	}
	if err := m.setPassword(ctx, name, password, false); err != nil {
		return "", store.Session{}, err
	}
	return m.newSession(ctx, name, "password")
}

// clientAddr is the request's remote host (no port).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// verify checks name and password under the throttles.
func (m *Manager) verify(ctx context.Context, name, password, addr string) (store.Person, bool, error) {
	nameKey, addrKey := "name:"+strings.ToLower(name), "addr:"+addr
	if wait := max(m.opt.NameThrottle.Wait(nameKey), m.opt.AddrThrottle.Wait(addrKey)); wait > 0 {
		return store.Person{}, false, &ThrottledError{RetryAfter: wait}
	}
	p, err := m.st.Person(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return p, false, err
	}
	hash := p.PasswordHash
	if hash == "" || len(password) > MaxPasswordLen {
		hash = m.dummyHash
	}
	ok, verr := VerifyPassword(hash, password)
	if verr != nil {
		m.log.Error("stored password hash unreadable", "person", name, "err", verr)
		ok = false
	}
	if !ok || err != nil || p.PasswordHash == "" || p.Disabled || len(password) > MaxPasswordLen {
		m.opt.NameThrottle.Fail(nameKey)
		m.opt.AddrThrottle.Fail(addrKey)
		m.log.Warn("failed sign-in", "name", name, "addr", addr)
		return p, false, ErrBadCredentials
	}
	m.opt.NameThrottle.Reset(nameKey)
	return p, true, nil
}

// Login checks a name and password and starts a session, returning its
// secret (the cookie's value).
func (m *Manager) Login(ctx context.Context, name, password, addr string) (string, store.Session, error) {
	if _, _, err := m.verify(ctx, name, password, addr); err != nil {
		return "", store.Session{}, err
	}
	return m.newSession(ctx, name, "password")
}

// SignInPerson starts a session for a person established by single
// sign-on: the person with subject, else the person named name (linked to
// subject), else a new person with role and team. The role and team of a
// person whom single sign-on created and nobody changed since follow the
// provider's groups at each sign-in; one an admin changed keeps what the
// admin set. A disabled person is denied.
func (m *Manager) SignInPerson(ctx context.Context, subject, name, email, displayName string, role Role, team string) (string, store.Session, error) {
	m.mu.Lock()
	p, err := m.st.PersonBySubject(ctx, subject)
	if err == nil && p.ChangedBy == "oidc" && (p.Role != string(role) || p.Team != team) {
		// Nobody set this person's role by hand: the provider's groups
		// stay authoritative.
		before := p
		p.Role, p.Team, p.ChangedAt = string(role), team, m.now().UTC()
		if err = m.st.PutPerson(ctx, p); err == nil {
			m.record(audit.WithActor(ctx, audit.Actor{Kind: "oidc", Name: p.Name}), "person.update", "person", p.Name, before, p)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		p, err = m.st.Person(ctx, name)
		switch {
		case err == nil && p.Subject != "" && p.Subject != subject:
			err = fmt.Errorf("%w: %s is linked to another identity", ErrDenied, name)
		case err == nil:
			p.Subject, p.ChangedAt, p.ChangedBy = subject, m.now().UTC(), "oidc"
			err = m.st.PutPerson(ctx, p)
		case errors.Is(err, store.ErrNotFound):
			if !nameRE.MatchString(name) {
				err = fmt.Errorf("%w: %q is not a usable person name", ErrDenied, name)
				break
			}
			now := m.now().UTC()
			p = store.Person{Name: name, Email: email, DisplayName: displayName, Role: string(role), Team: team, Subject: subject, CreatedAt: now, ChangedAt: now, ChangedBy: "oidc"}
			if err = m.st.PutPerson(ctx, p); err == nil {
				m.peopleExist.Store(true)
				m.record(audit.WithActor(ctx, audit.Actor{Kind: "oidc", Name: name}), "person.create", "person", name, nil, p)
			}
		}
	}
	m.mu.Unlock()
	if err != nil {
		return "", store.Session{}, err
	}
	if p.Disabled {
		return "", store.Session{}, fmt.Errorf("%w: %s is disabled", ErrDenied, p.Name)
	}
	return m.newSession(ctx, p.Name, "oidc")
}

func (m *Manager) newSession(ctx context.Context, person, via string) (string, store.Session, error) {
	secret := rand.Text() + rand.Text()
	h := sha256.Sum256([]byte(secret))
	now := m.now().UTC()
	s := store.Session{Hash: h[:], Person: person, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(m.opt.SessionTTL), Via: via}
	if err := m.st.AddSession(ctx, s); err != nil {
		return "", s, err
	}
	return secret, s, nil
}

// Logout ends the session with secret.
func (m *Manager) Logout(ctx context.Context, secret string) error {
	h := sha256.Sum256([]byte(secret))
	return m.st.DeleteSession(ctx, h[:])
}

// CSRFToken is the token unsafe requests of the session with secret must
// carry in X-CSRF-Token. It is derived from the secret, so nothing more is
// stored, and it cannot be computed without the cookie.
func CSRFToken(secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("weir csrf v1"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF reports whether token is the session's CSRF token.
func CheckCSRF(secret, token string) bool {
	return token != "" && hmac.Equal([]byte(CSRFToken(secret)), []byte(token))
}

// SetCookie sets the session cookie.
func (m *Manager) SetCookie(w http.ResponseWriter, secret string, s store.Session) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: secret, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, Secure: !m.opt.InsecureCookies, SameSite: http.SameSiteLaxMode})
}

// ClearCookie removes the session cookie.
func (m *Manager) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: !m.opt.InsecureCookies, SameSite: http.SameSiteLaxMode})
}

// tokenPrefix starts every management token.
const tokenPrefix = "weirm_"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Credentials reads what a request presents: a management token
// (Authorization: Bearer or x-api-key) or the session cookie's secret.
func Credentials(r *http.Request) (token, session string) {
	token = r.Header.Get("X-Api-Key")
	if h := r.Header.Get("Authorization"); token == "" && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token = strings.TrimSpace(h[7:])
	}
	if c, err := r.Cookie(CookieName); err == nil {
		session = c.Value
	}
	return token, session
}

// Authenticate returns who r comes from, and the session secret when a
// session authenticated it. Errors wrap ErrUnauthenticated.
func (m *Manager) Authenticate(r *http.Request) (Principal, string, error) {
	ctx := r.Context()
	token, secret := Credentials(r)
	switch {
	case token != "":
		p, err := m.authToken(ctx, token)
		return p, "", err
	case secret != "":
		p, err := m.authSession(ctx, secret)
		if err != nil {
			return p, "", err
		}
		return p, secret, nil
	case m.Open(ctx):
		return Principal{Kind: "anonymous", Role: Admin}, "", nil
	}
	return Principal{}, "", fmt.Errorf("%w: sign in (POST /api/v1/login) or send a management token as Authorization: Bearer", ErrUnauthenticated)
}

func (m *Manager) authToken(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 256 {
		return Principal{}, fmt.Errorf("%w: not a management token (they start with %s; gateway keys do not open the management API)", ErrUnauthenticated, tokenPrefix)
	}
	h := sha256.Sum256([]byte(token))
	t, err := m.st.TokenByHash(ctx, h[:])
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, err
	}
	now := m.now()
	if t.RevokedAt != nil || t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return Principal{}, fmt.Errorf("%w: token %s is revoked or expired", ErrUnauthenticated, t.ID)
	}
	p, err := m.st.Person(ctx, t.Person)
	if err != nil || p.Disabled {
		return Principal{}, fmt.Errorf("%w: the token's person is gone or disabled", ErrUnauthenticated)
	}
	role := Role(t.Role)
	if !Role(p.Role).Covers(role) {
		return Principal{}, fmt.Errorf("%w: the token's role %s is above its person's role %s now", ErrUnauthenticated, role, p.Role)
	}
	team := t.Team
	if p.Team != "" {
		team = p.Team
	}
	return Principal{Kind: "token", Person: p.Name, TokenID: t.ID, Role: role, Team: team}, nil
}

func (m *Manager) authSession(ctx context.Context, secret string) (Principal, error) {
	if len(secret) > 256 {
		return Principal{}, fmt.Errorf("%w: bad session cookie", ErrUnauthenticated)
	}
	h := sha256.Sum256([]byte(secret))
	s, err := m.st.Session(ctx, h[:])
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: the session has ended: sign in again", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, err
	}
	now := m.now()
	if !now.Before(s.ExpiresAt) || !now.Before(s.LastSeen.Add(m.opt.SessionIdle)) {
		if err := m.st.DeleteSession(ctx, h[:]); err != nil {
			m.log.Error("delete expired session", "err", err)
		}
		return Principal{}, fmt.Errorf("%w: the session has expired: sign in again", ErrUnauthenticated)
	}
	p, err := m.st.Person(ctx, s.Person)
	if err != nil || p.Disabled {
		return Principal{}, fmt.Errorf("%w: the session's person is gone or disabled", ErrUnauthenticated)
	}
	if now.Sub(s.LastSeen) > time.Minute {
		if err := m.st.TouchSession(ctx, h[:], now); err != nil {
			m.log.Error("touch session", "err", err)
		}
	}
	return Principal{Kind: "user", Person: p.Name, Role: Role(p.Role), Team: p.Team, Session: true, MustChangePassword: p.MustChangePassword}, nil
}

// TokenInput asks for a management token.
type TokenInput struct {
	Name string `json:"name"`
	// Role defaults to the creator's role; it may not exceed it.
	Role string `json:"role,omitempty"`
	// Team scopes the token to a team's calls; a team-scoped creator's
	// tokens always carry its team.
	Team string `json:"team,omitempty"`
	// Person owns the token (default: the creator; admins only may name
	// someone else).
	Person    string     `json:"person,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// NewToken is a token just created: its secret is shown once.
type NewToken struct {
	store.StoredToken
	Secret string `json:"secret"`
}

// CreateToken creates a management token for by (or, for an admin, for
// in.Person).
func (m *Manager) CreateToken(ctx context.Context, by Principal, in TokenInput) (NewToken, error) {
	person := by.Person
	if in.Person != "" && in.Person != by.Person {
		if !by.Role.Can(ManagePeople) {
			return NewToken{}, fmt.Errorf("%w: only an admin creates tokens for someone else", ErrForbidden)
		}
		person = in.Person
	}
	if person == "" {
		return NewToken{}, fmt.Errorf("%w: a token belongs to a person: name one in \"person\" (create people first: weir admin create-user)", ErrInvalid)
	}
	if in.Name == "" || len(in.Name) > 128 {
		return NewToken{}, fmt.Errorf("%w: a token needs a name of at most 128 bytes (what it is for)", ErrInvalid)
	}
	p, err := m.st.Person(ctx, person)
	if err != nil {
		return NewToken{}, err
	}
	role := Role(p.Role)
	if in.Role != "" {
		if role, err = ParseRole(in.Role); err != nil {
			return NewToken{}, err
		}
	}
	if !Role(p.Role).Covers(role) || !by.Role.Covers(role) {
		return NewToken{}, fmt.Errorf("%w: role %s is above what %s may hand out", ErrForbidden, role, person)
	}
	team := in.Team
	for _, t := range []string{p.Team, by.Team} {
		if t != "" && team != "" && team != t {
			return NewToken{}, fmt.Errorf("%w: team %s is outside the team %s is limited to", ErrForbidden, team, t)
		}
		if t != "" {
			team = t
		}
	}
	now := m.now().UTC()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return NewToken{}, fmt.Errorf("%w: expires_at is not in the future", ErrInvalid)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return NewToken{}, err
	}
	secret := tokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(raw[:]))
	h := sha256.Sum256([]byte(secret))
	t := store.StoredToken{ID: ids.New("mtk_", now), Name: in.Name, Person: person, Role: string(role), Team: team,
		Prefix: secret[:len(tokenPrefix)+6], Hash: h[:], CreatedAt: now}
	if in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	if err := m.st.AddToken(ctx, t); err != nil {
		return NewToken{}, err
	}
	m.record(ctx, "token.create", "token", t.ID, nil, t)
	return NewToken{StoredToken: t, Secret: secret}, nil
}

// Tokens lists the tokens by may see: all for an admin, else their own.
func (m *Manager) Tokens(ctx context.Context, by Principal) ([]store.StoredToken, error) {
	all, err := m.st.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	if by.Role.Can(ManagePeople) && by.Team == "" {
		return all, nil
	}
	out := []store.StoredToken{}
	for _, t := range all {
		if t.Person == by.Person {
			out = append(out, t)
		}
	}
	return out, nil
}

// RevokeToken revokes a token at once: by's own, or any for an admin.
func (m *Manager) RevokeToken(ctx context.Context, by Principal, id string) error {
	ts, err := m.Tokens(ctx, by)
	if err != nil {
		return err
	}
	var before *store.StoredToken
	for i := range ts {
		if ts[i].ID == id {
			before = &ts[i]
		}
	}
	if before == nil {
		return fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	}
	if err := m.st.RevokeToken(ctx, id, m.now().UTC()); err != nil {
		return err
	}
	after := *before
	at := m.now().UTC()
	after.RevokedAt = &at
	m.record(ctx, "token.revoke", "token", id, before, after)
	return nil
}

// Sweep deletes expired sessions; call it now and then.
func (m *Manager) Sweep(ctx context.Context) {
	if n, err := m.st.DeleteExpiredSessions(ctx, m.now().Add(-time.Minute)); err != nil {
		m.log.Error("sweep sessions", "err", err)
	} else if n > 0 {
		m.log.Debug("expired sessions removed", "n", n)
	}
}

package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/store"
)

// People authenticates management requests and manages people and
// management tokens; *auth.Manager is one.
type People interface {
	Authenticate(r *http.Request) (auth.Principal, string, error)
	Login(ctx context.Context, name, password, addr string) (string, store.Session, error)
	Logout(ctx context.Context, secret string) error
	ChangePassword(ctx context.Context, name, current, password, addr string) (string, store.Session, error)
	SetCookie(w http.ResponseWriter, secret string, s store.Session)
	ClearCookie(w http.ResponseWriter)
	People(ctx context.Context) ([]store.Person, error)
	Person(ctx context.Context, name string) (store.Person, error)
	CreatePerson(ctx context.Context, name string, in auth.PersonInput, password string) (store.Person, string, error)
	PutPerson(ctx context.Context, name string, in auth.PersonInput) (store.Person, bool, error)
	DeletePerson(ctx context.Context, name string) error
	SetPassword(ctx context.Context, name, password string) (string, error)
	CreateToken(ctx context.Context, by auth.Principal, in auth.TokenInput) (auth.NewToken, error)
	Tokens(ctx context.Context, by auth.Principal) ([]store.StoredToken, error)
	RevokeToken(ctx context.Context, by auth.Principal, id string) error
}

func (a *API) authError(w http.ResponseWriter, what string, err error) {
	var th *auth.ThrottledError
	switch {
	case errors.As(err, &th):
		w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds()+0.999)))
		writeErr(w, http.StatusTooManyRequests, "throttled", err.Error())
	case errors.Is(err, auth.ErrBadCredentials):
		writeErr(w, http.StatusUnauthorized, "bad_credentials", "wrong name or password")
	case errors.Is(err, auth.ErrInvalid):
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
	case errors.Is(err, auth.ErrForbidden):
		writeErr(w, http.StatusForbidden, "forbidden", err.Error())
	default:
		a.priceError(w, what, err)
	}
}

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// SessionResponse answers a sign-in and GET /api/v1/me.
type SessionResponse struct {
	Principal auth.Principal `json:"principal"`
	// CSRFToken must be sent as X-CSRF-Token with every change made with
	// the session cookie.
	CSRFToken string     `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// PasswordChangeRequired: only POST /api/v1/me/password is allowed.
	PasswordChangeRequired bool `json:"password_change_required,omitempty"`
}

func clientHost(r *http.Request) string {
	host := r.RemoteAddr
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			return host[:i]
		}
	}
	return host
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req LoginRequest
	if !decodeBody(w, r, &req) {
		return
	}
	secret, s, err := a.opt.People.Login(r.Context(), req.Name, req.Password, clientHost(r))
	if err != nil {
		a.authError(w, "sign in", err)
		return
	}
	a.startSession(w, r, secret, s)
}

func (a *API) startSession(w http.ResponseWriter, r *http.Request, secret string, s store.Session) {
	a.opt.People.SetCookie(w, secret, s)
	p, err := a.opt.People.Person(r.Context(), s.Person)
	if err != nil {
		a.authError(w, "sign in", err)
		return
	}
	exp := s.ExpiresAt
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, SessionResponse{
		Principal: auth.Principal{Kind: "user", Person: p.Name, Role: auth.Role(p.Role), Team: p.Team, MustChangePassword: p.MustChangePassword},
		CSRFToken: auth.CSRFToken(secret), ExpiresAt: &exp, PasswordChangeRequired: p.MustChangePassword,
	})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if _, secret := auth.Credentials(r); secret != "" {
		// Logging out needs no CSRF token: the worst a forged request can
		// do is sign someone out.
		if err := a.opt.People.Logout(r.Context(), secret); err != nil {
			a.authError(w, "sign out", err)
			return
		}
	}
	a.opt.People.ClearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	resp := SessionResponse{Principal: p, PasswordChangeRequired: p.MustChangePassword}
	if _, secret := auth.Credentials(r); p.Session && secret != "" {
		resp.CSRFToken = auth.CSRFToken(secret)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// PasswordChange is the body of POST /api/v1/me/password.
type PasswordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p.Kind != "user" {
		writeErr(w, http.StatusForbidden, "forbidden", "sign in with a password to change it (tokens cannot)")
		return
	}
	var req PasswordChange
	if !decodeBody(w, r, &req) {
		return
	}
	secret, s, err := a.opt.People.ChangePassword(r.Context(), p.Person, req.Current, req.New, clientHost(r))
	if err != nil {
		a.authError(w, "change password", err)
		return
	}
	a.startSession(w, r, secret, s)
}

func (a *API) listPeople(w http.ResponseWriter, r *http.Request) {
	ps, err := a.opt.People.People(r.Context())
	if err != nil {
		a.authError(w, "list people", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		People []store.Person `json:"people"`
	}{ps})
}

func (a *API) getPerson(w http.ResponseWriter, r *http.Request) {
	p, err := a.opt.People.Person(r.Context(), r.PathValue("name"))
	if err != nil {
		a.authError(w, "read person", err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// PersonRequest is the body of PUT /api/v1/people/{name}.
type PersonRequest struct {
	auth.PersonInput
	// Password, on creation: the person's first password. Refused on
	// update (use POST /api/v1/people/{name}/password).
	Password string `json:"password,omitempty"`
	// GeneratePassword, on creation: a one-time password is generated and
	// answered once. Without it or Password the person has no password
	// and signs in through single sign-on (or gets one later).
	GeneratePassword bool `json:"generate_password,omitempty"`
}

// PersonResponse answers PUT /api/v1/people/{name}.
type PersonResponse struct {
	store.Person
	// OneTimePassword is shown once, when one was generated.
	OneTimePassword string `json:"one_time_password,omitempty"`
}

func (a *API) putPerson(w http.ResponseWriter, r *http.Request) {
	var req PersonRequest
	if !decodeBody(w, r, &req) {
		return
	}
	name := r.PathValue("name")
	ctx := r.Context()
	_, err := a.opt.People.Person(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound) && req.Password == "" && !req.GeneratePassword:
		p, _, err := a.opt.People.PutPerson(ctx, name, req.PersonInput)
		if err != nil {
			a.authError(w, "create person", err)
			return
		}
		writeJSON(w, http.StatusCreated, PersonResponse{Person: p})
	case errors.Is(err, store.ErrNotFound):
		p, otp, err := a.opt.People.CreatePerson(ctx, name, req.PersonInput, req.Password)
		if err != nil {
			a.authError(w, "create person", err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, PersonResponse{Person: p, OneTimePassword: otp})
	case err != nil:
		a.authError(w, "read person", err)
	default:
		if req.Password != "" || req.GeneratePassword {
			writeErr(w, http.StatusBadRequest, "invalid_request", "a person's password changes through POST /api/v1/people/{name}/password")
			return
		}
		p, _, err := a.opt.People.PutPerson(ctx, name, req.PersonInput)
		if err != nil {
			a.authError(w, "update person", err)
			return
		}
		writeJSON(w, http.StatusOK, PersonResponse{Person: p})
	}
}

func (a *API) deletePerson(w http.ResponseWriter, r *http.Request) {
	if err := a.opt.People.DeletePerson(r.Context(), r.PathValue("name")); err != nil {
		a.authError(w, "delete person", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PasswordReset is the body of POST /api/v1/people/{name}/password.
type PasswordReset struct {
	// Password is the new password; empty generates a one-time password.
	Password string `json:"password,omitempty"`
}

func (a *API) resetPassword(w http.ResponseWriter, r *http.Request) {
	var req PasswordReset
	if !decodeBody(w, r, &req) {
		return
	}
	otp, err := a.opt.People.SetPassword(r.Context(), r.PathValue("name"), req.Password)
	if err != nil {
		a.authError(w, "set password", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		OneTimePassword string `json:"one_time_password,omitempty"`
	}{otp})
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.opt.People.Tokens(r.Context(), principal(r))
	if err != nil {
		a.authError(w, "list tokens", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Tokens []store.StoredToken `json:"tokens"`
	}{ts})
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var req auth.TokenInput
	if !decodeBody(w, r, &req) {
		return
	}
	t, err := a.opt.People.CreateToken(r.Context(), principal(r), req)
	if err != nil {
		a.authError(w, "create token", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, t)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := a.opt.People.RevokeToken(r.Context(), principal(r), r.PathValue("id")); err != nil {
		a.authError(w, "revoke token", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// teamOf is the team a principal's reads are limited to ("" = none).
func teamOf(r *http.Request) string { return principal(r).Team }

// forceTeam applies the principal's team to a team filter; a request for
// another team's data is refused.
func forceTeam(w http.ResponseWriter, r *http.Request, filter *string) bool {
	t := teamOf(r)
	if t == "" {
		return true
	}
	if *filter != "" && *filter != t {
		writeErr(w, http.StatusForbidden, "team_scoped", fmt.Sprintf("limited to team %s: cannot read team %s", t, *filter))
		return false
	}
	*filter = t
	return true
}

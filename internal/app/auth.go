package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/sso"
	"github.com/weirhq/weir/internal/store"
)

// Loopback reports whether a listen address accepts connections from this
// machine only: a loopback IP or "localhost". An empty host listens on
// every interface.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

// OpenAuth returns the people manager of a store. Requests without
// credentials are let in as admin only while no person exists and listen
// is a loopback address.
func OpenAuth(cfg config.Config, st store.PeopleStore, aud auth.Auditor, log *slog.Logger) (*auth.Manager, error) {
	return auth.New(auth.Options{
		Store: st, SessionTTL: cfg.Auth.SessionTTL.D(), SessionIdle: cfg.Auth.SessionIdle.D(),
		InsecureCookies: cfg.Auth.InsecureCookies, AllowAnonymous: Loopback(cfg.Listen), Audit: aud, Log: log,
	})
}

// ErrNoPeople is returned by Serve on a non-loopback address while no
// person can sign in.
var ErrNoPeople = fmt.Errorf("no person can sign in to the management API, and Weir would listen beyond loopback: create an admin first (weir admin create-user --name NAME --role admin), or listen on 127.0.0.1")

// checkExposure refuses to serve on addr when it is not loopback and no
// person exists.
func checkExposure(ctx context.Context, m *auth.Manager, addr string) error {
	if Loopback(addr) {
		return nil
	}
	has, err := m.HasPeople(ctx)
	if err != nil {
		return fmt.Errorf("count people: %w", err)
	}
	if !has {
		return fmt.Errorf("listen on %s: %w", addr, ErrNoPeople)
	}
	return nil
}

// People is the app's people manager (for the CLI's demo and admin
// commands).
func (a *App) People() *auth.Manager { return a.people }

// ssoSessions lets single sign-on start sessions in the people manager.
type ssoSessions struct{ m *auth.Manager }

var _ sso.Sessions = ssoSessions{}

// SignIn implements sso.Sessions: people are named by their email (or the
// subject when the provider sends none) and linked to issuer and subject.
func (s ssoSessions) SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, id sso.Identity, role, team string) error {
	ro, err := auth.ParseRole(role)
	if err != nil {
		return err
	}
	name := id.Email
	if name == "" {
		name = id.Subject
	}
	secret, sess, err := s.m.SignInPerson(ctx, id.Issuer+" "+id.Subject, name, id.Email, id.Name, ro, team)
	if errors.Is(err, auth.ErrDenied) {
		return fmt.Errorf("%w: %w", sso.ErrDenied, err)
	}
	if err != nil {
		return err
	}
	s.m.SetCookie(w, secret, sess)
	return nil
}

// ssoRoutes are the single sign-on routes for the API (public: the browser
// reaches them before it has a session).
func ssoRoutes(h *sso.Handler) []api.ExtraRoute {
	if h == nil {
		return nil
	}
	return []api.ExtraRoute{
		{Method: "GET", Path: sso.LoginPath, Handler: http.HandlerFunc(h.Login), TeamScoped: true},
		{Method: "GET", Path: sso.CallbackPath, Handler: http.HandlerFunc(h.Callback), TeamScoped: true},
	}
}

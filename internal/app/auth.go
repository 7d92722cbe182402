package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/config"
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

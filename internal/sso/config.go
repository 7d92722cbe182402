package sso

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Config is the auth.oidc section of Weir's configuration. Every field's
// default is written next to it; docs/configuration.md is the reference.
//
// ClientSecret and CookieKey are not read from YAML here: the config
// package decodes them as secret references (env:VAR, file:/path) beside
// this struct and copies the resolved values in, so they are never printed.
type Config struct {
	// Issuer is the OpenID provider's issuer URL, exactly as its discovery
	// document states it, e.g. https://accounts.google.com. https is
	// required except on a loopback host. Required.
	Issuer string `yaml:"issuer" json:"issuer"`
	// ClientID is Weir's client id at the provider. Required.
	ClientID string `yaml:"client_id" json:"client_id"`
	// ClientSecret is the resolved client secret; empty for a public
	// client (PKCE alone). Set by the config package, never decoded here.
	ClientSecret string `yaml:"-" json:"-"`
	// RedirectURL is the callback URL registered at the provider, e.g.
	// https://weir.example.com/api/v1/auth/oidc/callback. Required.
	RedirectURL string `yaml:"redirect_url" json:"redirect_url"`
	// Scopes requested. Default [openid, email, profile]; openid is added
	// when missing.
	Scopes []string `yaml:"scopes" json:"scopes,omitempty"`
	// AllowedEmailDomains, when set, are the only email domains that may
	// sign in (exact match, case-insensitive; no subdomains). Default any.
	AllowedEmailDomains []string `yaml:"allowed_email_domains" json:"allowed_email_domains,omitempty"`
	// RequireVerifiedEmail refuses identities whose email_verified claim is
	// not true. Default true. Set false for providers that never send the
	// claim (Microsoft Entra ID) and rely on allowed_email_domains instead.
	RequireVerifiedEmail *bool `yaml:"require_verified_email" json:"require_verified_email,omitempty"`
	// GroupsClaim is the ID token claim holding the person's groups: a
	// top-level claim name (may contain dots, e.g. a namespaced
	// https://example.com/groups) or else a dotted path into nested objects
	// (realm_access.roles). A string value is one group. Default "groups".
	GroupsClaim string `yaml:"groups_claim" json:"groups_claim,omitempty"`
	// Roles map groups to Weir roles; the first entry whose group the
	// person is in wins. Default none.
	Roles []GroupRole `yaml:"roles" json:"roles,omitempty"`
	// DefaultRole is the role of a person in none of the Roles' groups;
	// empty refuses them. Default empty.
	DefaultRole string `yaml:"default_role" json:"default_role,omitempty"`
	// Teams map groups to Weir teams; the first entry whose group the
	// person is in wins. Default none: no team.
	Teams []GroupTeam `yaml:"teams" json:"teams,omitempty"`
	// SecureCookie marks the short-lived sign-in cookie Secure even when
	// the request reached Weir over plain HTTP (TLS ended at a proxy).
	// It is Secure anyway when the request is TLS or RedirectURL is https.
	// Default false.
	SecureCookie bool `yaml:"secure_cookie" json:"secure_cookie,omitempty"`
	// CookieKey is the resolved secret that encrypts the sign-in cookie.
	// Default empty: a random key made at startup, so a sign-in in flight
	// across a restart, or finishing on another replica, must start again.
	// Set by the config package, never decoded here.
	CookieKey string `yaml:"-" json:"-"`
}

// GroupRole maps one group to a role.
type GroupRole struct {
	Group string `yaml:"group" json:"group"`
	Role  string `yaml:"role" json:"role"`
}

// GroupTeam maps one group to a team.
type GroupTeam struct {
	Group string `yaml:"group" json:"group"`
	Team  string `yaml:"team" json:"team"`
}

// roles are the roles a mapping may name (issue 5).
var roles = []string{"admin", "finance", "owner", "reviewer", "viewer"}

func (c Config) scopes() []string {
	s := c.Scopes
	if len(s) == 0 {
		s = []string{"openid", "email", "profile"}
	}
	if !slices.Contains(s, "openid") {
		s = append([]string{"openid"}, s...)
	}
	return s
}

func (c Config) groupsClaim() string {
	if c.GroupsClaim == "" {
		return "groups"
	}
	return c.GroupsClaim
}

func (c Config) requireVerifiedEmail() bool {
	return c.RequireVerifiedEmail == nil || *c.RequireVerifiedEmail
}

// Validate checks the section; key names in messages are relative to it
// (the caller prefixes "auth.oidc.").
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if err := checkURL(c.Issuer); err != nil {
		bad("issuer", "%v", err)
	}
	if c.ClientID == "" {
		bad("client_id", "must be set")
	}
	if err := checkURL(c.RedirectURL); err != nil {
		bad("redirect_url", "%v", err)
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			bad(fmt.Sprintf("scopes[%d]", i), "%q is not a scope", s)
		}
	}
	for i, d := range c.AllowedEmailDomains {
		if d == "" || strings.ContainsAny(d, "@ \t/") || d != strings.ToLower(d) {
			bad(fmt.Sprintf("allowed_email_domains[%d]", i), "%q is not a lower-case domain such as example.com", d)
		}
	}
	for i, m := range c.Roles {
		key := fmt.Sprintf("roles[%d]", i)
		if m.Group == "" {
			bad(key+".group", "must be set")
		}
		if !slices.Contains(roles, m.Role) {
			bad(key+".role", "%q is not one of %s", m.Role, strings.Join(roles, ", "))
		}
	}
	if c.DefaultRole != "" && !slices.Contains(roles, c.DefaultRole) {
		bad("default_role", "%q is not one of %s (or empty: refuse)", c.DefaultRole, strings.Join(roles, ", "))
	}
	if len(c.Roles) == 0 && c.DefaultRole == "" {
		bad("roles", "no roles and no default_role: nobody could sign in")
	}
	for i, m := range c.Teams {
		key := fmt.Sprintf("teams[%d]", i)
		if m.Group == "" {
			bad(key+".group", "must be set")
		}
		if m.Team == "" {
			bad(key+".team", "must be set")
		}
	}
	return errors.Join(errs...)
}

// checkURL accepts an absolute https URL, or http on a loopback host.
func checkURL(s string) error {
	if s == "" {
		return errors.New("must be set")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("%q must be an https URL (http only on a loopback host)", s)
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q must not carry user info or a fragment", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

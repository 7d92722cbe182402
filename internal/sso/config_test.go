package sso

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// The documented example decodes strictly (as the config package decodes
// it) into the fields the handler reads.
func TestConfigYAML(t *testing.T) {
	const doc = `
issuer: https://login.example.com
client_id: weir
redirect_url: https://weir.example.com/api/v1/auth/oidc/callback
scopes: [openid, email, profile, groups]
allowed_email_domains: [example.com]
require_verified_email: false
groups_claim: https://example.com/groups
roles:
  - {group: weir-admins, role: admin}
  - {group: finance, role: finance}
default_role: viewer
teams:
  - {group: search-eng, team: search}
secure_cookie: true
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	f := false
	want := Config{
		Issuer: "https://login.example.com", ClientID: "weir", RedirectURL: "https://weir.example.com/api/v1/auth/oidc/callback",
		Scopes: []string{"openid", "email", "profile", "groups"}, AllowedEmailDomains: []string{"example.com"},
		RequireVerifiedEmail: &f, GroupsClaim: "https://example.com/groups",
		Roles:       []GroupRole{{"weir-admins", "admin"}, {"finance", "finance"}},
		DefaultRole: "viewer", Teams: []GroupTeam{{"search-eng", "search"}}, SecureCookie: true,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	// The secrets are never decoded from, nor printed into, this section.
	for _, key := range []string{"client_secret: x\n", "cookie_key: x\n"} {
		dec := yaml.NewDecoder(strings.NewReader(doc + key))
		dec.KnownFields(true)
		if err := dec.Decode(&Config{}); err == nil {
			t.Errorf("%q decoded into sso.Config; the config package owns it", key)
		}
	}
	c.ClientSecret, c.CookieKey = "s3cret-value", "k3y-value"
	var out bytes.Buffer
	if err := yaml.NewEncoder(&out).Encode(c); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret") || strings.Contains(out.String(), "k3y") {
		t.Errorf("a secret is printed:\n%s", out.String())
	}
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	if got := c.scopes(); !cmp.Equal(got, []string{"openid", "email", "profile"}) {
		t.Errorf("default scopes %v", got)
	}
	c.Scopes = []string{"email"}
	if got := c.scopes(); !cmp.Equal(got, []string{"openid", "email"}) {
		t.Errorf("openid not added: %v", got)
	}
	if c.groupsClaim() != "groups" || !c.requireVerifiedEmail() {
		t.Errorf("defaults: groups_claim %q, require_verified_email %v", c.groupsClaim(), c.requireVerifiedEmail())
	}
}

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		return Config{Issuer: "https://idp.example", ClientID: "weir", RedirectURL: "https://weir.example/api/v1/auth/oidc/callback", DefaultRole: "viewer"}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"loopback http", func(c *Config) { c.Issuer = "http://127.0.0.1:5556/dex"; c.RedirectURL = "http://localhost:8080/cb" }, ""},
		{"no issuer", func(c *Config) { c.Issuer = "" }, "issuer: must be set"},
		{"http issuer", func(c *Config) { c.Issuer = "http://idp.example" }, `issuer: "http://idp.example" must be an https URL`},
		{"relative redirect", func(c *Config) { c.RedirectURL = "/api/v1/auth/oidc/callback" }, "redirect_url: "},
		{"redirect with fragment", func(c *Config) { c.RedirectURL = "https://weir.example/cb#x" }, "redirect_url: "},
		{"no client id", func(c *Config) { c.ClientID = "" }, "client_id: must be set"},
		{"bad scope", func(c *Config) { c.Scopes = []string{"openid email"} }, "scopes[0]: "},
		{"domain with @", func(c *Config) { c.AllowedEmailDomains = []string{"@example.com"} }, "allowed_email_domains[0]: "},
		{"upper-case domain", func(c *Config) { c.AllowedEmailDomains = []string{"Example.com"} }, "allowed_email_domains[0]: "},
		{"unknown role", func(c *Config) { c.Roles = []GroupRole{{"g", "root"}} }, `roles[0].role: "root" is not one of admin, finance, owner, reviewer, viewer`},
		{"role without group", func(c *Config) { c.Roles = []GroupRole{{"", "admin"}} }, "roles[0].group: must be set"},
		{"unknown default role", func(c *Config) { c.DefaultRole = "guest" }, "default_role: "},
		{"nobody could sign in", func(c *Config) { c.DefaultRole = "" }, "roles: no roles and no default_role"},
		{"team without name", func(c *Config) { c.Teams = []GroupTeam{{"g", ""}} }, "teams[0].team: must be set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestGroupsOf(t *testing.T) {
	claims := map[string]any{
		"groups":                    []any{"a", "b"},
		"https://example.com/roles": []any{"ns"},
		"realm_access":              map[string]any{"roles": []any{"r"}},
		"single":                    "one",
		"empty":                     "",
		"number":                    3.0,
	}
	tests := []struct {
		claim   string
		want    []string
		wantErr bool
	}{
		{"groups", []string{"a", "b"}, false},
		{"https://example.com/roles", []string{"ns"}, false},
		{"realm_access.roles", []string{"r"}, false},
		{"realm_access.missing", nil, false},
		{"groups.x", nil, false},
		{"missing", nil, false},
		{"single", []string{"one"}, false},
		{"empty", nil, false},
		{"number", nil, true},
	}
	for _, tt := range tests {
		got, err := groupsOf(claims, tt.claim)
		if (err != nil) != tt.wantErr || !cmp.Equal(got, tt.want) {
			t.Errorf("groupsOf(%q) = %v, %v; want %v, error %v", tt.claim, got, err, tt.want, tt.wantErr)
		}
	}
}

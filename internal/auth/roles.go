// Package auth decides who is calling the management API and what they
// may do: people (password or single sign-on), their sessions (cookies
// with CSRF protection), management API tokens scoped to a role and
// optionally a team, login throttling, and the role → permission table.
// Passwords are argon2id hashes; sessions and tokens are stored as the
// SHA-256 of 256-bit random secrets. The app and the API use it; it
// imports store, audit and ids.
package auth

import (
	"context"
	"fmt"
	"slices"
)

// Role is what a person or token may do.
type Role string

// The roles, from most to least powerful.
const (
	// Admin may do everything.
	Admin Role = "admin"
	// Finance reads everything and changes prices, re-pricing,
	// reconciliation and limits.
	Finance Role = "finance"
	// Owner reads everything, changes the use cases they own (as business
	// or technical owner), records their KPI results, and maintains
	// prompts.
	Owner Role = "owner"
	// Reviewer works the human review queue only.
	Reviewer Role = "reviewer"
	// Viewer reads everything but the configuration, people and audit log.
	Viewer Role = "viewer"
)

// Roles lists every role.
var Roles = []Role{Admin, Finance, Owner, Reviewer, Viewer}

// ParseRole checks a role name; "use-case-owner" is accepted for owner.
func ParseRole(s string) (Role, error) {
	if s == "use-case-owner" || s == "use-case owner" {
		return Owner, nil
	}
	if r := Role(s); slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("%w: role %q: one of admin, finance, owner, reviewer, viewer", ErrInvalid, s)
}

// Permission is one kind of action on the management API.
type Permission string

// The permissions. Every management route requires exactly one.
const (
	// Self: one's own session, password and tokens.
	Self Permission = "self"
	// Read: calls, costs, prices, use cases and their reports, limits,
	// alerts, forecasts, applications and keys (never secrets).
	Read Permission = "read"
	// Quote: price or estimate a hypothetical call (reads no data).
	Quote Permission = "quote"
	// WriteCosts: negotiated price entries, re-pricing, reconciliation.
	WriteCosts Permission = "costs.write"
	// WriteLimits: define, delete and reset limits.
	WriteLimits Permission = "limits.write"
	// WriteUseCases: define use cases and their versions (owners: only
	// the use cases they own).
	WriteUseCases Permission = "usecases.write"
	// WriteKPIs: record KPI results (owners: only of the use cases they
	// own).
	WriteKPIs Permission = "kpis.write"
	// WriteAccess: applications and gateway keys.
	WriteAccess Permission = "access.write"
	// ManagePeople: people, their roles, and everyone's tokens.
	ManagePeople Permission = "people.write"
	// ReadPeople: the list of people.
	ReadPeople Permission = "people.read"
	// ReadAudit: the audit log.
	ReadAudit Permission = "audit.read"
	// ReadConfig: the running configuration (redacted).
	ReadConfig Permission = "config.read"
	// Ingest: record calls made without the gateway.
	Ingest Permission = "ingest"
	// WriteCredentials: provider credentials (write only).
	WriteCredentials Permission = "credentials.write"
	// Review: the human review queue.
	Review Permission = "review"
	// WritePrompts: prompt and partial versions, and their labels.
	WritePrompts Permission = "prompts.write"
	// WriteEvals: evaluation criteria (and approving their changes),
	// datasets, judges, review queues and experiments.
	WriteEvals Permission = "evals.write"
)

var grants = map[Role][]Permission{
	Admin:    {Self, Read, Quote, WriteCosts, WriteLimits, WriteUseCases, WriteKPIs, WriteAccess, ManagePeople, ReadPeople, ReadAudit, ReadConfig, Ingest, WriteCredentials, Review, WritePrompts, WriteEvals},
	Finance:  {Self, Read, Quote, WriteCosts, WriteLimits, ReadPeople},
	Owner:    {Self, Read, Quote, WriteUseCases, WriteKPIs, ReadPeople, WritePrompts, WriteEvals},
	Reviewer: {Self, Review},
	Viewer:   {Self, Read, Quote},
}

// Can reports whether r grants p.
func (r Role) Can(p Permission) bool { return slices.Contains(grants[r], p) }

// Covers reports whether a holder of r may hand out role o (to a token):
// admin any role, the others their own, and viewer where they can read.
func (r Role) Covers(o Role) bool {
	return r == Admin || o == r || o == Viewer && r.Can(Read)
}

// Principal is who a management request comes from.
type Principal struct {
	// Kind: user (a session), token (a management API token), or
	// anonymous (an open API: no people exist and Weir listens on
	// loopback only).
	Kind string `json:"kind"`
	// Person is the person, or the person the token belongs to.
	Person string `json:"person,omitempty"`
	// TokenID is the token's id (kind token).
	TokenID string `json:"token_id,omitempty"`
	Role    Role   `json:"role"`
	// Team, when set, limits reads to the team's calls and refuses what
	// cannot be limited so.
	Team string `json:"team,omitempty"`
	// Session: authenticated by the session cookie, so unsafe methods need
	// the CSRF token.
	Session bool `json:"-"`
	// MustChangePassword: only the password change is allowed.
	MustChangePassword bool `json:"must_change_password,omitempty"`
}

// Name is how the audit log and changed_by name the principal.
func (p Principal) Name() string {
	switch p.Kind {
	case "token":
		return p.Person + " (token " + p.TokenID + ")"
	case "anonymous":
		return "anonymous"
	}
	return p.Person
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Route is one management route a package serves, with the permission it
// needs and whether a team-limited principal may use it: what a package
// lists so that the API guards its routes like its own.
type Route struct {
	Method, Path string
	Permission   Permission
	TeamScoped   bool
}

package store

import (
	"context"
	"time"
)

// PeopleStore keeps the people who use the management API and dashboard,
// their sessions and their management API tokens. Sessions and tokens are
// stored as the SHA-256 of their secret only.
type PeopleStore interface {
	// PutPerson creates or updates a person. An update keeps the password
	// hash unless p.PasswordHash is set.
	PutPerson(ctx context.Context, p Person) error
	// Person returns the person named name (ErrNotFound).
	Person(ctx context.Context, name string) (Person, error)
	// PersonBySubject returns the person signed in with OpenID Connect as
	// subject (issuer and subject; ErrNotFound).
	PersonBySubject(ctx context.Context, subject string) (Person, error)
	// People returns everyone, by name.
	People(ctx context.Context) ([]Person, error)
	// CountPeople returns how many people exist.
	CountPeople(ctx context.Context) (int, error)
	// DeletePerson removes a person with their sessions and tokens
	// (ErrNotFound).
	DeletePerson(ctx context.Context, name string) error

	// AddSession stores a session.
	AddSession(ctx context.Context, s Session) error
	// Session returns the session whose secret hashes to hash (ErrNotFound).
	Session(ctx context.Context, hash []byte) (Session, error)
	// TouchSession records activity on a session.
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	// DeleteSession ends one session; DeleteSessions all of a person's.
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteSessions(ctx context.Context, person string) error
	// DeleteExpiredSessions removes sessions expired before at.
	DeleteExpiredSessions(ctx context.Context, at time.Time) (int64, error)

	// AddToken stores a management API token of an existing person.
	AddToken(ctx context.Context, t StoredToken) error
	// TokenByHash returns the token whose secret hashes to hash, revoked
	// or not (ErrNotFound).
	TokenByHash(ctx context.Context, hash []byte) (StoredToken, error)
	// Tokens returns every token, oldest first.
	Tokens(ctx context.Context) ([]StoredToken, error)
	// RevokeToken marks token id revoked (ErrNotFound when unknown or
	// already revoked).
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// Person is someone who signs in.
type Person struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Role        string `json:"role"`
	// Team, when set, limits what the person reads to the team's calls.
	Team string `json:"team,omitempty"`
	// PasswordHash is a PHC string (argon2id); empty: no password login.
	PasswordHash string `json:"-"`
	// MustChangePassword: the password was set by someone else (a
	// one-time password) and must be changed before anything else.
	MustChangePassword bool `json:"must_change_password,omitempty"`
	// Subject is "issuer subject" of an OpenID Connect sign-in.
	Subject   string    `json:"-"`
	Disabled  bool      `json:"disabled,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"`
}

// Session is a signed-in browser or client.
type Session struct {
	Hash      []byte    `json:"-"`
	Person    string    `json:"person"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
	ExpiresAt time.Time `json:"expires_at"`
	// Via is how the person signed in: password or oidc.
	Via string `json:"via"`
}

// StoredToken is a management API token without its secret.
type StoredToken struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Person string `json:"person"`
	// Role is the role the token acts with (at most its person's).
	Role string `json:"role"`
	// Team, when set, scopes the token to a team's calls.
	Team      string     `json:"team,omitempty"`
	Prefix    string     `json:"prefix"`
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

package store

import (
	"context"
	"encoding/json"
	"time"
)

// AccessStore keeps applications and their gateway keys (hashes only).
type AccessStore interface {
	// PutApplication creates or replaces an application.
	PutApplication(ctx context.Context, a ApplicationDoc) (ApplicationDoc, error)
	// Applications returns every application, by name.
	Applications(ctx context.Context) ([]ApplicationDoc, error)
	// AddKey stores a new key of k.App (which must exist: ErrNotFound).
	AddKey(ctx context.Context, k StoredKey) error
	// Keys returns every key, revoked and expired ones included, oldest
	// first.
	Keys(ctx context.Context) ([]StoredKey, error)
	// RevokeKey marks key id revoked at at (ErrNotFound when unknown or
	// already revoked).
	RevokeKey(ctx context.Context, id string, at time.Time) error
}

// ApplicationDoc is an application's definition as a JSON document.
type ApplicationDoc struct {
	Name      string          `json:"name"`
	Doc       json.RawMessage `json:"doc"`
	ChangedAt time.Time       `json:"changed_at"`
	ChangedBy string          `json:"changed_by"`
}

// StoredKey is a gateway key without its secret: the SHA-256 of the secret
// and a prefix to recognise it by.
type StoredKey struct {
	ID        string     `json:"id"`
	App       string     `json:"application"`
	Prefix    string     `json:"prefix"`
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

package store

import (
	"context"
	"time"
)

// CredentialStore keeps provider credentials, sealed: a backend stores
// and returns the ciphertext as given and never sees a credential in clear.
type CredentialStore interface {
	// PutCredential creates or replaces the credential of c.Provider.
	PutCredential(ctx context.Context, c SealedCredential) error
	// Credential returns the credential of provider, or an error wrapping
	// ErrNotFound.
	Credential(ctx context.Context, provider string) (SealedCredential, error)
	// DeleteCredential removes the credential of provider (ErrNotFound when
	// there is none).
	DeleteCredential(ctx context.Context, provider string) error
	// ListCredentials returns every credential's metadata, by provider.
	ListCredentials(ctx context.Context) ([]CredentialInfo, error)
}

// CredentialInfo is what may be said about a stored credential: never the
// credential, not even part of it.
type CredentialInfo struct {
	Provider string `json:"provider"`
	// KeyID is the id of the master key that sealed it.
	KeyID     string    `json:"key_id"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// SealedCredential is a stored credential: AES-GCM ciphertext and nonce.
type SealedCredential struct {
	CredentialInfo
	Ciphertext []byte `json:"-"`
	Nonce      []byte `json:"-"`
}

package store

import (
	"context"
	"time"
)

// IdentityReader reads which model identities answered each model: the
// model name and system fingerprint providers report, with when each was
// first and last seen.
type IdentityReader interface {
	// ModelIdentities returns the identities seen in [From, To) (by their
	// last sighting after From and first before To; zero times do not
	// bound) for q's provider and model when set, by provider, model and
	// first sighting.
	ModelIdentities(ctx context.Context, q IdentityQuery) ([]ModelIdentity, error)
}

// IdentityQuery selects model identities.
type IdentityQuery struct {
	Provider, Model string
	From, To        time.Time
}

// ModelIdentity is one identity a model answered as: the provider's model
// name and system fingerprint (either may be empty), over the successful
// calls that reported it.
type ModelIdentity struct {
	Provider string `json:"provider"`
	// Model is the model as sent upstream.
	Model             string    `json:"model"`
	ResponseModel     string    `json:"response_model"`
	SystemFingerprint string    `json:"system_fingerprint"`
	FirstSeen         time.Time `json:"first_seen"`
	LastSeen          time.Time `json:"last_seen"`
	Calls             int64     `json:"calls"`
}

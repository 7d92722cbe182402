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

// CallSignalReader reads what drift detection compares: a few figures of
// each call of one use case on one model, newest first.
type CallSignalReader interface {
	// CallSignals returns the calls of q's use case, provider and model
	// received in [From, To), newest first, at most Limit of them (Limit
	// must be 1 to MaxCallSignals).
	CallSignals(ctx context.Context, q CallSignalQuery) ([]CallSignal, error)
}

// MaxCallSignals bounds CallSignalQuery.Limit.
const MaxCallSignals = 100_000

// CallSignalQuery selects the calls of one drift scope. UseCase "" is
// the calls that named no use case.
type CallSignalQuery struct {
	UseCase, Provider, Model string
	From, To                 time.Time
	Limit                    int
}

// CallSignal is one call as drift detection sees it.
type CallSignal struct {
	ID         string
	ReceivedAt time.Time
	// OK is a call that succeeded (status below 400, no error kind).
	OK bool
	// What may have changed around the call.
	Route, Prompt, PromptVariant, UseCaseVersion string
	PromptVersion                                int
	ResponseModel, SystemFingerprint             string
	// What the answer did.
	OutputTokens, ReasoningTokens int64
	TTFTMs, OTPS                  *float64
	// CostUSD is the call's cost, nil when it was not priced.
	CostUSD      *float64
	FinishReason string
	Refusal      bool
	// JSONValid is nil unless the request asked for JSON.
	JSONValid *bool
}

// DriftEventStore keeps the behaviour drift events found, so that each
// is raised once and listed later. The event itself is opaque JSON to the
// store; its scope, signal and times are kept apart for filtering.
type DriftEventStore interface {
	// SaveDriftEvent stores e; saving an event with an existing ID
	// replaces it.
	SaveDriftEvent(ctx context.Context, e DriftEvent) error
	// DriftEvents lists the events matching q, newest start first.
	DriftEvents(ctx context.Context, q DriftEventQuery) ([]DriftEvent, error)
}

// DriftEvent is a stored behaviour drift event.
type DriftEvent struct {
	ID                       string
	Signal                   string
	UseCase, Provider, Model string
	// StartedAt is the estimated start of the change; DetectedAt when it
	// was found.
	StartedAt, DetectedAt time.Time
	// Event is the whole event as JSON.
	Event []byte
}

// DriftEventQuery filters drift events; zero values do not filter. From
// and To bound StartedAt ([From, To)). Limit 0 means 1,000.
type DriftEventQuery struct {
	Signal                   string
	UseCase, Provider, Model string
	From, To                 time.Time
	Limit                    int
}

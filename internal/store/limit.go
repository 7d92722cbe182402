package store

import (
	"context"
	"encoding/json"
	"time"
)

// LimitStore keeps spend and token limit definitions, append-only, and
// their resets.
type LimitStore interface {
	// PutLimit stores a new revision of d.Name; a nil Doc deletes the limit
	// (ErrNotFound when it is not in force).
	PutLimit(ctx context.Context, d LimitDoc) (LimitDoc, error)
	// Limits returns the limits in force, by name.
	Limits(ctx context.Context) ([]LimitDoc, error)
	// ResetLimit records that name's spend counts from at.
	ResetLimit(ctx context.Context, r LimitReset) error
	// LimitResets returns name's resets, oldest first.
	LimitResets(ctx context.Context, name string) ([]LimitReset, error)
}

// LimitDoc is one revision of a limit definition.
type LimitDoc struct {
	Name      string          `json:"name"`
	Revision  int             `json:"revision"`
	Doc       json.RawMessage `json:"doc"`
	ChangedAt time.Time       `json:"changed_at"`
	ChangedBy string          `json:"changed_by"`
}

// LimitReset is one reset of a limit.
type LimitReset struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Note string    `json:"note,omitempty"`
}

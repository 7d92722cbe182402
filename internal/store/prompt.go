package store

import (
	"context"
	"encoding/json"
	"time"
)

// Kinds of prompt documents a PromptStore keeps. Prompts and partials are
// stored alike: named, versioned, labelled.
const (
	PromptKindPrompt  = "prompt"
	PromptKindPartial = "partial"
)

// PromptStore keeps prompt and partial versions, append-only, and the
// labels that point at them, with every label move kept. The store does not
// interpret a version's document.
type PromptStore interface {
	// AppendPromptVersion stores v.Doc as the next version of (v.Kind,
	// v.Name): version 1 when new. Version is set by the store, and
	// CreatedAt when zero. Kind, Name and Doc are required (else
	// ErrInvalidQuery).
	AppendPromptVersion(ctx context.Context, v PromptVersion) (PromptVersion, error)
	// PromptVersion returns one version; version 0 is the latest. Missing is
	// ErrNotFound.
	PromptVersion(ctx context.Context, kind, name string, version int) (PromptVersion, error)
	// PromptVersions returns every version of a name, oldest first; none is
	// ErrNotFound.
	PromptVersions(ctx context.Context, kind, name string) ([]PromptVersion, error)
	// ListPrompts returns every name of kind with its latest version number
	// and time, by name; an empty, non-nil list when there is none.
	ListPrompts(ctx context.Context, kind string) ([]PromptSummary, error)
	// SetPromptLabel points c.Label of (c.Kind, c.Name) at c.Version, which
	// must exist (else ErrNotFound), and keeps the move in the history.
	// Seq, and ChangedAt when zero, are set by the store.
	SetPromptLabel(ctx context.Context, c PromptLabel) (PromptLabel, error)
	// PromptLabels returns the labels in force of a name, by label; an empty,
	// non-nil list when there is none.
	PromptLabels(ctx context.Context, kind, name string) ([]PromptLabel, error)
	// PromptLabelHistory returns every label move of a name, oldest first.
	PromptLabelHistory(ctx context.Context, kind, name string) ([]PromptLabel, error)
}

// PromptVersion is one immutable version of a prompt or partial.
type PromptVersion struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Doc is the version's content as JSON, owned by internal/prompt.
	Doc       json.RawMessage `json:"doc"`
	CreatedAt time.Time       `json:"created_at"`
	CreatedBy string          `json:"created_by"`
}

// PromptSummary is one name in a list.
type PromptSummary struct {
	Kind          string    `json:"kind"`
	Name          string    `json:"name"`
	LatestVersion int       `json:"latest_version"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// PromptLabel is a label pointing at a version, or one move of it.
type PromptLabel struct {
	Seq       int64     `json:"seq"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Label     string    `json:"label"`
	Version   int       `json:"version"`
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"`
}

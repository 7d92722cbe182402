package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/weirhq/weir/internal/eval"
)

// Criterion is an evaluation criterion's header: what it belongs to and who
// owns it. Its definition lives in its versions; the header changes in
// place (ownership is not versioned, it is audited).
type Criterion struct {
	Name             string `json:"name"`
	UseCase          string `json:"use_case"`
	BusinessOwner    string `json:"business_owner"`
	TechnicalOwner   string `json:"technical_owner"`
	RequiresApproval bool   `json:"requires_approval"`
	// LatestVersion is set by the store.
	LatestVersion int       `json:"latest_version"`
	CreatedAt     time.Time `json:"created_at"`
	ChangedAt     time.Time `json:"changed_at"`
	ChangedBy     string    `json:"changed_by"`
}

// CriterionVersion is one immutable version of a criterion's definition.
type CriterionVersion struct {
	Criterion string `json:"criterion"`
	Version   int    `json:"version"`
	// Definition is an eval.Definition as JSON, owned by internal/eval/criteria.
	Definition json.RawMessage `json:"definition"`
	Author     string          `json:"author"`
	Reason     string          `json:"reason,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
}

// CriterionStore keeps criteria headers with their versions, append-only.
type CriterionStore interface {
	// CreateCriterion stores a new criterion with its first version
	// (version 1) atomically; a name that exists is ErrConflict. The
	// header's times default to v.CreatedAt.
	CreateCriterion(ctx context.Context, c Criterion, v CriterionVersion) (Criterion, CriterionVersion, error)
	// UpdateCriterion changes the header of an existing criterion
	// (ErrNotFound) and, when v is not nil, appends it as the next
	// version, atomically; unless the latest version is base the update is
	// ErrConflict. UseCase and CreatedAt are kept.
	UpdateCriterion(ctx context.Context, c Criterion, v *CriterionVersion, base int) (Criterion, *CriterionVersion, error)
	// Criterion returns one header (ErrNotFound).
	Criterion(ctx context.Context, name string) (Criterion, error)
	// ListCriteria returns every criterion, or those of useCase when it is
	// not empty, by name; an empty, non-nil list when there is none.
	ListCriteria(ctx context.Context, useCase string) ([]Criterion, error)
}

// CriterionVersionReader reads criterion versions.
type CriterionVersionReader interface {
	// CriterionVersion returns one version; version 0 is the latest.
	// Missing is ErrNotFound.
	CriterionVersion(ctx context.Context, name string, version int) (CriterionVersion, error)
	// CriterionVersions returns every version, oldest first; none is
	// ErrNotFound.
	CriterionVersions(ctx context.Context, name string) ([]CriterionVersion, error)
}

// The states of a proposed criterion change.
const (
	ChangePending   = "pending"
	ChangeApproved  = "approved"
	ChangeRejected  = "rejected"
	ChangeWithdrawn = "withdrawn"
)

// CriterionChange is a change to a criterion waiting for (or past) the
// other owner's approval: the header it proposes, and a new definition
// when Definition is not empty.
type CriterionChange struct {
	ID        string `json:"id"`
	Criterion string `json:"criterion"`
	// Base is the latest version when the change was proposed; the change
	// applies only on top of it.
	Base             int             `json:"base_version"`
	BusinessOwner    string          `json:"business_owner"`
	TechnicalOwner   string          `json:"technical_owner"`
	RequiresApproval bool            `json:"requires_approval"`
	Definition       json.RawMessage `json:"definition,omitempty"`
	Reason           string          `json:"reason,omitempty"`
	ProposedBy       string          `json:"proposed_by"`
	ProposedAt       time.Time       `json:"proposed_at"`
	Status           string          `json:"status"`
	DecidedBy        string          `json:"decided_by,omitempty"`
	DecidedAt        time.Time       `json:"decided_at,omitzero"`
	DecisionReason   string          `json:"decision_reason,omitempty"`
	// Version is the version an approved change with a definition made.
	Version int `json:"version,omitempty"`
}

// CriterionChangeStore keeps proposed changes; at most one per criterion
// is pending.
type CriterionChangeStore interface {
	// AddCriterionChange stores a pending change of an existing criterion
	// (ErrNotFound); another pending change of it is ErrConflict. Status
	// is set to pending.
	AddCriterionChange(ctx context.Context, c CriterionChange) (CriterionChange, error)
	// CriterionChanges returns a criterion's changes, oldest first; an
	// empty, non-nil list when there is none. CriterionChange returns one
	// (ErrNotFound).
	CriterionChanges(ctx context.Context, name string) ([]CriterionChange, error)
	CriterionChange(ctx context.Context, name, id string) (CriterionChange, error)
	// DecideCriterionChange moves a pending change (else ErrConflict) to
	// status (approved, rejected or withdrawn). Approving applies it
	// atomically: the header takes the change's owners and approval flag,
	// and its definition, if any, becomes the next version (author the
	// proposer, reason the change's); unless the latest version is still
	// the change's base, approving is ErrConflict.
	DecideCriterionChange(ctx context.Context, name, id, status, by, reason string, at time.Time) (CriterionChange, error)
}

// StoredScore is a score as stored: Pass is the definition's verdict
// (eval.Definition.Pass) computed when written, nil when the definition
// says nothing about passing.
type StoredScore struct {
	eval.Score
	Pass *bool `json:"pass,omitempty"`
}

// ScoreQuery selects scores. Empty strings and zero values do not filter.
type ScoreQuery struct {
	Criterion        string
	CriterionVersion int
	EvaluatorKind    eval.EvaluatorKind
	Evaluator        string
	TargetKind       eval.TargetKind
	Target           string
	// From (inclusive) and To (exclusive) bound the score's time.
	From, To time.Time
	// Limit and Cursor page as in RequestQuery; the list is newest first
	// by (at, id).
	Limit  int
	Cursor string
}

// ScorePage is one page of scores.
type ScorePage struct {
	Scores     []StoredScore `json:"scores"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// ScoreSummary is the scores of one criterion version by one kind of
// evaluator on one UTC day.
type ScoreSummary struct {
	Version       int                `json:"version"`
	EvaluatorKind eval.EvaluatorKind `json:"evaluator_kind"`
	Day           time.Time          `json:"day"`
	Count         int64              `json:"count"`
	// Judged counts the scores with a pass verdict, Passes those that pass.
	Judged int64 `json:"judged"`
	Passes int64 `json:"passes"`
	// Mean is the mean of the numeric (numeric and Likert) values, nil
	// when there is none.
	Mean *float64 `json:"mean"`
}

// ScoreStore keeps scores, append-only.
type ScoreStore interface {
	// PutScores stores a batch atomically, idempotent by ID: a score whose
	// ID is stored already, or appeared earlier in the batch, is skipped.
	// It returns how many were stored. ID, Criterion, a version > 0,
	// EvaluatorKind, Evaluator, TargetKind, Target and At are required
	// (ErrInvalidQuery).
	PutScores(ctx context.Context, scores []StoredScore) (int, error)
	// ListScores returns one page of scores matching q, newest first.
	ListScores(ctx context.Context, q ScoreQuery) (ScorePage, error)
	// SummarizeScores returns a criterion's scores in [from, to) (zero:
	// unbounded) per version, evaluator kind and UTC day, ordered so.
	SummarizeScores(ctx context.Context, criterion string, from, to time.Time) ([]ScoreSummary, error)
}

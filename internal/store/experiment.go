package store

import (
	"context"
	"encoding/json"
	"time"
)

// The states of an experiment.
const (
	ExperimentPending  = "pending"
	ExperimentRunning  = "running"
	ExperimentDone     = "done"
	ExperimentFailed   = "failed"
	ExperimentCanceled = "canceled"
)

// Experiment is an evaluation experiment: a dataset version run through
// variants and scored by evaluators. Its specification is pinned when it
// is created and never changes; its status does.
type Experiment struct {
	Name string `json:"name"`
	// Spec is the pinned specification, owned by internal/eval/experiment.
	Spec      json.RawMessage `json:"spec"`
	Status    string          `json:"status"`
	Error     string          `json:"error,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	CreatedBy string          `json:"created_by"`
	// StartedAt and FinishedAt are zero until the run starts or ends.
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Total is the number of item × variant runs; Done (set by the store
	// on reads) how many have a result.
	Total int `json:"total"`
	Done  int `json:"done"`
}

// ExperimentResult is what one variant did on one item.
type ExperimentResult struct {
	Experiment string `json:"experiment"`
	Item       string `json:"item"`
	Variant    string `json:"variant"`
	// Doc is the output, its call, cost, latency and scores, owned by
	// internal/eval/experiment.
	Doc json.RawMessage `json:"doc"`
	At  time.Time       `json:"at"`
}

// ExperimentStore keeps experiments and their results.
type ExperimentStore interface {
	// CreateExperiment stores a new experiment; a name that exists is
	// ErrConflict. Name and Spec are required (ErrInvalidQuery).
	// CreatedAt is set when zero; Done is ignored.
	CreateExperiment(ctx context.Context, e Experiment) (Experiment, error)
	// Experiment returns one experiment with its Done count; missing is
	// ErrNotFound.
	Experiment(ctx context.Context, name string) (Experiment, error)
	// ListExperiments returns the experiments, newest first; an empty,
	// non-nil list when there is none.
	ListExperiments(ctx context.Context) ([]Experiment, error)
	// SetExperimentStatus changes an experiment's status, error and times
	// (zero times are kept as they are); missing is ErrNotFound.
	SetExperimentStatus(ctx context.Context, name, status, errText string, started, finished time.Time) error
	// PutExperimentResult stores the result of one item and variant,
	// replacing the one stored for them, if any; a missing experiment is
	// ErrNotFound.
	PutExperimentResult(ctx context.Context, r ExperimentResult) error
	// ExperimentResults returns an experiment's results ordered by item and
	// variant; an empty, non-nil list when there is none.
	ExperimentResults(ctx context.Context, name string) ([]ExperimentResult, error)
}

package store

import (
	"context"
	"encoding/json"
	"time"
)

// Judge is an LLM judge's header: its name, the criterion it scores, and
// who made it. What it does lives in its versions.
type Judge struct {
	Name      string `json:"name"`
	Criterion string `json:"criterion"`
	// LatestVersion is set by the store.
	LatestVersion int       `json:"latest_version"`
	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by"`
}

// JudgeVersion is one immutable version of a judge.
type JudgeVersion struct {
	Judge   string `json:"judge"`
	Version int    `json:"version"`
	// Definition is the judge's definition as JSON, owned by
	// internal/eval/judge.
	Definition json.RawMessage `json:"definition"`
	CreatedAt  time.Time       `json:"created_at"`
	CreatedBy  string          `json:"created_by"`
}

// JudgeStore keeps judges with their versions, append-only.
type JudgeStore interface {
	// CreateJudge stores a new judge with its first version (version 1)
	// atomically; a name that exists is ErrConflict, an empty name or
	// criterion ErrInvalidQuery.
	CreateJudge(ctx context.Context, j Judge, v JudgeVersion) (Judge, JudgeVersion, error)
	// AddJudgeVersion appends v as the next version of an existing judge
	// (ErrNotFound) when its latest version is base, else ErrConflict.
	AddJudgeVersion(ctx context.Context, v JudgeVersion, base int) (JudgeVersion, error)
	// Judge returns one header (ErrNotFound).
	Judge(ctx context.Context, name string) (Judge, error)
	// ListJudges returns every judge, or those of criterion when it is not
	// empty, by name; an empty, non-nil list when there is none.
	ListJudges(ctx context.Context, criterion string) ([]Judge, error)
	// JudgeVersion returns one version; 0 is the latest. Missing is
	// ErrNotFound.
	JudgeVersion(ctx context.Context, name string, version int) (JudgeVersion, error)
	// JudgeVersions returns every version, oldest first; a missing judge is
	// ErrNotFound.
	JudgeVersions(ctx context.Context, name string) ([]JudgeVersion, error)
}

// JudgeRun is one run of a judge version over targets, kept with the
// errors of the targets it could not score.
type JudgeRun struct {
	ID      string `json:"id"`
	Judge   string `json:"judge"`
	Version int    `json:"version"`
	// Doc is the run's report as JSON, owned by internal/eval/judge.
	Doc       json.RawMessage `json:"doc"`
	CreatedAt time.Time       `json:"created_at"`
	CreatedBy string          `json:"created_by"`
}

// JudgeRunStore keeps judge runs.
type JudgeRunStore interface {
	// PutJudgeRun stores a run; an ID that exists is ErrConflict, an empty
	// ID or judge ErrInvalidQuery.
	PutJudgeRun(ctx context.Context, r JudgeRun) error
	// JudgeRun returns one run of a judge (ErrNotFound).
	JudgeRun(ctx context.Context, judge, id string) (JudgeRun, error)
}

package store

import (
	"context"
	"time"

	"github.com/weirhq/weir/internal/eval"
)

// ReviewSampling is how a review queue is fed from production calls of its
// use case. A zero Rate samples nothing.
type ReviewSampling struct {
	// Rate is the share of calls sampled, 0 to 1.
	Rate float64 `json:"rate"`
	// Model and UseCaseVersion, when set, keep only the calls with that
	// model (as sent upstream) or use case version.
	Model          string `json:"model,omitempty"`
	UseCaseVersion string `json:"use_case_version,omitempty"`
	// StratifyBy is "", "model" or "version": each stratum is sampled at
	// Rate, and at least MinPerStratum calls of each stratum are taken
	// per UTC day.
	StratifyBy    string `json:"stratify_by,omitempty"`
	MinPerStratum int    `json:"min_per_stratum,omitempty"`
}

// ReviewQueue is a queue of calls (or experiment items) for people to
// score on a use case's criteria.
type ReviewQueue struct {
	Name     string   `json:"name"`
	UseCase  string   `json:"use_case"`
	Criteria []string `json:"criteria"`
	// ReviewsPerItem is how many people review each item (N, from 1).
	ReviewsPerItem int            `json:"reviews_per_item"`
	Sampling       ReviewSampling `json:"sampling"`
	CreatedAt      time.Time      `json:"created_at"`
	CreatedBy      string         `json:"created_by"`
	// Cursor is the newest call the sampler has seen (empty: none yet),
	// kept by AddReviewItems.
	Cursor Key `json:"-"`
}

// ReviewItem is one thing to review in a queue.
type ReviewItem struct {
	Queue      string          `json:"queue"`
	ID         string          `json:"id"`
	TargetKind eval.TargetKind `json:"target_kind"`
	Target     string          `json:"target"`
	// Source is "sampled" or "added"; Stratum the sampled call's model or
	// version when the queue stratifies, Day the call's UTC day.
	Source  string    `json:"source"`
	Stratum string    `json:"stratum,omitempty"`
	Day     time.Time `json:"day,omitzero"`
	AddedAt time.Time `json:"added_at"`
	AddedBy string    `json:"added_by,omitempty"`
	// Reviews counts the reviews submitted; Reviewers names who reviewed
	// (set by ListReviewItems).
	Reviews   int      `json:"reviews"`
	Reviewers []string `json:"reviewers,omitempty"`
	// LockedBy holds the item until LockedUntil; Versions are the
	// criterion versions the item was opened with (criterion -> version).
	LockedBy    string         `json:"locked_by,omitempty"`
	LockedUntil time.Time      `json:"locked_until,omitzero"`
	Versions    map[string]int `json:"versions,omitempty"`
}

// The outcomes of a reviewer's turn on an item.
const (
	ReviewDone    = "review"
	ReviewSkipped = "skip"
)

// ReviewOutcome is what one reviewer did with one item.
type ReviewOutcome struct {
	Reviewer string `json:"reviewer"`
	// Kind is ReviewDone or ReviewSkipped.
	Kind   string    `json:"kind"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// ReviewerProgress is one reviewer's reviews in a queue.
type ReviewerProgress struct {
	Reviewer string `json:"reviewer"`
	Today    int64  `json:"today"`
	Total    int64  `json:"total"`
	Skipped  int64  `json:"skipped"`
}

// ReviewProgress is a queue's progress.
type ReviewProgress struct {
	Items int64 `json:"items"`
	// Reviewed counts the items with all their reviews; InProgress those
	// with some, or locked by someone now.
	Reviewed   int64              `json:"reviewed"`
	InProgress int64              `json:"in_progress"`
	Reviewers  []ReviewerProgress `json:"reviewers"`
}

// ReviewStore keeps review queues, their items, locks and outcomes.
type ReviewStore interface {
	// CreateReviewQueue stores a new queue; a name that exists is
	// ErrConflict.
	CreateReviewQueue(ctx context.Context, q ReviewQueue) (ReviewQueue, error)
	// ReviewQueue returns one queue (ErrNotFound); ListReviewQueues every
	// queue by name, an empty, non-nil list when there is none.
	ReviewQueue(ctx context.Context, name string) (ReviewQueue, error)
	ListReviewQueues(ctx context.Context) ([]ReviewQueue, error)
	// AddReviewItems adds items to an existing queue (ErrNotFound),
	// skipping a target the queue holds already, and, when cursor is not
	// nil, moves the queue's sampling cursor to it, atomically. It returns
	// how many were added. Items need an ID, TargetKind and Target.
	AddReviewItems(ctx context.Context, queue string, items []ReviewItem, cursor *Key) (int, error)
	// StratumCounts returns how many sampled items of the queue each
	// stratum has per UTC day from since on, keyed "YYYY-MM-DD|stratum".
	StratumCounts(ctx context.Context, queue string, since time.Time) (map[string]int, error)
	// NextReviewItem locks an item of queue for reviewer until now+lockFor
	// and returns it: the item the reviewer holds already (the lock
	// renewed), else the first item (by time added, then in the order
	// added) with fewer than the queue's reviews
	// that the reviewer has not reviewed or skipped and nobody else holds
	// (an expired lock is free). versions are recorded with a new lock.
	// None is ErrNotFound.
	NextReviewItem(ctx context.Context, queue, reviewer string, versions map[string]int, now time.Time, lockFor time.Duration) (ReviewItem, error)
	// ReviewItem returns one item (ErrNotFound).
	ReviewItem(ctx context.Context, queue, id string) (ReviewItem, error)
	// ListReviewItems returns up to limit items (1..1000) in the order
	// they were added, from offset, with their reviewers.
	ListReviewItems(ctx context.Context, queue string, offset, limit int) ([]ReviewItem, error)
	// RenewReviewLock extends the reviewer's live lock on an item to
	// now+lockFor; a lock the reviewer does not hold is ErrConflict.
	RenewReviewLock(ctx context.Context, queue, id, reviewer string, now time.Time, lockFor time.Duration) (ReviewItem, error)
	// FinishReviewItem records the reviewer's outcome on an item and
	// releases their lock, atomically with the scores of a review. It is
	// ErrConflict when another reviewer holds a live lock on the item,
	// when the reviewer reviewed or skipped it already, and, for a
	// review, when the item has all its reviews. Scores are stored as by
	// ScoreStore.PutScores.
	FinishReviewItem(ctx context.Context, queue, id string, o ReviewOutcome, scores []StoredScore) (ReviewItem, error)
	// ReviewProgress returns a queue's progress at now, with the
	// reviewers' reviews since dayStart as Today.
	ReviewProgress(ctx context.Context, queue string, now, dayStart time.Time) (ReviewProgress, error)
}

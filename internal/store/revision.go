package store

import (
	"context"
	"errors"
	"time"

	"github.com/weirhq/weir/internal/pricing"
)

// ErrConflict is wrapped when a change was made against a state that has
// changed since it was read (a call re-priced by someone else meanwhile).
var ErrConflict = errors.New("conflict")

// CostReviser changes the cost of stored calls and keeps every figure it
// replaced: the audit trail of re-pricing.
type CostReviser interface {
	// ReviseCosts applies revs atomically, all or none: each call's
	// cost_usd and cost become NewCostUSD and NewCost, and the revision is
	// kept with the figures before. A revision whose call is missing wraps
	// ErrNotFound; one whose call's stored cost_usd is not OldCostUSD any
	// more wraps ErrConflict. Seq and RevisedAt are set by the store.
	ReviseCosts(ctx context.Context, revs []CostRevision) error
	// CostRevisions lists revisions matching q, newest first.
	CostRevisions(ctx context.Context, q RevisionQuery) ([]CostRevision, error)
}

// CostRevision is one change of one call's cost.
type CostRevision struct {
	// Seq orders revisions; set by the store.
	Seq int64 `json:"seq"`
	// RunID names the re-pricing run that made the change.
	RunID     string `json:"run_id"`
	RequestID string `json:"request_id"`
	// ReceivedAt is when the call was made (the time it is priced at).
	ReceivedAt time.Time `json:"received_at"`
	RevisedAt  time.Time `json:"revised_at"`
	Reason     string    `json:"reason"`
	// Old and new cost_usd (null: unpriced) and cost breakdowns (null: none).
	OldCostUSD *pricing.Money `json:"old_cost_usd"`
	NewCostUSD *pricing.Money `json:"new_cost_usd"`
	OldCost    *pricing.Cost  `json:"old_cost"`
	NewCost    *pricing.Cost  `json:"new_cost"`
}

// RevisionQuery selects cost revisions. Empty strings do not filter.
type RevisionQuery struct {
	RunID     string
	RequestID string
	// Limit is DefaultLimit when 0, at most MaxLimit; negative is invalid.
	Limit int
}

// PriceEntryStore keeps the price entries managed through the API. Each
// change is a new version of the entry; nothing is overwritten.
type PriceEntryStore interface {
	// PriceEntries returns the entries in force (the last version of each
	// id, unless it is a deletion), by id.
	PriceEntries(ctx context.Context) ([]StoredPriceEntry, error)
	// PutPriceEntry stores a new version of e.Entry.ID (version 1 when
	// new) and returns it with Version and ChangedAt set.
	PutPriceEntry(ctx context.Context, e StoredPriceEntry) (StoredPriceEntry, error)
	// DeletePriceEntry stores a deletion of id, which must be in force (else
	// ErrNotFound), and returns it.
	DeletePriceEntry(ctx context.Context, id, by string) (StoredPriceEntry, error)
	// PriceEntryHistory returns every version of id, oldest first; none is
	// ErrNotFound.
	PriceEntryHistory(ctx context.Context, id string) ([]StoredPriceEntry, error)
}

// StoredPriceEntry is one version of an API-managed price entry.
type StoredPriceEntry struct {
	ID       string `json:"id"`
	Version  int    `json:"version"`
	Provider string `json:"provider"`
	// Entry is nil for a deletion.
	Entry     *pricing.Entry `json:"entry"`
	ChangedAt time.Time      `json:"changed_at"`
	ChangedBy string         `json:"changed_by"`
}

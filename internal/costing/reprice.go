package costing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// RepriceStore is what re-pricing needs of the store.
type RepriceStore interface {
	ListRequests(ctx context.Context, q store.RequestQuery) (store.RequestPage, error)
	ReviseCosts(ctx context.Context, revs []store.CostRevision) error
}

// RepriceOptions select the calls to re-price.
type RepriceOptions struct {
	// From (inclusive) and To (exclusive) bound received_at; both required.
	From, To time.Time
	// Provider and Model optionally narrow the calls (configured provider
	// name; model as sent).
	Provider, Model string
	// Reason is kept in every revision; required.
	Reason string
	// DryRun computes the changes without storing them.
	DryRun bool
	// PriceAs resolves the catalog provider of a configured provider, for
	// calls recorded before costs named it; nil or "" leaves those as they
	// are.
	PriceAs func(provider string) string
	// Sample is how many changes to return in the result (default 20).
	Sample int
}

// RepriceResult sums up a re-pricing run.
type RepriceResult struct {
	RunID  string `json:"run_id"`
	DryRun bool   `json:"dry_run"`
	// Catalog is the catalog version the calls were re-priced with.
	Catalog string `json:"catalog_version"`
	// Scanned calls were in the range; Changed got a new cost; Unchanged
	// cost the same; Skipped never reached a provider or have no known
	// catalog provider.
	Scanned int `json:"scanned"`
	Changed int `json:"changed"`
	// Stored is the number of revisions stored (Changed, unless a dry run
	// or a run stopped by an error).
	Stored    int `json:"stored"`
	Unchanged int `json:"unchanged"`
	Skipped   int `json:"skipped"`
	// Before and After are the exact cost totals of the changed calls
	// (priced ones only); NewlyPriced and NewlyUnpriced count changes in
	// pricedness.
	Before        store.Amount `json:"before_usd"`
	After         store.Amount `json:"after_usd"`
	NewlyPriced   int          `json:"newly_priced"`
	NewlyUnpriced int          `json:"newly_unpriced"`
	// Changes holds the first few revisions.
	Changes []store.CostRevision `json:"changes"`
}

// batchSize is the number of revisions stored per transaction.
const batchSize = 500

// Reprice recomputes the cost of the stored calls in the range with the
// engine's catalog in force when the run starts and stores each changed
// cost as a revision, keeping the old figure. A call is priced at its own
// time, so a price correction applies only to the calls its entry's dates
// cover. Revisions are stored in batches of 500, each atomic: a run that
// stops on an error keeps the batches before it (the result counts what
// was stored) and can simply be run again, since runs are idempotent: a
// second run with the same catalog changes nothing.
func (e *Engine) Reprice(ctx context.Context, st RepriceStore, opt RepriceOptions) (RepriceResult, error) {
	cat := e.Catalog() // one catalog for the whole run
	res := RepriceResult{DryRun: opt.DryRun, Catalog: cat.Version(), Changes: []store.CostRevision{}}
	if opt.From.IsZero() || opt.To.IsZero() || !opt.To.After(opt.From) {
		return res, fmt.Errorf("reprice: %w: from and to are required, to after from", store.ErrInvalidQuery)
	}
	if opt.Reason == "" {
		return res, fmt.Errorf("reprice: %w: a reason is required for the audit trail", store.ErrInvalidQuery)
	}
	if opt.Sample == 0 {
		opt.Sample = 20
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return res, fmt.Errorf("reprice: run id: %w", err)
	}
	res.RunID = time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])

	q := store.RequestQuery{From: opt.From, To: opt.To, Provider: opt.Provider, Model: opt.Model, Limit: store.MaxLimit}
	var pending []store.CostRevision
	flush := func() error {
		if len(pending) == 0 || opt.DryRun {
			pending = pending[:0]
			return nil
		}
		if err := st.ReviseCosts(ctx, pending); err != nil {
			return fmt.Errorf("reprice: %w", err)
		}
		res.Stored += len(pending)
		pending = pending[:0]
		return nil
	}
	for {
		page, err := st.ListRequests(ctx, q)
		if err != nil {
			return res, fmt.Errorf("reprice: %w", err)
		}
		for i := range page.Requests {
			rec := &page.Requests[i]
			res.Scanned++
			rv, ok, err := e.revise(cat, rec, opt)
			if err != nil {
				return res, err
			}
			if rv == nil {
				if ok {
					res.Unchanged++
				} else {
					res.Skipped++
				}
				continue
			}
			rv.RunID, rv.Reason = res.RunID, opt.Reason
			res.Changed++
			if rv.OldCostUSD != nil {
				res.Before.Add(*rv.OldCostUSD)
			}
			if rv.NewCostUSD != nil {
				res.After.Add(*rv.NewCostUSD)
			}
			switch {
			case rv.OldCostUSD == nil && rv.NewCostUSD != nil:
				res.NewlyPriced++
			case rv.OldCostUSD != nil && rv.NewCostUSD == nil:
				res.NewlyUnpriced++
			}
			if len(res.Changes) < opt.Sample {
				c := *rv
				c.RevisedAt = time.Now().UTC()
				res.Changes = append(res.Changes, c)
			}
			pending = append(pending, *rv)
			if len(pending) >= batchSize {
				if err := flush(); err != nil {
					return res, err
				}
			}
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	return res, flush()
}

// revise returns the revision of rec, nil and true when its cost stays,
// or nil and false when it cannot be re-priced.
func (e *Engine) revise(cat *pricing.Catalog, rec *record.Record, opt RepriceOptions) (*store.CostRevision, bool, error) {
	if rec.Cost == nil { // never reached a provider
		return nil, false, nil
	}
	priceAs := rec.Cost.PriceAs
	if priceAs == "" && opt.PriceAs != nil {
		priceAs = opt.PriceAs(rec.Provider)
	}
	if priceAs == "" && rec.Cost.EntryID != "" && rec.Cost.Commitment == "" {
		// Priced when recorded, by a catalog provider this run cannot
		// name (a provider since renamed or removed): left as it is.
		return nil, false, nil
	}
	cost, err := e.costWith(cat, rec, priceAs)
	if errors.Is(err, pricing.ErrInvalidUsage) || errors.Is(err, pricing.ErrOverflow) {
		return nil, false, nil // as when it was recorded: left as it is
	}
	if err != nil {
		return nil, false, fmt.Errorf("reprice %s: %w", rec.ID, err)
	}
	var newUSD *pricing.Money
	if m, ok := cost.Amount(); ok {
		newUSD = &m
	}
	if sameCost(rec.Cost, &cost) && equalMoney(rec.CostUSD, newUSD) {
		return nil, true, nil
	}
	return &store.CostRevision{
		RequestID: rec.ID, ReceivedAt: rec.ReceivedAt,
		OldCostUSD: rec.CostUSD, NewCostUSD: newUSD, OldCost: rec.Cost, NewCost: &cost,
	}, true, nil
}

// sameCost compares two costs but for the catalog version: a new version
// that prices a call the same is no change.
func sameCost(a, b *pricing.Cost) bool {
	x, y := *a, *b
	x.Version, y.Version = "", ""
	if x.PriceAs == "" {
		y.PriceAs = "" // recorded before costs named it
	}
	return reflect.DeepEqual(x, y)
}

func equalMoney(a, b *pricing.Money) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

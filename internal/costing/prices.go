package costing

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// APIOverlay is the name of the overlay of API-managed entries in catalog
// versions ("2026-11-27.1+api+acme").
const APIOverlay = "api"

// ErrInvalidPrice is wrapped when a price entry would not load into the
// catalog (a malformed entry, a duplicate id, an overlap in time).
var ErrInvalidPrice = errors.New("invalid price entry")

// PriceStore is what managing prices needs of the store.
type PriceStore interface {
	store.PriceEntryStore
	RepriceStore
	CostRevisions(ctx context.Context, q store.RevisionQuery) ([]store.CostRevision, error)
}

// Prices manages the API's price entries: each change is validated by
// building the catalog it makes, stored, then put in force in the engine.
type Prices struct {
	mu     sync.Mutex // serialises changes
	eng    *Engine
	audit  Auditor
	st     PriceStore
	public *pricing.Catalog  // the built-in catalog
	config []pricing.Overlay // the configuration's overlays, below the API's
}

// NewPrices loads the stored entries and returns the manager and the
// catalog in force: public, then the config's overlays, under the API's.
func NewPrices(ctx context.Context, st PriceStore, public *pricing.Catalog, config []pricing.Overlay) (*Prices, *pricing.Catalog, error) {
	p := &Prices{st: st, public: public, config: config}
	stored, err := st.PriceEntries(ctx)
	if err != nil {
		return nil, nil, err
	}
	cat, err := p.build(stored)
	if err != nil {
		return nil, nil, fmt.Errorf("price entries stored through the API: %w", err)
	}
	return p, cat, nil
}

// Attach sets the engine whose catalog changes put in force.
func (p *Prices) Attach(e *Engine) { p.eng = e }

// Auditor records a change in the audit log (*audit.Log is one): action,
// the object's kind and id, and its state before (nil: created) and after
// (nil: deleted). It reports its own failures; a change that is made stays
// made.
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// SetAuditor makes p record price changes and re-pricing runs with a
// (nil: not at all). Call it before p is used.
func (p *Prices) SetAuditor(a Auditor) { p.audit = a }

// record writes an audit entry; the Auditor reports its own failures.
func (p *Prices) record(ctx context.Context, action, kind, id string, before, after any) {
	if p.audit != nil {
		_ = p.audit.Record(ctx, action, kind, id, before, after)
	}
}

// Engine returns the attached engine.
func (p *Prices) Engine() *Engine { return p.eng }

func (p *Prices) build(stored []store.StoredPriceEntry) (*pricing.Catalog, error) {
	ovs := p.config
	if len(stored) > 0 {
		byProvider := map[string]*pricing.Sheet{}
		var names []string
		for _, s := range stored {
			if s.Entry == nil {
				continue
			}
			sh := byProvider[s.Provider]
			if sh == nil {
				sh = &pricing.Sheet{Provider: s.Provider}
				byProvider[s.Provider] = sh
				names = append(names, s.Provider)
			}
			// API entries are namespaced so that no catalog upgrade or
			// config entry can ever collide with them.
			e := *s.Entry
			e.ID = APIOverlay + ":" + e.ID
			sh.Entries = append(sh.Entries, e)
		}
		sort.Strings(names)
		api := pricing.Overlay{Name: APIOverlay}
		for _, n := range names {
			api.Sheets = append(api.Sheets, *byProvider[n])
		}
		ovs = append([]pricing.Overlay{api}, p.config...)
	}
	if len(ovs) == 0 {
		return p.public, nil
	}
	return p.public.WithOverlays(ovs...)
}

// Entries returns the API-managed entries in force.
func (p *Prices) Entries(ctx context.Context) ([]store.StoredPriceEntry, error) {
	return p.st.PriceEntries(ctx)
}

// History returns every version of an API-managed entry.
func (p *Prices) History(ctx context.Context, id string) ([]store.StoredPriceEntry, error) {
	return p.st.PriceEntryHistory(ctx, id)
}

// Put adds or replaces an API-managed entry and puts it in force.
func (p *Prices) Put(ctx context.Context, provider string, e pricing.Entry, by string) (store.StoredPriceEntry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	stored, err := p.st.PriceEntries(ctx)
	if err != nil {
		return store.StoredPriceEntry{}, err
	}
	next := store.StoredPriceEntry{ID: e.ID, Provider: provider, Entry: &e, ChangedBy: by}
	var before any // untyped nil: created
	replaced := false
	for i := range stored {
		if stored[i].ID == e.ID {
			before = stored[i]
			stored[i], replaced = next, true
		}
	}
	if !replaced {
		stored = append(stored, next)
	}
	cat, err := p.build(stored)
	if err != nil {
		return store.StoredPriceEntry{}, fmt.Errorf("%w: %w", ErrInvalidPrice, err)
	}
	out, err := p.st.PutPriceEntry(ctx, next)
	if err != nil {
		return out, err
	}
	p.eng.SetCatalog(cat)
	p.record(ctx, "price_entry.put", "price_entry", e.ID, before, out)
	return out, nil
}

// Delete removes an API-managed entry from force.
func (p *Prices) Delete(ctx context.Context, id, by string) (store.StoredPriceEntry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	stored, err := p.st.PriceEntries(ctx)
	if err != nil {
		return store.StoredPriceEntry{}, err
	}
	var before any = store.StoredPriceEntry{ID: id}
	kept := stored[:0]
	for _, s := range stored {
		if s.ID != id {
			kept = append(kept, s)
		} else {
			before = s
		}
	}
	cat, err := p.build(kept)
	if err != nil {
		return store.StoredPriceEntry{}, fmt.Errorf("%w: %w", ErrInvalidPrice, err)
	}
	out, err := p.st.DeletePriceEntry(ctx, id, by)
	if err != nil {
		return out, err
	}
	p.eng.SetCatalog(cat)
	p.record(ctx, "price_entry.delete", "price_entry", id, before, nil)
	return out, nil
}

// Reprice re-prices stored calls with the catalog in force. Price
// changes through the API wait for it, so that one run uses one catalog.
// A run that stores revisions, or completes, is audited (dry runs are
// not) with its summary.
func (p *Prices) Reprice(ctx context.Context, opt RepriceOptions) (RepriceResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	res, err := p.eng.Reprice(ctx, p.st, opt)
	if !opt.DryRun && res.RunID != "" && (err == nil || res.Stored > 0) {
		sum := RepriceSummary{
			From: opt.From, To: opt.To, Provider: opt.Provider, Model: opt.Model, Reason: opt.Reason,
			Catalog: res.Catalog, Scanned: res.Scanned, Changed: res.Changed, Stored: res.Stored,
			Unchanged: res.Unchanged, Skipped: res.Skipped, Before: res.Before, After: res.After,
			NewlyPriced: res.NewlyPriced, NewlyUnpriced: res.NewlyUnpriced,
		}
		if err != nil {
			sum.Error = err.Error()
		}
		p.record(ctx, "reprice.run", "reprice", res.RunID, nil, sum)
	}
	return res, err
}

// RepriceSummary is what the audit log keeps of a re-pricing run: its
// options and totals; the revisions themselves are in the cost revisions.
type RepriceSummary struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Provider string    `json:"provider,omitempty"`
	Model    string    `json:"model,omitempty"`
	Reason   string    `json:"reason"`
	Catalog  string    `json:"catalog_version"`
	Scanned  int       `json:"scanned"`
	Changed  int       `json:"changed"`
	Stored   int       `json:"stored"`
	// Unchanged and Skipped are as in RepriceResult.
	Unchanged     int          `json:"unchanged"`
	Skipped       int          `json:"skipped"`
	Before        store.Amount `json:"before_usd"`
	After         store.Amount `json:"after_usd"`
	NewlyPriced   int          `json:"newly_priced"`
	NewlyUnpriced int          `json:"newly_unpriced"`
	// Error is why a run stopped after storing some revisions.
	Error string `json:"error,omitempty"`
}

// Revisions lists cost revisions.
func (p *Prices) Revisions(ctx context.Context, q store.RevisionQuery) ([]store.CostRevision, error) {
	return p.st.CostRevisions(ctx, q)
}

// Package costing puts a price on recorded calls: the gateway's pricer (the
// price catalog in force, swapped atomically when prices change through the
// API, and committed capacity), re-pricing stored calls with an audit trail,
// and amortising commitments over the calls that used them. It imports
// pricing, record and store; the app wires it.
package costing

import (
	"log/slog"
	"sync/atomic"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
)

// Engine prices finished calls. It is safe for concurrent use; SetCatalog
// may be called while calls are priced.
type Engine struct {
	cat         atomic.Pointer[pricing.Catalog]
	commitments []pricing.Commitment
	entryIDs    []string // "commitment/NAME", made once
	log         *slog.Logger
}

// NewEngine returns an engine pricing with cat; calls covered by one of
// commitments (validated by the caller) cost nothing on demand.
func NewEngine(cat *pricing.Catalog, commitments []pricing.Commitment, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{commitments: commitments, log: log}
	for _, c := range commitments {
		e.entryIDs = append(e.entryIDs, "commitment/"+c.Name)
	}
	e.cat.Store(cat)
	return e
}

// Catalog returns the catalog in force.
func (e *Engine) Catalog() *pricing.Catalog { return e.cat.Load() }

// SetCatalog replaces the catalog for the calls priced from now on.
func (e *Engine) SetCatalog(c *pricing.Catalog) { e.cat.Store(c) }

// Commitments returns the commitments the engine knows.
func (e *Engine) Commitments() []pricing.Commitment { return e.commitments }

// Price sets rec.Cost and, when every unit had a price, rec.CostUSD.
// priceAs is the catalog provider of the call's provider. The gateway calls
// Cost instead and keeps the cost in its own per-call storage.
func (e *Engine) Price(rec *record.Record, priceAs string) {
	cost, err := e.Cost(rec, priceAs)
	if err != nil {
		e.log.Warn("price call", "id", rec.ID, "provider", priceAs, "model", rec.Model, "err", err)
		return
	}
	rec.Cost = &cost
	rec.CostUSD = nil
	if m, ok := cost.Amount(); ok {
		rec.CostUSD = &m
	}
}

// Cost prices rec with the catalog in force. A call covered by a
// commitment costs 0 on demand, with the commitment named; otherwise the
// model the provider reported is priced first, then the model as sent.
func (e *Engine) Cost(rec *record.Record, priceAs string) (pricing.Cost, error) {
	return e.costWith(e.cat.Load(), rec, priceAs)
}

func (e *Engine) costWith(cat *pricing.Catalog, rec *record.Record, priceAs string) (pricing.Cost, error) {
	for i := range e.commitments {
		c := &e.commitments[i]
		if c.Covers(rec.Provider, rec.Model, rec.ReceivedAt) {
			return pricing.Cost{
				PriceAs: priceAs, EntryID: e.entryIDs[i], Version: cat.Version(),
				Multiplier: 1_000_000, Commitment: c.Name, Estimated: rec.Usage.Estimated,
			}, nil
		}
	}
	q := pricing.Query{Provider: priceAs, Model: rec.ResponseModel, SentModel: rec.Model, At: rec.ReceivedAt, Usage: rec.Usage, ServiceTier: rec.ServiceTier}
	if rec.ServiceTier == "batch" {
		q.Batch, q.ServiceTier = true, ""
	}
	if q.Model == "" {
		q.Model = rec.Model
	}
	cost, err := cat.Price(q)
	if err == nil && cost.EntryID == "" && q.Model != rec.Model {
		q.Model = rec.Model
		cost, err = cat.Price(q)
	}
	return cost, err
}

package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/reconcile"
	"github.com/weirhq/weir/internal/store"
)

// Reconciler compares a provider's usage or billing export with the costs
// Weir recorded for the calls priced as that provider.
type Reconciler struct {
	Cost      store.CostReader
	Catalog   func() *pricing.Catalog
	Providers []config.Provider
}

// reconcileChunk is the span of one store query: 7 days by day and model
// stays far below store.MaxLimit rows for any realistic model count.
const reconcileChunk = 7 * 24 * time.Hour

// Reconcile parses the export of vendor (openai, anthropic) and compares it
// per UTC day and model with Weir's totals of the configured providers
// priced as vendor. Models are matched through the price catalog (a bill's
// dated snapshot and Weir's alias are the same model when one entry prices
// both), else without their date suffix. from and to bound the days
// compared (to exclusive; zero: the days the export covers; times are
// taken to their UTC day); tolerancePct is the verdict's tolerance in
// percent (negative: the default 1%).
func (r Reconciler) Reconcile(ctx context.Context, vendor string, export io.Reader, from, to time.Time, tolerancePct float64) (reconcile.Report, error) {
	vendor = strings.ToLower(strings.TrimSpace(vendor))
	if !to.IsZero() && !to.Equal(dayStart(to)) {
		to = dayStart(to).AddDate(0, 0, 1) // a partial last day counts whole
	}
	from = dayStart(from)
	bill, err := reconcile.Parse(vendor, export)
	if err != nil {
		return reconcile.Report{}, fmt.Errorf("%w: %w", store.ErrInvalidQuery, err)
	}
	var names []string
	for _, p := range r.Providers {
		if priceAs(p) == vendor {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return reconcile.Report{}, fmt.Errorf("%w: no configured provider is priced as %s", store.ErrInvalidQuery, vendor)
	}
	var billFrom, billTo time.Time
	for _, l := range bill.Lines {
		if billFrom.IsZero() || l.Day.Before(billFrom) {
			billFrom = l.Day
		}
		if end := l.Day.AddDate(0, 0, 1); end.After(billTo) {
			billTo = end
		}
	}
	if from.IsZero() {
		from = billFrom
	}
	if to.IsZero() {
		to = billTo
	}
	if from.IsZero() || !to.After(from) {
		return reconcile.Report{}, fmt.Errorf("%w: the export covers no day to compare", store.ErrInvalidQuery)
	}
	// Only the bill's days in the range.
	kept := bill.Lines[:0:0]
	for _, l := range bill.Lines {
		if !l.Day.Before(from) && l.Day.Before(to) {
			kept = append(kept, l)
		}
	}
	bill.Lines = kept

	var weir []reconcile.WeirLine
	for start := from; start.Before(to); start = start.Add(reconcileChunk) {
		end := start.Add(reconcileChunk)
		if end.After(to) {
			end = to
		}
		for _, name := range names {
			rows, err := r.Cost.CostTotals(ctx, store.CostQuery{From: start, To: end, Provider: name, GroupBy: store.GroupDay, ThenBy: store.GroupModel, Limit: store.MaxLimit})
			if err != nil {
				return reconcile.Report{}, err
			}
			if len(rows) == store.MaxLimit {
				return reconcile.Report{}, fmt.Errorf("%w: more than %d models a week for %s", store.ErrInvalidQuery, store.MaxLimit/7, name)
			}
			for _, row := range rows {
				day, err := time.Parse(time.DateOnly, row.Key)
				if err != nil {
					return reconcile.Report{}, fmt.Errorf("reconcile: day %q: %w", row.Key, err)
				}
				weir = append(weir, reconcile.WeirLine{
					Day: day, Model: row.Key2, Calls: row.Calls, Unpriced: row.UnpricedCalls,
					CostUSD: row.CostUSD,
					Usage:   reconcile.Tokens{Input: row.InputTokens, Output: row.OutputTokens},
				})
			}
		}
	}
	cat := r.Catalog()
	rep := reconcile.Compare(bill, weir, reconcile.Options{Normalize: catalogModel(cat, vendor, to.Add(-time.Second))})
	if tolerancePct >= 0 {
		rep.TolerancePct, rep.Within = tolerancePct, rep.WithinTolerance(tolerancePct)
	}
	return rep, nil
}

// dayStart is the UTC midnight starting t's day (zero stays zero).
func dayStart(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(24 * time.Hour)
}

// catalogModel names a model by the catalog entry that prices it at t (its
// id without the provider and the "@date" of a price change), else by the
// model without a date suffix.
func catalogModel(cat *pricing.Catalog, vendor string, t time.Time) func(string) string {
	return func(m string) string {
		c, err := cat.Price(pricing.Query{Provider: vendor, Model: m, At: t})
		if err != nil || c.EntryID == "" || c.Commitment != "" {
			return reconcile.StripDateSuffix(m)
		}
		id := c.EntryID
		if i := strings.IndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
		}
		if i := strings.IndexByte(id, '@'); i >= 0 {
			id = id[:i]
		}
		return id
	}
}

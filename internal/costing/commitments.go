package costing

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// maxPeriods bounds the commitment periods one report may span.
const maxPeriods = 5000

// AmortiseQuery selects the range and grouping of a commitment report.
type AmortiseQuery struct {
	// From (inclusive) and To (exclusive) bound the calls; both required.
	From, To time.Time
	// GroupBy splits each commitment's allocation: a store.Group constant.
	GroupBy string
}

// CommitmentReport is what committed capacity cost over a range, and how
// it splits over the calls that used it.
type CommitmentReport struct {
	From        time.Time       `json:"from"`
	To          time.Time       `json:"to"`
	GroupBy     string          `json:"group_by"`
	Commitments []CommitmentUse `json:"commitments"`
	// FeeUSD sums the fees of every commitment period overlapping the
	// range; AllocatedUSD the shares of the calls in the range.
	FeeUSD       store.Amount `json:"fee_usd"`
	AllocatedUSD store.Amount `json:"allocated_usd"`
}

// CommitmentUse is one commitment over the range.
type CommitmentUse struct {
	pricing.Commitment
	// Periods overlapping the range, and the sum of their fees (a period
	// cut by the range counts whole: its fee is due whatever the range).
	Periods int          `json:"periods"`
	FeeUSD  store.Amount `json:"fee_usd"`
	// Calls, tokens and allocated fees of the calls in the range. Each
	// period's fee is split over that period's calls by their share of its
	// tokens (input + output), rounded down to the femto-dollar.
	Calls        int64        `json:"calls"`
	InputTokens  int64        `json:"input_tokens"`
	OutputTokens int64        `json:"output_tokens"`
	AllocatedUSD store.Amount `json:"allocated_usd"`
	// UnallocatedUSD is the fee not allocated to calls in the range: idle
	// periods, calls of cut periods outside the range, and rounding.
	UnallocatedUSD store.Amount `json:"unallocated_usd"`
	// IdlePeriods had no calls at all.
	IdlePeriods int              `json:"idle_periods"`
	Groups      []AmortisedGroup `json:"groups"`
}

// AmortisedGroup is one group's share of a commitment.
type AmortisedGroup struct {
	Key          string       `json:"key"`
	Calls        int64        `json:"calls"`
	InputTokens  int64        `json:"input_tokens"`
	OutputTokens int64        `json:"output_tokens"`
	AllocatedUSD store.Amount `json:"allocated_usd"`
}

// Commitments reports committed capacity from the store's cost totals.
type Commitments struct {
	List []pricing.Commitment
	Cost store.CostReader
}

// Amortise reports each commitment over q's range.
func (c Commitments) Amortise(ctx context.Context, q AmortiseQuery) (CommitmentReport, error) {
	rep := CommitmentReport{From: q.From.UTC(), To: q.To.UTC(), GroupBy: q.GroupBy, Commitments: []CommitmentUse{}}
	if q.From.IsZero() || q.To.IsZero() || !q.To.After(q.From) {
		return rep, fmt.Errorf("commitments: %w: from and to are required, to after from", store.ErrInvalidQuery)
	}
	if _, err := (store.CostQuery{GroupBy: q.GroupBy}).Plan(); err != nil {
		return rep, fmt.Errorf("commitments: %w", err)
	}
	for _, cm := range c.List {
		use, err := c.amortise(ctx, cm, q)
		if err != nil {
			return rep, err
		}
		rep.FeeUSD.AddAmount(use.FeeUSD)
		rep.AllocatedUSD.AddAmount(use.AllocatedUSD)
		rep.Commitments = append(rep.Commitments, use)
	}
	return rep, nil
}

func (c Commitments) amortise(ctx context.Context, cm pricing.Commitment, q AmortiseQuery) (CommitmentUse, error) {
	use := CommitmentUse{Commitment: cm, Groups: []AmortisedGroup{}}
	start := maxTime(q.From, cm.From.Time)
	end := q.To
	if cm.Until != nil && cm.Until.Before(end) {
		end = cm.Until.Time
	}
	if !end.After(start) {
		return use, nil
	}
	// The fee in femto-dollars: a Decimal counts nano-dollars.
	fee := new(big.Int).Mul(big.NewInt(int64(cm.Fee)), big.NewInt(int64(pricing.Nano)))
	groups := map[string]*AmortisedGroup{}
	var order []string
	for p, next := cm.PeriodStart(start); p.Before(end); p, next = cm.PeriodStart(next) {
		use.Periods++
		if use.Periods > maxPeriods {
			return use, fmt.Errorf("commitments: %w: %s spans more than %d %s periods", store.ErrInvalidQuery, cm.Name, maxPeriods, cm.Period)
		}
		addBig(&use.FeeUSD, fee)
		// The period's calls, within the commitment's own dates.
		pFrom, pTo := maxTime(p, cm.From.Time), next
		if cm.Until != nil && cm.Until.Before(pTo) {
			pTo = cm.Until.Time
		}
		all, err := c.rows(ctx, cm, pFrom, pTo, store.GroupNone)
		if err != nil {
			return use, err
		}
		var total int64
		for _, r := range all {
			total += r.InputTokens + r.OutputTokens
		}
		if len(all) == 0 {
			use.IdlePeriods++
			continue
		}
		// The calls of the period within the range, by group.
		in, err := c.rows(ctx, cm, maxTime(pFrom, q.From), minTime(pTo, q.To), q.GroupBy)
		if err != nil {
			return use, err
		}
		for _, r := range in {
			g := groups[r.Key]
			if g == nil {
				g = &AmortisedGroup{Key: r.Key}
				groups[r.Key] = g
				order = append(order, r.Key)
			}
			g.Calls += r.Calls
			g.InputTokens += r.InputTokens
			g.OutputTokens += r.OutputTokens
			use.Calls += r.Calls
			use.InputTokens += r.InputTokens
			use.OutputTokens += r.OutputTokens
			if total == 0 {
				continue // calls without tokens: nothing to share by
			}
			share := new(big.Int).Mul(fee, big.NewInt(r.InputTokens+r.OutputTokens))
			share.Quo(share, big.NewInt(total))
			addBig(&g.AllocatedUSD, share)
			addBig(&use.AllocatedUSD, share)
		}
	}
	use.UnallocatedUSD = use.FeeUSD
	use.UnallocatedUSD.SubAmount(use.AllocatedUSD)
	for _, k := range order {
		use.Groups = append(use.Groups, *groups[k])
	}
	slices.SortStableFunc(use.Groups, func(a, b AmortisedGroup) int {
		if c := b.AllocatedUSD.Cmp(a.AllocatedUSD); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return use, nil
}

// rows returns the cost totals of cm's calls in [from, to) grouped by
// groupBy, keeping only cm's models when it names some.
func (c Commitments) rows(ctx context.Context, cm pricing.Commitment, from, to time.Time, groupBy string) ([]store.CostTotal, error) {
	if !to.After(from) {
		return nil, nil
	}
	q := store.CostQuery{From: from, To: to, Provider: cm.Provider, GroupBy: groupBy, Limit: store.MaxLimit}
	modelKey := func(t store.CostTotal) string { return "" }
	if len(cm.Models) > 0 {
		switch groupBy {
		case store.GroupModel:
			modelKey = func(t store.CostTotal) string { return t.Key }
		case store.GroupNone:
			q.GroupBy = store.GroupModel
			modelKey = func(t store.CostTotal) string { return t.Key }
		default:
			q.ThenBy = store.GroupModel
			modelKey = func(t store.CostTotal) string { return t.Key2 }
		}
	}
	rows, err := c.Cost.CostTotals(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("commitment %s: %w", cm.Name, err)
	}
	if len(rows) == store.MaxLimit {
		return nil, fmt.Errorf("commitment %s: %w: more than %d groups", cm.Name, store.ErrInvalidQuery, store.MaxLimit)
	}
	if len(cm.Models) == 0 {
		return rows, nil
	}
	merged := map[string]*store.CostTotal{}
	var out []store.CostTotal
	var keys []string
	for _, r := range rows {
		if !slices.ContainsFunc(cm.Models, func(m string) bool { return strings.EqualFold(m, modelKey(r)) }) {
			continue
		}
		k := r.Key
		if groupBy == store.GroupNone {
			k = ""
		}
		m := merged[k]
		if m == nil {
			m = &store.CostTotal{Key: k}
			merged[k] = m
			keys = append(keys, k)
		}
		m.Calls += r.Calls
		m.InputTokens += r.InputTokens
		m.OutputTokens += r.OutputTokens
	}
	for _, k := range keys {
		out = append(out, *merged[k])
	}
	return out, nil
}

// addBig adds n femto-dollars to a.
func addBig(a *store.Amount, n *big.Int) {
	d, f := new(big.Int).QuoRem(n, big.NewInt(int64(pricing.USD)), new(big.Int))
	a.AddDollars(d.Int64())
	a.Add(pricing.Money(f.Int64()))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/weirhq/weir/internal/evalstats"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// Results returns an experiment's results, by item and variant.
func (s *Service) Results(ctx context.Context, name string) ([]Result, error) {
	if _, err := s.opt.Store.Experiment(ctx, name); err != nil {
		return nil, err
	}
	rs, err := s.opt.Store.ExperimentResults(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(rs))
	for _, r := range rs {
		var res Result
		if err := json.Unmarshal(r.Doc, &res); err != nil {
			return nil, fmt.Errorf("experiment %s result %s/%s: %w", name, r.Item, r.Variant, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// ResultCall returns the call an experiment item's variant made (its id),
// store.ErrNotFound when that run has no call (yet): how people reviewing
// an experiment output see its input and output.
func (s *Service) ResultCall(ctx context.Context, name, item, variant string) (string, error) {
	rs, err := s.Results(ctx, name)
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if r.Item == item && r.Variant == variant && r.CallID != "" {
			return r.CallID, nil
		}
	}
	return "", fmt.Errorf("experiment %s: %s/%s: %w", name, item, variant, store.ErrNotFound)
}

// CriterionStats is one variant's scores under one criterion.
type CriterionStats struct {
	Criterion string `json:"criterion"`
	Version   int    `json:"criterion_version"`
	// Scored counts the results with a score; Errors those whose
	// evaluator gave none.
	Scored int `json:"scored"`
	Errors int `json:"errors"`
	// Mean is the mean score (pass = 1, fail = 0 for boolean criteria),
	// nil for categorical criteria.
	Mean *float64 `json:"mean"`
	// Judged counts the scores with a pass verdict; PassRate is
	// Passes/Judged with its Wilson interval.
	Judged   int                 `json:"judged"`
	Passes   int                 `json:"passes"`
	PassRate *evalstats.Interval `json:"pass_rate,omitempty"`
}

// VariantStats is one variant's summary.
type VariantStats struct {
	Variant string `json:"variant"`
	Results int    `json:"results"`
	Failed  int    `json:"failed"`
	// Priced counts the results with a known cost.
	Priced       int              `json:"priced"`
	CostTotalUSD pricing.Money    `json:"cost_total_usd"`
	CostMeanUSD  *float64         `json:"cost_mean_usd"`
	LatencyP50Ms *float64         `json:"latency_p50_ms"`
	LatencyP95Ms *float64         `json:"latency_p95_ms"`
	Criteria     []CriterionStats `json:"criteria"`
}

// Difference is B against A on one criterion, over the items both scored.
type Difference struct {
	Criterion string                `json:"criterion"`
	Paired    *evalstats.Comparison `json:"paired,omitempty"`
	// Undefined says why Paired is missing (no item scored by both).
	Undefined string `json:"undefined,omitempty"`
	// Better lists the items that failed with A and pass with B, Worse
	// those that passed with A and fail with B.
	Better []string `json:"better"`
	Worse  []string `json:"worse"`
}

// Comparison compares the variants of an experiment.
type Comparison struct {
	Experiment string         `json:"experiment"`
	Status     string         `json:"status"`
	Progress   Progress       `json:"progress"`
	Variants   []VariantStats `json:"variants"`
	// A and B are the compared variants (B - A), Differences one per
	// criterion; empty when the experiment has one variant.
	A           string       `json:"a,omitempty"`
	B           string       `json:"b,omitempty"`
	Differences []Difference `json:"differences,omitempty"`
}

// numeric is a score as a number for means and paired differences: a
// boolean pass is 1, a fail 0; categorical scores have none.
func (rs ResultScore) numeric() (float64, bool) {
	switch {
	case rs.Value == nil:
		return 0, false
	case rs.Value.Bool != nil:
		if *rs.Value.Bool {
			return 1, true
		}
		return 0, true
	case rs.Value.Number != nil:
		return *rs.Value.Number, true
	}
	return 0, false
}

func percentile(sorted []float64, p float64) *float64 {
	if len(sorted) == 0 {
		return nil
	}
	// Nearest rank.
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	v := sorted[i]
	return &v
}

// Compare summarises every variant and compares b with a (both empty: the
// first two variants). Seeded bootstraps make it reproducible.
func (s *Service) Compare(ctx context.Context, name, a, b string) (Comparison, error) {
	e, err := s.Get(ctx, name)
	if err != nil {
		return Comparison{}, err
	}
	results, err := s.Results(ctx, name)
	if err != nil {
		return Comparison{}, err
	}
	return compare(e, results, a, b)
}

func compare(e Experiment, results []Result, a, b string) (Comparison, error) {
	c := Comparison{Experiment: e.Name, Status: e.Status, Progress: e.Progress}
	names := make([]string, 0, len(e.Spec.Variants))
	for _, v := range e.Spec.Variants {
		names = append(names, v.Name)
	}
	if a == "" && b == "" && len(names) >= 2 {
		a, b = names[0], names[1]
	}
	if (a == "") != (b == "") || a != "" && (!slices.Contains(names, a) || !slices.Contains(names, b)) || a != "" && a == b {
		return c, invalid("compare two different variants of %s (%v): a=%q b=%q", e.Name, names, a, b)
	}
	byVariant := map[string][]Result{}
	for _, r := range results {
		byVariant[r.Variant] = append(byVariant[r.Variant], r)
	}
	for _, v := range names {
		c.Variants = append(c.Variants, variantStats(e.Spec, v, byVariant[v]))
	}
	if a == "" {
		return c, nil
	}
	c.A, c.B = a, b
	scores := func(v string) map[string]map[string]ResultScore { // criterion -> item -> score
		m := map[string]map[string]ResultScore{}
		for _, r := range byVariant[v] {
			if r.Error != "" {
				continue
			}
			for _, rs := range r.Scores {
				if rs.Value == nil {
					continue
				}
				if m[rs.Criterion] == nil {
					m[rs.Criterion] = map[string]ResultScore{}
				}
				m[rs.Criterion][r.Item] = rs
			}
		}
		return m
	}
	sa, sb := scores(a), scores(b)
	for _, ev := range e.Spec.Evaluators {
		d := Difference{Criterion: ev.Criterion, Better: []string{}, Worse: []string{}}
		items := make([]string, 0, len(sa[ev.Criterion]))
		for item := range sa[ev.Criterion] {
			if _, ok := sb[ev.Criterion][item]; ok {
				items = append(items, item)
			}
		}
		sort.Strings(items)
		var xa, xb []float64
		for _, item := range items {
			ra, rb := sa[ev.Criterion][item], sb[ev.Criterion][item]
			if ra.Pass != nil && rb.Pass != nil && *ra.Pass != *rb.Pass {
				if *rb.Pass {
					d.Better = append(d.Better, item)
				} else {
					d.Worse = append(d.Worse, item)
				}
			}
			na, oka := ra.numeric()
			nb, okb := rb.numeric()
			if oka && okb {
				xa, xb = append(xa, na), append(xb, nb)
			}
		}
		cmp, err := evalstats.PairedBootstrap(xa, xb, evalstats.BootstrapOptions{Seed: 1})
		switch {
		case err == nil:
			d.Paired = &cmp
		case errors.Is(err, evalstats.ErrNoData):
			d.Undefined = "no item has a numeric score under both variants"
		default:
			return c, err
		}
		c.Differences = append(c.Differences, d)
	}
	return c, nil
}

func variantStats(sp Spec, name string, rs []Result) VariantStats {
	vs := VariantStats{Variant: name, Results: len(rs), Criteria: []CriterionStats{}}
	var lat []float64
	for _, r := range rs {
		if r.Error != "" {
			vs.Failed++
			continue
		}
		lat = append(lat, r.LatencyMs)
		if r.CostUSD != nil {
			vs.Priced++
			vs.CostTotalUSD += *r.CostUSD
		}
	}
	if vs.Priced > 0 {
		m := vs.CostTotalUSD.Dollars() / float64(vs.Priced)
		vs.CostMeanUSD = &m
	}
	slices.Sort(lat)
	vs.LatencyP50Ms, vs.LatencyP95Ms = percentile(lat, 0.5), percentile(lat, 0.95)
	for _, ev := range sp.Evaluators {
		cs := CriterionStats{Criterion: ev.Criterion, Version: ev.CriterionVersion}
		var sum float64
		var nums int
		for _, r := range rs {
			if r.Error != "" {
				continue
			}
			for _, sc := range r.Scores {
				if sc.Criterion != ev.Criterion {
					continue
				}
				if sc.Value == nil {
					cs.Errors++
					continue
				}
				cs.Scored++
				if x, ok := sc.numeric(); ok {
					sum += x
					nums++
				}
				if sc.Pass != nil {
					cs.Judged++
					if *sc.Pass {
						cs.Passes++
					}
				}
			}
		}
		if nums > 0 {
			m := sum / float64(nums)
			cs.Mean = &m
		}
		if cs.Judged > 0 {
			if w, err := evalstats.Wilson(cs.Passes, cs.Judged, 0); err == nil {
				cs.PassRate = &w
			}
		}
		vs.Criteria = append(vs.Criteria, cs)
	}
	return vs
}

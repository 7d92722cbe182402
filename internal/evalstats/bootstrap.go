package evalstats

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultIterations is the number of bootstrap resamples used when a caller
// passes 0.
const DefaultIterations = 2000

// BootstrapOptions configure a bootstrap. The zero value means 2000
// resamples, 95% confidence and seed 0.
type BootstrapOptions struct {
	Iterations int     // resamples; 0 means DefaultIterations
	Confidence float64 // two-sided level in (0, 1); 0 means DefaultConfidence
	// Seed seeds a math/rand/v2 PCG source: the same data, options and seed
	// give the same interval.
	Seed uint64
}

func (o BootstrapOptions) normalize() (BootstrapOptions, error) {
	if o.Iterations < 0 {
		return o, fmt.Errorf("bootstrap: %d iterations", o.Iterations)
	}
	if o.Iterations == 0 {
		o.Iterations = DefaultIterations
	}
	c, err := confidenceOrDefault(o.Confidence)
	if err != nil {
		return o, fmt.Errorf("bootstrap: %w", err)
	}
	o.Confidence = c
	return o, nil
}

func (o BootstrapOptions) rand() *rand.Rand {
	return rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
}

// BootstrapInterval is a percentile bootstrap interval around the statistic
// computed on all items.
type BootstrapInterval struct {
	Interval
	// Resamples counts the resamples whose statistic was defined; the others
	// (a resample where kappa or alpha is undefined) are left out.
	Resamples int `json:"resamples"`
}

// Bootstrap is a percentile bootstrap over items: it draws opt.Iterations
// resamples of items indexes 0..items-1 with replacement, calls stat on each
// (and once on all items, in order, for the estimate), and returns the
// (1-c)/2 and (1+c)/2 quantiles of the resampled statistics (linear
// interpolation between order statistics). stat must not keep the slice it
// is given. A resample whose stat error wraps ErrUndefined is left out; any
// other error stops the bootstrap. If fewer than half the resamples are
// defined the interval is not reported and the error wraps ErrUndefined.
func Bootstrap(items int, stat func(sample []int) (float64, error), opt BootstrapOptions) (BootstrapInterval, error) {
	opt, err := opt.normalize()
	if err != nil {
		return BootstrapInterval{}, err
	}
	if items <= 0 {
		return BootstrapInterval{}, fmt.Errorf("bootstrap: no items: %w", ErrNoData)
	}
	sample := make([]int, items)
	for i := range sample {
		sample[i] = i
	}
	est, err := stat(sample)
	if err != nil {
		return BootstrapInterval{}, fmt.Errorf("bootstrap: statistic on all items: %w", err)
	}
	r := opt.rand()
	stats := make([]float64, 0, opt.Iterations)
	for range opt.Iterations {
		for i := range sample {
			sample[i] = r.IntN(items)
		}
		s, err := stat(sample)
		if errors.Is(err, ErrUndefined) {
			continue
		}
		if err != nil {
			return BootstrapInterval{}, fmt.Errorf("bootstrap: %w", err)
		}
		stats = append(stats, s)
	}
	out := BootstrapInterval{
		Interval:  Interval{Estimate: est, Lower: math.NaN(), Upper: math.NaN(), Confidence: opt.Confidence},
		Resamples: len(stats),
	}
	if 2*len(stats) < opt.Iterations {
		return out, fmt.Errorf("bootstrap: only %d of %d resamples defined: %w", len(stats), opt.Iterations, ErrUndefined)
	}
	slices.Sort(stats)
	tail := (1 - opt.Confidence) / 2
	out.Lower = quantile(stats, tail)
	out.Upper = quantile(stats, 1-tail)
	return out, nil
}

// quantile of sorted xs at p, interpolating linearly between order
// statistics (Hyndman & Fan type 7, R's default).
func quantile(xs []float64, p float64) float64 {
	h := p * float64(len(xs)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-lo)*(xs[i+1]-xs[i])
}

// KappaInterval is Kappa with a percentile bootstrap interval over items.
func KappaInterval(a, b []int, categories int, w Weighting, opt BootstrapOptions) (Agreement, BootstrapInterval, error) {
	ag, err := Kappa(a, b, categories, w)
	if err != nil {
		return ag, BootstrapInterval{}, err
	}
	m := newTable(categories)
	stat := func(sample []int) (float64, error) {
		for _, row := range m {
			clear(row)
		}
		for _, i := range sample {
			m[a[i]][b[i]]++
		}
		r, err := KappaFromConfusion(m, w)
		return r.Kappa, err
	}
	ci, err := Bootstrap(len(a), stat, opt)
	if err != nil {
		return ag, ci, fmt.Errorf("kappa interval: %w", err)
	}
	return ag, ci, nil
}

// AlphaInterval is Alpha with a percentile bootstrap interval that resamples
// units (those with two or more ratings) with replacement.
func AlphaInterval(units [][]float64, m Metric, opt BootstrapOptions) (Reliability, BootstrapInterval, error) {
	d, err := prepareAlpha(units, m)
	if err != nil {
		return Reliability{}, BootstrapInterval{}, err
	}
	rel, err := d.compute(nil, true)
	if err != nil {
		return rel, BootstrapInterval{}, err
	}
	stat := func(sample []int) (float64, error) {
		r, err := d.compute(sample, false)
		return r.Alpha, err
	}
	ci, err := Bootstrap(len(d.units), stat, opt)
	if err != nil {
		return rel, ci, fmt.Errorf("alpha interval: %w", err)
	}
	return rel, ci, nil
}

// Comparison is the paired comparison of two variants scored on the same
// items.
type Comparison struct {
	Items int     `json:"items"`
	MeanA float64 `json:"mean_a"`
	MeanB float64 `json:"mean_b"`
	// Difference is MeanB - MeanA with its percentile bootstrap interval.
	Difference Interval `json:"difference"`
	// P is a two-sided bootstrap share: twice the smaller of the shares of
	// resampled differences at or below zero and at or above zero, capped
	// at 1. Small means the sign of the difference is stable; 0 means no
	// resample crossed zero (P < 1/Iterations).
	P float64 `json:"p"`
}

// PairedBootstrap compares two variants' scores on the same items (a[i] and
// b[i] belong to item i): it resamples items with replacement, keeping each
// item's pair together, and reports the mean difference B - A with its
// percentile interval and the two-sided share P.
func PairedBootstrap(a, b []float64, opt BootstrapOptions) (Comparison, error) {
	opt, err := opt.normalize()
	if err != nil {
		return Comparison{}, fmt.Errorf("paired %w", err)
	}
	if len(a) != len(b) {
		return Comparison{}, fmt.Errorf("paired bootstrap: %d scores against %d", len(a), len(b))
	}
	n := len(a)
	if n == 0 {
		return Comparison{}, fmt.Errorf("paired bootstrap: no items: %w", ErrNoData)
	}
	diff := make([]float64, n)
	var sa, sb, sd float64
	for i := range n {
		if math.IsNaN(a[i]) || math.IsInf(a[i], 0) || math.IsNaN(b[i]) || math.IsInf(b[i], 0) {
			return Comparison{}, fmt.Errorf("paired bootstrap: item %d: score not finite", i)
		}
		diff[i] = b[i] - a[i]
		sa += a[i]
		sb += b[i]
		sd += diff[i]
	}
	c := Comparison{Items: n, MeanA: sa / float64(n), MeanB: sb / float64(n)}
	r := opt.rand()
	stats := make([]float64, opt.Iterations)
	var below, above int
	for it := range stats {
		var s float64
		for range n {
			s += diff[r.IntN(n)]
		}
		m := s / float64(n)
		stats[it] = m
		if m <= 0 {
			below++
		}
		if m >= 0 {
			above++
		}
	}
	slices.Sort(stats)
	tail := (1 - opt.Confidence) / 2
	c.Difference = Interval{
		Estimate:   sd / float64(n),
		Lower:      quantile(stats, tail),
		Upper:      quantile(stats, 1-tail),
		Confidence: opt.Confidence,
	}
	c.P = math.Min(1, 2*float64(min(below, above))/float64(opt.Iterations))
	return c, nil
}

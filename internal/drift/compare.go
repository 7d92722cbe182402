package drift

import "github.com/weirhq/weir/internal/drift/stat"

// Sample is one side of a comparison outside the call signals, such as
// a canary's scores: values of a continuous signal, or 0 and 1 of a rate.
type Sample struct {
	Values []float64
	// Rate says the values are hits (1) and misses (0).
	Rate bool
}

// Compare tests recent against baseline with the test and effect rule of
// the signal's kind (Kolmogorov–Smirnov and D for values, Fisher's exact
// test and Cohen's h for rates). It returns the finding, whose PAdjusted
// is its P, and whether it passes the sample and effect rules; the
// caller corrects for its own number of comparisons (Adjust).
func Compare(name string, baseline, recent Sample, cfg Config) (Finding, bool) {
	cfg = cfg.withDefaults()
	s := &signal{name: name, kind: continuous}
	if baseline.Rate {
		s.kind = rate
	}
	pts := func(vs []float64) []point {
		out := make([]point, len(vs))
		for i, v := range vs {
			out[i] = point{i: i, v: v}
		}
		return out
	}
	c := check(s, pts(baseline.Values), pts(recent.Values), cfg)
	c.f.PAdjusted = c.f.P
	if s.kind == continuous && len(baseline.Values) > 0 && len(recent.Values) > 0 {
		c.f.Edges, c.f.Baseline.Histogram, c.f.Recent.Histogram = histograms(baseline.Values, recent.Values, 20)
	}
	ok := c.passes && len(baseline.Values) >= cfg.MinBaseline && len(recent.Values) >= cfg.MinRecent
	return c.f, ok
}

// Adjust is the Benjamini–Hochberg adjustment of ps.
func Adjust(ps []float64) []float64 { return stat.BenjaminiHochberg(ps) }

package stat

import "math"

// FisherExact is the two-sided p-value of Fisher's exact test on the 2×2
// table [x1, n1-x1; x2, n2-x2] (x1 events out of n1 in the baseline, x2
// out of n2 in the recent window): the probability, with the margins
// fixed, of every table no more likely than the observed one (R's
// fisher.test, with its relative tolerance of 1e-7 for ties). Rates with
// few events, such as refusals of 1%, need it: the z-test's normal
// approximation is far too eager on a handful of events. Counts are
// clamped as in TwoProportionZ; an empty window gives 1.
func FisherExact(x1, n1, x2, n2 int) float64 {
	n1, n2 = max(n1, 0), max(n2, 0)
	x1, x2 = min(max(x1, 0), n1), min(max(x2, 0), n2)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	k := x1 + x2 // events in all
	n := n1 + n2
	lo, hi := max(0, k-n2), min(k, n1)
	// log P(X = x) for X ~ Hypergeometric(n, k, n1), X the baseline's events.
	lf := func(m int) float64 { v, _ := math.Lgamma(float64(m) + 1); return v }
	base := lf(k) + lf(n-k) + lf(n1) + lf(n2) - lf(n)
	logp := func(x int) float64 {
		return base - lf(x) - lf(k-x) - lf(n1-x) - lf(n2-k+x)
	}
	obs := logp(x1)
	var p float64
	for x := lo; x <= hi; x++ {
		if l := logp(x); l <= obs+1e-7*math.Abs(obs)+1e-12 {
			p += math.Exp(l)
		}
	}
	return clampP(p)
}

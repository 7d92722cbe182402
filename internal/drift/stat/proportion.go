package stat

import "math"

// ProportionResult is the outcome of a two-proportion z-test.
type ProportionResult struct {
	// P1 and P2 are the observed rates x1/n1 and x2/n2.
	P1, P2 float64
	// Diff is P2 - P1 (recent minus baseline), the effect on the rate's
	// own scale.
	Diff float64
	// CohensH is 2·asin(√P2) - 2·asin(√P1); |h| of 0.2, 0.5, 0.8 are
	// Cohen's (1988) small, medium and large.
	CohensH float64
	// Z is Diff over the pooled standard error.
	Z float64
	// P is the two-sided normal p-value.
	P float64
}

// TwoProportionZ tests whether a rate (errors, refusals, invalid JSON) is
// the same in two windows: x1 events out of n1 in the baseline, x2 out of
// n2 in the recent window. The standard error uses the pooled rate
// p = (x1+x2)/(n1+n2): √(p(1-p)(1/n1 + 1/n2)). Counts are clamped to
// 0 ≤ x ≤ n; an empty window, or a pooled rate of 0 or 1, gives P = 1.
func TwoProportionZ(x1, n1, x2, n2 int) ProportionResult {
	n1, n2 = max(n1, 0), max(n2, 0)
	x1, x2 = min(max(x1, 0), n1), min(max(x2, 0), n2)
	res := ProportionResult{P: 1}
	if n1 == 0 || n2 == 0 {
		return res
	}
	f1, f2 := float64(n1), float64(n2)
	res.P1, res.P2 = float64(x1)/f1, float64(x2)/f2
	res.Diff = res.P2 - res.P1
	res.CohensH = 2*math.Asin(math.Sqrt(res.P2)) - 2*math.Asin(math.Sqrt(res.P1))
	pool := float64(x1+x2) / (f1 + f2)
	se := math.Sqrt(pool * (1 - pool) * (1/f1 + 1/f2))
	if !(se > 0) {
		return res
	}
	res.Z = res.Diff / se
	res.P = twoSidedNormalP(res.Z)
	return res
}

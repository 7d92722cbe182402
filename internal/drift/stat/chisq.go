package stat

import "math"

// ChiSquaredResult is the outcome of a chi-squared test of homogeneity.
type ChiSquaredResult struct {
	// Statistic is Pearson's Σ (O-E)²/E over the used categories.
	Statistic float64
	// DF is the degrees of freedom, (used categories - 1).
	DF int
	// P is the upper tail of the chi-squared distribution with DF degrees of
	// freedom at Statistic.
	P float64
	// CramersV is √(χ²/n) for a k×2 table, in [0, 1]; 0 means the two
	// windows have the same mix of categories.
	CramersV float64
	// MinExpected is the smallest expected count; the chi-squared
	// approximation is usually trusted when it is at least 5.
	MinExpected float64
}

// ChiSquaredHomogeneity tests whether two windows (baseline and recent)
// of a categorical signal have the same distribution over k categories:
// baseline[i] and recent[i] are the counts of category i. The slices are
// read up to the longer one's length, a missing count being 0. Categories
// with no count in either window are dropped (they carry no information and
// would make E = 0). Negative or NaN counts are treated as 0. No Yates
// correction is applied, also for k = 2 (use TwoProportionZ for rates).
// Fewer than two used categories, or an empty window, gives P = 1.
func ChiSquaredHomogeneity(baseline, recent []float64) ChiSquaredResult {
	k := max(len(baseline), len(recent))
	count := func(s []float64, i int) float64 {
		if i >= len(s) || !(s[i] > 0) || math.IsInf(s[i], 1) {
			return 0
		}
		return s[i]
	}
	var n1, n2 float64
	used := 0
	for i := range k {
		a, b := count(baseline, i), count(recent, i)
		n1 += a
		n2 += b
		if a+b > 0 {
			used++
		}
	}
	res := ChiSquaredResult{P: 1}
	n := n1 + n2
	if used < 2 || n1 == 0 || n2 == 0 {
		return res
	}
	res.MinExpected = math.Inf(1)
	for i := range k {
		a, b := count(baseline, i), count(recent, i)
		col := a + b
		if col == 0 {
			continue
		}
		e1, e2 := col*n1/n, col*n2/n
		res.MinExpected = min(res.MinExpected, e1, e2)
		res.Statistic += (a-e1)*(a-e1)/e1 + (b-e2)*(b-e2)/e2
	}
	if math.IsNaN(res.Statistic) { // counts so large that n overflowed
		return ChiSquaredResult{P: 1}
	}
	res.DF = used - 1
	res.P = clampP(ChiSquaredSF(res.Statistic, float64(res.DF)))
	// min(rows, columns) - 1 = 1 for a k×2 table.
	res.CramersV = math.Min(1, math.Sqrt(res.Statistic/n))
	return res
}

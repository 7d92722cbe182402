package stat

import (
	"math"
	"slices"
)

// KSResult is the outcome of a two-sample Kolmogorov–Smirnov test.
type KSResult struct {
	// D is the largest distance between the two empirical distribution
	// functions, in [0, 1]; it is also the effect size.
	D float64
	// P is the two-sided p-value: exact when n·m ≤ ExactKSLimit,
	// otherwise the asymptotic Q_KS(√(n·m/(n+m))·D).
	P float64
	// Exact says whether P was computed exactly.
	Exact bool
	// N and M are the sample sizes after NaN values are dropped.
	N, M int
}

// KolmogorovSmirnov compares two samples of a continuous signal. Ties are
// handled by stepping both empirical distribution functions over all equal
// values at once. For small samples (n·m ≤ ExactKSLimit) the p-value is
// exact under continuous data, by counting the lattice paths that stay
// within D (Hodges 1958); otherwise it is the asymptotic (Kolmogorov
// distribution) one, accurate once n·m/(n+m) is above a few dozen. Both are
// conservative for data with ties. An empty sample gives D = 0, P = 1.
func KolmogorovSmirnov(x, y []float64) KSResult {
	a, b := finite(x), finite(y)
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return KSResult{P: 1, N: n, M: m}
	}
	slices.Sort(a)
	slices.Sort(b)
	var d float64
	i, j := 0, 0
	for i < n && j < m {
		v := min(a[i], b[j])
		for i < n && a[i] == v {
			i++
		}
		for j < m && b[j] == v {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(n)-float64(j)/float64(m)))
	}
	if n*m <= ExactKSLimit {
		return KSResult{D: d, P: ksExactSF(n, m, d), Exact: true, N: n, M: m}
	}
	en := float64(n) * float64(m) / float64(n+m)
	return KSResult{D: d, P: KolmogorovSF(math.Sqrt(en) * d), N: n, M: m}
}

// ExactKSLimit is the largest n·m for which KolmogorovSmirnov computes the
// exact p-value (O(n·m) time and O(m) memory).
const ExactKSLimit = 10000

// ksExactSF returns P(D ≥ d) for two samples of sizes n and m from the same
// continuous distribution. The pooled order is a uniformly random lattice
// path from (0, 0) to (n, m); D ≥ d exactly when the path touches a point
// with |i/n - j/m| ≥ d. The probability of staying inside is propagated
// step by step (each step takes an x with probability (n-i)/(n+m-i-j)),
// which keeps every value in [0, 1] without binomial coefficients.
func ksExactSF(n, m int, d float64) float64 {
	if d <= 0 {
		return 1
	}
	// |i·m - j·n| ≥ d·n·m, with a little slack for d's rounding.
	limit := d*float64(n)*float64(m) - 1e-7
	outside := func(i, j int) bool {
		return math.Abs(float64(i*m-j*n)) >= limit
	}
	// in[j] is the probability of reaching (i, j) without having been
	// outside, for the current row i.
	in := make([]float64, m+1)
	in[0] = 1
	for j := 1; j <= m; j++ {
		if outside(0, j) {
			in[j] = 0
			continue
		}
		in[j] = in[j-1] * float64(m-j+1) / float64(n+m-j+1)
	}
	for i := 1; i <= n; i++ {
		for j := 0; j <= m; j++ {
			// From (i-1, j) by an x step, or from (i, j-1) by a y step.
			p := in[j] * float64(n-i+1) / float64(n+m-i-j+1)
			if j > 0 {
				p += in[j-1] * float64(m-j+1) / float64(n+m-i-j+1)
			}
			if outside(i, j) {
				p = 0
			}
			in[j] = p
		}
	}
	return clampP(1 - in[m])
}

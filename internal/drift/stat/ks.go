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
	// P is the asymptotic two-sided p-value Q_KS(√(n·m/(n+m))·D).
	P float64
	// N and M are the sample sizes after NaN values are dropped.
	N, M int
}

// KolmogorovSmirnov compares two samples of a continuous signal. Ties are
// handled by stepping both empirical distribution functions over all equal
// values at once. The p-value is the asymptotic (Kolmogorov distribution)
// one, which is accurate for n·m/(n+m) above about 4; it is conservative
// for discrete data. An empty sample gives D = 0, P = 1.
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
	en := float64(n) * float64(m) / float64(n+m)
	return KSResult{D: d, P: KolmogorovSF(math.Sqrt(en) * d), N: n, M: m}
}

package stat

import (
	"math"
	"slices"
)

// MannWhitneyResult is the outcome of a Mann–Whitney U test.
type MannWhitneyResult struct {
	// U is the statistic of the first sample: the number of pairs (x, y)
	// with x > y, ties counting one half.
	U float64
	// Z is the normal score of U with the tie-corrected variance and the
	// continuity correction; positive when x tends to be larger.
	Z float64
	// P is the two-sided normal-approximation p-value.
	P float64
	// RankBiserial is 2U/(n·m) - 1, in [-1, 1]: positive when x tends to be
	// larger than y, 0 when neither does.
	RankBiserial float64
	// CommonLanguage is U/(n·m), the probability that a random x exceeds a
	// random y (ties counting one half); 0.5 means no effect.
	CommonLanguage float64
	// N and M are the sample sizes after NaN values are dropped.
	N, M int
}

// MannWhitney compares two samples of a continuous or ordinal signal by
// ranks. Ties get mid-ranks and shrink the variance of U by
// Σ(t³-t)/(N(N-1)) (N = n+m, t the size of each tie group); the two-sided
// p-value uses the normal approximation with a continuity correction of
// one half, as scipy.stats.mannwhitneyu(method="asymptotic") does. An empty
// sample, or one value repeated across both samples, gives P = 1 and no
// effect.
func MannWhitney(x, y []float64) MannWhitneyResult {
	a, b := finite(x), finite(y)
	n, m := len(a), len(b)
	res := MannWhitneyResult{P: 1, CommonLanguage: 0.5, N: n, M: m}
	if n == 0 || m == 0 {
		return res
	}
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, n+m)
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(p, q obs) int {
		switch {
		case p.v < q.v:
			return -1
		case p.v > q.v:
			return 1
		}
		return 0
	})
	var r1, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += rank
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	fn, fm := float64(n), float64(m)
	total := fn + fm
	nm := fn * fm
	res.U = r1 - fn*(fn+1)/2
	res.CommonLanguage = res.U / nm
	res.RankBiserial = 2*res.U/nm - 1
	mu := nm / 2
	variance := nm / 12 * ((total + 1) - ties/(total*(total-1)))
	if !(variance > 0) {
		return res
	}
	diff := res.U - mu
	switch {
	case diff > 0.5:
		diff -= 0.5
	case diff < -0.5:
		diff += 0.5
	default:
		diff = 0
	}
	res.Z = diff / math.Sqrt(variance)
	res.P = twoSidedNormalP(res.Z)
	return res
}

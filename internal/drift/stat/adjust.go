package stat

import (
	"math"
	"slices"
)

// Holm returns Holm–Bonferroni adjusted p-values, in the order of ps:
// with the p-values sorted ascending, p̃(i) = max_{j≤i} min(1, (m-j+1)·p(j)).
// Rejecting every hypothesis whose adjusted p-value is at most α controls the
// family-wise error rate at α (Holm 1979). NaN p-values are treated as 1.
func Holm(ps []float64) []float64 {
	m := len(ps)
	order := ascending(ps)
	out := make([]float64, m)
	running := 0.0
	for rank, i := range order {
		running = max(running, math.Min(1, float64(m-rank)*pval(ps[i])))
		out[i] = running
	}
	return out
}

// BenjaminiHochberg returns Benjamini–Hochberg adjusted p-values
// (q-values), in the order of ps: with the p-values sorted ascending,
// p̃(i) = min_{j≥i} min(1, m·p(j)/j). Rejecting every hypothesis whose
// adjusted p-value is at most q controls the false discovery rate at q for
// independent or positively dependent tests (Benjamini & Hochberg 1995).
// NaN p-values are treated as 1.
func BenjaminiHochberg(ps []float64) []float64 {
	m := len(ps)
	order := ascending(ps)
	out := make([]float64, m)
	running := 1.0
	for rank := m - 1; rank >= 0; rank-- {
		i := order[rank]
		running = math.Min(running, float64(m)*pval(ps[i])/float64(rank+1))
		out[i] = running
	}
	return out
}

// pval maps a p-value into [0, 1], NaN to 1.
func pval(p float64) float64 { return clampP(p) }

// ascending returns the indexes of ps ordered by p-value (NaN as 1), ties
// in input order.
func ascending(ps []float64) []int {
	order := make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := pval(ps[a]), pval(ps[b])
		switch {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	return order
}

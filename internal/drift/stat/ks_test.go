package stat

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestKolmogorovSmirnovWorked(t *testing.T) {
	// Hand-worked: x = {1..5}, y = {3..8}. F_x - F_y peaks at v = 2
	// (2/5 - 0) and at v = 5 (1 - 3/6 = 0.5), so D = 0.5;
	// n·m/(n+m) = 30/11 and λ = √(30/11)·0.5 = 0.8257, Q_KS(λ) = 0.503
	// (scipy.stats.kstwobign.sf(0.8257) = 0.5030).
	r := KolmogorovSmirnov([]float64{1, 2, 3, 4, 5}, []float64{3, 4, 5, 6, 7, 8})
	near(t, "D", r.D, 0.5, 1e-12)
	near(t, "P", r.P, 0.503, 1e-3)
	// Ties across samples are stepped together: identical values give 0.
	r = KolmogorovSmirnov([]float64{1, 1, 2, 2}, []float64{2, 1, 2, 1})
	near(t, "D ties", r.D, 0, 0)
	near(t, "P ties", r.P, 1, 0)
	// Disjoint samples: D = 1.
	r = KolmogorovSmirnov([]float64{1, 2, 3}, []float64{4, 5, 6, math.NaN()})
	if r.D != 1 || r.M != 3 {
		t.Errorf("disjoint: D = %v M = %d, want 1, 3", r.D, r.M)
	}
}

func TestKolmogorovSmirnovProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 500)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	if r := KolmogorovSmirnov(x, x); r.D != 0 || r.P != 1 {
		t.Errorf("identical: D = %v P = %v, want 0, 1", r.D, r.P)
	}
	y := make([]float64, 500)
	for i := range y {
		y[i] = rng.NormFloat64() + 0.5
	}
	if r := KolmogorovSmirnov(x, y); r.P > 1e-6 || r.D < 0.1 {
		t.Errorf("shift 0.5σ, n=500: D = %v P = %v, want D > 0.1, P < 1e-6", r.D, r.P)
	}
	if r := KolmogorovSmirnov(nil, y); r.D != 0 || r.P != 1 {
		t.Errorf("empty: %+v", r)
	}
}

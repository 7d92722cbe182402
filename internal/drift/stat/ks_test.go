package stat

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestKolmogorovSmirnovWorked(t *testing.T) {
	// Hand-worked: x = {1..5}, y = {3..8}. F_x - F_y peaks at v = 2
	// (2/5 - 0) and at v = 5 (1 - 3/6 = 0.5), so D = 0.5. The sample is
	// small, so P is exact; the asymptotic value would be
	// Q_KS(√(30/11)·0.5 = 0.8257) = 0.503 (scipy.stats.kstwobign.sf).
	r := KolmogorovSmirnov([]float64{1, 2, 3, 4, 5}, []float64{3, 4, 5, 6, 7, 8})
	near(t, "D", r.D, 0.5, 1e-12)
	if !r.Exact {
		t.Error("5×6 samples should get the exact p-value")
	}
	near(t, "P", r.P, bruteKS(5, 6, 0.5), 1e-12)
	near(t, "asymptotic", KolmogorovSF(math.Sqrt(30.0/11)*0.5), 0.503, 1e-3)
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

// bruteKS is P(D ≥ d) by enumerating every split of the ranks 1..n+m into
// an x sample of size n and a y sample of size m.
func bruteKS(n, m int, d float64) float64 {
	total, hit := 0, 0
	for mask := 0; mask < 1<<(n+m); mask++ {
		if bits(mask) != n {
			continue
		}
		total++
		var x, y []float64
		for r := 0; r < n+m; r++ {
			if mask&(1<<r) != 0 {
				x = append(x, float64(r))
			} else {
				y = append(y, float64(r))
			}
		}
		if ksD(x, y) >= d-1e-12 {
			hit++
		}
	}
	return float64(hit) / float64(total)
}

func bits(v int) int {
	c := 0
	for ; v > 0; v &= v - 1 {
		c++
	}
	return c
}

// ksD is D by brute force over all pooled values.
func ksD(x, y []float64) float64 {
	var d float64
	for _, v := range append(append([]float64{}, x...), y...) {
		fx, fy := 0.0, 0.0
		for _, a := range x {
			if a <= v {
				fx++
			}
		}
		for _, b := range y {
			if b <= v {
				fy++
			}
		}
		d = max(d, math.Abs(fx/float64(len(x))-fy/float64(len(y))))
	}
	return d
}

func TestKSExact(t *testing.T) {
	// Gnedenko & Korolyuk (1951): for n = m,
	// P(D ≥ k/n) = 2 Σ_{j≥1} (-1)^{j+1} C(2n, n-jk) / C(2n, n).
	// n = 5, k = 5: 2/252 = 0.00794; k = 4: 2·10/252 = 0.0794;
	// k = 3: 2·45/252 = 0.3571 (C(10,-1) = 0); k = 2: 2·(120-10)/252 = 0.8730.
	for _, c := range []struct {
		k    int
		want float64
	}{{5, 2.0 / 252}, {4, 20.0 / 252}, {3, 90.0 / 252}, {2, (2*120.0 - 2*10) / 252}} {
		near(t, "exact n=m=5", ksExactSF(5, 5, float64(c.k)/5), c.want, 1e-12)
	}
	// Unequal sizes against full enumeration.
	for _, c := range [][2]int{{3, 4}, {4, 7}, {2, 9}, {6, 6}} {
		for _, d := range []float64{0.25, 0.5, 2.0 / 3, 0.75, 1} {
			near(t, "exact vs enumeration", ksExactSF(c[0], c[1], d), bruteKS(c[0], c[1], d), 1e-12)
		}
	}
	// Exact and asymptotic agree roughly at the size where they switch.
	e, a := ksExactSF(100, 100, 0.15), KolmogorovSF(math.Sqrt(50)*0.15)
	if math.Abs(e-a) > 0.03 {
		t.Errorf("n=m=100, D=0.15: exact %v vs asymptotic %v", e, a)
	}
}

package stat

import (
	"math/rand/v2"
	"testing"
)

func TestMannWhitneyWorked(t *testing.T) {
	// scipy.stats.mannwhitneyu documentation example: ages of male and
	// female workers, males = [19, 22, 16, 29, 24], females = [20, 11, 17,
	// 12]; U1 = 17 and method="asymptotic" (continuity correction) gives
	// p = 0.11134688653314041. Hand check: μ = 10, σ = √(20·10/12) =
	// 4.0825, z = (17-10-0.5)/4.0825 = 1.592, 2·(1-Φ(1.592)) = 0.1113.
	r := MannWhitney([]float64{19, 22, 16, 29, 24}, []float64{20, 11, 17, 12})
	near(t, "U", r.U, 17, 0)
	near(t, "P", r.P, 0.111347, 1e-6)
	near(t, "RankBiserial", r.RankBiserial, 2*17.0/20-1, 1e-12)
	near(t, "CommonLanguage", r.CommonLanguage, 17.0/20, 1e-12)

	// Ties: x = {1, 2, 2, 3}, y = {2, 3, 3, 4}. Mid-ranks over the pooled
	// {1,2,2,2,3,3,3,4}: 1, 3, 3, 3, 6, 6, 6, 8; R1 = 1+3+3+6 = 13,
	// U1 = 13 - 10 = 3. Tie term Σ(t³-t) = 24+24 = 48, variance =
	// 16/12·(9 - 48/56) = 10.857, z = (3-8+0.5)/3.295 = -1.3657,
	// p = 0.1720 (scipy.stats.mannwhitneyu(x, y, method="asymptotic")).
	r = MannWhitney([]float64{1, 2, 2, 3}, []float64{2, 3, 3, 4})
	near(t, "U ties", r.U, 3, 0)
	near(t, "Z ties", r.Z, -1.3657, 1e-3)
	near(t, "P ties", r.P, 0.1720, 1e-3)
}

func TestMannWhitneyProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, 400)
	y := make([]float64, 400)
	for i := range x {
		x[i] = rng.ExpFloat64()
		y[i] = rng.ExpFloat64() * 2
	}
	r := MannWhitney(x, x)
	if r.P < 0.99 || r.RankBiserial != 0 || r.CommonLanguage != 0.5 {
		t.Errorf("identical: %+v", r)
	}
	r = MannWhitney(x, y)
	if r.P > 1e-4 || r.RankBiserial > -0.1 {
		t.Errorf("y scaled ×2: P = %v r = %v, want P < 1e-4, r < -0.1", r.P, r.RankBiserial)
	}
	if r := MannWhitney([]float64{5, 5, 5}, []float64{5, 5}); r.P != 1 || r.RankBiserial != 0 {
		t.Errorf("all ties: %+v", r)
	}
}

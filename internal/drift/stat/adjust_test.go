package stat

import (
	"math"
	"testing"
)

// bh1995 are the 15 p-values of Benjamini & Hochberg (1995), §4.
var bh1995 = []float64{
	0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
	0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000,
}

func rejected(adj []float64, alpha float64) int {
	n := 0
	for _, p := range adj {
		if p <= alpha {
			n++
		}
	}
	return n
}

func TestAdjustBH1995(t *testing.T) {
	// The paper: at 0.05 the FDR procedure rejects the four smallest,
	// Bonferroni-type procedures (Holm among them) only three.
	if got := rejected(BenjaminiHochberg(bh1995), 0.05); got != 4 {
		t.Errorf("BH rejects %d, want 4", got)
	}
	if got := rejected(Holm(bh1995), 0.05); got != 3 {
		t.Errorf("Holm rejects %d, want 3", got)
	}
	// Adjusted values, as statsmodels multipletests(method="fdr_bh" /
	// "holm") computes them: BH p̃(4) = 0.0095·15/4 = 0.035625,
	// Holm p̃(3) = 0.0019·13 = 0.0247.
	near(t, "BH[3]", BenjaminiHochberg(bh1995)[3], 0.035625, 1e-12)
	near(t, "Holm[2]", Holm(bh1995)[2], 0.0247, 1e-12)
}

func TestAdjustWorked(t *testing.T) {
	// Hand-worked, input order kept: sorted 0.005, 0.01, 0.03, 0.04.
	// Holm: 4·.005, 3·.01, 2·.03, 1·.04 → running max .02, .03, .06, .06.
	// BH: .005·4/1, .01·4/2, .03·4/3, .04·4/4 → running min from the top
	// .02, .02, .04, .04.
	ps := []float64{0.01, 0.04, 0.03, 0.005}
	for i, want := range []float64{0.03, 0.06, 0.06, 0.02} {
		near(t, "Holm", Holm(ps)[i], want, 1e-12)
	}
	for i, want := range []float64{0.02, 0.04, 0.04, 0.02} {
		near(t, "BH", BenjaminiHochberg(ps)[i], want, 1e-12)
	}
	// NaN counts as 1, nothing exceeds 1, empty input is fine.
	h := Holm([]float64{math.NaN(), 0.5, 0.9})
	if h[0] != 1 || h[1] != 1 || h[2] != 1 {
		t.Errorf("Holm with NaN = %v, want all 1", h)
	}
	if len(Holm(nil)) != 0 || len(BenjaminiHochberg(nil)) != 0 {
		t.Error("empty input should give empty output")
	}
}

package stat

import (
	"math"
	"testing"
)

func TestTwoProportionZWorked(t *testing.T) {
	// Physicians' Health Study (Agresti, An Introduction to Categorical
	// Data Analysis, 2nd ed., Table 2.3 and §2.4): myocardial infarction in
	// 189 of 11034 on placebo and 104 of 11037 on aspirin. Pearson's
	// X² = 25.01 on the 2×2 table, and the pooled z satisfies z² = X².
	r := TwoProportionZ(189, 11034, 104, 11037)
	near(t, "z²", r.Z*r.Z, 25.01, 0.02)
	if r.Z > 0 || r.P > 1e-5 {
		t.Errorf("Z = %v P = %v, want Z < 0 and P < 1e-5", r.Z, r.P)
	}
	near(t, "Diff", r.Diff, 104.0/11037-189.0/11034, 1e-12)
	x2 := ChiSquaredHomogeneity([]float64{189, 11034 - 189}, []float64{104, 11037 - 104})
	near(t, "z² vs chi-squared", r.Z*r.Z, x2.Statistic, 1e-9)
	near(t, "P vs chi-squared", r.P, x2.P, 1e-9)

	// Cohen's h from 0.25 to 0.5 is 2·asin(√.5) - 2·asin(.5) = π/2 - π/3
	// = π/6 (Cohen 1988, §6.2).
	r = TwoProportionZ(25, 100, 50, 100)
	near(t, "CohensH", r.CohensH, math.Pi/6, 1e-12)
	// Hand-worked: pool = 0.375, se = √(.375·.625·.02) = 0.068465,
	// z = 0.25/0.068465 = 3.6515, p = 2·(1-Φ(3.6515)) = 0.000261.
	near(t, "Z", r.Z, 3.6515, 1e-4)
	near(t, "P", r.P, 0.000261, 1e-5)
}

func TestTwoProportionZProperties(t *testing.T) {
	if r := TwoProportionZ(30, 1000, 30, 1000); r.P != 1 || r.CohensH != 0 || r.Diff != 0 {
		t.Errorf("same rate: %+v", r)
	}
	for _, c := range [][4]int{{0, 0, 1, 10}, {0, 10, 0, 10}, {10, 10, 5, 5}, {-3, 10, 20, 10}} {
		r := TwoProportionZ(c[0], c[1], c[2], c[3])
		if r.P < 0 || r.P > 1 || math.IsNaN(r.CohensH) {
			t.Errorf("TwoProportionZ%v = %+v", c, r)
		}
	}
	if r := TwoProportionZ(0, 10, 0, 10); r.P != 1 {
		t.Errorf("no events anywhere: P = %v, want 1", r.P)
	}
}

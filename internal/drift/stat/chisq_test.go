package stat

import "testing"

func TestChiSquaredHomogeneityWorked(t *testing.T) {
	// scipy.stats.chi2_contingency documentation example:
	// obs = [[10, 10, 20], [20, 20, 20]] gives statistic 2.7777777777777777,
	// pvalue 0.24935220877729619, dof 2, expected [[12, 12, 16],
	// [18, 18, 24]]; scipy.stats.contingency.association(obs,
	// method="cramer") is √(2.7778/100) = 0.1667.
	r := ChiSquaredHomogeneity([]float64{10, 10, 20}, []float64{20, 20, 20})
	near(t, "statistic", r.Statistic, 2.777778, 1e-6)
	near(t, "P", r.P, 0.249352, 1e-6)
	if r.DF != 2 {
		t.Errorf("DF = %d, want 2", r.DF)
	}
	near(t, "CramersV", r.CramersV, 1.0/6, 1e-6)
	near(t, "MinExpected", r.MinExpected, 12, 1e-12)

	// An empty category in both windows is dropped, not a division by zero;
	// a missing trailing count is 0.
	r2 := ChiSquaredHomogeneity([]float64{10, 0, 10, 20}, []float64{20, 0, 20, 20, 0})
	if r2.DF != 2 || r2.Statistic != r.Statistic {
		t.Errorf("with empty categories: %+v, want the same as %+v", r2, r)
	}
}

func TestChiSquaredHomogeneityProperties(t *testing.T) {
	same := ChiSquaredHomogeneity([]float64{50, 30, 20}, []float64{100, 60, 40})
	if same.Statistic > 1e-12 || same.P < 0.999999 || same.CramersV > 1e-6 {
		t.Errorf("proportional windows: %+v, want statistic 0, P 1, V 0", same)
	}
	// A finish-reason mix shifting from 2% to 10% "length" over 1000 calls.
	shift := ChiSquaredHomogeneity([]float64{970, 20, 10}, []float64{890, 100, 10})
	if shift.P > 1e-9 || shift.CramersV < 0.1 {
		t.Errorf("shifted mix: %+v, want P < 1e-9 and V > 0.1", shift)
	}
	for _, c := range [][2][]float64{
		{nil, nil},
		{{5}, {7}},       // one category
		{{5, 5}, {0, 0}}, // empty recent window
	} {
		if r := ChiSquaredHomogeneity(c[0], c[1]); r.P != 1 || r.DF != 0 {
			t.Errorf("degenerate %v: %+v, want P 1, DF 0", c, r)
		}
	}
}

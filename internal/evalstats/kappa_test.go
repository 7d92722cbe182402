package evalstats

import (
	"errors"
	"math"
	"testing"
)

// near3 fails unless got and want agree to 3 decimals (the bar),
// i.e. |got-want| < 0.0005.
func near3(t *testing.T, name string, got, want float64) {
	t.Helper()
	if !(math.Abs(got-want) < 0.0005) {
		t.Errorf("%s = %.6f, want %.4f (to 3 decimals)", name, got, want)
	}
}

// TestKappaPublished checks Cohen's kappa and weighted kappa against
// published results.
func TestKappaPublished(t *testing.T) {
	cases := []struct {
		name     string
		source   string
		table    [][]int
		w        Weighting
		kappa    float64
		po, pe   float64 // NaN: not published
		accuracy float64
	}{
		{
			// Wikipedia, "Cohen's kappa", worked example: 50 proposals, both
			// readers yes 20, A yes B no 5, A no B yes 10, both no 15:
			// p_o = 0.7, p_e = 0.5, kappa = 0.4.
			name: "wikipedia 2x2", table: [][]int{{20, 5}, {10, 15}}, w: Unweighted,
			kappa: 0.4, po: 0.7, pe: 0.5, accuracy: 0.7,
		},
		{
			// SAS PROC FREQ AGREE example as reproduced in statsmodels'
			// stats/tests/test_inter_rater.py (table10): simple kappa 0.4842.
			name: "sas 3x3 simple", table: [][]int{{0, 4, 1}, {0, 8, 0}, {0, 1, 5}}, w: Unweighted,
			kappa: 0.4842, po: 13.0 / 19, pe: math.NaN(), accuracy: 13.0 / 19,
		},
		{
			// Same table, SAS weighted kappa with its default
			// Cicchetti-Allison (linear) weights: 0.4701.
			name: "sas 3x3 linear", table: [][]int{{0, 4, 1}, {0, 8, 0}, {0, 1, 5}}, w: Linear,
			kappa: 0.4701, po: math.NaN(), pe: math.NaN(), accuracy: 13.0 / 19,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ag, err := KappaFromConfusion(c.table, c.w)
			if err != nil {
				t.Fatal(err)
			}
			near3(t, "kappa", ag.Kappa, c.kappa)
			if !math.IsNaN(c.po) {
				near3(t, "observed", ag.Observed, c.po)
			}
			if !math.IsNaN(c.pe) {
				near3(t, "expected", ag.Expected, c.pe)
			}
			near3(t, "accuracy", ag.Accuracy, c.accuracy)
		})
	}
}

// The anxiety ratings of the R package irr (data(anxiety): 20 subjects,
// three raters, scores 1-6), as reproduced in statsmodels'
// test_inter_rater.py, with irr::kappa2's published results for raters 2
// and 3: unweighted -0.006289308, "equal" (linear) 0.1459075, "squared"
// (quadratic) 0.2520325. irr orders the categories actually used (1, 2, 3,
// 4, 6) and weights by their rank, which Codes reproduces.
var (
	anxietyRater2 = []int{3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4}
	anxietyRater3 = []int{2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2}
)

func TestKappaIrrAnxiety(t *testing.T) {
	cats := []int{1, 2, 3, 4, 6}
	a, err := Codes(cats, anxietyRater2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Codes(cats, anxietyRater3)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		w    Weighting
		want float64
	}{
		{Unweighted, -0.006289308},
		{Linear, 0.1459075},
		{Quadratic, 0.2520325},
	} {
		ag, err := Kappa(a, b, len(cats), c.w)
		if err != nil {
			t.Fatalf("%v: %v", c.w, err)
		}
		near3(t, c.w.String(), ag.Kappa, c.want)
		// Published to 7 digits; hold ourselves to 6.
		if math.Abs(ag.Kappa-c.want) > 1e-6 {
			t.Errorf("%v kappa = %.9f, want %.7f", c.w, ag.Kappa, c.want)
		}
		if ag.Items != 20 {
			t.Errorf("items = %d, want 20", ag.Items)
		}
	}
}

func TestKappaLabels(t *testing.T) {
	human := []string{"pass", "pass", "fail", "pass", "fail", "fail"}
	judge := []string{"pass", "fail", "fail", "pass", "fail", "pass"}
	cats := []string{"fail", "pass"}
	a, err := Codes(cats, human)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Codes(cats, judge)
	if err != nil {
		t.Fatal(err)
	}
	ag, err := Kappa(a, b, 2, Unweighted)
	if err != nil {
		t.Fatal(err)
	}
	// Confusion [[2 1] [1 2]]: p_o = 4/6, p_e = 1/2, kappa = 1/3.
	want := [][]int{{2, 1}, {1, 2}}
	for i := range want {
		for j := range want[i] {
			if ag.Confusion[i][j] != want[i][j] {
				t.Fatalf("confusion = %v, want %v", ag.Confusion, want)
			}
		}
	}
	near3(t, "kappa", ag.Kappa, 1.0/3)

	if _, err := Codes(cats, []string{"maybe"}); err == nil {
		t.Error("Codes accepted a label outside the categories")
	}
	if _, err := Codes([]string{"a", "a"}, nil); err == nil {
		t.Error("Codes accepted a duplicate category")
	}
}

func TestKappaEdges(t *testing.T) {
	// Perfect agreement over two used categories: kappa 1 for every weighting.
	for _, w := range []Weighting{Unweighted, Linear, Quadratic} {
		ag, err := Kappa([]int{0, 1, 2, 2}, []int{0, 1, 2, 2}, 3, w)
		if err != nil || ag.Kappa != 1 {
			t.Errorf("%v: perfect agreement: kappa %v, err %v", w, ag.Kappa, err)
		}
	}
	// Both raters always say the same single category: undefined.
	ag, err := Kappa([]int{1, 1, 1}, []int{1, 1, 1}, 2, Unweighted)
	if !errors.Is(err, ErrUndefined) || !math.IsNaN(ag.Kappa) || ag.Accuracy != 1 {
		t.Errorf("single category: kappa %v accuracy %v err %v, want NaN, 1, ErrUndefined", ag.Kappa, ag.Accuracy, err)
	}
	if _, err := Kappa(nil, nil, 2, Unweighted); !errors.Is(err, ErrNoData) {
		t.Errorf("no items: err %v, want ErrNoData", err)
	}
	for name, f := range map[string]func() error{
		"length":   func() error { _, err := Kappa([]int{0}, []int{0, 1}, 2, Unweighted); return err },
		"range":    func() error { _, err := Kappa([]int{0, 2}, []int{0, 1}, 2, Unweighted); return err },
		"negative": func() error { _, err := Kappa([]int{-1}, []int{0}, 2, Unweighted); return err },
		"ragged":   func() error { _, err := KappaFromConfusion([][]int{{1, 2}, {3}}, Unweighted); return err },
		"count":    func() error { _, err := KappaFromConfusion([][]int{{1, -2}, {3, 4}}, Unweighted); return err },
		"weights":  func() error { _, err := KappaFromConfusion([][]int{{1}}, Weighting(9)); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTrusted(t *testing.T) {
	cases := []struct {
		lower, threshold float64
		scored, min      int
		want             bool
	}{
		{0.72, 0.6, 200, 100, true},
		{0.72, 0.6, 99, 100, false}, // too few double-scored items
		{0.6, 0.6, 200, 100, false}, // bound must be above, not at
		{math.NaN(), 0.6, 200, 100, false},
		{0.9, 0.6, 0, 0, false}, // nothing scored is never trusted
	}
	for _, c := range cases {
		if got := Trusted(c.lower, c.threshold, c.scored, c.min); got != c.want {
			t.Errorf("Trusted(%v, %v, %d, %d) = %v, want %v", c.lower, c.threshold, c.scored, c.min, got, c.want)
		}
	}
}

package evalstats

import (
	"errors"
	"math"
	"testing"
)

// krippendorff2011 is the reliability data of Krippendorff (2011),
// "Computing Krippendorff's Alpha-Reliability", section C: four coders
// (rows A-D in the paper, here the columns) and twelve units with missing
// values (NaN); unit 12 has a single value and is not pairable. The paper
// gives alpha = 0.743 nominal, 0.815 ordinal, 0.849 interval and 0.797
// ratio.
var krippendorff2011 = func() [][]float64 {
	x := math.NaN()
	coders := [][]float64{
		{1, 2, 3, 3, 2, 1, 4, 1, 2, x, x, x},
		{1, 2, 3, 3, 2, 2, 4, 1, 2, 5, x, 3},
		{x, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, x},
		{1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, x},
	}
	units := make([][]float64, 12)
	for u := range units {
		for _, c := range coders {
			units[u] = append(units[u], c[u])
		}
	}
	return units
}()

func TestAlphaKrippendorff2011(t *testing.T) {
	for _, c := range []struct {
		m    Metric
		want float64
	}{
		{NominalMetric, 0.743},
		{OrdinalMetric, 0.815},
		{IntervalMetric, 0.849},
		{RatioMetric, 0.797},
	} {
		r, err := Alpha(krippendorff2011, c.m)
		if err != nil {
			t.Fatalf("%v: %v", c.m, err)
		}
		near3(t, c.m.String(), r.Alpha, c.want)
		// The paper: 11 pairable units, n = 40 pairable values.
		if r.Units != 11 || r.Pairable != 40 {
			t.Errorf("%v: units %d pairable %d, want 11 and 40", c.m, r.Units, r.Pairable)
		}
	}
	// The paper's coincidence matrix for the nominal case: o_11 = 7,
	// o_12 = 4/3, o_22 = 10, n_3 = 10, n_5 = 3.
	r, _ := Alpha(krippendorff2011, NominalMetric)
	near3(t, "o11", r.Coincidence[0][0], 7)
	near3(t, "o12", r.Coincidence[0][1], 4.0/3)
	near3(t, "o22", r.Coincidence[1][1], 10)
	sum := func(c int) (s float64) {
		for _, v := range r.Coincidence[c] {
			s += v
		}
		return s
	}
	near3(t, "n3", sum(2), 10)
	near3(t, "n5", sum(4), 3)
}

// Krippendorff (2011), section A: two coders, ten units, binary data;
// alpha = 0.095.
func TestAlphaKrippendorff2011Binary(t *testing.T) {
	a := []float64{0, 1, 0, 0, 0, 0, 0, 0, 1, 0}
	b := []float64{1, 1, 1, 0, 0, 1, 0, 0, 0, 0}
	units := make([][]float64, len(a))
	for i := range a {
		units[i] = []float64{a[i], b[i]}
	}
	r, err := Alpha(units, NominalMetric)
	if err != nil {
		t.Fatal(err)
	}
	near3(t, "alpha", r.Alpha, 0.095)
	// Binary data: every metric but ratio gives the same alpha.
	for _, m := range []Metric{OrdinalMetric, IntervalMetric} {
		r2, err := Alpha(units, m)
		if err != nil {
			t.Fatal(err)
		}
		near3(t, m.String(), r2.Alpha, r.Alpha)
	}
}

func TestAlphaEdges(t *testing.T) {
	x := math.NaN()
	// Perfect agreement with variation: alpha 1.
	r, err := Alpha([][]float64{{1, 1, x}, {2, 2, 2}, {3, x, 3}}, IntervalMetric)
	if err != nil || r.Alpha != 1 {
		t.Errorf("perfect agreement: alpha %v err %v", r.Alpha, err)
	}
	// Every pairable value the same: undefined.
	r, err = Alpha([][]float64{{1, 1}, {1, 1, 1}, {5}}, NominalMetric)
	if !errors.Is(err, ErrUndefined) || !math.IsNaN(r.Alpha) {
		t.Errorf("no variation: alpha %v err %v, want NaN and ErrUndefined", r.Alpha, err)
	}
	// No unit with two ratings.
	if _, err := Alpha([][]float64{{1, x}, {x, 2}, {}}, NominalMetric); !errors.Is(err, ErrNoData) {
		t.Errorf("nothing pairable: err %v, want ErrNoData", err)
	}
	if _, err := Alpha([][]float64{{1, math.Inf(1)}}, IntervalMetric); err == nil {
		t.Error("infinite value accepted")
	}
	if _, err := Alpha([][]float64{{1, -1}}, RatioMetric); err == nil {
		t.Error("negative value accepted on a ratio scale")
	}
	if _, err := Alpha([][]float64{{1, 2}}, Metric(7)); err == nil {
		t.Error("unknown metric accepted")
	}
	// Units with one rating do not change alpha.
	base, _ := Alpha(krippendorff2011, OrdinalMetric)
	more := append([][]float64{{9, x, x}, {x}}, krippendorff2011...)
	r, err = Alpha(more, OrdinalMetric)
	if err != nil || r.Alpha != base.Alpha {
		t.Errorf("lone ratings changed alpha: %v, want %v (err %v)", r.Alpha, base.Alpha, err)
	}
}

// With two coders, no missing data and many units, nominal alpha and
// Cohen's kappa converge (Krippendorff 2011 notes alpha corrects kappa for
// small samples); with n = 2N values, alpha = 1 - (2N-1)/(2N) · D_o/D_e.
func TestAlphaNearKappa(t *testing.T) {
	a, b := make([]int, 0, 4000), make([]int, 0, 4000)
	units := make([][]float64, 0, 4000)
	for i := range 4000 {
		x, y := i%3, i%3
		if i%5 == 0 {
			y = (y + 1) % 3
		}
		a, b = append(a, x), append(b, y)
		units = append(units, []float64{float64(x), float64(y)})
	}
	k, err := Kappa(a, b, 3, Unweighted)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Alpha(units, NominalMetric)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(k.Kappa-r.Alpha) > 0.001 {
		t.Errorf("kappa %v and alpha %v differ by more than 0.001", k.Kappa, r.Alpha)
	}
}

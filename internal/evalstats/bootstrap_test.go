package evalstats

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBootstrapDeterministic(t *testing.T) {
	a, b := synthRatings(500, 0.8, 1)
	opt := BootstrapOptions{Seed: 42}
	_, ci1, err := KappaInterval(a, b, 3, Quadratic, opt)
	if err != nil {
		t.Fatal(err)
	}
	_, ci2, _ := KappaInterval(a, b, 3, Quadratic, opt)
	if ci1 != ci2 {
		t.Errorf("same seed, different intervals: %+v and %+v", ci1, ci2)
	}
	_, ci3, _ := KappaInterval(a, b, 3, Quadratic, BootstrapOptions{Seed: 43})
	if ci3.Interval == ci1.Interval {
		t.Errorf("different seeds, same interval %+v", ci1)
	}
	if ci1.Confidence != 0.95 || ci1.Resamples != DefaultIterations {
		t.Errorf("defaults: confidence %v resamples %d", ci1.Confidence, ci1.Resamples)
	}
}

// synthRatings makes n items on a 3-category scale where rater b copies a
// with probability agree and otherwise picks at random.
func synthRatings(n int, agree float64, seed uint64) (a, b []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	a, b = make([]int, n), make([]int, n)
	for i := range n {
		a[i] = r.IntN(3)
		b[i] = a[i]
		if r.Float64() > agree {
			b[i] = r.IntN(3)
		}
	}
	return a, b
}

func TestKappaIntervalCoverage(t *testing.T) {
	small, large := synthRatings(100, 0.7, 2)
	ag, ciSmall, err := KappaInterval(small, large, 3, Unweighted, BootstrapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ciSmall.Estimate != ag.Kappa || !ciSmall.Contains(ag.Kappa) {
		t.Errorf("interval %+v does not hold the estimate %v", ciSmall, ag.Kappa)
	}
	a, b := synthRatings(10000, 0.7, 2)
	agL, ciLarge, err := KappaInterval(a, b, 3, Unweighted, BootstrapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !ciLarge.Contains(agL.Kappa) {
		t.Errorf("interval %+v does not hold the estimate %v", ciLarge, agL.Kappa)
	}
	// Width shrinks like 1/√n: 100× the items, about a tenth of the width.
	ratio := ciLarge.Width() / ciSmall.Width()
	if ratio < 0.05 || ratio > 0.2 {
		t.Errorf("width ratio %v (large %v, small %v), want about 0.1", ratio, ciLarge.Width(), ciSmall.Width())
	}
	// The true kappa of the generator: b copies with p = 0.7, so
	// p_o = 0.7 + 0.3/3 = 0.8 and p_e = 1/3: kappa = 0.7.
	if !ciLarge.Contains(0.7) {
		t.Errorf("large-sample interval %+v misses the true kappa 0.7", ciLarge)
	}
}

// The percentile bootstrap of a mean matches the normal interval
// mean ± 1.96·sd/√n for a large sample.
func TestBootstrapMeanMatchesNormal(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	xs := make([]float64, 2000)
	var sum, sq float64
	for i := range xs {
		xs[i] = r.NormFloat64()*2 + 10
		sum += xs[i]
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	se := math.Sqrt(sq/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))
	stat := func(s []int) (float64, error) {
		var t float64
		for _, i := range s {
			t += xs[i]
		}
		return t / float64(len(s)), nil
	}
	ci, err := Bootstrap(len(xs), stat, BootstrapOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ci.Lower-(mean-1.96*se)) > 0.2*se || math.Abs(ci.Upper-(mean+1.96*se)) > 0.2*se {
		t.Errorf("bootstrap %+v, normal [%v, %v]", ci, mean-1.96*se, mean+1.96*se)
	}
}

func TestAlphaInterval(t *testing.T) {
	rel, ci, err := AlphaInterval(krippendorff2011, IntervalMetric, BootstrapOptions{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	near3(t, "alpha", rel.Alpha, 0.849)
	if ci.Estimate != rel.Alpha || !ci.Contains(rel.Alpha) || ci.Upper > 1 {
		t.Errorf("alpha %v, interval %+v", rel.Alpha, ci)
	}
}

func TestBootstrapErrors(t *testing.T) {
	undefined := func([]int) (float64, error) { return math.NaN(), ErrUndefined }
	if _, err := Bootstrap(10, undefined, BootstrapOptions{}); !errors.Is(err, ErrUndefined) {
		t.Errorf("all undefined: %v", err)
	}
	boom := errors.New("boom")
	calls := 0
	failing := func([]int) (float64, error) {
		calls++
		if calls > 1 {
			return 0, boom
		}
		return 1, nil
	}
	if _, err := Bootstrap(10, failing, BootstrapOptions{}); !errors.Is(err, boom) {
		t.Errorf("stat error: %v", err)
	}
	// Some undefined resamples are left out, not fatal.
	n := 0
	some := func([]int) (float64, error) {
		n++
		if n%4 == 0 {
			return 0, ErrUndefined
		}
		return float64(n % 7), nil
	}
	ci, err := Bootstrap(10, some, BootstrapOptions{Iterations: 400})
	if err != nil || ci.Resamples != 300 {
		t.Errorf("some undefined: %+v %v, want 300 resamples", ci, err)
	}
	ok := func([]int) (float64, error) { return 1, nil }
	for name, opt := range map[string]BootstrapOptions{
		"iterations": {Iterations: -1},
		"confidence": {Confidence: 1.5},
	} {
		if _, err := Bootstrap(10, ok, opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Bootstrap(0, ok, BootstrapOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no items: %v", err)
	}
	// A kappa whose every resample is undefined: one category only.
	if _, _, err := KappaInterval([]int{0, 0}, []int{0, 0}, 2, Unweighted, BootstrapOptions{}); !errors.Is(err, ErrUndefined) {
		t.Errorf("one category: %v", err)
	}
}

func TestPairedBootstrap(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	n := 300
	base := make([]float64, n)
	better := make([]float64, n)
	same := make([]float64, n)
	for i := range n {
		base[i] = r.Float64()
		better[i] = base[i] + 0.05 + 0.1*r.NormFloat64() // B better by 0.05 on average
		// Same mean as base exactly: differences ±0.1 alternating.
		same[i] = base[i] + 0.1*float64(1-2*(i%2))
	}
	c, err := PairedBootstrap(base, better, BootstrapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Difference.Lower <= 0 || c.P > 0.01 || !c.Difference.Contains(c.Difference.Estimate) {
		t.Errorf("clear improvement not detected: %+v", c)
	}
	near3(t, "difference", c.Difference.Estimate, c.MeanB-c.MeanA)

	c, err = PairedBootstrap(base, same, BootstrapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Difference.Contains(0) || c.P < 0.2 {
		t.Errorf("null difference reported as real: %+v", c)
	}

	// Identical variants: no difference at all, P = 1.
	c, err = PairedBootstrap(base, base, BootstrapOptions{Seed: 1})
	if err != nil || c.P != 1 || c.Difference.Width() != 0 {
		t.Errorf("identical: %+v %v", c, err)
	}

	// Determinism.
	c1, _ := PairedBootstrap(base, better, BootstrapOptions{Seed: 9, Iterations: 500})
	c2, _ := PairedBootstrap(base, better, BootstrapOptions{Seed: 9, Iterations: 500})
	if c1 != c2 {
		t.Errorf("same seed, different results: %+v, %+v", c1, c2)
	}

	for name, f := range map[string]func() error{
		"length": func() error { _, err := PairedBootstrap([]float64{1}, nil, BootstrapOptions{}); return err },
		"empty":  func() error { _, err := PairedBootstrap(nil, nil, BootstrapOptions{}); return err },
		"nan": func() error {
			_, err := PairedBootstrap([]float64{math.NaN()}, []float64{1}, BootstrapOptions{})
			return err
		},
		"conf": func() error {
			_, err := PairedBootstrap([]float64{1}, []float64{1}, BootstrapOptions{Confidence: 2})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

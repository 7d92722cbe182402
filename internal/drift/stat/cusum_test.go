package stat

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// montgomery91 is the data of Montgomery, Introduction to Statistical
// Quality Control (6th ed.), Example 9.1 / Table 9.1: 30 observations, the
// first 20 from N(10, 1) and the last 10 from N(11, 1). With μ0 = 10,
// σ = 1, k = 0.5 and h = 5 the book's tabular CUSUM (Table 9.2) signals at
// period 29 with C⁺ = 5.28 and N⁺ = 7 consecutive non-zero periods, so the
// shift is estimated to have begun after period 22.
var montgomery91 = []float64{
	9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34,
	9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84,
	10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52,
}

func TestCUSUMMontgomery(t *testing.T) {
	a, ok, err := DetectCUSUM(montgomery91, CUSUMConfig{Mean: 10, SD: 1})
	if err != nil || !ok {
		t.Fatalf("DetectCUSUM: ok = %v err = %v, want an alarm", ok, err)
	}
	// Indexes are 0-based: period 29 is index 28, period 23 is index 22.
	if a.Index != 28 || a.ChangePoint != 22 || a.Direction != 1 {
		t.Errorf("alarm = %+v, want Index 28, ChangePoint 22, Direction +1", a)
	}
	near(t, "C+ at alarm", a.Sum, 5.28, 5e-3)
	// The same data seen from below never alarms.
	if _, ok, _ := DetectCUSUM(montgomery91, CUSUMConfig{Mean: 10, SD: 1, Side: Lower}); ok {
		t.Error("lower CUSUM alarmed on an upward shift")
	}
}

// runLength feeds N(mu, 1) observations to a fresh two-sided CUSUM with
// decision interval h until it alarms, and returns the number of
// observations used (capped at limit) and the alarm.
func runLength(seed uint64, mu, h float64, limit int) (int, Alarm, bool) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	c, err := NewCUSUM(CUSUMConfig{Mean: 0, SD: 1, H: h})
	if err != nil {
		panic(err)
	}
	for i := range limit {
		if a, ok := c.Add(rng.NormFloat64() + mu); ok {
			return i + 1, a, true
		}
	}
	return limit, Alarm{}, false
}

func TestCUSUMRunLengths(t *testing.T) {
	const seeds = 1000
	// In control, h = 5: Montgomery (Table 9.3) gives ARL0 = 465 for the
	// two-sided scheme; Siegmund's approximation gives 469.
	var total float64
	for s := range uint64(seeds) {
		n, _, _ := runLength(s, 0, DefaultCUSUMH, 100000)
		total += float64(n)
	}
	arl0 := total / seeds
	t.Logf("h=5 in control: mean run length to a false alarm %.0f over %d seeds (false-alarm rate %.5f per observation)", arl0, seeds, 1/arl0)
	if arl0 < 400 || arl0 > 540 {
		t.Errorf("ARL0 = %.0f, want about 465 (400..540)", arl0)
	}

	// A one-σ upward shift, h = 5: ARL1 = 10.4 (Montgomery Table 9.3).
	total = 0
	for s := range uint64(seeds) {
		n, a, ok := runLength(s, 1, DefaultCUSUMH, 1000)
		if !ok || a.Direction != 1 {
			t.Fatalf("seed %d: shift not detected upward: %+v", s, a)
		}
		total += float64(n)
	}
	arl1 := total / seeds
	t.Logf("h=5 one-σ shift: mean detection delay %.2f observations", arl1)
	if arl1 < 9.5 || arl1 > 11.5 {
		t.Errorf("ARL1 = %.2f, want about 10.4 (9.5..11.5)", arl1)
	}
}

func TestCUSUMLongInControlRun(t *testing.T) {
	// The drift watcher's setting for a long quiet stream: h = 8 (ARL0 about
	// 9,500 by Siegmund's approximation). Over 300 seeded runs of 1,000
	// in-control observations, at most 15% may alarm (expected about 10%);
	// seed 1 in particular runs clean.
	const seeds, n = 300, 1000
	alarms := 0
	for s := range uint64(seeds) {
		if _, _, ok := runLength(s, 0, 8, n); ok {
			alarms++
		}
	}
	rate := float64(alarms) / seeds
	t.Logf("h=8: %d of %d runs of %d in-control observations alarmed (%.1f%%)", alarms, seeds, n, 100*rate)
	if rate > 0.15 {
		t.Errorf("false-alarm rate %.3f over %d-observation runs, want ≤ 0.15", rate, n)
	}
	if _, a, ok := runLength(1, 0, 8, n); ok {
		t.Errorf("seed 1 alarmed in control: %+v", a)
	}
}

func TestCUSUMChangePoint(t *testing.T) {
	// 200 in-control observations, then a one-σ downward shift. Among runs
	// with no alarm before the shift, the change-point estimate is within
	// 10 observations of the true start in at least 80% of runs.
	const seeds, at = 300, 200
	var usable, close, delay int
	for s := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(s, 7))
		c, _ := NewCUSUM(CUSUMConfig{Mean: 100, SD: 10})
		for i := 0; i < 2000; i++ {
			x := 100 + 10*rng.NormFloat64()
			if i >= at {
				x -= 10
			}
			a, ok := c.Add(x)
			if !ok {
				continue
			}
			if a.Index < at {
				break // false alarm before the shift: not usable here
			}
			usable++
			delay += a.Index - at + 1
			if a.Direction != -1 {
				t.Errorf("seed %d: direction %d, want -1", s, a.Direction)
			}
			if d := a.ChangePoint - at; d >= -10 && d <= 10 {
				close++
			}
			break
		}
	}
	t.Logf("change point within ±10 of the truth in %d of %d runs; mean delay %.1f", close, usable, float64(delay)/float64(usable))
	if usable < seeds/2 || float64(close) < 0.8*float64(usable) {
		t.Errorf("change point close in %d of %d usable runs, want ≥ 80%%", close, usable)
	}
}

func TestCUSUMConfig(t *testing.T) {
	for _, c := range []CUSUMConfig{
		{SD: 0}, {SD: -1}, {SD: math.NaN()}, {SD: 1, H: -1}, {SD: 1, K: -0.5},
		{SD: 1, Mean: math.Inf(1)}, {SD: 1, Side: 9},
	} {
		if _, err := NewCUSUM(c); !errors.Is(err, ErrCUSUMConfig) {
			t.Errorf("NewCUSUM(%+v) err = %v, want ErrCUSUMConfig", c, err)
		}
	}
	c, err := NewCUSUM(CUSUMConfig{SD: 1})
	if err != nil {
		t.Fatal(err)
	}
	// NaN and Inf are skipped but keep their index.
	for _, x := range []float64{math.NaN(), math.Inf(1), 3, 3} {
		c.Add(x)
	}
	a, ok := c.Add(3)
	if !ok || a.Index != 4 || a.ChangePoint != 2 || a.Sum != 7.5 {
		t.Errorf("alarm = %+v ok = %v, want Index 4, ChangePoint 2, Sum 7.5", a, ok)
	}
	c.Reset()
	if hi, lo := c.Sums(); hi != 0 || lo != 0 {
		t.Errorf("after Reset sums = %v, %v", hi, lo)
	}
}

package stat

import (
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

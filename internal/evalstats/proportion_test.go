package evalstats

import (
	"errors"
	"math"
	"testing"
)

// Newcombe (1998), "Two-sided confidence intervals for the single
// proportion: comparison of seven methods", Statistics in Medicine 17,
// Table II, method 3 (score interval without continuity correction).
func TestWilsonNewcombe1998(t *testing.T) {
	for _, c := range []struct {
		x, n         int
		lower, upper float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
	} {
		got, err := Wilson(c.x, c.n, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		near3(t, "lower", got.Lower, c.lower)
		near3(t, "upper", got.Upper, c.upper)
		near3(t, "estimate", got.Estimate, float64(c.x)/float64(c.n))
	}
	// 0 means the default 95%.
	d, err := Wilson(81, 263, 0)
	if err != nil || d.Confidence != 0.95 {
		t.Errorf("default confidence: %v, %v", d.Confidence, err)
	}
	// A 99% interval is wider than a 90% one.
	w90, _ := Wilson(81, 263, 0.90)
	w99, _ := Wilson(81, 263, 0.99)
	if !(w99.Lower < w90.Lower && w99.Upper > w90.Upper) {
		t.Errorf("99%% interval %+v not wider than 90%% %+v", w99, w90)
	}
	for name, f := range map[string]func() error{
		"no trials":   func() error { _, err := Wilson(0, 0, 0.95); return err },
		"too many":    func() error { _, err := Wilson(5, 4, 0.95); return err },
		"negative":    func() error { _, err := Wilson(-1, 4, 0.95); return err },
		"confidence1": func() error { _, err := Wilson(1, 4, 1); return err },
		"confidence<": func() error { _, err := Wilson(1, 4, -0.5); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A hand-computed example. The judge passes 60 of 100 production items. On
// the calibration set people passed 100 items (the judge passed 90 of them:
// Se = 0.9) and failed 100 (the judge failed 80: Sp = 0.8).
//
// Rogan–Gladen: p = (0.6 + 0.8 - 1) / (0.9 + 0.8 - 1) = 0.4 / 0.7 = 0.571429.
//
// Lang & Reiczigel (2014), z = 1.959964, z² = 3.841459:
//
//	AP' = (60 + z²/2) / (100 + z²)      = 61.920729 / 103.841459 = 0.596301
//	Se' = (90 + 1) / (100 + 2)          = 0.892157
//	Sp' = (80 + 1) / (100 + 2)          = 0.794118
//	P'  = (AP' + Sp' - 1) / (Se' + Sp' - 1) = 0.390419 / 0.686275 = 0.568895
//	var = (AP'(1-AP')/103.841459 + P'²·Se'(1-Se')/102 + (1-P')²·Sp'(1-Sp')/102) / 0.686275²
//	    = 0.006203
//	dP  = 2z²(P'·Se'(1-Se')/102 - (1-P')·Sp'(1-Sp')/102) = -0.001186
//	CI  = P' + dP ± z·√var = 0.567709 ± 0.154364 = [0.413, 0.722]
//
// Raw: Wilson for 60/100 = [0.502, 0.691].
func TestCorrectedPassRateHand(t *testing.T) {
	cal := JudgeCalibration{TruePositives: 90, FalseNegatives: 10, TrueNegatives: 80, FalsePositives: 20}
	got, err := CorrectedPassRate(60, 100, cal, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	near3(t, "sensitivity", got.Sensitivity, 0.9)
	near3(t, "specificity", got.Specificity, 0.8)
	near3(t, "corrected", got.Corrected.Estimate, 0.571429)
	near3(t, "corrected lower", got.Corrected.Lower, 0.413345)
	near3(t, "corrected upper", got.Corrected.Upper, 0.722073)
	near3(t, "raw", got.Raw.Estimate, 0.6)
	near3(t, "raw lower", got.Raw.Lower, 0.502)
	near3(t, "raw upper", got.Raw.Upper, 0.691)
	if got.Clamped {
		t.Error("clamped, want not")
	}
	// The corrected interval is wider than the raw one: it carries the
	// uncertainty of Se and Sp too.
	if got.Corrected.Width() <= got.Raw.Width() {
		t.Errorf("corrected width %v not above raw %v", got.Corrected.Width(), got.Raw.Width())
	}
}

func TestCorrectedPassRateEdges(t *testing.T) {
	// A perfect judge (on a large calibration set) leaves the rate alone.
	perfect := JudgeCalibration{TruePositives: 100000, TrueNegatives: 100000}
	got, err := CorrectedPassRate(300, 1000, perfect, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	near3(t, "perfect judge", got.Corrected.Estimate, 0.3)
	near3(t, "perfect judge lower", got.Corrected.Lower, got.Raw.Lower)
	near3(t, "perfect judge upper", got.Corrected.Upper, got.Raw.Upper)

	// 5% observed with Sp = 0.8: fewer passes than false positives alone
	// would give, so the estimate is clamped to 0.
	cal := JudgeCalibration{TruePositives: 90, FalseNegatives: 10, TrueNegatives: 80, FalsePositives: 20}
	got, err = CorrectedPassRate(5, 100, cal, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Clamped || got.Corrected.Estimate != 0 || got.Corrected.Lower != 0 {
		t.Errorf("clamp: %+v", got)
	}

	// A judge no better than a coin: undefined.
	coin := JudgeCalibration{TruePositives: 50, FalseNegatives: 50, TrueNegatives: 50, FalsePositives: 50}
	got, err = CorrectedPassRate(50, 100, coin, 0.95)
	if !errors.Is(err, ErrUndefined) || !math.IsNaN(got.Corrected.Estimate) || got.Raw.Estimate != 0.5 {
		t.Errorf("coin judge: %+v, %v", got, err)
	}
	// No failed items in calibration: specificity unknown.
	if _, err := CorrectedPassRate(50, 100, JudgeCalibration{TruePositives: 10}, 0.95); !errors.Is(err, ErrNoData) {
		t.Errorf("no negatives: err %v, want ErrNoData", err)
	}
	if _, err := CorrectedPassRate(50, 100, JudgeCalibration{TruePositives: -1, TrueNegatives: 3, FalseNegatives: 2}, 0.95); err == nil {
		t.Error("negative count accepted")
	}
}

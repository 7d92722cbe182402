package evalstats

import (
	"fmt"
	"math"
)

// Wilson is the Wilson (1927) score interval for successes out of trials at
// a two-sided confidence level (0 means 0.95). The estimate is the raw
// share successes/trials.
func Wilson(successes, trials int, confidence float64) (Interval, error) {
	conf, err := confidenceOrDefault(confidence)
	if err != nil {
		return Interval{}, fmt.Errorf("wilson: %w", err)
	}
	if trials <= 0 {
		return Interval{}, fmt.Errorf("wilson: %d trials: %w", trials, ErrNoData)
	}
	if successes < 0 || successes > trials {
		return Interval{}, fmt.Errorf("wilson: %d successes out of %d", successes, trials)
	}
	z := zCritical(conf)
	n := float64(trials)
	p := float64(successes) / n
	z2 := z * z
	centre := (p + z2/(2*n)) / (1 + z2/n)
	half := z / (1 + z2/n) * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return Interval{
		Estimate:   p,
		Lower:      clamp01(centre - half),
		Upper:      clamp01(centre + half),
		Confidence: conf,
	}, nil
}

// JudgeCalibration counts a pass/fail judge's verdicts against people's on
// the calibration items; people are taken as the truth.
type JudgeCalibration struct {
	TruePositives  int `json:"true_positives"`  // people pass, judge pass
	FalseNegatives int `json:"false_negatives"` // people pass, judge fail
	TrueNegatives  int `json:"true_negatives"`  // people fail, judge fail
	FalsePositives int `json:"false_positives"` // people fail, judge pass
}

// Sensitivity is TP / (TP + FN): the share of real passes the judge passes.
func (c JudgeCalibration) Sensitivity() float64 {
	return float64(c.TruePositives) / float64(c.TruePositives+c.FalseNegatives)
}

// Specificity is TN / (TN + FP): the share of real fails the judge fails.
func (c JudgeCalibration) Specificity() float64 {
	return float64(c.TrueNegatives) / float64(c.TrueNegatives+c.FalsePositives)
}

// PassRate is a pass rate measured by an imperfect judge, raw and corrected.
type PassRate struct {
	// Raw is the judge's observed pass rate with its Wilson interval.
	Raw Interval `json:"raw"`
	// Corrected is the Rogan–Gladen estimate (clamped to [0, 1]) with the
	// Lang–Reiczigel (2014) interval, which accounts for the uncertainty in
	// the observed rate, the sensitivity and the specificity.
	Corrected   Interval `json:"corrected"`
	Sensitivity float64  `json:"sensitivity"`
	Specificity float64  `json:"specificity"`
	// Clamped is set when the unclamped estimate fell outside [0, 1]: the
	// observed rate is not consistent with the measured error rates.
	Clamped bool `json:"clamped"`
}

// CorrectedPassRate corrects a judge's pass rate (passes out of items) for
// the judge's sensitivity and specificity measured against people on a
// calibration set. The estimate is Rogan & Gladen's (1978)
// p = (p_obs + Sp - 1) / (Se + Sp - 1), clamped to [0, 1]. The interval is
// Lang & Reiczigel's (2014): the delta-method variance of Rogan & Gladen
// computed on Agresti–Coull adjusted proportions (z²/2 successes and z²
// trials added to the observed rate, one success and two trials to Se and
// Sp), shifted by their bias term and clamped to [0, 1]; it matches the R
// function asht::prevSeSp. When Se + Sp ≤ 1 the judge is no better than
// chance: the Corrected interval is NaN and the error wraps ErrUndefined.
func CorrectedPassRate(passes, items int, cal JudgeCalibration, confidence float64) (PassRate, error) {
	raw, err := Wilson(passes, items, confidence)
	if err != nil {
		return PassRate{}, fmt.Errorf("corrected pass rate: %w", err)
	}
	nSe := cal.TruePositives + cal.FalseNegatives
	nSp := cal.TrueNegatives + cal.FalsePositives
	if cal.TruePositives < 0 || cal.FalseNegatives < 0 || cal.TrueNegatives < 0 || cal.FalsePositives < 0 {
		return PassRate{}, fmt.Errorf("corrected pass rate: negative calibration count")
	}
	if nSe == 0 || nSp == 0 {
		return PassRate{}, fmt.Errorf("corrected pass rate: calibration needs items people passed and items people failed: %w", ErrNoData)
	}
	se, sp := cal.Sensitivity(), cal.Specificity()
	nan := math.NaN()
	out := PassRate{
		Raw:         raw,
		Corrected:   Interval{Estimate: nan, Lower: nan, Upper: nan, Confidence: raw.Confidence},
		Sensitivity: se,
		Specificity: sp,
	}
	j := se + sp - 1
	if j <= 0 {
		return out, fmt.Errorf("corrected pass rate: sensitivity %.3f + specificity %.3f ≤ 1: %w", se, sp, ErrUndefined)
	}
	p := (raw.Estimate + sp - 1) / j
	out.Clamped = p < 0 || p > 1
	out.Corrected.Estimate = clamp01(p)

	// Lang & Reiczigel (2014), eqs. 6, 7, 16 and 17.
	z := zCritical(raw.Confidence)
	z2 := z * z
	nP := float64(items) + z2
	ap := (float64(passes) + z2/2) / nP
	nSeA := float64(nSe) + 2
	nSpA := float64(nSp) + 2
	seA := (float64(cal.TruePositives) + 1) / nSeA
	spA := (float64(cal.TrueNegatives) + 1) / nSpA
	jA := seA + spA - 1
	if jA <= 0 {
		return out, fmt.Errorf("corrected pass rate: adjusted sensitivity + specificity ≤ 1: %w", ErrUndefined)
	}
	pA := (ap + spA - 1) / jA
	vSe := seA * (1 - seA) / nSeA
	vSp := spA * (1 - spA) / nSpA
	shift := 2 * z2 * (pA*vSe - (1-pA)*vSp)
	variance := (ap*(1-ap)/nP + pA*pA*vSe + (1-pA)*(1-pA)*vSp) / (jA * jA)
	half := z * math.Sqrt(variance)
	out.Corrected.Lower = clamp01(pA + shift - half)
	out.Corrected.Upper = clamp01(pA + shift + half)
	return out, nil
}

// Package evalstats holds the statistics behind Weir's evaluation: how far an
// LLM judge agrees with people (Cohen's kappa, weighted kappa and their
// confusion matrix), how far people agree among themselves (Krippendorff's
// alpha), percentile and paired bootstrap intervals for calibration and
// experiment comparisons, the Wilson interval for a proportion, and pass rates
// corrected for a judge's measured sensitivity and specificity.
//
// Every function is pure, uses the standard library only and keeps no state;
// randomness comes from a seed the caller passes, so results are
// reproducible. docs/evaluation-statistics.md gives the formulas, sources and
// defaults. Any package may import it; it imports nothing from Weir.
package evalstats

import (
	"errors"
	"fmt"
	"math"
)

// ErrUndefined is returned (wrapped) when a statistic has no value for the
// data: kappa when chance agreement is already perfect (both raters used one
// and the same category), alpha when every pairable value is the same, a
// corrected pass rate when the judge is no better than chance. The result
// returned beside it carries NaN in place of the statistic.
var ErrUndefined = errors.New("statistic undefined for this data")

// ErrNoData is returned (wrapped) when there is nothing to compute on: no
// items, or no unit with at least two ratings.
var ErrNoData = errors.New("no data")

// Interval is an estimate with a two-sided confidence interval.
type Interval struct {
	Estimate   float64 `json:"estimate"`
	Lower      float64 `json:"lower"`
	Upper      float64 `json:"upper"`
	Confidence float64 `json:"confidence"` // e.g. 0.95
}

// Contains reports whether x lies within [Lower, Upper].
func (i Interval) Contains(x float64) bool { return x >= i.Lower && x <= i.Upper }

// Width is Upper - Lower.
func (i Interval) Width() float64 { return i.Upper - i.Lower }

// DefaultConfidence is the confidence level used when a caller passes 0.
const DefaultConfidence = 0.95

// confidenceOrDefault validates a confidence level, 0 meaning the default.
func confidenceOrDefault(c float64) (float64, error) {
	if c == 0 {
		return DefaultConfidence, nil
	}
	if !(c > 0 && c < 1) {
		return 0, fmt.Errorf("confidence %v: must be in (0, 1)", c)
	}
	return c, nil
}

// zCritical is the two-sided standard normal quantile for a confidence
// level: 1.959964 for 0.95.
func zCritical(confidence float64) float64 {
	return math.Sqrt2 * math.Erfinv(confidence)
}

func clamp01(x float64) float64 {
	return math.Min(1, math.Max(0, x))
}

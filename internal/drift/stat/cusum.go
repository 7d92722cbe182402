package stat

import (
	"errors"
	"fmt"
	"math"
)

// Side says which shifts a CUSUM watches.
type Side int

const (
	// BothSides watches for upward and downward shifts (two one-sided
	// CUSUMs run together; either may alarm).
	BothSides Side = iota
	// Upper watches for upward shifts only.
	Upper
	// Lower watches for downward shifts only.
	Lower
)

// Default CUSUM design, in baseline standard deviations: k = 0.5 is tuned to
// a one-σ shift, h = 5 gives an in-control average run length of about 465
// observations for the two-sided scheme and detects a one-σ shift after
// about 10 (Montgomery, Introduction to Statistical Quality Control,
// §9.1.3).
const (
	DefaultCUSUMK = 0.5
	DefaultCUSUMH = 5
)

// CUSUMConfig designs a tabular CUSUM on the standardized values
// z = (x - Mean)/SD of a baseline with known mean and standard deviation.
type CUSUMConfig struct {
	Mean float64 // baseline (target) mean μ0
	SD   float64 // baseline standard deviation σ, > 0
	K    float64 // reference value in σ; 0 means DefaultCUSUMK
	H    float64 // decision interval in σ; 0 means DefaultCUSUMH
	Side Side
}

// ErrCUSUMConfig marks an invalid CUSUMConfig.
var ErrCUSUMConfig = errors.New("invalid cusum config")

func (c CUSUMConfig) withDefaults() (CUSUMConfig, error) {
	if c.K == 0 {
		c.K = DefaultCUSUMK
	}
	if c.H == 0 {
		c.H = DefaultCUSUMH
	}
	switch {
	case math.IsNaN(c.Mean) || math.IsInf(c.Mean, 0):
		return c, fmt.Errorf("mean %v: %w", c.Mean, ErrCUSUMConfig)
	case !(c.SD > 0) || math.IsInf(c.SD, 0):
		return c, fmt.Errorf("sd %v must be positive: %w", c.SD, ErrCUSUMConfig)
	case !(c.K >= 0) || math.IsInf(c.K, 0):
		return c, fmt.Errorf("k %v must be non-negative: %w", c.K, ErrCUSUMConfig)
	case !(c.H > 0) || math.IsInf(c.H, 0):
		return c, fmt.Errorf("h %v must be positive: %w", c.H, ErrCUSUMConfig)
	case c.Side < BothSides || c.Side > Lower:
		return c, fmt.Errorf("side %d: %w", c.Side, ErrCUSUMConfig)
	}
	return c, nil
}

// CUSUM is a running tabular CUSUM, fed one observation at a time:
//
//	C⁺ᵢ = max(0, C⁺ᵢ₋₁ + zᵢ - k),  C⁻ᵢ = max(0, C⁻ᵢ₋₁ - zᵢ - k)
//
// with an alarm when either watched sum exceeds h. It is not safe for
// concurrent use.
type CUSUM struct {
	cfg          CUSUMConfig
	i            int     // index of the next observation
	hi, lo       float64 // C⁺ and C⁻
	hiRun, loRun int     // index of the first observation of the current run above zero
}

// NewCUSUM validates cfg (filling zero K and H with the defaults) and
// returns a CUSUM with both sums at zero.
func NewCUSUM(cfg CUSUMConfig) (*CUSUM, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &CUSUM{cfg: c}, nil
}

// Alarm describes a CUSUM signal.
type Alarm struct {
	// Index is the observation at which a sum first exceeded h.
	Index int
	// ChangePoint estimates where the shift began: the first observation
	// after the alarming sum last stood at zero.
	ChangePoint int
	// Direction is +1 for an upward shift, -1 for a downward one.
	Direction int
	// Sum is the alarming sum's value, in σ.
	Sum float64
}

// Add feeds the next observation and reports whether it raised an alarm.
// NaN and infinite observations are skipped (they still take an index, so
// indexes match the caller's slice) and never alarm. After an alarm the
// sums keep running; call Reset to restart monitoring.
func (c *CUSUM) Add(x float64) (Alarm, bool) {
	i := c.i
	c.i++
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return Alarm{}, false
	}
	z := (x - c.cfg.Mean) / c.cfg.SD
	if c.hi == 0 {
		c.hiRun = i
	}
	if c.lo == 0 {
		c.loRun = i
	}
	c.hi = math.Max(0, c.hi+z-c.cfg.K)
	c.lo = math.Max(0, c.lo-z-c.cfg.K)
	up := c.cfg.Side != Lower && c.hi > c.cfg.H
	down := c.cfg.Side != Upper && c.lo > c.cfg.H
	switch {
	case up && (!down || c.hi >= c.lo):
		return Alarm{Index: i, ChangePoint: c.hiRun, Direction: 1, Sum: c.hi}, true
	case down:
		return Alarm{Index: i, ChangePoint: c.loRun, Direction: -1, Sum: c.lo}, true
	}
	return Alarm{}, false
}

// Sums returns the current C⁺ and C⁻, in σ.
func (c *CUSUM) Sums() (upper, lower float64) { return c.hi, c.lo }

// Reset sets both sums to zero, keeping the observation index.
func (c *CUSUM) Reset() { c.hi, c.lo = 0, 0 }

// DetectCUSUM runs a fresh CUSUM over xs and returns its first alarm, if
// any.
func DetectCUSUM(xs []float64, cfg CUSUMConfig) (Alarm, bool, error) {
	c, err := NewCUSUM(cfg)
	if err != nil {
		return Alarm{}, false, err
	}
	for _, x := range xs {
		if a, ok := c.Add(x); ok {
			return a, true, nil
		}
	}
	return Alarm{}, false, nil
}

package pricing

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Money is an amount of US dollars in femto-dollars (1e-15 USD). A price of
// one nano-dollar per million tokens is exactly one femto-dollar per token,
// so every published price (the finest is a few hundredths of a dollar per
// million tokens) times any token count is a whole number of femto-dollars:
// no rounding happens while a cost is computed. An int64 holds $9,223 of
// femto-dollars, far above the cost of any single call; add many calls up
// with Sum, which does not overflow.
type Money int64

// Femto-dollars per unit.
const (
	Femto Money = 1
	Pico  Money = 1e3
	Nano  Money = 1e6
	Micro Money = 1e9
	Milli Money = 1e12
	USD   Money = 1e15
)

// Price is a price in nano-dollars per million tokens, which is also
// femto-dollars per token; for a fee it is nano-dollars per thousand units.
type Price int64

// String formats m in dollars rounded half-to-even to 6 decimal places
// (micro-dollars), the display rule of Weir.
func (m Money) String() string { return m.Format(6) }

// Format formats m in dollars rounded half-to-even to places decimals
// (0..15). This is the only place Weir rounds money.
func (m Money) Format(places int) string {
	places = max(0, min(places, 15))
	neg := m < 0
	u := uint64(m)
	if neg {
		u = uint64(-m)
	}
	div := uint64(1)
	for range 15 - places {
		div *= 10
	}
	q, r := u/div, u%div
	if half := div / 2; div > 1 && (r > half || (r == half && q%2 == 1)) {
		q++
	}
	p := uint64(1)
	for range places {
		p *= 10
	}
	s := strconv.FormatUint(q/p, 10)
	if places > 0 {
		f := strconv.FormatUint(q%p, 10)
		s += "." + strings.Repeat("0", places-len(f)) + f
	}
	if neg && q != 0 {
		s = "-" + s
	}
	return s
}

// Dollars is m as a float, for display and metrics only.
func (m Money) Dollars() float64 { return float64(m) / float64(USD) }

// mulTokens returns n*p, and false when it overflows.
func mulTokens(n int64, p Price) (Money, bool) {
	if n == 0 || p == 0 {
		return 0, true
	}
	hi, lo := bits.Mul64(uint64(n), uint64(p))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return Money(lo), true
}

// scale returns m*ppm/1e6 rounded half-to-even, and false on overflow. All
// published multipliers (0.5, 0.25, 2, 1.7...) applied to published prices
// give whole femto-dollars, so the rounding is never exercised by them.
func scale(m Money, ppm int64) (Money, bool) {
	if ppm == million {
		return m, true
	}
	hi, lo := bits.Mul64(uint64(m), uint64(ppm))
	if hi >= million {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, million)
	if r > million/2 || (r == million/2 && q%2 == 1) {
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	return Money(q), true
}

const million = 1_000_000

// Sum adds up Money without overflow: whole dollars and the femto-dollar
// remainder are kept apart. The zero value is an empty sum.
type Sum struct {
	dollars int64
	femto   int64 // 0 <= femto < 1e15
}

// Add adds m to the sum.
func (s *Sum) Add(m Money) {
	s.dollars += int64(m / USD)
	s.femto += int64(m % USD)
	switch {
	case s.femto >= int64(USD):
		s.dollars++
		s.femto -= int64(USD)
	case s.femto < 0:
		s.dollars--
		s.femto += int64(USD)
	}
}

// Dollars returns the whole dollars and the femto-dollar remainder.
func (s Sum) Dollars() (dollars int64, femto Money) { return s.dollars, Money(s.femto) }

// Format formats the sum like Money.Format.
func (s Sum) Format(places int) string {
	if s.dollars == 0 || s.dollars > 0 {
		f := Money(s.femto).Format(places)
		whole, frac, _ := strings.Cut(f, ".")
		w, _ := strconv.ParseInt(whole, 10, 64)
		out := strconv.FormatInt(s.dollars+w, 10)
		if frac != "" {
			out += "." + frac
		}
		return out
	}
	// Negative sums: format the negated value.
	n := Sum{dollars: -s.dollars, femto: 0}
	n.Add(-Money(s.femto))
	return "-" + n.Format(places)
}

// parseDecimal reads a non-negative decimal such as "3", "0.0375" or "1e-2"
// is not accepted: plain decimals only, with at most 9 fractional digits. It
// returns the value times 1e9 (nano-units), exactly.
func parseDecimal(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("negative price %s", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > 9 {
		return 0, fmt.Errorf("price %s has more than 9 decimals", s)
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid number %q", s)
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 1_000_000_000 {
		return 0, fmt.Errorf("number %s out of range", s)
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return w*1_000_000_000 + f, nil
}

// formatDecimal is the inverse of parseDecimal.
func formatDecimal(n int64) string {
	s := strconv.FormatInt(n/1e9, 10)
	if f := n % 1e9; f != 0 {
		fs := strconv.FormatInt(f, 10)
		fs = strings.Repeat("0", 9-len(fs)) + fs
		s += "." + strings.TrimRight(fs, "0")
	}
	return s
}

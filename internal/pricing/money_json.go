package pricing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MarshalJSON writes m as an exact decimal number of dollars, with up to 15
// decimals and no trailing zeros: 0.000225 for 225 micro-dollars. Readers
// that parse it as a float lose only what a float cannot hold.
func (m Money) MarshalJSON() ([]byte, error) {
	s := m.Format(15)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return []byte(s), nil
}

// UnmarshalJSON reads a decimal number of dollars exactly, to the
// femto-dollar; finer digits are an error, not a rounding.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	v, err := parseDollars(s)
	if err != nil {
		return fmt.Errorf("money %s: %w", s, err)
	}
	*m = v
	return nil
}

var errMoneySyntax = errors.New("not a decimal number of dollars with at most 15 decimals")

func parseDollars(s string) (Money, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 15 || strings.ContainsAny(whole+frac, "eE+-") {
		return 0, errMoneySyntax
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > int64(maxMoney/USD) {
		return 0, errMoneySyntax
	}
	var f int64
	if frac != "" {
		f, err = strconv.ParseInt(frac+strings.Repeat("0", 15-len(frac)), 10, 64)
		if err != nil {
			return 0, errMoneySyntax
		}
	}
	v := Money(w)*USD + Money(f)
	if v < 0 { // wrapped: above $9,223.372036854775807
		return 0, errMoneySyntax
	}
	if neg {
		v = -v
	}
	return v, nil
}

const maxMoney = Money(1<<63 - 1)

// UnmarshalJSON reads the unit names MarshalJSON writes.
func (s *UnitSet) UnmarshalJSON(b []byte) error {
	var names []string
	if err := jsonUnmarshal(b, &names); err != nil {
		return fmt.Errorf("unpriced units: %w", err)
	}
	*s = 0
	for _, n := range names {
		found := false
		for i, u := range unitNames {
			if u == n {
				*s |= 1 << i
				found = true
			}
		}
		if !found {
			return fmt.Errorf("unknown unit %q", n)
		}
	}
	return nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Package value ties calls to business outcomes: use case definitions with
// their KPIs and versioned value rules, KPI results per instance, and the
// reports that turn spend and outcomes into cost per outcome and value per
// dollar. Definitions and results live in the store (as documents and
// rows); this package validates them and computes reports. The API and the
// app import it; it imports pricing and store.
package value

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
)

// KPI types.
const (
	TypeBoolean    = "boolean"
	TypeNumber     = "number"
	TypePercentage = "percentage"
	TypeLikert5    = "likert5"
	TypeLikert7    = "likert7"
	TypeLikert10   = "likert10"
	TypeCurrency   = "currency"
)

// Directions of a KPI's goal.
const (
	HigherIsBetter = "higher"
	LowerIsBetter  = "lower"
)

// UseCase is a GenAI use case: what it is for, who owns it, its current
// version and its KPIs.
type UseCase struct {
	Name           string `json:"name"`
	Description    string `json:"description,omitempty"`
	BusinessOwner  string `json:"business_owner,omitempty"`
	TechnicalOwner string `json:"technical_owner,omitempty"`
	// Version is the current version; calls carry theirs in
	// x-weir-use-case-version. It changes only explicitly (POST
	// .../versions), each change logged in Versions.
	Version  string    `json:"version"`
	Versions []Version `json:"versions,omitempty"`
	KPIs     []KPI     `json:"kpis"`
}

// Version is one entry of a use case's version log.
type Version struct {
	Version string    `json:"version"`
	From    time.Time `json:"from"`
	Note    string    `json:"note,omitempty"`
}

// KPI is a key performance indicator of a use case.
type KPI struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Unit string `json:"unit,omitempty"`
	// Goal is the target: a rate for boolean KPIs (0.7: 70% of instances),
	// a mean for the others. Direction says which side is better.
	Goal      *float64 `json:"goal,omitempty"`
	Direction string   `json:"direction"`
	// Value rules turn a result into money and time saved; the rule in
	// force at a result's time applies.
	Value []ValueRule `json:"value,omitempty"`
}

// ValueRule is what one unit of a KPI result is worth from a date on: one
// true boolean, one point of a number, one unit of currency.
type ValueRule struct {
	From           *pricing.Date   `json:"from,omitempty"`
	USDPerUnit     pricing.Decimal `json:"usd_per_unit"`
	MinutesPerUnit pricing.Decimal `json:"minutes_per_unit"`
	Note           string          `json:"note,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Validate checks a use case definition.
func (u *UseCase) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !nameRE.MatchString(u.Name) {
		bad("name %q: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", u.Name)
	}
	if u.Version == "" {
		bad("version is required (e.g. \"1\")")
	}
	seen := map[string]bool{}
	for i, k := range u.KPIs {
		key := fmt.Sprintf("kpis[%d]", i)
		if !nameRE.MatchString(k.Name) {
			bad("%s.name %q: 1-128 letters, digits, '.', '_' or '-'", key, k.Name)
		}
		if seen[k.Name] {
			bad("%s.name %q is used twice", key, k.Name)
		}
		seen[k.Name] = true
		if _, _, ok := bounds(k.Type); !ok {
			bad("%s.type %q: want boolean, number, percentage, likert5, likert7, likert10 or currency", key, k.Type)
		}
		if k.Direction != HigherIsBetter && k.Direction != LowerIsBetter {
			bad("%s.direction %q: want higher or lower", key, k.Direction)
		}
		if k.Goal != nil && (math.IsNaN(*k.Goal) || math.IsInf(*k.Goal, 0)) {
			bad("%s.goal is not a number", key)
		}
		if k.Goal != nil && k.Type == TypeBoolean && (*k.Goal < 0 || *k.Goal > 1) {
			bad("%s.goal %v: a boolean KPI's goal is a rate between 0 and 1", key, *k.Goal)
		}
		var prev *pricing.Date
		for j, r := range k.Value {
			// The first rule may have no date (since always); each later one
			// needs one, later than the rule before.
			if j > 0 && (r.From == nil || prev != nil && !r.From.After(prev.Time)) {
				bad("%s.value[%d]: rules after the first need a from date later than the previous one", key, j)
			}
			prev = r.From
		}
	}
	return errors.Join(errs...)
}

// bounds are the allowed result range of a KPI type.
func bounds(typ string) (lo, hi float64, ok bool) {
	switch typ {
	case TypeBoolean:
		return 0, 1, true
	case TypePercentage:
		return 0, 100, true
	case TypeLikert5:
		return 1, 5, true
	case TypeLikert7:
		return 1, 7, true
	case TypeLikert10:
		return 1, 10, true
	case TypeNumber, TypeCurrency:
		return math.Inf(-1), math.Inf(1), true
	}
	return 0, 0, false
}

// KPI returns the KPI named name.
func (u *UseCase) KPI(name string) (*KPI, bool) {
	i := slices.IndexFunc(u.KPIs, func(k KPI) bool { return k.Name == name })
	if i < 0 {
		return nil, false
	}
	return &u.KPIs[i], true
}

// rule returns the value rule in force at t, if any.
func (k *KPI) rule(t time.Time) *ValueRule {
	var out *ValueRule
	for i := range k.Value {
		r := &k.Value[i]
		if r.From == nil || !t.Before(r.From.Time) {
			out = r
		}
	}
	return out
}

// ParseResult reads a KPI result as sent to the API: true or false for a
// boolean KPI, else a JSON number, into units of 1e-9, exactly. It checks
// the KPI type's range (likert5: whole numbers 1 to 5; percentage: 0 to
// 100).
func (k *KPI) ParseResult(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if k.Type == TypeBoolean {
		switch s {
		case "true", "1":
			return 1e9, nil
		case "false", "0":
			return 0, nil
		}
		return 0, fmt.Errorf("KPI %s is boolean: want true or false, got %s", k.Name, s)
	}
	n, err := parseNanos(s)
	if err != nil {
		return 0, fmt.Errorf("KPI %s: %w", k.Name, err)
	}
	lo, hi, _ := bounds(k.Type)
	f := float64(n) / 1e9
	if f < lo || f > hi {
		return 0, fmt.Errorf("KPI %s (%s): %s is outside %v..%v", k.Name, k.Type, s, lo, hi)
	}
	if strings.HasPrefix(k.Type, "likert") && n%1e9 != 0 {
		return 0, fmt.Errorf("KPI %s (%s): %s is not a whole point", k.Name, k.Type, s)
	}
	return n, nil
}

// parseNanos parses a decimal number (optionally signed, at most 9
// decimals, no exponent) into units of 1e-9.
func parseNanos(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if whole == "" || len(frac) > 9 || strings.ContainsAny(whole+frac, "+-eE") {
		return 0, fmt.Errorf("%q: want a decimal number with at most 9 decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/1_000_000_000-1 {
		return 0, fmt.Errorf("%q: want a decimal number below 9.2e9", s)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return 0, fmt.Errorf("%q: want a decimal number", s)
		}
	}
	n := w*1e9 + f
	if neg {
		n = -n
	}
	return n, nil
}

// FormatNanos writes units of 1e-9 as a decimal without trailing zeros.
func FormatNanos(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n/1e9, 10)
	if f := n % 1e9; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", f), "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// SortKPIs orders a use case's KPIs by name, for stable reports.
func SortKPIs(ks []KPI) { sort.Slice(ks, func(i, j int) bool { return ks[i].Name < ks[j].Name }) }

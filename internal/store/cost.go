package store

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
)

// CostReader answers questions about what calls cost.
//
// A call is priced when its record has CostUSD; unpriced when it reached a
// provider but could not be priced (CostUSD nil, Cost non-nil); and neither
// when it never reached a provider (Cost nil).
type CostReader interface {
	// UnpricedModels lists, for the unpriced calls received in [From, To)
	// (q must have no filters, GroupBy or ThenBy),
	// each (provider, model) with its number of calls, when it was first
	// and last seen and the union of the units that had no price; most
	// calls first, then by provider and model. q.GroupBy must be empty.
	UnpricedModels(ctx context.Context, q CostQuery) ([]UnpricedModel, error)
	// CostTotals sums the cost of the calls received in [From, To) that
	// pass q's filters, exactly, grouped by q.GroupBy and then q.ThenBy,
	// with the number of calls, priced calls, unpriced calls and tokens of
	// each group; most expensive first, then by keys ascending.
	CostTotals(ctx context.Context, q CostQuery) ([]CostTotal, error)
}

// Dimensions of CostQuery.GroupBy.
const (
	// GroupNone makes one group, with the empty key, of all the calls in
	// the range (none when there are no calls).
	GroupNone     = ""
	GroupProvider = "provider" // record.Record.Provider
	GroupModel    = "model"    // record.Record.Model, as sent upstream
	GroupUseCase  = "use_case"
	GroupTeam     = "team"
	GroupUser     = "user"
	GroupAccount  = "account"
	// GroupDay groups by the UTC day of received_at; keys are YYYY-MM-DD.
	GroupDay = "day"
)

// CostQuery selects the calls of a cost question.
type CostQuery struct {
	// From (inclusive) and To (exclusive) bound received_at; the zero time
	// does not bound.
	From, To time.Time
	// GroupBy is the dimension CostTotals groups by, one of the Group
	// constants.
	GroupBy string
	// ThenBy optionally splits each group by a second dimension (a Group
	// constant other than GroupNone and GroupBy); the groups' Key2.
	ThenBy string
	// Filters: only the calls whose field equals the value. Empty does not
	// filter. Provider is the configured provider name, Model the model as
	// sent upstream.
	Provider, Model, UseCase, Team, User, Account string
	// UseCaseInstance filters by x-weir-use-case-instance; Application and
	// APIKeyID by the application key that made the call.
	UseCaseInstance, Application, APIKeyID string
	// Limit is the number of rows: DefaultLimit when 0, at most MaxLimit
	// (larger values are clamped), negative is invalid.
	Limit int
}

// Plan validates q and returns its effective limit and time bounds (Plan.After
// is always nil). Errors wrap ErrInvalidQuery.
func (q CostQuery) Plan() (Plan, error) {
	switch q.GroupBy {
	case GroupNone, GroupProvider, GroupModel, GroupUseCase, GroupTeam, GroupUser, GroupAccount, GroupDay:
	default:
		return Plan{}, fmt.Errorf("%w: cannot group by %q", ErrInvalidQuery, q.GroupBy)
	}
	switch q.ThenBy {
	case GroupNone:
	case GroupProvider, GroupModel, GroupUseCase, GroupTeam, GroupUser, GroupAccount, GroupDay:
		if q.GroupBy == GroupNone || q.ThenBy == q.GroupBy {
			return Plan{}, fmt.Errorf("%w: then_by %q needs a different group_by first", ErrInvalidQuery, q.ThenBy)
		}
	default:
		return Plan{}, fmt.Errorf("%w: cannot group by %q", ErrInvalidQuery, q.ThenBy)
	}
	return RequestQuery{From: q.From, To: q.To, Limit: q.Limit}.Plan()
}

// HasFilters reports whether q filters by anything but time.
func (q CostQuery) HasFilters() bool {
	return q.Provider+q.Model+q.UseCase+q.Team+q.User+q.Account+q.UseCaseInstance+q.Application+q.APIKeyID != ""
}

// UnpricedModel is a model some calls went to that could not be priced.
type UnpricedModel struct {
	// Provider is the configured provider name (record.Record.Provider).
	Provider string `json:"provider"`
	// Model is the model as sent upstream (record.Record.Model).
	Model     string    `json:"model"`
	Calls     int64     `json:"calls"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Units is the union of the calls' unpriced units.
	Units pricing.UnitSet `json:"unpriced_units"`
}

// CostTotal is the cost of one group of calls.
type CostTotal struct {
	// Key is the group's value of the GroupBy dimension; empty for calls
	// without one (no team, say).
	Key string `json:"key"`
	// Key2 is the group's value of the ThenBy dimension, when there is one.
	Key2  string `json:"key2,omitempty"`
	Calls int64  `json:"calls"`
	// PricedCalls have a cost; UnpricedCalls reached a provider but have
	// none. The other calls never reached a provider.
	PricedCalls   int64 `json:"priced_calls"`
	UnpricedCalls int64 `json:"unpriced_calls"`
	// CostUSD is the exact sum of the priced calls' costs; it leaves the
	// unpriced calls out, so it is a lower bound when UnpricedCalls > 0.
	CostUSD Amount `json:"cost_usd"`
	// InputTokens and OutputTokens sum the calls' usage (cached, audio and
	// reasoning parts included).
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// Amount is an exact sum of money, too large for pricing.Money: whole
// dollars and a femto-dollar remainder, like pricing.Sum. It holds about
// $9.2e18. The zero value is $0.
type Amount struct {
	dollars int64
	femto   int64 // 0 <= femto < 1e15
}

// Add adds m.
func (a *Amount) Add(m pricing.Money) {
	a.dollars += int64(m / pricing.USD)
	a.addFemto(int64(m % pricing.USD))
}

// AddDollars adds n whole dollars.
func (a *Amount) AddDollars(n int64) { a.dollars += n }

// AddAmount adds b.
func (a *Amount) AddAmount(b Amount) {
	a.dollars += b.dollars
	a.addFemto(b.femto)
}

// SubAmount subtracts b.
func (a *Amount) SubAmount(b Amount) {
	a.dollars -= b.dollars
	a.addFemto(-b.femto)
}

// AddMicro adds n micro-dollars.
func (a *Amount) AddMicro(n int64) {
	const perDollar = int64(pricing.USD / pricing.Micro)
	a.dollars += n / perDollar
	a.addFemto(n % perDollar * int64(pricing.Micro))
}

// addFemto adds f, |f| < 1e15.
func (a *Amount) addFemto(f int64) {
	a.femto += f
	switch {
	case a.femto >= int64(pricing.USD):
		a.dollars++
		a.femto -= int64(pricing.USD)
	case a.femto < 0:
		a.dollars--
		a.femto += int64(pricing.USD)
	}
}

// Parts returns the whole dollars (rounded down) and the femto-dollar
// remainder, 0 <= femto < 1e15.
func (a Amount) Parts() (dollars int64, femto pricing.Money) {
	return a.dollars, pricing.Money(a.femto)
}

// Cmp returns -1, 0 or +1 as a is less than, equal to or more than b.
func (a Amount) Cmp(b Amount) int {
	if c := cmp.Compare(a.dollars, b.dollars); c != 0 {
		return c
	}
	return cmp.Compare(a.femto, b.femto)
}

// Format formats a in dollars rounded half-to-even to places decimals
// (0..15), like pricing.Money.Format.
func (a Amount) Format(places int) string {
	d, f, neg := a.dollars, a.femto, false
	if d < 0 { // -(d + f) = (-d-1) + (1e15-f)
		neg = true
		d = -d
		if f > 0 {
			d--
			f = int64(pricing.USD) - f
		}
	}
	whole, frac, _ := strings.Cut(pricing.Money(f).Format(places), ".")
	if whole == "1" { // rounded up to the next dollar
		d++
	}
	s := strconv.FormatInt(d, 10)
	if frac != "" {
		s += "." + frac
	}
	if neg && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s
}

// String formats a rounded to 6 decimals, the display rule of Weir.
func (a Amount) String() string { return a.Format(6) }

// MarshalJSON writes a as an exact decimal number of dollars, with up to 15
// decimals and no trailing zeros, like pricing.Money.
func (a Amount) MarshalJSON() ([]byte, error) {
	s := a.Format(15)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return []byte(s), nil
}

// UnmarshalJSON reads what MarshalJSON writes: a decimal number of dollars
// with at most 15 decimals.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	bad := fmt.Errorf("amount %s: not a decimal number of dollars with at most 15 decimals", s)
	if whole == "" || len(frac) > 15 || strings.ContainsAny(whole+frac, "+-eE") {
		return bad
	}
	d, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return bad
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 15-len(frac)), 10, 64); err != nil {
			return bad
		}
	}
	v := Amount{dollars: d}
	if neg {
		v.dollars, f = -d, -f
	}
	v.addFemto(f)
	*a = v
	return nil
}

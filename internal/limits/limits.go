// Package limits caps spend (USD) and tokens per use case, instance, team,
// user, account, provider or model over calendar windows. The gateway asks
// Admit before a call reaches a provider, with the call's pre-call
// estimate, and settles the ticket with the real cost after: a block-mode
// limit refuses a call whose estimate would take spent + in flight past
// it, so concurrent calls cannot overshoot by more than their estimates
// understate. Counters live behind the Counters interface (in memory here;
// a shared store for several replicas later), loaded from the store's
// recorded spend when first used. The app wires it; it imports pricing,
// record, store and apierror.
package limits

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
)

// Windows.
const (
	WindowDay      = "day"
	WindowWeek     = "week" // from Monday
	WindowMonth    = "month"
	WindowLifetime = "lifetime"
)

// Modes.
const (
	ModeBlock = "block"
	ModeWarn  = "warn"
)

// Per dimensions: a limit with Per counts each value apart ("each support
// chat may spend at most $0.05").
const (
	PerNone     = ""
	PerInstance = "instance"
	PerUseCase  = "use_case"
	PerTeam     = "team"
	PerUser     = "user"
	PerAccount  = "account"
)

// ErrInvalid is wrapped when a limit definition is refused.
var ErrInvalid = errors.New("invalid limit")

// Limit is a cap on spend or tokens.
type Limit struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Match selects the calls the limit counts (empty fields match all).
	Match Match `json:"match"`
	// Per counts each value of a dimension apart.
	Per string `json:"per,omitempty"`
	// USD or Tokens (input + output) is the cap; exactly one.
	USD    *pricing.Decimal `json:"usd,omitempty"`
	Tokens *int64           `json:"tokens,omitempty"`
	// Window is day, week, month or lifetime, calendar-aligned in TimeZone
	// (IANA name, default UTC).
	Window   string `json:"window"`
	TimeZone string `json:"time_zone,omitempty"`
	// Mode block refuses calls at the cap; warn lets them through.
	Mode string `json:"mode"`
	// Threshold is the share of the cap that raises an early warning
	// (default 0.8).
	Threshold float64 `json:"threshold,omitempty"`
}

// Match selects calls by their attribution, provider and model.
type Match struct {
	UseCase  string `json:"use_case,omitempty"`
	Team     string `json:"team,omitempty"`
	User     string `json:"user,omitempty"`
	Account  string `json:"account,omitempty"`
	Provider string `json:"provider,omitempty"`
	Model    string `json:"model,omitempty"`
}

func (m Match) matches(rec *record.Record) bool {
	return (m.UseCase == "" || m.UseCase == rec.UseCase) && (m.Team == "" || m.Team == rec.Team) &&
		(m.User == "" || m.User == rec.User) && (m.Account == "" || m.Account == rec.Account) &&
		(m.Provider == "" || m.Provider == rec.Provider) && (m.Model == "" || m.Model == rec.Model)
}

// perValue is the value of l's Per dimension for rec.
func (l *Limit) perValue(rec *record.Record) string {
	switch l.Per {
	case PerInstance:
		return rec.UseCaseInstance
	case PerUseCase:
		return rec.UseCase
	case PerTeam:
		return rec.Team
	case PerUser:
		return rec.User
	case PerAccount:
		return rec.Account
	}
	return ""
}

// Validate checks a limit alone.
func (l *Limit) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if l.Name == "" || len(l.Name) > 128 {
		bad("name: 1 to 128 characters")
	}
	if (l.USD == nil) == (l.Tokens == nil) {
		bad("exactly one of usd and tokens is required")
	}
	if l.USD != nil && (*l.USD <= 0 || int64(*l.USD) > math.MaxInt64/1000) {
		bad("usd must be above 0")
	}
	if l.Tokens != nil && *l.Tokens <= 0 {
		bad("tokens must be above 0")
	}
	switch l.Window {
	case WindowDay, WindowWeek, WindowMonth, WindowLifetime:
	default:
		bad("window %q: want day, week, month or lifetime", l.Window)
	}
	switch l.Mode {
	case ModeBlock, ModeWarn:
	default:
		bad("mode %q: want block or warn", l.Mode)
	}
	switch l.Per {
	case PerNone, PerInstance, PerUseCase, PerTeam, PerUser, PerAccount:
	default:
		bad("per %q: want instance, use_case, team, user or account", l.Per)
	}
	if l.Threshold < 0 || l.Threshold >= 1 || math.IsNaN(l.Threshold) {
		bad("threshold %v: want a share between 0 and 1 (0.8 warns at 80%%)", l.Threshold)
	}
	if _, err := time.LoadLocation(l.TimeZone); err != nil {
		bad("time_zone %q: %v", l.TimeZone, err)
	}
	return errors.Join(errs...)
}

// cap is the limit in counter units: micro-dollars or tokens.
func (l *Limit) cap() int64 {
	if l.USD != nil {
		return int64(*l.USD) / 1000 // nano-dollars to micro-dollars
	}
	return *l.Tokens
}

// units converts a cost and a token count to counter units; costs round
// up to the micro-dollar, so spend is never under-counted.
func (l *Limit) units(cost pricing.Money, tokens int64) int64 {
	if l.USD != nil {
		return ceilMicro(cost)
	}
	return tokens
}

func ceilMicro(m pricing.Money) int64 {
	u := int64(m / pricing.Micro)
	if m%pricing.Micro > 0 {
		u++
	}
	return u
}

func (l *Limit) threshold() float64 {
	if l.Threshold == 0 {
		return 0.8
	}
	return l.Threshold
}

// windowStart returns the start of the window holding t (zero for
// lifetime).
func (l *Limit) windowStart(t time.Time) time.Time {
	loc, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	t = t.In(loc)
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	switch l.Window {
	case WindowDay:
		return d
	case WindowWeek:
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case WindowMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	}
	return time.Time{}
}

// Parse decodes a limit definition strictly.
func Parse(b []byte) (Limit, error) {
	var l Limit
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return l, nil
}

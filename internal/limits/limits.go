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
	"regexp"
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
	// PerApplication and PerAPIKey count each application key's calls
	// apart (calls made with a configured gateway key have neither).
	PerApplication = "application"
	PerAPIKey      = "api_key"
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

	loc *time.Location // TimeZone, loaded once by compile
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// compile loads what Validate checked, for the hot path.
func (l *Limit) compile() error {
	if l.TimeZone == "Local" {
		return fmt.Errorf("time_zone: name a zone (Europe/Berlin), not Local")
	}
	loc, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		return fmt.Errorf("time_zone %q: %v", l.TimeZone, err)
	}
	l.loc = loc
	return nil
}

// Match selects calls by their attribution, provider and model.
type Match struct {
	UseCase  string `json:"use_case,omitempty"`
	Team     string `json:"team,omitempty"`
	User     string `json:"user,omitempty"`
	Account  string `json:"account,omitempty"`
	Provider string `json:"provider,omitempty"`
	Model    string `json:"model,omitempty"`
	// Application is the application whose key made the call.
	Application string `json:"application,omitempty"`
}

func (m Match) matches(rec *record.Record) bool {
	return (m.UseCase == "" || m.UseCase == rec.UseCase) && (m.Team == "" || m.Team == rec.Team) &&
		(m.User == "" || m.User == rec.User) && (m.Account == "" || m.Account == rec.Account) &&
		(m.Provider == "" || m.Provider == rec.Provider) && (m.Model == "" || m.Model == rec.Model) &&
		(m.Application == "" || m.Application == rec.Application)
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
	case PerApplication:
		return rec.Application
	case PerAPIKey:
		return rec.APIKeyID
	}
	return ""
}

// Validate checks a limit alone.
func (l *Limit) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if !nameRE.MatchString(l.Name) {
		bad("name %q: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", l.Name)
	}
	if (l.USD == nil) == (l.Tokens == nil) {
		bad("exactly one of usd and tokens is required")
	}
	if l.USD != nil && *l.USD <= 0 {
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
	case PerNone, PerInstance, PerUseCase, PerTeam, PerUser, PerAccount, PerApplication, PerAPIKey:
	default:
		bad("per %q: want instance, use_case, team, user, account, application or api_key", l.Per)
	}
	if !(l.Threshold >= 0 && l.Threshold < 1) {
		bad("threshold %v: want a share between 0 and 1 (0.8 warns at 80%%)", l.Threshold)
	}
	if err := l.compile(); err != nil {
		bad("%v", err)
	}
	return errors.Join(errs...)
}

// cap is the limit in counter units: nano-dollars (a Decimal's own unit;
// an int64 holds $9.2e9) or tokens.
func (l *Limit) cap() int64 {
	if l.USD != nil {
		return int64(*l.USD)
	}
	return *l.Tokens
}

// units converts a cost and a token count to counter units; costs round
// up to the nano-dollar, so spend is never under-counted.
func (l *Limit) units(cost pricing.Money, tokens int64) int64 {
	if l.USD != nil {
		return ceilNano(cost)
	}
	return tokens
}

func ceilNano(m pricing.Money) int64 {
	u := int64(m / pricing.Nano)
	if m%pricing.Nano > 0 {
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
	loc := l.loc
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	y, m, d := t.Date()
	switch l.Window {
	case WindowDay:
		return startOfDay(y, m, d, loc)
	case WindowWeek:
		// The weekday of the calendar date, not of a midnight that a
		// daylight-saving change may skip.
		wd := time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()
		return startOfDay(y, m, d-(int(wd)+6)%7, loc)
	case WindowMonth:
		return startOfDay(y, m, 1, loc)
	}
	return time.Time{}
}

// startOfDay is the first instant of a calendar day in loc: midnight, or
// the end of a daylight-saving jump over it (America/Santiago).
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	y, m, d = time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Date() // normalise (day 0 is the last of the month before)
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty != y || tm != m || td != d {
		// Midnight does not exist: the day starts when the jump ends.
		_, end := t.ZoneBounds()
		return end
	}
	return t
}

// Parse decodes a limit definition strictly.
func Parse(b []byte) (Limit, error) {
	var l Limit
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return l, nil
}

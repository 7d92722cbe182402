package dashboard

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/gateway"
	"github.com/weirhq/weir/internal/resilience"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// HealthSources are what the Latency and Providers and routes pages read
// besides the rollups: the routes' live state (circuit breakers and their
// history, rate-limit headroom) and the configured limits of each target.
// A nil field leaves out what needs it, with a note on the page.
type HealthSources struct {
	// Routes reports every route's targets with their breaker (state and
	// history) and rate-limit headroom, as GET /api/v1/routes shows them.
	// *gateway.Router implements it.
	Routes RouteStater
	// RouteConfig is the configured routes (config.Config.Routes), for
	// each target's configured requests and tokens per minute (rpm, tpm),
	// against which the buckets' levels are shown.
	RouteConfig map[string]config.Route
}

// RouteStater reports the routes' state in this process.
type RouteStater interface {
	RouteStates(now time.Time) []gateway.RouteState
}

var _ RouteStater = (*gateway.Router)(nil)

// healthRange is the time range of a latency or providers page: a preset
// span, cut into steps so that a chart has at most a few hundred points.
type healthRange struct {
	Name string
	// From and To bound the rollup query; To is the end of the step that
	// holds now, From a whole number of steps before it.
	From, To time.Time
	Step     time.Duration
}

// rangeOption is one entry of the range selector.
type rangeOption struct {
	Name, Label string
	span, step  time.Duration
}

// healthRanges are the selectable ranges, with the step of each chart.
// Each step is a whole number of the coarsest summaries that serve it (a
// 15-minute step over a day would read 1,440 per-minute summaries of
// every key, with their sketches: too slow with millions of calls), so a
// page reads at most a few thousand summaries per key.
var healthRanges = []rangeOption{
	{"1h", "last hour", time.Hour, time.Minute},
	{"24h", "last 24 hours", 24 * time.Hour, time.Hour},
	{"7d", "last 7 days", 7 * 24 * time.Hour, time.Hour},
	{"30d", "last 30 days", 30 * 24 * time.Hour, 24 * time.Hour},
}

const defaultHealthRange = "24h"

// parseHealthRange resolves the range named s ("" for the default)
// against now.
func parseHealthRange(s string, now time.Time) (healthRange, error) {
	if s == "" {
		s = defaultHealthRange
	}
	for _, o := range healthRanges {
		if o.Name == s {
			to := now.UTC().Truncate(o.step).Add(o.step)
			return healthRange{Name: o.Name, From: to.Add(-o.span), To: to, Step: o.step}, nil
		}
	}
	return healthRange{}, fmt.Errorf("%w: unknown range %q (1h, 24h, 7d or 30d)", errFilter, s)
}

// Label is the range for people.
func (h healthRange) Label() string {
	for _, o := range healthRanges {
		if o.Name == h.Name {
			return o.Label
		}
	}
	return h.Name
}

// StepLabel says how wide a chart's point is.
func (h healthRange) StepLabel() string {
	switch {
	case h.Step == 24*time.Hour:
		return "UTC day"
	case h.Step >= time.Hour && h.Step%time.Hour == 0:
		if h.Step == time.Hour {
			return "hour"
		}
		return strconv.Itoa(int(h.Step/time.Hour)) + " hours"
	case h.Step == time.Minute:
		return "minute"
	}
	return strconv.Itoa(int(h.Step/time.Minute)) + " minutes"
}

// buckets are the start times of the range's steps.
func (h healthRange) buckets() []time.Time {
	var out []time.Time
	for t := h.From; t.Before(h.To); t = t.Add(h.Step) {
		out = append(out, t)
	}
	return out
}

// callsLink is the calls list of provider and model (either may be empty)
// over the range, for the numbers of the pages.
func (h healthRange) callsLink(provider, model string) string {
	v := url.Values{}
	if provider != "" {
		v.Set("provider", provider)
	}
	if model != "" {
		v.Set("model", model)
	}
	v.Set("from", h.From.UTC().Format(time.RFC3339))
	v.Set("to", h.To.UTC().Format(time.RFC3339))
	return Prefix + "calls?" + v.Encode()
}

// pm is a provider and model: what the rollups know a target by.
type pm struct{ Provider, Model string }

func (p pm) String() string {
	switch {
	case p.Provider == "" && p.Model == "":
		return "(none)"
	case p.Provider == "":
		return p.Model
	case p.Model == "":
		return p.Provider
	}
	return p.Provider + " / " + p.Model
}

// rollupRows reads the range's summaries grouped by groupBy, limited to
// the viewer's team.
func (d *Dashboard) rollupRows(ctx context.Context, h healthRange, team string, sketches bool, groupBy ...string) ([]store.RollupRow, error) {
	return d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: h.From, To: h.To, Step: h.Step, GroupBy: groupBy,
		Filter: rollup.Key{Team: team}, Sketches: sketches})
}

// headroomRow is one route target's live state: its breaker and what is
// left of its rate limits.
type headroomRow struct {
	Route, Provider, Model string
	Priority, Weight       int
	Breaker                resilience.Snapshot
	// RPM and TPM are the configured limits per minute (0: none);
	// RPMLeft and TPMLeft what the local buckets hold now.
	RPM, TPM         int64
	RPMLeft, TPMLeft *float64
	Headroom         resilience.HeadroomSnapshot
	// History is the breaker's transitions, newest first.
	History []resilience.Transition
}

// Target is the row's provider and model for people.
func (r headroomRow) Target() string { return pm{r.Provider, r.Model}.String() }

// Left formats a bucket's level (whole units).
func (r headroomRow) Left(p *float64) string {
	if p == nil {
		return "—"
	}
	return count(int64(*p))
}

// Level is p for a <meter>, clamped to [0, limit].
func (r headroomRow) Level(p *float64, limit int64) int64 {
	if p == nil {
		return 0
	}
	return max(0, min(limit, int64(*p)))
}

// Fifth is a fifth of limit: below it a <meter> shows the headroom as
// running out.
func (r headroomRow) Fifth(limit int64) int64 { return limit / 5 }

// routeStates returns every route target's state with its configured
// limits, in the routes' order (nil when no router is wired).
func (d *Dashboard) routeStates() []headroomRow {
	if d.opt.Health.Routes == nil {
		return nil
	}
	var out []headroomRow
	for _, rs := range d.opt.Health.Routes.RouteStates(d.now()) {
		cfg := d.opt.Health.RouteConfig[rs.Name].Targets
		used := make([]bool, len(cfg))
		for _, t := range rs.Targets {
			row := headroomRow{Route: rs.Name, Provider: t.Provider, Model: t.Model, Priority: t.Priority, Weight: t.Weight,
				Breaker: t.Breaker, RPMLeft: t.RPMLeft, TPMLeft: t.TPMLeft, Headroom: t.Headroom}
			// The first configured target of the same provider and model
			// not matched yet: the router keeps the configured order
			// within a priority.
			for i, c := range cfg {
				if !used[i] && c.Provider == t.Provider && c.Model == t.Model {
					used[i], row.RPM, row.TPM = true, c.RPM, c.TPM
					break
				}
			}
			row.History = append([]resilience.Transition(nil), t.Breaker.History...)
			sort.SliceStable(row.History, func(i, j int) bool { return row.History[i].At.After(row.History[j].At) })
			out = append(out, row)
		}
	}
	return out
}

// fptr returns a pointer to v, for chart values.
func fptr(v float64) *float64 { return &v }

package dashboard

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/watch"
)

// alertRows is how many of the latest alerts the Limits page lists.
const alertRows = 100

type limitsData struct {
	Team string
	// HasLimits, HasAlerts, HasForecasts: the sources are wired.
	HasLimits, HasAlerts, HasForecasts bool
	Limits                             []limitView
	Alerts                             []alertView
	Rules                              []ruleView
	// Forecasts is set on the forecasts' own page (/ui/limits/forecasts).
	Forecasts *forecastsData
	Error     string
}

// limitView is one limit with its states in the current window.
type limitView struct {
	limits.Limit
	// Cap is the cap for people ("$100.00", "1,000,000 tokens"); Match
	// says which calls it counts.
	Cap, Match string
	States     []stateView
	// Calls is the calls page's query of the calls the limit counts (""
	// when the calls page cannot select them).
	Calls string
}

type stateView struct {
	limits.State
	// WindowStart is the state's window start (zero: lifetime).
	WindowStart time.Time
	// Remaining is what is left of the cap ("" when it cannot be told);
	// Over is set when the cap is passed.
	Remaining string
	Over      bool
}

// alertView is an alert with its scope as text.
type alertView struct {
	alert.Alert
	ScopeText string
}

// ruleView is one rule that raises alerts.
type ruleView struct {
	Name, Kind, Severity, Condition string
}

// visibleLimits returns the limits a viewer limited to team may see (all
// for ""): those matching the team, and per-team limits, like GET
// /api/v1/limits; perTeam names the per-team ones among them.
func visibleLimits(ls []limits.Limit, team string) []limits.Limit {
	if team == "" {
		return ls
	}
	return slices.DeleteFunc(slices.Clone(ls), func(l limits.Limit) bool {
		return !(l.Match.Team == team || l.Match.Team == "" && l.Per == limits.PerTeam)
	})
}

// limitsPage shows every limit's state, the alert rules and the latest
// alerts; the month-end forecasts are loaded by htmx from
// /ui/limits/forecasts (they read up to 91 days of spend each).
func (d *Dashboard) limitsPage(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	data := limitsData{Team: v.Team, HasForecasts: d.opt.Spend.Forecaster != nil}
	status := http.StatusOK
	var visible []limits.Limit
	if src := d.opt.Spend.Limits; src != nil {
		data.HasLimits = true
		visible = visibleLimits(src.List(), v.Team)
		states, err := src.States(ctx)
		if err != nil {
			d.log.Error("limits: states", "err", err)
			status, data.Error = http.StatusInternalServerError, "Could not read the limits' states; try again."
		}
		for _, l := range visible {
			lv := limitView{Limit: l, Cap: capText(l), Match: matchOf(l.Match), Calls: limitCalls(l, v.Team)}
			for _, s := range states {
				if s.Limit != l.Name || v.Team != "" && l.Per == limits.PerTeam && s.Value != v.Team {
					continue
				}
				lv.States = append(lv.States, stateOf(l, s))
			}
			data.Limits = append(data.Limits, lv)
		}
		slices.SortFunc(data.Limits, func(a, b limitView) int { return strings.Compare(a.Name, b.Name) })
	}
	data.Rules = rules(visible, d.opt.Spend.WatchRules, v.Team == "")
	if al := d.opt.Spend.Alerts; al != nil {
		data.HasAlerts = true
		as, err := al.List(ctx, alert.ListQuery{Limit: alertRows})
		if err != nil {
			d.log.Error("limits: alerts", "err", err)
			status, data.Error = http.StatusInternalServerError, "Could not read the alerts; try again."
		}
		for _, a := range teamAlerts(as, v.Team, visible) {
			data.Alerts = append(data.Alerts, alertView{Alert: a, ScopeText: scopeText(a.Scope)})
		}
	}
	d.render(w, status, "limits", "", view{Title: "Limits and alerts", Active: Prefix + "limits", Viewer: &v, Data: data})
}

// teamAlerts keeps the alerts a viewer limited to team may see: those
// scoped to the team and those of the limits it sees (of a per-team
// limit, only the team's own).
func teamAlerts(as []alert.Alert, team string, visible []limits.Limit) []alert.Alert {
	if team == "" {
		return as
	}
	seen := map[string]limits.Limit{}
	for _, l := range visible {
		seen[l.Name] = l
	}
	return slices.DeleteFunc(slices.Clone(as), func(a alert.Alert) bool {
		if a.Scope["team"] == team {
			return false
		}
		l, ok := seen[a.Rule]
		if !ok || a.Scope["limit"] != "" && a.Scope["limit"] != l.Name {
			return true
		}
		return l.Per == limits.PerTeam && a.Scope["team"] != team
	})
}

// capText formats a limit's cap.
func capText(l limits.Limit) string {
	switch {
	case l.USD != nil:
		return "$" + l.USD.String()
	case l.Tokens != nil:
		return count(*l.Tokens) + " tokens"
	}
	return "—"
}

// matchOf says which calls a limit counts.
func matchOf(m limits.Match) string {
	var parts []string
	for _, f := range []struct{ name, v string }{{"use case", m.UseCase}, {"team", m.Team}, {"user", m.User}, {"account", m.Account},
		{"provider", m.Provider}, {"model", m.Model}, {"application", m.Application}} {
		if f.v != "" {
			parts = append(parts, f.name+" "+f.v)
		}
	}
	if len(parts) == 0 {
		return "every call"
	}
	return strings.Join(parts, ", ")
}

// limitCalls is the calls page's query of the calls a limit counts in
// its current window (without account and application, which the calls
// page does not filter by: then "").
func limitCalls(l limits.Limit, team string) string {
	if l.Match.Account != "" || l.Match.Application != "" {
		return ""
	}
	q := callFilter{UseCase: l.Match.UseCase, Team: l.Match.Team, User: l.Match.User, Provider: l.Match.Provider, Model: l.Match.Model}
	if team != "" {
		q.Team = team
	}
	return encodeQuery(q.values())
}

// stateOf adds the window start and what remains of the cap to s.
func stateOf(l limits.Limit, s limits.State) stateView {
	sv := stateView{State: s}
	if t, err := time.Parse(time.RFC3339, s.Window); err == nil {
		sv.WindowStart = t
	}
	switch {
	case l.USD != nil:
		var capA, used store.Amount
		if capA.UnmarshalJSON([]byte(l.USD.String())) != nil || used.UnmarshalJSON([]byte(strings.TrimPrefix(s.Used, "$"))) != nil {
			return sv
		}
		capA.SubAmount(used)
		if capA.Cmp(store.Amount{}) < 0 {
			sv.Over = true
			var over store.Amount
			over.SubAmount(capA)
			sv.Remaining = "over by $" + over.Format(2)
			return sv
		}
		sv.Remaining = "$" + capA.Format(2)
	case l.Tokens != nil:
		n, err := strconv.ParseInt(strings.TrimSuffix(s.Used, " tokens"), 10, 64)
		if err != nil {
			return sv
		}
		left := *l.Tokens - n
		if left < 0 {
			sv.Over, sv.Remaining = true, "over by "+count(-left)+" tokens"
			return sv
		}
		sv.Remaining = count(left) + " tokens"
	}
	return sv
}

// rules lists what raises alerts: each limit's threshold and cap (and the
// forecast of monthly spend limits), and, for viewers of every team, the
// periodic checks of internal/watch with their effective values.
func rules(ls []limits.Limit, watchRules func() watch.Rules, all bool) []ruleView {
	var out []ruleView
	for _, l := range ls {
		th := l.Threshold
		if th == 0 {
			th = 0.8
		}
		per := ""
		if l.Per != "" {
			per = " (each " + l.Per + " apart)"
		}
		out = append(out, ruleView{"limit " + l.Name, alert.KindLimitThreshold, string(alert.SeverityWarning),
			fmt.Sprintf("%s of %s used %s%s", strconv.FormatFloat(th*100, 'f', -1, 64)+"%", capText(l), windowText(l.Window), per)})
		sev, what := alert.SeverityWarning, "calls go on (warn mode)"
		if l.Mode == limits.ModeBlock {
			sev, what = alert.SeverityCritical, "calls are refused (block mode)"
		}
		out = append(out, ruleView{"limit " + l.Name, alert.KindLimitExceeded, string(sev), capText(l) + " used " + windowText(l.Window) + per + ": " + what})
		if l.Window == limits.WindowMonth && l.USD != nil && l.Per == limits.PerNone {
			out = append(out, ruleView{"limit " + l.Name, watch.KindForecastOverLimit, string(alert.SeverityWarning), "this month's spend is forecast to pass " + capText(l)})
		}
	}
	if !all || watchRules == nil {
		return out
	}
	r := watchRules()
	orDefault := func(v, def float64) float64 {
		if v <= 0 {
			return def
		}
		return v
	}
	// The defaults below are internal/watch's (Rules.withDefaults) and
	// internal/forecast's (SpikeOptions).
	sp := r.Spike
	days := sp.Days
	if days <= 0 {
		days = forecast.DefaultSpikeDays
	}
	pct := func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" }
	minCalls := r.MinCalls
	if minCalls <= 0 {
		minCalls = 20
	}
	out = append(out,
		ruleView{"spend spike", alert.KindSpendSpike, string(alert.SeverityWarning), fmt.Sprintf("a use case's spend today is %s robust deviations above its median of the last %d days, at least %s× that median and $%s more",
			strconv.FormatFloat(orDefault(sp.K, forecast.DefaultSpikeK), 'f', -1, 64), days,
			strconv.FormatFloat(orDefault(sp.MinRatio, forecast.DefaultSpikeMinRatio), 'f', -1, 64),
			strconv.FormatFloat(orDefault(sp.MinIncreaseUSD, forecast.DefaultSpikeMinIncreaseUSD), 'f', 2, 64))},
		ruleView{"cost per outcome", alert.KindCostPerOutcomeRise, string(alert.SeverityWarning), fmt.Sprintf("a KPI's cost per outcome over the last 7 days rose %s over the 7 before (at least %s outcomes in both)",
			pct(orDefault(r.CostPerOutcomeRise, 0.25)), strconv.FormatFloat(orDefault(r.MinOutcomes, 5), 'f', -1, 64))},
		ruleView{"error rate", alert.KindErrorRate, string(alert.SeverityWarning), fmt.Sprintf("more than %s of a use case's calls failed in the last hour (at least %d calls)",
			pct(orDefault(r.ErrorRate, 0.05)), minCalls)},
		ruleView{"forecast", watch.KindForecastOverLimit, string(alert.SeverityWarning), fmt.Sprintf("a monthly spend limit is at least %s likely to be passed this month",
			pct(orDefault(r.ForecastProbability, 0.5)))},
	)
	return out
}

func windowText(w string) string {
	switch w {
	case limits.WindowDay:
		return "in a day"
	case limits.WindowWeek:
		return "in a week"
	case limits.WindowMonth:
		return "in a month"
	}
	return "in all"
}

// forecastRow is one monthly spend limit against its forecast.
type forecastRow struct {
	Limit, Match string
	// Team is set for a per-team limit forecast for the viewer's team.
	Team   string
	CapUSD float64
	forecast.Forecast
	// Likely: the forecast passes the cap; Probability is how likely.
	Likely      bool
	Probability float64
	Error       string
}

type forecastsData struct {
	HasForecasts bool
	Rows         []forecastRow
	// Skipped counts the limits that cannot be forecast (not monthly
	// spend limits, or counted per value).
	Skipped int
}

// limitForecasts forecasts the month-end spend against each monthly
// spend limit the viewer sees: the block the Limits page loads by htmx
// (a browser without JavaScript follows the link to it).
func (d *Dashboard) limitForecasts(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	data := forecastsData{HasForecasts: d.opt.Spend.Forecaster != nil && d.opt.Spend.Limits != nil}
	status := http.StatusOK
	if data.HasForecasts {
		data.Rows, data.Skipped = d.forecasts(r.Context(), v.Team)
		for _, f := range data.Rows {
			if f.Error != "" {
				status = http.StatusInternalServerError
			}
		}
	}
	block := "forecasts"
	if r.Header.Get("HX-Request") != "true" {
		block = ""
	}
	d.render(w, status, "limits", block, view{Title: "Limits and alerts", Active: Prefix + "limits", Viewer: &v, Data: limitsData{Team: v.Team, Forecasts: &data}})
}

func (d *Dashboard) forecasts(ctx context.Context, team string) ([]forecastRow, int) {
	var out []forecastRow
	skipped := 0
	for _, l := range visibleLimits(d.opt.Spend.Limits.List(), team) {
		q := store.CostQuery{UseCase: l.Match.UseCase, Team: l.Match.Team, User: l.Match.User, Account: l.Match.Account,
			Provider: l.Match.Provider, Model: l.Match.Model, Application: l.Match.Application}
		row := forecastRow{Limit: l.Name, Match: matchOf(l.Match)}
		switch {
		case l.Window != limits.WindowMonth || l.USD == nil:
			skipped++
			continue
		case l.Per == limits.PerTeam && team != "":
			q.Team, row.Team = team, team
		case l.Per != limits.PerNone:
			skipped++
			continue
		}
		row.CapUSD, _ = strconv.ParseFloat(l.USD.String(), 64)
		f, err := d.opt.Spend.Forecaster.Forecast(ctx, q, l.TimeZone)
		if err != nil {
			d.log.Error("limits: forecast", "limit", l.Name, "err", err)
			row.Error = "Could not forecast this limit; try again."
		} else {
			row.Forecast = f
			row.Likely, row.Probability = forecast.CrossesLimit(f, row.CapUSD)
		}
		out = append(out, row)
	}
	return out, skipped
}

// scopeText formats an alert's scope: "limit x, team y".
func scopeText(s map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s)) {
		parts = append(parts, k+" "+s[k])
	}
	return strings.Join(parts, ", ")
}

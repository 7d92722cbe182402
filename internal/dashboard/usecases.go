package dashboard

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/value"
)

// ValueSources are what the Use cases, use case, instance and overview
// pages read besides the calls and rollups: use case definitions, their
// reports and KPI results, the month's forecast, limits and alerts. Every
// field may be nil: the pages then leave out what needs it and say so.
type ValueSources struct {
	// UseCases reads use case definitions and builds reports and version
	// comparisons for viewers who see every team (*value.Service, as the
	// API's api.UseCases).
	UseCases UseCases
	// Reports is what reports are built from (*sqlite.Store). It gives a
	// team-limited viewer the KPI and value figures of their team's
	// instances (an instance belongs to the team of its first call, as in
	// the API's group_by=team), and the use case page the cost of every
	// instance for its distribution. Nil: team viewers see no KPI or value
	// figures, and the distribution is the report's summary only.
	Reports value.Source
	// KPIs reads one instance's KPI results (*sqlite.Store); nil leaves
	// them out of the instance page.
	KPIs KPIReader
	// KPIDays sums the KPI results in force per day (*sqlite.Store): the
	// month's outcomes, value and cost per outcome of the overview and
	// the use case list, counted by the results' own time, in one query
	// over any number of runs. Nil: those come from each use case's
	// report, which reads its calls of the month per run (seconds over
	// millions of calls).
	KPIDays store.KPIDayReader
	// Forecaster forecasts the month's spend (*watch.Watcher, as the
	// API's api.Forecaster); nil leaves the forecast out.
	Forecaster OverviewForecaster
	// Limits gives the state of every limit (*limits.Manager, a read-only
	// part of api.Limits); nil leaves the limits out of the overview.
	Limits OverviewLimits
	// Alerts lists raised alerts, newest first (*alert.Engine); nil leaves
	// them out of the overview.
	Alerts OverviewAlerts
}

// UseCases reads use case definitions and their reports; *value.Service
// implements it (the read-only part of api.UseCases).
type UseCases interface {
	// List returns every use case's latest definition.
	List(ctx context.Context) ([]value.Stored, error)
	// Get returns a use case's latest definition (store.ErrNotFound).
	Get(ctx context.Context, name string) (value.Stored, error)
	// Report builds a use case's report, across teams.
	Report(ctx context.Context, name string, q value.ReportQuery) (value.UseCaseReport, error)
	// Compare reports two versions over the same range and flags what got
	// worse by more than threshold, across teams.
	Compare(ctx context.Context, name, a, b string, from, to time.Time, threshold float64) (value.Comparison, error)
}

// KPIReader reads KPI results; *sqlite.Store implements it.
type KPIReader interface {
	// KPIHistory returns every value of one instance's KPI, oldest first.
	KPIHistory(ctx context.Context, useCase, instance, kpi string) ([]store.KPIResult, error)
}

// OverviewForecaster forecasts the month's spend of the calls q selects;
// *watch.Watcher implements it (api.Forecaster).
type OverviewForecaster interface {
	Forecast(ctx context.Context, q store.CostQuery, tz string) (forecast.Forecast, error)
}

// OverviewLimits is the read-only part of api.Limits; *limits.Manager
// implements it.
type OverviewLimits interface {
	List() []limits.Limit
	States(ctx context.Context) ([]limits.State, error)
}

// OverviewAlerts lists stored alerts, newest first; *alert.Engine
// implements it.
type OverviewAlerts interface {
	List(ctx context.Context, q alert.ListQuery) ([]alert.Alert, error)
}

// errNoReport: the viewer cannot be shown a report (no source for it).
var errNoReport = errors.New("no report source")

// reportSource is what reports for viewer v are built from on one page
// about [from, to): Reports (limited to the viewer's team) behind a
// pageSource, or nil when there is none (reports then come from UseCases,
// for viewers who see every team).
func (d *Dashboard) reportSource(v viewer, from time.Time) *pageSource {
	src := d.opt.Value.Reports
	if src == nil {
		return nil
	}
	if v.Team != "" {
		src = teamSource{src, v.Team}
	}
	return &pageSource{Source: src, from: from, totals: map[store.InstanceQuery][]store.InstanceTotal{}}
}

// report builds a use case's report for viewer v: from src when there is
// one, else across teams through UseCases (a team-limited viewer gets
// errNoReport then).
func (d *Dashboard) report(ctx context.Context, v viewer, src *pageSource, st value.Stored, q value.ReportQuery) (value.UseCaseReport, error) {
	switch {
	case src != nil:
		return value.Build(ctx, src, st.UseCase, q)
	case v.Team == "" && d.opt.Value.UseCases != nil:
		return d.opt.Value.UseCases.Report(ctx, st.Name, q)
	}
	return value.UseCaseReport{}, errNoReport
}

// pageSource answers the report queries of one page: each query's
// instance totals are read once (the report and the distribution of cost
// per instance share them), and the period before the page's range,
// which reports read for a trend the pages do not show, is not read.
type pageSource struct {
	value.Source
	from   time.Time
	mu     sync.Mutex
	totals map[store.InstanceQuery][]store.InstanceTotal
}

func (s *pageSource) InstanceTotals(ctx context.Context, q store.InstanceQuery) ([]store.InstanceTotal, error) {
	if !q.To.After(s.from) {
		return nil, nil
	}
	s.mu.Lock()
	rows, ok := s.totals[q]
	s.mu.Unlock()
	if ok {
		return rows, nil
	}
	rows, err := s.Source.InstanceTotals(ctx, q)
	if err == nil {
		s.mu.Lock()
		s.totals[q] = rows
		s.mu.Unlock()
	}
	return rows, err
}

func (s *pageSource) InstanceKPIs(ctx context.Context, q store.InstanceQuery) ([]store.KPIResult, error) {
	if !q.To.After(s.from) {
		return nil, nil
	}
	return s.Source.InstanceKPIs(ctx, q)
}

// teamSource is a report source limited to one team's instances (those
// whose first call is the team's) and the team's calls.
type teamSource struct {
	value.Source
	team string
}

func (s teamSource) InstanceTotals(ctx context.Context, q store.InstanceQuery) ([]store.InstanceTotal, error) {
	rows, err := s.Source.InstanceTotals(ctx, q)
	return slices.DeleteFunc(rows, func(it store.InstanceTotal) bool { return it.Team != s.team }), err
}

func (s teamSource) CostTotals(ctx context.Context, q store.CostQuery) ([]store.CostTotal, error) {
	q.Team = s.team
	return s.Source.CostTotals(ctx, q)
}

// ucDollars is a for charts and ratios (not for display of exact sums).
func ucDollars(a store.Amount) float64 {
	d, f := a.Parts()
	return float64(d) + float64(f)/float64(pricing.USD)
}

func ucFloat(f float64) *float64 { return &f }

// ucAmountPrecise formats a small amount (a run's or an outcome's cost)
// with enough decimals to tell amounts apart: 2 from a dollar, 4 from a
// cent, else 6.
func ucAmountPrecise(a store.Amount) string {
	f := ucDollars(a)
	switch {
	case f >= 1 || f <= -1 || f == 0:
		return "$" + a.Format(2)
	case f >= 0.01 || f <= -0.01:
		return "$" + a.Format(4)
	}
	return "$" + a.Format(6)
}

// ucDayStart is the start of t's UTC day.
func ucDayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// useCasePath is the page of use case name.
func useCasePath(name string) string { return Prefix + "usecases/" + url.PathEscape(name) }

// ucCallsLink is the calls list filtered by params (pairs of key, value;
// empty values left out).
func ucCallsLink(params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] != "" {
			q.Set(params[i], params[i+1])
		}
	}
	return Prefix + "calls" + encodeQuery(q)
}

// ucOutcome is one KPI's outcomes in a period.
type ucOutcome struct {
	KPI            string
	Sum            string
	CostPerOutcome *store.Amount
}

// useCaseRow is one line of the use case list.
type useCaseRow struct {
	Name, Link, CallsLink string
	Description           string
	BusinessOwner         string
	TechnicalOwner        string
	Version               string
	Defined               bool
	// Calls, Spend and Unpriced are the month's, from the rollups.
	Calls, Unpriced int64
	Spend           store.Amount
	// HasReport: KPI and value figures are known (a defined use case and
	// a report source for the viewer).
	HasReport      bool
	Instances      int64
	Outcomes       []ucOutcome
	Value          store.Amount
	ValuePerDollar *float64
	// Spark is the 30-day spend sparkline (chartData JSON).
	Spark string
}

// monthUseCases is every use case the viewer sees this month: the defined
// ones (with their month's report) and those seen in calls only.
type monthUseCases struct {
	Rows []useCaseRow
	// Spend, Calls, Value are the month's totals over every use case (and
	// the calls without one).
	Spend, Value store.Amount
	Calls        int64
	// NoUseCase are this month's calls without a use case.
	NoUseCase, NoUseCaseUnpriced int64
	NoUseCaseSpend               store.Amount
	// Reports: figures of value exist (a report source for the viewer).
	Reports bool
	// Errors name what could not be read.
	Errors []string
}

// reportWorkers bounds the reports a page builds at once.
const reportWorkers = 4

// ucSparkDays is the length of the use case list's sparklines.
const ucSparkDays = 30

// loadMonthUseCases reads the month's figures per use case: one rollup
// query (per use case and day over the sparklines' days and the month),
// the definitions, and one report per defined use case the viewer sees.
//
// Without withReports the reports are not built (they read the month's
// calls per instance: pages load them apart, by htmx).
func (d *Dashboard) loadMonthUseCases(ctx context.Context, v viewer, now time.Time, withReports bool) monthUseCases {
	var out monthUseCases
	today := ucDayStart(now)
	end := today.AddDate(0, 0, 1)
	month := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	sparkFrom := end.AddDate(0, 0, -ucSparkDays)
	from := sparkFrom
	if from.After(month) {
		from = month
	}
	type agg struct {
		calls, unpriced int64
		spend           store.Amount
		days            map[int64]float64
		seen            bool
	}
	byName := map[string]*agg{}
	get := func(n string) *agg {
		a := byName[n]
		if a == nil {
			a = &agg{days: map[int64]float64{}}
			byName[n] = a
		}
		return a
	}
	if d.opt.Rollups != nil {
		rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: from, To: end, Step: 24 * time.Hour,
			GroupBy: []string{store.RollupUseCase}, Filter: rollup.Key{Team: v.Team}})
		if err != nil {
			d.log.Error("use cases: rollups", "err", err)
			out.Errors = append(out.Errors, "the spend per use case")
		}
		for _, r := range rows {
			a := get(r.Key.UseCase)
			a.seen = true
			if !r.Bucket.Before(sparkFrom) {
				a.days[r.Bucket.Unix()] += r.CostUSD()
			}
			if !r.Bucket.Before(month) {
				a.calls += r.Calls
				a.unpriced += r.Unpriced
				a.spend.AddAmount(spendOf(&r.Agg))
				out.Calls += r.Calls
				out.Spend.AddAmount(spendOf(&r.Agg))
			}
		}
	}
	spark := func(a *agg) string {
		c := chartData{Series: []chartSeries{{Label: "Spend", Unit: "usd"}}}
		for t := sparkFrom; t.Before(end); t = t.AddDate(0, 0, 1) {
			c.T = append(c.T, t.Unix())
			c.Series[0].Values = append(c.Series[0].Values, ucFloat(a.days[t.Unix()]))
		}
		return c.JSON()
	}
	var defs []value.Stored
	if uc := d.opt.Value.UseCases; uc != nil {
		var err error
		if defs, err = uc.List(ctx); err != nil {
			d.log.Error("use cases: list", "err", err)
			out.Errors = append(out.Errors, "the use case definitions")
		}
	}
	out.Reports = v.Team == "" && (d.opt.Value.UseCases != nil || d.opt.Value.Reports != nil) || v.Team != "" && d.opt.Value.Reports != nil
	src := d.reportSource(v, month)
	defined := map[string]bool{}
	var reported []value.Stored // the defined rows, first in out.Rows
	for _, def := range defs {
		defined[def.Name] = true
		a := get(def.Name)
		if v.Team != "" && !a.seen {
			continue // another team's use case, or one the team has not called lately
		}
		row := useCaseRow{Name: def.Name, Link: useCasePath(def.Name), Description: def.Description, BusinessOwner: def.BusinessOwner,
			TechnicalOwner: def.TechnicalOwner, Version: def.Version, Defined: true,
			Calls: a.calls, Unpriced: a.unpriced, Spend: a.spend, Spark: spark(a),
			CallsLink: ucCallsLink("use_case", def.Name, "from", month.Format(time.DateOnly))}
		out.Rows = append(out.Rows, row)
		reported = append(reported, def)
	}
	// The KPI and value figures of the month, from the per-day sums of
	// the results (counted by their own time): one query for every use
	// case, however many runs they had. Without that source, from each
	// use case's report, which reads its calls of the month per run.
	if out.Reports && withReports && d.opt.Value.KPIDays != nil {
		days, err := d.opt.Value.KPIDays.KPIDays(ctx, store.KPIDayQuery{Team: v.Team, From: month, To: end})
		if err != nil {
			d.log.Error("use cases: KPI days", "err", err)
			out.Errors = append(out.Errors, "the KPI results")
		} else {
			byUseCase := map[string][]store.KPIDay{}
			for _, kd := range days {
				byUseCase[kd.UseCase] = append(byUseCase[kd.UseCase], kd)
			}
			for i, def := range reported {
				row := &out.Rows[i]
				p := def.UseCase.Period(byUseCase[def.Name], row.Spend)
				row.HasReport = true
				row.Value, row.ValuePerDollar = p.ValueUSD, p.ValuePerDollar
				out.Value.AddAmount(p.ValueUSD)
				for _, k := range p.KPIs {
					if k.Type == value.TypeBoolean || k.Type == value.TypeNumber || k.Type == value.TypeCurrency {
						row.Outcomes = append(row.Outcomes, ucOutcome{KPI: k.Name, Sum: k.Sum, CostPerOutcome: k.CostPerOutcome})
					}
				}
			}
		}
	} else if out.Reports && withReports {
		reps := make([]value.UseCaseReport, len(reported))
		errs := make([]error, len(reported))
		var wg sync.WaitGroup
		sem := make(chan struct{}, reportWorkers)
		for i, def := range reported {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				reps[i], errs[i] = d.report(ctx, v, src, def, value.ReportQuery{From: month, To: end})
			})
		}
		wg.Wait()
		for i := range reported {
			row := &out.Rows[i]
			rep, err := reps[i], errs[i]
			if err != nil {
				d.log.Error("use cases: report", "use_case", row.Name, "err", err)
				out.Errors = append(out.Errors, "the report of "+row.Name)
				continue
			}
			row.HasReport = true
			row.Instances = rep.Instances
			row.Value, row.ValuePerDollar = rep.ValueUSD, rep.ValuePerDollar
			out.Value.AddAmount(rep.ValueUSD)
			for _, k := range rep.KPIs {
				if k.Type == value.TypeBoolean || k.Type == value.TypeNumber || k.Type == value.TypeCurrency {
					row.Outcomes = append(row.Outcomes, ucOutcome{KPI: k.Name, Sum: k.Sum, CostPerOutcome: k.CostPerOutcome})
				}
			}
		}
	}
	for name, a := range byName {
		if defined[name] || !a.seen {
			continue
		}
		if name == "" {
			out.NoUseCase, out.NoUseCaseUnpriced, out.NoUseCaseSpend = a.calls, a.unpriced, a.spend
			continue
		}
		out.Rows = append(out.Rows, useCaseRow{Name: name, Link: useCasePath(name), Calls: a.calls, Unpriced: a.unpriced, Spend: a.spend, Spark: spark(a),
			CallsLink: ucCallsLink("use_case", name, "from", month.Format(time.DateOnly))})
	}
	slices.SortFunc(out.Rows, func(a, b useCaseRow) int {
		return cmp.Or(b.Spend.Cmp(a.Spend), cmp.Compare(b.Calls, a.Calls), strings.Compare(a.Name, b.Name))
	})
	return out
}

type useCasesData struct {
	Team      string
	MonthName string
	// Lazy: the KPI and value figures are to be loaded from Load (htmx).
	Lazy bool
	Load string
	// BlockError is Error when only the table is answered (htmx).
	BlockError string
	monthUseCases
	// Undefined counts the rows seen in calls but not defined.
	Undefined int
	// HasDefs: definitions can be read at all.
	HasDefs bool
	Error   string
}

// useCases lists the use cases with the month's spend, outcomes, value
// and a 30-day sparkline of their spend.
func (d *Dashboard) useCases(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	now := d.now().UTC()
	data := useCasesData{Team: v.Team, MonthName: now.Format("January 2006"), HasDefs: d.opt.Value.UseCases != nil}
	// The reports load apart (htmx) unless asked for in the page
	// (value=1, a browser without JavaScript).
	partial := r.Header.Get("HX-Target") == "usecases-table" && r.Header.Get("HX-History-Restore-Request") != "true"
	withReports := partial || r.URL.Query().Get("value") == "1"
	data.monthUseCases = d.loadMonthUseCases(r.Context(), v, now, withReports)
	if !withReports && data.Reports && len(data.Rows) > 0 {
		data.Lazy, data.Load = true, Prefix+"usecases?value=1"
	}
	for _, row := range data.Rows {
		if !row.Defined {
			data.Undefined++
		}
	}
	status := http.StatusOK
	if len(data.Errors) > 0 {
		status, data.Error = http.StatusInternalServerError, "Could not read "+strings.Join(data.Errors, ", ")+"; the figures below may be incomplete."
	}
	block := ""
	if partial {
		// htmx swaps only successful answers: the error goes in the block.
		status, block, data.BlockError = http.StatusOK, "usecases-table-partial", data.Error
	}
	d.render(w, status, "usecases", block, view{Title: "Use cases", Active: Prefix + "usecases", Viewer: &v, Data: data})
}

package dashboard

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// chartDays is the length of the overview's spend chart.
const chartDays = 30

// overviewAlerts is how many recent alerts the overview lists, and
// alertDays how far back it looks.
const (
	overviewAlerts = 10
	alertDays      = 7
)

type overviewData struct {
	Team string
	// HasRollups: the figures below can be read at all.
	HasRollups bool
	// Today and Month are the spend of the UTC day and month so far.
	Today, Month store.Amount
	// CallsToday, ErrorsToday, UnpricedToday count today's calls.
	CallsToday, ErrorsToday, UnpricedToday int64
	ErrorRate                              float64
	// TTFT percentiles of today's calls (nil: no streamed call).
	TTFTp50, TTFTp95 *float64
	// Forecast of the month's spend (nil: no forecaster).
	Forecast *forecast.Forecast
	// Limits are the states of the limits on spend the viewer sees.
	Limits    []limitRow
	HasLimits bool
	// Value: the month's value generated across defined use cases.
	Value          store.Amount
	ValuePerDollar *float64
	HasValue       bool
	// ValueLazy: the value block is to be loaded by htmx; ValueError
	// says what it could not read (when answered alone).
	ValueLazy  bool
	ValueError string
	// TopSpend and TopROI are the month's top use cases.
	TopSpend, TopROI []useCaseRow
	Alerts           []alert.Alert
	HasAlerts        bool
	// Days is the chart's table: one row per UTC day, oldest first.
	Days []dayRow
	// Chart is the chart's data for static/app.js (see chartData).
	Chart string
	// Empty: no call is recorded at all.
	Empty       bool
	MonthName   string
	TodayLink   string
	MonthLink   string
	ErrorsLink  string
	Error       string
	MonthDayNum int
}

type dayRow struct {
	Day   string
	Calls int64
	Spend store.Amount
}

// limitRow is one limit's state, with the month's forecast when the
// limit is a monthly dollar cap on everything the overview shows.
type limitRow struct {
	Limit, Value, Window, Used, Cap, State string
	Share                                  float64
	// Compared: the limit is a monthly dollar cap on all of the viewer's
	// spend, compared with the forecast; ForecastOver: the forecast
	// passes it.
	Compared, ForecastOver bool
}

// overview answers from the rollups (two queries: the days of the chart
// and the month, and today with its latency sketches), the month's report
// of each defined use case (value and ROI), the forecast, the limits'
// states and the latest alerts.
func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	now := d.now().UTC()
	today := ucDayStart(now)
	tomorrow := today.AddDate(0, 0, 1)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	chartFrom := today.AddDate(0, 0, -(chartDays - 1))
	data := overviewData{Team: v.Team, MonthName: now.Format("January"), HasRollups: d.opt.Rollups != nil,
		TodayLink: ucCallsLink("team", v.Team, "from", today.Format(time.DateOnly), "to", today.Format(time.DateOnly)),
		MonthLink: ucCallsLink("team", v.Team, "from", month.Format(time.DateOnly))}
	data.ErrorsLink = data.TodayLink
	var errs []string
	fail := func(what string, err error) {
		d.log.Error("overview: "+what, "err", err)
		errs = append(errs, what)
	}
	// partial: htmx asks for the value block alone.
	partial := r.Header.Get("HX-Target") == "value" && r.Header.Get("HX-History-Restore-Request") != "true"
	if partial {
		data.HasRollups = false // only the block's figures are read
	}

	if d.opt.Rollups != nil && !partial {
		from := min64Time(chartFrom, month)
		days, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: from, To: tomorrow, Step: 24 * time.Hour, Filter: rollup.Key{Team: v.Team}})
		if err != nil {
			fail("the spend per day", err)
		}
		byDay := map[int64]*store.RollupRow{}
		for i := range days {
			row := &days[i]
			byDay[row.Bucket.Unix()] = row
			if !row.Bucket.Before(month) {
				data.Month.AddAmount(spendOf(&row.Agg))
			}
		}
		chart := chartData{Series: []chartSeries{{Label: "Spend", Unit: "usd"}}}
		for day := chartFrom; !day.After(today); day = day.AddDate(0, 0, 1) {
			dr := dayRow{Day: day.Format(time.DateOnly)}
			if row := byDay[day.Unix()]; row != nil {
				dr.Calls, dr.Spend = row.Calls, spendOf(&row.Agg)
			}
			data.Days = append(data.Days, dr)
			chart.T = append(chart.T, day.Unix())
			chart.Series[0].Values = append(chart.Series[0].Values, ucFloat(ucDollars(dr.Spend)))
		}
		data.Chart = chart.JSON()

		rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: today, To: tomorrow, Filter: rollup.Key{Team: v.Team}, Sketches: true})
		if err != nil {
			fail("today's calls", err)
		}
		var agg rollup.Agg
		for i := range rows {
			agg.Merge(&rows[i].Agg)
		}
		data.Today = spendOf(&agg)
		data.CallsToday, data.ErrorsToday, data.UnpricedToday = agg.Calls, agg.Errors, agg.Unpriced
		if agg.Calls > 0 {
			data.ErrorRate = float64(agg.Errors) / float64(agg.Calls)
		}
		if x, ok := agg.Quantile(rollup.TTFT, 0.5); ok {
			data.TTFTp50 = ucFloat(x)
		}
		if x, ok := agg.Quantile(rollup.TTFT, 0.95); ok {
			data.TTFTp95 = ucFloat(x)
		}
		if err == nil && len(days) == 0 && agg.Calls == 0 {
			// Nothing in the chart's days: is anything recorded at all?
			page, err := d.opt.Requests.ListRequests(ctx, store.RequestQuery{Team: v.Team, Limit: 1})
			data.Empty = err == nil && len(page.Requests) == 0
		}
	} else if !partial {
		page, err := d.opt.Requests.ListRequests(ctx, store.RequestQuery{Team: v.Team, Limit: 1})
		data.Empty = err == nil && len(page.Requests) == 0
	}

	// The forecast and the limits on spend.
	if f := d.opt.Value.Forecaster; f != nil && !data.Empty && !partial {
		fc, err := f.Forecast(ctx, store.CostQuery{Team: v.Team}, "")
		if err != nil {
			fail("the forecast", err)
		} else {
			data.Forecast = &fc
		}
	}
	if l := d.opt.Value.Limits; l != nil && !partial {
		data.HasLimits = true
		data.Limits, _ = d.limitRows(ctx, l, v.Team, data.Forecast, fail)
	}

	// The top use cases by spend (rollups), and by value per dollar with
	// the value generated (the month's reports, which read its calls per
	// instance: loaded apart by htmx unless asked for with value=1).
	if !data.Empty {
		withReports := partial || r.URL.Query().Get("value") == "1"
		mu := d.loadMonthUseCases(ctx, v, now, withReports)
		errs = append(errs, mu.Errors...)
		data.HasValue = mu.Reports && d.opt.Value.UseCases != nil
		data.ValueLazy = data.HasValue && !withReports
		data.Value = mu.Value
		if c := ucDollars(mu.Spend); c > 0 && data.HasValue {
			data.ValuePerDollar = ucFloat(ucDollars(mu.Value) / c)
		}
		data.TopSpend = mu.Rows[:min(5, len(mu.Rows))]
		roi := slices.DeleteFunc(slices.Clone(mu.Rows), func(u useCaseRow) bool { return u.ValuePerDollar == nil })
		slices.SortStableFunc(roi, func(a, b useCaseRow) int { return cmp.Compare(*b.ValuePerDollar, *a.ValuePerDollar) })
		data.TopROI = roi[:min(5, len(roi))]
	}
	if partial {
		if len(errs) > 0 {
			// htmx swaps only successful answers: the error goes in the block.
			data.ValueError = "Could not read " + strings.Join(errs, ", ") + "; try again."
		}
		d.render(w, http.StatusOK, "overview", "value-partial", view{Title: "Overview", Active: Prefix, Viewer: &v, Data: data})
		return
	}

	// The latest alerts.
	if al := d.opt.Value.Alerts; al != nil {
		data.HasAlerts = true
		q := alert.ListQuery{Since: now.AddDate(0, 0, -alertDays), Limit: overviewAlerts}
		if v.Team != "" {
			q.ScopeKey, q.ScopeValue = "team", v.Team
		}
		as, err := al.List(ctx, q)
		if err != nil {
			fail("the alerts", err)
		}
		data.Alerts = as
	}

	status := http.StatusOK
	if len(errs) > 0 {
		status, data.Error = http.StatusInternalServerError, "Could not read "+strings.Join(errs, ", ")+"; the figures below may be incomplete."
	}
	d.render(w, status, "overview", "", view{Title: "Overview", Active: Prefix, Viewer: &v, Data: data})
}

func min64Time(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// limitRows are the states of the limits the viewer sees (for a team:
// those on the team, and its share of per-team limits, as in the API),
// each monthly dollar cap on all of the viewer's spend compared with the
// forecast.
func (d *Dashboard) limitRows(ctx context.Context, l OverviewLimits, team string, fc *forecast.Forecast, fail func(string, error)) ([]limitRow, error) {
	states, err := l.States(ctx)
	if err != nil {
		fail("the limits", err)
		return nil, err
	}
	defs := map[string]limits.Limit{}
	for _, lim := range l.List() {
		defs[lim.Name] = lim
	}
	var out []limitRow
	for _, s := range states {
		lim, ok := defs[s.Limit]
		if !ok {
			continue
		}
		if team != "" && !(lim.Match.Team == team || lim.Match.Team == "" && lim.Per == "team" && s.Value == team) {
			continue
		}
		row := limitRow{Limit: s.Limit, Value: s.Value, Window: lim.Window, Used: s.Used, Cap: s.Cap, State: s.State, Share: s.Share}
		whole := lim.Match == limits.Match{Team: team} && (lim.Per == "" || lim.Per == "team" && s.Value == team && team != "")
		if fc != nil && lim.USD != nil && lim.Window == "month" && whole {
			if c, err := strconv.ParseFloat(lim.USD.String(), 64); err == nil {
				row.Compared = true
				row.ForecastOver = fc.ForecastTotalUSD > c
			}
		}
		out = append(out, row)
	}
	slices.SortStableFunc(out, func(a, b limitRow) int { return cmp.Compare(b.Share, a.Share) })
	return out, nil
}

// failed reports whether a call failed for its caller: an error status or
// an error kind (a stream that broke after its 200).
func failed(rec *record.Record) bool { return rec.Status >= 400 || rec.ErrorKind != "" }

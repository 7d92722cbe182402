package dashboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// chartDays is the length of the overview's spend chart.
const chartDays = 30

type overviewData struct {
	Team string
	// HasCosts: spend figures are available.
	HasCosts bool
	// Today and Month are the spend of the UTC day and month so far.
	Today, Month store.Amount
	// CallsToday, UnpricedToday count today's calls.
	CallsToday, UnpricedToday int64
	// Errors and ErrorRate are over today's latest calls (Recent of
	// them, at most recentCalls).
	Errors      int
	Recent      int
	ErrorRate   float64
	TopUseCases []store.CostTotal
	// Days is the chart's table: one row per UTC day, oldest first.
	Days []dayRow
	// Chart is the chart's data for static/app.js (see chartData).
	Chart string
	// Empty: no call is recorded at all.
	Empty     bool
	MonthName string
	Error     string
}

type dayRow struct {
	Day   string
	Calls int64
	Spend store.Amount
}

// recentCalls bounds the sample the overview's error rate comes from
// until the per-minute rollups exist.
const recentCalls = 1000

// overview answers with at most five bounded queries: one page of today's
// latest calls for the error rate (and, when today has none, one call to
// tell an empty store), today's total, the spend per day since the start
// of the month or of the chart (whichever is earlier), and the month's
// top use cases.
func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	now := d.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	chartFrom := today.AddDate(0, 0, -(chartDays - 1))
	data := overviewData{Team: v.Team, MonthName: now.Format("January")}
	status := http.StatusOK
	fail := func(what string, err error) {
		d.log.Error("overview: "+what, "err", err)
		status, data.Error = http.StatusInternalServerError, "Could not read "+what+"; the figures below may be incomplete."
	}

	// The error rate of today's latest calls: one page, bounded.
	page, err := d.opt.Requests.ListRequests(ctx, store.RequestQuery{Team: v.Team, From: today, Limit: recentCalls})
	if err != nil {
		fail("the latest calls", err)
	}
	data.Recent = len(page.Requests)
	for i := range page.Requests {
		if failed(&page.Requests[i]) {
			data.Errors++
		}
	}
	if data.Recent > 0 {
		data.ErrorRate = float64(data.Errors) / float64(data.Recent)
	}
	if err == nil && data.Recent == 0 {
		// Nothing today: is anything recorded at all?
		any, err := d.opt.Requests.ListRequests(ctx, store.RequestQuery{Team: v.Team, Limit: 1})
		data.Empty = err == nil && len(any.Requests) == 0
	}

	if c := d.opt.Costs; c != nil && !data.Empty {
		data.HasCosts = true
		if t, err := c.CostTotals(ctx, store.CostQuery{From: today, Team: v.Team}); err != nil {
			fail("today's spend", err)
		} else if len(t) > 0 {
			data.Today, data.CallsToday, data.UnpricedToday = t[0].CostUSD, t[0].Calls, t[0].UnpricedCalls
		}
		from := chartFrom
		if month.Before(from) {
			from = month
		}
		days, err := c.CostTotals(ctx, store.CostQuery{From: from, Team: v.Team, GroupBy: store.GroupDay, Limit: 62})
		if err != nil {
			fail("the spend per day", err)
		}
		byDay := map[string]store.CostTotal{}
		for _, t := range days {
			byDay[t.Key] = t
			if day, err := time.Parse(time.DateOnly, t.Key); err == nil && !day.Before(month) {
				data.Month.AddAmount(t.CostUSD)
			}
		}
		chart := chartData{Series: []chartSeries{{Label: "Spend", Unit: "usd"}}}
		for day := chartFrom; !day.After(today); day = day.AddDate(0, 0, 1) {
			t := byDay[day.Format(time.DateOnly)]
			data.Days = append(data.Days, dayRow{Day: day.Format(time.DateOnly), Calls: t.Calls, Spend: t.CostUSD})
			usd, _ := strconv.ParseFloat(t.CostUSD.Format(6), 64)
			chart.T = append(chart.T, day.Unix())
			chart.Series[0].Values = append(chart.Series[0].Values, &usd)
		}
		data.Chart = chart.JSON()
		if data.TopUseCases, err = c.CostTotals(ctx, store.CostQuery{From: month, Team: v.Team, GroupBy: store.GroupUseCase, Limit: 5}); err != nil {
			fail("the top use cases", err)
		}
	}
	d.render(w, status, "overview", "", view{Title: "Overview", Active: Prefix, Viewer: &v, Data: data})
}

// failed reports whether a call failed for its caller: an error status or
// an error kind (a stream that broke after its 200).
func failed(rec *record.Record) bool { return rec.Status >= 400 || rec.ErrorKind != "" }

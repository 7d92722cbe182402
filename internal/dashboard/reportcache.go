package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/value"
)

// A use case's report follows every run of its range (seconds over
// millions of calls), so the reports of the default ranges are kept warm:
// RefreshReports recomputes them in the background and the page shows the
// last one, saying when it was made. A team-limited viewer's report, and
// the 90-day one, are made on demand.

// reportKey is one use case report as a page shows it.
type reportKey struct {
	name, rng, team string
	to              time.Time
}

// reportEntry is the report part of a use case page, as useCaseReport
// fills it.
type reportEntry struct {
	at           time.Time
	report       *value.UseCaseReport
	dist         *value.Distribution
	kpis         []ucKPIGoal
	outcomeChart string
	kpiChart     string
	hist         []ucHistBin
	histMax      int
	outliers     []ucOutlier
	notes        []string
}

type reportCache struct {
	mu sync.Mutex
	m  map[reportKey]reportEntry
	// every is the refresher's current period: Options.ReportRefresh, or
	// five times the last refresh's length when that is longer, so that
	// refreshing takes at most a fifth of a core.
	every time.Duration
}

// warmRanges are the ranges kept warm.
var warmRanges = []string{"7d", "30d"}

type refreshKey struct{}

// cachedReport fills data's report part from the cache when a fresh enough
// entry exists (and the request is not the refresher's own).
func (d *Dashboard) cachedReport(ctx context.Context, k reportKey, data *useCaseData) bool {
	if d.opt.ReportRefresh <= 0 || ctx.Value(refreshKey{}) != nil {
		return false
	}
	d.reports.mu.Lock()
	e, ok := d.reports.m[k]
	every := max(d.reports.every, d.opt.ReportRefresh)
	d.reports.mu.Unlock()
	if !ok || d.now().Sub(e.at) > 2*every {
		return false
	}
	data.Report, data.Dist, data.KPIs, data.OutcomeChart, data.KPIChart = e.report, e.dist, e.kpis, e.outcomeChart, e.kpiChart
	data.Hist, data.HistMax, data.Outliers = e.hist, e.histMax, e.outliers
	data.ReportNotes = append(data.ReportNotes, e.notes...)
	data.ReportAsOf = e.at
	return true
}

// keepReport stores a report part computed without errors.
func (d *Dashboard) keepReport(k reportKey, data *useCaseData, notes []string, at time.Time) {
	if d.opt.ReportRefresh <= 0 {
		return
	}
	d.reports.mu.Lock()
	defer d.reports.mu.Unlock()
	if d.reports.m == nil {
		d.reports.m = map[reportKey]reportEntry{}
	}
	for old, e := range d.reports.m { // yesterday's ranges
		if at.Sub(e.at) > 4*max(d.reports.every, d.opt.ReportRefresh) {
			delete(d.reports.m, old)
		}
	}
	d.reports.m[k] = reportEntry{at: at, report: data.Report, dist: data.Dist, kpis: data.KPIs, outcomeChart: data.OutcomeChart,
		kpiChart: data.KPIChart, hist: data.Hist, histMax: data.HistMax, outliers: data.Outliers, notes: notes}
}

// RefreshReports recomputes the warm reports now and then every
// Options.ReportRefresh until ctx is done: for every defined use case and
// warm range, as an admin sees them, through the page's own handler.
func (d *Dashboard) RefreshReports(ctx context.Context) {
	if d.opt.ReportRefresh <= 0 || d.opt.Value.UseCases == nil {
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		defs, err := d.opt.Value.UseCases.List(ctx)
		if err != nil {
			d.log.Warn("refresh use case reports", "err", err)
		}
		// Each use case as everyone sees it, and as each team that called
		// it lately sees it.
		teams := map[string][]string{}
		if d.opt.Rollups != nil {
			to := d.now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
			rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: to.AddDate(0, 0, -30), To: to,
				GroupBy: []string{store.RollupUseCase, store.RollupTeam}})
			if err != nil {
				d.log.Warn("refresh use case reports: teams", "err", err)
			}
			for _, r := range rows {
				if r.Key.Team != "" {
					teams[r.Key.UseCase] = append(teams[r.Key.UseCase], r.Key.Team)
				}
			}
		}
		n := 0
		for _, def := range defs {
			for _, team := range append([]string{""}, teams[def.Name]...) {
				for _, rng := range warmRanges {
					if ctx.Err() != nil {
						return
					}
					if d.warm(ctx, def.Name, team, rng) {
						n++
					}
				}
			}
		}
		took := time.Since(start)
		every := max(d.opt.ReportRefresh, 5*took)
		d.reports.mu.Lock()
		d.reports.every = every
		d.reports.mu.Unlock()
		d.log.Info("use case reports refreshed", "reports", n, "took", took.Round(time.Millisecond), "next_in", every.Round(time.Second))
		t.Reset(every)
	}
}

// warm computes one report as team ("" for everyone) sees it, through the
// page's own handler, which keeps it.
func (d *Dashboard) warm(ctx context.Context, name, team, rng string) bool {
	p := auth.Principal{Kind: "system", Person: "report refresh", Role: auth.Admin}
	if team != "" {
		p = auth.Principal{Kind: "system", Person: "report refresh", Role: auth.Viewer, Team: team}
	}
	rctx := context.WithValue(context.WithValue(ctx, refreshKey{}, true), viewerKey{}, viewer{Principal: p})
	req := httptest.NewRequestWithContext(rctx, http.MethodGet,
		useCasePath(name)+"?"+url.Values{"range": {rng}, "report": {"1"}}.Encode(), nil)
	req.SetPathValue("name", name)
	w := httptest.NewRecorder()
	d.useCase(w, req)
	return w.Code == http.StatusOK
}

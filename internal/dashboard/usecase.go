package dashboard

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/value"
)

// useCaseRange is the use case page's time range: whole UTC days ending
// with today.
type useCaseRange struct {
	Name string // 7d, 30d or 90d
	Days int
	// From and To bound the range (To is the start of tomorrow, UTC).
	From, To time.Time
	// Step is the latency chart's bucket (the spend and KPI charts are
	// per day).
	Step time.Duration
}

var useCaseRanges = []string{"7d", "30d", "90d"}

func parseUseCaseRange(s string, now time.Time) (useCaseRange, bool) {
	days := map[string]int{"7d": 7, "30d": 30, "90d": 90}
	steps := map[string]time.Duration{"7d": time.Hour, "30d": 6 * time.Hour, "90d": 24 * time.Hour}
	if s == "" {
		s = "30d"
	}
	n, ok := days[s]
	if !ok {
		return useCaseRange{}, false
	}
	to := ucDayStart(now).AddDate(0, 0, 1)
	return useCaseRange{Name: s, Days: n, From: to.AddDate(0, 0, -n), To: to, Step: steps[s]}, true
}

// FromDay and ToDay are the range's days, for links to the calls.
func (u useCaseRange) FromDay() string { return u.From.Format(time.DateOnly) }
func (u useCaseRange) ToDay() string   { return u.To.AddDate(0, 0, -1).Format(time.DateOnly) }

// ucVersionMark is a use case version on the charts.
type ucVersionMark struct {
	Version string
	At      time.Time
	// Defined: from the definition's version log; else the first call
	// that carried it in the range.
	Defined bool
	Note    string
}

// ucSeenVersion is a version the range's calls carried.
type ucSeenVersion struct {
	Version string
	First   time.Time
	Calls   int64
	Spend   store.Amount
}

// ucBreakdownRow is one model or team of a use case.
type ucBreakdownRow struct {
	Key, Link    string
	Calls        int64
	Errors       int64
	Spend        store.Amount
	Unpriced     int64
	Share        float64
	P95E2E       *float64
	ErrorRateVal float64
}

// ucHistBin is one bar of the cost-per-instance histogram.
type ucHistBin struct {
	Lo, Hi store.Amount
	Count  int
}

// ucOutlier is one of the costliest instances.
type ucOutlier struct {
	Instance, Link string
	First          time.Time
	Calls          int64
	Cost           store.Amount
	// TimesMedian is the cost over the median instance's.
	TimesMedian float64
	// Outlier: above the upper Tukey fence (Q3 + 1.5 IQR).
	Outlier bool
}

// ucKPIGoal is one KPI's result over the range against its goal.
type ucKPIGoal struct {
	value.KPIFigures
}

// ucComparison is two versions side by side.
type ucComparison struct {
	A, B        string
	FiguresA    value.Figures
	FiguresB    value.Figures
	Regressions []string
	// Flagged: Regressions were computed (across teams only).
	Flagged bool
	Error   string
	// Options are the versions to choose from.
	Options []string
	Range   string
	Name    string
	// Lazy: the figures are to be loaded from Load (htmx).
	Lazy bool
	Load string
}

type useCaseData struct {
	Name  string
	Team  string
	Def   *value.Stored
	Range useCaseRange
	// Ranges are the range links.
	Ranges []ucRangeLink
	// Calls, Errors, Unpriced, Spend over the range, from the rollups.
	Calls, Errors, Unpriced int64
	Spend                   store.Amount
	ErrorRate               float64
	CallsLink               string
	Report                  *value.UseCaseReport
	KPIs                    []ucKPIGoal
	SpendChart              string
	OutcomeChart            string
	KPIChart                string
	LatencyChart            string
	Versions                []ucVersionMark
	Seen                    []ucSeenVersion
	Compare                 *ucComparison
	Hist                    []ucHistBin
	HistMax                 int
	Outliers                []ucOutlier
	Dist                    *value.Distribution
	ByModel, ByTeam, ByStep []ucBreakdownRow
	Notes                   []string
	Error                   string
	// ReportLazy: the report's figures are loaded from ReportLoad (htmx);
	// ReportNotes say why some are missing.
	ReportLazy  bool
	ReportLoad  string
	ReportNotes []string
	ReportError string
	// ReportAsOf is when the report shown was made (a kept one), zero
	// when it was made for this page.
	ReportAsOf time.Time
	// Drift is the use case's drift events and its models' identity
	// changes (nil when not wired, or for a team-limited viewer).
	Drift *ucDrift
}

type ucRangeLink struct {
	Name, Link string
	Current    bool
}

// useCase is one use case's page: charts of spend, cost per outcome, KPI
// rates and latency with version markers, a version comparison, the
// distribution of cost per instance and a breakdown by model and team.
func (d *Dashboard) useCase(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	ctx := r.Context()
	name := r.PathValue("name")
	rg, ok := parseUseCaseRange(r.URL.Query().Get("range"), d.now())
	if !ok {
		d.errorPage(w, r, &v, http.StatusBadRequest, "Unknown range "+strconv.Quote(r.URL.Query().Get("range"))+": 7d, 30d or 90d.")
		return
	}
	data := useCaseData{Name: name, Team: v.Team, Range: rg}
	for _, n := range useCaseRanges {
		data.Ranges = append(data.Ranges, ucRangeLink{Name: n, Link: useCasePath(name) + "?range=" + n, Current: n == rg.Name})
	}
	var errs []string
	fail := func(what string, err error) {
		if ctx.Err() == nil { // a page left, or the refresher stopped: not an error
			d.log.Error("use case page: "+what, "use_case", name, "err", err)
		}
		errs = append(errs, what)
	}

	src := d.reportSource(v, rg.From)

	// The definition, if any.
	if uc := d.opt.Value.UseCases; uc != nil {
		def, err := uc.Get(ctx, name)
		switch {
		case err == nil:
			data.Def = &def
		case errors.Is(err, store.ErrNotFound):
		default:
			fail("the definition", err)
		}
	}

	// Spend per day and the versions seen, from the rollups: one query.
	filter := rollup.Key{UseCase: name, Team: v.Team}
	var spend chartData
	if d.opt.Rollups != nil {
		rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: rg.From, To: rg.To, Step: 24 * time.Hour,
			GroupBy: []string{store.RollupUseCaseVersion}, Filter: filter})
		if err != nil {
			fail("the spend per day", err)
		}
		perDay := map[int64]float64{}
		seen := map[string]*ucSeenVersion{}
		for _, row := range rows {
			data.Calls += row.Calls
			data.Errors += row.Errors
			data.Unpriced += row.Unpriced
			data.Spend.AddAmount(spendOf(&row.Agg))
			perDay[row.Bucket.Unix()] += row.CostUSD()
			s := seen[row.Key.UseCaseVersion]
			if s == nil {
				s = &ucSeenVersion{Version: row.Key.UseCaseVersion, First: row.Bucket}
				seen[row.Key.UseCaseVersion] = s
			}
			s.Calls += row.Calls
			s.Spend.AddAmount(spendOf(&row.Agg))
		}
		if data.Calls > 0 {
			data.ErrorRate = float64(data.Errors) / float64(data.Calls)
		}
		c := chartData{Series: []chartSeries{{Label: "Spend", Unit: "usd"}}}
		for t := rg.From; t.Before(rg.To); t = t.AddDate(0, 0, 1) {
			c.T = append(c.T, t.Unix())
			c.Series[0].Values = append(c.Series[0].Values, ucFloat(perDay[t.Unix()]))
		}
		for _, s := range seen {
			data.Seen = append(data.Seen, *s)
		}
		slices.SortFunc(data.Seen, func(a, b ucSeenVersion) int {
			return cmp.Or(a.First.Compare(b.First), strings.Compare(a.Version, b.Version))
		})
		data.Versions = ucVersionMarks(data.Def, data.Seen, rg)
		c.Markers = ucMarkers(data.Versions)
		data.SpendChart, spend = c.JSON(), c
	} else {
		data.Notes = append(data.Notes, "Charts need the rollups, which this server does not keep.")
	}
	if data.Calls == 0 && (v.Team != "" || data.Def == nil) && !d.anyCall(ctx, name, v.Team, rg) {
		d.errorPage(w, r, &v, http.StatusNotFound, "No use case "+strconv.Quote(name)+" is defined or seen in calls of the last "+strconv.Itoa(rg.Days)+" days"+ucTeamSuffix(v)+".")
		return
	}
	// The version comparison reads two reports: htmx asks for it apart,
	// once the page is shown, so that the page itself stays fast.
	q := r.URL.Query()
	if r.Header.Get("HX-Target") == "compare" && r.Header.Get("HX-History-Restore-Request") != "true" {
		data.Compare = d.compare(ctx, v, src, &data, q.Get("a"), q.Get("b"), false)
		d.render(w, http.StatusOK, "usecase", "compare-partial", view{Title: name + " · Use cases", Active: Prefix + "usecases", Viewer: &v, Data: data})
		return
	}
	data.CallsLink = ucCallsLink("use_case", name, "from", rg.FromDay(), "to", rg.ToDay())
	mk := ucMarkers(data.Versions)
	// So do the KPI figures, value and the cost per run: they read the
	// range's calls per instance.
	if r.Header.Get("HX-Target") == "report" && r.Header.Get("HX-History-Restore-Request") != "true" {
		d.useCaseReport(ctx, v, src, &data, mk, fail)
		if len(errs) > 0 {
			// htmx swaps only successful answers: the error goes in the block.
			data.ReportError = "Could not read " + strings.Join(errs, ", ") + "; try again."
		}
		d.render(w, http.StatusOK, "usecase", "report-partial", view{Title: name + " · Use cases", Active: Prefix + "usecases", Viewer: &v, Data: data})
		return
	}

	// Latency percentiles, from the rollups' sketches.
	var latency []store.RollupRow
	if d.opt.Rollups != nil {
		rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: rg.From, To: rg.To, Step: rg.Step, Filter: filter, Sketches: true})
		if err != nil {
			fail("the latency", err)
		}
		latency = rows
	}

	// Breakdown by model, team and step.
	if d.opt.Rollups != nil {
		for _, g := range []struct {
			dim string
			out *[]ucBreakdownRow
		}{{store.RollupModel, &data.ByModel}, {store.RollupTeam, &data.ByTeam}, {store.RollupUseCaseStep, &data.ByStep}} {
			rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: rg.From, To: rg.To, GroupBy: []string{g.dim}, Filter: filter, Sketches: true})
			if err != nil {
				fail("the breakdown by "+g.dim, err)
				continue
			}
			*g.out = ucBreakdown(rows, g.dim, name, rg)
		}
	}

	// Drift: the use case's events and its models' identity changes,
	// listed and marked on the spend and latency charts (not on the
	// report's, which are kept apart). They span teams.
	chartMk := mk
	if d.opt.Drift.Events != nil && v.Team == "" {
		models := map[string]bool{}
		for _, m := range data.ByModel {
			models[m.Key] = true
		}
		dr, dmk, err := d.useCaseDrift(ctx, name, rg, models)
		if err != nil {
			fail("the drift events", err)
		} else {
			data.Drift = dr
		}
		if len(dmk) > 0 {
			chartMk = slices.SortedStableFunc(slices.Values(append(slices.Clone(mk), dmk...)), func(a, b chartMarker) int { return cmp.Compare(a.T, b.T) })
			if data.SpendChart != "" {
				spend.Markers = chartMk
				data.SpendChart = spend.JSON()
			}
		}
	}
	if d.opt.Rollups != nil {
		data.LatencyChart = ucLatencyChart(latency, rg, chartMk).JSON()
	}

	// The report: shown with the page when asked for (a browser without
	// JavaScript), else loaded apart (see above).
	if q.Get("report") == "1" {
		d.useCaseReport(ctx, v, src, &data, mk, fail)
	} else {
		data.ReportLazy = true
		data.ReportLoad = useCasePath(name) + "?" + url.Values{"range": {rg.Name}, "report": {"1"}}.Encode()
	}

	// The version comparison: loaded apart (see above) unless the
	// versions are asked for (a browser without JavaScript).
	data.Compare = d.compare(ctx, v, src, &data, q.Get("a"), q.Get("b"), q.Get("a") == "" || q.Get("b") == "")

	status := http.StatusOK
	if len(errs) > 0 {
		status, data.Error = http.StatusInternalServerError, "Could not read "+strings.Join(errs, ", ")+"; the figures below may be incomplete."
	}
	d.render(w, status, "usecase", "", view{Title: name + " · Use cases", Active: Prefix + "usecases", Viewer: &v, Data: data})
}

// useCaseReport fills data's report figures: the KPIs against their
// goals, the charts of cost per outcome and KPI rates, value, and the
// distribution of cost per run with its outliers. The report and the
// instances' costs share one read of the range's calls per instance.
func (d *Dashboard) useCaseReport(ctx context.Context, v viewer, src *pageSource, data *useCaseData, mk []chartMarker, fail func(string, error)) {
	name, rg := data.Name, data.Range
	key := reportKey{name: name, rng: rg.Name, team: v.Team, to: rg.To}
	if d.cachedReport(ctx, key, data) {
		return
	}
	at := d.now()
	failed := false
	fail0 := fail
	fail = func(what string, err error) { failed = true; fail0(what, err) }
	notes := len(data.ReportNotes)
	defer func() {
		if !failed {
			d.keepReport(key, data, append([]string(nil), data.ReportNotes[notes:]...), at)
		}
	}()
	if data.Def != nil {
		rep, err := d.report(ctx, v, src, *data.Def, value.ReportQuery{From: rg.From, To: rg.To, GroupBy: value.GroupDay})
		switch {
		case errors.Is(err, errNoReport):
			data.ReportNotes = append(data.ReportNotes, "KPI figures and value are not available to your team on this server.")
		case err != nil:
			fail("the report", err)
		default:
			data.Report = &rep
			data.Dist = rep.CostPerInstance
			for _, k := range rep.KPIs {
				data.KPIs = append(data.KPIs, ucKPIGoal{k})
			}
			data.OutcomeChart, data.KPIChart = ucKPICharts(&rep, rg, mk)
		}
	} else {
		data.ReportNotes = append(data.ReportNotes, "This use case is not defined: define it (PUT /api/v1/use-cases/"+name+" with owners and KPIs) to see cost per outcome, KPI rates and value.")
	}
	switch {
	case src != nil:
		insts, err := src.InstanceTotals(ctx, store.InstanceQuery{UseCase: name, From: rg.From, To: rg.To})
		if err != nil {
			fail("the instances", err)
			return
		}
		data.Hist, data.HistMax, data.Outliers = ucInstanceCosts(insts, v.Team, name)
	case data.Report != nil:
		for _, c := range data.Report.Costliest {
			data.Outliers = append(data.Outliers, ucOutlier{Instance: c.Instance, Link: instancePath(name, c.Instance), First: c.First, Calls: c.Calls, Cost: c.CostUSD})
		}
	}
}

// anyCall reports whether the use case has a call of team ("": any) in
// the range: a use case without is hidden from a team viewer (it may be
// another team's), and does not exist for others unless it is defined.
// One bounded query, for when the rollups found nothing (or are absent).
func (d *Dashboard) anyCall(ctx context.Context, useCase, team string, rg useCaseRange) bool {
	page, err := d.opt.Requests.ListRequests(ctx, store.RequestQuery{UseCase: useCase, Team: team, From: rg.From, To: rg.To, Limit: 1})
	return err == nil && len(page.Requests) > 0
}

func ucTeamSuffix(v viewer) string {
	if v.Team == "" {
		return ""
	}
	return " by team " + v.Team
}

func instancePath(useCase, instance string) string {
	return useCasePath(useCase) + "/instances/" + url.PathEscape(instance)
}

// ucVersionMarks are the definition's version changes in the range and
// the first call of each version seen in it (unless that is the range's
// first day, where the version may well be older).
func ucVersionMarks(def *value.Stored, seen []ucSeenVersion, rg useCaseRange) []ucVersionMark {
	var out []ucVersionMark
	defined := map[string]bool{}
	if def != nil {
		for _, ver := range def.Versions {
			if !ver.From.Before(rg.From) && ver.From.Before(rg.To) {
				out = append(out, ucVersionMark{Version: ver.Version, At: ver.From, Defined: true, Note: ver.Note})
				defined[ver.Version] = true
			}
		}
	}
	for _, s := range seen {
		if s.Version == "" || defined[s.Version] || !s.First.After(rg.From) {
			continue
		}
		out = append(out, ucVersionMark{Version: s.Version, At: s.First})
	}
	slices.SortFunc(out, func(a, b ucVersionMark) int { return a.At.Compare(b.At) })
	return out
}

func ucMarkers(vs []ucVersionMark) []chartMarker {
	var out []chartMarker
	for _, m := range vs {
		label := "v" + m.Version
		if !m.Defined {
			label += " first call"
		}
		out = append(out, chartMarker{T: m.At.Unix(), Label: label})
	}
	return out
}

// ucLatencyChart is p50 and p95 of TTFT and end-to-end latency per bucket.
func ucLatencyChart(rows []store.RollupRow, rg useCaseRange, mk []chartMarker) chartData {
	byBucket := map[int64]*rollup.Agg{}
	for i := range rows {
		k := rows[i].Bucket.Unix()
		if a := byBucket[k]; a != nil {
			a.Merge(&rows[i].Agg)
		} else {
			byBucket[k] = &rows[i].Agg
		}
	}
	c := chartData{Markers: mk, Series: []chartSeries{
		{Label: "TTFT p50", Unit: "ms"}, {Label: "TTFT p95", Unit: "ms"},
		{Label: "End to end p50", Unit: "ms"}, {Label: "End to end p95", Unit: "ms"}}}
	// Only the buckets with calls: a use case called now and then would
	// otherwise draw isolated points between gaps.
	for t := rg.From; t.Before(rg.To); t = t.Add(rg.Step) {
		a := byBucket[t.Unix()]
		if a == nil {
			continue
		}
		c.T = append(c.T, t.Unix())
		for i, q := range []struct {
			m rollup.Metric
			q float64
		}{{rollup.TTFT, 0.5}, {rollup.TTFT, 0.95}, {rollup.E2E, 0.5}, {rollup.E2E, 0.95}} {
			var p *float64
			if a != nil {
				if x, ok := a.Quantile(q.m, q.q); ok {
					p = ucFloat(x)
				}
			}
			c.Series[i].Values = append(c.Series[i].Values, p)
		}
	}
	return c
}

// ucBreakdown turns rows grouped by dim into table rows, most spend first.
func ucBreakdown(rows []store.RollupRow, dim, useCase string, rg useCaseRange) []ucBreakdownRow {
	var total store.Amount
	var out []ucBreakdownRow
	for i := range rows {
		row := &rows[i]
		key := row.Key.Model
		link := ucCallsLink("use_case", useCase, dim, key, "from", rg.FromDay(), "to", rg.ToDay())
		switch dim {
		case store.RollupTeam:
			key = row.Key.Team
			link = ucCallsLink("use_case", useCase, dim, key, "from", rg.FromDay(), "to", rg.ToDay())
		case store.RollupUseCaseStep:
			// The calls list has no step filter: the use case's calls.
			key = row.Key.UseCaseStep
			link = ucCallsLink("use_case", useCase, "from", rg.FromDay(), "to", rg.ToDay())
		}
		b := ucBreakdownRow{Key: key, Calls: row.Calls, Errors: row.Errors, Unpriced: row.Unpriced, Spend: spendOf(&row.Agg), Link: link}
		if row.Calls > 0 {
			b.ErrorRateVal = float64(row.Errors) / float64(row.Calls)
		}
		if x, ok := row.Quantile(rollup.E2E, 0.95); ok {
			b.P95E2E = ucFloat(x)
		}
		total.AddAmount(b.Spend)
		out = append(out, b)
	}
	if t := ucDollars(total); t > 0 {
		for i := range out {
			out[i].Share = ucDollars(out[i].Spend) / t
		}
	}
	slices.SortFunc(out, func(a, b ucBreakdownRow) int {
		return cmp.Or(b.Spend.Cmp(a.Spend), cmp.Compare(b.Calls, a.Calls), strings.Compare(a.Key, b.Key))
	})
	return out
}

// ucKPICharts are the cost per outcome of each KPI per day, and each KPI's
// rate (boolean) or mean per day against its goal.
func ucKPICharts(rep *value.UseCaseReport, rg useCaseRange, mk []chartMarker) (outcomes, rates string) {
	byDay := map[string]*value.Group{}
	for i := range rep.Groups {
		byDay[rep.Groups[i].Key] = &rep.Groups[i]
	}
	oc := chartData{Markers: mk}
	kc := chartData{Markers: mk}
	type idx struct{ cost, rate, goal int }
	ix := map[string]idx{}
	for _, k := range rep.KPIs {
		i := idx{-1, -1, -1}
		if k.Type == value.TypeBoolean || k.Type == value.TypeNumber || k.Type == value.TypeCurrency {
			i.cost = len(oc.Series)
			oc.Series = append(oc.Series, chartSeries{Label: "Cost per " + k.Name, Unit: "usd"})
		}
		unit := "count"
		label := k.Name + " mean"
		if k.Type == value.TypeBoolean {
			unit, label = "percent", k.Name+" rate"
		}
		i.rate = len(kc.Series)
		kc.Series = append(kc.Series, chartSeries{Label: label, Unit: unit})
		if k.Goal != nil {
			i.goal = len(kc.Series)
			kc.Series = append(kc.Series, chartSeries{Label: k.Name + " goal", Unit: unit})
		}
		ix[k.Name] = i
	}
	for t := rg.From; t.Before(rg.To); t = t.AddDate(0, 0, 1) {
		oc.T = append(oc.T, t.Unix())
		kc.T = append(kc.T, t.Unix())
		for s := range oc.Series {
			oc.Series[s].Values = append(oc.Series[s].Values, nil)
		}
		for s := range kc.Series {
			kc.Series[s].Values = append(kc.Series[s].Values, nil)
		}
		n := len(kc.T) - 1
		for _, k := range rep.KPIs {
			i := ix[k.Name]
			if i.goal >= 0 {
				kc.Series[i.goal].Values[n] = ucFloat(*k.Goal)
			}
		}
		g := byDay[t.Format(time.DateOnly)]
		if g == nil {
			continue
		}
		for _, k := range g.KPIs {
			i, ok := ix[k.Name]
			if !ok {
				continue
			}
			if i.cost >= 0 && k.CostPerOutcome != nil {
				oc.Series[i.cost].Values[n] = ucFloat(ucDollars(*k.CostPerOutcome))
			}
			switch {
			case k.Rate != nil:
				kc.Series[i.rate].Values[n] = ucFloat(*k.Rate)
			case k.Mean != nil:
				kc.Series[i.rate].Values[n] = ucFloat(*k.Mean)
			}
		}
	}
	if len(oc.Series) > 0 {
		outcomes = oc.JSON()
	}
	if len(kc.Series) > 0 {
		rates = kc.JSON()
	}
	return outcomes, rates
}

// ucHistBins is the number of bars of the cost-per-instance histogram.
const ucHistBins = 12

// ucInstanceCosts is the histogram of the instances' costs (named
// instances only, of team when set) and the ten costliest, flagged when
// above the upper Tukey fence.
func ucInstanceCosts(insts []store.InstanceTotal, team, useCase string) ([]ucHistBin, int, []ucOutlier) {
	insts = slices.DeleteFunc(slices.Clone(insts), func(it store.InstanceTotal) bool {
		return it.Instance == "" || team != "" && it.Team != team
	})
	if len(insts) == 0 {
		return nil, 0, nil
	}
	slices.SortFunc(insts, func(a, b store.InstanceTotal) int {
		return cmp.Or(a.CostUSD.Cmp(b.CostUSD), strings.Compare(a.Instance, b.Instance))
	})
	n := len(insts)
	at := func(p float64) float64 { return ucDollars(insts[min(n-1, int(p*float64(n-1)+0.5))].CostUSD) }
	median, q1, q3 := at(0.5), at(0.25), at(0.75)
	fence := q3 + 1.5*(q3-q1)
	lo, hi := ucDollars(insts[0].CostUSD), ucDollars(insts[n-1].CostUSD)
	width := (hi - lo) / ucHistBins
	bins := make([]ucHistBin, ucHistBins)
	if width == 0 {
		bins = bins[:1]
	}
	for i := range bins {
		bins[i].Lo = ucAmount(lo + float64(i)*width)
		bins[i].Hi = ucAmount(lo + float64(i+1)*width)
	}
	if width == 0 {
		bins[0].Hi = insts[n-1].CostUSD
	}
	most := 0
	for _, it := range insts {
		i := 0
		if width > 0 {
			i = min(ucHistBins-1, int((ucDollars(it.CostUSD)-lo)/width))
		}
		bins[i].Count++
		most = max(most, bins[i].Count)
	}
	var out []ucOutlier
	for i := n - 1; i >= 0 && i >= n-10; i-- {
		it := insts[i]
		c := ucDollars(it.CostUSD)
		o := ucOutlier{Instance: it.Instance, Link: instancePath(useCase, it.Instance), First: it.First, Calls: it.Calls, Cost: it.CostUSD, Outlier: c > fence && n >= 4}
		if median > 0 {
			o.TimesMedian = c / median
		}
		out = append(out, o)
	}
	return bins, most, out
}

// ucAmount is f ucDollars to the micro-dollar (histogram edges only).
func ucAmount(f float64) store.Amount {
	var a store.Amount
	a.AddMicro(int64(math.Round(f * 1e6)))
	return a
}

// compare puts versions a and b side by side; by default the last two
// versions of the definition, or the two versions of the range with the
// most calls.
//
// Lazy only chooses the versions: the template then asks for the figures
// with htmx.
func (d *Dashboard) compare(ctx context.Context, v viewer, src *pageSource, data *useCaseData, a, b string, lazy bool) *ucComparison {
	c := &ucComparison{A: a, B: b, Range: data.Range.Name, Name: data.Name}
	have := map[string]bool{}
	add := func(s string) {
		if s != "" && !have[s] {
			have[s] = true
			c.Options = append(c.Options, s)
		}
	}
	if data.Def != nil {
		for _, ver := range data.Def.Versions {
			add(ver.Version)
		}
		add(data.Def.Version)
	}
	byCalls := slices.Clone(data.Seen)
	slices.SortFunc(byCalls, func(x, y ucSeenVersion) int { return cmp.Compare(y.Calls, x.Calls) })
	for _, s := range data.Seen {
		add(s.Version)
	}
	if c.A == "" || c.B == "" {
		switch {
		case data.Def != nil && len(data.Def.Versions) >= 2:
			vs := data.Def.Versions
			c.A, c.B = vs[len(vs)-2].Version, vs[len(vs)-1].Version
		case len(byCalls) >= 2 && byCalls[0].Version != "" && byCalls[1].Version != "":
			c.A, c.B = byCalls[1].Version, byCalls[0].Version
			if byCalls[0].First.Before(byCalls[1].First) {
				c.A, c.B = c.B, c.A
			}
		default:
			return c // nothing to compare: the template says so
		}
	}
	if data.Def == nil {
		c.Error = "Define the use case to compare its versions."
		return c
	}
	if lazy {
		c.Lazy = true
		c.Load = useCasePath(data.Name) + "?" + url.Values{"range": {data.Range.Name}, "a": {c.A}, "b": {c.B}}.Encode()
		return c
	}
	rg := data.Range
	switch {
	case v.Team == "" && d.opt.Value.UseCases != nil:
		cmpr, err := d.opt.Value.UseCases.Compare(ctx, data.Name, c.A, c.B, rg.From, rg.To, 0.1)
		if err != nil {
			d.log.Error("use case page: compare", "use_case", data.Name, "err", err)
			c.Error = "Could not compare the versions; try again."
			return c
		}
		c.FiguresA, c.FiguresB, c.Regressions, c.Flagged = cmpr.FiguresA, cmpr.FiguresB, cmpr.Regressions, true
	default:
		for _, p := range []struct {
			ver string
			out *value.Figures
		}{{c.A, &c.FiguresA}, {c.B, &c.FiguresB}} {
			rep, err := d.report(ctx, v, src, *data.Def, value.ReportQuery{From: rg.From, To: rg.To, Version: p.ver})
			if errors.Is(err, errNoReport) {
				c.Error = "Version figures are not available to your team on this server."
				return c
			}
			if err != nil {
				d.log.Error("use case page: version report", "use_case", data.Name, "err", err)
				c.Error = "Could not compare the versions; try again."
				return c
			}
			*p.out = rep.Figures
		}
	}
	return c
}

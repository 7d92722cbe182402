package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// costDims are the rollup dimensions the Costs page breaks spend down by,
// in the order of its tables.
var costDims = []struct{ Key, Name, Param string }{
	{store.RollupProvider, "Provider", "provider"},
	{store.RollupModel, "Model", "model"},
	{store.RollupTeam, "Team", "team"},
	{store.RollupUseCase, "Use case", "use_case"},
}

// Bounds of the Costs page's queries.
const (
	// maxCostDays is the longest range the page charts (one point a day).
	maxCostDays = 366
	// costRows bounds the rows of the per-account and per-user tables.
	costRows = 50
	// chartSeriesMax is how many groups the stacked chart draws; the rest
	// is one "other" series.
	chartSeriesMax = 6
	// revisionRows is how many of the latest cost revisions are grouped
	// into re-pricing runs.
	revisionRows = 1000
)

// costRange is the Costs page's date range: whole UTC days, To included.
type costRange struct {
	FromText, ToText string
	// from and to bound received_at: [from, to).
	from, to time.Time
}

// parseCostRange reads from and to (YYYY-MM-DD, UTC; to is included),
// defaulting to this month so far.
func parseCostRange(q url.Values, now time.Time) (costRange, error) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	r := costRange{FromText: strings.TrimSpace(q.Get("from")), ToText: strings.TrimSpace(q.Get("to"))}
	r.from = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	r.to = today
	for _, b := range []struct {
		text *string
		t    *time.Time
		name string
	}{{&r.FromText, &r.from, "from"}, {&r.ToText, &r.to, "to"}} {
		if *b.text == "" {
			*b.text = b.t.Format(time.DateOnly)
			continue
		}
		t, err := time.Parse(time.DateOnly, *b.text)
		if err != nil || t.Year() < 1900 || t.Year() > 2200 {
			return r, fmt.Errorf("%s: %q is not a day (YYYY-MM-DD)", b.name, *b.text)
		}
		*b.t = t
	}
	if r.to.Before(r.from) {
		return r, fmt.Errorf("the range ends (%s) before it starts (%s)", r.ToText, r.FromText)
	}
	r.to = r.to.AddDate(0, 0, 1)
	if days := int(r.to.Sub(r.from) / (24 * time.Hour)); days > maxCostDays {
		return r, fmt.Errorf("the range has %d days; at most %d", days, maxCostDays)
	}
	return r, nil
}

// values is the range as a query.
func (r costRange) values() url.Values { return url.Values{"from": {r.FromText}, "to": {r.ToText}} }

// costRow is one group of a spend table.
type costRow struct {
	Key   string
	Calls int64
	// Unpriced calls reached a provider but have no cost; Spend leaves
	// them out.
	Unpriced                  int64
	Spend                     store.Amount
	InputTokens, OutputTokens int64
	// Link is the calls page's query of the group, "" when the calls page
	// cannot filter by the dimension.
	Link string
}

// costTable is one dimension's spend table.
type costTable struct {
	// Name heads the key column, Heading the table ("use case"); Table
	// is the table's name in the CSV export.
	Name, Heading, Table string
	// Param is the calls page's filter of the dimension ("" for none).
	Param string
	// From and To are the range, for the CSV link.
	From, To string
	Rows     []costRow
	Total    costRow
	Error    string
}

type costsData struct {
	Team  string
	Range costRange
	// Query is the range as a query (for links and the CSV export).
	Query url.Values
	Error string
	// HasRollups: the per-dimension tables and the chart are available.
	HasRollups bool
	// By is the dimension the chart stacks (a costDims Param).
	By     string
	ByName string
	Dims   []struct{ Key, Name, Param string }
	Chart  string
	Days   []costRow
	Tables []costTable
	// HasCosts: the account and user tables are available; they read
	// the calls (not the rollups), so the page loads them by htmx from
	// /ui/costs/accounts unless AccountsLoaded.
	HasCosts, AccountsLoaded bool
	Accounts, Users          costTable
	Unpriced                 unpricedData
	Catalog                  catalogData
	Custom                   customData
	Revisions                revisionsData
	// CanReconcile: the viewer may reconcile and a reconciler is wired.
	CanReconcile bool
	Reconcile    reconcileForm
	// Reconciled is a reconciliation's result, on the page a browser
	// without JavaScript gets after posting the form.
	Reconciled *reconcileData
	CSRF       string
}

type unpricedData struct {
	Available bool
	// Detailed: first and last seen and the units are known (not for a
	// team-limited viewer, whose figures come from the rollups).
	Detailed bool
	Models   []store.UnpricedModel
	Error    string
}

// costs is the Costs page: spend by provider, model, team and use case
// from the day rollups (one query per dimension over the range), by
// account and user from the cost totals, unpriced models, the price
// catalog, the API price entries, the re-pricing runs and reconciliation.
func (d *Dashboard) costs(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	data, status := d.costsData(r.Context(), v, r.URL.Query())
	block := ""
	if r.Header.Get("HX-Target") == "costs-results" && r.Header.Get("HX-History-Restore-Request") != "true" {
		block = "costs-results"
		w.Header().Set("HX-Push-Url", Prefix+"costs"+encodeQuery(pushQuery(data)))
	}
	d.render(w, status, "costs", block, view{Title: "Costs", Active: Prefix + "costs", Viewer: &v, Data: data})
}

func pushQuery(data costsData) url.Values {
	q := data.Range.values()
	if data.By != "" && data.By != costDims[0].Param {
		q.Set("by", data.By)
	}
	return q
}

func (d *Dashboard) costsData(ctx context.Context, v viewer, q url.Values) (costsData, int) {
	data := costsData{Team: v.Team, Dims: costDims, CSRF: v.CSRF()}
	status := http.StatusOK
	rng, err := parseCostRange(q, d.now())
	data.Range, data.Query = rng, rng.values()
	if err != nil {
		data.Error = err.Error()
		return data, http.StatusBadRequest
	}
	fail := func(what string, err error) string {
		d.log.Error("costs: "+what, "err", err)
		status = http.StatusInternalServerError
		return "Could not read " + what + "; try again."
	}
	data.By = costDims[0].Param
	for _, dim := range costDims {
		if q.Get("by") == dim.Param {
			data.By = dim.Param
		}
		if data.By == dim.Param {
			data.ByName = dim.Name
		}
	}
	if d.opt.Rollups != nil {
		data.HasRollups = true
		days := map[int64]*costRow{}
		for _, dim := range costDims {
			t, perDay, err := d.costTable(ctx, v.Team, rng, dim.Key, dim.Name, dim.Param)
			if err != nil {
				t.Error = fail("the spend by "+strings.ToLower(dim.Name), err)
			}
			data.Tables = append(data.Tables, t)
			if dim.Param == data.By && err == nil {
				data.Chart = stackedChart(rng, t.Rows, perDay)
			}
			if dim.Key == costDims[0].Key && err == nil {
				for day, byKey := range perDay {
					row := &costRow{Key: time.Unix(day, 0).UTC().Format(time.DateOnly)}
					for _, c := range byKey {
						addRow(row, c)
					}
					days[day] = row
				}
			}
		}
		for day := rng.from; day.Before(rng.to); day = day.AddDate(0, 0, 1) {
			row := costRow{Key: day.Format(time.DateOnly)}
			if c := days[day.Unix()]; c != nil {
				row = *c
			}
			row.Link = encodeQuery(callsQuery(v.Team, "", "", day.Format(time.DateOnly), day.Format(time.DateOnly)))
			data.Days = append(data.Days, row)
		}
	}
	data.HasCosts = d.opt.Costs != nil
	data.Unpriced = d.unpricedModels(ctx, v.Team, rng, false)
	if data.Unpriced.Error != "" {
		status = http.StatusInternalServerError
	}
	data.Catalog = d.catalogData()
	data.Custom = d.customData(ctx)
	if data.Custom.Error != "" {
		status = http.StatusInternalServerError
	}
	if v.Team == "" {
		data.Revisions = d.revisionsData(ctx)
		if data.Revisions.Error != "" {
			status = http.StatusInternalServerError
		}
	}
	data.CanReconcile = v.Team == "" && v.Role.Can(auth.WriteCosts) && d.opt.Spend.Reconciler != nil
	data.Reconcile = reconcileForm{From: rng.FromText, To: rng.ToText}
	return data, status
}

// loadAccounts fills the account and user tables of data.
func (d *Dashboard) loadAccounts(ctx context.Context, v viewer, data *costsData) int {
	status := http.StatusOK
	if d.opt.Costs == nil || data.Error != "" {
		return status
	}
	data.AccountsLoaded = true
	var err error
	if data.Accounts, err = d.costTotals(ctx, v.Team, data.Range, store.GroupAccount, "Account", ""); err != nil {
		d.log.Error("costs: spend by account", "err", err)
		status, data.Accounts.Error = http.StatusInternalServerError, "Could not read the spend by account; try again."
	}
	if data.Users, err = d.costTotals(ctx, v.Team, data.Range, store.GroupUser, "User", "user"); err != nil {
		d.log.Error("costs: spend by user", "err", err)
		status, data.Users.Error = http.StatusInternalServerError, "Could not read the spend by user; try again."
	}
	return status
}

// costsAccounts answers the spend by account and user of the range (the
// block the Costs page loads by htmx; the whole page with it otherwise):
// they are not rollup dimensions, so they sum the range's calls.
func (d *Dashboard) costsAccounts(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if r.Header.Get("HX-Request") == "true" {
		data := costsData{Team: v.Team, HasCosts: d.opt.Costs != nil}
		rng, err := parseCostRange(r.URL.Query(), d.now())
		data.Range, data.Query = rng, rng.values()
		status := http.StatusBadRequest
		if err != nil {
			data.Error = err.Error()
		} else {
			status = d.loadAccounts(r.Context(), v, &data)
		}
		d.render(w, status, "costs", "costs-accounts", view{Title: "Costs", Active: Prefix + "costs", Viewer: &v, Data: data})
		return
	}
	data, status := d.costsData(r.Context(), v, r.URL.Query())
	if s := d.loadAccounts(r.Context(), v, &data); s != http.StatusOK {
		status = s
	}
	d.render(w, status, "costs", "", view{Title: "Costs", Active: Prefix + "costs", Viewer: &v, Data: data})
}

// callsQuery is the calls page's filter of a group of calls in the days
// from to to (both included).
func callsQuery(team, key, value, from, to string) url.Values {
	q := url.Values{}
	if key != "" {
		q.Set(key, value)
	}
	if team != "" {
		q.Set("team", team)
	}
	q.Set("from", from)
	q.Set("to", to)
	return q
}

func addRow(dst *costRow, c costRow) {
	dst.Calls += c.Calls
	dst.Unpriced += c.Unpriced
	dst.Spend.AddAmount(c.Spend)
	dst.InputTokens += c.InputTokens
	dst.OutputTokens += c.OutputTokens
}

func aggRow(key string, a rollup.Agg) costRow {
	c := costRow{Key: key, Calls: a.Calls, Unpriced: a.Unpriced, InputTokens: a.InputTokens, OutputTokens: a.OutputTokens}
	c.Spend.AddAmount(spendOf(&a))
	return c
}

func keyOf(k rollup.Key, dim string) string {
	switch dim {
	case store.RollupProvider:
		return k.Provider
	case store.RollupModel:
		return k.Model
	case store.RollupTeam:
		return k.Team
	case store.RollupUseCase:
		return k.UseCase
	case store.RollupUseCaseVersion:
		return k.UseCaseVersion
	}
	return k.Route
}

// sortRows orders rows by spend, then calls, most first, then by key.
func sortRows(rows []costRow) {
	slices.SortFunc(rows, func(a, b costRow) int {
		if c := b.Spend.Cmp(a.Spend); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Calls, a.Calls); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// costTable reads one dimension's spend per UTC day over rng from the
// rollups: the table of the range's totals per group, and the groups per
// day (Unix seconds of the day) for the chart.
func (d *Dashboard) costTable(ctx context.Context, team string, rng costRange, dim, name, param string) (costTable, map[int64]map[string]costRow, error) {
	t := costTable{Name: name, Heading: strings.ToLower(name), Table: param, Param: param, From: rng.FromText, To: rng.ToText}
	rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: rng.from, To: rng.to, Step: store.RollupDay,
		GroupBy: []string{dim}, Filter: rollup.Key{Team: team}})
	if err != nil {
		return t, nil, err
	}
	perDay := map[int64]map[string]costRow{}
	totals := map[string]*costRow{}
	for _, r := range rows {
		k := keyOf(r.Key, dim)
		c := aggRow(k, r.Agg)
		day := r.Bucket.Unix()
		if perDay[day] == nil {
			perDay[day] = map[string]costRow{}
		}
		perDay[day][k] = c
		if totals[k] == nil {
			totals[k] = &costRow{Key: k}
		}
		addRow(totals[k], c)
	}
	for _, c := range totals {
		c.Link = encodeQuery(callsQuery(team, param, c.Key, rng.FromText, rng.ToText))
		if c.Key == "" {
			// The calls page cannot select "no value".
			c.Link = ""
		}
		t.Rows = append(t.Rows, *c)
		addRow(&t.Total, *c)
	}
	sortRows(t.Rows)
	t.Total.Link = encodeQuery(callsQuery(team, "", "", rng.FromText, rng.ToText))
	return t, perDay, nil
}

// costTotals reads the spend by account or user (not rollup dimensions)
// from the cost totals, the most expensive costRows groups.
func (d *Dashboard) costTotals(ctx context.Context, team string, rng costRange, group, name, param string) (costTable, error) {
	t := costTable{Name: name, Heading: strings.ToLower(name), Table: group, Param: param, From: rng.FromText, To: rng.ToText}
	rows, err := d.opt.Costs.CostTotals(ctx, store.CostQuery{From: rng.from, To: rng.to, GroupBy: group, Team: team, Limit: costRows})
	if err != nil {
		return t, err
	}
	for _, r := range rows {
		c := costRow{Key: r.Key, Calls: r.Calls, Unpriced: r.UnpricedCalls, Spend: r.CostUSD, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens}
		if param != "" && r.Key != "" {
			c.Link = encodeQuery(callsQuery(team, param, r.Key, rng.FromText, rng.ToText))
		}
		t.Rows = append(t.Rows, c)
	}
	return t, nil
}

// stackedChart is the spend per day of the most expensive groups of rows
// (and the rest as "other"), stacked, for static/app.js.
func stackedChart(rng costRange, rows []costRow, perDay map[int64]map[string]costRow) string {
	top := rows
	if len(top) > chartSeriesMax {
		top = top[:chartSeriesMax]
	}
	shown := map[string]bool{}
	c := chartData{Stacked: true}
	for _, r := range top {
		shown[r.Key] = true
		label := r.Key
		if label == "" {
			label = "(none)"
		}
		c.Series = append(c.Series, chartSeries{Label: label, Unit: "usd"})
	}
	other := len(rows) > len(top)
	if other {
		c.Series = append(c.Series, chartSeries{Label: "other", Unit: "usd"})
	}
	for day := rng.from; day.Before(rng.to); day = day.AddDate(0, 0, 1) {
		c.T = append(c.T, day.Unix())
		groups := perDay[day.Unix()]
		var rest store.Amount
		for k, g := range groups {
			if !shown[k] {
				rest.AddAmount(g.Spend)
			}
		}
		for i := range c.Series {
			var a store.Amount
			if i < len(top) {
				a = groups[top[i].Key].Spend
			} else {
				a = rest
			}
			usd := amountUSD(a)
			c.Series[i].Values = append(c.Series[i].Values, &usd)
		}
	}
	if len(c.Series) == 0 {
		c.Series = []chartSeries{{Label: "Spend", Unit: "usd"}}
		for range c.T {
			zero := 0.0
			c.Series[0].Values = append(c.Series[0].Values, &zero)
		}
	}
	return c.JSON()
}

// amountUSD is a as a float, for charts only.
func amountUSD(a store.Amount) float64 {
	f, _ := strconv.ParseFloat(a.Format(9), 64)
	return f
}

// unpricedModels lists the models some calls of the range could not be
// priced for: from the rollups, or, when detailed (the CSV export) or
// without rollups, from the cost reader with the units and when they were
// seen (not for a team-limited viewer: that list cannot filter by team).
func (d *Dashboard) unpricedModels(ctx context.Context, team string, rng costRange, detailed bool) unpricedData {
	var out unpricedData
	switch {
	case team == "" && d.opt.Costs != nil && (detailed || d.opt.Rollups == nil):
		out.Available, out.Detailed = true, true
		ms, err := d.opt.Costs.UnpricedModels(ctx, store.CostQuery{From: rng.from, To: rng.to, Limit: costRows})
		if err != nil {
			d.log.Error("costs: unpriced models", "err", err)
			out.Error = "Could not read the unpriced models; try again."
		}
		out.Models = ms
	case d.opt.Rollups != nil:
		out.Available = true
		rows, err := d.opt.Rollups.Rollup(ctx, store.RollupQuery{From: rng.from, To: rng.to,
			GroupBy: []string{store.RollupProvider, store.RollupModel}, Filter: rollup.Key{Team: team}})
		if err != nil {
			d.log.Error("costs: unpriced models", "err", err)
			out.Error = "Could not read the unpriced models; try again."
		}
		for _, r := range rows {
			if r.Unpriced > 0 {
				out.Models = append(out.Models, store.UnpricedModel{Provider: r.Key.Provider, Model: r.Key.Model, Calls: r.Unpriced})
			}
		}
		slices.SortFunc(out.Models, func(a, b store.UnpricedModel) int {
			return cmp.Or(cmp.Compare(b.Calls, a.Calls), strings.Compare(a.Provider, b.Provider), strings.Compare(a.Model, b.Model))
		})
	}
	return out
}

// catalogData is the price catalog in force.
type catalogData struct {
	Available bool
	Version   string
	// Entries are the entries not ended (Until unset or later than now),
	// in precedence order (overlays first).
	Entries []catalogEntry
	// Ended counts the entries left out because their Until has passed.
	Ended int
}

type catalogEntry struct {
	pricing.Listed
	Models string
	// Scheduled: the entry takes effect later.
	Scheduled bool
}

func (d *Dashboard) catalogData() catalogData {
	var out catalogData
	if d.opt.Spend.Catalog == nil {
		return out
	}
	cat := d.opt.Spend.Catalog()
	if cat == nil {
		return out
	}
	now := d.now()
	out.Available, out.Version = true, cat.Version()
	for _, l := range cat.Entries() {
		if l.Until != nil && !l.Until.After(now) {
			out.Ended++
			continue
		}
		out.Entries = append(out.Entries, catalogEntry{Listed: l, Models: matchText(l.Match), Scheduled: l.From != nil && l.From.After(now)})
	}
	return out
}

// matchText describes which models an entry prices: exact ids, and
// prefixes followed by "*".
func matchText(m pricing.Match) string {
	parts := slices.Clone(m.Exact)
	for _, p := range m.Prefix {
		parts = append(parts, p+"*")
	}
	return strings.Join(parts, ", ")
}

// customData is the API-managed price entries with their history.
type customData struct {
	Available bool
	Entries   []customEntry
	Error     string
}

type customEntry struct {
	store.StoredPriceEntry
	Models string
	// History is every version, newest first.
	History []store.StoredPriceEntry
}

func (d *Dashboard) customData(ctx context.Context) customData {
	var out customData
	p := d.opt.Spend.Prices
	if p == nil {
		return out
	}
	out.Available = true
	es, err := p.Entries(ctx)
	if err != nil {
		d.log.Error("costs: price entries", "err", err)
		out.Error = "Could not read the price entries; try again."
		return out
	}
	for _, e := range es {
		c := customEntry{StoredPriceEntry: e}
		if e.Entry != nil {
			c.Models = matchText(e.Entry.Match)
		}
		h, err := p.History(ctx, e.ID)
		if err != nil {
			d.log.Error("costs: price entry history", "id", e.ID, "err", err)
			out.Error = "Could not read the history of a price entry; try again."
		}
		slices.Reverse(h)
		c.History = h
		out.Entries = append(out.Entries, c)
	}
	return out
}

// revisionsData is the latest re-pricing runs.
type revisionsData struct {
	Available bool
	Runs      []repriceRun
	// Truncated: revisionRows revisions were read; older runs may be
	// left out or counted in part.
	Truncated bool
	Error     string
}

// repriceRun sums the cost revisions of one re-pricing run.
type repriceRun struct {
	RunID                string
	Reason               string
	First, Last          time.Time
	Calls                int
	Before, After, Delta store.Amount
	// NowPriced and NowUnpriced count calls that gained or lost a cost.
	NowPriced, NowUnpriced int
}

func (d *Dashboard) revisionsData(ctx context.Context) revisionsData {
	var out revisionsData
	p := d.opt.Spend.Prices
	if p == nil {
		return out
	}
	out.Available = true
	revs, err := p.Revisions(ctx, store.RevisionQuery{Limit: revisionRows})
	if err != nil {
		d.log.Error("costs: cost revisions", "err", err)
		out.Error = "Could not read the cost revisions; try again."
		return out
	}
	out.Truncated = len(revs) == revisionRows
	byRun := map[string]*repriceRun{}
	for _, r := range revs {
		run := byRun[r.RunID]
		if run == nil {
			run = &repriceRun{RunID: r.RunID, Reason: r.Reason, First: r.RevisedAt, Last: r.RevisedAt}
			byRun[r.RunID] = run
		}
		run.Calls++
		if r.RevisedAt.Before(run.First) {
			run.First = r.RevisedAt
		}
		if r.RevisedAt.After(run.Last) {
			run.Last = r.RevisedAt
		}
		if r.OldCostUSD != nil {
			run.Before.Add(*r.OldCostUSD)
		}
		if r.NewCostUSD != nil {
			run.After.Add(*r.NewCostUSD)
		}
		switch {
		case r.OldCostUSD == nil && r.NewCostUSD != nil:
			run.NowPriced++
		case r.OldCostUSD != nil && r.NewCostUSD == nil:
			run.NowUnpriced++
		}
	}
	for _, run := range byRun {
		run.Delta = run.After
		run.Delta.SubAmount(run.Before)
		out.Runs = append(out.Runs, *run)
	}
	slices.SortFunc(out.Runs, func(a, b repriceRun) int { return cmp.Or(b.Last.Compare(a.Last), strings.Compare(a.RunID, b.RunID)) })
	return out
}

package dashboard

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/reconcile"
	"github.com/weirhq/weir/internal/store"
)

// maxExport bounds the provider export a reconciliation reads, like the
// API's POST /api/v1/costs/reconcile.
const maxExport = 256 << 20

// reconcileForm is the reconciliation form's values.
type reconcileForm struct {
	Provider, From, To, Tolerance string
}

type reconcileData struct {
	Form   reconcileForm
	Report *reconcile.Report
	Error  string
}

// reconcileCosts compares an uploaded provider export (multipart field
// "export") with the recorded costs and renders the report: what POST
// /api/v1/costs/reconcile answers in JSON, as HTML for the Costs page
// (htmx swaps it under the form). The range is whole UTC days, to
// included; empty bounds take the export's days.
func (d *Dashboard) reconcileCosts(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if v.Team != "" || d.opt.Spend.Reconciler == nil {
		d.errorPage(w, r, &v, http.StatusForbidden, "Reconciliation compares every team's costs; it is not available here.")
		return
	}
	f := reconcileForm{Provider: strings.TrimSpace(r.PostFormValue("provider")), From: strings.TrimSpace(r.PostFormValue("from")),
		To: strings.TrimSpace(r.PostFormValue("to")), Tolerance: strings.TrimSpace(r.PostFormValue("tolerance"))}
	data := reconcileData{Form: f}
	status := http.StatusOK
	rep, err := d.reconcile(r, f)
	var bad badInput
	switch {
	case errors.As(err, &bad):
		status, data.Error = http.StatusBadRequest, bad.msg
	case errors.Is(err, store.ErrInvalidQuery):
		status, data.Error = http.StatusBadRequest, strings.TrimPrefix(err.Error(), store.ErrInvalidQuery.Error()+": ")
	case err != nil:
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status, data.Error = http.StatusRequestEntityTooLarge, "The export is larger than 256 MiB; export a shorter range."
			break
		}
		d.log.Error("reconcile costs", "err", err)
		status, data.Error = http.StatusInternalServerError, "Could not reconcile the costs; try again."
	default:
		data.Report = &rep
	}
	block := "reconcile-result"
	if r.Header.Get("HX-Request") != "true" {
		block = "" // a browser without JavaScript gets the whole page
		page, _ := d.costsData(r.Context(), v, nil)
		page.Reconciled = &data
		d.render(w, status, "costs", block, view{Title: "Costs", Active: Prefix + "costs", Viewer: &v, Data: page})
		return
	}
	d.render(w, status, "costs", block, view{Title: "Costs", Active: Prefix + "costs", Viewer: &v, Data: data})
}

// badInput is a form value the page explains.
type badInput struct{ msg string }

func (b badInput) Error() string { return b.msg }

func (d *Dashboard) reconcile(r *http.Request, f reconcileForm) (reconcile.Report, error) {
	if f.Provider == "" {
		return reconcile.Report{}, badInput{"Name the provider whose export this is (openai or anthropic)."}
	}
	var from, to time.Time
	var err error
	if f.From != "" {
		if from, err = time.Parse(time.DateOnly, f.From); err != nil {
			return reconcile.Report{}, badInput{"From: " + strconv.Quote(f.From) + " is not a day (YYYY-MM-DD)."}
		}
	}
	if f.To != "" {
		if to, err = time.Parse(time.DateOnly, f.To); err != nil {
			return reconcile.Report{}, badInput{"To: " + strconv.Quote(f.To) + " is not a day (YYYY-MM-DD)."}
		}
		to = to.AddDate(0, 0, 1)
	}
	tol := -1.0 // the default
	if f.Tolerance != "" {
		if tol, err = strconv.ParseFloat(f.Tolerance, 64); err != nil || !(tol >= 0 && tol <= 100) {
			return reconcile.Report{}, badInput{"Tolerance: a percentage between 0 and 100."}
		}
	}
	file, _, err := r.FormFile("export")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return reconcile.Report{}, err
		}
		return reconcile.Report{}, badInput{"Choose the export file the provider's console gave you (CSV or JSON)."}
	}
	defer file.Close()
	return d.opt.Spend.Reconciler.Reconcile(r.Context(), f.Provider, file, from, to, tol)
}

// limitBody bounds the body of h's requests before anything (the CSRF
// check included) reads it.
func limitBody(n int64, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h(w, r)
	}
}

// costCSVTables are the tables /ui/costs.csv exports.
var costCSVTables = []string{"day", "provider", "model", "team", "use_case", "account", "user", "unpriced", "catalog", "custom_prices", "revisions"}

// costsCSV exports one table of the Costs page for the date range as CSV:
// ?table=day|provider|model|team|use_case|account|user|unpriced|catalog|
// custom_prices|revisions&from=YYYY-MM-DD&to=YYYY-MM-DD. Values a
// spreadsheet would read as formulas are quoted like the calls export.
func (d *Dashboard) costsCSV(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	q := r.URL.Query()
	table := q.Get("table")
	rng, err := parseCostRange(q, d.now())
	if err != nil {
		d.errorPage(w, r, &v, http.StatusBadRequest, err.Error())
		return
	}
	rows, err := d.costCSVRows(r.Context(), v, table, rng)
	var bad badInput
	switch {
	case errors.As(err, &bad):
		d.errorPage(w, r, &v, http.StatusBadRequest, bad.msg)
		return
	case errors.Is(err, errNoSource):
		d.errorPage(w, r, &v, http.StatusNotFound, "This table is not available on this server.")
		return
	case err != nil:
		d.log.Error("export costs", "table", table, "err", err)
		d.errorPage(w, r, &v, http.StatusInternalServerError, "Could not read the table; try again.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="weir-costs-`+table+`-`+rng.FromText+`-`+rng.ToText+`.csv"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	for _, row := range rows {
		for i, s := range row {
			row[i] = csvSafe(s)
		}
		cw.Write(row)
	}
	cw.Flush()
}

var errNoSource = errors.New("no source for the table")

var spendHeader = []string{"calls", "unpriced_calls", "cost_usd", "input_tokens", "output_tokens"}

func spendCells(c costRow) []string {
	return []string{strconv.FormatInt(c.Calls, 10), strconv.FormatInt(c.Unpriced, 10), c.Spend.Format(9),
		strconv.FormatInt(c.InputTokens, 10), strconv.FormatInt(c.OutputTokens, 10)}
}

func (d *Dashboard) costCSVRows(ctx context.Context, v viewer, table string, rng costRange) ([][]string, error) {
	var out [][]string
	spendTable := func(name string, t costTable) {
		out = append(out, append([]string{name}, spendHeader...))
		for _, c := range t.Rows {
			out = append(out, append([]string{c.Key}, spendCells(c)...))
		}
	}
	switch table {
	case "day", "provider", "model", "team", "use_case":
		if d.opt.Rollups == nil {
			return nil, errNoSource
		}
		dim := store.RollupProvider
		for _, c := range costDims {
			if c.Param == table {
				dim = c.Key
			}
		}
		t, perDay, err := d.costTable(ctx, v.Team, rng, dim, table, table)
		if err != nil {
			return nil, err
		}
		if table != "day" {
			spendTable(table, t)
			return out, nil
		}
		out = append(out, append([]string{"day"}, spendHeader...))
		for day := rng.from; day.Before(rng.to); day = day.AddDate(0, 0, 1) {
			var c costRow
			for _, g := range perDay[day.Unix()] {
				addRow(&c, g)
			}
			out = append(out, append([]string{day.Format(time.DateOnly)}, spendCells(c)...))
		}
		return out, nil
	case "account", "user":
		if d.opt.Costs == nil {
			return nil, errNoSource
		}
		t, err := d.costTotals(ctx, v.Team, rng, table, table, "")
		if err != nil {
			return nil, err
		}
		spendTable(table, t)
		return out, nil
	case "unpriced":
		u := d.unpricedModels(ctx, v.Team, rng, true)
		if !u.Available {
			return nil, errNoSource
		}
		if u.Error != "" {
			return nil, errors.New(u.Error)
		}
		out = append(out, []string{"provider", "model", "unpriced_calls", "first_seen", "last_seen", "unpriced_units"})
		for _, m := range u.Models {
			out = append(out, []string{m.Provider, m.Model, strconv.FormatInt(m.Calls, 10), csvTime(m.FirstSeen), csvTime(m.LastSeen), strings.Join(m.Units.Names(), " ")})
		}
		return out, nil
	case "catalog":
		c := d.catalogData()
		if !c.Available {
			return nil, errNoSource
		}
		out = append(out, []string{"provider", "source", "id", "models", "from", "until", "input_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok", "output_per_mtok", "note"})
		for _, e := range c.Entries {
			out = append(out, []string{e.Provider, e.Source, e.ID, e.Models, dateText(e.From), dateText(e.Until),
				decText(e.Prices.Input), decText(e.Prices.CacheRead), decText(e.Prices.CacheWrite), decText(e.Prices.Output), e.Note})
		}
		return out, nil
	case "custom_prices":
		c := d.customData(ctx)
		if !c.Available {
			return nil, errNoSource
		}
		if c.Error != "" {
			return nil, errors.New(c.Error)
		}
		out = append(out, []string{"id", "version", "provider", "models", "from", "until", "input_per_mtok", "output_per_mtok", "changed_at", "changed_by", "deleted"})
		for _, e := range c.Entries {
			for _, h := range e.History {
				row := []string{h.ID, strconv.Itoa(h.Version), h.Provider, "", "", "", "", "", csvTime(h.ChangedAt), h.ChangedBy, strconv.FormatBool(h.Entry == nil)}
				if h.Entry != nil {
					row[3], row[4], row[5], row[6], row[7] = matchText(h.Entry.Match), dateText(h.Entry.From), dateText(h.Entry.Until), decText(h.Entry.Prices.Input), decText(h.Entry.Prices.Output)
				}
				out = append(out, row)
			}
		}
		return out, nil
	case "revisions":
		if v.Team != "" || d.opt.Spend.Prices == nil {
			return nil, errNoSource
		}
		revs, err := d.opt.Spend.Prices.Revisions(ctx, store.RevisionQuery{Limit: store.MaxLimit})
		if err != nil {
			return nil, err
		}
		out = append(out, []string{"seq", "run_id", "request_id", "received_at", "revised_at", "reason", "old_cost_usd", "new_cost_usd"})
		for _, r := range revs {
			if r.ReceivedAt.Before(rng.from) || !r.ReceivedAt.Before(rng.to) {
				continue
			}
			out = append(out, []string{strconv.FormatInt(r.Seq, 10), r.RunID, r.RequestID, csvTime(r.ReceivedAt), csvTime(r.RevisedAt), r.Reason, moneyText(r.OldCostUSD), moneyText(r.NewCostUSD)})
		}
		return out, nil
	}
	return nil, badInput{"Unknown table " + strconv.Quote(table) + "; one of " + strings.Join(costCSVTables, ", ") + "."}
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func dateText(d *pricing.Date) string {
	if d == nil {
		return ""
	}
	if d.Equal(d.Truncate(24 * time.Hour)) {
		return d.UTC().Format(time.DateOnly)
	}
	return d.UTC().Format(time.RFC3339)
}

func decText(d *pricing.Decimal) string {
	if d == nil {
		return ""
	}
	return d.String()
}

func moneyText(m *pricing.Money) string {
	if m == nil {
		return ""
	}
	return m.Format(9)
}

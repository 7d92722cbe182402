package dashboard

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

type callsData struct {
	Filter callFilter
	// Query is the canonical query of the filters (no cursor).
	Query url.Values
	// Team is the team the viewer is limited to ("" for none).
	Team  string
	Calls []record.Record
	// Next is the query of the next (older) page, "" on the last page.
	Next string
	// Paged: this is not the first page.
	Paged bool
	// Filtered: the viewer's filters narrow the list.
	Filtered bool
	Error    string
}

// calls is the filterable list of calls, newest first, one keyset page at
// a time (one store query). htmx requests targeting #results get only
// the results block, and the canonical URL to push.
func (d *Dashboard) calls(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	data := callsData{Team: v.Team}
	f, err := parseFilter(r.URL.Query(), d.now())
	status := http.StatusOK
	if err != nil {
		status, data.Error = http.StatusBadRequest, strings.TrimPrefix(err.Error(), errFilter.Error()+": ")
	} else {
		page, err := d.opt.Requests.ListRequests(r.Context(), f.query(v.Team))
		switch {
		case errors.Is(err, store.ErrInvalidQuery):
			status, data.Error = http.StatusBadRequest, err.Error()
		case err != nil:
			d.log.Error("list calls", "err", err)
			status, data.Error = http.StatusInternalServerError, "Could not read the calls; try again."
		default:
			data.Calls = page.Requests
			if page.NextCursor != "" {
				n := f
				n.Cursor = page.NextCursor
				data.Next = "?" + n.values().Encode()
			}
		}
	}
	// A team-limited viewer's team is no filter of theirs: with nothing
	// else set, an empty list means "no calls yet".
	g := f
	g.Team = ""
	data.Filtered = g.Filtered() || (v.Team == "" && f.Team != "")
	if v.Team != "" {
		f.Team = v.Team
	}
	data.Filter, data.Paged = f, f.Cursor != ""
	nc := f
	nc.Cursor = ""
	data.Query = nc.values()
	block := ""
	if r.Header.Get("HX-Target") == "results" && r.Header.Get("HX-History-Restore-Request") != "true" {
		block = "results"
		w.Header().Set("HX-Push-Url", Prefix+"calls"+encodeQuery(f.values()))
	}
	d.render(w, status, "calls", block, view{Title: "Calls", Active: Prefix + "calls", Viewer: &v, Data: data})
}

func encodeQuery(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// callData is the detail page of one call.
type callData struct {
	Call record.Record
	// CanAdd: the viewer may add the call to a dataset (the form shows);
	// Added and AddError say how the last attempt went; CSRF is the
	// form's token.
	CanAdd          bool
	Added, AddError string
	CSRF            string
	Timeline        timeline
	// Costs are the cost components that are not zero.
	Costs []costLine
	// Usage are the usage counts that are not zero.
	Usage []usageLine
	// Unpriced names the units without a price, when the call is unpriced.
	Unpriced []string
}

type usageLine struct {
	Name  string
	Count int64
}

type costLine struct {
	Name   string
	Amount string
}

// call shows one call: attribution, timings, usage and cost, attempts,
// prompt and bodies. Another team's call does not exist for a
// team-limited viewer.
func (d *Dashboard) call(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	id := r.PathValue("id")
	rec, err := d.opt.Requests.GetRequest(r.Context(), id)
	if err == nil && v.Team != "" && rec.Team != v.Team {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		d.errorPage(w, r, &v, http.StatusNotFound, "No call "+strconv.Quote(id)+" is recorded (a call reaches the store about 50 ms after it ends).")
		return
	}
	if err != nil {
		d.log.Error("get call", "id", id, "err", err)
		d.errorPage(w, r, &v, http.StatusInternalServerError, "Could not read the call; try again.")
		return
	}
	data := callData{Call: rec, Timeline: newTimeline(&rec), CanAdd: d.canAddToDataset(&v), CSRF: v.CSRF(),
		Added: r.URL.Query().Get("added"), AddError: r.URL.Query().Get("add_error")}
	u := rec.Usage
	for _, l := range []usageLine{
		{"Input tokens", u.InputTokens}, {"Cache read tokens", u.CacheReadTokens}, {"Cache write tokens", u.CacheWriteTokens},
		{"Cache write tokens (1 h)", u.CacheWrite1hTokens}, {"Output tokens", u.OutputTokens}, {"Reasoning tokens", u.ReasoningTokens},
		{"Input audio tokens", u.InputAudioTokens}, {"Output audio tokens", u.OutputAudioTokens},
		{"Input image tokens", u.InputImageTokens}, {"Output image tokens", u.OutputImageTokens},
	} {
		if l.Count != 0 {
			data.Usage = append(data.Usage, l)
		}
	}
	if rec.CostUSD == nil && rec.Cost != nil {
		data.Unpriced = rec.Cost.Unpriced.Names()
	}
	if c := rec.Cost; c != nil {
		for _, l := range []struct {
			name string
			m    interface{ Format(int) string }
			zero bool
		}{
			{"Input", c.Input, c.Input == 0}, {"Cache reads", c.CacheRead, c.CacheRead == 0},
			{"Cache writes (5 min)", c.CacheWrite5m, c.CacheWrite5m == 0}, {"Cache writes (1 h)", c.CacheWrite1h, c.CacheWrite1h == 0},
			{"Output", c.Output, c.Output == 0}, {"Reasoning", c.Reasoning, c.Reasoning == 0},
			{"Input audio", c.InputAudio, c.InputAudio == 0}, {"Output audio", c.OutputAudio, c.OutputAudio == 0},
			{"Input images", c.InputImage, c.InputImage == 0}, {"Output images", c.OutputImage, c.OutputImage == 0},
			{"Fees", c.Fees, c.Fees == 0},
		} {
			if !l.zero {
				data.Costs = append(data.Costs, costLine{l.name, "$" + l.m.Format(6)})
			}
		}
	}
	d.render(w, http.StatusOK, "call", "", view{Title: "Call " + rec.ID, Active: Prefix + "calls", Viewer: &v, Data: data})
}

// timeline places a call's attempts and first-token marks on one scale,
// in per-mille of the call's length, for the SVG of the detail page.
type timeline struct {
	TotalMs float64
	Bars    []timelineBar
	Marks   []timelineMark
	// Height is the bars' height; ViewHeight adds room for the marks'
	// labels below them.
	Height, ViewHeight int
}

type timelineBar struct {
	Label        string
	X, W, Y      float64
	OK           bool
	Start, Ended float64
	// TextX is where the label starts, or ends when TextEnd is set (a
	// bar in the right part of the scale is labelled leftwards).
	TextX   float64
	TextEnd bool
}

type timelineMark struct {
	Label string
	X     float64
	Ms    float64
	// End: the label is anchored at its end (a mark right of the middle).
	End bool
	// Y is the label's baseline, below the bars (one line per mark).
	Y int
}

const timelineRow = 22

func newTimeline(rec *record.Record) timeline {
	t := timeline{TotalMs: rec.E2EMs}
	for _, a := range rec.Attempts {
		t.TotalMs = max(t.TotalMs, a.StartMs+a.DurationMs)
	}
	if t.TotalMs <= 0 {
		return timeline{}
	}
	scale := func(ms float64) float64 { return max(0, min(1000, ms/t.TotalMs*1000)) }
	y := 0.0
	add := func(label string, start, dur float64, ok bool) {
		b := timelineBar{Label: label, X: scale(start), W: max(2, scale(dur)), Y: y, OK: ok, Start: start, Ended: start + dur}
		b.TextX = b.X
		if b.X > 500 {
			b.TextX, b.TextEnd = min(1000, b.X+b.W), true
		}
		t.Bars = append(t.Bars, b)
		y += timelineRow
	}
	add("whole call", 0, rec.E2EMs, rec.Status < 400 && rec.ErrorKind == "")
	for i, a := range rec.Attempts {
		label := "attempt " + strconv.Itoa(i+1) + ": " + a.Provider + " " + a.Model
		add(label, a.StartMs, a.DurationMs, a.ErrorKind == "" && a.Status < 400)
	}
	for _, m := range []struct {
		label string
		v     *float64
	}{{"first token", rec.TTFTMs}, {"first content token", rec.TTFCTMs}} {
		if m.v != nil {
			x := scale(*m.v)
			t.Marks = append(t.Marks, timelineMark{Label: m.label, X: x, Ms: *m.v, End: x > 500})
		}
	}
	t.Height = int(y) + 4
	t.ViewHeight = t.Height + 4 + 14*len(t.Marks)
	for i := range t.Marks {
		t.Marks[i].Y = t.Height + 12 + 14*i
	}
	return t
}

// CSV export bounds: rows per store query and rows in all.
const (
	csvPage    = 1000
	csvMaxRows = 100_000
)

var csvHeader = []string{"id", "received_at", "endpoint", "use_case", "use_case_instance", "use_case_version", "use_case_step",
	"team", "user", "account", "application", "provider", "requested_model", "model", "route", "prompt", "prompt_version",
	"status", "error_kind", "stream", "ttft_ms", "e2e_ms", "overhead_ms", "input_tokens", "cache_read_tokens",
	"output_tokens", "reasoning_tokens", "cost_usd"}

// callsCSV streams the calls of the current filters as CSV, newest first,
// a page of the store at a time, at most csvMaxRows rows (a last line
// starting with # says when more matched). The cursor is ignored: the
// export starts at the newest call of the filters.
func (d *Dashboard) callsCSV(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	f, err := parseFilter(r.URL.Query(), d.now())
	if err != nil {
		d.errorPage(w, r, &v, http.StatusBadRequest, strings.TrimPrefix(err.Error(), errFilter.Error()+": "))
		return
	}
	f.Cursor, f.Limit = "", csvPage
	q := f.query(v.Team)
	page, err := d.opt.Requests.ListRequests(r.Context(), q)
	if err != nil {
		d.log.Error("export calls", "err", err)
		d.errorPage(w, r, &v, http.StatusInternalServerError, "Could not read the calls; try again.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="weir-calls-`+d.now().UTC().Format("20060102-150405")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	rows := 0
	for {
		for i := range page.Requests {
			if rows == csvMaxRows {
				cw.Flush()
				w.Write([]byte("# truncated: more than " + strconv.Itoa(csvMaxRows) + " calls match; narrow the time range\n"))
				return
			}
			cw.Write(csvRow(&page.Requests[i]))
			rows++
		}
		cw.Flush()
		if err := cw.Error(); err != nil || page.NextCursor == "" || r.Context().Err() != nil {
			return
		}
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		q.Cursor = page.NextCursor
		if page, err = d.opt.Requests.ListRequests(r.Context(), q); err != nil {
			// The header is sent: say so in the file itself.
			d.log.Error("export calls", "err", err)
			w.Write([]byte("# error: the export stopped early: could not read the calls\n"))
			return
		}
	}
}

func csvRow(rec *record.Record) []string {
	f := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', 1, 64)
	}
	cost := ""
	if rec.CostUSD != nil {
		cost = rec.CostUSD.Format(9)
	}
	pv := ""
	if rec.PromptVersion != 0 {
		pv = strconv.Itoa(rec.PromptVersion)
	}
	row := []string{rec.ID, rec.ReceivedAt.UTC().Format(time.RFC3339Nano), rec.Endpoint, rec.UseCase, rec.UseCaseInstance,
		rec.UseCaseVersion, rec.UseCaseStep, rec.Team, rec.User, rec.Account, rec.Application, rec.Provider, rec.RequestedModel,
		rec.Model, rec.Route, rec.Prompt, pv, strconv.Itoa(rec.Status), rec.ErrorKind, strconv.FormatBool(rec.Stream),
		f(rec.TTFTMs), strconv.FormatFloat(rec.E2EMs, 'f', 1, 64), strconv.FormatFloat(rec.OverheadMs, 'f', 2, 64),
		strconv.FormatInt(rec.Usage.InputTokens, 10), strconv.FormatInt(rec.Usage.CacheReadTokens, 10),
		strconv.FormatInt(rec.Usage.OutputTokens, 10), strconv.FormatInt(rec.Usage.ReasoningTokens, 10), cost}
	for i, s := range row {
		row[i] = csvSafe(s)
	}
	return row
}

// csvSafe keeps a spreadsheet from reading a caller-chosen value (a use
// case, a user) as a formula: such a value gets a leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

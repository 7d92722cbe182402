package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// latencyMetric is one chart of the latency page.
type latencyMetric struct {
	Metric rollup.Metric
	Title  string
	// Unit is the chart's unit ("ms" or "count" for tokens per second).
	Unit string
	Note string
}

var latencyMetrics = []latencyMetric{
	{rollup.TTFT, "Time to first token (TTFT)", "ms", "Streamed calls: from the call's arrival to the first token of any kind."},
	{rollup.TTFCT, "Time to first content token (TTFCT)", "ms", "Streamed calls: to the first token of the answer itself (after any reasoning)."},
	{rollup.ITL, "Inter-token latency", "ms", "Streamed calls: the mean gap between two tokens of a call."},
	{rollup.OTPS, "Output tokens per second (OTPS)", "count", "Output tokens over the time spent producing them; higher is better."},
	{rollup.Overhead, "Weir overhead", "ms", "The time Weir itself adds to a call (routing, accounting, relay)."},
}

// latencyQuantiles are the lines of each chart.
var latencyQuantiles = []struct {
	Label string
	Q     float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}}

type latencyData struct {
	Team  string
	Range healthRange
	// Ranges are the selector's options.
	Ranges []rangeOption
	// Provider and Model are the selection ("" for all).
	Provider, Model string
	// Providers and Models are the selector's options: those with calls
	// in the range (and the selection, even without).
	Providers, Models []string
	Charts            []latencyChart
	// Rows are the small multiples: one per provider and model.
	Rows []latencyRow
	// Headroom is every route target's rate-limit headroom (those of the
	// selection only, when one is made).
	Headroom []headroomRow
	// NoRoutes: the route state is not wired (HealthSources.Routes).
	NoRoutes bool
	// NoRollups: the charts cannot be drawn on this server.
	NoRollups bool
	// Empty: no call in the range (for the selection).
	Empty bool
	// Calls counts the selection's calls in the range; CallsLink lists them.
	Calls     int64
	CallsLink string
	Error     string
}

type latencyChart struct {
	ID, Title, Note string
	Chart           string
	// Points is how many buckets have a value.
	Points int
}

type latencyRow struct {
	Provider, Model string
	Calls           int64
	CallsLink       string
	// Stats are p50 and p95 of each of latencyMetrics, formatted.
	Stats []latencyStat
	// Spark is the sparkline's data; SparkLabel what it shows.
	Spark, SparkLabel string
}

type latencyStat struct{ P50, P95 string }

// Target is the row's provider and model for people.
func (r latencyRow) Target() string { return pm{r.Provider, r.Model}.String() }

// formatMetric formats a value of metric m.
func formatMetric(m rollup.Metric, v float64) string {
	if m == rollup.OTPS {
		return strconv.FormatFloat(v, 'f', 0, 64) + " tok/s"
	}
	return ms(v)
}

// MetricTitles are the small-multiples table's column heads.
func (latencyData) MetricTitles() []string {
	out := make([]string, len(latencyMetrics))
	for i, m := range latencyMetrics {
		out[i] = strings.ToUpper(m.Metric.String())
		if m.Metric == rollup.Overhead {
			out[i] = "Overhead"
		}
	}
	return out
}

// latency shows TTFT, TTFCT, inter-token latency, OTPS and Weir's overhead
// as p50/p90/p99 over time for all calls or one provider and model, the
// p50 and p95 of each provider and model over the range, and each route
// target's rate-limit headroom. One rollup query (grouped by provider and
// model, with sketches) answers the charts and the table.
func (d *Dashboard) latency(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	q := r.URL.Query()
	data := latencyData{Team: v.Team, Ranges: healthRanges, Provider: strings.TrimSpace(q.Get("provider")), Model: strings.TrimSpace(q.Get("model"))}
	status := http.StatusOK
	h, err := parseHealthRange(q.Get("range"), d.now())
	if err != nil {
		status, data.Error = http.StatusBadRequest, strings.TrimPrefix(err.Error(), errFilter.Error()+": ")
		h, _ = parseHealthRange("", d.now())
	}
	if len(data.Provider) > maxFilterLen || len(data.Model) > maxFilterLen {
		status, data.Error = http.StatusBadRequest, "The provider or model is too long."
		data.Provider, data.Model = "", ""
	}
	data.Range = h
	data.CallsLink = h.callsLink(data.Provider, data.Model)
	selected := func(k rollup.Key) bool {
		return (data.Provider == "" || k.Provider == data.Provider) && (data.Model == "" || k.Model == data.Model)
	}

	if d.opt.Rollups == nil {
		data.NoRollups = true
	} else if status == http.StatusOK {
		rows, err := d.rollupRows(r.Context(), h, v.Team, true, store.RollupProvider, store.RollupModel)
		if err != nil {
			d.log.Error("latency: read rollups", "err", err)
			status, data.Error = http.StatusInternalServerError, "Could not read the latency summaries; try again."
		}
		d.latencyFigures(&data, rows, selected)
	}

	for _, row := range d.routeStates() {
		if selected(rollup.Key{Provider: row.Provider, Model: row.Model}) {
			data.Headroom = append(data.Headroom, row)
		}
	}
	data.NoRoutes = d.opt.Health.Routes == nil

	block := ""
	if r.Header.Get("HX-Target") == "results" && r.Header.Get("HX-History-Restore-Request") != "true" {
		block = "results"
		w.Header().Set("HX-Push-Url", Prefix+"latency"+encodeQuery(latencyQuery(data)))
	}
	d.render(w, status, "latency", block, view{Title: "Latency", Active: Prefix + "latency", Viewer: &v, Data: data})
}

// latencyQuery is the page's canonical query.
func latencyQuery(data latencyData) url.Values {
	q := url.Values{}
	if data.Range.Name != defaultHealthRange && data.Range.Name != "" {
		q["range"] = []string{data.Range.Name}
	}
	if data.Provider != "" {
		q["provider"] = []string{data.Provider}
	}
	if data.Model != "" {
		q["model"] = []string{data.Model}
	}
	return q
}

// latencyFigures fills the charts and the small multiples from the rows
// of one bucket and provider/model each.
func (d *Dashboard) latencyFigures(data *latencyData, rows []store.RollupRow, selected func(rollup.Key) bool) {
	h := data.Range
	buckets := h.buckets()
	index := make(map[int64]int, len(buckets))
	for i, b := range buckets {
		index[b.Unix()] = i
	}
	perBucket := make([]rollup.Agg, len(buckets))
	type group struct {
		total rollup.Agg
		// spark are the group's rows by bucket index.
		spark map[int]*rollup.Agg
	}
	groups := map[pm]*group{}
	var order []pm
	providers, models := map[string]bool{}, map[string]bool{}
	for i := range rows {
		row := &rows[i]
		providers[row.Key.Provider], models[row.Key.Model] = true, true
		if !selected(row.Key) {
			continue
		}
		bi, ok := index[row.Bucket.Unix()]
		if !ok {
			continue // outside the range: cannot happen with aligned bounds
		}
		k := pm{row.Key.Provider, row.Key.Model}
		g := groups[k]
		if g == nil {
			g = &group{spark: map[int]*rollup.Agg{}}
			groups[k] = g
			order = append(order, k)
		}
		g.total.Merge(&row.Agg)
		g.spark[bi] = &row.Agg
		perBucket[bi].Merge(&row.Agg)
		data.Calls += row.Calls
	}
	if data.Provider != "" {
		providers[data.Provider] = true
	}
	if data.Model != "" {
		models[data.Model] = true
	}
	data.Providers, data.Models = sortedKeys(providers), sortedKeys(models)
	data.Empty = data.Calls == 0

	t := make([]int64, len(buckets))
	for i, b := range buckets {
		t[i] = b.Unix()
	}
	for _, m := range latencyMetrics {
		c := chartData{T: t}
		points := 0
		for _, q := range latencyQuantiles {
			s := chartSeries{Label: q.Label, Unit: m.Unit, Values: make([]*float64, len(buckets))}
			for i := range perBucket {
				if v, ok := perBucket[i].Quantile(m.Metric, q.Q); ok {
					s.Values[i] = fptr(v)
					if q.Q == 0.5 {
						points++
					}
				}
			}
			c.Series = append(c.Series, s)
		}
		data.Charts = append(data.Charts, latencyChart{ID: "chart-" + m.Metric.String(), Title: m.Title, Note: m.Note, Chart: c.JSON(), Points: points})
	}

	slices.SortFunc(order, func(a, b pm) int {
		if c := strings.Compare(a.Provider, b.Provider); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	})
	for _, k := range order {
		g := groups[k]
		row := latencyRow{Provider: k.Provider, Model: k.Model, Calls: g.total.Calls, CallsLink: h.callsLink(k.Provider, k.Model)}
		for _, m := range latencyMetrics {
			var st latencyStat
			st.P50, st.P95 = "—", "—"
			if v, ok := g.total.Quantile(m.Metric, 0.5); ok {
				st.P50 = formatMetric(m.Metric, v)
			}
			if v, ok := g.total.Quantile(m.Metric, 0.95); ok {
				st.P95 = formatMetric(m.Metric, v)
			}
			row.Stats = append(row.Stats, st)
		}
		// The sparkline: p50 TTFT per step, or p50 end to end for a
		// target without streamed calls.
		metric, label := rollup.TTFT, "p50 TTFT"
		if g.total.Count(rollup.TTFT) == 0 {
			metric, label = rollup.E2E, "p50 end to end"
		}
		s := chartSeries{Label: label, Unit: "ms", Values: make([]*float64, len(buckets))}
		for bi, a := range g.spark {
			if v, ok := a.Quantile(metric, 0.5); ok {
				s.Values[bi] = fptr(v)
			}
		}
		row.Spark, row.SparkLabel = chartData{T: t, Series: []chartSeries{s}}.JSON(), label
		data.Rows = append(data.Rows, row)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

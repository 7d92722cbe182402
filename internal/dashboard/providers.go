package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/weirhq/weir/internal/resilience"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

type providersData struct {
	Team   string
	Range  healthRange
	Ranges []rangeOption
	// Providers are the totals per provider; Targets per provider and
	// model (the model as sent upstream), both sorted by name.
	Providers, Targets []healthRow
	// Routes are the named routes with calls in the range or configured
	// now, with where their calls went.
	Routes []routeTraffic
	// Direct counts the calls that named a model, not a route.
	Direct     int64
	DirectLink string
	// Breakers are every route target's circuit breaker, now.
	Breakers []headroomRow
	// Total sums every call of the range.
	Total healthRow
	// NoRoutes: the routes' live state is not wired; NoRollups: neither
	// are the summaries.
	NoRoutes, NoRollups bool
	Empty               bool
	Error               string
}

// healthRow is the health of a provider or a provider and model.
type healthRow struct {
	Provider, Model string
	// Calls, Errors (failed for their caller), RateLimited (429 answers,
	// every attempt's), Retried (calls with more than one attempt) and
	// FellBack (calls that ended on another target than their first).
	Calls, Errors, RateLimited, Retried, FellBack int64
	CallsLink                                     string
}

// Target is the row's provider and model for people.
func (r healthRow) Target() string { return pm{r.Provider, r.Model}.String() }

// ErrorRate is the share of calls that failed.
func (r healthRow) ErrorRate() float64 { return ratio(r.Errors, r.Calls) }

func (r *healthRow) add(a *rollup.Agg) {
	r.Calls += a.Calls
	r.Errors += a.Errors
	r.RateLimited += a.RateLimited
	r.Retried += a.Retried
	r.FellBack += a.FellBack
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// routeTraffic is one route: its calls per target over time and each
// target's share.
type routeTraffic struct {
	Name    string
	Calls   int64
	Chart   string
	Targets []trafficRow
	// Configured: the route exists in this process now.
	Configured bool
}

type trafficRow struct {
	healthRow
	Share float64
	// Configured: a target of the route now, with its priority, weight
	// and breaker state; else a former target or one of another process.
	Configured       bool
	Priority, Weight int
	State            resilience.State
}

// providers shows the health of each provider and target over a range
// (calls, errors, 429s, retries and fallbacks), the circuit breakers of
// the route targets with their history, and where each route's calls
// went. One rollup query (grouped by route, provider and model, without
// sketches) answers every figure.
func (d *Dashboard) providers(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	data := providersData{Team: v.Team, Ranges: healthRanges}
	status := http.StatusOK
	h, err := parseHealthRange(r.URL.Query().Get("range"), d.now())
	if err != nil {
		status, data.Error = http.StatusBadRequest, strings.TrimPrefix(err.Error(), errFilter.Error()+": ")
		h, _ = parseHealthRange("", d.now())
	}
	data.Range = h
	states := d.routeStates()
	data.Breakers, data.NoRoutes = states, d.opt.Health.Routes == nil

	if d.opt.Rollups == nil {
		data.NoRollups = true
	} else if status == http.StatusOK {
		rows, err := d.rollupRows(r.Context(), h, v.Team, false, store.RollupRoute, store.RollupProvider, store.RollupModel)
		if err != nil {
			d.log.Error("providers: read rollups", "err", err)
			status, data.Error = http.StatusInternalServerError, "Could not read the call summaries; try again."
		}
		providersFigures(&data, rows, states)
	}

	block := ""
	if r.Header.Get("HX-Target") == "results" && r.Header.Get("HX-History-Restore-Request") != "true" {
		block = "results"
		q := url.Values{}
		if h.Name != defaultHealthRange {
			q.Set("range", h.Name)
		}
		w.Header().Set("HX-Push-Url", Prefix+"providers"+encodeQuery(q))
	}
	d.render(w, status, "providers", block, view{Title: "Providers and routes", Active: Prefix + "providers", Viewer: &v, Data: data})
}

// providersFigures fills the tables and charts from rows of one bucket,
// route, provider and model each, and the routes' state now.
func providersFigures(data *providersData, rows []store.RollupRow, states []headroomRow) {
	h := data.Range
	buckets := h.buckets()
	index := make(map[int64]int, len(buckets))
	t := make([]int64, len(buckets))
	for i, b := range buckets {
		index[b.Unix()] = i
		t[i] = b.Unix()
	}
	provs := map[string]*healthRow{}
	targets := map[pm]*healthRow{}
	type route struct {
		traffic routeTraffic
		rows    map[pm]*trafficRow
		order   []pm
		// perTarget are the calls per bucket of each target.
		perTarget map[pm][]float64
	}
	routes := map[string]*route{}
	var routeOrder []string
	getRoute := func(name string) *route {
		rt := routes[name]
		if rt == nil {
			rt = &route{traffic: routeTraffic{Name: name}, rows: map[pm]*trafficRow{}, perTarget: map[pm][]float64{}}
			routes[name] = rt
			routeOrder = append(routeOrder, name)
		}
		return rt
	}
	getTarget := func(rt *route, k pm) *trafficRow {
		tr := rt.rows[k]
		if tr == nil {
			tr = &trafficRow{healthRow: healthRow{Provider: k.Provider, Model: k.Model, CallsLink: h.callsLink(k.Provider, k.Model)}}
			rt.rows[k] = tr
			rt.order = append(rt.order, k)
			rt.perTarget[k] = make([]float64, len(buckets))
		}
		return tr
	}
	// The configured routes first, in their order, each target with its
	// state.
	for _, s := range states {
		rt := getRoute(s.Route)
		rt.traffic.Configured = true
		tr := getTarget(rt, pm{s.Provider, s.Model})
		tr.Configured, tr.Priority, tr.Weight, tr.State = true, s.Priority, s.Weight, s.Breaker.State
	}
	for i := range rows {
		row := &rows[i]
		k := pm{row.Key.Provider, row.Key.Model}
		data.Total.add(&row.Agg)
		p := provs[k.Provider]
		if p == nil {
			p = &healthRow{Provider: k.Provider, CallsLink: h.callsLink(k.Provider, "")}
			provs[k.Provider] = p
		}
		p.add(&row.Agg)
		tg := targets[k]
		if tg == nil {
			tg = &healthRow{Provider: k.Provider, Model: k.Model, CallsLink: h.callsLink(k.Provider, k.Model)}
			targets[k] = tg
		}
		tg.add(&row.Agg)
		if row.Key.Route == "" {
			data.Direct += row.Calls
			continue
		}
		rt := getRoute(row.Key.Route)
		tr := getTarget(rt, k)
		tr.add(&row.Agg)
		rt.traffic.Calls += row.Calls
		if bi, ok := index[row.Bucket.Unix()]; ok {
			rt.perTarget[k][bi] += float64(row.Calls)
		}
	}
	data.Empty = data.Total.Calls == 0
	data.Total.CallsLink = h.callsLink("", "")
	data.DirectLink = data.Total.CallsLink
	for _, p := range provs {
		data.Providers = append(data.Providers, *p)
	}
	for _, tg := range targets {
		data.Targets = append(data.Targets, *tg)
	}
	byName := func(a, b healthRow) int {
		if c := strings.Compare(a.Provider, b.Provider); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	}
	slices.SortFunc(data.Providers, byName)
	slices.SortFunc(data.Targets, byName)
	for _, name := range routeOrder {
		rt := routes[name]
		// Stacked: app.js draws each target's calls on top of the
		// previous targets'; their sum is the route's calls.
		c := chartData{T: t, Stacked: true}
		for _, k := range rt.order {
			tr := rt.rows[k]
			tr.Share = ratio(tr.Calls, rt.traffic.Calls)
			rt.traffic.Targets = append(rt.traffic.Targets, *tr)
			if tr.Calls == 0 {
				continue
			}
			s := chartSeries{Label: k.String(), Unit: "count", Values: make([]*float64, len(buckets))}
			for i, n := range rt.perTarget[k] {
				s.Values[i] = fptr(n)
			}
			c.Series = append(c.Series, s)
		}
		if len(c.Series) > 0 {
			rt.traffic.Chart = c.JSON()
		}
		data.Routes = append(data.Routes, rt.traffic)
	}
}

package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// statsParams are the query parameters of GET /api/v1/stats.
var statsParams = map[string]bool{
	"from": true, "to": true, "step": true, "group_by": true, "metrics": true, "quantiles": true,
	"use_case": true, "use_case_version": true, "use_case_step": true, "team": true, "provider": true, "model": true, "route": true,
}

// maxStatsRows bounds an answer: buckets times groups.
const maxStatsRows = 20_000

// statsRow is one bucket and group of GET /api/v1/stats.
type statsRow struct {
	Bucket time.Time         `json:"bucket"`
	Key    map[string]string `json:"key,omitempty"`
	Calls  int64             `json:"calls"`
	Errors int64             `json:"errors"`
	// RateLimited counts upstream 429 answers (every attempt's) and calls
	// Weir itself answered 429.
	RateLimited     int64                  `json:"rate_limited"`
	Retried         int64                  `json:"retried"`
	FellBack        int64                  `json:"fell_back"`
	Streams         int64                  `json:"streams"`
	CostUSD         string                 `json:"cost_usd"`
	UnpricedCalls   int64                  `json:"unpriced_calls"`
	InputTokens     int64                  `json:"input_tokens"`
	OutputTokens    int64                  `json:"output_tokens"`
	CacheReadTokens int64                  `json:"cache_read_tokens"`
	ReasoningTokens int64                  `json:"reasoning_tokens"`
	Latency         map[string]metricStats `json:"latency,omitempty"`
}

// metricStats summarises one metric of a row: how many calls had it, its
// mean and the asked-for quantiles (p50, p95, ...), each within 1%.
type metricStats struct {
	Count     int64              `json:"count"`
	Mean      *float64           `json:"mean"`
	Quantiles map[string]float64 `json:"quantiles,omitempty"`
}

// stats answers GET /api/v1/stats: counts, cost, tokens and latency
// percentiles over time from the rollups, the figures every dashboard
// chart shows.
func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	for k := range v {
		if !statsParams[k] {
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown parameter %q", k))
			return
		}
	}
	q, metrics, quantiles, err := statsQuery(v, time.Now())
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	if !forceTeam(w, r, &q.Filter.Team) {
		return
	}
	rows, err := a.opt.Rollups.Rollup(r.Context(), q)
	if errors.Is(err, store.ErrInvalidQuery) {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	if err != nil {
		a.log.Error("stats", "err", err)
		writeErr(w, http.StatusInternalServerError, "internal", "could not read the statistics")
		return
	}
	if len(rows) > maxStatsRows {
		writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("the answer has %d rows, more than %d: take a larger step, a shorter range or fewer group_by dimensions", len(rows), maxStatsRows))
		return
	}
	out := make([]statsRow, 0, len(rows))
	for i := range rows {
		row := &rows[i]
		s := statsRow{Bucket: row.Bucket, Calls: row.Calls, Errors: row.Errors, RateLimited: row.RateLimited,
			Retried: row.Retried, FellBack: row.FellBack, Streams: row.Streams, CostUSD: row.Cost().Format(9),
			UnpricedCalls: row.Unpriced, InputTokens: row.InputTokens, OutputTokens: row.OutputTokens,
			CacheReadTokens: row.CacheReadTokens, ReasoningTokens: row.ReasoningTokens}
		if len(q.GroupBy) > 0 {
			s.Key = map[string]string{}
			for _, g := range q.GroupBy {
				s.Key[g] = keyField(row.Key, g)
			}
		}
		for _, m := range metrics {
			if s.Latency == nil {
				s.Latency = map[string]metricStats{}
			}
			ms := metricStats{Count: row.Count(m)}
			if mean, ok := row.Mean(m); ok {
				ms.Mean = &mean
				ms.Quantiles = map[string]float64{}
				for _, p := range quantiles {
					if v, ok := row.Quantile(m, p); ok {
						ms.Quantiles["p"+strconv.FormatFloat(p*100, 'f', -1, 64)] = v
					}
				}
			}
			s.Latency[m.String()] = ms
		}
		out = append(out, s)
	}
	writeJSON(w, http.StatusOK, struct {
		From    time.Time  `json:"from"`
		To      time.Time  `json:"to"`
		Step    string     `json:"step,omitempty"`
		GroupBy []string   `json:"group_by,omitempty"`
		Rows    []statsRow `json:"rows"`
	}{q.From, q.To, v.Get("step"), q.GroupBy, out})
}

func keyField(k rollup.Key, dim string) string {
	switch dim {
	case store.RollupUseCase:
		return k.UseCase
	case store.RollupUseCaseVersion:
		return k.UseCaseVersion
	case store.RollupUseCaseStep:
		return k.UseCaseStep
	case store.RollupTeam:
		return k.Team
	case store.RollupProvider:
		return k.Provider
	case store.RollupModel:
		return k.Model
	case store.RollupRoute:
		return k.Route
	}
	return ""
}

// statsQuery reads the parameters: from and to (default the last 24
// hours), step (Go duration or Nd), group_by and metrics (comma lists),
// quantiles (comma list of 0..1, default 0.5,0.95,0.99) and the filters.
func statsQuery(v map[string][]string, now time.Time) (store.RollupQuery, []rollup.Metric, []float64, error) {
	get := func(k string) string {
		if len(v[k]) == 0 {
			return ""
		}
		return v[k][0]
	}
	q := store.RollupQuery{To: now, From: now.Add(-24 * time.Hour)}
	var err error
	if s := get("from"); s != "" {
		if q.From, err = parseTime(s); err != nil {
			return q, nil, nil, fmt.Errorf("from: %w", err)
		}
	}
	if s := get("to"); s != "" {
		if q.To, err = parseTime(s); err != nil {
			return q, nil, nil, fmt.Errorf("to: %w", err)
		}
	}
	if s := get("step"); s != "" {
		if d, ok := strings.CutSuffix(s, "d"); ok {
			n, err := strconv.Atoi(d)
			if err != nil || n <= 0 || n > 3660 {
				return q, nil, nil, fmt.Errorf("step %q: want a Go duration (15m, 1h) or a number of days (1d)", s)
			}
			q.Step = time.Duration(n) * 24 * time.Hour
		} else if q.Step, err = time.ParseDuration(s); err != nil || q.Step <= 0 {
			return q, nil, nil, fmt.Errorf("step %q: want a Go duration (15m, 1h) or a number of days (1d)", s)
		}
	}
	if s := get("group_by"); s != "" {
		q.GroupBy = strings.Split(s, ",")
	}
	q.Filter = rollup.Key{UseCase: get("use_case"), UseCaseVersion: get("use_case_version"), UseCaseStep: get("use_case_step"), Team: get("team"),
		Provider: get("provider"), Model: get("model"), Route: get("route")}
	var metrics []rollup.Metric
	if s := get("metrics"); s != "" {
		for _, n := range strings.Split(s, ",") {
			m, ok := rollup.ParseMetric(n)
			if !ok {
				return q, nil, nil, fmt.Errorf("metric %q: want ttft, ttfct, itl, otps, e2e or overhead", n)
			}
			metrics = append(metrics, m)
		}
		q.Sketches = true
	}
	quantiles := []float64{0.5, 0.95, 0.99}
	if s := get("quantiles"); s != "" {
		quantiles = nil
		for _, n := range strings.Split(s, ",") {
			p, err := strconv.ParseFloat(n, 64)
			if err != nil || p < 0 || p > 1 {
				return q, nil, nil, fmt.Errorf("quantile %q: want a number from 0 to 1", n)
			}
			quantiles = append(quantiles, p)
		}
		if len(quantiles) > 10 {
			return q, nil, nil, errors.New("at most 10 quantiles")
		}
	}
	return q, metrics, quantiles, nil
}

// Package metrics exposes Weir's Prometheus metrics: the OpenTelemetry GenAI
// latency and usage histograms, labelled by provider, model, use case and
// status, and Weir's own (overhead, time to first completion token, output
// tokens per second, recorder health). The app builds one Metrics per
// process on its own registry; the gateway feeds it records.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weirhq/weir/internal/record"
)

// Buckets follow the OpenTelemetry GenAI semantic conventions' advice.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}
	tpotBuckets     = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	overheadBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1}
	otpsBuckets     = []float64{1, 5, 10, 20, 40, 60, 80, 100, 150, 200, 300, 500, 1000}
)

var labels = []string{"provider", "model", "use_case", "status"}

// Metrics holds the collectors.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ttft      *prometheus.HistogramVec
	ttfct     *prometheus.HistogramVec
	tpot      *prometheus.HistogramVec
	itl       *prometheus.HistogramVec
	otps      *prometheus.HistogramVec
	overhead  *prometheus.HistogramVec
	tokens    *prometheus.HistogramVec
	tokensSum *prometheus.CounterVec
	cost      *prometheus.CounterVec
	unpriced  *prometheus.CounterVec
}

// New registers the collectors on a fresh registry, with Go and process
// collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := func(name, help string, buckets []float64, extra ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, append(append([]string{}, labels...), extra...))
		reg.MustRegister(v)
		return v
	}
	m := &Metrics{reg: reg}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_requests_total", Help: "Calls served, by outcome."}, append(append([]string{}, labels...), "error_kind"))
	m.tokensSum = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_tokens_total", Help: "Tokens used, by type (input, output, cache_read, cache_write, reasoning)."}, append(append([]string{}, labels...), "token_type"))
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_cost_usd_total", Help: "What the priced calls cost, in US dollars, at the price catalog's rates."}, []string{"provider", "model", "use_case"})
	m.unpriced = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_unpriced_requests_total", Help: "Calls that used units the price catalog has no price for (their cost_usd is null)."}, []string{"provider", "model"})
	reg.MustRegister(m.requests, m.tokensSum, m.cost, m.unpriced)
	m.duration = h("gen_ai_client_operation_duration_seconds", "End-to-end duration of a model call as seen at Weir's edge.", durationBuckets)
	m.ttft = h("gen_ai_server_time_to_first_token_seconds", "Time to the first chunk carrying any generated token (streams).", ttftBuckets)
	m.ttfct = h("weir_time_to_first_completion_token_seconds", "Time to the first chunk carrying completion content or a tool call, after any reasoning (streams).", ttftBuckets)
	m.tpot = h("gen_ai_server_time_per_output_token_seconds", "(e2e - ttft) / (output_tokens - 1) (streams).", tpotBuckets)
	m.itl = h("weir_inter_token_latency_seconds", "Mean gap between token-bearing chunks of one stream.", tpotBuckets)
	m.otps = h("weir_output_tokens_per_second", "Output tokens per second of generation.", otpsBuckets)
	m.overhead = h("weir_overhead_seconds", "Time Weir itself added: e2e minus time waiting on the provider.", overheadBuckets)
	m.tokens = h("gen_ai_client_token_usage", "Tokens used per call, by gen_ai token type (input, output).", tokenBuckets, "token_type")
	return m
}

// Registry is where other parts register their collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Observe records one finished call.
func (m *Metrics) Observe(r *record.Record) {
	lv := []string{r.Provider, r.Model, r.UseCase, strconv.Itoa(r.Status)}
	m.requests.WithLabelValues(append(lv, r.ErrorKind)...).Inc()
	m.duration.WithLabelValues(lv...).Observe(r.E2EMs / 1000)
	m.overhead.WithLabelValues(lv...).Observe(r.OverheadMs / 1000)
	if r.TTFTMs != nil {
		m.ttft.WithLabelValues(lv...).Observe(*r.TTFTMs / 1000)
	}
	if r.TTFCTMs != nil {
		m.ttfct.WithLabelValues(lv...).Observe(*r.TTFCTMs / 1000)
	}
	if r.TPOTMs != nil {
		m.tpot.WithLabelValues(lv...).Observe(*r.TPOTMs / 1000)
	}
	if r.ITLMs != nil {
		m.itl.WithLabelValues(lv...).Observe(r.ITLMs.Mean / 1000)
	}
	if r.OTPS != nil {
		m.otps.WithLabelValues(lv...).Observe(*r.OTPS)
	}
	if r.CostUSD != nil {
		m.cost.WithLabelValues(r.Provider, r.Model, r.UseCase).Add(r.CostUSD.Dollars())
	} else if r.Cost != nil {
		m.unpriced.WithLabelValues(r.Provider, r.Model).Inc()
	}
	u := r.Usage
	if u.InputTokens > 0 || u.OutputTokens > 0 {
		m.tokens.WithLabelValues(append(lv, "input")...).Observe(float64(u.InputTokens))
		m.tokens.WithLabelValues(append(lv, "output")...).Observe(float64(u.OutputTokens))
	}
	for _, t := range []struct {
		name string
		n    int64
	}{{"input", u.InputTokens}, {"output", u.OutputTokens}, {"cache_read", u.CacheReadTokens}, {"cache_write", u.CacheWriteTokens}, {"reasoning", u.ReasoningTokens}} {
		if t.n > 0 {
			m.tokensSum.WithLabelValues(append(lv, t.name)...).Add(float64(t.n))
		}
	}
}

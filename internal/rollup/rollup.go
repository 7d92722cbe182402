// Package rollup aggregates call records into mergeable summaries: counts,
// sums and DDSketch quantile sketches of the latencies, keyed by the
// dimensions the dashboard groups by. The store keeps one summary per key
// and minute (and hour and day) and merges them to answer charts, so a
// chart over months reads thousands of rows, not millions of calls.
//
// A sketch answers any quantile with a relative error of at most
// RelativeAccuracy (1%), and two sketches merge into the sketch of the
// union of their values: that is what makes per-minute percentiles
// combinable into per-day ones, which averages of percentiles are not.
package rollup

import (
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	dstore "github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/weirhq/weir/internal/record"
)

// RelativeAccuracy is the sketches' guaranteed relative error on any
// quantile.
const RelativeAccuracy = 0.01

// maxBins bounds a sketch's size: with 1% accuracy, 2048 bins span values
// from 1 µs to beyond a day before the lowest bins collapse.
const maxBins = 2048

// Key is what a summary is kept per. Empty strings are calls without that
// attribute.
type Key struct {
	UseCase        string
	UseCaseVersion string
	// UseCaseStep is the call's step in its use case
	// (x-weir-use-case-step).
	UseCaseStep string
	Team        string
	Provider    string
	// Model is the model as sent upstream (record.Record.Model).
	Model string
	Route string
}

// Metric names a latency or throughput measure that is sketched.
type Metric int

// The sketched metrics, in milliseconds except OTPS (output tokens per
// second).
const (
	TTFT     Metric = iota // time to first token
	TTFCT                  // time to first content token
	ITL                    // a stream's mean inter-token latency
	OTPS                   // output tokens per second
	E2E                    // end to end
	Overhead               // Weir's own share
	NumMetrics
)

var metricNames = [NumMetrics]string{"ttft", "ttfct", "itl", "otps", "e2e", "overhead"}

func (m Metric) String() string {
	if m < 0 || m >= NumMetrics {
		return fmt.Sprintf("metric(%d)", int(m))
	}
	return metricNames[m]
}

// ParseMetric returns the metric named s (ttft, ttfct, itl, otps, e2e,
// overhead).
func ParseMetric(s string) (Metric, bool) {
	for i, n := range metricNames {
		if n == s {
			return Metric(i), true
		}
	}
	return 0, false
}

// Agg is the summary of a set of calls.
type Agg struct {
	Calls int64
	// Errors are calls that failed for their caller: an error status, or
	// a stream that broke after its 200.
	Errors int64
	// RateLimited counts upstream answers of 429 (every attempt's), plus
	// calls Weir itself answered 429 without an attempt (a limit).
	RateLimited int64
	// Retried are calls with more than one attempt; FellBack those whose
	// final target differs from their first.
	Retried, FellBack int64
	Streams           int64
	// CostDollars and CostFemto sum the cost of the priced calls: whole
	// dollars and a femto-dollar (1e-15 USD) remainder, |CostFemto| <
	// 1e15 (an int64 of femto-dollars alone would overflow past $9,223).
	// store.RollupRow.Cost gives the exact sum. Unpriced counts the calls
	// that reached a provider but could not be priced.
	CostDollars int64
	CostFemto   int64
	Unpriced    int64
	// Token totals (input and output include their cached and reasoning
	// parts).
	InputTokens, OutputTokens, CacheReadTokens, ReasoningTokens int64
	// Sketches hold the metrics' distributions; nil when no call had the
	// metric.
	Sketches [NumMetrics]*ddsketch.DDSketch
}

// FromRecord returns the key and the summary of one call. costFemto is the
// call's cost in femto-dollars and priced false when it has none (the
// store computes both for its cost column already).
func FromRecord(rec *record.Record, costFemto int64, priced bool) (Key, Agg) {
	k := Key{UseCase: rec.UseCase, UseCaseVersion: rec.UseCaseVersion, UseCaseStep: rec.UseCaseStep, Team: rec.Team,
		Provider: rec.Provider, Model: rec.Model, Route: rec.Route}
	a := Agg{Calls: 1, InputTokens: rec.Usage.InputTokens, OutputTokens: rec.Usage.OutputTokens,
		CacheReadTokens: rec.Usage.CacheReadTokens, ReasoningTokens: rec.Usage.ReasoningTokens}
	if rec.Status >= 400 || rec.ErrorKind != "" {
		a.Errors = 1
	}
	for _, at := range rec.Attempts {
		if at.Status == 429 {
			a.RateLimited++
		}
	}
	if len(rec.Attempts) == 0 && rec.Status == 429 {
		a.RateLimited = 1
	}
	if n := len(rec.Attempts); n > 1 {
		a.Retried = 1
		if f, l := rec.Attempts[0], rec.Attempts[n-1]; f.Provider != l.Provider || f.Model != l.Model {
			a.FellBack = 1
		}
	}
	if rec.Stream {
		a.Streams = 1
	}
	if priced {
		a.AddCostFemto(costFemto)
	} else if rec.Cost != nil {
		a.Unpriced = 1
	}
	add := func(m Metric, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return
		}
		if a.Sketches[m] == nil {
			a.Sketches[m] = NewSketch()
		}
		a.Sketches[m].Add(v) // cannot fail for a finite non-negative value
	}
	opt := func(m Metric, p *float64) {
		if p != nil {
			add(m, *p)
		}
	}
	opt(TTFT, rec.TTFTMs)
	opt(TTFCT, rec.TTFCTMs)
	if rec.ITLMs != nil && rec.ITLMs.Count > 0 {
		add(ITL, rec.ITLMs.Mean)
	}
	opt(OTPS, rec.OTPS)
	if rec.Status > 0 {
		add(E2E, rec.E2EMs)
		add(Overhead, rec.OverheadMs)
	}
	return k, a
}

// NewSketch returns an empty sketch of the kind every summary uses.
func NewSketch() *ddsketch.DDSketch {
	s, err := ddsketch.LogCollapsingLowestDenseDDSketch(RelativeAccuracy, maxBins)
	if err != nil {
		panic(err) // the constants are valid
	}
	return s
}

// Merge adds b into a. b's sketches are not shared with a.
func (a *Agg) Merge(b *Agg) {
	a.Calls += b.Calls
	a.Errors += b.Errors
	a.RateLimited += b.RateLimited
	a.Retried += b.Retried
	a.FellBack += b.FellBack
	a.Streams += b.Streams
	a.CostDollars += b.CostDollars
	a.AddCostFemto(b.CostFemto)
	a.Unpriced += b.Unpriced
	a.InputTokens += b.InputTokens
	a.OutputTokens += b.OutputTokens
	a.CacheReadTokens += b.CacheReadTokens
	a.ReasoningTokens += b.ReasoningTokens
	for m, s := range b.Sketches {
		if s == nil || s.IsEmpty() {
			continue
		}
		if a.Sketches[m] == nil {
			a.Sketches[m] = s.Copy()
			continue
		}
		a.Sketches[m].MergeWith(s) // same mapping: cannot fail
	}
}

// femtoPerDollar is 1e15.
const femtoPerDollar = 1_000_000_000_000_000

// AddCostFemto adds f femto-dollars to the cost, keeping the remainder
// under a dollar.
func (a *Agg) AddCostFemto(f int64) {
	a.CostDollars += f / femtoPerDollar
	a.CostFemto += f % femtoPerDollar
	a.CostDollars += a.CostFemto / femtoPerDollar
	a.CostFemto %= femtoPerDollar
}

// CostUSD returns the cost in dollars as a float, for charts (the exact
// sum is store.RollupRow.Cost).
func (a *Agg) CostUSD() float64 {
	return float64(a.CostDollars) + float64(a.CostFemto)/femtoPerDollar
}

// Quantile returns the metric's q-quantile (0 ≤ q ≤ 1) and false when no
// call had the metric.
func (a *Agg) Quantile(m Metric, q float64) (float64, bool) {
	s := a.Sketches[m]
	if s == nil || s.IsEmpty() {
		return 0, false
	}
	var v float64
	err := guard(func() (err error) {
		v, err = s.GetValueAtQuantile(q)
		return err
	})
	if err != nil {
		return 0, false
	}
	return v, true
}

// Count returns how many calls had the metric.
func (a *Agg) Count(m Metric) int64 {
	if s := a.Sketches[m]; s != nil {
		return int64(math.Round(s.GetCount()))
	}
	return 0
}

// Mean returns the metric's mean, from the sketch: within
// RelativeAccuracy of the exact mean.
func (a *Agg) Mean(m Metric) (float64, bool) {
	s := a.Sketches[m]
	if s == nil || s.IsEmpty() {
		return 0, false
	}
	return s.GetSum() / s.GetCount(), true
}

// mapping every sketch uses; decoding checks that a stored sketch has it.
var indexMapping = NewSketch().IndexMapping

// EncodeSketch returns the compact binary form of s (nil for an empty or
// nil sketch), without the index mapping, which every summary shares.
func EncodeSketch(s *ddsketch.DDSketch) []byte {
	if s == nil || s.IsEmpty() {
		return nil
	}
	var b []byte
	s.Encode(&b, true)
	return b
}

// DecodeSketch decodes what EncodeSketch returned; nil or empty input
// gives a nil sketch.
func DecodeSketch(b []byte) (*ddsketch.DDSketch, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var s *ddsketch.DDSketch
	err := guard(func() (err error) {
		s, err = ddsketch.DecodeDDSketch(b, collapsingStore, indexMapping)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("decode sketch: %w", err)
	}
	return s, nil
}

// guard runs f, turning a panic into an error: the sketch library indexes
// its bins with decoded numbers and panics on some corrupt input, which
// must not take a dashboard page (or the process) down.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt sketch: %v", r)
		}
	}()
	return f()
}

// MergeEncoded merges the encoded sketch b into *s, allocating *s when nil.
func MergeEncoded(s **ddsketch.DDSketch, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if *s == nil {
		d, err := DecodeSketch(b)
		if err != nil {
			return err
		}
		*s = d
		return nil
	}
	if err := guard(func() error { return (*s).DecodeAndMergeWith(b) }); err != nil {
		return fmt.Errorf("merge sketch: %w", err)
	}
	return nil
}

func collapsingStore() dstore.Store { return dstore.NewCollapsingLowestDenseStore(maxBins) }

var _ mapping.IndexMapping = indexMapping

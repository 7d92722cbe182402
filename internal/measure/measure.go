// Package measure turns the moments Weir observes while relaying a call into
// the latency figures it records: time to first token, time to first
// completion token, inter-token latency, time per output token, output
// tokens per second, and the split between upstream wait and Weir's own
// overhead. docs/metrics.md defines each figure; this package implements
// exactly those definitions. The gateway imports it.
package measure

import (
	"slices"
	"time"

	"github.com/weirhq/weir/internal/record"
)

// Meter observes one call. The zero value is not usable; use Start.
// A Meter is used by one goroutine.
type Meter struct {
	start           time.Time
	firstToken      time.Duration
	firstCompletion time.Duration
	lastToken       time.Duration
	gaps            []float64 // milliseconds
	tokens          int
}

// Start returns a meter whose clock started at t (when the request's
// headers arrived), on the monotonic clock carried by time.Now values.
func Start(t time.Time) *Meter {
	return &Meter{start: t, firstToken: -1, firstCompletion: -1}
}

// Started is the meter's start time.
func (m *Meter) Started() time.Time { return m.start }

// Since is the time elapsed since the start.
func (m *Meter) Since() time.Duration { return time.Since(m.start) }

// Token records that a token-bearing chunk was just written to the caller.
// completion is true when the chunk carried completion content or a tool
// call rather than only reasoning.
func (m *Meter) Token(completion bool) { m.TokenAt(time.Since(m.start), completion) }

// TokenAt is Token at an explicit offset from the start, for tests.
func (m *Meter) TokenAt(at time.Duration, completion bool) {
	if m.firstToken < 0 {
		m.firstToken = at
	} else {
		m.gaps = append(m.gaps, ms(at-m.lastToken))
	}
	if completion && m.firstCompletion < 0 {
		m.firstCompletion = at
	}
	m.lastToken = at
	m.tokens++
}

// Result is what Finish computes.
type Result struct {
	TTFTMs, TTFCTMs, TPOTMs, OTPS *float64
	ITL                           *record.ITL
	E2EMs, UpstreamMs, OverheadMs float64
}

// Finish computes the figures for a call that ended e2e after the start,
// spent upstream waiting on the provider and produced outputTokens.
// stream says whether the call was streamed; non-streamed calls have no
// TTFT, ITL or TPOT.
func (m *Meter) Finish(e2e, upstream time.Duration, outputTokens int64, stream bool) Result {
	r := Result{E2EMs: ms(e2e), UpstreamMs: ms(upstream)}
	if upstream > e2e {
		r.UpstreamMs = r.E2EMs
	}
	r.OverheadMs = r.E2EMs - r.UpstreamMs
	if !stream {
		if outputTokens > 0 && e2e > 0 {
			r.OTPS = ptr(float64(outputTokens) / e2e.Seconds())
		}
		return r
	}
	if m.firstToken < 0 {
		return r
	}
	r.TTFTMs = ptr(ms(m.firstToken))
	if m.firstCompletion >= 0 {
		r.TTFCTMs = ptr(ms(m.firstCompletion))
	}
	if len(m.gaps) > 0 {
		r.ITL = summarize(m.gaps)
	}
	gen := e2e - m.firstToken
	if outputTokens > 1 && gen > 0 {
		r.TPOTMs = ptr(ms(gen) / float64(outputTokens-1))
		r.OTPS = ptr(float64(outputTokens) / gen.Seconds())
	}
	return r
}

func summarize(gaps []float64) *record.ITL {
	s := slices.Clone(gaps)
	slices.Sort(s)
	var sum float64
	for _, g := range s {
		sum += g
	}
	return &record.ITL{
		Mean:  sum / float64(len(s)),
		P50:   quantile(s, 0.50),
		P95:   quantile(s, 0.95),
		Max:   s[len(s)-1],
		Count: len(s),
	}
}

// quantile is the linear-interpolation quantile of sorted s.
func quantile(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(i)
	return s[i] + (s[i+1]-s[i])*frac
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ptr(f float64) *float64 { return &f }

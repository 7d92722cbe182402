// Package resilience holds the mechanisms that keep calls flowing when
// providers fail: circuit breakers over a sliding window, local request
// and token buckets, the rate-limit headroom providers report in their
// headers, a retry budget, and backoff with full jitter. State lives in
// memory behind small types so that a shared (Redis) implementation can
// replace it; the gateway consumes it through its own interfaces. It
// imports nothing of Weir's.
package resilience

import (
	"sync"
	"time"
)

// BreakerConfig tunes a circuit breaker.
type BreakerConfig struct {
	// Window is the sliding window the error rate is measured over
	// (default 30s, in 10 buckets).
	Window time.Duration
	// MinRequests is how many results the window needs before it can open
	// the breaker (default 10).
	MinRequests int
	// FailureRatio opens the breaker (default 0.5).
	FailureRatio float64
	// SlowCall, when set, counts a success slower than it as a failure
	// (latency-based breaking); default off.
	SlowCall time.Duration
	// OpenFor is how long an open breaker refuses before it lets probes
	// through (default 30s).
	OpenFor time.Duration
	// Probes is how many calls a half-open breaker lets through at once;
	// their successes close it, a failure opens it again (default 1).
	Probes int
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.Window <= 0 {
		c.Window = 30 * time.Second
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 10
	}
	if c.FailureRatio <= 0 || c.FailureRatio > 1 {
		c.FailureRatio = 0.5
	}
	if c.OpenFor <= 0 {
		c.OpenFor = 30 * time.Second
	}
	if c.Probes <= 0 {
		c.Probes = 1
	}
	return c
}

// State is a breaker's state.
type State string

// The states.
const (
	Closed   State = "closed"
	Open     State = "open"
	HalfOpen State = "half_open"
)

const buckets = 10

// Transition is one change of a breaker's state.
type Transition struct {
	At     time.Time `json:"at"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Reason string    `json:"reason"`
}

// maxHistory bounds each breaker's kept transitions.
const maxHistory = 50

// Breaker is one target's circuit breaker.
type Breaker struct {
	cfg BreakerConfig

	mu       sync.Mutex
	state    State
	openedAt time.Time
	probes   int // half-open calls in flight
	bucket   [buckets]struct {
		start      time.Time
		ok, failed int
	}
	history []Transition
}

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig) *Breaker {
	return &Breaker{cfg: cfg.withDefaults(), state: Closed}
}

func (b *Breaker) transition(now time.Time, to State, reason string) {
	b.history = append(b.history, Transition{At: now.UTC(), From: b.state, To: to, Reason: reason})
	if len(b.history) > maxHistory {
		b.history = b.history[len(b.history)-maxHistory:]
	}
	b.state = to
	switch to {
	case Open:
		b.openedAt = now
		b.probes = 0
	case Closed:
		b.probes = 0
		for i := range b.bucket {
			b.bucket[i].ok, b.bucket[i].failed = 0, 0
		}
	}
}

// Allow reports whether a call may go to the target now; a half-open
// breaker admits up to Probes calls, each of which must be reported.
// When it refuses, retryAt says when it may admit again.
func (b *Breaker) Allow(now time.Time) (ok bool, retryAt time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		if now.Sub(b.openedAt) < b.cfg.OpenFor {
			return false, b.openedAt.Add(b.cfg.OpenFor)
		}
		b.transition(now, HalfOpen, "open period over: probing")
		fallthrough
	case HalfOpen:
		if b.probes >= b.cfg.Probes {
			return false, now.Add(time.Second)
		}
		b.probes++
	}
	return true, time.Time{}
}

// Release gives back a half-open probe taken by Allow for a call that did
// not go out.
func (b *Breaker) Release() {
	b.mu.Lock()
	if b.state == HalfOpen && b.probes > 0 {
		b.probes--
	}
	b.mu.Unlock()
}

// Report records a call's result: failed (the target's fault: a timeout,
// a 5xx, a refused connection, a 429) or not, and its latency.
func (b *Breaker) Report(now time.Time, failed bool, latency time.Duration) {
	if !failed && b.cfg.SlowCall > 0 && latency > b.cfg.SlowCall {
		failed = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case HalfOpen:
		if b.probes > 0 {
			b.probes--
		}
		if failed {
			b.transition(now, Open, "a probe failed")
		} else {
			b.transition(now, Closed, "a probe succeeded")
		}
		return
	case Open:
		return // a call admitted before the breaker opened
	}
	width := b.cfg.Window / buckets
	start := now.Truncate(width)
	i := int(start.UnixNano()/int64(width)) % buckets
	if i < 0 {
		i += buckets
	}
	bk := &b.bucket[i]
	if !bk.start.Equal(start) {
		bk.start, bk.ok, bk.failed = start, 0, 0
	}
	if failed {
		bk.failed++
	} else {
		bk.ok++
	}
	if !failed {
		return
	}
	var ok, bad int
	for j := range b.bucket {
		if now.Sub(b.bucket[j].start) < b.cfg.Window {
			ok += b.bucket[j].ok
			bad += b.bucket[j].failed
		}
	}
	if n := ok + bad; n >= b.cfg.MinRequests && float64(bad) >= b.cfg.FailureRatio*float64(n) {
		b.transition(now, Open, failureReason(bad, n, b.cfg.Window))
	}
}

func failureReason(bad, n int, w time.Duration) string {
	return itoa(bad) + " of " + itoa(n) + " calls failed in " + w.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Snapshot is a breaker's state for the API.
type Snapshot struct {
	State State `json:"state"`
	// Calls and Failures are counted over the window (closed state).
	Calls    int          `json:"calls"`
	Failures int          `json:"failures"`
	OpenedAt *time.Time   `json:"opened_at,omitempty"`
	History  []Transition `json:"history"`
}

// Snapshot returns the breaker's state.
func (b *Breaker) Snapshot(now time.Time) Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Snapshot{State: b.state, History: append([]Transition{}, b.history...)}
	if b.state == Open && now.Sub(b.openedAt) >= b.cfg.OpenFor {
		s.State = HalfOpen // the next call will probe
	}
	if b.state != Closed {
		t := b.openedAt.UTC()
		s.OpenedAt = &t
	}
	for j := range b.bucket {
		if now.Sub(b.bucket[j].start) < b.cfg.Window {
			s.Calls += b.bucket[j].ok + b.bucket[j].failed
			s.Failures += b.bucket[j].failed
		}
	}
	return s
}

package resilience

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bucket is a local token bucket holding at most PerMinute units, refilled
// continuously: a target's configured requests or tokens per minute.
type Bucket struct {
	perMinute float64

	mu    sync.Mutex
	level float64
	last  time.Time
}

// NewBucket returns a full bucket of perMinute units.
func NewBucket(perMinute int64) *Bucket {
	return &Bucket{perMinute: float64(perMinute), level: float64(perMinute)}
}

func (b *Bucket) refill(now time.Time) {
	if !b.last.IsZero() && now.After(b.last) {
		b.level = min(b.perMinute, b.level+now.Sub(b.last).Minutes()*b.perMinute)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
}

// Take takes n units if the bucket holds them; otherwise it takes nothing
// and says how long until it will. A request for more than the whole
// bucket is let through when the bucket is full (it could never pass).
func (b *Bucket) Take(n float64, now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.level >= n || b.level >= b.perMinute {
		b.level -= n
		return true, 0
	}
	need := min(n, b.perMinute) - b.level
	return false, time.Duration(need / b.perMinute * float64(time.Minute))
}

// Give returns n units (negative n takes more, e.g. when a call used more
// tokens than estimated).
func (b *Bucket) Give(n float64) {
	b.mu.Lock()
	b.level = min(b.perMinute, b.level+n)
	b.mu.Unlock()
}

// Level is what the bucket holds now.
func (b *Bucket) Level(now time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	return b.level
}

// Headroom is what a provider last said remains of its rate limits, from
// its response headers, and how long a 429 asked to wait.
type Headroom struct {
	mu sync.Mutex
	// remaining requests and tokens; -1 when unknown.
	requests, tokens   int64
	reqReset, tokReset time.Time
	coolUntil          time.Time
	seen               time.Time
}

// NewHeadroom returns a headroom with nothing known.
func NewHeadroom() *Headroom { return &Headroom{requests: -1, tokens: -1} }

// Observe reads the rate-limit headers of a response: OpenAI's and
// Azure's x-ratelimit-remaining-{requests,tokens} with
// x-ratelimit-reset-{requests,tokens} (durations like "6m0s" or "20ms"),
// and Anthropic's anthropic-ratelimit-{requests,tokens}-{remaining,reset}
// (RFC 3339 times). Headers it does not find change nothing.
func (h *Headroom) Observe(hdr http.Header, now time.Time) {
	if len(hdr) == 0 {
		return
	}
	req, reqOK := intHeader(hdr, "X-Ratelimit-Remaining-Requests", "Anthropic-Ratelimit-Requests-Remaining")
	tok, tokOK := intHeader(hdr, "X-Ratelimit-Remaining-Tokens", "Anthropic-Ratelimit-Tokens-Remaining")
	if !reqOK && !tokOK {
		return
	}
	rr := resetHeader(hdr, now, "X-Ratelimit-Reset-Requests", "Anthropic-Ratelimit-Requests-Reset")
	tr := resetHeader(hdr, now, "X-Ratelimit-Reset-Tokens", "Anthropic-Ratelimit-Tokens-Reset")
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = now
	if reqOK {
		h.requests, h.reqReset = req, rr
		if rr.IsZero() {
			h.reqReset = now.Add(time.Minute)
		}
	}
	if tokOK {
		h.tokens, h.tokReset = tok, tr
		if tr.IsZero() {
			h.tokReset = now.Add(time.Minute)
		}
	}
}

// Cool marks the target as refusing until until (a 429's retry-after).
func (h *Headroom) Cool(until time.Time) {
	h.mu.Lock()
	if until.After(h.coolUntil) {
		h.coolUntil = until
	}
	h.mu.Unlock()
}

// Spend counts a call about to go out against the known remainders, so
// that concurrent calls do not all see the same headroom.
func (h *Headroom) Spend(tokens int64) {
	h.mu.Lock()
	if h.requests > 0 {
		h.requests--
	}
	if h.tokens > 0 {
		h.tokens = max(0, h.tokens-tokens)
	}
	h.mu.Unlock()
}

// Exhausted reports whether a call estimated at tokens would pass the
// provider's reported limits (or a 429's wait) now, and until when.
func (h *Headroom) Exhausted(tokens int64, now time.Time) (bool, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.Before(h.coolUntil) {
		return true, h.coolUntil
	}
	if h.requests == 0 && now.Before(h.reqReset) {
		return true, h.reqReset
	}
	if h.tokens >= 0 && h.tokens < tokens && now.Before(h.tokReset) {
		return true, h.tokReset
	}
	return false, time.Time{}
}

// HeadroomSnapshot is what is known, for the API.
type HeadroomSnapshot struct {
	RemainingRequests *int64     `json:"remaining_requests,omitempty"`
	RequestsReset     *time.Time `json:"requests_reset,omitempty"`
	RemainingTokens   *int64     `json:"remaining_tokens,omitempty"`
	TokensReset       *time.Time `json:"tokens_reset,omitempty"`
	CoolingUntil      *time.Time `json:"cooling_until,omitempty"`
	ObservedAt        *time.Time `json:"observed_at,omitempty"`
}

// Snapshot returns what is known now.
func (h *Headroom) Snapshot(now time.Time) HeadroomSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s HeadroomSnapshot
	at := func(t time.Time) *time.Time { t = t.UTC(); return &t }
	if h.requests >= 0 && now.Before(h.reqReset) {
		r := h.requests
		s.RemainingRequests, s.RequestsReset = &r, at(h.reqReset)
	}
	if h.tokens >= 0 && now.Before(h.tokReset) {
		t := h.tokens
		s.RemainingTokens, s.TokensReset = &t, at(h.tokReset)
	}
	if now.Before(h.coolUntil) {
		s.CoolingUntil = at(h.coolUntil)
	}
	if !h.seen.IsZero() {
		s.ObservedAt = at(h.seen)
	}
	return s
}

func intHeader(h http.Header, names ...string) (int64, bool) {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			if i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && i >= 0 {
				return i, true
			}
		}
	}
	return 0, false
}

// maxReset bounds a reported reset, so that a strange header cannot park
// a target for long.
const maxReset = 10 * time.Minute

func resetHeader(h http.Header, now time.Time, names ...string) time.Time {
	for _, n := range names {
		v := strings.TrimSpace(h.Get(n))
		if v == "" {
			continue
		}
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			return now.Add(min(d, maxReset))
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			if t.Sub(now) > maxReset {
				return now.Add(maxReset)
			}
			return t
		}
	}
	return time.Time{}
}

// RetryAfter reads a retry-after value: seconds, or an HTTP date; and
// OpenAI's retry-after-ms. Zero when absent or unreadable; at most max.
func RetryAfter(h http.Header, now time.Time, max time.Duration) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e12 {
			return min(time.Duration(ms*float64(time.Millisecond)), max)
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 && s < 1e9 {
		return min(time.Duration(s*float64(time.Second)), max)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), max)
	}
	return 0
}

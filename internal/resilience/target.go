package resilience

import (
	"net/http"
	"time"
)

// Target is the state of one route target in this process: its breaker,
// its configured request and token buckets, and the headroom its provider
// reports.
type Target struct {
	Breaker  *Breaker
	RPM, TPM *Bucket // nil: no configured limit
	Headroom *Headroom
}

// NewTarget returns a target's state; rpm or tpm 0 means no local limit.
func NewTarget(cfg BreakerConfig, rpm, tpm int64) *Target {
	t := &Target{Breaker: NewBreaker(cfg), Headroom: NewHeadroom()}
	if rpm > 0 {
		t.RPM = NewBucket(rpm)
	}
	if tpm > 0 {
		t.TPM = NewBucket(tpm)
	}
	return t
}

// Refusal says why a target cannot take a call now.
type Refusal struct {
	// Reason: breaker_open, rate_limited (the provider's reported limit or
	// a 429's wait), rpm or tpm (a configured limit).
	Reason string
	// Until is when it may take calls again.
	Until time.Time
}

// Acquire asks whether a call estimated at tokens may go to the target
// now. On success the call holds a breaker probe (half-open) and its
// share of the buckets, and must be ended with Done.
func (t *Target) Acquire(now time.Time, tokens int64) (ok bool, r Refusal) {
	if ex, until := t.Headroom.Exhausted(tokens, now); ex {
		return false, Refusal{Reason: "rate_limited", Until: until}
	}
	if ok, until := t.Breaker.Allow(now); !ok {
		return false, Refusal{Reason: "breaker_open", Until: until}
	}
	if t.RPM != nil {
		if ok, wait := t.RPM.Take(1, now); !ok {
			t.Breaker.Release()
			return false, Refusal{Reason: "rpm", Until: now.Add(wait)}
		}
	}
	if t.TPM != nil {
		if ok, wait := t.TPM.Take(float64(tokens), now); !ok {
			if t.RPM != nil {
				t.RPM.Give(1)
			}
			t.Breaker.Release()
			return false, Refusal{Reason: "tpm", Until: now.Add(wait)}
		}
	}
	t.Headroom.Spend(tokens)
	return true, Refusal{}
}

// Result is how an acquired call ended.
type Result struct {
	// Failed: the target's fault (connection, timeout, 5xx, overloaded).
	Failed bool
	// RateLimited: the provider answered 429; RetryAfter is its wait.
	RateLimited bool
	RetryAfter  time.Duration
	Latency     time.Duration
	// Header is the provider's response header (rate-limit state).
	Header http.Header
	// Estimated and Used are the call's tokens before and after, to
	// settle the token bucket (Used 0: unknown, keep the estimate).
	Estimated, Used int64
}

// Done ends an acquired call.
func (t *Target) Done(now time.Time, r Result) {
	t.Breaker.Report(now, r.Failed, r.Latency)
	t.Headroom.Observe(r.Header, now)
	if r.RateLimited {
		wait := r.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		t.Headroom.Cool(now.Add(wait))
	}
	if t.TPM != nil && r.Used > 0 {
		t.TPM.Give(float64(r.Estimated - r.Used))
	}
}

// TargetSnapshot is a target's state for the API.
type TargetSnapshot struct {
	Breaker  Snapshot         `json:"breaker"`
	Headroom HeadroomSnapshot `json:"headroom"`
	// RPMLeft and TPMLeft are what the configured buckets hold now.
	RPMLeft *float64 `json:"rpm_left,omitempty"`
	TPMLeft *float64 `json:"tpm_left,omitempty"`
}

// Snapshot returns the target's state.
func (t *Target) Snapshot(now time.Time) TargetSnapshot {
	s := TargetSnapshot{Breaker: t.Breaker.Snapshot(now), Headroom: t.Headroom.Snapshot(now)}
	if t.RPM != nil {
		v := t.RPM.Level(now)
		s.RPMLeft = &v
	}
	if t.TPM != nil {
		v := t.TPM.Level(now)
		s.TPMLeft = &v
	}
	return s
}

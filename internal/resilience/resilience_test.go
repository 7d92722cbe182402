package resilience

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestBreakerOpensAndProbes(t *testing.T) {
	b := NewBreaker(BreakerConfig{Window: 10 * time.Second, MinRequests: 4, FailureRatio: 0.5, OpenFor: 5 * time.Second})
	now := t0
	// 3 failures out of 3: below MinRequests, stays closed.
	for range 3 {
		b.Report(now, true, 0)
	}
	if ok, _ := b.Allow(now); !ok {
		t.Fatal("opened below min_requests")
	}
	b.Report(now, false, 0) // 3 of 4 failed... but that was a success; next failure opens
	b.Report(now, true, 0)
	if ok, until := b.Allow(now); ok || !until.Equal(now.Add(5*time.Second)) {
		t.Fatalf("not open after 4 of 5 failed: %v %v", ok, until)
	}
	// Half-open after OpenFor: one probe at a time.
	now = now.Add(5 * time.Second)
	if ok, _ := b.Allow(now); !ok {
		t.Fatal("no probe after the open period")
	}
	if ok, _ := b.Allow(now); ok {
		t.Fatal("a second concurrent probe")
	}
	b.Report(now, true, 0)
	if s := b.Snapshot(now); s.State != Open {
		t.Fatalf("a failed probe leaves %s", s.State)
	}
	now = now.Add(5 * time.Second)
	b.Allow(now)
	b.Report(now, false, 0)
	s := b.Snapshot(now)
	if s.State != Closed || s.Calls != 0 {
		t.Fatalf("after a good probe: %+v", s)
	}
	var path []State
	for _, tr := range s.History {
		path = append(path, tr.To)
	}
	want := []State{Open, HalfOpen, Open, HalfOpen, Closed}
	if len(path) != len(want) {
		t.Fatalf("history %v", path)
	}
	for i := range want {
		if path[i] != want[i] {
			t.Fatalf("history %v, want %v", path, want)
		}
	}
}

func TestBreakerWindowSlides(t *testing.T) {
	b := NewBreaker(BreakerConfig{Window: 10 * time.Second, MinRequests: 4, FailureRatio: 0.5})
	for i := range 3 {
		b.Report(t0.Add(time.Duration(i)*time.Second), true, 0)
	}
	// Ten seconds on, the old failures have left the window.
	later := t0.Add(15 * time.Second)
	b.Report(later, true, 0)
	if ok, _ := b.Allow(later); !ok {
		t.Fatal("old failures still count")
	}
}

func TestBreakerSlowCalls(t *testing.T) {
	b := NewBreaker(BreakerConfig{MinRequests: 2, SlowCall: time.Second})
	b.Report(t0, false, 2*time.Second)
	b.Report(t0, false, 3*time.Second)
	if ok, _ := b.Allow(t0); ok {
		t.Fatal("slow calls did not open the breaker")
	}
}

func TestBreakerRelease(t *testing.T) {
	b := NewBreaker(BreakerConfig{MinRequests: 1, OpenFor: time.Second})
	b.Report(t0, true, 0)
	now := t0.Add(time.Second)
	if ok, _ := b.Allow(now); !ok {
		t.Fatal("no probe")
	}
	b.Release()
	if ok, _ := b.Allow(now); !ok {
		t.Fatal("a released probe was not given back")
	}
}

func TestBucket(t *testing.T) {
	b := NewBucket(60) // one per second
	for i := range 60 {
		if ok, _ := b.Take(1, t0); !ok {
			t.Fatalf("take %d of a full bucket", i)
		}
	}
	ok, wait := b.Take(1, t0)
	if ok || wait != time.Second {
		t.Fatalf("empty bucket: %v %v", ok, wait)
	}
	if ok, _ := b.Take(1, t0.Add(time.Second)); !ok {
		t.Fatal("no refill after a second")
	}
	big := NewBucket(10)
	if ok, _ := big.Take(50, t0); !ok {
		t.Fatal("a call larger than the whole bucket can never pass")
	}
	if ok, _ := big.Take(1, t0); ok {
		t.Fatal("the bucket was not drained by the big call")
	}
}

func TestHeadroom(t *testing.T) {
	for _, c := range []struct {
		name   string
		hdr    map[string]string
		tokens int64
		want   bool
		until  time.Duration
	}{
		{"openai requests spent", map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-remaining-tokens": "1000"}, 10, true, 6 * time.Minute},
		{"openai tokens short", map[string]string{"x-ratelimit-remaining-requests": "5", "x-ratelimit-remaining-tokens": "100", "x-ratelimit-reset-tokens": "20ms"}, 500, true, 20 * time.Millisecond},
		{"openai enough", map[string]string{"x-ratelimit-remaining-requests": "5", "x-ratelimit-remaining-tokens": "1000"}, 500, false, 0},
		{"anthropic spent", map[string]string{"anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": t0.Add(30 * time.Second).Format(time.RFC3339)}, 1, true, 30 * time.Second},
		{"absurd reset is bounded", map[string]string{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "9999h"}, 1, true, maxReset},
		{"junk ignored", map[string]string{"x-ratelimit-remaining-requests": "lots"}, 1, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := NewHeadroom()
			hdr := http.Header{}
			for k, v := range c.hdr {
				hdr.Set(k, v)
			}
			h.Observe(hdr, t0)
			ex, until := h.Exhausted(c.tokens, t0)
			if ex != c.want || c.want && !until.Equal(t0.Add(c.until)) {
				t.Errorf("exhausted %v until %v", ex, until)
			}
			if ex, _ := h.Exhausted(c.tokens, t0.Add(c.until+time.Millisecond)); ex && c.want {
				t.Error("still exhausted after the reset")
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		hdr  map[string]string
		want time.Duration
	}{
		{map[string]string{"retry-after": "2"}, 2 * time.Second},
		{map[string]string{"retry-after": "1.5"}, 1500 * time.Millisecond},
		{map[string]string{"retry-after-ms": "250", "retry-after": "1"}, 250 * time.Millisecond},
		{map[string]string{"retry-after": t0.Add(10 * time.Second).Format(http.TimeFormat)}, 10 * time.Second},
		{map[string]string{"retry-after": "999999"}, time.Minute},
		{map[string]string{"retry-after": "-3"}, 0},
		{map[string]string{"retry-after": "soon"}, 0},
		{nil, 0},
	} {
		h := http.Header{}
		for k, v := range c.hdr {
			h.Set(k, v)
		}
		if got := RetryAfter(h, t0, time.Minute); got != c.want {
			t.Errorf("%v: %v, want %v", c.hdr, got, c.want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("2", "")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT", "100")
	f.Add("1e400", "NaN")
	f.Fuzz(func(t *testing.T, ra, ms string) {
		h := http.Header{}
		h.Set("Retry-After", ra)
		h.Set("Retry-After-Ms", ms)
		if d := RetryAfter(h, t0, time.Minute); d < 0 || d > time.Minute {
			t.Fatalf("%q %q: %v", ra, ms, d)
		}
	})
}

func FuzzHeadroom(f *testing.F) {
	f.Add("0", "6m0s", "100", "2026-11-27T10:00:30Z")
	f.Add("-1", "-5s", "x", "")
	f.Fuzz(func(t *testing.T, req, reqReset, tok, tokReset string) {
		h := NewHeadroom()
		hdr := http.Header{}
		hdr.Set("X-Ratelimit-Remaining-Requests", req)
		hdr.Set("X-Ratelimit-Reset-Requests", reqReset)
		hdr.Set("Anthropic-Ratelimit-Tokens-Remaining", tok)
		hdr.Set("Anthropic-Ratelimit-Tokens-Reset", tokReset)
		h.Observe(hdr, t0)
		if ex, until := h.Exhausted(1, t0); ex && until.Sub(t0) > maxReset+time.Minute {
			t.Fatalf("parked for %v", until.Sub(t0))
		}
	})
}

func TestRetryBudget(t *testing.T) {
	b := NewRetryBudget(0.2, 1)
	now := t0
	b.last = now
	b.tokens = 0
	for range 10 {
		b.Call(now)
	}
	// 10 calls earn 2 retries.
	if !b.Retry(now) || !b.Retry(now) || b.Retry(now) {
		t.Fatal("10 calls at ratio 0.2 should allow exactly 2 retries")
	}
	if !b.Retry(now.Add(time.Second)) {
		t.Fatal("the per-second minimum was not refilled")
	}
}

func TestBackoff(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 8; n++ {
		capd := min(100*time.Millisecond<<(n-1), time.Second)
		for range 100 {
			if d := Backoff(n, 100*time.Millisecond, time.Second, r); d < 0 || d > capd {
				t.Fatalf("retry %d waited %v, cap %v", n, d, capd)
			}
		}
	}
	if Backoff(3, 0, time.Second, r) != 0 {
		t.Fatal("no base, no wait")
	}
}

func TestTargetAcquire(t *testing.T) {
	tg := NewTarget(BreakerConfig{MinRequests: 1, OpenFor: time.Minute}, 2, 1000)
	if ok, _ := tg.Acquire(t0, 600); !ok {
		t.Fatal("first call refused")
	}
	if ok, r := tg.Acquire(t0, 600); ok || r.Reason != "tpm" {
		t.Fatalf("second call over the tpm: %v %+v", ok, r)
	}
	// The refused call gave back its request.
	if ok, _ := tg.Acquire(t0, 100); !ok {
		t.Fatal("rpm not given back after a tpm refusal")
	}
	if ok, r := tg.Acquire(t0, 1); ok || r.Reason != "rpm" {
		t.Fatalf("third request in a minute of rpm 2: %v %+v", ok, r)
	}
	// A 429 cools the target for its retry-after.
	tg2 := NewTarget(BreakerConfig{}, 0, 0)
	tg2.Acquire(t0, 1)
	tg2.Done(t0, Result{RateLimited: true, RetryAfter: 3 * time.Second})
	if ok, r := tg2.Acquire(t0.Add(time.Second), 1); ok || r.Reason != "rate_limited" || !r.Until.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("after a 429: %v %+v", ok, r)
	}
	// A failure opens the breaker (min 1).
	tg.Done(t0, Result{Failed: true})
	if ok, r := tg.Acquire(t0, 1); ok || r.Reason != "breaker_open" {
		t.Fatalf("after a failure: %v %+v", ok, r)
	}
}

func BenchmarkAcquireDone(b *testing.B) {
	tg := NewTarget(BreakerConfig{}, 0, 0)
	now := t0
	for b.Loop() {
		tg.Acquire(now, 100)
		tg.Done(now, Result{Latency: time.Millisecond})
	}
}

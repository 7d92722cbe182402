package resilience

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// RetryBudget bounds retries to a share of calls, so that in an outage
// retries cannot multiply the load on a failing provider: each call earns
// Ratio of a retry, each retry spends one, and MinPerSecond retries are
// always allowed.
type RetryBudget struct {
	Ratio        float64
	MinPerSecond float64

	mu sync.Mutex
	// tokens in thousandths of a retry, so that ratios add up exactly.
	tokens int64
	last   time.Time
}

// NewRetryBudget returns a budget (default ratio 0.2, at least 10 per
// second).
func NewRetryBudget(ratio, minPerSecond float64) *RetryBudget {
	if ratio <= 0 {
		ratio = 0.2
	}
	if minPerSecond <= 0 {
		minPerSecond = 10
	}
	return &RetryBudget{Ratio: ratio, MinPerSecond: minPerSecond, tokens: int64(math.Round(minPerSecond * 1000))}
}

// maxBudget bounds saved-up retries (in thousandths).
const maxBudget = 1000 * 1000

func (b *RetryBudget) refill(now time.Time) {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens += int64(now.Sub(b.last).Seconds() * b.MinPerSecond * 1000)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	b.tokens = min(b.tokens, maxBudget)
}

// Call records a first attempt, earning Ratio of a retry.
func (b *RetryBudget) Call(now time.Time) {
	b.mu.Lock()
	b.refill(now)
	b.tokens = min(b.tokens+int64(math.Round(b.Ratio*1000)), maxBudget)
	b.mu.Unlock()
}

// Retry reports whether a retry may be spent now, and spends it.
func (b *RetryBudget) Retry(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens < 1000 {
		return false
	}
	b.tokens -= 1000
	return true
}

// Backoff is the wait before retry n (1-based): exponential from base,
// capped at max, with full jitter (a uniform draw in [0, cap]).
func Backoff(n int, base, max time.Duration, r *rand.Rand) time.Duration {
	if base <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	if r == nil {
		return time.Duration(rand.Int64N(int64(d) + 1))
	}
	return time.Duration(r.Int64N(int64(d) + 1))
}

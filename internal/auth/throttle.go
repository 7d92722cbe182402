package auth

import (
	"sync"
	"time"
)

// Throttle counts failed sign-ins per key (a person's name, a client
// address) in a fixed window. It is behind an interface so that replicas
// can share one (Redis) later.
type Throttle interface {
	// Wait returns how long key must wait before trying again (0: now).
	Wait(key string) time.Duration
	// Fail counts a failure of key.
	Fail(key string)
	// Reset forgets key's failures.
	Reset(key string)
}

// MemoryThrottle is a Throttle in this process: after Max failures within
// Window of the first one, a key waits until the window ends.
type MemoryThrottle struct {
	Max    int
	Window time.Duration
	Now    func() time.Time

	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	n     int
	first time.Time
}

// maxThrottleKeys bounds memory under a spray of names: beyond it expired
// entries are dropped, and if none are, the oldest window is.
const maxThrottleKeys = 100_000

// NewMemoryThrottle returns a throttle allowing max failures per window.
func NewMemoryThrottle(max int, window time.Duration, now func() time.Time) *MemoryThrottle {
	if now == nil {
		now = time.Now
	}
	return &MemoryThrottle{Max: max, Window: window, Now: now, keys: map[string]*failures{}}
}

// Wait implements Throttle.
func (t *MemoryThrottle) Wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.keys[key]
	if !ok {
		return 0
	}
	now := t.Now()
	if end := f.first.Add(t.Window); !now.Before(end) {
		delete(t.keys, key)
		return 0
	} else if f.n >= t.Max {
		return end.Sub(now)
	}
	return 0
}

// Fail implements Throttle.
func (t *MemoryThrottle) Fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	f, ok := t.keys[key]
	if !ok || !now.Before(f.first.Add(t.Window)) {
		if len(t.keys) >= maxThrottleKeys {
			t.evict(now)
		}
		t.keys[key] = &failures{n: 1, first: now}
		return
	}
	f.n++
}

func (t *MemoryThrottle) evict(now time.Time) {
	var oldest string
	var at time.Time
	for k, f := range t.keys {
		if !now.Before(f.first.Add(t.Window)) {
			delete(t.keys, k)
		} else if oldest == "" || f.first.Before(at) {
			oldest, at = k, f.first
		}
	}
	if len(t.keys) >= maxThrottleKeys {
		delete(t.keys, oldest)
	}
}

// Reset implements Throttle.
func (t *MemoryThrottle) Reset(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

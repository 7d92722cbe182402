package limits

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Memory is the in-process Counters. Loading a key's spend happens outside
// the lock, once: callers that need the same key meanwhile wait for that
// load (a burst of first calls of one instance runs one store query).
// Beyond MaxKeys, keys with nothing in flight and untouched for a minute
// are forgotten: the store has their spend, and they load again when used.
type Memory struct {
	mu      sync.Mutex
	c       map[string]*Counter
	at      map[string]time.Time // last touched
	now     func() time.Time
	swept   time.Time
	loading map[string]*load // loads in progress
}

// load is one store load of a key's spend, shared by its waiters.
type load struct {
	done chan struct{}
	used int64
	err  error
}

// MaxKeys is the number of keys Memory holds before it forgets idle ones.
const MaxKeys = 100_000

// NewMemory returns empty counters.
func NewMemory() *Memory {
	return &Memory{c: map[string]*Counter{}, at: map[string]time.Time{}, now: time.Now, loading: map[string]*load{}}
}

// touch marks key used; m.mu is held. Past MaxKeys, idle keys are swept
// at most every ten seconds, so the sweep's cost is not paid per call.
func (m *Memory) touch(key string) {
	now := m.now()
	m.at[key] = now
	if len(m.c) <= MaxKeys || now.Sub(m.swept) < 10*time.Second {
		return
	}
	m.swept = now
	for k, c := range m.c {
		if c.Reserved == 0 && now.Sub(m.at[k]) > time.Minute {
			delete(m.c, k)
			delete(m.at, k)
		}
	}
}

func (m *Memory) ensure(key string, loadFn func() (int64, error)) (*Counter, error) {
	m.mu.Lock()
	if c := m.c[key]; c != nil {
		m.mu.Unlock()
		return c, nil
	}
	l, waiting := m.loading[key]
	if !waiting {
		l = &load{done: make(chan struct{})}
		m.loading[key] = l
	}
	m.mu.Unlock()
	if waiting {
		<-l.done
	} else {
		l.used, l.err = loadFn()
		close(l.done)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !waiting {
		delete(m.loading, key)
	}
	if l.err != nil {
		return nil, l.err
	}
	c := m.c[key]
	if c == nil {
		c = &Counter{Used: l.used}
		m.c[key] = c
		m.touch(key)
	}
	return c, nil
}

// Reserve implements Counters.
func (m *Memory) Reserve(_ context.Context, key string, amount, limit int64, force bool, load func() (int64, error)) (bool, Counter, error) {
	c, err := m.ensure(key, load)
	if err != nil {
		return false, Counter{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touch(key)
	if !force && c.Used+c.Reserved+amount > limit {
		c.Refused++
		return false, *c, nil
	}
	c.Reserved += amount
	return true, *c, nil
}

// Settle implements Counters.
func (m *Memory) Settle(_ context.Context, key string, reserved, used int64) (Counter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.c[key]
	if c == nil { // dropped meanwhile (a reset): count from the store again
		return Counter{}, nil
	}
	c.Reserved -= reserved
	c.Used += used
	m.touch(key)
	return *c, nil
}

// Get implements Counters.
func (m *Memory) Get(_ context.Context, key string, load func() (int64, error)) (Counter, error) {
	c, err := m.ensure(key, load)
	if err != nil {
		return Counter{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return *c, nil
}

// Drop implements Counters.
func (m *Memory) Drop(_ context.Context, prefix string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.c {
		if strings.HasPrefix(k, prefix) {
			delete(m.c, k)
			delete(m.at, k)
		}
	}
	return nil
}

// Keys lists the keys held.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.c))
	for k := range m.c {
		out = append(out, k)
	}
	return out
}

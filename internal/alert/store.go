package alert

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Store keeps alerts and their delivery state. Implementations are safe for
// concurrent use.
type Store interface {
	// SaveAlert inserts a, or replaces the stored alert with a's ID. It
	// ignores a.Deliveries and leaves the stored deliveries alone.
	SaveAlert(ctx context.Context, a Alert) error
	// UpdateDelivery inserts or replaces the delivery state of alert id
	// for d.Webhook. An unknown id is an error wrapping ErrNotFound.
	UpdateDelivery(ctx context.Context, id string, d Delivery) error
	// ListAlerts returns the alerts matching q, newest first by (At, ID),
	// with their deliveries. A bad q is an error wrapping ErrInvalidQuery.
	ListAlerts(ctx context.Context, q ListQuery) ([]Alert, error)
	// LastByDedupKey returns the newest alert, by (At, ID), with the key.
	LastByDedupKey(ctx context.Context, key string) (Alert, bool, error)
}

var (
	_ Store = (*MemoryStore)(nil)
	_ Store = (*SQLiteStore)(nil)
)

// MemoryStore is a Store in memory, for tests and for running without a
// database. The zero value is not usable: call NewMemoryStore.
type MemoryStore struct {
	mu         sync.Mutex
	alerts     map[string]Alert
	deliveries map[string]map[string]Delivery // alert id -> webhook -> state
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{alerts: map[string]Alert{}, deliveries: map[string]map[string]Delivery{}}
}

// SaveAlert implements Store.
func (s *MemoryStore) SaveAlert(_ context.Context, a Alert) error {
	if err := checkStored(&a); err != nil {
		return fmt.Errorf("save alert: %w", err)
	}
	fields, err := normalizeFields(a.Fields)
	if err != nil {
		return fmt.Errorf("save alert %s: %w", a.ID, err)
	}
	a = a.clone()
	a.Fields, a.Deliveries = fields, nil
	a.At, a.LastAt = storedTime(a.At), storedTime(a.LastAt)
	if len(a.Scope) == 0 {
		a.Scope = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts[a.ID] = a
	return nil
}

// storedTime is t as a store gives it back: UTC, no monotonic reading,
// zero kept zero.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

// UpdateDelivery implements Store.
func (s *MemoryStore) UpdateDelivery(_ context.Context, id string, d Delivery) error {
	if d.Webhook == "" {
		return fmt.Errorf("update delivery of alert %s: no webhook name", id)
	}
	d.DeliveredAt = storedTime(d.DeliveredAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.alerts[id]; !ok {
		return fmt.Errorf("update delivery of alert %s: %w", id, ErrNotFound)
	}
	m := s.deliveries[id]
	if m == nil {
		m = map[string]Delivery{}
		s.deliveries[id] = m
	}
	m[d.Webhook] = d
	return nil
}

// withDeliveries returns a copy of a with its deliveries. s.mu is held.
func (s *MemoryStore) withDeliveries(a Alert) Alert {
	a = a.clone()
	for _, d := range s.deliveries[a.ID] {
		a.Deliveries = append(a.Deliveries, d)
	}
	slices.SortFunc(a.Deliveries, func(x, y Delivery) int { return cmp.Compare(x.Webhook, y.Webhook) })
	return a
}

// newer orders alerts newest first by (At, ID).
func newer(x, y *Alert) int {
	if c := y.At.Compare(x.At); c != 0 {
		return c
	}
	return cmp.Compare(y.ID, x.ID)
}

// ListAlerts implements Store.
func (s *MemoryStore) ListAlerts(_ context.Context, q ListQuery) ([]Alert, error) {
	q, err := q.normalize()
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Alert{}
	for _, a := range s.alerts {
		if q.match(&a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y Alert) int { return newer(&x, &y) })
	out = out[:min(len(out), q.Limit)]
	for i := range out {
		out[i] = s.withDeliveries(out[i])
	}
	return out, nil
}

// LastByDedupKey implements Store.
func (s *MemoryStore) LastByDedupKey(_ context.Context, key string) (Alert, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		last  Alert
		found bool
	)
	for _, a := range s.alerts {
		if a.DedupKey == key && (!found || newer(&a, &last) < 0) {
			last, found = a, true
		}
	}
	if !found {
		return Alert{}, false, nil
	}
	return s.withDeliveries(last), true, nil
}

package alert

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Options configure an Engine. Only Store is required; every other zero
// value means the default written beside it.
type Options struct {
	// Store keeps the alerts. Required.
	Store Store
	// Webhooks receive fresh alerts. None: alerts are only stored.
	Webhooks []Webhook
	// DedupWindow is how long after a fresh alert the same DedupKey is
	// only counted, not delivered again. Default 1h; negative turns
	// deduplication off.
	DedupWindow time.Duration

	// Workers is the number of concurrent deliveries. Default 4.
	Workers int
	// QueueSize bounds deliveries waiting for a worker; beyond it a
	// delivery is recorded as failed at once. Default 1024.
	QueueSize int
	// MaxAttempts is the most HTTP requests per alert and webhook.
	// Default 6.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the wait before retry n (from 1):
	// uniformly random in [0, min(MaxBackoff, BaseBackoff·2^(n-1))] ("full
	// jitter"). Defaults 1s and 1m.
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After (on 429 and 503) waited
	// for; a longer one ends the delivery as failed. Default 5m.
	MaxRetryAfter time.Duration
	// AttemptTimeout bounds each HTTP request, body included. Default 10s.
	AttemptTimeout time.Duration
	// Client sends the requests. Default: a client that does not follow
	// redirects (a redirect is a failed, unretried attempt).
	Client *http.Client

	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then.
	// Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a uniformly random duration in [0, d]. Default
	// math/rand/v2.
	Jitter func(d time.Duration) time.Duration
	// Log receives delivery failures. Default: discarded.
	Log *slog.Logger
}

// Engine raises, deduplicates, stores and delivers alerts. It is safe for
// concurrent use. Deduplication is exact within one Engine; two processes
// sharing a database may each deliver the same key once per window.
type Engine struct {
	opt   Options
	store Store
	hooks []Webhook
	log   *slog.Logger

	keyLocks [64]sync.Mutex // by hash of the dedup key
	seed     maphash.Seed

	mu     sync.RWMutex // guards closed and sending on jobs
	closed bool
	jobs   chan job

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// job is one delivery: the body is encoded when the alert is raised, so
// workers share nothing with the caller.
type job struct {
	alertID     string
	hook        *Webhook
	body, ctype string
}

// New returns an Engine with its delivery workers running. Call Close to
// stop them.
func New(opt Options) (*Engine, error) {
	if opt.Store == nil {
		return nil, errors.New("alert engine: no store")
	}
	if opt.DedupWindow == 0 {
		opt.DedupWindow = time.Hour
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = 1024
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 6
	}
	if opt.BaseBackoff <= 0 {
		opt.BaseBackoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = time.Minute
	}
	if opt.MaxRetryAfter <= 0 {
		opt.MaxRetryAfter = 5 * time.Minute
	}
	if opt.AttemptTimeout <= 0 {
		opt.AttemptTimeout = 10 * time.Second
	}
	if opt.Client == nil {
		opt.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	if opt.Jitter == nil {
		opt.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d + 1)
		}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	hooks := make([]Webhook, len(opt.Webhooks))
	names := map[string]bool{}
	for i, w := range opt.Webhooks {
		if err := w.validate(); err != nil {
			return nil, fmt.Errorf("alert engine: %w", err)
		}
		if names[w.Name] {
			return nil, fmt.Errorf("alert engine: two webhooks named %q", w.Name)
		}
		names[w.Name] = true
		hooks[i] = w
	}
	opt.Webhooks = nil
	e := &Engine{
		opt: opt, store: opt.Store, hooks: hooks, log: opt.Log,
		seed: maphash.MakeSeed(),
		jobs: make(chan job, opt.QueueSize),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(opt.Workers)
	for range opt.Workers {
		go e.work()
	}
	return e, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Raise records a and, when it is fresh, delivers it in the background to
// every webhook that wants it. It fills a's ID, At, Title and DedupKey when
// empty. When the newest stored alert with the same DedupKey is less than
// the dedup window before (or after) a.At and at least as severe, a is a
// duplicate: that alert's Count, LastAt and LastValue are updated and
// nothing is delivered (a more severe raise is fresh: an escalation is
// news). Raise returns the alert as stored (for a duplicate, the earlier
// alert it was counted in) and whether it was fresh.
func (e *Engine) Raise(ctx context.Context, a Alert) (Alert, bool, error) {
	e.mu.RLock()
	closed := e.closed
	e.mu.RUnlock()
	if closed {
		return Alert{}, false, ErrClosed
	}
	a, jobs, err := e.prepare(a)
	if err != nil {
		return Alert{}, false, fmt.Errorf("raise alert: %w", err)
	}

	l := &e.keyLocks[maphash.String(e.seed, a.DedupKey)%uint64(len(e.keyLocks))]
	l.Lock()
	defer l.Unlock()

	if e.opt.DedupWindow > 0 {
		prev, ok, err := e.store.LastByDedupKey(ctx, a.DedupKey)
		if err != nil {
			return Alert{}, false, fmt.Errorf("raise alert: %w", err)
		}
		d := a.At.Sub(prev.At)
		if ok && d < e.opt.DedupWindow && d > -e.opt.DedupWindow && a.Severity.rank() <= prev.Severity.rank() {
			prev.Count++
			if !a.At.Before(prev.LastAt) {
				prev.LastAt, prev.LastValue = a.At, a.Value
			}
			if err := e.store.SaveAlert(ctx, prev); err != nil {
				return Alert{}, false, fmt.Errorf("raise alert: count duplicate: %w", err)
			}
			return prev, false, nil
		}
	}
	if err := e.store.SaveAlert(ctx, a); err != nil {
		return Alert{}, false, fmt.Errorf("raise alert: %w", err)
	}
	// Each pending state is stored before its job is queued, so a
	// worker's later state can never be overwritten by it.
	for _, j := range jobs {
		d := Delivery{Webhook: j.hook.Name, State: DeliveryPending}
		e.updateDelivery(ctx, a.ID, d)
		if !e.enqueue(j) {
			d.State, d.LastError = DeliveryFailed, "not sent: delivery queue full or engine closed"
			e.log.Warn("alert not delivered", "alert", a.ID, "webhook", j.hook.Name, "err", d.LastError)
			e.updateDelivery(ctx, a.ID, d)
		}
		a.Deliveries = append(a.Deliveries, d)
	}
	slices.SortFunc(a.Deliveries, func(x, y Delivery) int { return cmp.Compare(x.Webhook, y.Webhook) })
	return a, true, nil
}

// prepare fills a's defaults, validates it and encodes its webhook bodies.
func (e *Engine) prepare(a Alert) (Alert, []job, error) {
	if a.At.IsZero() {
		a.At = e.opt.Now()
	}
	if !inNanoRange(a.At) {
		return a, nil, fmt.Errorf("time %v out of range", a.At)
	}
	a.At = storedTime(a.At)
	if a.ID == "" {
		a.ID = newID(a.At)
	}
	if a.Title == "" {
		a.Title = a.Kind
	}
	var err error
	if a.Fields, err = normalizeFields(a.Fields); err != nil {
		return a, nil, err
	}
	a = a.clone()
	if len(a.Scope) == 0 {
		a.Scope = nil
	}
	if a.DedupKey == "" {
		a.DedupKey = DefaultDedupKey(a)
	}
	a.Count, a.LastAt, a.LastValue, a.Deliveries = 1, a.At, a.Value, nil
	if err := checkStored(&a); err != nil {
		return a, nil, err
	}
	var jobs []job
	bodies := map[string][2]string{} // format -> body, content type
	for i := range e.hooks {
		h := &e.hooks[i]
		if !h.wants(&a) {
			continue
		}
		b, ok := bodies[h.Format]
		if !ok {
			body, ctype, err := Body(h.Format, a)
			if err != nil {
				return a, nil, err
			}
			b = [2]string{string(body), ctype}
			bodies[h.Format] = b
		}
		jobs = append(jobs, job{alertID: a.ID, hook: h, body: b[0], ctype: b[1]})
	}
	return a, jobs, nil
}

// updateDelivery stores d, logging a failure: the alert itself is stored,
// and workers record every attempt.
func (e *Engine) updateDelivery(ctx context.Context, id string, d Delivery) {
	if err := e.store.UpdateDelivery(ctx, id, d); err != nil {
		e.log.Error("record alert delivery", "alert", id, "webhook", d.Webhook, "err", err)
	}
}

// enqueue hands j to the workers without blocking.
func (e *Engine) enqueue(j job) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return false
	}
	select {
	case e.jobs <- j:
		return true
	default:
		return false
	}
}

// List returns stored alerts matching q, newest first.
func (e *Engine) List(ctx context.Context, q ListQuery) ([]Alert, error) {
	return e.store.ListAlerts(ctx, q)
}

// Close stops accepting alerts and waits until the queued and in-flight
// deliveries end, or ctx is done: then it abandons them (their state stays
// as last recorded) and returns ctx's error. Calling Close again waits
// again.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.jobs)
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		e.cancel()
		return nil
	case <-ctx.Done():
		e.cancel()
		return fmt.Errorf("close alert engine: deliveries abandoned: %w", ctx.Err())
	}
}

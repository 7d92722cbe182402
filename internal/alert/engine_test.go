package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is Now and Sleep for tests: Sleep records the wait and moves
// the clock on at once.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint answering with respond(n), n counting its
// requests from 1.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{r.Header.Clone(), body})
		n := len(rc.hits)
		rc.mu.Unlock()
		if respond != nil {
			respond(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) Hits() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// newEngine returns an engine over a memory store with the fake clock
// (unless opt sets its own), closed when the test ends.
func newEngine(t *testing.T, opt Options) (*Engine, *MemoryStore, *fakeClock) {
	t.Helper()
	ms := NewMemoryStore()
	if opt.Store == nil {
		opt.Store = ms
	}
	c := newFakeClock()
	if opt.Now == nil {
		opt.Now = c.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = c.Sleep
	}
	if opt.Jitter == nil {
		opt.Jitter = func(d time.Duration) time.Duration { return d } // the top of the range
	}
	e, err := New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e, ms, c
}

// drain waits for every queued delivery to end.
func drain(t *testing.T, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func raise(t *testing.T, e *Engine, a Alert) (Alert, bool) {
	t.Helper()
	got, fresh, err := e.Raise(context.Background(), a)
	if err != nil {
		t.Fatalf("Raise(%+v): %v", a, err)
	}
	return got, fresh
}

func budgetAlert(team string, value float64) Alert {
	return Alert{
		Rule: "team-budget", Kind: KindLimitExceeded, Severity: SeverityCritical,
		Scope: map[string]string{"team": team}, Title: "Budget exceeded for " + team,
		Value: value, Threshold: 100,
	}
}

func TestDedupWindow(t *testing.T) {
	type step struct {
		after     time.Duration // since the previous step
		team      string
		wantFresh bool
		wantCount int // of the returned alert
	}
	tests := []struct {
		name   string
		window time.Duration
		steps  []step
		sent   int
	}{
		{"default window of one hour", 0, []step{
			{0, "a", true, 1},
			{30 * time.Minute, "a", false, 2},
			{29 * time.Minute, "a", false, 3},
			{time.Minute, "a", true, 1}, // an hour after the fresh one, not after the last raise
			{0, "b", true, 1},           // another key
			{time.Second, "b", false, 2},
		}, 3},
		{"short window", 10 * time.Second, []step{
			{0, "a", true, 1},
			{9 * time.Second, "a", false, 2},
			{time.Second, "a", true, 1},
		}, 2},
		{"dedup off", -1, []step{
			{0, "a", true, 1},
			{0, "a", true, 1},
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			e, ms, c := newEngine(t, Options{DedupWindow: tt.window, Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
			fresh := map[string]Alert{}
			for i, s := range tt.steps {
				c.Advance(s.after)
				got, isFresh := raise(t, e, budgetAlert(s.team, float64(100+i)))
				if isFresh != s.wantFresh || got.Count != s.wantCount {
					t.Errorf("step %d: fresh, count = %v, %d; want %v, %d", i, isFresh, got.Count, s.wantFresh, s.wantCount)
				}
				if isFresh {
					fresh[s.team] = got
				} else if got.ID != fresh[s.team].ID || !got.LastAt.Equal(c.Now()) || got.LastValue != float64(100+i) {
					t.Errorf("step %d: duplicate counted in %s (last %v, %v); want %s (last %v, %v)",
						i, got.ID, got.LastAt, got.LastValue, fresh[s.team].ID, c.Now(), float64(100+i))
				}
			}
			drain(t, e)
			if n := len(rc.Hits()); n != tt.sent {
				t.Errorf("receiver got %d alerts, want %d", n, tt.sent)
			}
			stored, _ := ms.ListAlerts(context.Background(), ListQuery{})
			if len(stored) != tt.sent {
				t.Errorf("stored %d alerts, want %d (one per fresh raise)", len(stored), tt.sent)
			}
			total := 0
			for _, a := range stored {
				total += a.Count
			}
			if total != len(tt.steps) {
				t.Errorf("stored counts add up to %d, want %d raises", total, len(tt.steps))
			}
		})
	}
}

func TestDedupEscalation(t *testing.T) {
	rc := newReceiver(t, nil)
	e, _, c := newEngine(t, Options{Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
	steps := []struct {
		sev       Severity
		wantFresh bool
		wantCount int
	}{
		{SeverityWarning, true, 1},
		{SeverityWarning, false, 2},
		{SeverityCritical, true, 1}, // more severe: delivered
		{SeverityWarning, false, 2}, // counted in the critical one
		{SeverityCritical, false, 3},
	}
	for i, s := range steps {
		c.Advance(time.Minute)
		got, fresh := raise(t, e, Alert{Kind: KindLimitThreshold, Severity: s.sev, DedupKey: "k"})
		if fresh != s.wantFresh || got.Count != s.wantCount {
			t.Errorf("step %d (%s): fresh, count = %v, %d; want %v, %d", i, s.sev, fresh, got.Count, s.wantFresh, s.wantCount)
		}
	}
	drain(t, e)
	if n := len(rc.Hits()); n != 2 {
		t.Errorf("receiver got %d alerts, want 2", n)
	}
}

func TestRaiseDefaults(t *testing.T) {
	e, _, c := newEngine(t, Options{})
	got, fresh := raise(t, e, Alert{Kind: KindErrorRate, Severity: SeverityWarning, Scope: map[string]string{"model": "gpt", "provider": "openai"}})
	if !fresh || !strings.HasPrefix(got.ID, "alt_") || len(got.ID) != 30 {
		t.Errorf("ID = %q, fresh %v; want alt_ and 26 characters, fresh", got.ID, fresh)
	}
	want := Alert{
		ID: got.ID, Kind: KindErrorRate, Severity: SeverityWarning, Title: KindErrorRate,
		Scope: map[string]string{"model": "gpt", "provider": "openai"},
		At:    c.Now(), DedupKey: "error_rate||model=gpt,provider=openai", Count: 1, LastAt: c.Now(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Raise (-want +got):\n%s", diff)
	}
	// The explicit key wins, and the same scope in another map is the same
	// default key.
	_, fresh = raise(t, e, Alert{Kind: KindErrorRate, Severity: SeverityWarning, Scope: map[string]string{"provider": "openai", "model": "gpt"}})
	if fresh {
		t.Errorf("same kind, rule and scope was fresh again")
	}
	_, fresh = raise(t, e, Alert{Kind: KindErrorRate, Severity: SeverityWarning, DedupKey: "mine"})
	if !fresh {
		t.Errorf("an explicit new key was not fresh")
	}
}

func TestRaiseRefuses(t *testing.T) {
	e, ms, _ := newEngine(t, Options{})
	for name, a := range map[string]Alert{
		"no kind":       {Severity: SeverityInfo},
		"no severity":   {Kind: "k"},
		"bad severity":  {Kind: "k", Severity: "urgent"},
		"NaN":           {Kind: "k", Severity: SeverityInfo, Value: math.NaN()},
		"unencodable":   {Kind: "k", Severity: SeverityInfo, Fields: map[string]any{"f": func() {}}},
		"time in 3000.": {Kind: "k", Severity: SeverityInfo, At: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, _, err := e.Raise(context.Background(), a); err == nil {
			t.Errorf("Raise(%s) succeeded", name)
		}
	}
	if got, _ := ms.ListAlerts(context.Background(), ListQuery{}); len(got) != 0 {
		t.Errorf("refused alerts were stored: %v", ids(got))
	}
}

func TestRaiseOwnsItsInput(t *testing.T) {
	// The caller may reuse its maps right after Raise.
	rc := newReceiver(t, nil)
	e, _, _ := newEngine(t, Options{Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
	a := budgetAlert("a", 150)
	a.Fields = map[string]any{"n": 1}
	got, _ := raise(t, e, a)
	a.Scope["team"], a.Fields["n"] = "changed", 2
	drain(t, e)
	if got.Scope["team"] != "a" || got.Fields["n"] != float64(1) {
		t.Errorf("returned alert changed with the caller's maps: %v %v", got.Scope, got.Fields)
	}
	if b := string(rc.Hits()[0].body); !strings.Contains(b, `"team":"a"`) {
		t.Errorf("delivered body saw the caller's change: %s", b)
	}
}

func TestWebhookFilters(t *testing.T) {
	var rcs [3]*receiver
	for i := range rcs {
		rcs[i] = newReceiver(t, nil)
	}
	e, _, _ := newEngine(t, Options{DedupWindow: -1, Webhooks: []Webhook{
		{Name: "all", URL: rcs[0].URL},
		{Name: "critical", URL: rcs[1].URL, MinSeverity: SeverityCritical},
		{Name: "budgets", URL: rcs[2].URL, Kinds: []string{KindLimitThreshold, KindLimitExceeded}, MinSeverity: SeverityWarning},
	}})
	raises := []struct {
		kind string
		sev  Severity
		want []string // webhooks, by name
	}{
		{KindLimitExceeded, SeverityCritical, []string{"all", "budgets", "critical"}},
		{KindLimitThreshold, SeverityWarning, []string{"all", "budgets"}},
		{KindLimitThreshold, SeverityInfo, []string{"all"}},
		{KindSpendSpike, SeverityCritical, []string{"all", "critical"}},
	}
	for _, r := range raises {
		got, _ := raise(t, e, Alert{Kind: r.kind, Severity: r.sev})
		var names []string
		for _, d := range got.Deliveries {
			names = append(names, d.Webhook)
			if d.State != DeliveryPending {
				t.Errorf("%s/%s: initial state %q, want pending", r.kind, r.sev, d.State)
			}
		}
		if diff := cmp.Diff(r.want, names); diff != "" {
			t.Errorf("%s/%s deliveries (-want +got):\n%s", r.kind, r.sev, diff)
		}
	}
	drain(t, e)
	for i, want := range []int{4, 2, 2} {
		if n := len(rcs[i].Hits()); n != want {
			t.Errorf("webhook %d got %d alerts, want %d", i, n, want)
		}
	}
}

func TestNewRefusesBadWebhooks(t *testing.T) {
	tests := []struct {
		name string
		hook Webhook
		want string
	}{
		{"no name", Webhook{URL: "http://x"}, "no name"},
		{"no url", Webhook{Name: "w"}, "url must be"},
		{"ftp url", Webhook{Name: "w", URL: "ftp://x/y"}, "url must be"},
		{"relative url", Webhook{Name: "w", URL: "/hook"}, "url must be"},
		{"format", Webhook{Name: "w", URL: "http://x", Format: "teams"}, `unknown format "teams"`},
		{"severity", Webhook{Name: "w", URL: "http://x", MinSeverity: "high"}, `unknown min severity "high"`},
		{"header name", Webhook{Name: "w", URL: "http://x", Headers: map[string]string{"Bad Header": "v"}}, "invalid header"},
		{"header value", Webhook{Name: "w", URL: "http://x", Headers: map[string]string{"X": "a\r\nB: c"}}, "invalid header"},
	}
	for _, tt := range tests {
		_, err := New(Options{Store: NewMemoryStore(), Webhooks: []Webhook{tt.hook}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	_, err := New(Options{Store: NewMemoryStore(), Webhooks: []Webhook{{Name: "w", URL: "http://a"}, {Name: "w", URL: "http://b"}}})
	if err == nil || !strings.Contains(err.Error(), `two webhooks named "w"`) {
		t.Errorf("duplicate names: New = %v", err)
	}
	if _, err := New(Options{}); err == nil {
		t.Errorf("New without a store succeeded")
	}
	// The URL, a secret for Slack, never appears in errors.
	_, err = New(Options{Store: NewMemoryStore(), Webhooks: []Webhook{{Name: "w", URL: "hooks.slack.com/services/T0/B0/SECRET"}}})
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error for a bad URL = %v; must exist and not quote the URL", err)
	}
}

// TestConcurrentRaise raises the same few keys from many goroutines: each
// key is delivered exactly once and every raise is counted.
func TestConcurrentRaise(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			var got sync.Map // alert id -> count of deliveries
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				n, _ := got.LoadOrStore(r.Header.Get("X-Weir-Alert-Id"), new(atomic.Int32))
				n.(*atomic.Int32).Add(1)
			})
			e, _, _ := newEngine(t, Options{Store: st.open(t), Workers: 3, Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
			const goroutines, perG, keys = 16, 10, 4
			var fresh atomic.Int32
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range perG {
						_, isFresh, err := e.Raise(context.Background(), budgetAlert(fmt.Sprint((g+i)%keys), float64(i)))
						if err != nil {
							t.Errorf("Raise: %v", err)
							return
						}
						if isFresh {
							fresh.Add(1)
						}
						if _, err := e.List(context.Background(), ListQuery{Limit: 3}); err != nil {
							t.Errorf("List: %v", err)
						}
					}
				})
			}
			wg.Wait()
			drain(t, e)
			if n := fresh.Load(); n != keys {
				t.Errorf("%d fresh raises, want %d (one per key)", n, keys)
			}
			stored, err := e.List(context.Background(), ListQuery{})
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, a := range stored {
				total += a.Count
				if len(a.Deliveries) != 1 || a.Deliveries[0].State != DeliveryDelivered {
					t.Errorf("%s deliveries = %+v, want one delivered", a.ID, a.Deliveries)
				}
				if n, ok := got.Load(a.ID); !ok || n.(*atomic.Int32).Load() != 1 {
					t.Errorf("%s was not delivered exactly once", a.ID)
				}
			}
			if len(stored) != keys || total != goroutines*perG {
				t.Errorf("stored %d alerts counting %d raises; want %d and %d", len(stored), total, keys, goroutines*perG)
			}
		})
	}
}

func TestCloseWaitsForDeliveries(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		started.Done()
		<-release
	})
	e, ms, _ := newEngine(t, Options{DedupWindow: -1, Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
	raise(t, e, budgetAlert("a", 1))
	raise(t, e, budgetAlert("b", 1))
	started.Wait() // both in flight

	closed := make(chan error, 1)
	go func() { closed <- e.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while deliveries were in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, _, err := e.Raise(context.Background(), budgetAlert("c", 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Raise while closing = %v, want ErrClosed", err)
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	stored, _ := ms.ListAlerts(context.Background(), ListQuery{})
	for _, a := range stored {
		if a.Deliveries[0].State != DeliveryDelivered {
			t.Errorf("after Close, %s is %q, want delivered", a.ID, a.Deliveries[0].State)
		}
	}
}

func TestCloseGivesUpAtDeadline(t *testing.T) {
	stop := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	defer close(stop)
	e, ms, _ := newEngine(t, Options{Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
	a, _ := raise(t, e, budgetAlert("a", 1))
	for len(rc.Hits()) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := e.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v after its deadline", d)
	}
	got, _, _ := ms.LastByDedupKey(context.Background(), a.DedupKey)
	if got.Deliveries[0].State != DeliveryPending {
		t.Errorf("abandoned delivery is %q, want still pending", got.Deliveries[0].State)
	}
}

func TestQueueFull(t *testing.T) {
	block := make(chan struct{})
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { <-block })
	defer close(block)
	e, _, _ := newEngine(t, Options{DedupWindow: -1, Workers: 1, QueueSize: 1, Webhooks: []Webhook{{Name: "w", URL: rc.URL}}})
	raise(t, e, budgetAlert("a", 1)) // taken by the worker
	for len(rc.Hits()) == 0 {
		time.Sleep(time.Millisecond)
	}
	raise(t, e, budgetAlert("a", 2)) // queued
	got, fresh := raise(t, e, budgetAlert("a", 3))
	if !fresh || got.Deliveries[0].State != DeliveryFailed || !strings.Contains(got.Deliveries[0].LastError, "queue full") {
		t.Errorf("third raise: fresh %v, deliveries %+v; want a failed delivery (queue full)", fresh, got.Deliveries)
	}
}

package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/openai"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/resilience"
	"github.com/weirhq/weir/internal/tokencount"
)

// sim is one simulated provider serving model "m" with a profile.
type sim struct {
	srv  *httptest.Server
	mock *mock.Server
}

func newSim(t *testing.T, p mock.Profile) *sim {
	t.Helper()
	if p.OutputTokens == 0 {
		p.OutputTokens = 5
	}
	m := mock.New(mock.Config{Seed: 7, Models: map[string]mock.Profile{"m": p}}, nil)
	s := &sim{srv: httptest.NewServer(m), mock: m}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sim) requests() int64 { return s.mock.Stats().Models["m"].Requests }

type routeOpt struct {
	attempts, maxAttempts int
	backoff, maxBackoff   time.Duration
	queue                 time.Duration
	ttft                  time.Duration
	breaker               resilience.BreakerConfig
	fallbackOn            []string
}

// routeGateway serves route "r" over the sims, in priority order.
func routeGateway(t *testing.T, o routeOpt, sims ...*sim) (*httptest.Server, *memRecorder, *Router) {
	t.Helper()
	var ups []*Upstream
	rt := &Route{Name: "r", Attempts: o.attempts, MaxAttempts: o.maxAttempts, Backoff: o.backoff, MaxBackoff: o.maxBackoff,
		Queue: o.queue, FallbackOn: map[string]bool{}, Budget: resilience.NewRetryBudget(0.2, 1000)}
	for _, f := range o.fallbackOn {
		rt.FallbackOn[f] = true
	}
	for i, s := range sims {
		name := fmt.Sprintf("p%d", i+1)
		ad, err := openai.New(provider.Config{Name: name, BaseURL: s.srv.URL + "/v1"})
		if err != nil {
			t.Fatal(err)
		}
		u := &Upstream{Name: name, Type: "openai", Adapter: ad}
		ups = append(ups, u)
		rt.Targets = append(rt.Targets, &RouteTarget{Upstream: u, Model: "m", Priority: i + 1, Weight: 1, TTFT: o.ttft,
			State: resilience.NewTarget(o.breaker, 0, 0)})
	}
	router := NewRouter(ups, nil)
	if err := router.SetRoutes([]*Route{rt}); err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{begun: map[string]bool{}}
	g := New(Options{Router: router, Recorder: rec, Counter: tokencount.New(), MaxBodyBytes: 1 << 20, MaxLoggedBodyBytes: 1 << 20})
	mux := http.NewServeMux()
	g.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, rec, router
}

const chatBody = `{"model":"r","messages":[{"role":"user","content":"hello"}]}`
const routeStreamBody = `{"model":"r","stream":true,"messages":[{"role":"user","content":"hello"}]}`

func attemptsOf(r record.Record) string {
	var parts []string
	for _, a := range r.Attempts {
		s := fmt.Sprintf("%s:%d", a.Provider, a.Status)
		if a.ErrorKind != "" {
			s += ":" + a.ErrorKind
		}
		if a.Next != "" {
			s += "->" + a.Next
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestRouteProviderDown(t *testing.T) {
	down := newSim(t, mock.Profile{})
	down.srv.Close() // connection refused
	up := newSim(t, mock.Profile{})
	srv, rec, _ := routeGateway(t, routeOpt{attempts: 2, maxAttempts: 5, backoff: time.Millisecond, maxBackoff: 10 * time.Millisecond}, down, up)
	resp, body := post(t, srv.URL+"/v1/chat/completions", chatBody, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	r := rec.last(t)
	if got := attemptsOf(r); got != "p1:0:upstream_unavailable->retry p1:0:upstream_unavailable->fallback p2:200" {
		t.Errorf("attempts %q", got)
	}
	if r.Route != "r" || r.Provider != "p2" || r.ErrorKind != "" || r.Status != 200 || r.Usage.OutputTokens != 5 {
		t.Errorf("record %+v", r)
	}
}

func TestRoute429Storm(t *testing.T) {
	storm := newSim(t, mock.Profile{Failures: []mock.Failure{{Status: 429, Rate: 1, RetryAfter: 2 * time.Second}}})
	up := newSim(t, mock.Profile{})
	srv, rec, router := routeGateway(t, routeOpt{attempts: 2, maxAttempts: 5, backoff: time.Millisecond, maxBackoff: 500 * time.Millisecond}, storm, up)
	for i := range 20 {
		resp, body := post(t, srv.URL+"/v1/chat/completions", chatBody, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// A retry-after beyond max_backoff moves the call on at once, and the
	// target then rests for its retry-after: one request reached it.
	if n := storm.requests(); n != 1 {
		t.Errorf("the rate-limited provider got %d requests", n)
	}
	if got := attemptsOf(rec.finished[0]); got != "p1:429:rate_limited->fallback p2:200" {
		t.Errorf("first call's attempts %q", got)
	}
	if got := attemptsOf(rec.last(t)); got != "p2:200" {
		t.Errorf("later call's attempts %q", got)
	}
	st := router.RouteStates(time.Now())[0].Targets[0]
	if st.Headroom.CoolingUntil == nil {
		t.Errorf("state does not show the cool-down: %+v", st)
	}
}

func TestRouteAllExhausted(t *testing.T) {
	a := newSim(t, mock.Profile{Failures: []mock.Failure{{Status: 429, Rate: 1, RetryAfter: 3 * time.Second}}})
	srv, _, _ := routeGateway(t, routeOpt{attempts: 1, maxAttempts: 5, maxBackoff: 100 * time.Millisecond}, a)
	resp, body := post(t, srv.URL+"/v1/chat/completions", chatBody, nil)
	if resp.StatusCode != 429 {
		t.Fatalf("first call: %d %s", resp.StatusCode, body)
	}
	// The next call is refused before reaching the provider, with a
	// truthful retry-after.
	resp, body = post(t, srv.URL+"/v1/chat/completions", chatBody, nil)
	if resp.StatusCode != 429 || !strings.Contains(body, "route_exhausted") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("second call: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "3" && ra != "2" {
		t.Errorf("retry-after %q, want the provider's remaining wait", ra)
	}
	if n := a.requests(); n != 1 {
		t.Errorf("provider got %d requests", n)
	}
}

func TestRouteQueueWaitsForAWindow(t *testing.T) {
	a := newSim(t, mock.Profile{})
	srv, _, router := routeGateway(t, routeOpt{attempts: 1, maxAttempts: 2, queue: 2 * time.Second}, a)
	// Mark the target rate-limited for 300 ms, as a 429 would.
	tg := router.Route("r").Targets[0]
	tg.State.Acquire(time.Now(), 1)
	tg.State.Done(time.Now(), resilience.Result{RateLimited: true, RetryAfter: 300 * time.Millisecond})
	start := time.Now()
	resp, body := post(t, srv.URL+"/v1/chat/completions", chatBody, nil)
	if resp.StatusCode != 200 || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("queued call: %d after %v: %s", resp.StatusCode, time.Since(start), body)
	}
}

func TestRouteStallBeforeFirstToken(t *testing.T) {
	stall := newSim(t, mock.Profile{TTFT: 5 * time.Second})
	up := newSim(t, mock.Profile{})
	srv, rec, _ := routeGateway(t, routeOpt{attempts: 1, maxAttempts: 3, ttft: 200 * time.Millisecond}, stall, up)
	start := time.Now()
	resp, body := post(t, srv.URL+"/v1/chat/completions", routeStreamBody, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "[DONE]") || strings.Contains(body, `"error"`) {
		t.Fatalf("stream: %d %s", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: the stalled provider was not abandoned early", d)
	}
	r := rec.last(t)
	if got := attemptsOf(r); got != "p1:200:upstream_timeout->fallback p2:200" {
		t.Errorf("attempts %q", got)
	}
	if r.Provider != "p2" || r.ErrorKind != "" || r.Chunks == 0 {
		t.Errorf("record %+v", r)
	}
}

func TestRouteCutStreamIsNotASilent200(t *testing.T) {
	cut := newSim(t, mock.Profile{CutRate: 1, CutAfter: 2})
	up := newSim(t, mock.Profile{})
	srv, rec, _ := routeGateway(t, routeOpt{attempts: 2, maxAttempts: 3}, cut, up)
	resp, body := post(t, srv.URL+"/v1/chat/completions", routeStreamBody, nil)
	// Tokens had reached the caller: no failover; the stream ends with an
	// error event and the call is recorded as failed.
	if resp.StatusCode != 200 || !strings.Contains(body, `"error"`) {
		t.Fatalf("cut stream: %d %s", resp.StatusCode, body)
	}
	r := rec.last(t)
	if r.ErrorKind == "" || len(r.Attempts) != 1 || up.requests() != 0 {
		t.Errorf("record %+v, attempts %q, fallback got %d", r, attemptsOf(r), up.requests())
	}
}

func TestRouteCallerErrorDoesNotFallBack(t *testing.T) {
	a := newSim(t, mock.Profile{})
	b := newSim(t, mock.Profile{})
	srv, rec, _ := routeGateway(t, routeOpt{attempts: 2, maxAttempts: 5}, a, b)
	resp, _ := post(t, srv.URL+"/v1/chat/completions", `{"model":"r","messages":[]}`, nil)
	if resp.StatusCode != 400 || b.requests() != 0 || len(rec.last(t).Attempts) != 1 {
		t.Errorf("a caller's error: %d, fallback got %d, attempts %q", resp.StatusCode, b.requests(), attemptsOf(rec.last(t)))
	}
}

func TestRouteFallbackOnConfiguredCode(t *testing.T) {
	a := newSim(t, mock.Profile{Failures: []mock.Failure{{Status: 400, Rate: 1}}})
	b := newSim(t, mock.Profile{})
	srv, rec, _ := routeGateway(t, routeOpt{attempts: 2, maxAttempts: 5, fallbackOn: []string{"400"}}, a, b)
	resp, _ := post(t, srv.URL+"/v1/chat/completions", chatBody, nil)
	if resp.StatusCode != 200 || attemptsOf(rec.last(t)) != "p1:400:invalid_request->fallback p2:200" {
		t.Errorf("status %d, attempts %q", resp.StatusCode, attemptsOf(rec.last(t)))
	}
}

func TestRouteBreakerAndSlowRecovery(t *testing.T) {
	// The primary fails everything for its first 600 ms, then recovers.
	flaky := newSim(t, mock.Profile{Failures: []mock.Failure{{Status: 503, Rate: 1}}, SwitchAfter: 600 * time.Millisecond, Switch: &mock.Profile{OutputTokens: 5}})
	up := newSim(t, mock.Profile{})
	srv, _, router := routeGateway(t, routeOpt{attempts: 1, maxAttempts: 3,
		breaker: resilience.BreakerConfig{Window: 10 * time.Second, MinRequests: 4, FailureRatio: 0.5, OpenFor: 300 * time.Millisecond}}, flaky, up)
	for i := range 10 {
		if resp, body := post(t, srv.URL+"/v1/chat/completions", chatBody, nil); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// Four failures opened the breaker: later calls skip the primary.
	if n := flaky.requests(); n != 4 {
		t.Errorf("primary got %d requests with its breaker open", n)
	}
	time.Sleep(700 * time.Millisecond) // open period over, primary healthy
	for range 5 {
		post(t, srv.URL+"/v1/chat/completions", chatBody, nil)
	}
	st := router.RouteStates(time.Now())[0].Targets[0].Breaker
	if st.State != resilience.Closed {
		t.Fatalf("breaker %s after recovery: %+v", st.State, st.History)
	}
	var path []string
	for _, tr := range st.History {
		path = append(path, string(tr.To))
	}
	if strings.Join(path, ",") != "open,half_open,closed" {
		t.Errorf("history %v", path)
	}
}

// TestRouteTenThousandCalls: a primary that fails 30% of calls; the
// caller sees at least 99.9% success and each call is billed once.
func TestRouteTenThousandCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 calls")
	}
	// (429s would rest the target for their retry-after and spare it the
	// rest: TestRoute429Storm covers them.)
	flaky := newSim(t, mock.Profile{Failures: []mock.Failure{{Status: 503, Rate: 0.2}, {Status: 500, Rate: 0.05}, {Status: 529, Rate: 0.05}}})
	up := newSim(t, mock.Profile{})
	// A breaker that does not open: every call meets the 30% failures.
	srv, rec, _ := routeGateway(t, routeOpt{attempts: 2, maxAttempts: 4, backoff: time.Millisecond, maxBackoff: 2 * time.Millisecond,
		breaker: resilience.BreakerConfig{FailureRatio: 1, MinRequests: 1 << 30}}, flaky, up)
	const n = 10_000
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan int)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				req, _ := http.NewRequestWithContext(context.Background(), "POST", srv.URL+"/v1/chat/completions", strings.NewReader(chatBody))
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	rate := float64(ok.Load()) / n
	t.Logf("%d of %d calls succeeded (%.3f%%); the primary got %d requests", ok.Load(), n, 100*rate, flaky.requests())
	if rate < 0.999 {
		t.Errorf("success rate %.4f below 0.999", rate)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.finished) != n {
		t.Fatalf("%d records for %d calls", len(rec.finished), n)
	}
	var retried int
	for _, r := range rec.finished {
		if r.Status == 200 && r.Usage.OutputTokens != 5 {
			t.Fatalf("record %s billed %d output tokens", r.ID, r.Usage.OutputTokens)
		}
		if len(r.Attempts) > 1 {
			retried++
		}
	}
	if p := flaky.requests(); p < n || retried < n/5 {
		t.Errorf("the primary got %d requests; %d calls needed more than one attempt", p, retried)
	}
	if retried < n/5 {
		t.Errorf("only %d calls needed more than one attempt", retried)
	}
}

func TestRouteParams(t *testing.T) {
	var got []string
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		fmt.Fprint(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	}))
	defer up.Close()
	s := &sim{srv: up}
	srv, _, router := routeGateway(t, routeOpt{attempts: 1, maxAttempts: 1}, s)
	rt := router.Route("r")
	rt.Force = []ForcedParam{{Name: "temperature", Value: []byte("0")}, {Name: "max_tokens", Value: []byte("64")}}
	rt.Forbid = []string{"logprobs"}
	resp, body := post(t, srv.URL+"/v1/chat/completions", `{"model":"r","temperature":1.5,"messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 200 || len(got) != 1 || !strings.Contains(got[0], `"temperature":0`) || !strings.Contains(got[0], `"max_tokens":64`) || !strings.Contains(got[0], `"model":"m"`) {
		t.Fatalf("forced: %d %s; upstream got %q", resp.StatusCode, body, got)
	}
	resp, body = post(t, srv.URL+"/v1/chat/completions", `{"model":"r","logprobs":true,"messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 400 || !strings.Contains(body, "forbidden_parameter") || len(got) != 1 {
		t.Fatalf("forbidden: %d %s", resp.StatusCode, body)
	}
}

func TestRouteHedge(t *testing.T) {
	slow := newSim(t, mock.Profile{TTFT: 2 * time.Second})
	fast := newSim(t, mock.Profile{})
	srv, rec, router := routeGateway(t, routeOpt{attempts: 1, maxAttempts: 3}, slow, fast)
	router.Route("r").Hedge = &Hedge{After: 100 * time.Millisecond}
	start := time.Now()
	resp, body := post(t, srv.URL+"/v1/chat/completions", chatBody, nil)
	if resp.StatusCode != 200 || time.Since(start) > time.Second {
		t.Fatalf("hedged call: %d after %v: %s", resp.StatusCode, time.Since(start), body)
	}
	r := rec.last(t)
	if got := attemptsOf(r); got != "p2:200 p1:0:client_closed->hedge" {
		t.Errorf("attempts %q", got)
	}
	if r.Provider != "p2" || r.Usage.OutputTokens != 5 {
		t.Errorf("record %+v", r)
	}
	// A fast first target answers before the hedge: one attempt.
	fast2 := newSim(t, mock.Profile{})
	srv2, rec2, router2 := routeGateway(t, routeOpt{attempts: 1, maxAttempts: 3}, fast2, slow)
	router2.Route("r").Hedge = &Hedge{After: time.Second}
	post(t, srv2.URL+"/v1/chat/completions", chatBody, nil)
	if got := attemptsOf(rec2.last(t)); got != "p1:200" {
		t.Errorf("unhedged attempts %q", got)
	}
	// The first target failing before the hedge moves on at once.
	down := newSim(t, mock.Profile{Failures: []mock.Failure{{Status: 503, Rate: 1}}})
	srv3, rec3, router3 := routeGateway(t, routeOpt{attempts: 1, maxAttempts: 3}, down, fast)
	router3.Route("r").Hedge = &Hedge{After: time.Second}
	if resp, _ := post(t, srv3.URL+"/v1/chat/completions", chatBody, nil); resp.StatusCode != 200 {
		t.Errorf("after a failed first leg: %d", resp.StatusCode)
	}
	if got := attemptsOf(rec3.last(t)); got != "p1:503:upstream_unavailable p2:200" {
		t.Errorf("attempts %q", got)
	}
}

func TestHedgePercentile(t *testing.T) {
	h := &Hedge{After: time.Second, Percentile: 90, Min: 10 * time.Millisecond}
	tg := &RouteTarget{}
	if d := h.delay(tg); d != time.Second {
		t.Errorf("without samples: %v", d)
	}
	for i := 1; i <= 100; i++ {
		tg.lat.add(time.Duration(i) * time.Millisecond)
	}
	if d := h.delay(tg); d < 85*time.Millisecond || d > 95*time.Millisecond {
		t.Errorf("p90 of 1..100 ms: %v", d)
	}
}

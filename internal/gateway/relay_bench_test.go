package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/openai"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/resilience"
)

// cannedTransport answers every request with the same body, in memory, so
// the benchmark measures Weir's relay path and nothing else.
type cannedTransport struct {
	ctype string
	body  []byte
}

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {c.ctype}},
		Body: io.NopCloser(bytes.NewReader(c.body)), Request: r,
	}, nil
}

type nopRecorder struct{}

func (nopRecorder) Begin(*record.Record) error  { return nil }
func (nopRecorder) Finish(*record.Record) error { return nil }

// streamBody is an OpenAI stream of n content chunks, a finish chunk, a
// usage chunk and [DONE].
func streamBody(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n", i)
	}
	b.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n")
	b.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":64,\"total_tokens\":74}}\n\n")
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

func benchHandler(tb testing.TB, t http.RoundTripper) http.Handler {
	ad, err := openai.New(provider.Config{Name: "up", BaseURL: "http://upstream/v1", Client: &http.Client{Transport: t}})
	if err != nil {
		tb.Fatal(err)
	}
	g := New(Options{
		Router:       NewRouter([]*Upstream{{Name: "up", Type: "openai", Adapter: ad}}, nil),
		Recorder:     nopRecorder{},
		MaxBodyBytes: 1 << 20, MaxLoggedBodyBytes: 0,
	})
	mux := http.NewServeMux()
	g.Register(mux)
	return mux
}

const benchRequest = `{"model":"up/m","stream":true,"messages":[{"role":"user","content":"hello"}]}`

func serveOnce(h http.Handler) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(benchRequest))
	h.ServeHTTP(w, r)
	return w
}

// BenchmarkRelayStream relays a 64-chunk stream through the whole gateway
// handler (parse, route, rewrite, relay, measure, record) from an in-memory
// upstream. ns/op divided by 66 is the per-chunk cost.
func BenchmarkRelayStream(b *testing.B) {
	h := benchHandler(b, cannedTransport{"text/event-stream", streamBody(64)})
	b.ReportAllocs()
	for b.Loop() {
		serveOnce(h)
	}
}

// BenchmarkRelayNonStream is the same for a non-streamed call.
func BenchmarkRelayNonStream(b *testing.B) {
	body := []byte(`{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	h := benchHandler(b, cannedTransport{"application/json", body})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"up/m","messages":[{"role":"user","content":"hello"}]}`))
		h.ServeHTTP(w, r)
	}
}

// TestRelayAllocationBudget keeps the per-chunk allocations of the relay
// path bounded: a 64-chunk stream must stay under the budget, so a change
// that allocates more per chunk fails here, not in production.
func TestRelayAllocationBudget(t *testing.T) {
	h := benchHandler(t, cannedTransport{"text/event-stream", streamBody(64)})
	if w := serveOnce(h); w.Code != 200 || !strings.HasSuffix(w.Body.String(), "data: [DONE]\n\n") || strings.Count(w.Body.String(), "data: ") != 66 {
		t.Fatalf("relay broken: %d\n%s", w.Code, w.Body.String())
	}
	const budgetPerChunk = 3
	const fixed = 150
	allocs := testing.AllocsPerRun(20, func() { serveOnce(h) })
	if limit := float64(fixed + 66*budgetPerChunk); allocs > limit {
		t.Errorf("relaying a 64-chunk stream allocates %.0f times, budget %.0f (%d per chunk + %d fixed)", allocs, limit, budgetPerChunk, fixed)
	}
	t.Logf("allocations per 64-chunk stream: %.0f", allocs)
}

// routeBenchHandler serves route "r" with one target on the canned
// upstream, and the same upstream as "up/m" directly: the two side by side
// measure what the resilience layer adds when nothing fails.
func routeBenchHandler(tb testing.TB, t http.RoundTripper) http.Handler {
	ad, err := openai.New(provider.Config{Name: "up", BaseURL: "http://upstream/v1", Client: &http.Client{Transport: t}})
	if err != nil {
		tb.Fatal(err)
	}
	u := &Upstream{Name: "up", Type: "openai", Adapter: ad}
	router := NewRouter([]*Upstream{u}, nil)
	if err := router.SetRoutes([]*Route{{Name: "r", Attempts: 2, MaxAttempts: 5, Backoff: time.Millisecond, MaxBackoff: time.Second,
		Budget: resilience.NewRetryBudget(0.2, 10), Targets: []*RouteTarget{
			{Upstream: u, Model: "m", Priority: 1, Weight: 1, State: resilience.NewTarget(resilience.BreakerConfig{}, 0, 0)},
			{Upstream: u, Model: "m2", Priority: 2, Weight: 1, State: resilience.NewTarget(resilience.BreakerConfig{}, 0, 0)},
		}}}); err != nil {
		tb.Fatal(err)
	}
	g := New(Options{Router: router, Recorder: nopRecorder{}, MaxBodyBytes: 1 << 20})
	mux := http.NewServeMux()
	g.Register(mux)
	return mux
}

// BenchmarkRouteOverhead compares a non-streamed call through a route
// (plan, breaker, headroom, attempt bookkeeping) with the same call to the
// provider's model directly; the difference is the resilience layer's cost
// when nothing fails (target: under 5 µs).
func BenchmarkRouteOverhead(b *testing.B) {
	body := []byte(`{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	h := routeBenchHandler(b, cannedTransport{"application/json", body})
	for _, c := range []struct{ name, model string }{{"direct", "up/m"}, {"route", "r"}} {
		req := `{"model":"` + c.model + `","messages":[{"role":"user","content":"hello"}]}`
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(req)))
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}

// BenchmarkRouteStreamOverhead is the same for a 64-chunk stream (the
// route holds events until the first token).
func BenchmarkRouteStreamOverhead(b *testing.B) {
	h := routeBenchHandler(b, cannedTransport{"text/event-stream", streamBody(64)})
	for _, c := range []struct{ name, model string }{{"direct", "up/m"}, {"route", "r"}} {
		req := `{"model":"` + c.model + `","stream":true,"messages":[{"role":"user","content":"hello"}]}`
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(req)))
			}
		})
	}
}

// BenchmarkRouteDecision is the routing decision alone: ordering the
// targets and admitting the call at the first one.
func BenchmarkRouteDecision(b *testing.B) {
	var ts []*RouteTarget
	for i := range 4 {
		ts = append(ts, &RouteTarget{Upstream: &Upstream{Name: fmt.Sprint("p", i)}, Model: "m", Priority: 1 + i/2, Weight: 1 + i,
			State: resilience.NewTarget(resilience.BreakerConfig{}, 0, 0)})
	}
	rt := &Route{Name: "r", Targets: ts}
	var buf [maxTargets]*RouteTarget
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		order := rt.order(buf[:])
		order[0].State.Acquire(now, 100)
		order[0].State.Done(now, resilience.Result{Latency: time.Millisecond})
	}
}

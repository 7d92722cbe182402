package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/openai"
	"github.com/weirhq/weir/internal/record"
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

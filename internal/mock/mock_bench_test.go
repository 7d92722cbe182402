package mock

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so benchmarks measure the
// simulator rather than a recorder.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

func benchServe(b *testing.B, path, body string) {
	s := New(Config{Seed: 1, Models: map[string]Profile{"sim-fast": {OutputTokens: 16}}}, nil)
	defer s.Close()
	req := httptest.NewRequest(http.MethodPost, path, nil)
	w := &discard{h: make(http.Header, 8)}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req.Body = readCloser{strings.NewReader(body)}
		req.ContentLength = int64(len(body))
		clear(w.h)
		s.ServeHTTP(w, req)
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func BenchmarkChatNonStream(b *testing.B) {
	benchServe(b, "/v1/chat/completions", `{"model":"sim-fast","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise the termination clause and flag anything unusual."}]}`)
}

func BenchmarkChatStream(b *testing.B) {
	benchServe(b, "/v1/chat/completions", `{"model":"sim-fast","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise the termination clause and flag anything unusual."}]}`)
}

func BenchmarkMessagesStream(b *testing.B) {
	benchServe(b, "/v1/messages", `{"model":"sim-fast","stream":true,"max_tokens":512,"messages":[{"role":"user","content":"Summarise the termination clause and flag anything unusual."}]}`)
}

// BenchmarkChatStreamHTTP goes through a real loopback connection, as the
// load benchmarks do.
func BenchmarkChatStreamHTTP(b *testing.B) {
	s := New(Config{Seed: 1, Models: map[string]Profile{"sim-fast": {OutputTokens: 16}}}, nil)
	ts := httptest.NewServer(s)
	defer ts.Close()
	defer s.Close()
	body := `{"model":"sim-fast","stream":true,"messages":[{"role":"user","content":"hello"}]}`
	client := ts.Client()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 32<<10)
		for pb.Next() {
			resp, err := client.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					break
				}
			}
			resp.Body.Close()
		}
	})
}

package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
)

// BenchmarkAppNonStream is one non-streamed call through the whole process
// (gateway, journal, store writer, metrics) to an in-process zero-latency
// simulator over loopback HTTP, as `weir serve` runs it. Compare with
// BenchmarkDirectNonStream, the same call straight to the simulator.
func BenchmarkAppNonStream(b *testing.B) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{"zero": {OutputTokens: 16}}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Providers = []config.Provider{{Name: "sim", Type: "openai", BaseURL: sim.URL + "/v1"}}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(context.Background())
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	benchPost(b, srv.URL+"/v1/chat/completions", `{"model":"sim/zero","messages":[{"role":"user","content":"hello"}]}`)
}

func BenchmarkDirectNonStream(b *testing.B) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{"zero": {OutputTokens: 16}}}, nil))
	defer sim.Close()
	benchPost(b, sim.URL+"/v1/chat/completions", `{"model":"zero","messages":[{"role":"user","content":"hello"}]}`)
}

func benchPost(b *testing.B, url, body string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

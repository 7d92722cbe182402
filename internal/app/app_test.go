package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/record"
)

func TestBuildUpstreamsErrors(t *testing.T) {
	cfg := config.Default()
	cfg.Providers = []config.Provider{
		{Name: "ok", Type: "openai"},
		{Name: "bad", Type: "cohere"},
		{Name: "worse", Type: "anthropic", BaseURL: "ftp://x"},
	}
	_, err := BuildUpstreams(cfg, &http.Client{}, nil)
	if err == nil || !strings.Contains(err.Error(), `providers[1]: provider "bad": unknown type "cohere"`) || !strings.Contains(err.Error(), "providers[2]") {
		t.Errorf("err = %v", err)
	}
}

// TestServeRecordsAndDrains runs the app on a listener, makes one call to
// an in-process simulator, stops it, and reopens the data directory: the
// call was drained into the store on the way out.
func TestServeRecordsAndDrains(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{"m": {OutputTokens: 3}}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Providers = []config.Provider{{Name: "sim", Type: "openai", BaseURL: sim.URL + "/v1"}}
	log := slog.New(slog.DiscardHandler)

	a, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- a.ServeListener(ctx, ln, func(addr string) { ready <- addr }) }()
	base := "http://" + <-ready

	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"sim/m","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Weir-Request-Id")
	for _, path := range []string{"/healthz", "/", "/metrics"} {
		r, err := http.Get(base + path)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, r, err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if path == "/metrics" && !strings.Contains(string(body), "weir_recorder_backlog") {
			t.Error("/metrics lacks the recorder gauges")
		}
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}

	a2, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close(context.Background())
	srv := httptest.NewServer(a2.Handler())
	defer srv.Close()
	r, err := http.Get(srv.URL + "/api/v1/requests/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var rec record.Record
	if err := json.NewDecoder(r.Body).Decode(&rec); err != nil || rec.Usage.OutputTokens != 3 || rec.Status != 200 {
		t.Errorf("record after restart: %+v %v", rec, err)
	}
}

// serveApp starts an App on cfg (its data in a temporary directory) behind
// a test server; both stop when the test ends.
func serveApp(t *testing.T, cfg config.Config) *httptest.Server {
	t.Helper()
	cfg.DataDir = t.TempDir()
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
	})
	return srv
}

package app

// The experiments service reaches the gateway at the address the app
// serves (judge.LocalBaseURL of the listener), so the app serves on a
// real listener.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/mock"
)

func TestExperimentThroughTheApp(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 3, Models: map[string]mock.Profile{
		"gpt-4o-mini": {OutputTokens: 3}, "gpt-4.1": {OutputTokens: 12}, "gpt-4o": {OutputTokens: 8}}}, nil))
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ln.Addr().String()
	cfg.Providers = []config.Provider{{Name: "sim", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- a.ServeListener(ctx, ln, func(addr string) { ready <- addr }) }()
	base := "http://" + <-ready
	defer func() { stop(); <-done }()

	call := func(method, path, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}
	for _, c := range []string{"short", "helpful"} {
		call("PUT", "/api/v1/criteria/"+c, `{"use_case":"support","business_owner":"alice","technical_owner":"bob","definition":{"question":"`+c+`?","type":"boolean"}}`, 200)
	}
	var items []string
	for i := range 20 {
		items = append(items, fmt.Sprintf(`{"id":"q%02d","messages":[{"role":"user","content":"Question %d"}]}`, i, i))
	}
	call("POST", "/api/v1/datasets", `{"name":"qa","use_case":"support","items":[`+strings.Join(items, ",")+`]}`, 201)
	spec := `{"name":"e1","dataset":"qa","variants":[{"name":"mini","model":"sim/gpt-4o-mini"},{"name":"large","model":"sim/gpt-4.1"}],
		"evaluators":[{"kind":"length","config":{"max":6,"unit":"words"},"criterion":"short"},{"kind":"judge","model":"sim/gpt-4o","criterion":"helpful"}]}`
	call("POST", "/api/v1/experiments", spec, 202)
	var e experiment.Experiment
	for deadline := time.Now().Add(30 * time.Second); ; {
		json.Unmarshal(call("GET", "/api/v1/experiments/e1", "", 200), &e)
		if e.Status != "pending" && e.Status != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e.Status != "done" || e.Progress.Done != 40 {
		t.Fatalf("experiment %+v", e)
	}
	var cmp experiment.Comparison
	json.Unmarshal(call("GET", "/api/v1/experiments/e1/compare?a=mini&b=large", "", 200), &cmp)
	if len(cmp.Differences) != 2 || len(cmp.Differences[0].Worse) != 20 || cmp.Variants[0].Priced != 20 {
		t.Errorf("comparison %+v", cmp)
	}
	var scores struct{ Scores []json.RawMessage }
	json.Unmarshal(call("GET", "/api/v1/scores?target_kind=experiment_item&limit=1000", "", 200), &scores)
	if len(scores.Scores) != 80 {
		t.Errorf("%d scores, want 80", len(scores.Scores))
	}
	call("POST", "/api/v1/experiments", spec, 200) // resumed: nothing to do
}

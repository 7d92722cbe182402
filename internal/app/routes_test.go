package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
)

// TestRouteFromConfig: the example shape works end to end: a route
// whose primary is down falls back to the on-premise target, the record
// says so, and GET /api/v1/routes shows the targets.
func TestRouteFromConfig(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	onprem := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{"llama-3.1-8b-instruct": {OutputTokens: 3}}}, nil))
	defer onprem.Close()
	yml := `
providers:
  - {name: primary, type: openai, base_url: ` + down.URL + `/v1, price_as: openai}
  - {name: onprem, type: openai, base_url: ` + onprem.URL + `/v1}
routes:
  support-chat:
    targets:
      - {provider: primary, model: gpt-4o-mini, priority: 1}
      - {provider: onprem, model: llama-3.1-8b-instruct, priority: 2}
    retry: {backoff: 1ms}
`
	cfg, err := config.Parse([]byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	srv := serveApp(t, cfg)
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"support-chat","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	id := resp.Header.Get("X-Weir-Request-Id")
	var rec struct {
		Route, Provider string
		Attempts        []struct{ Provider, Next string }
	}
	for range 100 {
		r, err := http.Get(srv.URL + "/api/v1/requests/" + id)
		if err == nil && r.StatusCode == 200 {
			json.NewDecoder(r.Body).Decode(&rec)
			r.Body.Close()
			break
		}
		if r != nil {
			r.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rec.Route != "support-chat" || rec.Provider != "onprem" || len(rec.Attempts) != 3 || rec.Attempts[1].Next != "fallback" {
		t.Errorf("record %+v", rec)
	}
	r, err := http.Get(srv.URL + "/api/v1/routes")
	if err != nil {
		t.Fatal(err)
	}
	var states struct {
		Routes []struct {
			Name    string
			Targets []struct{ Provider string }
		}
	}
	json.NewDecoder(r.Body).Decode(&states)
	r.Body.Close()
	if len(states.Routes) != 1 || states.Routes[0].Name != "support-chat" || len(states.Routes[0].Targets) != 2 || states.Routes[0].Targets[0].Provider != "primary" {
		t.Errorf("routes %+v", states)
	}
}

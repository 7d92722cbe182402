package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
)

// TestPromptThroughTheGateway: a prompt stored through the API, named by a
// call in a header, is rendered for the target in front of the caller's
// messages, recorded on the call, and a missing variable is the caller's
// 400 without any upstream call.
func TestPromptThroughTheGateway(t *testing.T) {
	var mu sync.Mutex
	var got []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}`)
	}))
	defer up.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: up.URL + "/v1", PriceAs: "none"}}
	srv := serveApp(t, cfg)
	do := func(method, path, body string, hdr map[string]string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, _ := do("POST", "/api/v1/prompts/support-reply/versions", `{"variables":[{"name":"question"},{"name":"company","default":"Acme"}],
		"messages":[{"role":"system","content":"You help customers of {{company}}."},{"role":"user","content":"{{question}}"}]}`, nil); code != 201 {
		t.Fatalf("create prompt: %d %s", code, body)
	}
	code, body, h := do("POST", "/v1/chat/completions", `{"model":"primary/m","messages":[{"role":"user","content":"thanks"}]}`,
		map[string]string{"x-weir-prompt": "support-reply@1", "x-weir-prompt-variables": `{"question":"Where is my order?"}`})
	if code != 200 {
		t.Fatalf("call: %d %s", code, body)
	}
	mu.Lock()
	sent := got[0]
	mu.Unlock()
	var req struct {
		Messages []struct{ Role, Content string }
	}
	json.Unmarshal([]byte(sent), &req)
	if len(req.Messages) != 3 || req.Messages[0].Content != "You help customers of Acme." || req.Messages[1].Content != "Where is my order?" || req.Messages[2].Content != "thanks" {
		t.Errorf("upstream got %s", sent)
	}
	var rec struct {
		Prompt        string `json:"prompt"`
		PromptVersion int    `json:"prompt_version"`
	}
	for range 100 {
		if c, b, _ := do("GET", "/api/v1/requests/"+h.Get("X-Weir-Request-Id"), "", nil); c == 200 {
			json.Unmarshal([]byte(b), &rec)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rec.Prompt != "support-reply" || rec.PromptVersion != 1 {
		t.Errorf("record %+v", rec)
	}
	// Strict rendering: a missing variable is the caller's error, and
	// nothing goes upstream.
	code, body, _ = do("POST", "/v1/chat/completions", `{"model":"primary/m","messages":[{"role":"user","content":"x"}],"weir":{"prompt":"support-reply"}}`, nil)
	if code != 400 || !strings.Contains(body, "question") || !strings.Contains(body, "invalid_prompt") {
		t.Errorf("missing variable: %d %s", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Errorf("upstream got %d calls", len(got))
	}
}

// TestRoutePrompt: a route carrying a prompt renders it for calls that name
// none, with their variables from the header.
func TestRoutePrompt(t *testing.T) {
	var mu sync.Mutex
	var got []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}`)
	}))
	defer up.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: up.URL + "/v1", PriceAs: "none"}}
	cfg.Routes = map[string]config.Route{"support": {Prompt: "greeter@production", Targets: []config.RouteTarget{{Provider: "primary", Model: "m"}}}}
	srv := serveApp(t, cfg)
	post := func(path, body string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, b := post("/api/v1/prompts/greeter/versions", `{"variables":[{"name":"who"}],"messages":[{"role":"system","content":"Greet {{who}}."}]}`, nil); c != 201 {
		t.Fatalf("%d %s", c, b)
	}
	req, _ := http.NewRequest("PUT", srv.URL+"/api/v1/prompts/greeter/labels/production", strings.NewReader(`{"version":1}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("label: %v %v", resp, err)
	}
	if c, b := post("/v1/chat/completions", `{"model":"support","messages":[{"role":"user","content":"hi"}]}`, map[string]string{"x-weir-prompt-variables": `{"who":"Ann"}`}); c != 200 {
		t.Fatalf("call: %d %s", c, b)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.Contains(got[0], `Greet Ann.`) {
		t.Errorf("upstream got %q", got)
	}
}

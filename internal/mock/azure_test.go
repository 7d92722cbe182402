package mock

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestAzure: Azure's paths, keys, errors and content-filter annotations
// around the OpenAI answers.
func TestAzure(t *testing.T) {
	cfg := testConfig()
	cfg.APIKey = "azure-test-key"
	_, ts := newTest(t, cfg)
	const chat = `{"messages":[{"role":"user","content":"hello"}]}`
	key := []string{"api-key", "azure-test-key"}
	dep := "/openai/deployments/cached/chat/completions?api-version=2024-10-21"

	t.Run("deployment answer", func(t *testing.T) {
		resp, body := post(t, ts, dep, chat, key...)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if cl, _ := strconv.Atoi(resp.Header.Get("Content-Length")); cl != len(body) {
			t.Errorf("Content-Length %d, body %d bytes", cl, len(body))
		}
		var a struct {
			Model   string `json:"model"`
			Filters []struct {
				Results map[string]struct{ Filtered bool } `json:"content_filter_results"`
			} `json:"prompt_filter_results"`
			Choices []struct {
				Finish string `json:"finish_reason"`
			} `json:"choices"`
		}
		mustJSON(t, string(body), &a)
		if a.Model != "cached-2026" || len(a.Filters) != 1 || len(a.Filters[0].Results) != 4 || a.Filters[0].Results["hate"].Filtered || a.Choices[0].Finish != "stop" {
			t.Errorf("answer: %s", body)
		}
		if resp.Header.Get("Apim-Request-Id") == "" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("headers: %v", resp.Header)
		}
	})

	t.Run("stream prelude and output filter", func(t *testing.T) {
		body := `{"stream":true,"messages":[{"role":"user","content":"tell me ` + AzureFilterOutput + `"}]}`
		resp, b := post(t, ts, "/openai/v1/chat/completions", strings.Replace(body, `{"stream"`, `{"model":"plain","stream"`, 1), "Authorization", "Bearer azure-test-key")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		ev := events(t, b)
		if len(ev) < 3 || !strings.Contains(ev[0].Data, `"prompt_filter_results"`) || !strings.Contains(ev[0].Data, `"choices":[]`) {
			t.Fatalf("no prelude: %s", b)
		}
		if !strings.Contains(string(b), `"finish_reason":"content_filter"`) || strings.Contains(string(b), `"finish_reason":"stop"`) {
			t.Errorf("the output filter did not end the answer: %s", b)
		}
		if ev[len(ev)-1].Data != "[DONE]" {
			t.Errorf("last event %q", ev[len(ev)-1].Data)
		}
	})

	t.Run("prompt filter", func(t *testing.T) {
		resp, b := post(t, ts, dep, `{"messages":[{"role":"user","content":"`+AzureFilterPrompt+`"}]}`, key...)
		var e struct {
			Error struct {
				Code  string `json:"code"`
				Inner struct {
					Code string `json:"code"`
				} `json:"innererror"`
			} `json:"error"`
		}
		mustJSON(t, string(b), &e)
		if resp.StatusCode != 400 || e.Error.Code != "content_filter" || e.Error.Inner.Code != "ResponsibleAIPolicyViolation" {
			t.Errorf("status %d: %s", resp.StatusCode, b)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		resp, b := post(t, ts, "/openai/deployments/embed/embeddings?api-version=2024-10-21", `{"input":"hi"}`, key...)
		var e struct {
			Model string `json:"model"`
			Data  []struct {
				Embedding []float64 `json:"embedding"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != 200 || e.Model != "embed" || len(e.Data) != 1 || len(e.Data[0].Embedding) != 8 {
			t.Errorf("status %d: %s", resp.StatusCode, b)
		}
	})

	for _, c := range []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		want                     string
	}{
		{"no api-version", "POST", "/openai/deployments/plain/chat/completions", chat, key, 404, "Resource not found"},
		{"unknown deployment", "POST", "/openai/deployments/nope/chat/completions?api-version=2024-10-21", chat, key, 404, "DeploymentNotFound"},
		{"no key", "POST", dep, chat, nil, 401, "invalid subscription key"},
		{"wrong key", "POST", dep, chat, []string{"api-key", "wrong"}, 401, "invalid subscription key"},
		{"wrong token", "POST", dep, chat, []string{"Authorization", "Bearer wrong"}, 401, "Access token is missing"},
		{"unknown operation", "POST", "/openai/deployments/plain/completions?api-version=2024-10-21", chat, key, 404, "Resource not found"},
		{"v1 models", "GET", "/openai/v1/models", "", key, 200, `"id":"plain"`},
		{"models", "GET", "/openai/models?api-version=2024-10-21", "", key, 200, `"id":"embed"`},
		{"v1 unknown model", "POST", "/openai/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, key, 404, "model_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var status int
			var b []byte
			if c.method == "GET" {
				resp, body := get(t, ts, c.path, c.hdr...)
				status, b = resp.StatusCode, body
			} else {
				resp, body := post(t, ts, c.path, c.body, c.hdr...)
				status, b = resp.StatusCode, body
			}
			if status != c.status || !strings.Contains(string(b), c.want) {
				t.Errorf("status %d, want %d with %q: %s", status, c.status, c.want, b)
			}
		})
	}
}

// FuzzAzurePath: any path under /openai/ and any body get an answer,
// never a panic, and an error answer is Azure's or OpenAI's JSON.
func FuzzAzurePath(f *testing.F) {
	for _, p := range []string{"deployments/plain/chat/completions?api-version=1", "v1/chat/completions", "deployments//x", "deployments/embed/embeddings?api-version=x", "v1/models", "models"} {
		f.Add(p, `{"model":"plain","messages":[{"role":"user","content":"hi"}]}`)
	}
	s := New(testConfig(), nil)
	f.Fuzz(func(t *testing.T, path, body string) {
		req, err := http.NewRequest(http.MethodPost, "http://mock/openai/"+path, strings.NewReader(body))
		if err != nil || !strings.HasPrefix(req.URL.Path, "/openai/") {
			return
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code >= 400 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s: status %d with %q", path, w.Code, w.Body)
		}
	})
}

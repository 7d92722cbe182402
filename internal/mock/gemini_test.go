package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	gemPath    = "/v1beta/models/"
	vertexPath = "/v1/projects/acme/locations/us-central1/publishers/google/models/"
)

// gemResp is a GenerateContentResponse as the tests read it.
type gemResp struct {
	Candidates []struct {
		Content struct {
			Role  string `json:"role"`
			Parts []struct {
				Text         string `json:"text"`
				Thought      bool   `json:"thought"`
				FunctionCall *struct {
					Name string          `json:"name"`
					Args json.RawMessage `json:"args"`
				} `json:"functionCall"`
				ThoughtSignature string `json:"thoughtSignature"`
			} `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
		Index        int    `json:"index"`
	} `json:"candidates"`
	UsageMetadata *struct {
		PromptTokenCount        int `json:"promptTokenCount"`
		CandidatesTokenCount    int `json:"candidatesTokenCount"`
		ThoughtsTokenCount      int `json:"thoughtsTokenCount"`
		CachedContentTokenCount int `json:"cachedContentTokenCount"`
		TotalTokenCount         int `json:"totalTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string `json:"modelVersion"`
	ResponseID   string `json:"responseId"`
	Error        *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Reason     string `json:"reason"`
			RetryDelay string `json:"retryDelay"`
		} `json:"details"`
	} `json:"error"`
}

const hello = `{"contents":[{"role":"user","parts":[{"text":"Hello there"}]}]}`

func TestGeminiGenerate(t *testing.T) {
	_, ts := newTest(t, testConfig())
	for _, base := range []string{gemPath, vertexPath} {
		resp, body := post(t, ts, base+"cached:generateContent", hello)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", base, resp.StatusCode, body)
		}
		var r gemResp
		mustJSON(t, string(body), &r)
		c := r.Candidates[0]
		if c.FinishReason != "STOP" || c.Content.Role != "model" || len(c.Content.Parts) != 1 || c.Content.Parts[0].Text == "" {
			t.Errorf("%s: candidate %+v", base, c)
		}
		u := r.UsageMetadata
		// cached: 40 uncached + 100 read + 50 written, all in promptTokenCount.
		if u == nil || u.PromptTokenCount != 190 || u.CachedContentTokenCount != 100 || u.CandidatesTokenCount != 3 || u.TotalTokenCount != 193 {
			t.Errorf("%s: usage %+v", base, u)
		}
		if r.ModelVersion != "cached-2026" || r.ResponseID == "" {
			t.Errorf("%s: modelVersion %q responseId %q", base, r.ModelVersion, r.ResponseID)
		}
	}
}

func TestGeminiThoughts(t *testing.T) {
	_, ts := newTest(t, testConfig())
	for _, c := range []struct {
		name, cfg                 string
		thoughtParts, thoughtToks int
	}{
		{"default: thinks, hidden", ``, 0, 3},
		{"includeThoughts", `,"generationConfig":{"thinkingConfig":{"includeThoughts":true}}`, 1, 3},
		{"budget 0", `,"generationConfig":{"thinkingConfig":{"includeThoughts":true,"thinkingBudget":0}}`, 0, 0},
		{"budget 2", `,"generationConfig":{"thinkingConfig":{"includeThoughts":true,"thinkingBudget":2}}`, 1, 2},
	} {
		body := strings.TrimSuffix(hello, "}") + c.cfg + "}"
		_, raw := post(t, ts, gemPath+"visible:generateContent", body)
		var r gemResp
		mustJSON(t, string(raw), &r)
		n := 0
		for _, p := range r.Candidates[0].Content.Parts {
			if p.Thought {
				n++
			}
		}
		if n != c.thoughtParts || r.UsageMetadata.ThoughtsTokenCount != c.thoughtToks || r.UsageMetadata.CandidatesTokenCount != 4 {
			t.Errorf("%s: %d thought parts, usage %+v; want %d parts, %d thought tokens", c.name, n, r.UsageMetadata, c.thoughtParts, c.thoughtToks)
		}
	}
}

func TestGeminiStream(t *testing.T) {
	_, ts := newTest(t, testConfig())
	body := `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"thinkingConfig":{"includeThoughts":true}}}`
	resp, raw := post(t, ts, vertexPath+"visible:streamGenerateContent?alt=sse", body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	evs := events(t, raw)
	// 3 thought chunks, 4 text chunks, the finishing chunk.
	if len(evs) != 8 {
		t.Fatalf("%d events, want 8:\n%s", len(evs), raw)
	}
	thoughts, texts := 0, 0
	for i, ev := range evs {
		var r gemResp
		mustJSON(t, ev.Data, &r)
		if i < len(evs)-1 {
			if r.Candidates[0].FinishReason != "" {
				t.Errorf("event %d has a finishReason before the end", i)
			}
			if p := r.Candidates[0].Content.Parts[0]; p.Thought {
				thoughts++
				if texts > 0 {
					t.Errorf("event %d: a thought after the answer began", i)
				}
			} else {
				texts++
			}
			continue
		}
		if r.Candidates[0].FinishReason != "STOP" || r.UsageMetadata.CandidatesTokenCount != 4 || r.UsageMetadata.ThoughtsTokenCount != 3 {
			t.Errorf("last event: %s", ev.Data)
		}
	}
	if thoughts != 3 || texts != 4 {
		t.Errorf("%d thought and %d text chunks, want 3 and 4", thoughts, texts)
	}
	if !strings.Contains(string(raw), "\r\n\r\n") {
		t.Errorf("events are not separated by CRLF CRLF as Google's are")
	}
}

func TestGeminiTools(t *testing.T) {
	_, ts := newTest(t, testConfig())
	tools := `,"tools":[{"functionDeclarations":[{"name":"get_weather","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}]`
	body := strings.TrimSuffix(hello, "}") + tools + "}"
	_, raw := post(t, ts, gemPath+"tools:generateContent", body)
	var r gemResp
	mustJSON(t, string(raw), &r)
	fc := r.Candidates[0].Content.Parts[0].FunctionCall
	if fc == nil || fc.Name != "get_weather" || !strings.Contains(string(fc.Args), `"city"`) || r.Candidates[0].FinishReason != "STOP" {
		t.Fatalf("want a get_weather call: %s", raw)
	}
	// mode NONE: no call.
	body = strings.TrimSuffix(hello, "}") + tools + `,"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}}`
	_, raw = post(t, ts, gemPath+"tools:generateContent", body)
	if strings.Contains(string(raw), "functionCall") {
		t.Errorf("mode NONE still called: %s", raw)
	}
	// The stream sends the call whole in one chunk.
	_, raw = post(t, ts, gemPath+"tools:streamGenerateContent?alt=sse", strings.TrimSuffix(hello, "}")+tools+"}")
	if evs := events(t, raw); len(evs) != 2 || !strings.Contains(evs[0].Data, `"functionCall"`) {
		t.Errorf("stream of a call: %s", raw)
	}
}

func TestGeminiErrors(t *testing.T) {
	cfg := testConfig()
	cfg.APIKey = "right-key"
	cfg.Models["limited"] = Profile{OutputTokens: 1, Failures: []Failure{{Status: 429, Rate: 1, RetryAfter: 3 * time.Second}}}
	cfg.Models["busy"] = Profile{OutputTokens: 1, Failures: []Failure{{Status: 503, Rate: 1}}}
	cfg.Models["midway"] = Profile{OutputTokens: 5, Failures: []Failure{{Status: 500, Rate: 1, AfterChunks: 2}}}
	_, ts := newTest(t, cfg)
	key := []string{"x-goog-api-key", "right-key"}
	for _, c := range []struct {
		name, path, body string
		hdr              []string
		status           int
		gstatus, reason  string
		retry            string
	}{
		{"wrong key", gemPath + "plain:generateContent", hello, []string{"x-goog-api-key", "wrong"}, 400, "INVALID_ARGUMENT", "API_KEY_INVALID", ""},
		{"no key", gemPath + "plain:generateContent", hello, nil, 403, "PERMISSION_DENIED", "", ""},
		{"wrong vertex token", vertexPath + "plain:generateContent", hello, []string{"Authorization", "Bearer nope"}, 401, "UNAUTHENTICATED", "", ""},
		{"unknown model", gemPath + "nope:generateContent", hello, key, 404, "NOT_FOUND", "", ""},
		{"unknown method", gemPath + "plain:frobnicate", hello, key, 404, "NOT_FOUND", "", ""},
		{"no contents", gemPath + "plain:generateContent", `{"contents":[]}`, key, 400, "INVALID_ARGUMENT", "", ""},
		{"bad json", gemPath + "plain:generateContent", `{`, key, 400, "INVALID_ARGUMENT", "", ""},
		{"rate limited", gemPath + "limited:generateContent", hello, key, 429, "RESOURCE_EXHAUSTED", "", "3s"},
		{"overloaded", gemPath + "busy:streamGenerateContent?alt=sse", hello, key, 503, "UNAVAILABLE", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := post(t, ts, c.path, c.body, c.hdr...)
			var r gemResp
			mustJSON(t, string(raw), &r)
			if resp.StatusCode != c.status || r.Error == nil || r.Error.Code != c.status || r.Error.Status != c.gstatus || r.Error.Message == "" {
				t.Fatalf("status %d: %s; want %d %s", resp.StatusCode, raw, c.status, c.gstatus)
			}
			reason, retry := "", ""
			for _, d := range r.Error.Details {
				reason, retry = reason+d.Reason, retry+d.RetryDelay
			}
			if reason != c.reason || retry != c.retry {
				t.Errorf("details: reason %q retryDelay %q, want %q %q", reason, retry, c.reason, c.retry)
			}
		})
	}
	_, raw := post(t, ts, gemPath+"midway:streamGenerateContent?alt=sse&key=right-key", hello)
	evs := events(t, raw)
	if len(evs) != 3 || !strings.Contains(evs[2].Data, `"error":{"code":500`) {
		t.Errorf("mid-stream failure: %s", raw)
	}
}

func TestGeminiEmbed(t *testing.T) {
	_, ts := newTest(t, testConfig())
	body := `{"requests":[{"model":"models/embed","content":{"parts":[{"text":"hello world"}]}},{"model":"models/embed","content":{"parts":[{"text":"hi"}]},"outputDimensionality":4}]}`
	resp, raw := post(t, ts, gemPath+"embed:batchEmbedContents", body)
	var r struct {
		Embeddings []struct {
			Values []float64 `json:"values"`
		} `json:"embeddings"`
		UsageMetadata struct {
			PromptTokenCount int `json:"promptTokenCount"`
		} `json:"usageMetadata"`
	}
	mustJSON(t, string(raw), &r)
	if resp.StatusCode != 200 || len(r.Embeddings) != 2 || len(r.Embeddings[0].Values) != 8 || len(r.Embeddings[1].Values) != 4 {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	if r.UsageMetadata.PromptTokenCount != 4 { // ceil(11/4) + ceil(2/4)
		t.Errorf("promptTokenCount %d, want 4", r.UsageMetadata.PromptTokenCount)
	}
	_, again := post(t, ts, vertexPath+"embed:embedContent", `{"content":{"parts":[{"text":"hello world"}]}}`)
	var one struct {
		Embedding struct {
			Values []float64 `json:"values"`
		} `json:"embedding"`
	}
	mustJSON(t, string(again), &one)
	for i, v := range one.Embedding.Values {
		if v != r.Embeddings[0].Values[i] {
			t.Fatalf("embedContent and batchEmbedContents differ for the same text at %d", i)
		}
	}
	if resp, raw := post(t, ts, gemPath+"plain:embedContent", `{"content":{"parts":[{"text":"x"}]}}`); resp.StatusCode != 400 {
		t.Errorf("a chat model embedded: %d %s", resp.StatusCode, raw)
	}
}

func TestGeminiListModels(t *testing.T) {
	_, ts := newTest(t, testConfig())
	resp, raw := get(t, ts, "/v1beta/models")
	var r struct {
		Models []struct {
			Name    string   `json:"name"`
			Methods []string `json:"supportedGenerationMethods"`
		} `json:"models"`
	}
	mustJSON(t, string(raw), &r)
	if resp.StatusCode != 200 || len(r.Models) != len(testConfig().Models) || !strings.HasPrefix(r.Models[0].Name, "models/") {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	if resp, _ := post(t, ts, "/v1beta/models", "{}"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1beta/models: %d, want 405", resp.StatusCode)
	}
}

// FuzzGeminiRoute: any path and body get an answer in Google's error shape
// or a success, never a panic.
func FuzzGeminiRoute(f *testing.F) {
	f.Add("/v1beta/models/plain:generateContent", hello)
	f.Add("/v1/projects/p/locations/l/publishers/google/models/embed:batchEmbedContents", `{"requests":[{"content":{"parts":[{"text":"a"}]}}]}`)
	f.Add("/v1beta/models/:", "")
	f.Add("/v1/projects//publishers/google/models", "[]")
	_, ts := newTest(f, testConfig())
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#%") || strings.IndexFunc(path, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			return
		}
		resp, raw := post(t, ts, path, body)
		ours := strings.HasPrefix(path, "/v1beta/models") ||
			strings.HasPrefix(path, "/v1/projects/") && strings.Contains(path, "/publishers/google/models")
		if resp.StatusCode >= 400 && ours {
			var r gemResp
			if json.Unmarshal(raw, &r) != nil || r.Error == nil {
				t.Fatalf("%s: error %d not in Google's shape: %s", path, resp.StatusCode, raw)
			}
		}
	})
}

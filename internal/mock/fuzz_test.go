package mock

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzServe sends body to path and checks that the answer is well formed:
// a JSON document, or an event stream whose every data line is JSON (or
// OpenAI's [DONE]).
func fuzzServe(t *testing.T, s *Server, path, body string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	out := rec.Body.Bytes()
	switch ct := rec.Header().Get("Content-Type"); ct {
	case "application/json":
		if !json.Valid(out) {
			t.Fatalf("%s -> %d invalid JSON %q", body, rec.Code, out)
		}
		if rec.Code != 200 && !bytes.Contains(out, []byte(`"error"`)) {
			t.Fatalf("%s -> %d without an error object: %s", body, rec.Code, out)
		}
	case "text/event-stream; charset=utf-8":
		if rec.Code != 200 {
			t.Fatalf("stream with status %d", rec.Code)
		}
		for _, e := range events(t, out) {
			if e.Data != "[DONE]" && !json.Valid([]byte(e.Data)) {
				t.Fatalf("%s -> invalid event %q", body, e.Data)
			}
		}
	default:
		t.Fatalf("%s -> %d content-type %q", body, rec.Code, ct)
	}
}

func fuzzServer() *Server {
	cfg := testConfig()
	cfg.Models["anything"] = Profile{OutputTokens: 6, ReasoningTokens: 2, ReasoningVisible: true, ToolCalls: true, CacheReadTokens: 3}
	return New(cfg, nil)
}

func FuzzChatRequest(f *testing.F) {
	for _, tc := range chatCases {
		f.Add(tc.body)
		f.Add(strings.Replace(tc.body, "{", `{"stream":true,"stream_options":{"include_usage":true},`, 1))
	}
	f.Add(`{"model":"anything","n":2,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"\u00e9\ud83d\ude00"}]}],` + weatherTools + `}`)
	f.Add(`{"model":"anything","response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object","properties":{"a":{"anyOf":[{"type":"array","items":{"enum":[1,"x"]}}]}},"required":["a","b"]}}},"messages":[{"role":"user","content":"x"}]}`)
	f.Add(`{"model":"embed","input":["a",[1,2]]}`)
	f.Add(`[]`)
	f.Add(`null`)
	f.Add(`{"model":null,"messages":null}`)
	s := fuzzServer()
	f.Fuzz(func(t *testing.T, body string) {
		fuzzServe(t, s, "/v1/chat/completions", body)
		fuzzServe(t, s, "/v1/embeddings", body)
	})
}

func FuzzMessagesRequest(f *testing.F) {
	for _, tc := range messagesCases {
		f.Add(tc.body)
		f.Add(strings.Replace(tc.body, "{", `{"stream":true,`, 1))
	}
	f.Add(`{"model":"anything","max_tokens":3000,"stream":true,"thinking":{"type":"enabled","budget_tokens":1024},"system":"s","messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}]}]}],` + anthropicWeather + `}`)
	f.Add(`{"model":"anything","max_tokens":2,"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"x"}],"tools":[{"name":"t","input_schema":{"type":"object","properties":{"deep":{"type":"object","properties":{"x":{"type":["null","integer"]}},"required":["x"]}},"required":["deep"]}}]}`)
	f.Add(`{"model":"anything","max_tokens":5,"thinking":{"type":"adaptive"},"messages":[{"role":"assistant","content":[]}]}`)
	f.Add(`{}`)
	s := fuzzServer()
	f.Fuzz(func(t *testing.T, body string) {
		fuzzServe(t, s, "/v1/messages", body)
		fuzzServe(t, s, "/v1/messages/count_tokens", body)
	})
}

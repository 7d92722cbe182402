package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/usage"
)

func newProvider(t *testing.T, h http.HandlerFunc, idle time.Duration) *Provider {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	p, err := New(provider.Config{Name: "anthropic", BaseURL: srv.URL + "/v1/", APIKey: "sk-ant-test", StreamIdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNew(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "https://api.anthropic.com"},
		{"https://api.anthropic.com", "https://api.anthropic.com"},
		{"https://api.anthropic.com/v1", "https://api.anthropic.com"},
		{"https://api.anthropic.com/v1/", "https://api.anthropic.com"},
		{"http://localhost:8080/anthropic/", "http://localhost:8080/anthropic"},
	}
	for _, tt := range tests {
		p, err := New(provider.Config{BaseURL: tt.in})
		if err != nil || p.baseURL != tt.want {
			t.Errorf("New(%q) base = %q, %v; want %q", tt.in, p.baseURL, err, tt.want)
		}
	}
	if _, err := New(provider.Config{BaseURL: "api.anthropic.com"}); err == nil {
		t.Error("base URL without scheme accepted")
	}
	a, err := Factory(provider.Config{})
	if _, ok := a.(provider.Messenger); !ok || err != nil {
		t.Errorf("Factory = %T, %v", a, err)
	}
}

func TestMessagesNonStream(t *testing.T) {
	fixture, err := os.ReadFile("testdata/response/tools_thinking.anthropic.json")
	if err != nil {
		t.Fatal(err)
	}
	reqBody := `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Weather?"}]}`
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := map[string]string{
			"path": r.URL.Path, "key": r.Header.Get("x-api-key"), "version": r.Header.Get("anthropic-version"),
			"beta": strings.Join(r.Header.Values("anthropic-beta"), ","), "body": string(body), "auth": r.Header.Get("Authorization"),
		}
		want := map[string]string{
			"path": "/v1/messages", "key": "sk-ant-test", "version": "2024-01-01",
			"beta": "prompt-caching-2024-07-31,output-128k-2025-02-19", "body": reqBody, "auth": "",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("upstream request (-want +got):\n%s", diff)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("request-id", "req_011CV")
		w.Header().Set("anthropic-ratelimit-requests-remaining", "49")
		w.Write(fixture)
	}, 0)
	h := http.Header{}
	h.Set("anthropic-version", "2024-01-01")
	h.Add("anthropic-beta", "prompt-caching-2024-07-31")
	h.Add("anthropic-beta", "output-128k-2025-02-19")
	wait := &provider.WaitTimer{}
	resp, err := p.Messages(context.Background(), &provider.Request{Model: "claude-sonnet-4-5", Body: []byte(reqBody), Header: h, Wait: wait})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != string(fixture) {
		t.Errorf("body was not relayed unchanged")
	}
	wantUsage := usage.Usage{InputTokens: 3050, CacheWriteTokens: 1000, CacheReadTokens: 2000, OutputTokens: 300}
	if !resp.HasUsage || resp.Usage != wantUsage {
		t.Errorf("usage = %+v, want %+v", resp.Usage, wantUsage)
	}
	if resp.ResponseModel != "claude-sonnet-4-5-20250929" || resp.FinishReason != "tool_use" || resp.RequestID != "req_011CV" {
		t.Errorf("parsed = model %q finish %q id %q", resp.ResponseModel, resp.FinishReason, resp.RequestID)
	}
	if want := `The user wants the weather in Paris.Let me check <Paris>.get_weather{"city": "Paris", "unit": "celsius"}`; resp.Text != want {
		t.Errorf("text = %q, want %q", resp.Text, want)
	}
	if resp.Header.Get("anthropic-ratelimit-requests-remaining") != "49" {
		t.Errorf("rate-limit headers not relayed: %v", resp.Header)
	}
	if wait.Total() <= 0 {
		t.Error("no wait recorded")
	}
}

func TestMessagesStream(t *testing.T) {
	fixture, err := os.ReadFile("testdata/stream/tools_thinking.sse")
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("anthropic-version") != DefaultVersion || r.Header.Get("Accept") != "text/event-stream" {
			t.Errorf("headers = %v", r.Header)
		}
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.Write(fixture)
	}, time.Second)
	resp, err := p.Messages(context.Background(), &provider.Request{Body: []byte(`{"stream":true}`), Stream: true, Wait: &provider.WaitTimer{}})
	if err != nil {
		t.Fatal(err)
	}
	got, wire, err := drain(t, resp.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if wire != string(fixture) {
		t.Errorf("relayed bytes differ from upstream:\n%s", wire)
	}
	start := &usage.Usage{InputTokens: 2272, CacheReadTokens: 1800, OutputTokens: 2}
	final := &usage.Usage{InputTokens: 2272, CacheReadTokens: 1800, OutputTokens: 89}
	want := []seen{
		{Model: "claude-sonnet-4-5-20250929", Usage: start},
		{}, // thinking block start
		{}, // ping
		{Token: true, Text: "The user wants the weather in Paris."},
		{}, // signature_delta
		{},
		{},
		{Token: true, Completion: true, Text: `Let me check "Paris" <now>.`},
		{},
		{Token: true, Completion: true, Text: "get_weather"},
		{Text: ""}, // empty input_json_delta
		{Token: true, Completion: true, Text: `{"city": "Pa`},
		{Token: true, Completion: true, Text: `ris"}`},
		{},
		{Finish: "tool_use", Usage: final},
		{Done: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestMessagesStreamCacheUsage(t *testing.T) {
	fixture, err := os.ReadFile("testdata/stream/text_cache_write.sse")
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(fixture)
	}, 0)
	resp, err := p.Messages(context.Background(), &provider.Request{Body: []byte(`{}`), Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := drain(t, resp.Stream)
	if err != nil {
		t.Fatal(err)
	}
	var last *usage.Usage
	for _, ev := range got {
		if ev.Usage != nil {
			last = ev.Usage
		}
	}
	want := usage.Usage{InputTokens: 2060, CacheWriteTokens: 2048, CacheWrite1hTokens: 2048, OutputTokens: 15}
	if last == nil || *last != want {
		t.Errorf("usage = %+v, want %+v", last, want)
	}
}

func TestMessagesStreamFailures(t *testing.T) {
	const start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n"
	sse := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, body)
		}
	}
	tests := []struct {
		name string
		h    http.HandlerFunc
		idle time.Duration
		kind apierror.Kind
		msg  string
	}{
		{"cut before message_stop", sse(start + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"),
			0, apierror.UpstreamBadResponse, "stream ended before message_stop"},
		{"cut mid-event", sse(start + "event: content_block_delta\ndata: {\"type\":\"content_bl"), 0, apierror.UpstreamBadResponse, ""},
		{"garbage", sse(start + "event: message_delta\ndata: not json\n\n"), 0, apierror.UpstreamBadResponse, ""},
		{"stall", func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body) // so the server notices the client going away
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, start)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, 100 * time.Millisecond, apierror.UpstreamTimeout, "the provider's stream stalled"},
		{"json instead of stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"type":"message"}`)
		}, 0, apierror.UpstreamBadResponse, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chat := range []bool{false, true} {
				p := newProvider(t, tt.h, tt.idle)
				req := &provider.Request{Body: []byte(`{"messages":[{"role":"user","content":"hi"}],"stream":true}`), Stream: true}
				var resp *provider.Response
				var err error
				if chat {
					resp, err = p.ChatCompletion(context.Background(), req)
				} else {
					resp, err = p.Messages(context.Background(), req)
				}
				if err == nil {
					_, _, err = drain(t, resp.Stream)
				}
				var ae *apierror.Error
				if !errors.As(err, &ae) || ae.Kind != tt.kind || (tt.msg != "" && ae.Message != tt.msg) {
					t.Fatalf("chat=%v: err = %v, want kind %v %q", chat, err, tt.kind, tt.msg)
				}
			}
		})
	}
}

// Anthropic ends a stream after an error event without message_stop: the
// native relay passes the event on, marks it and ends cleanly, so the
// gateway does not write a second error.
func TestMessagesStreamErrorEvent(t *testing.T) {
	body := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n" +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, body)
	}, 0)
	resp, err := p.Messages(context.Background(), &provider.Request{Body: []byte(`{}`), Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	got, wire, err := drain(t, resp.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if wire != body || len(got) != 2 || got[1].Error != "Overloaded" {
		t.Errorf("events %+v wire %q", got, wire)
	}
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		status     int
		body       string
		kind       apierror.Kind
		msg, code  string
		retryAfter time.Duration
	}{
		{429, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_1"}`,
			apierror.RateLimited, "Number of request tokens has exceeded your per-minute rate limit", "rate_limit_error", 7 * time.Second},
		{529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, apierror.UpstreamOverloaded, "Overloaded", "overloaded_error", 0},
		{400, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`,
			apierror.InvalidRequest, "max_tokens: Field required", "invalid_request_error", 0},
		{401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, apierror.Authentication, "invalid x-api-key", "authentication_error", 0},
		{500, `<html>oops</html>`, apierror.UpstreamUnavailable, "upstream returned HTTP 500", "", 0},
	}
	for _, tt := range tests {
		for _, chat := range []bool{false, true} {
			p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter > 0 {
					w.Header().Set("retry-after", "7")
				}
				w.Header().Set("request-id", "req_1")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}, 0)
			req := &provider.Request{Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`)}
			var err error
			if chat {
				_, err = p.ChatCompletion(context.Background(), req)
			} else {
				_, err = p.Messages(context.Background(), req)
			}
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Kind != tt.kind || ae.Message != tt.msg || ae.Code != tt.code || ae.HTTPStatus() != tt.status || ae.RetryAfter != tt.retryAfter {
				t.Errorf("status %d chat=%v: err = %#v", tt.status, chat, err)
				continue
			}
			if ae.Header.Get("request-id") != "req_1" {
				t.Errorf("status %d: request-id not kept: %v", tt.status, ae.Header)
			}
		}
	}
}

func TestCallerKey(t *testing.T) {
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("x-api-key"); got != "sk-ant-caller" {
			t.Errorf("x-api-key = %q", got)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`)
	}, 0)
	for _, f := range []func(context.Context, *provider.Request) (*provider.Response, error){p.Messages, p.ChatCompletion} {
		if _, err := f(context.Background(), &provider.Request{Body: []byte(`{"messages":[]}`), APIKey: "sk-ant-caller"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConfigHeadersAndTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-custom") != "1" {
			t.Errorf("configured header missing: %v", r.Header)
		}
		io.ReadAll(r.Body) // so the server notices the client going away
		<-r.Context().Done()
	}))
	defer srv.Close()
	p, err := New(provider.Config{BaseURL: srv.URL, Headers: map[string]string{"x-custom": "1"}, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Messages(context.Background(), &provider.Request{Body: []byte(`{}`)})
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Kind != apierror.UpstreamTimeout {
		t.Errorf("err = %v, want upstream_timeout", err)
	}
}

func TestChatCompletionNonStream(t *testing.T) {
	fixture, err := os.ReadFile("testdata/response/tools_thinking.anthropic.json")
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		var got map[string]any
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		if got["model"] != "claude-sonnet-4-5" || got["max_tokens"] != float64(DefaultMaxTokens) || got["system"] != "Be brief." || r.URL.Path != "/v1/messages" {
			t.Errorf("translated request = %v on %s", got, r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("request-id", "req_2")
		w.Write(fixture)
	}, 0)
	resp, err := p.ChatCompletion(context.Background(), &provider.Request{
		Model: "claude-sonnet-4-5",
		Body:  []byte(`{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather?"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/response/tools_thinking.openai.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(golden), string(indent(t, resp.Body))); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	wantUsage := usage.Usage{InputTokens: 3050, CacheWriteTokens: 1000, CacheReadTokens: 2000, OutputTokens: 300}
	if !resp.HasUsage || resp.Usage != wantUsage || resp.FinishReason != "tool_calls" || resp.ResponseModel != "claude-sonnet-4-5-20250929" || resp.RequestID != "req_2" {
		t.Errorf("parsed response = %+v", resp)
	}
}

func TestChatCompletionRejectsBeforeCalling(t *testing.T) {
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		t.Error("upstream called for an invalid request")
	}, 0)
	_, err := p.ChatCompletion(context.Background(), &provider.Request{Body: []byte(`{"messages":[{"role":"user","content":"hi"}],"n":3}`)})
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Kind != apierror.InvalidRequest || ae.Param != "n" {
		t.Errorf("err = %v", err)
	}
}

func TestChatCompletionStream(t *testing.T) {
	fixture, err := os.ReadFile("testdata/stream/tools_thinking.sse")
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		var got struct {
			Stream bool `json:"stream"`
		}
		json.NewDecoder(r.Body).Decode(&got)
		if !got.Stream {
			t.Error("stream flag not set upstream")
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(fixture)
	}, time.Second)
	resp, err := p.ChatCompletion(context.Background(), &provider.Request{
		Body: []byte(`{"messages":[{"role":"user","content":"hi"}],"stream":true}`), Stream: true, IncludeUsage: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, wire, err := drain(t, resp.Stream)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("testdata/stream/tools_thinking.openai.sse")
	if wire != string(want) {
		t.Errorf("wire differs from golden:\n%s", wire)
	}
}

func TestListModels(t *testing.T) {
	var queries []string
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" || r.Header.Get("x-api-key") != "sk-ant-test" || r.Header.Get("anthropic-version") != DefaultVersion {
			t.Errorf("request %s %v", r.URL.Path, r.Header)
		}
		queries = append(queries, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("after_id") == "" {
			io.WriteString(w, `{"data":[{"type":"model","id":"claude-opus-4-6","display_name":"Claude Opus 4.6","created_at":"2026-02-04T00:00:00Z"},{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":true,"first_id":"claude-opus-4-6","last_id":"claude-sonnet-4-5-20250929"}`)
			return
		}
		io.WriteString(w, `{"data":[{"type":"model","id":"claude-3-haiku-20240307","display_name":"Claude Haiku 3","created_at":"2024-03-07T00:00:00Z"}],"has_more":false,"first_id":"claude-3-haiku-20240307","last_id":"claude-3-haiku-20240307"}`)
	}, 0)
	got, err := p.ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.Model{
		{ID: "claude-opus-4-6", Created: 1770163200, OwnedBy: "anthropic"},
		{ID: "claude-sonnet-4-5-20250929", Created: 1759104000, OwnedBy: "anthropic"},
		{ID: "claude-3-haiku-20240307", Created: 1709769600, OwnedBy: "anthropic"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"limit=1000", "after_id=claude-sonnet-4-5-20250929&limit=1000"}, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestListModelsError(t *testing.T) {
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		io.WriteString(w, `{"type":"error","error":{"type":"permission_error","message":"no access"}}`)
	}, 0)
	_, err := p.ListModels(context.Background())
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Kind != apierror.PermissionDenied || ae.Message != "no access" {
		t.Errorf("err = %v", err)
	}
}

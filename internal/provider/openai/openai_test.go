package openai

import (
	"bytes"
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
	p, err := New(provider.Config{Name: "openai", BaseURL: srv.URL + "/v1", APIKey: "sk-test", StreamIdleTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type seen struct {
	Token, Completion, Drop, Done bool
	Text, Finish                  string
	Usage                         *usage.Usage
}

func drain(t *testing.T, s provider.Stream) ([]seen, string, error) {
	t.Helper()
	defer s.Close()
	var out []seen
	var wire strings.Builder
	for {
		ev, err := s.Next()
		if err == io.EOF {
			return out, wire.String(), nil
		}
		if err != nil {
			return out, wire.String(), err
		}
		wire.Write(ev.Data)
		out = append(out, seen{ev.Token, ev.Completion, ev.Drop, ev.Done, ev.Text, ev.FinishReason, ev.Usage})
	}
}

func TestChatStream(t *testing.T) {
	fixture, err := os.ReadFile("testdata/stream_reasoning_tools.sse")
	if err != nil {
		t.Fatal(err)
	}
	for _, includeUsage := range []bool{false, true} {
		p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-test" {
				t.Errorf("got %s with auth %q", r.URL.Path, r.Header.Get("Authorization"))
			}
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("x-request-id", "req_1")
			w.Header().Set("x-ratelimit-remaining-requests", "99")
			w.Write(fixture)
		}, 0)
		wait := &provider.WaitTimer{}
		resp, err := p.ChatCompletion(context.Background(), &provider.Request{Model: "deepseek-reasoner", Body: []byte(`{}`), Stream: true, IncludeUsage: includeUsage, Wait: wait})
		if err != nil {
			t.Fatal(err)
		}
		if resp.RequestID != "req_1" || resp.Header.Get("x-ratelimit-remaining-requests") != "99" {
			t.Errorf("headers not relayed: %v", resp.Header)
		}
		got, wire, err := drain(t, resp.Stream)
		if err != nil {
			t.Fatal(err)
		}
		u := &usage.Usage{InputTokens: 20, CacheReadTokens: 16, OutputTokens: 9, ReasoningTokens: 3}
		want := []seen{
			{},
			{Token: true, Text: "Let me think"},
			{Token: true, Completion: true, Text: "Hello"},
			{Token: true, Completion: true, Text: "get_weather"},
			{Token: true, Completion: true, Text: `{"city":"Paris"}`},
			{Finish: "tool_calls"},
			{Usage: u, Drop: !includeUsage},
			{Done: true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("includeUsage=%v events (-want +got):\n%s", includeUsage, diff)
		}
		hasUsageChunk := strings.Contains(wire, `"choices":[],"usage"`)
		if hasUsageChunk != includeUsage {
			t.Errorf("includeUsage=%v but usage chunk relayed=%v", includeUsage, hasUsageChunk)
		}
		if !strings.HasSuffix(wire, "data: [DONE]\n\n") || strings.Contains(wire, "keep-alive") {
			t.Errorf("wire not relayed as expected:\n%s", wire)
		}
	}
}

func TestChatStreamFailures(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
		idle time.Duration
		kind apierror.Kind
	}{
		{"no DONE", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n")
		}, 0, apierror.UpstreamBadResponse},
		{"cut mid-event", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"choi")
		}, 0, apierror.UpstreamBadResponse},
		{"garbage chunk", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: <html>oops</html>\n\n")
		}, 0, apierror.UpstreamBadResponse},
		{"stall", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 100 * time.Millisecond, apierror.UpstreamTimeout},
		{"no headers", func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body) // the server notices the client leaving only once the body is read
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 100 * time.Millisecond, apierror.UpstreamTimeout},
		{"json instead of stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"choices":[]}`)
		}, 0, apierror.UpstreamBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.h, tt.idle)
			resp, err := p.ChatCompletion(context.Background(), &provider.Request{Body: []byte(`{}`), Stream: true})
			if err == nil {
				_, _, err = drain(t, resp.Stream)
			}
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Kind != tt.kind {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
		})
	}
}

// A provider that reports an error in the stream and then closes it, with
// no [DONE], has ended the stream itself: the error event is relayed and the
// stream ends cleanly, so the gateway records one error, not two.
func TestChatStreamErrorThenClose(t *testing.T) {
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n")
	}, 0)
	resp, err := p.ChatCompletion(context.Background(), &provider.Request{Body: []byte(`{}`), Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	var last provider.Event
	for {
		ev, err := resp.Stream.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("err = %v, want a clean end after the relayed error", err)
		}
		last = ev
	}
	if last.Err == nil || last.Err.Message != "overloaded" || len(last.Data) == 0 {
		t.Errorf("error event = %+v", last)
	}
}

func TestChatNonStream(t *testing.T) {
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_9","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920}}}`)
	}, 0)
	resp, err := p.ChatCompletion(context.Background(), &provider.Request{Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := usage.Usage{InputTokens: 2006, CacheReadTokens: 1920, OutputTokens: 300}
	if !resp.HasUsage || resp.Usage != want || resp.ResponseModel != "gpt-4o-mini-2024-07-18" || resp.SystemFingerprint != "fp_9" || resp.FinishReason != "stop" || resp.Text != "Hi there" {
		t.Errorf("parsed response = %+v", resp)
	}
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		status     int
		body       string
		kind       apierror.Kind
		msg        string
		retryAfter time.Duration
	}{
		{429, `{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}`, apierror.RateLimited, "Rate limit reached for gpt-4o", 2 * time.Second},
		{400, `{"error":{"message":"Invalid value for 'n'","type":"invalid_request_error","param":"n","code":null}}`, apierror.InvalidRequest, "Invalid value for 'n'", 0},
		{503, `<html>bad gateway</html>`, apierror.UpstreamUnavailable, "upstream returned HTTP 503", 0},
		{401, `{"error":"bad key"}`, apierror.Authentication, "bad key", 0},
	}
	for _, tt := range tests {
		p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
			if tt.retryAfter > 0 {
				w.Header().Set("retry-after", "2")
			}
			w.WriteHeader(tt.status)
			io.WriteString(w, tt.body)
		}, 0)
		_, err := p.ChatCompletion(context.Background(), &provider.Request{Body: []byte(`{}`)})
		var ae *apierror.Error
		if !errors.As(err, &ae) || ae.Kind != tt.kind || ae.Message != tt.msg || ae.HTTPStatus() != tt.status || ae.RetryAfter != tt.retryAfter {
			t.Errorf("status %d: err = %#v", tt.status, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	p, _ := New(provider.Config{BaseURL: "http://127.0.0.1:1/v1"})
	_, err := p.ChatCompletion(context.Background(), &provider.Request{Body: []byte(`{}`)})
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Kind != apierror.UpstreamUnavailable {
		t.Errorf("err = %v, want upstream_unavailable", err)
	}
}

func TestCallerKeyAndEmbeddings(t *testing.T) {
	p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer sk-caller" {
			t.Errorf("auth = %q", got)
		}
		io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`)
	}, 0)
	resp, err := p.Embeddings(context.Background(), &provider.Request{Body: []byte(`{}`), APIKey: "sk-caller"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.InputTokens != 8 || resp.ResponseModel != "text-embedding-3-small" {
		t.Errorf("embeddings parsed %+v", resp)
	}
}

func TestGroqUsage(t *testing.T) {
	ev, err := ParseChunk([]byte(`{"choices":[{"delta":{},"finish_reason":"stop"}],"x_groq":{"usage":{"prompt_tokens":5,"completion_tokens":7}}}`), false)
	if err != nil || ev.Usage == nil || ev.Usage.OutputTokens != 7 || ev.Drop {
		t.Errorf("groq usage: %+v %v", ev, err)
	}
}

func FuzzParseChunk(f *testing.F) {
	data, _ := os.ReadFile("testdata/stream_reasoning_tools.sse")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "data: ") {
			f.Add([]byte(strings.TrimPrefix(line, "data: ")))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseChunk(b, false)
		if err != nil {
			return
		}
		if ev.Completion && !ev.Token {
			t.Fatal("completion without token")
		}
	})
}

// oracleChunk is the plain encoding/json reading of a chunk, kept as the
// reference the zero-allocation parser is checked against.
type oracleChunk struct {
	Choices []struct {
		FinishReason *string `json:"finish_reason"`
		Delta        struct {
			Content          *string `json:"content"`
			ReasoningContent *string `json:"reasoning_content"`
			Reasoning        *string `json:"reasoning"`
			Refusal          *string `json:"refusal"`
			ToolCalls        []struct {
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
	} `json:"choices"`
}

func FuzzParseChunkMatchesEncodingJSON(f *testing.F) {
	data, _ := os.ReadFile("testdata/stream_reasoning_tools.sse")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "data: {") {
			f.Add([]byte(strings.TrimPrefix(line, "data: ")))
		}
	}
	f.Add([]byte(`{"choices":[{"delta":{"content":"a\"b\\n\u00e9"}},{"delta":{"reasoning":"r"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var o oracleChunk
		// encoding/json matches keys case-insensitively and keeps the last
		// of duplicate keys; providers send neither, so such inputs are out.
		if !bytes.Equal(b, bytes.ToLower(b)) || json.Unmarshal(b, &o) != nil || hasDuplicateKeys(b) {
			return
		}
		ev, err := ParseChunk(b, true)
		if err != nil {
			// The fast parser may reject what encoding/json accepts only
			// when the document is not an object with an array of choices.
			return
		}
		var token, completion bool
		var text strings.Builder
		for _, c := range o.Choices {
			d := c.Delta
			for _, r := range []*string{d.ReasoningContent, d.Reasoning} {
				if r != nil && *r != "" {
					token = true
				}
			}
			for _, r := range []*string{d.Content, d.Refusal} {
				if r != nil && *r != "" {
					token, completion = true, true
				}
			}
			for _, tc := range d.ToolCalls {
				if tc.Function.Name != "" || tc.Function.Arguments != "" {
					token, completion = true, true
				}
			}
		}
		_ = text
		if ev.Token != token || ev.Completion != completion {
			t.Fatalf("%s: fast parser token=%v completion=%v, encoding/json token=%v completion=%v", b, ev.Token, ev.Completion, token, completion)
		}
	})
}

func TestParseChunkUnescapesText(t *testing.T) {
	ev, err := ParseChunk([]byte(`{"choices":[{"delta":{"content":"a\"b\n\u00e9"}}]}`), true)
	if err != nil || ev.Text != "a\"b\né" || !ev.Completion {
		t.Errorf("ev = %+v, %v", ev, err)
	}
	if _, err := ParseChunk([]byte(`{"choices":{"x":1}}`), true); err == nil {
		t.Error("choices as object accepted")
	}
}

// hasDuplicateKeys reports whether any JSON object in b repeats a key.
func hasDuplicateKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys    map[string]bool
		isObj   bool
		wantKey bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if n := len(stack); n > 0 && stack[n-1].isObj {
					stack[n-1].wantKey = true
				}
				stack = append(stack, frame{keys: map[string]bool{}, isObj: true, wantKey: true})
				continue
			case '[':
				if n := len(stack); n > 0 && stack[n-1].isObj {
					stack[n-1].wantKey = true
				}
				stack = append(stack, frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
				continue
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].isObj && stack[n-1].wantKey {
				if stack[n-1].keys[v] {
					return true
				}
				stack[n-1].keys[v] = true
				stack[n-1].wantKey = false
				continue
			}
		}
		if n := len(stack); n > 0 && stack[n-1].isObj {
			stack[n-1].wantKey = true
		}
	}
}

func TestServiceTier(t *testing.T) {
	ev, err := ParseChunk([]byte(`{"model":"o3","service_tier":"flex","choices":[{"delta":{"content":"x"}}]}`), true)
	if err != nil || ev.ServiceTier != "flex" {
		t.Errorf("chunk service tier = %q, %v", ev.ServiceTier, err)
	}
	var r provider.Response
	if err := parseChatResponse([]byte(`{"model":"o3","service_tier":"priority","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}`), &r); err != nil || r.ServiceTier != "priority" {
		t.Errorf("response service tier = %q, %v", r.ServiceTier, err)
	}
}

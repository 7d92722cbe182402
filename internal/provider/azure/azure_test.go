package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/usage"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with the golden file path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seenRequest is what the fake Azure saw of one request.
type seenRequest struct {
	Method, URL, APIKey, Authorization, Body string
}

// fakeAzure answers every request with status, headers and body, and
// records what it was sent.
type fakeAzure struct {
	mu     sync.Mutex
	seen   []seenRequest
	status int
	header http.Header
	body   []byte
}

func (f *fakeAzure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{r.Method, r.URL.String(), r.Header.Get("api-key"), r.Header.Get("Authorization"), string(b)})
	status, header, body := f.status, f.header, f.body
	f.mu.Unlock()
	for k, v := range header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(body)
}

func (f *fakeAzure) last() seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

func newFake(t *testing.T, az *provider.Azure, f *fakeAzure, base func(string) string) *Provider {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	url := srv.URL
	if base != nil {
		url = base(url)
	}
	p, err := New(provider.Config{Name: "azure", BaseURL: url, APIKey: "azure-key-0123456789", Azure: az})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const okAnswer = `{"id":"c","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`

// TestRequests: where each call goes and how the key is sent, for the
// deployments API and the v1 API, with an API key or an Entra ID token.
func TestRequests(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		az   *provider.Azure
		base func(string) string
		// want holds the path and query of chat, embeddings, models.
		want                 [3]string
		wantKey, wantBearer  string
		callerKey, wantAfter string // a caller's own key and the header value it becomes
	}{
		{
			name: "deployments, default version", base: func(u string) string { return u + "/" },
			want:    [3]string{"/openai/deployments/prod%2Fchat/chat/completions?api-version=2024-10-21", "/openai/deployments/prod%2Fchat/embeddings?api-version=2024-10-21", "/openai/models?api-version=2024-10-21"},
			wantKey: "azure-key-0123456789", callerKey: "caller-key-0123456789", wantAfter: "caller-key-0123456789",
		},
		{
			name: "deployments, preview version, endpoint with /openai", az: &provider.Azure{APIVersion: "2025-04-01-preview"}, base: func(u string) string { return u + "/openai" },
			want:    [3]string{"/openai/deployments/prod%2Fchat/chat/completions?api-version=2025-04-01-preview", "/openai/deployments/prod%2Fchat/embeddings?api-version=2025-04-01-preview", "/openai/models?api-version=2025-04-01-preview"},
			wantKey: "azure-key-0123456789",
		},
		{
			name: "v1 by api_version, Entra ID", az: &provider.Azure{APIVersion: "v1", Auth: AuthEntraID},
			want:       [3]string{"/openai/v1/chat/completions", "/openai/v1/embeddings", "/openai/v1/models"},
			wantBearer: "Bearer azure-key-0123456789", callerKey: "caller-token-0123456789", wantAfter: "Bearer caller-token-0123456789",
		},
		{
			name: "v1 by base_url", az: &provider.Azure{APIVersion: "2024-10-21", Auth: AuthAPIKey}, base: func(u string) string { return u + "/openai/v1/" },
			want:    [3]string{"/openai/v1/chat/completions", "/openai/v1/embeddings", "/openai/v1/models"},
			wantKey: "azure-key-0123456789",
		},
		{
			name: "v1 preview", az: &provider.Azure{APIVersion: "preview"},
			want:    [3]string{"/openai/v1/chat/completions?api-version=preview", "/openai/v1/embeddings?api-version=preview", "/openai/v1/models?api-version=preview"},
			wantKey: "azure-key-0123456789",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeAzure{body: []byte(okAnswer)}
			p := newFake(t, c.az, f, c.base)
			body := []byte(`{"model":"prod/chat","messages":[{"role":"user","content":"hi"}]}`)
			if _, err := p.ChatCompletion(ctx, &provider.Request{Model: "prod/chat", Body: body}); err != nil {
				t.Fatal(err)
			}
			chat := f.last()
			f.body = []byte(`{"object":"list","model":"m","data":[],"usage":{"prompt_tokens":1,"total_tokens":1}}`)
			if _, err := p.Embeddings(ctx, &provider.Request{Model: "prod/chat", Body: []byte(`{"input":"x"}`)}); err != nil {
				t.Fatal(err)
			}
			emb := f.last()
			f.body = []byte(`{"object":"list","data":[{"id":"gpt-4o"}]}`)
			if _, err := p.ListModels(ctx); err != nil {
				t.Fatal(err)
			}
			models := f.last()
			if got := [3]string{chat.URL, emb.URL, models.URL}; got != c.want {
				t.Errorf("URLs:\n got %q\nwant %q", got, c.want)
			}
			for _, s := range []seenRequest{chat, emb, models} {
				if s.APIKey != c.wantKey || s.Authorization != c.wantBearer {
					t.Errorf("%s: api-key %q, Authorization %q; want %q, %q", s.URL, s.APIKey, s.Authorization, c.wantKey, c.wantBearer)
				}
			}
			if chat.Body != string(body) {
				t.Errorf("the body was changed: %s", chat.Body)
			}
			if c.callerKey != "" {
				p.ChatCompletion(ctx, &provider.Request{Model: "d", Body: body, APIKey: c.callerKey})
				if s := f.last(); s.APIKey+s.Authorization != c.wantAfter {
					t.Errorf("caller key sent as api-key %q, Authorization %q; want %q", s.APIKey, s.Authorization, c.wantAfter)
				}
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	for _, c := range []struct {
		cfg  provider.Config
		want string
	}{
		{provider.Config{}, "base_url is required"},
		{provider.Config{BaseURL: "x.openai.azure.com"}, "must start with http"},
		{provider.Config{BaseURL: "https://x", Azure: &provider.Azure{APIVersion: "2024-10"}}, `api_version "2024-10"`},
		{provider.Config{BaseURL: "https://x", Azure: &provider.Azure{APIVersion: "2024-10-21&x=1"}}, "unexpected character"},
		{provider.Config{BaseURL: "https://x", Azure: &provider.Azure{Auth: "managed_identity"}}, `auth "managed_identity"`},
		{provider.Config{BaseURL: "https://x", Azure: &provider.Azure{Deployments: map[string]string{"d": ""}}}, "neither may be empty"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
		}
	}
}

// TestErrors: Azure's error bodies are classified, and a content-filter
// refusal is marked so a route can tell it apart.
func TestErrors(t *testing.T) {
	rl := http.Header{
		"X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Remaining-Tokens": {"1200"},
		"Retry-After": {"6"}, "Apim-Request-Id": {"apim-1"},
	}
	for _, c := range []struct {
		name, file string
		status     int
		header     http.Header
		kind       apierror.Kind
		code, msg  string
		filtered   bool
	}{
		{"content filter", "error_content_filter.json", 400, nil, apierror.InvalidRequest, provider.CodeContentFilter, "content management policy", true},
		{"content filter, inner code only", "error_inner_only.json", 400, nil, apierror.InvalidRequest, provider.CodeContentFilter, "custom blocklist", true},
		{"rate limited", "error_429.json", 429, rl, apierror.RateLimited, "429", "exceeded token rate limit", false},
		{"bad token", "error_401_token.json", 401, nil, apierror.Authentication, "", "Access token is missing", false},
		{"no deployment", "error_deployment.json", 404, nil, apierror.NotFound, "DeploymentNotFound", "deployment for this resource does not exist", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeAzure{status: c.status, header: c.header, body: fixture(t, c.file)}
			p := newFake(t, nil, f, nil)
			for _, stream := range []bool{false, true} {
				_, err := p.ChatCompletion(context.Background(), &provider.Request{Model: "d", Body: []byte(`{}`), Stream: stream})
				var e *apierror.Error
				if !errors.As(err, &e) {
					t.Fatalf("stream=%v: err = %v, want an *apierror.Error", stream, err)
				}
				if e.Kind != c.kind || e.Code != c.code || !strings.Contains(e.Message, c.msg) || e.HTTPStatus() != c.status {
					t.Errorf("stream=%v: got kind %v code %q status %d message %q; want %v %q %d ...%q...", stream, e.Kind, e.Code, e.HTTPStatus(), e.Message, c.kind, c.code, c.status, c.msg)
				}
				if provider.ContentFiltered(err) != c.filtered {
					t.Errorf("stream=%v: ContentFiltered = %v", stream, !c.filtered)
				}
				if c.header != nil && (e.Header.Get("X-Ratelimit-Remaining-Tokens") != "1200" || e.RetryAfter.Seconds() != 6) {
					t.Errorf("stream=%v: rate-limit headers not kept: %v, retry after %v", stream, e.Header, e.RetryAfter)
				}
			}
		})
	}
}

// TestAnswers: a non-streamed answer's filter verdict, model, usage and
// Azure's rate-limit headers.
func TestAnswers(t *testing.T) {
	hdr := http.Header{"X-Ratelimit-Remaining-Requests": {"99"}, "X-Ratelimit-Remaining-Tokens": {"149000"}, "X-Request-Id": {"req-1"}}
	az := &provider.Azure{Deployments: map[string]string{"prod-chat": "gpt-4o-mini-2024-07-18"}}
	for _, c := range []struct {
		file, deployment, finish, model string
		usage                           usage.Usage
	}{
		// A deployment the config does not map: the answer's model.
		{"answer_filtered.json", "other", "content_filter", "gpt-4o-2024-08-06", usage.Usage{InputTokens: 21, OutputTokens: 3}},
		// A mapped deployment: the configured model, whatever the answer says.
		{"answer_filtered.json", "prod-chat", "content_filter", "gpt-4o-mini-2024-07-18", usage.Usage{InputTokens: 21, OutputTokens: 3}},
		{"answer_no_model.json", "prod-chat", "stop", "gpt-4o-mini-2024-07-18", usage.Usage{InputTokens: 9, OutputTokens: 2}},
		{"answer_no_model.json", "other", "stop", "", usage.Usage{InputTokens: 9, OutputTokens: 2}},
	} {
		f := &fakeAzure{header: hdr, body: fixture(t, c.file)}
		p := newFake(t, az, f, nil)
		resp, err := p.ChatCompletion(context.Background(), &provider.Request{Model: c.deployment, Body: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.FinishReason != c.finish || resp.ResponseModel != c.model || resp.Usage != c.usage || !resp.HasUsage {
			t.Errorf("%s to %s: finish %q model %q usage %+v; want %q %q %+v", c.file, c.deployment, resp.FinishReason, resp.ResponseModel, resp.Usage, c.finish, c.model, c.usage)
		}
		if resp.Header.Get("X-Ratelimit-Remaining-Tokens") != "149000" || resp.Header.Get("X-Ratelimit-Remaining-Requests") != "99" || resp.RequestID != "req-1" {
			t.Errorf("%s: headers %v, request id %q", c.file, resp.Header, resp.RequestID)
		}
		if !bytes.Equal(resp.Body, f.body) {
			t.Errorf("%s: the body was not relayed unchanged", c.file)
		}
	}
}

// TestStreamGolden relays Azure streams and records what each event
// carries: the prelude of prompt_filter_results dropped, filter verdicts as
// finish reasons, the configured model of a mapped deployment on every
// event, an in-stream content-filter error marked.
func TestStreamGolden(t *testing.T) {
	az := &provider.Azure{Deployments: map[string]string{"prod-chat": "gpt-4o-mini-2024-07-18"}}
	for name, deployment := range map[string]string{"stream_filtered": "other", "stream_no_model": "prod-chat"} {
		t.Run(name, func(t *testing.T) {
			f := &fakeAzure{header: http.Header{"Content-Type": {"text/event-stream"}}, body: fixture(t, name+".sse")}
			p := newFake(t, az, f, nil)
			resp, err := p.ChatCompletion(context.Background(), &provider.Request{Model: deployment, Body: []byte(`{}`), Stream: true, IncludeUsage: true})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Stream.Close()
			type event struct {
				Data                        string       `json:"data,omitempty"`
				Drop                        bool         `json:"drop,omitempty"`
				Done                        bool         `json:"done,omitempty"`
				Token                       bool         `json:"token,omitempty"`
				Text                        string       `json:"text,omitempty"`
				Finish                      string       `json:"finish_reason,omitempty"`
				Model                       string       `json:"response_model,omitempty"`
				Usage                       *usage.Usage `json:"usage,omitempty"`
				ErrKind, ErrCode, ErrFilter string       `json:",omitempty"`
			}
			var out bytes.Buffer
			for {
				ev, err := resp.Stream.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				e := event{Drop: ev.Drop, Done: ev.Done, Token: ev.Token, Text: ev.Text, Finish: ev.FinishReason, Model: ev.ResponseModel, Usage: ev.Usage}
				if len(ev.Data) > 0 {
					e.Data = string(ev.Data[:min(len(ev.Data), 60)])
				}
				if ev.Err != nil {
					e.ErrKind, e.ErrCode = ev.Err.Kind.String(), ev.Err.Code
					if provider.ContentFiltered(ev.Err) {
						e.ErrFilter = "content filtered"
					}
				}
				b, _ := json.Marshal(e)
				out.Write(append(b, '\n'))
			}
			golden(t, filepath.Join("testdata", name+".golden.jsonl"), out.Bytes())
		})
	}
}

// TestKeyScrubbed: a key Azure echoes in an error does not reach the
// caller.
func TestKeyScrubbed(t *testing.T) {
	f := &fakeAzure{status: 401, body: []byte(`{"error":{"code":"401","message":"Access denied for key azure-key-0123456789."}}`)}
	p := newFake(t, nil, f, nil)
	_, err := p.ChatCompletion(context.Background(), &provider.Request{Model: "d", Body: []byte(`{}`)})
	if err == nil || strings.Contains(err.Error(), "azure-key-0123456789") {
		t.Errorf("err = %v", err)
	}
}

// TestListDeployments: configured deployments are the model list, and
// Azure is not asked.
func TestListDeployments(t *testing.T) {
	f := &fakeAzure{status: 500}
	p := newFake(t, &provider.Azure{Deployments: map[string]string{"b": "gpt-4o", "a": "text-embedding-3-small"}}, f, nil)
	got, err := p.ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.Model{{ID: "a", OwnedBy: "azure"}, {ID: "b", OwnedBy: "azure"}}
	if diff := cmp.Diff(want, got); diff != "" || len(f.seen) != 0 {
		t.Errorf("models (-want +got):\n%s (requests: %d)", diff, len(f.seen))
	}
}

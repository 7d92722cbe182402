package credential_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/weirhq/weir/internal/credential"
	"github.com/weirhq/weir/internal/gateway"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/anthropic"
	"github.com/weirhq/weir/internal/provider/openai"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/secret"
	"github.com/weirhq/weir/internal/store/sqlite"
)

type memRecorder struct {
	mu   sync.Mutex
	recs []record.Record
}

func (m *memRecorder) Begin(*record.Record) error { return nil }
func (m *memRecorder) Finish(r *record.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, *r)
	return nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestGatewayUsesStoredKey runs the whole path: a key PUT through the
// handler is what the gateway sends upstream on the next call, a second
// PUT replaces it without a restart, and a provider that fails and echoes
// the key does not get it into the caller's answer, the record or the logs.
func TestGatewayUsesStoredKey(t *testing.T) {
	var got atomic.Value // the last key the upstream saw
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if key == "" {
			key = r.Header.Get("x-api-key")
		}
		got.Store(key)
		if strings.Contains(key, "revoked") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			// What a careless proxy does: echo the key, in both shapes.
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+key+`","type":"invalid_request_error","code":"invalid_api_key `+key+`"},"type":"error"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/v1/messages") {
			io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}`)
			return
		}
		io.WriteString(w, `{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	defer up.Close()

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := secret.FromEnv(func(string) (string, bool) {
		return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)), true
	})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := credential.New(context.Background(), credential.Options{
		Store: st, Box: b, Providers: []string{"vault", "claude"}, Stored: []string{"vault", "claude"}, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	// What app.BuildUpstreams does for a provider whose api_key is stored.
	oa, err := openai.New(provider.Config{Name: "vault", BaseURL: up.URL + "/v1", Key: creds.Key("vault")})
	if err != nil {
		t.Fatal(err)
	}
	an, err := anthropic.New(provider.Config{Name: "claude", BaseURL: up.URL, Key: creds.Key("claude")})
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{}
	gw := gateway.New(gateway.Options{
		Router: gateway.NewRouter([]*gateway.Upstream{
			{Name: "vault", Type: "openai", Adapter: oa, Models: []string{"m"}},
			{Name: "claude", Type: "anthropic", Adapter: an, Models: []string{"claude-x"}},
		}, nil),
		Recorder: rec, Log: log, MaxBodyBytes: 1 << 20, MaxLoggedBodyBytes: 1 << 20,
	})
	mux := http.NewServeMux()
	gw.Register(mux)
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		mux.Handle(m+" /api/v1/providers/{name}/credential", creds.Handler())
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	call := func(path, model string) (int, string) {
		t.Helper()
		body := `{"model":"` + model + `","max_tokens":5,"messages":[{"role":"user","content":"hello"}]}`
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	put := func(p, key string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", srv.URL+"/api/v1/providers/"+p+"/credential", strings.NewReader(`{"api_key":"`+key+`"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Contains(string(b), key) {
			t.Fatalf("PUT %s: %d %s", p, resp.StatusCode, b)
		}
	}

	// No key yet: a clear error, the provider never reached.
	status, body := call("/v1/chat/completions", "vault/m")
	if status != 503 || !strings.Contains(body, provider.CodeNoCredential) || got.Load() != nil {
		t.Errorf("before any key: %d %s (upstream saw %v)", status, body, got.Load())
	}

	secrets := []string{"sk-vault-first-111111", "sk-vault-second-222222", "sk-vault-revoked-333333", "sk-ant-claude-444444", "sk-ant-revoked-555555"}
	put("vault", secrets[0])
	if status, body := call("/v1/chat/completions", "vault/m"); status != 200 || got.Load() != secrets[0] {
		t.Errorf("first key: %d %s, upstream saw %v", status, body, got.Load())
	}
	put("vault", secrets[1])
	if status, _ := call("/v1/chat/completions", "vault/m"); status != 200 || got.Load() != secrets[1] {
		t.Errorf("replaced key: %d, upstream saw %v", status, got.Load())
	}
	put("claude", secrets[3])
	if status, body := call("/v1/messages", "claude/claude-x"); status != 200 || got.Load() != secrets[3] {
		t.Errorf("anthropic: %d %s, upstream saw %v", status, body, got.Load())
	}

	// The provider refuses and echoes the key.
	var answers []string
	put("vault", secrets[2])
	status, body = call("/v1/chat/completions", "vault/m")
	if status != 401 || got.Load() != secrets[2] || !strings.Contains(body, "Incorrect API key provided: [redacted]") {
		t.Errorf("revoked key: %d %s", status, body)
	}
	answers = append(answers, body)
	put("claude", secrets[4])
	status, body = call("/v1/messages", "claude/claude-x")
	if status != 401 || got.Load() != secrets[4] {
		t.Errorf("revoked anthropic key: %d %s", status, body)
	}
	answers = append(answers, body)

	recs, _ := json.Marshal(rec.recs)
	logged := logs.String()
	if !strings.Contains(logged, "call failed") {
		t.Fatalf("the failure was not logged, so the check below proves nothing: %s", logged)
	}
	for _, s := range secrets {
		for what, out := range map[string]string{"answer": strings.Join(answers, "\n"), "records": string(recs), "logs": logged} {
			if strings.Contains(out, s) {
				t.Errorf("%s show %q: %s", what, s, out)
			}
		}
	}
}

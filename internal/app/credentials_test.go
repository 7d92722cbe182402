package app

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weirhq/weir/internal/config"
)

// TestStoredProviderKey: a provider written api_key: stored calls with the
// key PUT through the API, a second PUT replaces it without a restart, and
// neither is in the data directory in clear.
func TestStoredProviderKey(t *testing.T) {
	t.Setenv("WEIR_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	var seen atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	defer up.Close()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("data_dir: "+dir+"\nproviders:\n  - {name: vault, type: openai, base_url: "+up.URL+"/v1, api_key: stored, price_as: none}\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	chat := `{"model":"vault/m","messages":[{"role":"user","content":"hi"}]}`
	if code, body := do("POST", "/v1/chat/completions", chat); code != 503 || !strings.Contains(body, "provider_credential_missing") {
		t.Errorf("before any key: %d %s", code, body)
	}
	for _, k := range []string{"sk-app-first-0001", "sk-app-second-0002"} {
		if code, body := do("PUT", "/api/v1/providers/vault/credential", `{"api_key":"`+k+`"}`); code != 200 || strings.Contains(body, k) {
			t.Fatalf("PUT: %d %s", code, body)
		}
		if code, body := do("POST", "/v1/chat/completions", chat); code != 200 || seen.Load() != "Bearer "+k {
			t.Errorf("call: %d %s, upstream saw %v", code, body, seen.Load())
		}
	}
	if code, body := do("GET", "/api/v1/providers/vault/credential", ""); code != 200 || !strings.Contains(body, `"status":"active"`) {
		t.Errorf("GET: %d %s", code, body)
	}
	a.Close(t.Context())
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), "sk-app-") {
				t.Errorf("%s holds a key in clear", p)
			}
		}
		return nil
	})
}

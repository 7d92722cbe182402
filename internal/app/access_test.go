package app

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
)

// TestApplicationKeys: an application's key lets its calls in with the
// application's team (not the header's), limits its models, rotates (two
// in force at most), is revoked at once, and never lands in the database
// in clear.
func TestApplicationKeys(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{"gpt-4o-mini": {OutputTokens: 3}, "gpt-4o": {OutputTokens: 3}}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	cfg.DataDir = t.TempDir()
	dir := cfg.DataDir
	a, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(t.Context())
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	do := func(method, path, body string, hdr map[string]string) (int, []byte, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	chat := func(key, model string) (int, string) {
		code, b, h := do("POST", "/v1/chat/completions", `{"model":"primary/`+model+`","messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"Authorization": "Bearer " + key, "X-Weir-Team": "someone-else", "Content-Type": "application/json"})
		_ = b
		return code, h.Get("X-Weir-Request-Id")
	}
	// Open before any key exists.
	if code, _ := chat("", "gpt-4o-mini"); code != 200 {
		t.Fatalf("open gateway: %d", code)
	}
	if code, b, _ := do("PUT", "/api/v1/applications/support-bot", `{"team":"support","environment":"prod","models":["gpt-4o-mini"]}`, nil); code != 200 {
		t.Fatalf("put application: %d %s", code, b)
	}
	newKey := func() (string, string) {
		code, b, h := do("POST", "/api/v1/applications/support-bot/keys", `{}`, nil)
		if code != 200 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("create key: %d %s", code, b)
		}
		var k struct{ ID, Secret, Prefix string }
		json.Unmarshal(b, &k)
		if !strings.HasPrefix(k.Secret, "weir_") || !strings.HasPrefix(k.Secret, k.Prefix) {
			t.Fatalf("key %s", b)
		}
		return k.ID, k.Secret
	}
	id1, k1 := newKey()
	// The gateway now requires a key.
	if code, _ := chat("", "gpt-4o-mini"); code != 401 {
		t.Errorf("no key: %d", code)
	}
	code, reqID := chat(k1, "gpt-4o-mini")
	if code != 200 {
		t.Fatalf("with the key: %d", code)
	}
	var rec struct {
		Team        string `json:"team"`
		Application string `json:"application"`
		APIKeyID    string `json:"api_key_id"`
	}
	for range 200 {
		code, b, _ := do("GET", "/api/v1/requests/"+reqID, "", nil)
		if code == 200 {
			json.Unmarshal(b, &rec)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rec.Team != "support" || rec.Application != "support-bot" || rec.APIKeyID != id1 {
		t.Errorf("attribution %+v: the key's application decides team and application", rec)
	}
	if code, _ := chat(k1, "gpt-4o"); code != 403 {
		t.Errorf("a model the application may not use: %d", code)
	}
	// Rotation: a second key; a third is refused until one is revoked.
	_, k2 := newKey()
	if code, b, _ := do("POST", "/api/v1/applications/support-bot/keys", `{}`, nil); code != 409 {
		t.Errorf("third key: %d %s", code, b)
	}
	if code, b, _ := do("DELETE", "/api/v1/keys/"+id1, "", nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if code, _ := chat(k1, "gpt-4o-mini"); code != 401 {
		t.Errorf("revoked key still works: %d", code)
	}
	if code, _ := chat(k2, "gpt-4o-mini"); code != 200 {
		t.Errorf("second key: %d", code)
	}
	if code, b, _ := do("POST", "/api/v1/applications/support-bot/keys", `{"expires_at":"2001-01-01"}`, nil); code != 400 {
		t.Errorf("expiry in the past: %d %s", code, b)
	}
	if code, b, _ := do("POST", "/api/v1/applications/nosuch/keys", `{}`, nil); code != 404 {
		t.Errorf("key of no application: %d %s", code, b)
	}
	code, b, _ := do("GET", "/api/v1/applications", "", nil)
	if code != 200 || bytes.Contains(b, []byte(k1)) || bytes.Contains(b, []byte(k2)) || !bytes.Contains(b, []byte(`"revoked_at":"`)) {
		t.Errorf("applications: %d %s", code, b)
	}
	// Hash-only storage: no secret anywhere in the data directory.
	a.Close(t.Context())
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(path)
		for _, k := range []string{k1, k2} {
			if bytes.Contains(data, []byte(k)) || bytes.Contains(data, []byte(k[5:])) {
				t.Errorf("%s holds a key in clear", path)
			}
		}
		return nil
	})
}

package credential

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/httpjson"
)

// serve registers h the way the management API does.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		mux.Handle(m+" /api/v1/providers/{name}/credential", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(audit.WithActor(r.Context(), audit.Actor{Kind: "user", Name: "carol"})))
		}))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHandler(t *testing.T) {
	st := openStore(t, t.TempDir())
	m := newManager(t, st, box(t, 1), nil)
	srv := serve(t, m.Handler())
	url := func(p string) string { return srv.URL + "/api/v1/providers/" + p + "/credential" }
	const key = "sk-handler-secret-42"
	tests := []struct {
		name, method, provider, body string
		status                       int
		code                         string // error code, or a substring of the answer
	}{
		{"get before any", "GET", "openai", "", 404, "not_found"},
		{"delete before any", "DELETE", "openai", "", 404, "not_found"},
		{"put", "PUT", "openai", `{"api_key":"` + key + `"}`, 200, `"updated_by":"carol"`},
		{"get", "GET", "openai", "", 200, `"status":"active"`},
		{"unknown provider", "PUT", "nowhere", `{"api_key":"` + key + `"}`, 404, "not_found"},
		{"unknown provider get", "GET", "nowhere", "", 404, "not_found"},
		{"not stored", "PUT", "local", `{"api_key":"` + key + `"}`, 409, "not_stored"},
		{"not json", "PUT", "openai", `api_key=` + key, 400, "invalid_request"},
		{"unknown field", "PUT", "openai", `{"api_key":"` + key + `","key":"` + key + `"}`, 400, "invalid_request"},
		{"two documents", "PUT", "openai", `{"api_key":"` + key + `"} {}`, 400, "invalid_request"},
		{"no api_key", "PUT", "openai", `{}`, 400, "api_key is required"},
		{"empty api_key", "PUT", "openai", `{"api_key":""}`, 400, "invalid_request"},
		{"number", "PUT", "openai", `{"api_key":42}`, 400, "invalid_request"},
		{"control character", "PUT", "openai", `{"api_key":"` + key + `\u0000"}`, 400, "control characters"},
		{"too large", "PUT", "openai", `{"api_key":"` + strings.Repeat("k", 70<<10) + `"}`, 413, "too_large"},
		{"delete", "DELETE", "openai", "", 204, ""},
		{"get after delete", "GET", "openai", "", 404, "not_found"},
	}
	for _, tt := range tests {
		status, body := do(t, tt.method, url(tt.provider), tt.body)
		if status != tt.status || !strings.Contains(body, tt.code) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, status, body, tt.status, tt.code)
		}
		if strings.Contains(body, "sk-handler") || strings.Contains(body, "kkkkkkkk") {
			t.Errorf("%s: the answer shows the key: %s", tt.name, body)
		}
		if status >= 400 {
			var e httpjson.ErrorBody
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Errorf("%s: not the error shape: %s", tt.name, body)
			}
		}
	}
	status, body := do(t, "PUT", url("openai"), `{"api_key":"`+key+`"}`)
	var info map[string]any
	json.Unmarshal([]byte(body), &info)
	if status != 200 || len(info) != 5 || info["provider"] != "openai" || info["key_id"] != box(t, 1).KeyID() {
		t.Errorf("PUT answer: %d %s", status, body)
	}
	if status, _ := do(t, "POST", url("openai"), ""); status != 405 {
		t.Errorf("POST: %d", status)
	}
	// The handler itself answers other methods with 405 and Allow.
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("PATCH", "/", nil))
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, PUT, DELETE" {
		t.Errorf("PATCH: %d %v", rec.Code, rec.Header())
	}
}

func TestHandlerNoMasterKey(t *testing.T) {
	st := openStore(t, t.TempDir())
	m, err := New(context.Background(), Options{Store: st, Providers: []string{"openai"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, m.Handler())
	status, body := do(t, "PUT", srv.URL+"/api/v1/providers/openai/credential", `{"api_key":"sk-nowhere-to-go"}`)
	if status != 503 || !strings.Contains(body, `"code":"master_key_unset"`) || !strings.Contains(body, "WEIR_MASTER_KEY") || strings.Contains(body, "sk-nowhere") {
		t.Errorf("PUT without a master key: %d %s", status, body)
	}
}

// TestNeverInClearOnDisk writes keys through the whole path (HTTP, the
// manager, SQLite), replaces and deletes one, and scans every file of the
// data directory (the database, its -wal and -shm) for them.
func TestNeverInClearOnDisk(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	m := newManager(t, st, box(t, 1), nil)
	srv := serve(t, m.Handler())
	keys := map[string]string{
		"openai":    "sk-proj-DISKSCAN-openai-0123456789abcdef",
		"anthropic": "sk-ant-api03-DISKSCAN-anthropic-0123456789",
	}
	replaced := "sk-proj-DISKSCAN-replaced-0123456789abcdef"
	for p, k := range map[string]string{"openai": replaced, "anthropic": keys["anthropic"]} {
		if status, body := do(t, "PUT", srv.URL+"/api/v1/providers/"+p+"/credential", `{"api_key":"`+k+`"}`); status != 200 {
			t.Fatalf("PUT %s: %d %s", p, status, body)
		}
	}
	if status, _ := do(t, "PUT", srv.URL+"/api/v1/providers/openai/credential", `{"api_key":"`+keys["openai"]+`"}`); status != 200 {
		t.Fatal("replace")
	}
	if status, _ := do(t, "DELETE", srv.URL+"/api/v1/providers/anthropic/credential", ""); status != 204 {
		t.Fatal("delete")
	}
	if status, _ := do(t, "PUT", srv.URL+"/api/v1/providers/anthropic/credential", `{"api_key":"`+keys["anthropic"]+`"}`); status != 200 {
		t.Fatal("put again")
	}
	if m.Key("openai")() != keys["openai"] {
		t.Fatal("the key is not in force")
	}
	scan := func(when string) {
		t.Helper()
		files, control := 0, false
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			// The control: what was written beside the key (updated_by)
			// is found, so the scan does see the data in clear.
			control = control || strings.Contains(string(b), "carol")
			for _, k := range []string{keys["openai"], keys["anthropic"], replaced, "DISKSCAN"} {
				if strings.Contains(string(b), k) {
					t.Errorf("%s: %s contains %q in clear", when, filepath.Base(path), k)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files == 0 || !control {
			t.Fatalf("%s: %d files scanned, control found: %v", when, files, control)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "weir.db-wal")); err != nil {
		t.Errorf("no -wal file to scan while open: %v", err)
	}
	scan("open")
	st.Close()
	scan("closed")
}

package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/config"
)

func TestAuditWiring(t *testing.T) {
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: "http://127.0.0.1:1/v1", PriceAs: "openai"}}
	srv := serveApp(t, cfg)
	req, _ := http.NewRequest("PUT", srv.URL+"/api/v1/limits/cap", strings.NewReader(`{"usd":10,"window":"day","mode":"block"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("put: %d %s", resp.StatusCode, b)
	resp, err = http.Get(srv.URL + "/api/v1/audit")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	t.Logf("audit: %d %s", resp.StatusCode, b)
	var page struct{ Entries []map[string]any }
	json.Unmarshal(b, &page)
	if resp.StatusCode != 200 || len(page.Entries) != 1 {
		t.Fatalf("audit %d %s", resp.StatusCode, b)
	}
	resp, _ = http.Get(srv.URL + "/api/v1/audit?bogus=1")
	b, _ = io.ReadAll(resp.Body)
	t.Logf("bad: %d %s", resp.StatusCode, b)
}

package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/config"
)

// TestDashboardMounted: browsers asking for / are sent to the dashboard,
// programs get the directory, and the dashboard answers under /ui/ with
// its static files (open mode: no people yet).
func TestDashboardMounted(t *testing.T) {
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: "http://127.0.0.1:1/v1", PriceAs: "openai"}}
	srv := serveApp(t, cfg)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("browser GET /: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range []struct{ path, want, ctype string }{
		{"/", `"dashboard":"/ui/"`, "application/json"},
		{"/ui/", "Overview", "text/html"},
		{"/ui/calls", "Calls", "text/html"},
		{"/ui/static/app.js", "", "javascript"},
		{"/ui/static/vendor/htmx.min.js", "", "javascript"},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), c.want) || !strings.Contains(resp.Header.Get("Content-Type"), c.ctype) {
			t.Errorf("GET %s: %d %s %.200s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
}

package app

// For the lead: drop into internal/app once "gemini" and "vertex" are in
// Providers() and priceAs maps both types to "google" (see
// /tmp/handoff/gemini-wiring.md). Verified against the tree at the time of
// writing with the wiring applied in a scratch copy.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/record"
)

// TestGeminiEndToEnd serves the app with a Gemini API provider and a Vertex
// AI provider against the simulator and checks the answers, the records and
// their cost at the google sheet's gemini-2.5-flash prices.
func TestGeminiEndToEnd(t *testing.T) {
	const model = "gemini-2.5-flash"
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 3, APIKey: "gemini-secret", Models: map[string]mock.Profile{
		model: {InputTokens: 11, CacheReadTokens: 20, OutputTokens: 8, ReasoningTokens: 4, ReasoningVisible: true},
	}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{
		{Name: "gemini", Type: "gemini", BaseURL: sim.URL + "/v1beta", APIKey: config.NewSecret("gemini-secret")},
		{Name: "vertex", Type: "vertex", BaseURL: sim.URL + "/v1/projects/acme/locations/us-central1", APIKey: config.NewSecret("gemini-secret")},
	}
	srv := serveApp(t, cfg)

	for _, p := range []string{"gemini", "vertex"} {
		for _, stream := range []bool{false, true} {
			body := `{"model":"` + p + `/` + model + `","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low"`
			if stream {
				body += `,"stream":true,"stream_options":{"include_usage":true}`
			}
			resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body+"}"))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s stream=%v: status %d: %s", p, stream, resp.StatusCode, raw)
			}
			if !strings.Contains(string(raw), `"prompt_tokens":31`) || !strings.Contains(string(raw), `"reasoning_tokens":4`) {
				t.Errorf("%s stream=%v: answer lacks the usage: %s", p, stream, raw)
			}
			if stream && !strings.HasSuffix(string(raw), "data: [DONE]\n\n") {
				t.Errorf("%s: stream does not end with [DONE]: %s", p, raw)
			}
			id := resp.Header.Get("X-Weir-Request-Id")
			var rec record.Record
			for range 100 { // the recorder writes in batches
				r, err := http.Get(srv.URL + "/api/v1/requests/" + id)
				if err != nil {
					t.Fatal(err)
				}
				err = json.NewDecoder(r.Body).Decode(&rec)
				r.Body.Close()
				if err == nil && r.StatusCode == 200 {
					break
				}
				rec = record.Record{}
				time.Sleep(20 * time.Millisecond)
			}
			if rec.Usage.InputTokens != 31 || rec.Usage.CacheReadTokens != 20 || rec.Usage.OutputTokens != 12 || rec.Usage.ReasoningTokens != 4 {
				t.Errorf("%s stream=%v: recorded usage %+v", p, stream, rec.Usage)
			}
			// gemini-2.5-flash per million: 0.30 input, 0.03 cache read, 2.50
			// output: 11*0.30 + 20*0.03 + 12*2.50 = 33.9 micro-dollars.
			if rec.CostUSD == nil || rec.CostUSD.Format(9) != "0.000033900" {
				t.Errorf("%s stream=%v: cost_usd = %v, want 0.0000339", p, stream, rec.CostUSD)
			}
		}
	}
}

package app

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

// TestBedrockEndToEnd serves the app with a bedrock provider signing with
// SigV4 (static keys) against the simulator, which checks the signatures,
// and checks the answers, the records and their cost: the regional
// inference profile id reaches the pricer, which applies the 10% premium.
func TestBedrockEndToEnd(t *testing.T) {
	const model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 3, APIKey: "bedrock-secret", Models: map[string]mock.Profile{
		model: {InputTokens: 10, OutputTokens: 5, CacheReadTokens: 20, CacheWriteTokens: 7, CacheWrite1hTokens: 3},
	}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "bedrock", Type: "bedrock", BaseURL: sim.URL, Region: "us-east-1",
		AWSAccessKeyID: config.NewSecret("AKIAWEIRTEST"), AWSSecretAccessKey: config.NewSecret("bedrock-secret")}}
	srv := serveApp(t, cfg)

	for _, stream := range []bool{false, true} {
		body := `{"model":"bedrock/` + model + `","messages":[{"role":"user","content":"hi"}]`
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
			t.Fatalf("stream=%v: status %d: %s", stream, resp.StatusCode, raw)
		}
		if !strings.Contains(string(raw), `"prompt_tokens":37`) || !strings.Contains(string(raw), `"cached_tokens":20`) {
			t.Errorf("stream=%v: answer lacks the usage: %s", stream, raw)
		}
		if stream && !strings.HasSuffix(string(raw), "data: [DONE]\n\n") {
			t.Errorf("stream does not end with [DONE]: %s", raw)
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
		if rec.Usage.InputTokens != 37 || rec.Usage.CacheReadTokens != 20 || rec.Usage.CacheWriteTokens != 7 || rec.Usage.CacheWrite1hTokens != 3 || rec.Usage.OutputTokens != 5 {
			t.Errorf("stream=%v: recorded usage %+v", stream, rec.Usage)
		}
		// Sonnet 4.5 list per million: 3 input, 0.30 cache read, 3.75 write 5m,
		// 6 write 1h, 15 output; x1.1 for the us. profile:
		// (10*3 + 20*0.3 + 4*3.75 + 3*6 + 5*15) * 1.1 / 1e6 = 0.0001584.
		if rec.CostUSD == nil || rec.CostUSD.Format(9) != "0.000158400" {
			t.Errorf("stream=%v: cost_usd = %v, want 0.0001584", stream, rec.CostUSD)
		}
	}
}

package app

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/reconcile"
)

// TestReconcileThroughTheAPI records calls through the simulator, then
// reconciles them with an OpenAI Costs API export whose amounts are worked
// out from the same token totals at OpenAI's list prices: within 1%; then
// with a bill 3% higher: outside.
func TestReconcileThroughTheAPI(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{
		"gpt-4o-mini": {OutputTokens: 200}, "gpt-4o": {OutputTokens: 50},
	}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	srv := serveApp(t, cfg)
	var ids []string
	for i := range 12 {
		model := []string{"gpt-4o-mini", "gpt-4o"}[i%2]
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"primary/`+model+`","messages":[{"role":"user","content":"a prompt of some length `+strings.Repeat("x ", i*50)+`"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ids = append(ids, resp.Header.Get("X-Weir-Request-Id"))
	}
	// Token totals per model from the records, as OpenAI's usage would have them.
	type tot struct{ in, out int64 }
	tokens := map[string]*tot{"gpt-4o-mini": {}, "gpt-4o": {}}
	for _, id := range ids {
		var rec struct {
			Model string `json:"model"`
			Usage struct {
				In  int64 `json:"input_tokens"`
				Out int64 `json:"output_tokens"`
			} `json:"usage"`
		}
		for range 200 {
			resp, err := http.Get(srv.URL + "/api/v1/requests/" + id)
			if err == nil && resp.StatusCode == 200 {
				json.NewDecoder(resp.Body).Decode(&rec)
				resp.Body.Close()
				break
			}
			if resp != nil {
				resp.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
		tokens[rec.Model].in += rec.Usage.In
		tokens[rec.Model].out += rec.Usage.Out
	}
	// List prices: gpt-4o-mini $0.15 / $0.60, gpt-4o $2.50 / $10 per million.
	amount := func(n int64, perMillion string, scale string) string {
		// A Decimal price counts nano-dollars per million tokens, which is
		// femto-dollars per token; scale is exact to 1e-9.
		m := new(big.Int).Mul(big.NewInt(n), big.NewInt(int64(*pricing.Dec(perMillion))))
		m.Mul(m, big.NewInt(int64(*pricing.Dec(scale))))
		m.Quo(m, big.NewInt(1e9))
		return pricing.Money(m.Int64()).Format(15)
	}
	bill := func(scale string) string {
		day := time.Now().UTC().Truncate(24 * time.Hour)
		return fmt.Sprintf(`{"object":"page","has_more":false,"data":[{"object":"bucket","start_time":%d,"end_time":%d,"results":[
			{"object":"organization.costs.result","amount":{"value":%s,"currency":"usd"},"line_item":"gpt-4o-mini-2024-07-18, input"},
			{"object":"organization.costs.result","amount":{"value":%s,"currency":"usd"},"line_item":"gpt-4o-mini-2024-07-18, output"},
			{"object":"organization.costs.result","amount":{"value":%s,"currency":"usd"},"line_item":"gpt-4o-2024-08-06, input"},
			{"object":"organization.costs.result","amount":{"value":%s,"currency":"usd"},"line_item":"gpt-4o-2024-08-06, output"}]}]}`,
			day.Unix(), day.Add(24*time.Hour).Unix(),
			amount(tokens["gpt-4o-mini"].in, "0.15", scale), amount(tokens["gpt-4o-mini"].out, "0.60", scale),
			amount(tokens["gpt-4o"].in, "2.50", scale), amount(tokens["gpt-4o"].out, "10", scale))
	}
	post := func(query, body, accept string) (int, []byte) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/costs/reconcile?"+query, strings.NewReader(body))
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := post("provider=openai", bill("1"), "")
	var rep reconcile.Report
	if err := json.Unmarshal(body, &rep); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	// The bill's dated snapshots and Weir's aliases meet on the catalog's
	// entries; every row matches exactly.
	if !rep.Within || rep.Totals.Matched != 2 || rep.Totals.BillOnly+rep.Totals.WeirOnly != 0 || rep.Totals.DiffUSD.String() != "0.000000" || rep.Totals.WeirCalls != 12 {
		t.Errorf("exact bill: %s", body)
	}
	code, body = post("provider=openai&tolerance=1", bill("1.03"), "text/plain")
	if code != 200 || !strings.Contains(string(body), "Verdict: outside 1% tolerance") || !strings.Contains(string(body), "-2.91%") {
		t.Errorf("bill 3%% higher: %d\n%s", code, body)
	}
	for _, bad := range []string{"provider=nosuch", "provider=anthropic", "provider=openai&colour=red", "provider=openai&tolerance=-1"} {
		if code, body := post(bad, bill("1"), ""); code != 400 {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	if code, body := post("provider=openai", `{"object":"page","data":[{`, ""); code != 400 || !strings.Contains(string(body), "invalid_query") {
		t.Errorf("malformed export: %d %s", code, body)
	}
}

package apptest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
)

// TestCostsRecorded: calls through the simulator, streamed and not, in
// both protocols, record the cost the price catalog gives for the usage
// recorded (the check anyone can make with the catalog); a model the
// catalog lacks is recorded unpriced, never as $0.
func TestCostsRecorded(t *testing.T) {
	e := start(t)
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	expect := func(t *testing.T, r record.Record, vendor string) {
		t.Helper()
		want, err := cat.Price(pricing.Query{Provider: vendor, Model: r.ResponseModel, At: r.ReceivedAt, Usage: r.Usage})
		if err != nil {
			t.Fatal(err)
		}
		total, ok := want.Amount()
		if !ok {
			t.Fatalf("the catalog does not price %s/%s", vendor, r.ResponseModel)
		}
		if r.CostUSD == nil || *r.CostUSD != total || r.Cost == nil || r.Cost.EntryID != want.EntryID || *r.Cost != want {
			t.Errorf("%s %s: recorded cost_usd %v cost %+v, catalog says %v (%+v)", r.Endpoint, r.ResponseModel, r.CostUSD, r.Cost, total, want)
		}
		if total <= 0 {
			t.Errorf("priced call at %v", total)
		}
	}
	calls := []struct {
		name, path, body, vendor string
		hdr                      []string
		check                    func(t *testing.T, r record.Record)
	}{
		{"openai non-stream", "/v1/chat/completions", `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, "openai", nil,
			func(t *testing.T, r record.Record) {
				if r.Usage.CacheReadTokens != 1024 || r.Cost.CacheRead == 0 {
					t.Errorf("cached reads not priced apart: %+v %+v", r.Usage, r.Cost)
				}
			}},
		{"openai stream", "/v1/chat/completions", `{"model":"openai/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "openai", nil, nil},
		{"anthropic native stream", "/v1/messages", `{"model":"anthropic/claude-sonnet-4-5","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`, "anthropic", []string{"anthropic-version", "2023-06-01"},
			func(t *testing.T, r record.Record) {
				// Cache writes are reported only in message_start: they must be counted and priced.
				if r.Usage.CacheWriteTokens != 900 || r.Usage.CacheWrite1hTokens != 300 || r.Cost.CacheWrite5m == 0 || r.Cost.CacheWrite1h == 0 {
					t.Errorf("cache writes from message_start: usage %+v cost %+v", r.Usage, r.Cost)
				}
			}},
		{"anthropic non-stream", "/v1/messages", `{"model":"anthropic/claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`, "anthropic", []string{"anthropic-version", "2023-06-01"}, nil},
		{"anthropic translated stream", "/v1/chat/completions", `{"model":"anthropic/claude-sonnet-4-5","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "anthropic", nil, nil},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			resp, body := httpPost(t, e.base+c.path, c.body, c.hdr...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			r := e.record(t, resp.Header.Get("x-weir-request-id"))
			expect(t, r, c.vendor)
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
	t.Run("totals and unpriced models", func(t *testing.T) {
		resp, _ := httpPost(t, e.base+"/v1/chat/completions", `{"model":"openai/steady","messages":[{"role":"user","content":"hi"}]}`)
		e.record(t, resp.Header.Get("x-weir-request-id")) // stored, so the totals see it
		var totals struct {
			Totals []struct {
				Key                          string
				Calls, PricedCalls, Unpriced int64
				CostUSD                      pricing.Money `json:"cost_usd"`
			}
		}
		getJSON(t, e.base+"/api/v1/costs?group_by=provider", &totals)
		byKey := map[string]pricing.Money{}
		for _, row := range totals.Totals {
			byKey[row.Key] = row.CostUSD
		}
		if byKey["openai"] <= 0 || byKey["anthropic"] <= 0 {
			t.Errorf("cost totals by provider: %+v", totals)
		}
		var unpriced struct {
			Models []struct {
				Provider, Model string
				Calls           int64
			}
		}
		getJSON(t, e.base+"/api/v1/costs/unpriced", &unpriced)
		if len(unpriced.Models) != 1 || unpriced.Models[0].Model != "steady" || unpriced.Models[0].Calls < 1 {
			t.Errorf("unpriced models: %+v", unpriced)
		}
	})

	t.Run("unpriced model", func(t *testing.T) {
		resp, body := httpPost(t, e.base+"/v1/chat/completions", `{"model":"openai/steady","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		r := e.record(t, resp.Header.Get("x-weir-request-id"))
		if r.CostUSD != nil || r.Cost == nil || !strings.Contains(r.Cost.Unpriced.String(), "input_tokens") {
			t.Errorf("unpriced call: cost_usd %v cost %+v", r.CostUSD, r.Cost)
		}
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(v)
		resp.Body.Close()
		if resp.StatusCode == 200 && err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

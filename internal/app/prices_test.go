package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/pricing"
)

// TestPricesThroughTheAPI: a price entry added through the API prices the
// next calls, re-pricing applies it to the calls already recorded with an
// audit trail, it survives a restart, and deleting it restores list prices.
func TestPricesThroughTheAPI(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 1, Models: map[string]mock.Profile{"gpt-4o-mini": {OutputTokens: 1000}}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Providers = []config.Provider{
		{Name: "sim", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"},
		{Name: "ptu", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "azure"},
	}
	cfg.Pricing.Commitments = []pricing.Commitment{{Name: "ptu-month", Provider: "ptu", Fee: *pricing.Dec("3000"), Period: "month", From: pricing.DateOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}
	log := slog.New(slog.DiscardHandler)
	a, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	// Changes are made as a finance person with a management token.
	ctx := context.Background()
	if _, _, err := a.people.CreatePerson(ctx, "finance@acme", auth.PersonInput{Role: "finance"}, ""); err != nil {
		t.Fatal(err)
	}
	tok, err := a.people.CreateToken(ctx, auth.Principal{Person: "finance@acme", Role: auth.Finance}, auth.TokenInput{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	bearer := "Bearer " + tok.Secret
	call := func(model string) string {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("X-Weir-Request-Id")
	}
	do := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		var out map[string]any
		json.Unmarshal(b, &out)
		return out
	}
	recorded := func(id string) map[string]any {
		t.Helper()
		for range 200 {
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/requests/"+id, nil)
			req.Header.Set("Authorization", bearer)
			resp, err := http.DefaultClient.Do(req)
			if err == nil && resp.StatusCode == 200 {
				var rec map[string]any
				json.NewDecoder(resp.Body).Decode(&rec)
				resp.Body.Close()
				return rec
			}
			if resp != nil {
				resp.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("call %s never recorded", id)
		return nil
	}

	before := call("sim/gpt-4o-mini")
	rec := recorded(before)
	listCost := rec["cost_usd"].(float64)
	if rec["cost"].(map[string]any)["entry_id"] != "openai/gpt-4o-mini" || rec["cost"].(map[string]any)["price_as"] != "openai" {
		t.Fatalf("list-priced call: %v", rec["cost"])
	}

	// A negotiated price through the API: half the list price, since always.
	put := do("PUT", "/api/v1/prices/custom/acme/gpt-4o-mini", `{"provider":"openai","entry":{"match":{"exact":["gpt-4o-mini"]},"prices":{"input":0.075,"output":0.30}}}`, 200)
	if put["version"].(float64) != 1 || !strings.HasPrefix(put["changed_by"].(string), "finance@acme (token mtk_") || put["id"] != "acme/gpt-4o-mini" {
		t.Errorf("put: %v", put)
	}
	do("PUT", "/api/v1/prices/custom/bad", `{"provider":"openai","entry":{"match":{"exact":["x"]}}}`, 400)
	do("PUT", "/api/v1/prices/custom/bad", `{"provider":"nosuch","entry":{"match":{"exact":["x"]},"prices":{"input":1}}}`, 400)
	do("PUT", "/api/v1/prices/custom/bad", `{"provider":"openai","entry":{"id":"other","match":{"exact":["x"]},"prices":{"input":1}}}`, 400)
	do("PUT", "/api/v1/prices/custom/bad", `{"provider":"openai","entry":{"match":{"exact":["x"]},"prices":{"input":1}},"extra":1}`, 400)

	after := call("sim/gpt-4o-mini")
	rec = recorded(after)
	if got := rec["cost_usd"].(float64); fmt.Sprintf("%.9f", got) != fmt.Sprintf("%.9f", listCost/2) {
		t.Errorf("call after the new price: $%v, want half of $%v", got, listCost)
	}
	if c := rec["cost"].(map[string]any); c["entry_id"] != "api:acme/gpt-4o-mini" || c["negotiated"] != true || !strings.HasSuffix(c["catalog_version"].(string), "+api") {
		t.Errorf("cost after the new price: %v", c)
	}
	list := do("GET", "/api/v1/prices?provider=openai&model=gpt-4o-mini", "", 200)
	if e := list["entries"].([]any)[0].(map[string]any); e["id"] != "api:acme/gpt-4o-mini" || e["source"] != "api" {
		t.Errorf("prices list starts with %v", e)
	}

	// Re-pricing the day applies it to the call made before.
	// An hour either side of now: never split by midnight.
	day := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	tomorrow := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	res := do("POST", "/api/v1/costs/reprice", `{"from":"`+day+`","to":"`+tomorrow+`","reason":"acme agreement","dry_run":true}`, 200)
	if res["changed"].(float64) != 1 || res["unchanged"].(float64) != 1 {
		t.Errorf("dry run: %v", res)
	}
	res = do("POST", "/api/v1/costs/reprice", `{"from":"`+day+`","to":"`+tomorrow+`","reason":"acme agreement"}`, 200)
	if res["changed"].(float64) != 1 {
		t.Errorf("run: %v", res)
	}
	do("POST", "/api/v1/costs/reprice", `{"from":"`+day+`","to":"`+tomorrow+`"}`, 400)
	if rec = recorded(before); rec["cost"].(map[string]any)["entry_id"] != "api:acme/gpt-4o-mini" {
		t.Errorf("re-priced call: %v", rec["cost"])
	}
	revs := do("GET", "/api/v1/costs/revisions?request_id="+before, "", 200)["revisions"].([]any)
	if len(revs) != 1 || revs[0].(map[string]any)["old_cost_usd"].(float64) != listCost || revs[0].(map[string]any)["reason"] != "acme agreement" {
		t.Errorf("revisions: %v", revs)
	}

	// Committed capacity: calls to ptu cost 0 on demand and share its fee.
	covered := call("ptu/gpt-4o-mini")
	if c := recorded(covered); c["cost_usd"].(float64) != 0 || c["cost"].(map[string]any)["commitment"] != "ptu-month" {
		t.Errorf("covered call: %v %v", c["cost_usd"], c["cost"])
	}
	// A range inside this month, so that one period overlaps it.
	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	cfrom, cto := max(now.Add(-time.Hour).Unix(), month.Unix()), min(now.Add(time.Hour).Unix(), month.AddDate(0, 1, 0).Unix())
	rep := do("GET", fmt.Sprintf("/api/v1/costs/commitments?from=%d&to=%d&group_by=model", cfrom, cto), "", 200)
	cm := rep["commitments"].([]any)[0].(map[string]any)
	// The one call in the month so far carries the whole month's fee.
	if cm["calls"].(float64) != 1 || cm["fee_usd"].(float64) != 3000 || cm["allocated_usd"].(float64) != 3000 || cm["periods"].(float64) != 1 {
		t.Errorf("commitment report: %v", cm)
	}
	do("GET", "/api/v1/costs/commitments?from="+day, "", 400)

	// The entry survives a restart; deleting it restores list prices.
	srv.Close()
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err = New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	srv = httptest.NewServer(a.Handler())
	defer srv.Close()
	if es := do("GET", "/api/v1/prices/custom", "", 200)["entries"].([]any); len(es) != 1 {
		t.Errorf("entries after restart: %v", es)
	}
	do("DELETE", "/api/v1/prices/custom/acme/gpt-4o-mini", "", 200)
	do("DELETE", "/api/v1/prices/custom/acme/gpt-4o-mini", "", 404)
	if h := do("GET", "/api/v1/prices/custom/acme/gpt-4o-mini", "", 200)["versions"].([]any); len(h) != 2 || h[1].(map[string]any)["entry"] != nil {
		t.Errorf("history: %v", h)
	}
	third := call("sim/gpt-4o-mini")
	if got := recorded(third)["cost_usd"].(float64); got != listCost {
		t.Errorf("call after delete: $%v, want the list price $%v", got, listCost)
	}
	do("PATCH", "/api/v1/prices/custom/x", "", 405)
}

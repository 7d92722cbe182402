package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/tokencount"
)

type fakeReader struct{ last store.RequestQuery }

func (f *fakeReader) GetRequest(_ context.Context, id string) (record.Record, error) {
	if id != "req_1" {
		return record.Record{}, fmt.Errorf("get %s: %w", id, store.ErrNotFound)
	}
	return record.Record{ID: "req_1", Provider: "openai"}, nil
}

func (f *fakeReader) ListRequests(_ context.Context, q store.RequestQuery) (store.RequestPage, error) {
	f.last = q
	if q.Cursor == "bad" {
		return store.RequestPage{}, fmt.Errorf("cursor: %w", store.ErrInvalidQuery)
	}
	return store.RequestPage{Requests: []record.Record{{ID: "req_1"}}, NextCursor: "c2"}, nil
}

func serve(t *testing.T) (*httptest.Server, *fakeReader) {
	fr := &fakeReader{}
	mux := http.NewServeMux()
	New(Options{Requests: fr, Config: func() any { return map[string]string{"listen": "x"} }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, fr
}

func get(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRequests(t *testing.T) {
	srv, fr := serve(t)
	if code, body := get(t, srv.URL+"/api/v1/requests/req_1"); code != 200 || !strings.Contains(body, `"provider":"openai"`) {
		t.Errorf("get: %d %s", code, body)
	}
	if code, body := get(t, srv.URL+"/api/v1/requests/req_2"); code != 404 || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("missing: %d %s", code, body)
	}
	code, body := get(t, srv.URL+"/api/v1/requests?use_case=support&from=2026-11-01T00:00:00Z&to=1798761600&limit=10&status=200")
	var page store.RequestPage
	json.Unmarshal([]byte(body), &page)
	if code != 200 || page.NextCursor != "c2" || len(page.Requests) != 1 {
		t.Errorf("list: %d %s", code, body)
	}
	want := store.RequestQuery{UseCase: "support", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Unix(1798761600, 0), Limit: 10, Status: 200}
	if !fr.last.From.Equal(want.From) || !fr.last.To.Equal(want.To) || fr.last.UseCase != "support" || fr.last.Limit != 10 || fr.last.Status != 200 {
		t.Errorf("query = %+v", fr.last)
	}
	for _, q := range []string{"from=yesterday", "limit=ten", "cursor=bad", "colour=red"} {
		if code, body := get(t, srv.URL+"/api/v1/requests?"+q); code != 400 || !strings.Contains(body, "invalid_query") {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	if code, _ := get(t, srv.URL+"/api/v1/nothing"); code != 404 {
		t.Errorf("unknown route: %d", code)
	}
	resp, err := http.Post(srv.URL+"/api/v1/requests", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST /api/v1/requests: %d", resp.StatusCode)
	}
}

func TestQuote(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(Options{Requests: &fakeReader{}, Quoter: cat}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(body string) (int, string) {
		resp, err := http.Post(srv.URL+"/api/v1/cost/quote", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// claude-sonnet-4-5 at list price: 1,000 uncached input at $3/M = $0.003,
	// 2,000 cache reads at $0.30/M = $0.0006, 500 output at $15/M = $0.0075.
	code, body := post(`{"provider":"anthropic","model":"claude-sonnet-4-5","at":"2026-11-01T00:00:00Z","usage":{"input_tokens":3000,"cache_read_tokens":2000,"output_tokens":500}}`)
	if code != 200 || !strings.Contains(body, `"cost_usd":0.0111`) {
		t.Errorf("quote: %d %s", code, body)
	}
	code, body = post(`{"provider":"anthropic","model":"no-such-model","usage":{"input_tokens":10}}`)
	if code != 200 || !strings.Contains(body, `"cost_usd":null`) || !strings.Contains(body, `"unpriced_units":["input_tokens"]`) {
		t.Errorf("unpriced quote: %d %s", code, body)
	}
	for _, bad := range []string{`{"provider":"anthropic"}`, `{"provider":"a","model":"m","usage":{"input_tokens":-1}}`, `{"provider":"a","model":"m","colour":1}`, `[`} {
		if code, body := post(bad); code != 400 || !strings.Contains(body, "invalid_request") {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
}

func TestPrices(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(Options{Requests: &fakeReader{}, Catalog: func() *pricing.Catalog { return cat }}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, body := get(t, srv.URL+"/api/v1/prices?provider=anthropic&model=claude-sonnet-4-5&at=2026-11-01T00:00:00Z")
	var list PriceList
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if len(list.Entries) != 1 || list.Entries[0].ID != "anthropic/claude-sonnet-4-5" || !strings.Contains(body, `"input":3,`) || list.CatalogVersion == "" {
		t.Errorf("entry in force: %s", body)
	}
	code, body = get(t, srv.URL+"/api/v1/prices?provider=openai")
	json.Unmarshal([]byte(body), &list)
	if code != 200 || len(list.Entries) < 10 {
		t.Errorf("openai entries: %d, %d entries", code, len(list.Entries))
	}
	for _, q := range []string{"colour=red", "at=someday"} {
		if code, _ := get(t, srv.URL+"/api/v1/prices?"+q); code != 400 {
			t.Errorf("%s: %d", q, code)
		}
	}
}

func TestEstimate(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	tc := tokencount.New()
	mux := http.NewServeMux()
	New(Options{Requests: &fakeReader{}, Quoter: cat, Counter: tc}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(body string) (int, string) {
		resp, err := http.Post(srv.URL+"/api/v1/cost/estimate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	chat := `{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"Hello, world!"}]}`
	in, _ := tc.ChatInput([]byte(chat))
	code, body := post(`{"provider":"openai","model":"gpt-4o-mini","at":"2026-11-01T00:00:00Z","request":` + chat + `}`)
	var est Estimate
	if err := json.Unmarshal([]byte(body), &est); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	// gpt-4o-mini: $0.15/M input, $0.60/M output; max_tokens 100 bounds
	// the output, and caps the typical 512.
	min := pricing.Money(in) * 150 * pricing.Nano // $0.15/M = 150 nano-dollars a token
	max := min + 100*600*pricing.Nano
	if est.InputTokens != int64(in) || est.MaxOutputTokens != 100 || est.TypicalOutputTokens != 100 ||
		est.CostUSDMin == nil || *est.CostUSDMin != min || est.CostUSDMax == nil || *est.CostUSDMax != max || *est.CostUSDTypical != max {
		t.Errorf("estimate = %s; want min %v max %v", body, min, max)
	}
	code, body = post(`{"provider":"openai","model":"gpt-4o-mini","request":{"messages":[{"role":"user","content":"x"}]}}`)
	if code != 200 || !strings.Contains(body, `"cost_usd_max":null`) || !strings.Contains(body, `"typical_output_tokens":512`) {
		t.Errorf("unbounded output: %d %s", code, body)
	}
	for _, bad := range []string{`{"provider":"openai","model":"m"}`, `{"provider":"openai","model":"m","endpoint":"images","request":{}}`, `{"provider":"openai","model":"m","request":{"messages":5}}`} {
		if code, body := post(bad); code != 400 {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
}

type fakeCosts struct{ last store.CostQuery }

func (f *fakeCosts) UnpricedModels(_ context.Context, q store.CostQuery) ([]store.UnpricedModel, error) {
	f.last = q
	return nil, nil
}

func (f *fakeCosts) CostTotals(_ context.Context, q store.CostQuery) ([]store.CostTotal, error) {
	f.last = q
	if _, err := q.Plan(); err != nil {
		return nil, err
	}
	return []store.CostTotal{{Key: "openai", Calls: 2, PricedCalls: 2}}, nil
}

func TestCosts(t *testing.T) {
	fc := &fakeCosts{}
	mux := http.NewServeMux()
	New(Options{Requests: &fakeReader{}, Costs: fc}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, body := get(t, srv.URL+"/api/v1/costs?group_by=provider&from=2026-11-01T00:00:00Z&limit=5")
	if code != 200 || !strings.Contains(body, `"key":"openai"`) || fc.last.GroupBy != "provider" || fc.last.Limit != 6 || fc.last.From.IsZero() {
		t.Errorf("totals: %d %s %+v", code, body, fc.last)
	}
	if code, body := get(t, srv.URL+"/api/v1/costs/unpriced"); code != 200 || body != "{\"models\":[]}\n" {
		t.Errorf("unpriced: %d %q", code, body)
	}
	code, body = get(t, srv.URL+"/api/v1/costs?group_by=day&then_by=model&provider=openai&team=cx&use_case=bot&user=u&account=a&model=m")
	want := store.CostQuery{GroupBy: "day", ThenBy: "model", Provider: "openai", Team: "cx", UseCase: "bot", User: "u", Account: "a", Model: "m", Limit: store.DefaultLimit + 1}
	if code != 200 || fc.last != want {
		t.Errorf("filters: %d %s %+v", code, body, fc.last)
	}
	for _, q := range []string{"/api/v1/costs?group_by=colour", "/api/v1/costs?colour=x", "/api/v1/costs?team=a&team=b", "/api/v1/costs?then_by=model",
		"/api/v1/costs/unpriced?group_by=model", "/api/v1/costs/unpriced?team=x", "/api/v1/costs?to=never"} {
		if code, body := get(t, srv.URL+q); code != 400 || !strings.Contains(body, "invalid_query") {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
}

type fakeHistory map[string]int64

func (f fakeHistory) TypicalOutput(_ context.Context, model string) (int64, int64, bool) {
	n, ok := f[model]
	return n, 40, ok
}

func TestEstimateTypicalFromHistory(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	tc := tokencount.New()
	mux := http.NewServeMux()
	New(Options{Requests: &fakeReader{}, Quoter: cat, Counter: tc, History: fakeHistory{"gpt-4o-mini": 220}}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	est := func(model, maxTokens string) Estimate {
		resp, err := http.Post(srv.URL+"/api/v1/cost/estimate", "application/json", strings.NewReader(
			`{"provider":"openai","model":"`+model+`","at":"2026-11-01T00:00:00Z","request":{"model":"x",`+maxTokens+`"messages":[{"role":"user","content":"hi"}]}}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e Estimate
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %v", resp.StatusCode, err)
		}
		return e
	}
	// History says 220: the typical cost uses it, 220 * $0.60/M more than
	// the prompt alone.
	e := est("gpt-4o-mini", "")
	if e.TypicalOutputTokens != 220 || e.TypicalFrom != "history" || e.HistoryCalls != 40 || *e.CostUSDTypical-*e.CostUSDMin != 220*600*pricing.Nano {
		t.Errorf("history: %+v", e)
	}
	// max_tokens still caps it.
	if e := est("gpt-4o-mini", `"max_tokens":100,`); e.TypicalOutputTokens != 100 {
		t.Errorf("capped: %+v", e)
	}
	// No history: the default.
	if e := est("gpt-4o", ""); e.TypicalOutputTokens != DefaultTypicalOutput || e.TypicalFrom != "default" {
		t.Errorf("default: %+v", e)
	}
}

type manyCosts struct{ *fakeCosts }

func (manyCosts) CostTotals(_ context.Context, q store.CostQuery) ([]store.CostTotal, error) {
	out := make([]store.CostTotal, min(q.Limit, 3))
	for i := range out {
		out[i].Key = fmt.Sprint(i)
	}
	return out, nil
}

func TestCostsTruncated(t *testing.T) {
	mux := http.NewServeMux()
	New(Options{Requests: &fakeReader{}, Costs: manyCosts{&fakeCosts{}}}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for limit, want := range map[string]string{"2": `"truncated":true`, "3": `"truncated":false`, "10": `"truncated":false`} {
		if code, body := get(t, srv.URL+"/api/v1/costs?group_by=model&limit="+limit); code != 200 || !strings.Contains(body, want) {
			t.Errorf("limit %s: %d %s", limit, code, body)
		}
	}
	if code, _ := get(t, srv.URL+"/api/v1/costs?limit=-1"); code != 400 {
		t.Errorf("negative limit: %d", code)
	}
}

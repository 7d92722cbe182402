package app

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
)

// TestBlockLimitUnderConcurrency: 48 concurrent callers against a use-case
// limit of a few calls' cost. Calls past the limit are refused before
// reaching the provider with 403 budget_exceeded and recorded as blocked;
// the spend of the admitted calls stays within the limit plus what the
// calls in flight could add.
func TestBlockLimitUnderConcurrency(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 5, Models: map[string]mock.Profile{"gpt-4o": {OutputTokens: 100}}}, nil))
	defer sim.Close()
	var hooks atomic.Int64
	var hookBody atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookBody.Store(string(b))
		hooks.Add(1)
	}))
	defer hook.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	cfg.Alerts.Webhooks = []config.Webhook{{Name: "ops", URL: config.NewSecret(hook.URL)}}
	srv := serveApp(t, cfg)
	do := func(method, path, body string, hdr map[string]string) (int, []byte) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// One call: a short prompt and 100 output tokens of gpt-4o (at $10 per
	// million: $0.001) plus the prompt: about $0.00105. A $0.01 limit admits
	// about nine.
	if code, b := do("PUT", "/api/v1/limits/chat-budget", `{"match":{"use_case":"chat"},"usd":0.01,"window":"day","mode":"block"}`, nil); code != 200 {
		t.Fatalf("put limit: %d %s", code, b)
	}
	const callers = 48
	var ok, blocked atomic.Int64
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, b := do("POST", "/v1/chat/completions", `{"model":"primary/gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"hello number `+fmt.Sprint(i)+`"}]}`,
				map[string]string{"Content-Type": "application/json", "X-Weir-Use-Case": "chat"})
			switch {
			case code == 200:
				ok.Add(1)
			case code == 403 && strings.Contains(string(b), `"code":"budget_exceeded"`) && strings.Contains(string(b), `chat-budget`):
				blocked.Add(1)
			default:
				t.Errorf("call: %d %s", code, b)
			}
		}()
	}
	wg.Wait()
	if ok.Load() == 0 || blocked.Load() == 0 || ok.Load()+blocked.Load() != callers {
		t.Fatalf("%d admitted, %d blocked", ok.Load(), blocked.Load())
	}
	// Read the records back: every admitted call's cost, and the blocked
	// ones recorded with their error kind and no cost.
	var recs []struct {
		Status    int         `json:"status"`
		ErrorKind string      `json:"error_kind"`
		Cost      json.Number `json:"cost_usd"`
	}
	for range 200 {
		code, b := do("GET", "/api/v1/requests?use_case=chat&limit=100", "", nil)
		var page struct {
			Requests []struct {
				Status    int         `json:"status"`
				ErrorKind string      `json:"error_kind"`
				Cost      json.Number `json:"cost_usd"`
			}
		}
		if code == 200 && json.Unmarshal(b, &page) == nil && len(page.Requests) == callers {
			recs = page.Requests
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(recs) != callers {
		t.Fatalf("%d of %d calls recorded", len(recs), callers)
	}
	spent, maxCall := new(big.Rat), new(big.Rat)
	nBlocked := 0
	for _, r := range recs {
		if r.ErrorKind == "budget_exceeded" {
			nBlocked++
			if r.Status != 403 || r.Cost != "" {
				t.Errorf("blocked call recorded as %d, cost %q", r.Status, r.Cost)
			}
			continue
		}
		c, _ := new(big.Rat).SetString(string(r.Cost))
		spent.Add(spent, c)
		if c.Cmp(maxCall) > 0 {
			maxCall.Set(c)
		}
	}
	t.Logf("%d admitted, %d blocked; admitted calls spent $%s (largest $%s) against a $0.01 limit", ok.Load(), blocked.Load(), spent.FloatString(6), maxCall.FloatString(6))
	limit := big.NewRat(1, 100)
	// At most the limit, plus what the estimates of calls in flight could
	// understate (the prompt's tokens are counted locally): one call's cost.
	bound := new(big.Rat).Add(limit, maxCall)
	if spent.Cmp(bound) > 0 || int64(nBlocked) != blocked.Load() {
		t.Errorf("spent $%s with %d blocked; limit $0.01, bound $%s", spent.FloatString(6), nBlocked, bound.FloatString(6))
	}
	// And the limit is nearly used: the refusals were needed.
	if new(big.Rat).Add(spent, new(big.Rat).Mul(maxCall, big.NewRat(2, 1))).Cmp(limit) < 0 {
		t.Errorf("spent only $%s of $0.01", spent.FloatString(6))
	}
	code, b := do("GET", "/api/v1/limits", "", nil)
	if code != 200 || !strings.Contains(string(b), `"state":"blocked"`) && !strings.Contains(string(b), `"state":"warning"`) {
		t.Errorf("limit states: %d %s", code, b)
	}
	// The refusals raised an alert, listed and delivered to the webhook.
	code, b = do("GET", "/api/v1/alerts?kind=limit_exceeded", "", nil)
	if code != 200 || !strings.Contains(string(b), `"rule":"chat-budget"`) || !strings.Contains(string(b), `"severity":"critical"`) {
		t.Errorf("alerts: %d %s", code, b)
	}
	for i := 0; i < 200 && hooks.Load() == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if hooks.Load() == 0 || !strings.Contains(hookBody.Load().(string), "chat-budget") {
		t.Errorf("webhook got %d deliveries", hooks.Load())
	}
	// A reset lets calls through again, with the history kept.
	if code, b := do("POST", "/api/v1/limits/chat-budget/reset", `{"note":"approved extra"}`, nil); code != 200 {
		t.Fatalf("reset: %d %s", code, b)
	}
	if code, b := do("GET", "/api/v1/limits/chat-budget", "", nil); code != 200 || !strings.Contains(string(b), `"note":"approved extra"`) {
		t.Errorf("limit history: %d %s", code, b)
	}
	if code, b := do("POST", "/v1/chat/completions", `{"model":"primary/gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"after reset"}]}`,
		map[string]string{"Content-Type": "application/json", "X-Weir-Use-Case": "chat"}); code != 200 {
		t.Errorf("after reset: %d %s", code, b)
	}
	// Other use cases are not limited.
	if code, _ := do("POST", "/v1/chat/completions", `{"model":"primary/gpt-4o","messages":[{"role":"user","content":"x"}]}`,
		map[string]string{"Content-Type": "application/json", "X-Weir-Use-Case": "other"}); code != 200 {
		t.Errorf("other use case: %d", code)
	}
}

// TestPerInstanceLimit: "each support chat may spend at most one call".
func TestPerInstanceLimit(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 5, Models: map[string]mock.Profile{"gpt-4o": {OutputTokens: 100}}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "primary", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	srv := serveApp(t, cfg)
	put := func(body string, want int) {
		req, _ := http.NewRequest("PUT", srv.URL+"/api/v1/limits/per-chat", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("put limit: %d %s", resp.StatusCode, b)
		}
	}
	put(`{"match":{"use_case":"support"},"per":"colour","usd":1,"window":"day","mode":"block"}`, 400)
	put(`{"match":{"use_case":"support"},"per":"instance","usd":0.0015,"window":"lifetime","mode":"block"}`, 200)
	call := func(inst string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"primary/gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Weir-Use-Case", "support")
		req.Header.Set("X-Weir-Use-Case-Instance", inst)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// About $0.00101 a call: the first of each chat passes, the second not.
	if call("chat-1") != 200 || call("chat-1") != 403 || call("chat-2") != 200 || call("chat-2") != 403 {
		t.Error("per-instance limit not applied per instance")
	}
}

func TestForecastAPI(t *testing.T) {
	srv := serveApp(t, config.Default())
	resp, err := http.Get(srv.URL + "/api/v1/forecast?use_case=x&time_zone=Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"forecast_total_usd":0`) || !strings.Contains(string(b), `"method"`) {
		t.Errorf("forecast: %d %s", resp.StatusCode, b)
	}
	for _, q := range []string{"?time_zone=Mars/Olympus", "?colour=red"} {
		resp, err := http.Get(srv.URL + "/api/v1/forecast" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d", q, resp.StatusCode)
		}
	}
}

package apptest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/apptest"
	"github.com/weirhq/weir/internal/store"
)

func stringsContains(s, sub string) bool { return strings.Contains(s, sub) }

// TestMetrics checks /metrics against calls with scripted timings.
func TestMetrics(t *testing.T) {
	e := start(t)
	attempt := 0
	timed(t, func(c errorfer) {
		attempt++
		useCase := fmt.Sprintf("metrics-check-%d", attempt)
		for i := 0; i < 3; i++ {
			resp, body := httpPost(t, e.base+"/v1/chat/completions", `{"model":"openai/steady","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "x-weir-use-case", useCase)
			if resp.StatusCode != 200 || !strings.Contains(body, "[DONE]") {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		}
		resp, err := http.Get(e.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		get := func(name string) float64 {
			t.Helper()
			for _, line := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(line, name+"{") && strings.Contains(line, `model="steady"`) && strings.Contains(line, `use_case="`+useCase+`"`) {
					v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
					if err != nil {
						t.Fatal(err)
					}
					return v
				}
			}
			t.Fatalf("%s for model steady not in /metrics", name)
			return 0
		}
		if n := get("gen_ai_server_time_to_first_token_seconds_count"); n != 3 {
			t.Errorf("ttft count = %v, want 3", n)
		}
		// Scripted: ttft 200 ms, 25 ms between tokens.
		mean := get("gen_ai_server_time_to_first_token_seconds_sum") / 3
		within(c, "mean ttft (s)", &mean, 0.200, 0.240)
		tpot := get("gen_ai_server_time_per_output_token_seconds_sum") / get("gen_ai_server_time_per_output_token_seconds_count")
		within(c, "mean tpot (s)", &tpot, 0.024, 0.032)
		if n := get("weir_overhead_seconds_count"); n != 3 {
			t.Errorf("overhead count = %v", n)
		}
		if v := get(`weir_tokens_total`); v <= 0 {
			t.Errorf("tokens_total = %v", v)
		}
		for _, name := range []string{"weir_time_to_first_completion_token_seconds", "weir_output_tokens_per_second", "gen_ai_client_operation_duration_seconds", "gen_ai_client_token_usage", "weir_recorder_records_written_total"} {
			if !strings.Contains(string(body), name) {
				t.Errorf("/metrics lacks %s", name)
			}
		}
	})
}

// TestAttributionErrors: a bad header gets a clear 400 in the caller's
// protocol, and the call is still recorded.
func TestAttributionErrors(t *testing.T) {
	e := start(t)
	resp, body := httpPost(t, e.base+"/v1/chat/completions", `{"model":"openai/fast","messages":[]}`, "x-weir-properties", "not json")
	if resp.StatusCode != 400 || !strings.Contains(body, "X-Weir-Properties") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	r := e.record(t, resp.Header.Get("x-weir-request-id"))
	if r.Status != 400 || r.ErrorKind != "invalid_request" {
		t.Errorf("record = %+v", r)
	}
	resp, body = httpPost(t, e.base+"/v1/chat/completions", `{"model":"openai/fast","messages":[{"role":"user","content":"secret text"}]}`, "x-weir-no-log", "true")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	r = e.record(t, resp.Header.Get("x-weir-request-id"))
	if r.Request != "" || r.Response != "" || !r.NoLog || r.Usage.OutputTokens != 8 {
		t.Errorf("no-log record kept text or lost numbers: %+v", r)
	}
}

// TestCrashRecovery kills the gateway with SIGKILL while streams are in
// flight, restarts it on the same data directory, and checks that every call
// it served is recorded exactly once: completed calls complete, calls cut by
// the crash as interrupted.
func TestCrashRecovery(t *testing.T) {
	mock := apptest.Mock(t, "testdata/mock.yaml")
	data := t.TempDir()
	gw := apptest.Gateway(t, mock, data, gatewayConfig)
	base := "http://" + gw.Addr

	var mu sync.Mutex
	completed, started := map[string]bool{}, map[string]bool{}
	// Completed calls first.
	for i := 0; i < 40; i++ {
		resp, _ := httpPost(t, base+"/v1/chat/completions", `{"model":"openai/fast","messages":[{"role":"user","content":"x"}]}`, "x-weir-use-case", "crash")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		completed[resp.Header.Get("x-weir-request-id")] = true
	}
	// Then 20 slow streams (4 s each) that the kill will cut.
	var wg sync.WaitGroup
	headers := make(chan struct{}, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(`{"model":"openai/slow","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			req.Header.Set("x-weir-use-case", "crash")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				headers <- struct{}{}
				return
			}
			mu.Lock()
			started[resp.Header.Get("x-weir-request-id")] = true
			mu.Unlock()
			headers <- struct{}{}
			rd := bufio.NewReader(resp.Body)
			for {
				if _, err := rd.ReadString('\n'); err != nil {
					break
				}
			}
			resp.Body.Close()
		}()
	}
	for i := 0; i < 20; i++ {
		<-headers
	}
	time.Sleep(300 * time.Millisecond) // a few chunks into every stream
	gw.Kill()
	wg.Wait()
	if len(started) != 20 {
		t.Fatalf("%d streams started, want 20", len(started))
	}

	// Restart on the same data directory.
	gw2 := apptest.Gateway(t, mock, data, gatewayConfig)
	e := &env{mock: mock, gw: gw2, base: "http://" + gw2.Addr, data: data}
	for id := range completed {
		r := e.record(t, id)
		if r.Status != 200 || r.ErrorKind != "" || r.Usage.OutputTokens != 8 {
			t.Errorf("completed call %s recorded as %d %q usage %+v", id, r.Status, r.ErrorKind, r.Usage)
		}
	}
	for id := range started {
		r := e.record(t, id)
		if r.ErrorKind != "interrupted" {
			t.Errorf("cut call %s recorded with kind %q, want interrupted", id, r.ErrorKind)
		}
	}
	// Exactly once: list everything, no duplicates, nothing extra.
	seen := map[string]int{}
	cursor := ""
	for {
		url := e.base + "/api/v1/requests?use_case=crash&limit=7"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var page store.RequestPage
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		for _, r := range page.Requests {
			seen[r.ID]++
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 60 {
		t.Errorf("%d distinct records, want 60 (40 completed + 20 interrupted)", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	t.Logf("after SIGKILL: %d completed and %d interrupted calls recorded exactly once", len(completed), len(started))
}

// TestOpenAINodeSDK runs the official openai npm package against Weir.
func TestOpenAINodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI")
		}
		t.Skip("node not installed: the openai npm package test needs Node.js and npm")
	}
	dir, _ := filepath.Abs("node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	e := start(t)
	cmd := exec.Command(node, "sdk_test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WEIR_BASE_URL="+e.base+"/v1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node sdk test: %v\n%s", err, out)
	}
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		if id, ok := strings.CutPrefix(line, "request-id "); ok {
			ids = append(ids, strings.TrimSpace(id))
		}
	}
	if len(ids) != 3 {
		t.Fatalf("want 3 request ids from the node test, got %v\n%s", ids, out)
	}
	for _, id := range ids {
		r := e.record(t, id)
		if r.Status != 200 || r.UseCase != "node-sdk" || r.Usage.InputTokens == 0 {
			t.Errorf("record %s: %+v", id, r)
		}
	}
	fmt.Fprint(io.Discard, string(out))
}

// TestDemo runs `weir demo` for a few seconds, then reads what it recorded
// through `weir serve` on the same data directory: the README's first
// command must produce real, attributed records for every sample use case.
func TestDemo(t *testing.T) {
	data := t.TempDir()
	addr := apptest.FreeAddr(t)
	cmd := exec.Command(apptest.Binary(t), "demo", "--listen", addr, "--data", data, "--duration", "4s", "--rate", "4")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("weir demo: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OpenAI base URL      http://"+addr+"/v1") {
		t.Errorf("demo banner does not say where to look:\n%s", out)
	}
	if !strings.Contains(string(out), "sign in as admin with the one-time password ") || !strings.Contains(string(out), "export WEIR_TOKEN=weirm_") {
		t.Errorf("demo banner does not say how to sign in:\n%s", out)
	}
	// The demo made an admin, so the management API wants credentials: a
	// token from the CLI.
	tokOut, err := exec.Command(apptest.Binary(t), "admin", "create-token", "--person", "admin", "--name", "test", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("weir admin create-token: %v\n%s", err, tokOut)
	}
	lines := strings.Split(strings.TrimSpace(string(tokOut)), "\n")
	token := lines[len(lines)-1]
	saddr := apptest.FreeAddr(t)
	apptest.Start(t, saddr, "/healthz", nil, "serve", "--listen", saddr, "--data", data)
	if resp, err := http.Get("http://" + saddr + "/api/v1/requests?limit=1"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without a token: %v %v", resp, err)
	}
	req, _ := http.NewRequest("GET", "http://"+saddr+"/api/v1/requests?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page store.RequestPage
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	useCases := map[string]int{}
	for _, r := range page.Requests {
		if r.Status != 200 || r.ErrorKind != "" {
			t.Errorf("demo call %s failed: %d %s %s", r.ID, r.Status, r.ErrorKind, r.ErrorMessage)
		}
		if r.UseCaseInstance == "" || r.Team == "" || r.UseCaseStep == "" {
			t.Errorf("demo call %s not attributed: %+v", r.ID, r.Attribution)
		}
		useCases[r.UseCase]++
	}
	if len(page.Requests) < 10 || len(useCases) != 3 {
		t.Errorf("demo recorded %d calls over use cases %v", len(page.Requests), useCases)
	}
}

// TestServeFromEnvironment: with no config file, `weir serve` enables the
// providers whose standard API-key variables are set, honours their
// base-URL variables, and routes bare vendor model names to them.
func TestServeFromEnvironment(t *testing.T) {
	profiles := filepath.Join(t.TempDir(), "mock.yaml")
	os.WriteFile(profiles, []byte("builtin: true\napi_key: sk-from-env\nmodels:\n  gpt-4o-mini: {output_tokens: 3}\n  claude-haiku-4-5: {output_tokens: 4}\n"), 0o600)
	mock := apptest.Mock(t, profiles)
	addr := apptest.FreeAddr(t)
	apptest.Start(t, addr, "/healthz", []string{
		"OPENAI_API_KEY=sk-from-env", "OPENAI_BASE_URL=http://" + mock.Addr + "/v1",
		"ANTHROPIC_API_KEY=sk-from-env", "ANTHROPIC_BASE_URL=http://" + mock.Addr,
	}, "serve", "--listen", addr, "--data", t.TempDir())
	base := "http://" + addr
	resp, body := httpPost(t, base+"/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"completion_tokens":3`) {
		t.Errorf("bare OpenAI model: %d %s", resp.StatusCode, body)
	}
	resp, body = httpPost(t, base+"/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, "anthropic-version", "2023-06-01")
	if resp.StatusCode != 200 || !strings.Contains(body, `"output_tokens":4`) {
		t.Errorf("bare Anthropic model: %d %s", resp.StatusCode, body)
	}
	resp, body = httpPost(t, base+"/v1/chat/completions", `{"model":"mistral-large","messages":[]}`)
	if resp.StatusCode != 404 || !strings.Contains(body, "model_not_found") {
		t.Errorf("unknown bare model: %d %s", resp.StatusCode, body)
	}
}

// TestGracefulStop sends SIGTERM while a stream is in flight: the stream
// completes, the process exits cleanly, and the call is recorded complete.
func TestGracefulStop(t *testing.T) {
	mock := apptest.Mock(t, "testdata/mock.yaml")
	data := t.TempDir()
	gw := apptest.Gateway(t, mock, data, gatewayConfig)
	req, _ := http.NewRequest("POST", "http://"+gw.Addr+"/v1/chat/completions", strings.NewReader(`{"model":"openai/slow","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("x-weir-request-id")
	time.Sleep(300 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { gw.Stop(t); close(stopped) }()
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("stream cut by SIGTERM: %v\n%s", err, body)
	}
	<-stopped
	gw2 := apptest.Gateway(t, mock, data, gatewayConfig)
	e := &env{mock: mock, gw: gw2, base: "http://" + gw2.Addr, data: data}
	r := e.record(t, id)
	if r.Status != 200 || r.ErrorKind != "" || r.Usage.OutputTokens != 40 {
		t.Errorf("record after graceful stop: status %d kind %q usage %+v", r.Status, r.ErrorKind, r.Usage)
	}
}

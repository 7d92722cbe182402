package browser_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/app"
	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/seed"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// chromium is where Debian's chromium package puts the browser; the
// browser test drives this binary (playwright-core downloads none).
const chromium = "/usr/bin/chromium"

const (
	adminName     = "ada"
	adminPassword = "browser-test-password-1"
)

// TestDashboardInChromium signs in to the dashboard in headless Chromium,
// opens every page of its navigation, filters the calls, follows a use case
// down to one call, exports CSV and signs out (tests/browser). With
// WEIR_UPDATE_SCREENSHOTS=1 it writes the pages' screenshots to
// docs/screenshots/.
func TestDashboardInChromium(t *testing.T) {
	node := requireTools(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "tests", "browser")
	npm := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in tests/browser: %v\n%s", err, out)
	}

	setup := time.Now()
	base, logs := startWeir(t)
	seeded := time.Since(setup)
	ids := sendCalls(t, base)
	waitRecorded(t, base, ids)
	t.Logf("history seeded and Weir started in %s, %d calls sent and recorded in %s", seeded.Round(time.Millisecond), len(ids), (time.Since(setup) - seeded).Round(time.Millisecond))

	shots := t.TempDir()
	if os.Getenv("WEIR_UPDATE_SCREENSHOTS") == "1" {
		shots = filepath.Join(root, "docs", "screenshots")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 75*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "dashboard.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WEIR_URL="+base, "WEIR_USER="+adminName, "WEIR_PASSWORD="+adminPassword, "WEIR_SCREENSHOTS="+shots)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test tests/browser/dashboard.test.mjs: %v\n%s\nweir's log:\n%s", err, out, logs)
	}
	t.Logf("browser test passed in %s\n%s", time.Since(start).Round(time.Millisecond), out)
}

// requireTools returns node's path, skipping the test when chromium or
// node is missing, except in CI (CI=true), where that fails it.
func requireTools(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (.ci/run installs chromium, nodejs and npm)", what)
		}
		t.Skipf("%s not installed: the dashboard's browser test needs it (apt-get install chromium nodejs npm)", what)
	}
	if _, err := os.Stat(chromium); err != nil {
		missing(chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		missing("npm")
	}
	return node
}

// lockedBuffer collects Weir's log for the failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// weirConfig is Weir's configuration; {{sim}} is the simulator's URL. The
// route falls back from a flaky target, so the providers page has
// retries, fallbacks and a breaker to show.
const weirConfig = `
listen: 127.0.0.1:0
recorder: {flush_interval: 10ms}
providers:
  - {name: openai, type: openai, base_url: "{{sim}}/v1", price_as: openai}
  - {name: anthropic, type: anthropic, base_url: "{{sim}}", price_as: anthropic}
routes:
  support-chat:
    targets:
      - {provider: openai, model: gpt-4o-mini-flaky, priority: 1}
      - {provider: anthropic, model: claude-sonnet-4-5, priority: 2}
`

// startWeir creates the admin in a fresh data directory (as `weir admin
// create-user --password-stdin` does, so no password change is due), then
// serves Weir on a loopback port with the simulator as its providers. It
// returns the base URL and Weir's log.
func startWeir(t *testing.T) (string, *lockedBuffer) {
	t.Helper()
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 7, Models: map[string]mock.Profile{
		"gpt-4o-mini":       {TTFT: 40 * time.Millisecond, TTFTJitter: 20 * time.Millisecond, ITL: 2 * time.Millisecond, OutputTokens: 20, InputTokens: 900, CacheReadTokens: 512},
		"gpt-4o":            {TTFT: 60 * time.Millisecond, TTFTJitter: 30 * time.Millisecond, ITL: time.Millisecond, OutputTokens: 60, InputTokens: 1500},
		"claude-sonnet-4-5": {TTFT: 80 * time.Millisecond, TTFTJitter: 40 * time.Millisecond, ITL: 3 * time.Millisecond, OutputTokens: 40, InputTokens: 300, CacheReadTokens: 2000},
		"gpt-4o-mini-flaky": {TTFT: 40 * time.Millisecond, ITL: 2 * time.Millisecond, OutputTokens: 20, InputTokens: 900, Failures: []mock.Failure{{Status: 503, Rate: 0.25}}},
		"overloaded":        {OutputTokens: 3, Failures: []mock.Failure{{Status: 400, Rate: 1}}},
	}}, nil))
	t.Cleanup(sim.Close)

	cfg, err := config.Parse([]byte(strings.ReplaceAll(weirConfig, "{{sim}}", sim.URL)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	prepareStore(t, cfg)

	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close(context.Background())
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- a.ServeListener(ctx, ln, func(addr string) { ready <- addr }) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("weir did not stop within 20s")
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr, logs
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("weir not ready after 20s\n%s", logs)
	}
	return "", nil
}

// historyCalls is the number of calls of the seeded history: a month of
// them gives the charts a shape (the calls sent through the gateway all
// land today).
const historyCalls = 2500

// prepareStore writes a month of history (as `weir seed` does: use cases
// with KPIs and versions, instances, priced calls) and adds the admin with a
// password of its own, through the same calls as `weir admin create-user`.
func prepareStore(t *testing.T, cfg config.Config) {
	t.Helper()
	ctx := audit.WithActor(t.Context(), audit.CLIActor())
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, eng, err := app.OpenPrices(ctx, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(ctx, st, eng, seed.Options{Calls: historyCalls, Days: 30, Seed: 1}); err != nil {
		t.Fatalf("seed the history: %v", err)
	}
	m, err := app.OpenAuth(cfg, st, audit.New(st, audit.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, otp, err := m.CreatePerson(ctx, adminName, auth.PersonInput{Role: "admin"}, adminPassword); err != nil || otp != "" {
		t.Fatalf("create admin: %v (one-time password %q)", err, otp)
	}
	if _, _, err := m.CreatePerson(ctx, "api-reader", auth.PersonInput{Role: "viewer"}, adminPassword); err != nil {
		t.Fatal(err)
	}
}

// A use case of the test data: its team, users and models.
type useCase struct {
	name, team string
	users      []string
	models     []string
	instances  int
	steps      []string
}

var useCases = []useCase{
	{"support-reply", "cx", []string{"amara", "bo"}, []string{"openai/gpt-4o-mini", "support-chat", "anthropic/claude-sonnet-4-5"}, 40, []string{"classify", "draft", "check"}},
	{"invoice-extract", "finance", []string{"chen"}, []string{"openai/gpt-4o"}, 30, []string{"extract", "validate"}},
	{"code-review", "platform", []string{"dara", "eli"}, []string{"anthropic/claude-sonnet-4-5"}, 20, []string{"summarise", "review", "comment", "score"}},
	{"search-summary", "platform", []string{"fynn"}, []string{"openai/gpt-4o-mini"}, 40, []string{"answer"}},
}

// sendCalls sends the calls of every use case's instances through the
// gateway (some streamed, a few failing) and returns their request ids.
func sendCalls(t *testing.T, base string) []string {
	t.Helper()
	type call struct {
		model, useCase, instance, step, team, user string
		stream                                     bool
	}
	var calls []call
	n := 0
	for _, uc := range useCases {
		for i := 0; i < uc.instances; i++ {
			instance := fmt.Sprintf("%s-%04d", uc.name, 1001+i)
			for _, step := range uc.steps {
				n++
				c := call{model: uc.models[n%len(uc.models)], useCase: uc.name, instance: instance, step: step,
					team: uc.team, user: uc.users[n%len(uc.users)], stream: n%3 == 0}
				if n%97 == 0 {
					c.model = "openai/overloaded"
				}
				calls = append(calls, c)
			}
		}
	}
	// Interleaved, as real traffic is (the newest calls are a mix).
	rnd := rand.New(rand.NewPCG(7, 7))
	rnd.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
	// Two more errors: a model that fails every call and a body that is
	// not JSON.
	calls = append(calls, call{model: "openai/overloaded", useCase: "support-reply", team: "cx", user: "bo"})
	calls = append(calls, call{model: "", useCase: "invoice-extract", team: "finance", user: "chen"})

	ids := make([]string, len(calls))
	errs := make(chan error, len(calls))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := calls[i]
				body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"%s step %s of %s"}]}`, c.model, c.stream, c.useCase, c.step, c.instance)
				if c.model == "" {
					body = `{"model":`
				}
				req, err := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
				if err != nil {
					errs <- err
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				for k, v := range map[string]string{"x-weir-use-case": c.useCase, "x-weir-use-case-instance": c.instance,
					"x-weir-use-case-step": c.step, "x-weir-team": c.team, "x-weir-user": c.user} {
					if v != "" {
						req.Header.Set(k, v)
					}
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok := resp.StatusCode == http.StatusOK
				if c.model == "" || c.model == "openai/overloaded" {
					ok = resp.StatusCode >= 400
				}
				if !ok {
					errs <- fmt.Errorf("call %d (%s): status %d", i, c.model, resp.StatusCode)
				}
				ids[i] = resp.Header.Get("X-Weir-Request-Id")
			}
		}()
	}
	for i := range calls {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// waitRecorded polls the API (as a viewer) until every call is stored.
func waitRecorded(t *testing.T, base string, ids []string) {
	t.Helper()
	jar := &http.Client{}
	resp, err := jar.Post(base+"/api/v1/login", "application/json", strings.NewReader(fmt.Sprintf(`{"name":"api-reader","password":%q}`, adminPassword)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("api login: %d %s", resp.StatusCode, body)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "weir_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("api login set no weir_session cookie: %v", resp.Header)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		if id == "" {
			t.Fatal("a call had no x-weir-request-id")
		}
		for {
			req, _ := http.NewRequest("GET", base+"/api/v1/requests/"+id, nil)
			req.AddCookie(cookie)
			resp, err := jar.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			if resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
				t.Fatalf("record %s: %d %s", id, resp.StatusCode, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

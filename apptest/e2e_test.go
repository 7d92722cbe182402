package apptest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/apptest"
	"github.com/weirhq/weir/internal/record"
)

const gatewayConfig = `
gateway:
  stream_idle_timeout: 1s
  upstream_timeout: 5s
providers:
  - {name: openai, type: openai, base_url: "{{mock}}/v1", models: [steady, fast]}
  - {name: anthropic, type: anthropic, base_url: "{{mock}}"}
models:
  fastest: openai/fast
recorder:
  flush_interval: 10ms
`

// env is one simulator and one gateway, shared by the tests of a file.
type env struct {
	mock, gw *apptest.Process
	base     string
	data     string
}

// start returns a fresh mock and gateway for t.
func start(t *testing.T) *env {
	t.Helper()
	mock := apptest.Mock(t, "testdata/mock.yaml")
	data := t.TempDir()
	gw := apptest.Gateway(t, mock, data, gatewayConfig)
	return &env{mock: mock, gw: gw, base: "http://" + gw.Addr, data: data}
}

// record polls the API until the record of id is stored.
func (e *env) record(t *testing.T, id string) record.Record {
	t.Helper()
	if id == "" {
		t.Fatal("no x-weir-request-id")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(e.base + "/api/v1/requests/" + id)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			var r record.Record
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("decode record: %v\n%s", err, body)
			}
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s not stored after 10s: %d %s", id, resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// errorfer is what the checks need of a *testing.T; timing checks use a
// *timing that collects failures so a noisy run can be retried.
type errorfer interface {
	Helper()
	Errorf(format string, args ...any)
}

// timing collects the failures of one timing attempt.
type timing struct{ failures []string }

func (c *timing) Helper() {}

func (c *timing) Errorf(format string, args ...any) {
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// timed runs a timing check up to three times: scripted timings are exact
// at the simulator, but a shared 2-core machine can starve a process for
// tens of milliseconds, bunching chunks. Any clean attempt passes; three
// failed ones fail the test with every failure.
func timed(t *testing.T, check func(c errorfer)) {
	t.Helper()
	var all []string
	for attempt := 1; attempt <= 3; attempt++ {
		c := &timing{}
		check(c)
		if len(c.failures) == 0 {
			if attempt > 1 {
				t.Logf("timing check passed on attempt %d after: %v", attempt, all)
			}
			return
		}
		all = append(all, c.failures...)
	}
	for _, f := range all {
		t.Error(f)
	}
}

// within fails unless lo <= got <= hi.
func within(t errorfer, name string, got *float64, lo, hi float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want within [%v, %v]", name, lo, hi)
		return
	}
	if *got < lo || *got > hi || math.IsNaN(*got) {
		t.Errorf("%s = %.2f, want within [%v, %v]", name, *got, lo, hi)
	}
}

func f(v float64) *float64 { return &v }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func httpPost(t *testing.T, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var _ = filepath.Join
var _ = fmt.Sprintf

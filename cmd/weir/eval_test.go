package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/evalstats"
)

const experimentYAML = `
name: short-vs-long
dataset: qa
variants:
  - {name: mini, model: sim/gpt-4o-mini, params: {temperature: 0.2}}
  - {name: large, model: sim/gpt-4.1}
evaluators:
  - {kind: length, config: {max: 6, unit: words}, criterion: short}
  - {kind: judge, model: sim/gpt-4o, criterion: helpful}
`

// fakeWeir answers the experiments API: the experiment runs for two polls,
// then is done; the comparison has mini passing "short" and large failing.
func fakeWeir(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	polls := new(atomic.Int64)
	one := func(x float64) *float64 { return &x }
	cmp := experiment.Comparison{Experiment: "short-vs-long", Status: "done", Progress: experiment.Progress{Done: 4, Total: 4},
		Variants: []experiment.VariantStats{
			{Variant: "mini", Results: 2, Criteria: []experiment.CriterionStats{{Criterion: "short", Version: 1, Scored: 2, Judged: 2, Passes: 2, Mean: one(1)}}},
			{Variant: "large", Results: 2, Criteria: []experiment.CriterionStats{{Criterion: "short", Version: 1, Scored: 2, Judged: 2, Passes: 0, Mean: one(0)}}},
		}, A: "mini", B: "large"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/experiments", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":{"code":"unauthorized","message":"no"}}`, 401)
			return
		}
		b, _ := io.ReadAll(r.Body)
		sp, err := experiment.DecodeSpec(b)
		if err != nil || sp.Name != "short-vs-long" || len(sp.Evaluators) != 2 || string(sp.Evaluators[0].Config) != `{"max":6,"unit":"words"}` {
			t.Errorf("posted spec %s: %v", b, err)
		}
		w.WriteHeader(202)
		json.NewEncoder(w).Encode(experiment.Created{Experiment: experiment.Experiment{Name: sp.Name, Status: "pending"}})
	})
	mux.HandleFunc("GET /api/v1/experiments/{name}", func(w http.ResponseWriter, r *http.Request) {
		n := polls.Add(1)
		e := experiment.Experiment{Name: "short-vs-long", Status: "running", Progress: experiment.Progress{Done: int(n), Total: 4}}
		if n >= 3 {
			e.Status, e.Progress.Done = "done", 4
		}
		json.NewEncoder(w).Encode(e)
	})
	mux.HandleFunc("GET /api/v1/experiments/{name}/compare", func(w http.ResponseWriter, r *http.Request) {
		c := cmp
		if a := r.URL.Query().Get("a"); a != "" {
			c.A, c.B = a, r.URL.Query().Get("b")
		}
		sign := 1.0
		if c.A == "large" {
			sign = -1
		}
		c.Differences = []experiment.Difference{{Criterion: "short", Worse: []string{"q1", "q2"}}}
		c.Differences[0].Paired = new(evalstats.Comparison)
		c.Differences[0].Paired.Items, c.Differences[0].Paired.MeanA, c.Differences[0].Paired.MeanB = 2, (1+sign)/2, (1-sign)/2
		c.Differences[0].Paired.Difference.Estimate = -sign
		json.NewEncoder(w).Encode(c)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, polls
}

func TestEvalRun(t *testing.T) {
	srv, _ := fakeWeir(t)
	file := filepath.Join(t.TempDir(), "e.yaml")
	if err := os.WriteFile(file, []byte(experimentYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	args := func(extra ...string) []string {
		return append([]string{"run", "--url", srv.URL, "--token", "tok", "--file", file, "--poll", "5ms"}, extra...)
	}
	var out, errOut bytes.Buffer
	if err := evalCommand(context.Background(), args("--fail-if", "pass_rate(short, variant=mini) < 0.8"), &out, &errOut); err != nil {
		t.Fatalf("a gate that does not hold: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"experiment short-vs-long: done, 4/4", "short@1", "large vs mini", "large worse on short: q1, q2", "ok   --fail-if pass_rate(short, variant=mini) < 0.8"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Not a terminal: plain progress lines, the last one complete.
	if !strings.Contains(errOut.String(), "[##############################] 4/4 (100%)") || strings.Contains(errOut.String(), "\r") {
		t.Errorf("progress on a non-terminal:\n%q", errOut.String())
	}

	out.Reset()
	err := evalCommand(context.Background(), args("--fail-if", "pass_rate(short) < 0.8", "--fail-if", "regression(short, baseline=mini, candidate=large) > 0.05", "--fail-if", "regression(short, baseline=large, candidate=mini) > 0.05"), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 --fail-if conditions hold") {
		t.Errorf("gates that hold: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "FAIL --fail-if regression(short, baseline=mini, candidate=large) > 0.05: regression 1.0000") {
		t.Errorf("verdicts:\n%s", out.String())
	}

	out.Reset()
	if err := evalCommand(context.Background(), args("--json"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Comparison experiment.Comparison `json:"comparison"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Comparison.Variants) != 2 {
		t.Errorf("--json: %v\n%s", err, out.String())
	}

	if err := evalCommand(context.Background(), []string{"run", "--url", srv.URL, "--token", "bad", "--file", file}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "401 unauthorized: no") {
		t.Errorf("bad token: %v", err)
	}
}

func TestEvalRunRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", experimentYAML)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"eval"}, "usage: weir eval run"},
		{[]string{"eval", "run"}, "--file is required"},
		{[]string{"eval", "run", "--file", good, "--fail-if", "pass_rate(short) = 1"}, "want <, <=, > or >="},
		{[]string{"eval", "run", "--file", write("unknown.yaml", experimentYAML+"colour: red\n")}, `unknown field "colour"`},
		{[]string{"eval", "run", "--file", write("two.yaml", experimentYAML+"---\nname: x\n")}, "one YAML document"},
		{[]string{"eval", "run", "--file", write("invalid.yaml", "name: x\ndataset: qa\nvariants: []\nevaluators: []\n")}, "1 to 10 variants"},
		{[]string{"eval", "run", "--file", filepath.Join(dir, "missing.yaml")}, "no such file"},
	} {
		err := evalCommand(context.Background(), tt.args[1:], io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(experiment.Progress{Done: 20, Total: 40}, 0, 10*time.Second)
	if got != "[###############...............] 20/40 (50%) 2.0/s ETA 10s" {
		t.Errorf("progress line %q", got)
	}
	if got := progressLine(experiment.Progress{}, 0, 0); got != "[..............................] 0/0 (0%)" {
		t.Errorf("empty progress %q", got)
	}
}

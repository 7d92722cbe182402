package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/eval/judge"
	"github.com/weirhq/weir/internal/evalstats"
	"github.com/weirhq/weir/internal/mock"
)

// TestEvaluationEndToEnd is the evaluation issue's whole loop through the
// app and the provider simulator: a dataset run through two prompt
// versions with a deterministic and a judge evaluator (the simulator plays
// the judge), a judge scoring the calls, people's scores posted through
// the API, the judge's calibration computed against them, and the
// criterion edited mid-way with the scores of both versions kept apart.
func TestEvaluationEndToEnd(t *testing.T) {
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 5, Models: map[string]mock.Profile{
		"gpt-4o-mini": {OutputTokens: 4}, "gpt-4o": {OutputTokens: 8}}}, nil))
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Listen = ln.Addr().String()
	cfg.Providers = []config.Provider{{Name: "sim", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { done <- a.ServeListener(ctx, ln, func(addr string) { ready <- addr }) }()
	base := "http://" + <-ready
	defer func() { stop(); <-done }()

	call := func(method, path, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		return b
	}

	// What good means, and two wordings of the prompt.
	call("PUT", "/api/v1/criteria/short", `{"use_case":"support","business_owner":"bea","technical_owner":"tom","definition":{"question":"At most 6 words?","type":"boolean"}}`, 200)
	call("PUT", "/api/v1/criteria/helpful", `{"use_case":"support","business_owner":"bea","technical_owner":"tom","definition":{"question":"Does it help?","rubric":"Yes when the customer can act on it.","type":"boolean"}}`, 200)
	for _, text := range []string{"Greet {{who}} briefly.", "Greet {{who}} warmly and offer help."} {
		call("POST", "/api/v1/prompts/greeter/versions", `{"variables":[{"name":"who"}],"messages":[{"role":"system","content":"`+text+`"}]}`, 201)
	}
	var items []string
	for i := range 12 {
		items = append(items, fmt.Sprintf(`{"id":"n%02d","variables":{"who":"Customer %d"}}`, i, i))
	}
	call("POST", "/api/v1/datasets", `{"name":"names","use_case":"support","items":[`+strings.Join(items, ",")+`]}`, 201)

	// The experiment: both prompt versions, scored by code and by a judge.
	call("POST", "/api/v1/review-queues", `{"name":"greet-review","use_case":"support","criteria":["helpful"]}`, 201)
	spec := `{"name":"greet","dataset":"names","variants":[{"name":"v1","model":"sim/gpt-4o-mini","prompt":"greeter@1"},{"name":"v2","model":"sim/gpt-4o-mini","prompt":"greeter@2"}],
		"evaluators":[{"kind":"length","config":{"max":6,"unit":"words"},"criterion":"short"},{"kind":"judge","model":"sim/gpt-4o","criterion":"helpful"}],
		"review":{"queue":"greet-review","share":1}}`
	call("POST", "/api/v1/experiments", spec, 202)
	var e experiment.Experiment
	for deadline := time.Now().Add(30 * time.Second); ; {
		json.Unmarshal(call("GET", "/api/v1/experiments/greet", "", 200), &e)
		if e.Status != "pending" && e.Status != "running" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e.Status != "done" || e.Progress.Done != 24 {
		t.Fatalf("experiment %+v", e)
	}
	var cmp experiment.Comparison
	json.Unmarshal(call("GET", "/api/v1/experiments/greet/compare?a=v1&b=v2", "", 200), &cmp)
	if len(cmp.Differences) != 2 || len(cmp.Variants) != 2 {
		t.Fatalf("comparison %+v", cmp)
	}
	var results struct {
		Results []experiment.Result `json:"results"`
	}
	json.Unmarshal(call("GET", "/api/v1/experiments/greet/results", "", 200), &results)
	var calls []string
	for _, r := range results.Results {
		if r.Variant == "v1" && r.CallID != "" {
			calls = append(calls, r.CallID)
		}
	}
	if len(calls) != 12 {
		t.Fatalf("%d calls of v1 in %d results", len(calls), len(results.Results))
	}

	// People review the experiment's outputs its review rule sent them:
	// an experiment item shows the call its variant made.
	var next struct {
		Item struct {
			TargetKind string `json:"target_kind"`
			Target     string `json:"target"`
		} `json:"item"`
		Input  []struct{ Role, Content string } `json:"input"`
		Output string                           `json:"output"`
	}
	raw := call("POST", "/api/v1/review-queues/greet-review/next", "", 200)
	json.Unmarshal(raw, &next)
	if next.Item.TargetKind != "experiment_item" || !strings.HasPrefix(next.Item.Target, "greet/n") || len(next.Input) == 0 || next.Output == "" {
		t.Errorf("review task of an experiment output: %s", raw)
	}
	var q struct {
		Progress struct {
			Items int `json:"items"`
		} `json:"progress"`
	}
	json.Unmarshal(call("GET", "/api/v1/review-queues/greet-review", "", 200), &q)
	if q.Progress.Items != 24 {
		t.Errorf("review queue holds %d items, want every output (share 1): 24", q.Progress.Items)
	}

	// A judge scores the calls of v1 through Weir's own gateway.
	call("POST", "/api/v1/judges", `{"name":"helper","criterion":"helpful","model":"sim/gpt-4o","temperature":0}`, 201)
	var targets []string
	for _, c := range calls {
		targets = append(targets, `{"kind":"call","id":"`+c+`"}`)
	}
	call("POST", "/api/v1/judges/helper/score", `{"targets":[`+strings.Join(targets, ",")+`]}`, 200)
	type score struct {
		Target           string `json:"target"`
		CriterionVersion int    `json:"criterion_version"`
		EvaluatorKind    string `json:"evaluator_kind"`
		Value            struct {
			Bool *bool `json:"bool"`
		} `json:"value"`
	}
	var judged struct{ Scores []score }
	json.Unmarshal(call("GET", "/api/v1/scores?criterion=helpful&evaluator_kind=llm&target_kind=call&limit=1000", "", 200), &judged)
	if len(judged.Scores) != 12 {
		t.Fatalf("%d judge scores of calls, want 12", len(judged.Scores))
	}

	// People score the same calls: they agree with the judge but on three.
	var human, machine []int
	var posted []string
	for i, s := range judged.Scores {
		j := *s.Value.Bool
		h := j
		if i%4 == 0 {
			h = !j
		}
		human, machine = append(human, b2i(h)), append(machine, b2i(j))
		posted = append(posted, fmt.Sprintf(`{"id":"h1-%s","criterion":"helpful","criterion_version":1,"evaluator_kind":"human","target_kind":"call","target":"%s","value":{"bool":%t}}`, s.Target, s.Target, h))
	}
	call("POST", "/api/v1/scores", `{"scores":[`+strings.Join(posted, ",")+`]}`, 200)

	type calibration struct {
		CriterionVersion int `json:"criterion_version"`
		DoubleScored     int `json:"double_scored"`
		Agreement        *struct {
			Kappa struct {
				Estimate *float64 `json:"estimate"`
			} `json:"kappa"`
		} `json:"agreement"`
		Accuracy *float64 `json:"accuracy"`
		Trust    struct {
			Trusted bool `json:"trusted"`
		} `json:"trust"`
	}
	var cal calibration
	raw = call("GET", "/api/v1/judges/helper/calibration?criterion_version=1", "", 200)
	json.Unmarshal(raw, &cal)
	want, _ := evalstats.Kappa(human, machine, 2, evalstats.Unweighted)
	t.Logf("calibration: %s (kappa from evalstats %v)", raw, want.Kappa)
	if cal.CriterionVersion != 1 || cal.DoubleScored != 12 || cal.Accuracy == nil || math.Abs(*cal.Accuracy-0.75) > 1e-9 || cal.Trust.Trusted {
		t.Errorf("calibration %s", raw)
	}
	if !math.IsNaN(want.Kappa) && (cal.Agreement == nil || cal.Agreement.Kappa.Estimate == nil || math.Abs(*cal.Agreement.Kappa.Estimate-want.Kappa) > 1e-9) {
		t.Errorf("kappa %s, want %v", raw, want.Kappa)
	}

	// The business owner redefines "helpful" mid-way: version 2. People's
	// new scores go under it and leave version 1's calibration alone.
	call("PUT", "/api/v1/criteria/helpful", `{"use_case":"support","business_owner":"bea","technical_owner":"tom","reason":"a greeting alone does not help",
		"definition":{"question":"Does it help?","rubric":"Yes only when the reply offers a next step.","type":"boolean"}}`, 200)
	var v2 []string
	for _, c := range calls[:3] {
		v2 = append(v2, fmt.Sprintf(`{"id":"h2-%s","criterion":"helpful","criterion_version":2,"evaluator_kind":"human","target_kind":"call","target":"%s","value":{"bool":false}}`, c, c))
	}
	call("POST", "/api/v1/scores", `{"scores":[`+strings.Join(v2, ",")+`]}`, 200)
	var again calibration
	json.Unmarshal(call("GET", "/api/v1/judges/helper/calibration?criterion_version=1", "", 200), &again)
	if again.DoubleScored != 12 || again.Accuracy == nil || *again.Accuracy != *cal.Accuracy {
		t.Errorf("version 1's calibration moved after version 2's scores: %+v", again)
	}
	var hist struct {
		Versions []struct {
			Version int `json:"version"`
			Reason  string
			Totals  []struct {
				EvaluatorKind string `json:"evaluator_kind"`
				Count         int64  `json:"count"`
			} `json:"totals"`
		} `json:"versions"`
	}
	raw = call("GET", "/api/v1/criteria/helpful/history", "", 200)
	json.Unmarshal(raw, &hist)
	counts := map[string]int64{}
	for _, v := range hist.Versions {
		for _, k := range v.Totals {
			counts[fmt.Sprintf("v%d %s", v.Version, k.EvaluatorKind)] += k.Count
		}
	}
	// Version 1: 12 people's scores, 12 of the judge on calls and 24 of
	// the experiment's judge; version 2: the 3 new people's scores only.
	if len(hist.Versions) != 2 || counts["v1 human"] != 12 || counts["v1 llm"] != 36 || counts["v2 human"] != 3 || counts["v2 llm"] != 0 {
		t.Errorf("history by version %v: %s", counts, raw)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestJudgeDriftAlert(t *testing.T) {
	recent, all := 0.41, 0.78
	a := judgeDriftAlert(judge.Drift{Key: "judge-drift:tone@3", Judge: "tone", Version: 3, Criterion: "polite", CriterionVersion: 2,
		Method: "kappa", Recent: judge.Period{Agreement: &recent, DoubleScored: 25}, AllTime: judge.Period{Agreement: &all, DoubleScored: 300, Trusted: true},
		Alert: true, Reason: "agreement fell from 0.78 to 0.41"})
	if a.Kind != alert.KindJudgeAgreement || a.DedupKey != "judge-drift:tone@3" || a.Value != 0.41 || a.Threshold != 0.78 ||
		a.Scope["judge"] != "tone" || a.Message != "agreement fell from 0.78 to 0.41" || !strings.Contains(a.Title, "tone@3") {
		t.Errorf("alert %+v", a)
	}
	if b := judgeDriftAlert(judge.Drift{Key: "k", Alert: true}); b.Value != 0 || b.Threshold != 0 {
		t.Errorf("undefined agreements: %+v", b)
	}
}

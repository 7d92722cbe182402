package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/app"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// rig is a real Weir (gateway, recorder, API) in front of the provider
// simulator, and an experiment service on a store of its own that calls
// that Weir over HTTP, as the app's own would.
type rig struct {
	weir     *httptest.Server
	calls    *atomic.Int64 // calls that reached the simulator
	inflight *atomic.Int64
	peak     *atomic.Int64 // most calls in flight at once
	// failJudge makes the simulator answer the judge's model with 500s.
	failJudge *atomic.Bool
	exp       *experiment.Service
	crit      *criteria.Service
	api       *httptest.Server // the experiments API
	datasets  *dataset.Service
}

func newRig(t *testing.T, ttft time.Duration) *rig {
	t.Helper()
	ctx := context.Background()
	sim := mock.New(mock.Config{Seed: 3, Models: map[string]mock.Profile{
		"gpt-4o-mini": {OutputTokens: 3, TTFT: ttft},  // short answers
		"gpt-4.1":     {OutputTokens: 12, TTFT: ttft}, // long answers
		"gpt-4o":      {OutputTokens: 8},              // the judge
	}}, nil)
	r := &rig{calls: new(atomic.Int64), inflight: new(atomic.Int64), peak: new(atomic.Int64), failJudge: new(atomic.Bool)}
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/chat/completions") {
			b, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(b))
			if r.failJudge.Load() && bytes.Contains(b, []byte(`"model":"gpt-4o"`)) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(500)
				w.Write([]byte(`{"error":{"message":"judge down","type":"server_error","param":null,"code":null}}`))
				return
			}
			r.calls.Add(1)
			n := r.inflight.Add(1)
			defer r.inflight.Add(-1)
			for p := r.peak.Load(); n > p && !r.peak.CompareAndSwap(p, n); p = r.peak.Load() {
			}
		}
		sim.ServeHTTP(w, req)
	}))
	t.Cleanup(simSrv.Close)

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Providers = []config.Provider{{Name: "sim", Type: "openai", BaseURL: simSrv.URL + "/v1", PriceAs: "openai"}}
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.weir = httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		r.weir.Close()
		a.Close(context.Background())
	})

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exp.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.crit = criteria.New(criteria.Options{Store: st, People: st})
	r.datasets = dataset.New(dataset.Options{Store: st})
	r.exp = experiment.New(experiment.Options{Store: st, Datasets: r.datasets, Criteria: r.crit,
		Gateway: func() string { return r.weir.URL }})
	t.Cleanup(r.exp.Close)
	r.api = httptest.NewServer(r.exp.Handler())
	t.Cleanup(r.api.Close)

	admin := criteria.Actor{Name: "alice", Admin: true}
	for _, c := range []struct{ name, q string }{{"short", "Is the answer at most six words?"}, {"helpful", "Does the answer help?"}} {
		if _, err := r.crit.Put(ctx, c.name, criteria.Input{UseCase: "support", BusinessOwner: "alice", TechnicalOwner: "bob",
			Definition: &eval.Definition{Question: c.q, Type: eval.Boolean}}, admin); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.datasets.Create(ctx, dataset.Dataset{Name: "qa", UseCase: "support"}, "alice"); err != nil {
		t.Fatal(err)
	}
	var items []dataset.Item
	for i := range 20 {
		items = append(items, dataset.Item{ID: fmt.Sprintf("q%02d", i),
			Messages: json.RawMessage(fmt.Sprintf(`[{"role":"user","content":"Question number %d: where is my order?"}]`, i)),
			Expected: json.RawMessage(`"It ships tomorrow."`)})
	}
	if _, err := r.datasets.AddItems(ctx, "qa", items, "first", "alice"); err != nil {
		t.Fatal(err)
	}
	return r
}

func spec() experiment.Spec {
	return experiment.Spec{
		Name:    "short-vs-long",
		Dataset: "qa",
		Variants: []experiment.Variant{
			{Name: "mini", Model: "sim/gpt-4o-mini", Params: json.RawMessage(`{"temperature":0.2}`)},
			{Name: "large", Model: "sim/gpt-4.1"},
		},
		Evaluators: []experiment.EvaluatorSpec{
			{Kind: "length", Config: json.RawMessage(`{"max":6,"unit":"words"}`), Criterion: "short"},
			{Kind: "judge", Model: "sim/gpt-4o", Criterion: "helpful"},
		},
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}

func TestExperimentEndToEnd(t *testing.T) {
	r := newRig(t, 0)
	ctx := context.Background()
	body, _ := json.Marshal(spec())
	resp, err := http.Post(r.api.URL+"/api/v1/experiments", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := r.exp.Wait(wctx, "short-vs-long"); err != nil {
		t.Fatal(err)
	}
	var e experiment.Experiment
	getJSON(t, r.api.URL+"/api/v1/experiments/short-vs-long", &e)
	if e.Status != store.ExperimentDone || e.Progress != (experiment.Progress{Done: 40, Total: 40}) || e.Error != "" {
		t.Fatalf("after the run: status %s, progress %+v, error %q", e.Status, e.Progress, e.Error)
	}
	if e.Spec.DatasetVersion != 1 || e.Spec.Evaluators[0].CriterionVersion != 1 || e.Spec.UseCase != "support" || e.Spec.Concurrency != 4 {
		t.Errorf("pinned spec: %+v", e.Spec)
	}
	// 40 answers and 40 judgements went through the gateway.
	if n := r.calls.Load(); n != 80 {
		t.Errorf("simulator calls = %d, want 80", n)
	}
	if p := r.peak.Load(); p > 4 {
		t.Errorf("%d calls in flight at once, over the concurrency of 4", p)
	}

	var res struct{ Results []experiment.Result }
	getJSON(t, r.api.URL+"/api/v1/experiments/short-vs-long/results", &res)
	if len(res.Results) != 40 {
		t.Fatalf("%d results, want 40", len(res.Results))
	}
	first := res.Results[0]
	if first.Item != "q00" || first.Variant != "large" || first.CallID == "" || first.Output == "" || len(first.Scores) != 2 {
		t.Errorf("first result %+v", first)
	}
	if first.CostUSD == nil || *first.CostUSD <= 0 {
		t.Errorf("cost of %s: %v, want the record's price", first.CallID, first.CostUSD)
	}
	for _, sc := range first.Scores {
		if sc.Value == nil || sc.Error != "" || sc.ScoreID == "" {
			t.Errorf("score %+v", sc)
		}
	}
	// The call is attributed to the experiment.
	var rec struct {
		UseCase         string   `json:"use_case"`
		UseCaseInstance string   `json:"use_case_instance"`
		Tags            []string `json:"tags"`
	}
	getJSON(t, r.weir.URL+"/api/v1/requests/"+first.CallID, &rec)
	if rec.UseCase != "support" || rec.UseCaseInstance != "short-vs-long/q00" || strings.Join(rec.Tags, ",") != "experiment:short-vs-long,variant:large" {
		t.Errorf("attribution of the call: %+v", rec)
	}
	var judgeRec struct {
		UseCase string   `json:"use_case"`
		Tags    []string `json:"tags"`
	}
	getJSON(t, r.weir.URL+"/api/v1/requests/"+first.Scores[1].JudgeCallID, &judgeRec)
	if judgeRec.UseCase != "evaluation" || strings.Join(judgeRec.Tags, ",") != "experiment:short-vs-long,variant:large,judge:helpful" {
		t.Errorf("judge call attribution %+v, want use case evaluation", judgeRec)
	}

	// Scores are stored under their criterion versions, 80 of them.
	page, err := r.crit.ListScores(ctx, store.ScoreQuery{TargetKind: eval.TargetExperimentItem, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Scores) != 80 {
		t.Errorf("%d stored scores, want 80", len(page.Scores))
	}

	var cmp experiment.Comparison
	getJSON(t, r.api.URL+"/api/v1/experiments/short-vs-long/compare?a=mini&b=large", &cmp)
	if len(cmp.Variants) != 2 || cmp.A != "mini" || cmp.B != "large" || len(cmp.Differences) != 2 {
		t.Fatalf("comparison %+v", cmp)
	}
	mini, large := cmp.Variants[0], cmp.Variants[1]
	if mini.Criteria[0].Passes != 20 || large.Criteria[0].Passes != 0 || mini.Criteria[0].PassRate == nil || mini.Criteria[0].PassRate.Lower < 0.8 {
		t.Errorf("short pass rates: mini %+v, large %+v", mini.Criteria[0], large.Criteria[0])
	}
	if mini.Priced != 20 || mini.CostMeanUSD == nil || large.CostTotalUSD <= mini.CostTotalUSD || mini.LatencyP50Ms == nil || *mini.LatencyP95Ms < *mini.LatencyP50Ms {
		t.Errorf("cost and latency: mini %+v, large %+v", mini, large)
	}
	d := cmp.Differences[0]
	if d.Criterion != "short" || d.Paired == nil || d.Paired.Difference.Estimate != -1 || len(d.Worse) != 20 || len(d.Better) != 0 {
		t.Errorf("short difference %+v", d)
	}
	if cmp.Differences[1].Paired == nil || cmp.Differences[1].Paired.Items != 20 {
		t.Errorf("helpful difference %+v", cmp.Differences[1])
	}

	// Gates on the comparison.
	get := func(a, b string) (experiment.Comparison, error) { return r.exp.Compare(ctx, "short-vs-long", a, b) }
	for _, tt := range []struct {
		cond  string
		holds bool
	}{
		{"pass_rate(short) < 0.8", true},
		{"pass_rate(short, variant=mini) < 0.8", false},
		{"regression(short, baseline=mini, candidate=large) > 0.05", true},
		{"regression(short, baseline=large, candidate=mini) > 0.05", false},
		{"mean(helpful) > 1", false},
		{"pass_rate(nothing) < 0.5", true},
	} {
		c, err := experiment.ParseCondition(tt.cond)
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Check(get)
		if err != nil || v.Holds != tt.holds {
			t.Errorf("%s: %+v, %v; want holds=%v", tt.cond, v, err, tt.holds)
		}
	}

	// Running it again calls nothing and stores nothing new.
	resp, err = http.Post(r.api.URL+"/api/v1/experiments", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"resumed":true`) {
		t.Fatalf("re-run: %d %s", resp.StatusCode, b)
	}
	if err := r.exp.Wait(wctx, "short-vs-long"); err != nil {
		t.Fatal(err)
	}
	if n := r.calls.Load(); n != 80 {
		t.Errorf("simulator calls after the re-run = %d, want still 80", n)
	}
	page2, err := r.crit.ListScores(ctx, store.ScoreQuery{TargetKind: eval.TargetExperimentItem, Limit: 1000})
	if err != nil || len(page2.Scores) != 80 {
		t.Errorf("scores after the re-run: %d, %v; want 80", len(page2.Scores), err)
	}

	// Another spec under the same name is a conflict.
	other := spec()
	other.Variants = other.Variants[:1]
	ob, _ := json.Marshal(other)
	resp, err = http.Post(r.api.URL+"/api/v1/experiments", "application/json", strings.NewReader(string(ob)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("another spec under the same name: %d, want 409", resp.StatusCode)
	}
}

// TestExperimentCancelAndResume cancels a run midway, then runs it again:
// it finishes without scoring anything twice.
func TestExperimentCancelAndResume(t *testing.T) {
	r := newRig(t, 30*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sp := spec()
	sp.Concurrency = 2
	if _, err := r.exp.Create(ctx, sp, "alice"); err != nil {
		t.Fatal(err)
	}
	for {
		e, err := r.exp.Get(ctx, sp.Name)
		if err != nil {
			t.Fatal(err)
		}
		if e.Progress.Done >= 4 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.exp.Cancel(ctx, sp.Name); err != nil {
		t.Fatal(err)
	}
	if err := r.exp.Wait(ctx, sp.Name); err != nil {
		t.Fatal(err)
	}
	e, err := r.exp.Get(ctx, sp.Name)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != store.ExperimentCanceled || e.Progress.Done >= 40 || e.FinishedAt == nil {
		t.Fatalf("after cancel: %s %+v", e.Status, e.Progress)
	}
	if p := r.peak.Load(); p > 2 {
		t.Errorf("%d calls in flight at once, over the concurrency of 2", p)
	}
	c, err := r.exp.Create(ctx, sp, "alice")
	if err != nil || !c.Resumed {
		t.Fatalf("resume: %+v, %v", c, err)
	}
	if err := r.exp.Wait(ctx, sp.Name); err != nil {
		t.Fatal(err)
	}
	e, err = r.exp.Get(ctx, sp.Name)
	if err != nil || e.Status != store.ExperimentDone || e.Progress.Done != 40 {
		t.Fatalf("after resume: %+v, %v", e, err)
	}
	page, err := r.crit.ListScores(ctx, store.ScoreQuery{TargetKind: eval.TargetExperimentItem, Limit: 1000})
	if err != nil || len(page.Scores) != 80 {
		t.Errorf("scores: %d, %v; want 80, none twice", len(page.Scores), err)
	}
}

// TestCancelStale: an experiment left running by a stopped process is
// canceled at once; a finished one is left as it is.
func TestCancelStale(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exp.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := experiment.New(experiment.Options{Store: st})
	defer s.Close()
	for name, status := range map[string]string{"stale": store.ExperimentRunning, "over": store.ExperimentDone} {
		if _, err := st.CreateExperiment(ctx, store.Experiment{Name: name, Spec: json.RawMessage(`{}`), Status: status}); err != nil {
			t.Fatal(err)
		}
		if err := s.Cancel(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{"stale": store.ExperimentCanceled, "over": store.ExperimentDone} {
		if e, err := st.Experiment(ctx, name); err != nil || e.Status != want {
			t.Errorf("%s: %s, %v; want %s", name, e.Status, err, want)
		}
	}
	if err := s.Cancel(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancel missing: %v", err)
	}
}

// TestExperimentWithPrompt: a variant with a prompt reference renders the
// item's variables through the prompt registry; an item with variables
// under a variant without a prompt is a failed run, retried next time.
func TestExperimentWithPrompt(t *testing.T) {
	r := newRig(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.Post(r.weir.URL+"/api/v1/prompts/greeter/versions", "application/json",
		strings.NewReader(`{"variables":[{"name":"who"}],"messages":[{"role":"system","content":"Greet {{who}} briefly."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("prompt: %d", resp.StatusCode)
	}
	if _, err := r.datasets.Create(ctx, dataset.Dataset{Name: "names"}, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.datasets.AddItems(ctx, "names", []dataset.Item{
		{ID: "ada", Variables: json.RawMessage(`{"who":"Ada"}`)},
		{ID: "bob", Variables: json.RawMessage(`{"who":"Bob"}`)},
	}, "", "alice"); err != nil {
		t.Fatal(err)
	}
	sp := experiment.Spec{Name: "greet", Dataset: "names",
		Variants: []experiment.Variant{
			{Name: "prompted", Model: "sim/gpt-4o-mini", Prompt: "greeter@1"},
			{Name: "bare", Model: "sim/gpt-4o-mini"},
		},
		Evaluators: []experiment.EvaluatorSpec{{Kind: "length", Config: json.RawMessage(`{"min":1}`), Criterion: "short"}}}
	if _, err := r.exp.Create(ctx, sp, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := r.exp.Wait(ctx, "greet"); err != nil {
		t.Fatal(err)
	}
	e, err := r.exp.Get(ctx, "greet")
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != store.ExperimentFailed || e.Spec.UseCase != "evaluation" || !strings.Contains(e.Error, "2 of 4 runs failed") {
		t.Errorf("status %s, use case %s, error %q", e.Status, e.Spec.UseCase, e.Error)
	}
	rs, err := r.exp.Results(ctx, "greet")
	if err != nil || len(rs) != 4 {
		t.Fatalf("results %v, %v", rs, err)
	}
	for _, res := range rs {
		switch res.Variant {
		case "prompted":
			var rec struct {
				Prompt        string `json:"prompt"`
				PromptVersion int    `json:"prompt_version"`
			}
			getJSON(t, r.weir.URL+"/api/v1/requests/"+res.CallID, &rec)
			if rec.Prompt != "greeter" || rec.PromptVersion != 1 {
				t.Errorf("prompted %s: the call's prompt %+v", res.Item, rec)
			}
			if res.Error != "" || len(res.Scores) != 1 || res.Scores[0].Pass == nil || !*res.Scores[0].Pass {
				t.Errorf("prompted %s: %+v", res.Item, res)
			}
		case "bare":
			if !strings.Contains(res.Error, "no prompt to render them") || res.CallID != "" {
				t.Errorf("bare %s: %+v", res.Item, res)
			}
		}
	}
	cmp, err := r.exp.Compare(ctx, "greet", "", "")
	if err != nil || cmp.Variants[1].Failed != 2 || cmp.Variants[0].Criteria[0].Passes != 2 {
		t.Errorf("comparison %+v, %v", cmp, err)
	}
}

// TestJudgeUnreachableIsRetried: a judge that cannot be reached leaves its
// scores to the next run, which asks the judge only, not the variants.
func TestJudgeUnreachableIsRetried(t *testing.T) {
	r := newRig(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r.failJudge.Store(true)
	sp := spec()
	if _, err := r.exp.Create(ctx, sp, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := r.exp.Wait(ctx, sp.Name); err != nil {
		t.Fatal(err)
	}
	e, err := r.exp.Get(ctx, sp.Name)
	if err != nil || e.Status != store.ExperimentFailed || !strings.Contains(e.Error, "40 of 40 runs failed") {
		t.Fatalf("with the judge down: %s %q %v", e.Status, e.Error, err)
	}
	rs, err := r.exp.Results(ctx, sp.Name)
	if err != nil || len(rs) != 40 || !rs[0].Scores[1].Retry || rs[0].Scores[1].Value != nil || rs[0].Scores[0].Value == nil {
		t.Fatalf("results with the judge down: %+v, %v", rs[0], err)
	}
	firstCall := rs[0].CallID
	page, _ := r.crit.ListScores(ctx, store.ScoreQuery{TargetKind: eval.TargetExperimentItem, Limit: 1000})
	if len(page.Scores) != 40 {
		t.Errorf("%d scores with the judge down, want the 40 code scores", len(page.Scores))
	}
	r.failJudge.Store(false)
	variantCalls := r.calls.Load()
	if _, err := r.exp.Create(ctx, sp, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := r.exp.Wait(ctx, sp.Name); err != nil {
		t.Fatal(err)
	}
	e, err = r.exp.Get(ctx, sp.Name)
	if err != nil || e.Status != store.ExperimentDone {
		t.Fatalf("after the judge is back: %s %q %v", e.Status, e.Error, err)
	}
	if n := r.calls.Load() - variantCalls; n != 40 {
		t.Errorf("the re-run made %d calls, want the 40 judgements only", n)
	}
	rs, _ = r.exp.Results(ctx, sp.Name)
	if rs[0].CallID != firstCall || rs[0].Scores[1].Value == nil || rs[0].Scores[1].Retry {
		t.Errorf("re-scored result %+v", rs[0])
	}
	page, _ = r.crit.ListScores(ctx, store.ScoreQuery{TargetKind: eval.TargetExperimentItem, Limit: 1000})
	if len(page.Scores) != 80 {
		t.Errorf("%d scores, want 80", len(page.Scores))
	}
}

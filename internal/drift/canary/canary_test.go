package canary

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// fakeExperiments "runs" a canary by drawing each item's pass with the
// current pass rate.
type fakeExperiments struct {
	mu      sync.Mutex
	r       *rand.Rand
	pass    float64
	items   int
	now     *time.Time
	exps    []experiment.Experiment
	results map[string][]experiment.Result
	specs   []experiment.Spec
}

func (f *fakeExperiments) Create(_ context.Context, sp experiment.Spec, _ string) (experiment.Created, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.specs = append(f.specs, sp)
	at := *f.now
	f.exps = append(f.exps, experiment.Experiment{Name: sp.Name, Spec: sp, Status: store.ExperimentDone, CreatedAt: at, StartedAt: &at})
	var res []experiment.Result
	for range f.items {
		p := f.r.Float64() < f.pass
		res = append(res, experiment.Result{Scores: []experiment.ResultScore{{Criterion: "valid-json", Pass: &p}}})
	}
	if f.results == nil {
		f.results = map[string][]experiment.Result{}
	}
	f.results[sp.Name] = res
	return experiment.Created{}, nil
}

func (f *fakeExperiments) Wait(context.Context, string) error { return nil }

func (f *fakeExperiments) Get(_ context.Context, name string) (experiment.Experiment, error) {
	for _, e := range f.exps {
		if e.Name == name {
			return e, nil
		}
	}
	return experiment.Experiment{}, store.ErrNotFound
}

func (f *fakeExperiments) List(context.Context) ([]experiment.Experiment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]experiment.Experiment(nil), f.exps...), nil
}

func (f *fakeExperiments) Results(_ context.Context, name string) ([]experiment.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.results[name], nil
}

type raiser struct{ n int }

func (r *raiser) Raise(_ context.Context, a alert.Alert) (alert.Alert, bool, error) {
	r.n++
	return a, true, nil
}

// TestCanaryDrop runs a canary of 20 items hourly: a pass rate of 95%
// dropping to 60% is found within three runs of the drop, once; the runs
// before it raise nothing.
func TestCanaryDrop(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	fx := &fakeExperiments{r: rand.New(rand.NewPCG(3, 4)), pass: 0.95, items: 20, now: &now}
	al := &raiser{}
	c := Canary{Name: "json", Dataset: "golden", Model: "gpt-4o",
		Evaluators: []experiment.EvaluatorSpec{{Kind: "json", Criterion: "valid-json"}}, Every: time.Hour}
	run, err := New(Options{Canaries: []Canary{c}, Experiments: fx, Events: st, Alerts: al, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	found := -1
	for i := range 40 {
		if i == 24 {
			fx.pass = 0.6
		}
		evs, err := run.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Not due again within the hour.
		if again, _ := run.Tick(ctx); len(again) != 0 || len(fx.specs) != i+1 {
			t.Fatalf("ran twice in an hour: %d runs", len(fx.specs))
		}
		for _, e := range evs {
			if i < 24 {
				t.Fatalf("run %d: false alarm %s", i, e.Summary)
			}
			if found >= 0 {
				t.Fatalf("run %d: found again: %s", i, e.Summary)
			}
			found = i
			if e.Signal != "canary_score:valid-json" || e.UseCase != "canary/json" || e.Finding.Direction != "down" ||
				!strings.Contains(e.Summary, "canary json on gpt-4o: valid-json pass rate went down") {
				t.Errorf("event %+v", e)
			}
		}
		now = now.Add(time.Hour)
	}
	if found < 24 || found > 26 {
		t.Fatalf("the drop at run 24 was found at run %d", found)
	}
	t.Logf("the drop at run 24 was found at run %d", found)
	if al.n != 1 {
		t.Errorf("%d alerts", al.n)
	}
	sp := fx.specs[0]
	if sp.UseCase != UseCase || sp.Dataset != "golden" || len(sp.Variants) != 1 || sp.Variants[0].Model != "gpt-4o" || !strings.HasPrefix(sp.Name, "canary-json-") {
		t.Errorf("spec %+v", sp)
	}
}

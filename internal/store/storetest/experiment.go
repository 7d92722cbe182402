package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/store"
)

func testExperiments(t *testing.T, s store.ExperimentStore) {
	ctx := context.Background()
	if _, err := s.Experiment(ctx, "e1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing experiment: %v, want ErrNotFound", err)
	}
	if l, err := s.ListExperiments(ctx); err != nil || l == nil || len(l) != 0 {
		t.Errorf("list before any: %#v, %v; want an empty, non-nil list", l, err)
	}
	if err := s.PutExperimentResult(ctx, store.ExperimentResult{Experiment: "e1", Item: "a", Variant: "v", Doc: json.RawMessage(`{}`)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("result of a missing experiment: %v, want ErrNotFound", err)
	}
	if err := s.SetExperimentStatus(ctx, "e1", store.ExperimentRunning, "", base, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("status of a missing experiment: %v, want ErrNotFound", err)
	}
	if _, err := s.CreateExperiment(ctx, store.Experiment{Name: "e0"}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("no spec: %v, want ErrInvalidQuery", err)
	}
	spec := json.RawMessage(`{"dataset":"qa","note":"Grüße 🙂"}`)
	e, err := s.CreateExperiment(ctx, store.Experiment{Name: "e1", Spec: spec, Total: 4, CreatedAt: base, CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != store.ExperimentPending {
		t.Errorf("status = %q, want pending by default", e.Status)
	}
	if _, err := s.CreateExperiment(ctx, store.Experiment{Name: "e1", Spec: spec}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second e1: %v, want ErrConflict", err)
	}
	if _, err := s.CreateExperiment(ctx, store.Experiment{Name: "e2", Spec: spec, Total: 1, CreatedAt: base.Add(time.Hour), CreatedBy: "bob"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Experiment(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Spec) != string(spec) || got.Total != 4 || got.Done != 0 || !got.CreatedAt.Equal(base) || got.CreatedBy != "alice" || !got.StartedAt.IsZero() || !got.FinishedAt.IsZero() {
		t.Errorf("read back %+v", got)
	}
	started := base.Add(time.Minute)
	if err := s.SetExperimentStatus(ctx, "e1", store.ExperimentRunning, "", started, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for i, r := range []store.ExperimentResult{
		{Experiment: "e1", Item: "b", Variant: "v1", Doc: json.RawMessage(`{"n":1}`), At: base},
		{Experiment: "e1", Item: "a", Variant: "v2", Doc: json.RawMessage(`{"n":2}`), At: base},
		{Experiment: "e1", Item: "a", Variant: "v1", Doc: json.RawMessage(`{"n":3}`), At: base},
		{Experiment: "e1", Item: "b", Variant: "v1", Doc: json.RawMessage(`{"n":4}`), At: base.Add(time.Second)},
	} {
		if err := s.PutExperimentResult(ctx, r); err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
	}
	if err := s.PutExperimentResult(ctx, store.ExperimentResult{Experiment: "e1", Item: "a"}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("result without variant and doc: %v, want ErrInvalidQuery", err)
	}
	finished := base.Add(2 * time.Minute)
	if err := s.SetExperimentStatus(ctx, "e1", store.ExperimentFailed, "boom", time.Time{}, finished); err != nil {
		t.Fatal(err)
	}
	got, err = s.Experiment(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Done != 3 || got.Status != store.ExperimentFailed || got.Error != "boom" || !got.StartedAt.Equal(started) || !got.FinishedAt.Equal(finished) {
		t.Errorf("after the run: %+v", got)
	}
	rs, err := s.ExperimentResults(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range rs {
		keys = append(keys, fmt.Sprintf("%s/%s/%s=%s", r.Experiment, r.Item, r.Variant, r.Doc))
	}
	want := []string{`e1/a/v1={"n":3}`, `e1/a/v2={"n":2}`, `e1/b/v1={"n":4}`}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("results = %v, want %v (ordered by item and variant, replaced in place)", keys, want)
	}
	if !rs[2].At.Equal(base.Add(time.Second)) {
		t.Errorf("replaced result at %v", rs[2].At)
	}
	if rs, err := s.ExperimentResults(ctx, "e2"); err != nil || rs == nil || len(rs) != 0 {
		t.Errorf("results of e2: %v, %v; want an empty, non-nil list", rs, err)
	}
	l, err := s.ListExperiments(ctx)
	if err != nil || len(l) != 2 || l[0].Name != "e2" || l[1].Name != "e1" || l[1].Done != 3 {
		t.Errorf("list = %+v, %v; want e2 then e1 (newest first)", l, err)
	}
}

func testExperimentsConcurrent(t *testing.T, s store.ExperimentStore) {
	ctx := context.Background()
	if _, err := s.CreateExperiment(ctx, store.Experiment{Name: "c", Spec: json.RawMessage(`{}`), Total: 40, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				// Two writers share each item: the row is replaced, not doubled.
				r := store.ExperimentResult{Experiment: "c", Item: fmt.Sprintf("i%02d", i), Variant: fmt.Sprintf("v%d", w%2), Doc: json.RawMessage(fmt.Sprintf(`{"w":%d}`, w))}
				if err := s.PutExperimentResult(ctx, r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	e, err := s.Experiment(ctx, "c")
	if err != nil || e.Done != 40 {
		t.Errorf("done = %d, %v; want 40", e.Done, err)
	}
}

package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/store"
)

// judgeStore is what the judge cases need.
type judgeStore interface {
	store.JudgeStore
	store.JudgeRunStore
}

func testJudges(t *testing.T, s judgeStore) {
	ctx := context.Background()
	if _, err := s.Judge(ctx, "tone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing judge: %v, want ErrNotFound", err)
	}
	if _, err := s.JudgeVersions(ctx, "tone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("versions of a missing judge: %v, want ErrNotFound", err)
	}
	if l, err := s.ListJudges(ctx, ""); err != nil || l == nil || len(l) != 0 {
		t.Errorf("list before any: %#v, %v; want an empty, non-nil list", l, err)
	}
	if _, err := s.AddJudgeVersion(ctx, store.JudgeVersion{Judge: "tone", Definition: json.RawMessage(`{}`)}, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("version of a missing judge: %v, want ErrNotFound", err)
	}
	if _, _, err := s.CreateJudge(ctx, store.Judge{Name: "x"}, store.JudgeVersion{Definition: json.RawMessage(`{}`)}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("create without a criterion: %v, want ErrInvalidQuery", err)
	}
	def1 := json.RawMessage(`{"model":"m","criterion_version":1,"note":"Ton 🙂"}`)
	j, v, err := s.CreateJudge(ctx, store.Judge{Name: "tone", Criterion: "polite", CreatedBy: "alice"},
		store.JudgeVersion{Definition: def1, CreatedAt: base, CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	wantJ := store.Judge{Name: "tone", Criterion: "polite", LatestVersion: 1, CreatedAt: base, CreatedBy: "alice"}
	if diff := cmp.Diff(wantJ, j); diff != "" {
		t.Errorf("created judge (-want +got):\n%s", diff)
	}
	wantV1 := store.JudgeVersion{Judge: "tone", Version: 1, Definition: def1, CreatedAt: base, CreatedBy: "alice"}
	if diff := cmp.Diff(wantV1, v); diff != "" {
		t.Errorf("created version (-want +got):\n%s", diff)
	}
	if _, _, err := s.CreateJudge(ctx, store.Judge{Name: "tone", Criterion: "other"}, store.JudgeVersion{Definition: def1}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("create twice: %v, want ErrConflict", err)
	}
	def2 := json.RawMessage(`{"model":"n","criterion_version":2}`)
	if _, err := s.AddJudgeVersion(ctx, store.JudgeVersion{Judge: "tone", Definition: def2}, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("version on a stale base: %v, want ErrConflict", err)
	}
	v2, err := s.AddJudgeVersion(ctx, store.JudgeVersion{Judge: "tone", Definition: def2, CreatedAt: base.Add(1), CreatedBy: "bob"}, 1)
	if err != nil || v2.Version != 2 {
		t.Fatalf("AddJudgeVersion: %+v, %v; want version 2", v2, err)
	}
	if got, err := s.JudgeVersion(ctx, "tone", 0); err != nil || got.Version != 2 || string(got.Definition) != string(def2) || got.CreatedBy != "bob" {
		t.Errorf("latest version: %+v, %v", got, err)
	}
	if got, err := s.JudgeVersion(ctx, "tone", 1); err != nil || string(got.Definition) != string(def1) {
		t.Errorf("version 1: %+v, %v", got, err)
	}
	if _, err := s.JudgeVersion(ctx, "tone", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("version 3: %v, want ErrNotFound", err)
	}
	if vs, err := s.JudgeVersions(ctx, "tone"); err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
		t.Errorf("versions: %+v, %v", vs, err)
	}
	if got, err := s.Judge(ctx, "tone"); err != nil || got.LatestVersion != 2 {
		t.Errorf("judge after version 2: %+v, %v", got, err)
	}
	if _, _, err := s.CreateJudge(ctx, store.Judge{Name: "accuracy", Criterion: "correct"}, store.JudgeVersion{Definition: def1}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.ListJudges(ctx, ""); err != nil || len(l) != 2 || l[0].Name != "accuracy" || l[1].Name != "tone" {
		t.Errorf("list: %+v, %v; want accuracy, tone", l, err)
	}
	if l, err := s.ListJudges(ctx, "polite"); err != nil || len(l) != 1 || l[0].Name != "tone" {
		t.Errorf("list of polite: %+v, %v; want tone", l, err)
	}

	// Runs.
	run := store.JudgeRun{ID: "jrun_1", Judge: "tone", Version: 2, Doc: json.RawMessage(`{"errors":[{"target":"req_1"}]}`), CreatedAt: base, CreatedBy: "alice"}
	if err := s.PutJudgeRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := s.PutJudgeRun(ctx, run); !errors.Is(err, store.ErrConflict) {
		t.Errorf("run twice: %v, want ErrConflict", err)
	}
	if err := s.PutJudgeRun(ctx, store.JudgeRun{Judge: "tone", Doc: json.RawMessage(`{}`)}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("run without id: %v, want ErrInvalidQuery", err)
	}
	got, err := s.JudgeRun(ctx, "tone", "jrun_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(run, got); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	if _, err := s.JudgeRun(ctx, "accuracy", "jrun_1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("run of another judge: %v, want ErrNotFound", err)
	}
}

// testJudgeVersionsConcurrent: concurrent versions on the same base leave
// exactly one winner and contiguous version numbers.
func testJudgeVersionsConcurrent(t *testing.T, s judgeStore) {
	ctx := context.Background()
	if _, _, err := s.CreateJudge(ctx, store.Judge{Name: "tone", Criterion: "polite"}, store.JudgeVersion{Definition: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range n {
		wg.Go(func() {
			_, err := s.AddJudgeVersion(ctx, store.JudgeVersion{Judge: "tone", Definition: json.RawMessage(`{"a":1}`)}, 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("AddJudgeVersion: %v, want nil or ErrConflict", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent versions on base 1 won, want 1", wins)
	}
	if vs, err := s.JudgeVersions(ctx, "tone"); err != nil || len(vs) != 2 {
		t.Errorf("versions: %d, %v; want 2", len(vs), err)
	}
}

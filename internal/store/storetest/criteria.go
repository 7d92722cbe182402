package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/store"
)

func testCriteria(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.Criterion(ctx, "tone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("criterion before any: %v, want ErrNotFound", err)
	}
	if _, err := s.CriterionVersions(ctx, "tone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("versions before any: %v, want ErrNotFound", err)
	}
	if l, err := s.ListCriteria(ctx, ""); err != nil || l == nil || len(l) != 0 {
		t.Errorf("list before any: %#v, %v; want an empty, non-nil list", l, err)
	}
	def1 := json.RawMessage(`{"question":"Polite? ünïcode 🌍","type":"boolean"}`)
	c, v1, err := s.CreateCriterion(ctx, store.Criterion{Name: "tone", UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "tom", RequiresApproval: true, ChangedBy: "bea"},
		store.CriterionVersion{Definition: def1, Author: "bea", CreatedAt: base})
	if err != nil {
		t.Fatal(err)
	}
	wantC := store.Criterion{Name: "tone", UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "tom", RequiresApproval: true, LatestVersion: 1,
		CreatedAt: base, ChangedAt: base, ChangedBy: "bea"}
	if diff := cmp.Diff(wantC, c); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	wantV1 := store.CriterionVersion{Criterion: "tone", Version: 1, Definition: def1, Author: "bea", CreatedAt: base}
	if diff := cmp.Diff(wantV1, v1); diff != "" {
		t.Errorf("version 1 (-want +got):\n%s", diff)
	}
	if _, _, err := s.CreateCriterion(ctx, store.Criterion{Name: "tone", UseCase: "support"}, store.CriterionVersion{Definition: def1}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("create twice: %v, want ErrConflict", err)
	}
	if _, _, err := s.CreateCriterion(ctx, store.Criterion{Name: "other", UseCase: "sales"}, store.CriterionVersion{Definition: def1, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}

	// An ownership change is not a version.
	c.TechnicalOwner, c.ChangedAt, c.ChangedBy = "tia", base.Add(time.Second), "admin"
	got, nv, err := s.UpdateCriterion(ctx, c, nil, 1)
	if err != nil || nv != nil || got.TechnicalOwner != "tia" || got.LatestVersion != 1 || !got.ChangedAt.Equal(base.Add(time.Second)) || !got.CreatedAt.Equal(base) {
		t.Errorf("owner change: %+v, %v, %v", got, nv, err)
	}
	def2 := json.RawMessage(`{"question":"Polite and warm?","type":"boolean"}`)
	got, nv, err = s.UpdateCriterion(ctx, c, &store.CriterionVersion{Definition: def2, Author: "tia", Reason: "warmth", CreatedAt: base.Add(2 * time.Second)}, 1)
	if err != nil || nv == nil || nv.Version != 2 || got.LatestVersion != 2 || nv.Criterion != "tone" {
		t.Fatalf("new version: %+v, %+v, %v", got, nv, err)
	}
	if _, _, err := s.UpdateCriterion(ctx, c, &store.CriterionVersion{Definition: def2}, 1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("update on a stale base: %v, want ErrConflict", err)
	}
	if _, _, err := s.UpdateCriterion(ctx, store.Criterion{Name: "nope"}, nil, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing criterion: %v, want ErrNotFound", err)
	}
	vs, err := s.CriterionVersions(ctx, "tone")
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || string(vs[1].Definition) != string(def2) || vs[1].Reason != "warmth" {
		t.Errorf("versions: %+v, %v", vs, err)
	}
	if diff := cmp.Diff(wantV1, vs[0]); diff != "" {
		t.Errorf("version 1 changed (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ version, want int }{{0, 2}, {1, 1}, {2, 2}} {
		v, err := s.CriterionVersion(ctx, "tone", tc.version)
		if err != nil || v.Version != tc.want {
			t.Errorf("version %d: %+v, %v; want %d", tc.version, v, err, tc.want)
		}
	}
	if _, err := s.CriterionVersion(ctx, "tone", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("version 3: %v, want ErrNotFound", err)
	}
	for _, tc := range []struct {
		useCase string
		want    []string
	}{{"", []string{"other", "tone"}}, {"support", []string{"tone"}}, {"nobody", nil}} {
		l, err := s.ListCriteria(ctx, tc.useCase)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range l {
			names = append(names, c.Name)
		}
		if diff := cmp.Diff(tc.want, names); diff != "" {
			t.Errorf("list %q (-want +got):\n%s", tc.useCase, diff)
		}
	}
}

func testCriterionChanges(t *testing.T, s Store) {
	ctx := context.Background()
	def1 := json.RawMessage(`{"question":"q1","type":"boolean"}`)
	def2 := json.RawMessage(`{"question":"q2","type":"boolean"}`)
	if _, _, err := s.CreateCriterion(ctx, store.Criterion{Name: "tone", UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "tom", RequiresApproval: true},
		store.CriterionVersion{Definition: def1, Author: "bea", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCriterionChange(ctx, store.CriterionChange{ID: "ch1", Criterion: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("change of a missing criterion: %v, want ErrNotFound", err)
	}
	if l, err := s.CriterionChanges(ctx, "tone"); err != nil || l == nil || len(l) != 0 {
		t.Errorf("changes before any: %#v, %v", l, err)
	}
	add := func(id string, def json.RawMessage, at int) (store.CriterionChange, error) {
		return s.AddCriterionChange(ctx, store.CriterionChange{ID: id, Criterion: "tone", Base: 1, BusinessOwner: "bea", TechnicalOwner: "tom",
			RequiresApproval: true, Definition: def, Reason: "why " + id, ProposedBy: "bea", ProposedAt: base.Add(time.Duration(at) * time.Second), Status: "approved"})
	}
	ch1, err := add("ch1", def2, 1)
	if err != nil || ch1.Status != store.ChangePending {
		t.Fatalf("add: %+v, %v", ch1, err)
	}
	if _, err := add("ch2", def2, 2); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second pending change: %v, want ErrConflict", err)
	}
	got, err := s.CriterionChange(ctx, "tone", "ch1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ch1, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if _, err := s.DecideCriterionChange(ctx, "tone", "ch1", "maybe", "tom", "", base); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("bad status: %v, want ErrInvalidQuery", err)
	}
	if _, err := s.DecideCriterionChange(ctx, "tone", "zz", store.ChangeRejected, "tom", "", base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("decide a missing change: %v, want ErrNotFound", err)
	}
	rej, err := s.DecideCriterionChange(ctx, "tone", "ch1", store.ChangeRejected, "tom", "too vague", base.Add(3*time.Second))
	if err != nil || rej.Status != store.ChangeRejected || rej.DecidedBy != "tom" || rej.DecisionReason != "too vague" || !rej.DecidedAt.Equal(base.Add(3*time.Second)) || rej.Version != 0 {
		t.Errorf("reject: %+v, %v", rej, err)
	}
	if _, err := s.DecideCriterionChange(ctx, "tone", "ch1", store.ChangeApproved, "tom", "", base); !errors.Is(err, store.ErrConflict) {
		t.Errorf("approve a rejected change: %v, want ErrConflict", err)
	}
	if c, _ := s.Criterion(ctx, "tone"); c.LatestVersion != 1 {
		t.Errorf("a rejected change made version %d", c.LatestVersion)
	}
	// After a decision another change may be proposed; an approval applies it.
	if _, err := add("ch2", def2, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DecideCriterionChange(ctx, "tone", "ch2", store.ChangeApproved, "tom", "", base.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	app, _ := s.CriterionChange(ctx, "tone", "ch2")
	if app.Status != store.ChangeApproved || app.Version != 2 {
		t.Errorf("approved: %+v", app)
	}
	v2, err := s.CriterionVersion(ctx, "tone", 0)
	if err != nil || v2.Version != 2 || string(v2.Definition) != string(def2) || v2.Author != "bea" || v2.Reason != "why ch2" {
		t.Errorf("approved version: %+v, %v", v2, err)
	}
	// A change proposed on an old version cannot be approved.
	if _, err := s.AddCriterionChange(ctx, store.CriterionChange{ID: "ch3", Criterion: "tone", Base: 1, BusinessOwner: "bea", TechnicalOwner: "tia", Definition: def1, ProposedBy: "tom", ProposedAt: base.Add(6 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DecideCriterionChange(ctx, "tone", "ch3", store.ChangeApproved, "bea", "", base.Add(7*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("approve on a stale base: %v, want ErrConflict", err)
	}
	// An owners-only change approved: the header moves, no version.
	if _, err := s.DecideCriterionChange(ctx, "tone", "ch3", store.ChangeWithdrawn, "tom", "", base.Add(8*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCriterionChange(ctx, store.CriterionChange{ID: "ch4", Criterion: "tone", Base: 2, BusinessOwner: "bea", TechnicalOwner: "tia", RequiresApproval: false, ProposedBy: "tom", ProposedAt: base.Add(9 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if ch, err := s.DecideCriterionChange(ctx, "tone", "ch4", store.ChangeApproved, "bea", "ok", base.Add(10*time.Second)); err != nil || ch.Version != 0 {
		t.Fatalf("approve owners: %+v, %v", ch, err)
	}
	c, _ := s.Criterion(ctx, "tone")
	if c.TechnicalOwner != "tia" || c.RequiresApproval || c.LatestVersion != 2 || c.ChangedBy != "bea" {
		t.Errorf("after the owners change: %+v", c)
	}
	l, err := s.CriterionChanges(ctx, "tone")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, ch := range l {
		states = append(states, ch.ID+":"+ch.Status)
	}
	if diff := cmp.Diff([]string{"ch1:rejected", "ch2:approved", "ch3:withdrawn", "ch4:approved"}, states); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func score(id, criterion string, version int, kind eval.EvaluatorKind, evaluator string, at time.Time, v eval.Value, pass *bool) store.StoredScore {
	return store.StoredScore{Score: eval.Score{ID: id, Criterion: criterion, CriterionVersion: version, EvaluatorKind: kind, Evaluator: evaluator,
		TargetKind: eval.TargetCall, Target: "call-" + id, Value: v, At: at}, Pass: pass}
}

func testScores(t *testing.T, s Store) {
	ctx := context.Background()
	yes, no := eval.Value{Bool: ptr(true)}, eval.Value{Bool: ptr(false)}
	day2 := base.Add(24 * time.Hour)
	batch := []store.StoredScore{
		score("s1", "tone", 1, eval.Human, "ann", base, yes, ptr(true)),
		score("s2", "tone", 1, eval.LLM, "judge@1", base.Add(time.Second), no, ptr(false)),
		score("s3", "tone", 2, eval.Human, "ann", day2, yes, ptr(true)),
		score("s1", "tone", 2, eval.Human, "bob", day2, no, ptr(false)), // repeat within the batch: skipped
		score("s4", "len", 1, eval.Code, "len-check", base, eval.Value{Number: ptr(3.5)}, nil),
		score("s5", "len", 1, eval.Code, "len-check", base.Add(time.Minute), eval.Value{Number: ptr(4.5)}, nil),
		score("s6", "kind", 1, eval.Human, "ann", base, eval.Value{Label: "good ü"}, nil),
	}
	batch[0].Reasoning = "fine 🌍"
	n, err := s.PutScores(ctx, batch)
	if err != nil || n != 6 {
		t.Fatalf("put: %d, %v; want 6", n, err)
	}
	// A repeat is skipped, never overwritten; the new ones are stored.
	n, err = s.PutScores(ctx, []store.StoredScore{score("s1", "tone", 1, eval.Human, "zed", base, no, ptr(false)), score("s7", "tone", 2, eval.LLM, "judge@1", day2.Add(time.Hour), no, ptr(false))})
	if err != nil || n != 1 {
		t.Fatalf("repeat: %d, %v; want 1", n, err)
	}
	if n, err := s.PutScores(ctx, nil); err != nil || n != 0 {
		t.Errorf("empty batch: %d, %v", n, err)
	}
	bad := score("s9", "tone", 0, eval.Human, "ann", base, yes, nil)
	if _, err := s.PutScores(ctx, []store.StoredScore{score("s8", "tone", 1, eval.Human, "ann", base, yes, nil), bad}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("version 0: %v, want ErrInvalidQuery", err)
	}
	if p, _ := s.ListScores(ctx, store.ScoreQuery{Target: "call-s8"}); len(p.Scores) != 0 {
		t.Errorf("a refused batch stored %d scores", len(p.Scores))
	}
	p, err := s.ListScores(ctx, store.ScoreQuery{Target: "call-s1"})
	if err != nil || len(p.Scores) != 1 {
		t.Fatalf("s1: %+v, %v", p, err)
	}
	if diff := cmp.Diff(batch[0], p.Scores[0]); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if p, _ := s.ListScores(ctx, store.ScoreQuery{Target: "call-s6"}); len(p.Scores) != 1 || p.Scores[0].Value.Label != "good ü" || p.Scores[0].Pass != nil {
		t.Errorf("label score: %+v", p.Scores)
	}
	ids := func(q store.ScoreQuery) []string {
		t.Helper()
		p, err := s.ListScores(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sc := range p.Scores {
			out = append(out, sc.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.ScoreQuery
		want []string
	}{
		{"all newest first", store.ScoreQuery{}, []string{"s7", "s3", "s5", "s2", "s6", "s4", "s1"}},
		{"criterion", store.ScoreQuery{Criterion: "tone"}, []string{"s7", "s3", "s2", "s1"}},
		{"version", store.ScoreQuery{Criterion: "tone", CriterionVersion: 1}, []string{"s2", "s1"}},
		{"evaluator kind", store.ScoreQuery{EvaluatorKind: eval.LLM}, []string{"s7", "s2"}},
		{"evaluator", store.ScoreQuery{Evaluator: "ann"}, []string{"s3", "s6", "s1"}},
		{"target kind", store.ScoreQuery{TargetKind: eval.TargetInstance}, nil},
		{"from to", store.ScoreQuery{From: base.Add(time.Second), To: day2}, []string{"s5", "s2"}},
	} {
		if diff := cmp.Diff(tc.want, ids(tc.q)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// Keyset pages.
	var all []string
	q := store.ScoreQuery{Limit: 2}
	for i := 0; i < 10; i++ {
		p, err := s.ListScores(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range p.Scores {
			all = append(all, sc.ID)
		}
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	if diff := cmp.Diff([]string{"s7", "s3", "s5", "s2", "s6", "s4", "s1"}, all); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	for _, q := range []store.ScoreQuery{{Limit: -1}, {Cursor: "!!"}, {From: day2, To: base}, {CriterionVersion: -1}} {
		if _, err := s.ListScores(ctx, q); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("%+v: %v, want ErrInvalidQuery", q, err)
		}
	}

	// The summary is split by version, evaluator kind and day.
	sum, err := s.SummarizeScores(ctx, "tone", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	d1 := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	want := []store.ScoreSummary{
		{Version: 1, EvaluatorKind: eval.Human, Day: d1, Count: 1, Judged: 1, Passes: 1},
		{Version: 1, EvaluatorKind: eval.LLM, Day: d1, Count: 1, Judged: 1, Passes: 0},
		{Version: 2, EvaluatorKind: eval.Human, Day: d1.AddDate(0, 0, 1), Count: 1, Judged: 1, Passes: 1},
		{Version: 2, EvaluatorKind: eval.LLM, Day: d1.AddDate(0, 0, 1), Count: 1, Judged: 1, Passes: 0},
	}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	sum, err = s.SummarizeScores(ctx, "len", time.Time{}, time.Time{})
	if err != nil || len(sum) != 1 || sum[0].Count != 2 || sum[0].Judged != 0 || sum[0].Mean == nil || *sum[0].Mean != 4 {
		t.Errorf("numeric summary: %s, %v", fmt.Sprint(sum), err)
	}
	if sum, err := s.SummarizeScores(ctx, "tone", day2, time.Time{}); err != nil || len(sum) != 2 || sum[0].Version != 2 {
		t.Errorf("summary from day 2: %+v, %v", sum, err)
	}
	if sum, err := s.SummarizeScores(ctx, "none", time.Time{}, time.Time{}); err != nil || sum == nil || len(sum) != 0 {
		t.Errorf("summary of nothing: %#v, %v", sum, err)
	}
}

// testCriteriaConcurrent: concurrent proposals leave exactly one pending
// change; concurrent batches of overlapping scores store each id once.
func testCriteriaConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	if _, _, err := s.CreateCriterion(ctx, store.Criterion{Name: "tone", UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "tom", RequiresApproval: true},
		store.CriterionVersion{Definition: json.RawMessage(`{"question":"q","type":"boolean"}`), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		added, conflicts int
		stored           int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.AddCriterionChange(ctx, store.CriterionChange{ID: fmt.Sprintf("ch%d", i), Criterion: "tone", Base: 1, ProposedBy: "bea", ProposedAt: base})
			var batch []store.StoredScore
			for j := range 20 {
				batch = append(batch, score(fmt.Sprintf("s%d", (i*10+j)%50), "tone", 1, eval.LLM, "judge@1", base.Add(time.Duration(j)*time.Second), eval.Value{Bool: ptr(true)}, ptr(true)))
			}
			k, perr := s.PutScores(ctx, batch)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				added++
			case errors.Is(err, store.ErrConflict):
				conflicts++
			default:
				t.Errorf("add change %d: %v", i, err)
			}
			if perr != nil {
				t.Errorf("put scores %d: %v", i, perr)
			}
			stored += k
		}()
	}
	wg.Wait()
	if added != 1 || conflicts != n-1 {
		t.Errorf("%d changes added, %d conflicts; want 1 and %d", added, conflicts, n-1)
	}
	// Ids s0..s49 cover (i*10+j)%50 for i < 8, j < 20: all 50.
	if stored != 50 {
		t.Errorf("%d scores stored, want 50", stored)
	}
	p, err := s.ListScores(ctx, store.ScoreQuery{Criterion: "tone", Limit: 100})
	if err != nil || len(p.Scores) != 50 {
		t.Errorf("listed %d scores, %v; want 50", len(p.Scores), err)
	}
}

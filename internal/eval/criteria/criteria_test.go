package criteria

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

var t0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

type auditLog struct {
	mu      sync.Mutex
	actions []string
}

func (a *auditLog) Record(_ context.Context, action, kind, id string, _, _ any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.actions = append(a.actions, action+" "+kind+" "+id)
	return nil
}

type env struct {
	s     *Service
	st    *sqlite.Store
	audit *auditLog
	now   *time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, p := range []struct{ name, role string }{{"bea", "owner"}, {"tom", "owner"}, {"oscar", "owner"}, {"root", "admin"}, {"root2", "admin"}, {"ann", "reviewer"}} {
		if err := st.PutPerson(context.Background(), store.Person{Name: p.name, Role: p.role, CreatedAt: t0, ChangedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutPerson(context.Background(), store.Person{Name: "gone", Role: "owner", Disabled: true, CreatedAt: t0, ChangedAt: t0}); err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, audit: &auditLog{}}
	now := t0
	e.now = &now
	e.s = New(Options{Store: st, People: st, Audit: e.audit, Now: func() time.Time { return *e.now }})
	return e
}

func (e *env) tick(d time.Duration) { *e.now = e.now.Add(d) }

var (
	bea   = Actor{Name: "bea"}
	tom   = Actor{Name: "tom"}
	oscar = Actor{Name: "oscar"}
	root  = Actor{Name: "root", Admin: true}
	root2 = Actor{Name: "root2", Admin: true}
)

func boolDef(q string) *eval.Definition { return &eval.Definition{Question: q, Type: eval.Boolean} }

func catDef(q string, labels ...string) *eval.Definition {
	return &eval.Definition{Question: q, Type: eval.Categorical, Labels: labels, Ordered: true, PassLabels: labels[len(labels)-1:]}
}

func ptr[T any](v T) *T { return &v }

func create(t *testing.T, e *env, name string, approval bool, def *eval.Definition) Result {
	t.Helper()
	r, err := e.s.Put(context.Background(), name, Input{UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "tom", RequiresApproval: &approval, Definition: def}, bea)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVersioning(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := create(t, e, "resolved", false, boolDef("Resolved?"))
	if r.Status != StatusApplied || r.Version == nil || r.Version.Version != 1 || r.Version.Author != "bea" || r.Criterion.LatestVersion != 1 {
		t.Fatalf("create: %+v", r)
	}
	v1 := *r.Version
	e.tick(time.Hour)

	// The same definition again: nothing happens.
	r, err := e.s.Put(ctx, "resolved", Input{Definition: boolDef("Resolved?"), Reason: "again"}, tom)
	if err != nil || r.Status != StatusUnchanged || r.Version.Version != 1 {
		t.Fatalf("identical: %+v, %v", r, err)
	}
	// A change without a reason is refused.
	if _, err := e.s.Put(ctx, "resolved", Input{Definition: boolDef("Resolved for good?")}, tom); !errors.Is(err, ErrInvalid) {
		t.Errorf("no reason: %v, want ErrInvalid", err)
	}
	// An invalid definition is refused.
	if _, err := e.s.Put(ctx, "resolved", Input{Definition: &eval.Definition{Question: "x", Type: "stars"}, Reason: "r"}, tom); !errors.Is(err, eval.ErrInvalid) {
		t.Errorf("bad definition: %v, want eval.ErrInvalid", err)
	}
	r, err = e.s.Put(ctx, "resolved", Input{Definition: catDef("How well resolved?", "no", "partly", "yes"), Reason: "partial resolutions matter"}, tom)
	if err != nil || r.Status != StatusApplied || r.Version.Version != 2 || r.Version.Author != "tom" || r.Version.Reason != "partial resolutions matter" {
		t.Fatalf("v2: %+v, %v", r, err)
	}
	// An ownership change is not a version.
	e.tick(time.Hour)
	r, err = e.s.Put(ctx, "resolved", Input{TechnicalOwner: "oscar"}, tom)
	if err != nil || r.Status != StatusApplied || r.Version != nil || r.Criterion.LatestVersion != 2 || r.Criterion.TechnicalOwner != "oscar" {
		t.Fatalf("owner change: %+v, %v", r, err)
	}
	// Owners are people, enabled.
	for _, o := range []string{"nobody", "gone"} {
		if _, err := e.s.Put(ctx, "resolved", Input{BusinessOwner: o}, bea); !errors.Is(err, ErrInvalid) {
			t.Errorf("owner %s: %v, want ErrInvalid", o, err)
		}
	}
	// A criterion does not move to another use case.
	if _, err := e.s.Put(ctx, "resolved", Input{UseCase: "sales"}, bea); !errors.Is(err, ErrInvalid) {
		t.Errorf("move: %v, want ErrInvalid", err)
	}
	vs, err := e.s.Versions(ctx, "resolved")
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions: %+v, %v", vs, err)
	}
	if diff := cmp.Diff(v1, vs[0]); diff != "" {
		t.Errorf("version 1 changed (-want +got):\n%s", diff)
	}
	got, err := e.s.Version(ctx, "resolved", 1)
	if err != nil || got.Definition.Type != eval.Boolean {
		t.Errorf("version 1: %+v, %v", got, err)
	}
	h, err := e.s.History(ctx, "resolved", time.Time{}, time.Time{})
	if err != nil || len(h.Versions) != 2 || h.Versions[0].Diff != nil {
		t.Fatalf("history: %+v, %v", h, err)
	}
	d := h.Versions[1].Diff
	if d == nil || !d.Type || !d.Labels || !d.Question || d.Rubric || !d.Pass {
		t.Errorf("diff: %+v", d)
	}
	want := []string{"criterion.create criterion resolved", "criterion.version criterion resolved", "criterion.put criterion resolved"}
	if diff := cmp.Diff(want, e.audit.actions); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func TestCreateChecks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ok := Input{UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "tom", Definition: boolDef("q")}
	for _, tc := range []struct {
		name string
		crit string
		in   func(in Input) Input
		by   Actor
		want error
	}{
		{"bad name", "-x", func(in Input) Input { return in }, bea, ErrInvalid},
		{"no use case", "c", func(in Input) Input { in.UseCase = ""; return in }, bea, ErrInvalid},
		{"no definition", "c", func(in Input) Input { in.Definition = nil; return in }, bea, ErrInvalid},
		{"no technical owner", "c", func(in Input) Input { in.TechnicalOwner = ""; return in }, bea, ErrInvalid},
		{"owner not a person", "c", func(in Input) Input { in.BusinessOwner = "x@y"; return in }, bea, ErrInvalid},
		{"creator owns neither side", "c", func(in Input) Input { return in }, oscar, ErrForbidden},
		{"admin creates for others", "c", func(in Input) Input { return in }, root, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.Put(ctx, tc.crit, tc.in(ok), tc.by)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNonOwnerRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	create(t, e, "tone", false, boolDef("Polite?"))
	if _, err := e.s.Put(ctx, "tone", Input{Definition: boolDef("Polite and warm?"), Reason: "warmth"}, oscar); !errors.Is(err, ErrForbidden) {
		t.Errorf("non-owner change: %v, want ErrForbidden", err)
	}
	if r, err := e.s.Put(ctx, "tone", Input{Definition: boolDef("Polite and warm?"), Reason: "warmth"}, root); err != nil || r.Version.Version != 2 {
		t.Errorf("admin change: %+v, %v", r, err)
	}
}

func TestApprovalFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	create(t, e, "tone", true, boolDef("Polite?"))
	propose := func(by Actor, q string) (Result, error) {
		return e.s.Put(ctx, "tone", Input{Definition: boolDef(q), Reason: "because " + q}, by)
	}
	// The business owner proposes: the change waits.
	r, err := propose(bea, "Polite and warm?")
	if err != nil || r.Status != StatusPending || r.Change == nil || r.Criterion.LatestVersion != 1 || r.Criterion.Pending == nil {
		t.Fatalf("propose: %+v, %v", r, err)
	}
	id := r.Change.ID
	if _, err := propose(tom, "Something else?"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second pending: %v, want ErrConflict", err)
	}
	for _, tc := range []struct {
		name     string
		by       Actor
		decision string
		reason   string
		want     error
	}{
		{"proposer cannot approve", bea, store.ChangeApproved, "", ErrForbidden},
		{"non-owner cannot approve", oscar, store.ChangeApproved, "", ErrForbidden},
		{"other owner cannot withdraw", tom, store.ChangeWithdrawn, "", ErrForbidden},
		{"rejection needs a reason", tom, store.ChangeRejected, " ", ErrInvalid},
		{"unknown decision", tom, "merged", "", ErrInvalid},
	} {
		if _, err := e.s.Decide(ctx, "tone", id, tc.decision, tc.reason, tc.by); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	e.tick(time.Minute)
	ch, err := e.s.Decide(ctx, "tone", id, store.ChangeApproved, "", tom)
	if err != nil || ch.Status != store.ChangeApproved || ch.Version != 2 || ch.DecidedBy != "tom" || ch.Definition == nil {
		t.Fatalf("approve: %+v, %v", ch, err)
	}
	v, err := e.s.Version(ctx, "tone", 0)
	if err != nil || v.Version != 2 || v.Author != "bea" || v.Reason != "because Polite and warm?" || v.Definition.Question != "Polite and warm?" {
		t.Errorf("approved version: %+v, %v", v, err)
	}
	if _, err := e.s.Decide(ctx, "tone", id, store.ChangeApproved, "", root); !errors.Is(err, store.ErrConflict) {
		t.Errorf("approve twice: %v, want ErrConflict", err)
	}

	// The technical owner proposes, the business owner rejects.
	r, err = propose(tom, "Formal?")
	if err != nil || r.Status != StatusPending {
		t.Fatal(r, err)
	}
	ch, err = e.s.Decide(ctx, "tone", r.Change.ID, store.ChangeRejected, "we are not formal", bea)
	if err != nil || ch.Status != store.ChangeRejected || ch.DecisionReason != "we are not formal" {
		t.Fatalf("reject: %+v, %v", ch, err)
	}
	// Withdrawn by its proposer.
	r, _ = propose(tom, "Short?")
	if ch, err = e.s.Decide(ctx, "tone", r.Change.ID, store.ChangeWithdrawn, "", tom); err != nil || ch.Status != store.ChangeWithdrawn {
		t.Fatalf("withdraw: %+v, %v", ch, err)
	}
	// An admin's proposal is approved by an owner; an owner's by an admin.
	r, _ = propose(root, "Kind?")
	if _, err := e.s.Decide(ctx, "tone", r.Change.ID, store.ChangeApproved, "", root); !errors.Is(err, ErrForbidden) {
		t.Errorf("admin approves own: %v, want ErrForbidden", err)
	}
	if ch, err = e.s.Decide(ctx, "tone", r.Change.ID, store.ChangeApproved, "", bea); err != nil || ch.Version != 3 {
		t.Fatalf("owner approves admin's: %+v, %v", ch, err)
	}
	r, _ = propose(bea, "Kind and brief?")
	if ch, err = e.s.Decide(ctx, "tone", r.Change.ID, store.ChangeApproved, "fine", root2); err != nil || ch.Version != 4 {
		t.Fatalf("admin approves: %+v, %v", ch, err)
	}
	// Turning approval off is itself a change that needs approval.
	r, err = e.s.Put(ctx, "tone", Input{RequiresApproval: ptr(false)}, tom)
	if err != nil || r.Status != StatusPending || r.Change.Definition != nil {
		t.Fatalf("approval off: %+v, %v", r, err)
	}
	if _, err := e.s.Decide(ctx, "tone", r.Change.ID, store.ChangeApproved, "", bea); err != nil {
		t.Fatal(err)
	}
	if r, err = propose(tom, "Kind, brief and right?"); err != nil || r.Status != StatusApplied || r.Version.Version != 5 {
		t.Errorf("without approval: %+v, %v", r, err)
	}
	chs, err := e.s.Changes(ctx, "tone")
	if err != nil || len(chs) != 6 {
		t.Errorf("changes: %d, %v", len(chs), err)
	}
}

func TestScoresKeptByVersion(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	create(t, e, "quality", false, catDef("Quality?", "poor", "fair", "good"))
	score := func(id, label string, version int) ScoreInput {
		return ScoreInput{ID: id, Criterion: "quality", CriterionVersion: version, EvaluatorKind: eval.LLM, Evaluator: "judge@1",
			TargetKind: eval.TargetCall, Target: "call-" + id, Value: eval.Value{Label: label}}
	}
	out, n, err := e.s.PutScores(ctx, []ScoreInput{score("a", "good", 0), score("b", "poor", 1)}, root)
	if err != nil || n != 2 || out[0].CriterionVersion != 1 || out[0].Pass == nil || !*out[0].Pass || *out[1].Pass {
		t.Fatalf("put v1: %+v, %d, %v", out, n, err)
	}
	// The criterion is edited mid-way: "excellent" becomes the pass.
	e.tick(25 * time.Hour)
	if _, err := e.s.Put(ctx, "quality", Input{Definition: catDef("Quality?", "poor", "fair", "good", "excellent"), Reason: "good is not enough"}, bea); err != nil {
		t.Fatal(err)
	}
	// A label of the new version is not valid under the old one.
	if _, _, err := e.s.PutScores(ctx, []ScoreInput{score("c", "excellent", 1)}, root); !errors.Is(err, eval.ErrInvalid) {
		t.Errorf("label of v2 under v1: %v, want eval.ErrInvalid", err)
	}
	out, n, err = e.s.PutScores(ctx, []ScoreInput{score("c", "good", 0), score("d", "excellent", 2), score("e", "good", 1)}, root)
	if err != nil || n != 3 || out[0].CriterionVersion != 2 || *out[0].Pass || !*out[1].Pass || !*out[2].Pass {
		t.Fatalf("put v2: %+v, %d, %v", out, n, err)
	}
	// Idempotent: a repeat is skipped.
	if _, n, err := e.s.PutScores(ctx, []ScoreInput{score("a", "poor", 1)}, root); err != nil || n != 0 {
		t.Errorf("repeat: %d, %v", n, err)
	}
	h, err := e.s.History(ctx, "quality", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		version             int
		count, judged, pass int64
	}
	var got []line
	for _, v := range h.Versions {
		for _, k := range v.Totals {
			got = append(got, line{v.Version.Version, k.Count, k.Judged, k.Passes})
		}
	}
	// Version 1: a (good, pass), b (poor), e (good, pass) written later; version 2: c (good, now a fail), d.
	if diff := cmp.Diff([]line{{1, 3, 3, 2}, {2, 2, 2, 1}}, got, cmp.AllowUnexported(line{})); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if r := h.Versions[1].Totals[0].PassRate; r == nil || *r != 0.5 {
		t.Errorf("v2 pass rate %v", r)
	}
	if len(h.Versions[0].Days) != 2 {
		t.Errorf("v1 days: %+v", h.Versions[0].Days)
	}
	page, err := e.s.ListScores(ctx, store.ScoreQuery{Criterion: "quality", CriterionVersion: 2})
	if err != nil || len(page.Scores) != 2 {
		t.Errorf("v2 scores: %+v, %v", page, err)
	}
}

func TestScoreChecks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	create(t, e, "q", false, &eval.Definition{Question: "How good?", Type: eval.Likert, Points: 5, PassAt: ptr(4.0)})
	ok := ScoreInput{Criterion: "q", EvaluatorKind: eval.Code, Evaluator: "len", TargetKind: eval.TargetInstance, Target: "support/1", Value: eval.Value{Number: ptr(4.0)}}
	for _, tc := range []struct {
		name string
		f    func(s *ScoreInput)
	}{
		{"no criterion", func(s *ScoreInput) { s.Criterion = "nope" }},
		{"no such version", func(s *ScoreInput) { s.CriterionVersion = 9 }},
		{"negative version", func(s *ScoreInput) { s.CriterionVersion = -1 }},
		{"out of scale", func(s *ScoreInput) { s.Value.Number = ptr(6.0) }},
		{"two values", func(s *ScoreInput) { s.Value.Label = "x" }},
		{"bad evaluator kind", func(s *ScoreInput) { s.EvaluatorKind = "robot" }},
		{"code without evaluator", func(s *ScoreInput) { s.Evaluator = "" }},
		{"bad target kind", func(s *ScoreInput) { s.TargetKind = "file" }},
		{"no target", func(s *ScoreInput) { s.Target = "" }},
		{"future", func(s *ScoreInput) { s.At = t0.Add(time.Hour) }},
	} {
		s := ok
		tc.f(&s)
		if _, _, err := e.s.PutScores(ctx, []ScoreInput{ok, s}, root); !errors.Is(err, ErrInvalid) && !errors.Is(err, eval.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", tc.name, err)
		}
	}
	if p, _ := e.s.ListScores(ctx, store.ScoreQuery{}); len(p.Scores) != 0 {
		t.Errorf("refused batches stored %d scores", len(p.Scores))
	}
	if _, _, err := e.s.PutScores(ctx, nil, root); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty batch: %v", err)
	}
	// A human score is the actor's, whatever the body says.
	h := ok
	h.EvaluatorKind, h.Evaluator = eval.Human, "someone-else"
	out, _, err := e.s.PutScores(ctx, []ScoreInput{h}, Actor{Name: "ann"})
	if err != nil || out[0].Evaluator != "ann" || out[0].ID == "" || !out[0].At.Equal(t0) || out[0].Pass == nil || !*out[0].Pass {
		t.Errorf("human: %+v, %v", out, err)
	}
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/store"
)

func reviewQueueFixture(t *testing.T, s Store, n int, items int) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateReviewQueue(ctx, store.ReviewQueue{Name: "q", UseCase: "support", Criteria: []string{"tone", "resolved"}, ReviewsPerItem: n,
		Sampling: store.ReviewSampling{Rate: 0.1, StratifyBy: "model", MinPerStratum: 2}, CreatedAt: base, CreatedBy: "ada"}); err != nil {
		t.Fatal(err)
	}
	var add []store.ReviewItem
	for i := range items {
		add = append(add, store.ReviewItem{ID: fmt.Sprintf("it%02d", i), TargetKind: eval.TargetCall, Target: fmt.Sprintf("call%02d", i),
			Source: "added", AddedAt: base.Add(time.Duration(i) * time.Second), AddedBy: "ada"})
	}
	if got, err := s.AddReviewItems(ctx, "q", add, nil); err != nil || got != items {
		t.Fatalf("add %d items: %d, %v", items, got, err)
	}
}

func testReviewQueues(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.ReviewQueue(ctx, "q"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("queue before any: %v, want ErrNotFound", err)
	}
	if l, err := s.ListReviewQueues(ctx); err != nil || l == nil || len(l) != 0 {
		t.Errorf("list before any: %#v, %v; want an empty, non-nil list", l, err)
	}
	if _, err := s.AddReviewItems(ctx, "q", []store.ReviewItem{{ID: "a", TargetKind: eval.TargetCall, Target: "c"}}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("add to a missing queue: %v, want ErrNotFound", err)
	}
	reviewQueueFixture(t, s, 2, 3)
	want := store.ReviewQueue{Name: "q", UseCase: "support", Criteria: []string{"tone", "resolved"}, ReviewsPerItem: 2,
		Sampling: store.ReviewSampling{Rate: 0.1, StratifyBy: "model", MinPerStratum: 2}, CreatedAt: base, CreatedBy: "ada"}
	got, err := s.ReviewQueue(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queue (-want +got):\n%s", diff)
	}
	if _, err := s.CreateReviewQueue(ctx, store.ReviewQueue{Name: "q", ReviewsPerItem: 1}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("create twice: %v, want ErrConflict", err)
	}
	if _, err := s.CreateReviewQueue(ctx, store.ReviewQueue{Name: "z", ReviewsPerItem: 0}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("zero reviews per item: %v, want ErrInvalidQuery", err)
	}
	if l, err := s.ListReviewQueues(ctx); err != nil || len(l) != 1 || l[0].Name != "q" {
		t.Errorf("list: %+v, %v", l, err)
	}

	// A target is added once; the cursor moves with the batch.
	day := base.Truncate(24 * time.Hour)
	cur := store.Key{ReceivedAt: base.Add(time.Hour).UnixNano(), ID: "call99"}
	n, err := s.AddReviewItems(ctx, "q", []store.ReviewItem{
		{ID: "dup", TargetKind: eval.TargetCall, Target: "call00", AddedAt: base},
		{ID: "s1", TargetKind: eval.TargetCall, Target: "call10", Source: "sampled", Stratum: "gpt-4o", Day: base, AddedAt: base},
		{ID: "s2", TargetKind: eval.TargetCall, Target: "call11", Source: "sampled", Stratum: "gpt-4o", Day: base, AddedAt: base},
		{ID: "s3", TargetKind: eval.TargetCall, Target: "call12", Source: "sampled", Stratum: "claude", Day: base.Add(-24 * time.Hour), AddedAt: base},
		{ID: "x1", TargetKind: eval.TargetExperimentItem, Target: "call00", AddedAt: base},
	}, &cur)
	if err != nil || n != 4 {
		t.Errorf("add with a duplicate target: %d, %v; want 4 added", n, err)
	}
	if got, _ := s.ReviewQueue(ctx, "q"); got.Cursor != cur {
		t.Errorf("cursor %+v, want %+v", got.Cursor, cur)
	}
	counts, err := s.StratumCounts(ctx, "q", day)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{day.Format(time.DateOnly) + "|gpt-4o": 2}, counts); diff != "" {
		t.Errorf("stratum counts since today (-want +got):\n%s", diff)
	}
	if _, err := s.AddReviewItems(ctx, "q", []store.ReviewItem{{ID: "", TargetKind: eval.TargetCall, Target: "c"}}, nil); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("an item without id: %v, want ErrInvalidQuery", err)
	}
	items, err := s.ListReviewItems(ctx, "q", 0, 100)
	if err != nil || len(items) != 7 {
		t.Fatalf("list items: %d, %v; want 7", len(items), err)
	}
	// By time added, then in the order added.
	var order []string
	for _, it := range items {
		order = append(order, it.ID)
	}
	if diff := cmp.Diff([]string{"it00", "s1", "s2", "s3", "x1", "it01", "it02"}, order); diff != "" {
		t.Errorf("items in order (-want +got):\n%s", diff)
	}
	if _, err := s.ListReviewItems(ctx, "q", 0, 0); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("limit 0: %v, want ErrInvalidQuery", err)
	}
}

func testReviewLocks(t *testing.T, s Store) {
	ctx := context.Background()
	reviewQueueFixture(t, s, 2, 3)
	lock := 10 * time.Minute
	now := base.Add(time.Hour)
	vers := map[string]int{"tone": 3, "resolved": 1}

	a, err := s.NextReviewItem(ctx, "q", "amy", vers, now, lock)
	if err != nil || a.ID != "it00" || a.LockedBy != "amy" || !a.LockedUntil.Equal(now.Add(lock)) {
		t.Fatalf("amy's next: %+v, %v", a, err)
	}
	if diff := cmp.Diff(vers, a.Versions); diff != "" {
		t.Errorf("versions of the lock (-want +got):\n%s", diff)
	}
	// Asking again renews the same item (the versions it was opened with
	// stay).
	again, err := s.NextReviewItem(ctx, "q", "amy", map[string]int{"tone": 4}, now.Add(time.Minute), lock)
	if err != nil || again.ID != "it00" || !again.LockedUntil.Equal(now.Add(time.Minute+lock)) || again.Versions["tone"] != 3 {
		t.Errorf("amy again: %+v, %v", again, err)
	}
	// Bob gets another item: amy's is locked.
	b, err := s.NextReviewItem(ctx, "q", "bob", vers, now, lock)
	if err != nil || b.ID != "it01" {
		t.Errorf("bob's next: %+v, %v", b, err)
	}
	// Bob cannot finish amy's item while her lock is live.
	if _, err := s.FinishReviewItem(ctx, "q", "it00", store.ReviewOutcome{Reviewer: "bob", Kind: store.ReviewDone, At: now}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("bob finishes amy's locked item: %v, want ErrConflict", err)
	}
	if _, err := s.RenewReviewLock(ctx, "q", "it00", "bob", now, lock); !errors.Is(err, store.ErrConflict) {
		t.Errorf("bob renews amy's lock: %v, want ErrConflict", err)
	}
	if r, err := s.RenewReviewLock(ctx, "q", "it00", "amy", now.Add(2*time.Minute), lock); err != nil || !r.LockedUntil.Equal(now.Add(2*time.Minute+lock)) {
		t.Errorf("amy renews: %+v, %v", r, err)
	}
	// A skip releases the lock and is not a review; the skipper is not
	// given the item again.
	sk, err := s.FinishReviewItem(ctx, "q", "it01", store.ReviewOutcome{Reviewer: "bob", Kind: store.ReviewSkipped, Reason: "not English", At: now}, nil)
	if err != nil || sk.Reviews != 0 || sk.LockedBy != "" {
		t.Errorf("bob skips: %+v, %v", sk, err)
	}
	// After expiry, carl may take amy's item.
	later := now.Add(2*time.Minute + lock)
	c, err := s.NextReviewItem(ctx, "q", "carl", vers, later, lock)
	if err != nil || c.ID != "it00" || c.LockedBy != "carl" {
		t.Errorf("carl after amy's lock expired: %+v, %v", c, err)
	}
	if _, err := s.RenewReviewLock(ctx, "q", "it00", "amy", later, lock); !errors.Is(err, store.ErrConflict) {
		t.Errorf("amy renews an expired lock carl took: %v, want ErrConflict", err)
	}
	// Carl reviews; amy's old claim is gone, she gets it00 again only
	// when nobody holds it.
	sc := store.StoredScore{Score: eval.Score{ID: "sc1", Criterion: "tone", CriterionVersion: 3, EvaluatorKind: eval.Human, Evaluator: "carl",
		TargetKind: eval.TargetCall, Target: "call00", Value: eval.Value{Number: ptr(4.0)}, At: later}}
	done, err := s.FinishReviewItem(ctx, "q", "it00", store.ReviewOutcome{Reviewer: "carl", Kind: store.ReviewDone, At: later}, []store.StoredScore{sc})
	if err != nil || done.Reviews != 1 || done.LockedBy != "" {
		t.Errorf("carl's review: %+v, %v", done, err)
	}
	page, err := s.ListScores(ctx, store.ScoreQuery{Target: "call00"})
	if err != nil || len(page.Scores) != 1 || page.Scores[0].Evaluator != "carl" {
		t.Errorf("the review's score: %+v, %v", page, err)
	}
	// No double review by the same person, and no second turn after it.
	if _, err := s.FinishReviewItem(ctx, "q", "it00", store.ReviewOutcome{Reviewer: "carl", Kind: store.ReviewDone, At: later}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("carl reviews twice: %v, want ErrConflict", err)
	}
	if next, err := s.NextReviewItem(ctx, "q", "carl", vers, later, lock); err != nil || next.ID == "it00" {
		t.Errorf("carl's next after reviewing it00: %+v, %v", next, err)
	}
	for range 3 {
		it, err := s.NextReviewItem(ctx, "q", "bob", vers, later, lock)
		if err != nil {
			t.Fatal(err)
		}
		if it.ID == "it01" {
			t.Errorf("bob is given the item he skipped")
		}
		if _, err := s.FinishReviewItem(ctx, "q", it.ID, store.ReviewOutcome{Reviewer: "bob", Kind: store.ReviewDone, At: later}, nil); err != nil {
			t.Fatal(err)
		}
		if it.ID == "it02" {
			break
		}
	}
	// Bob's review was it00's second: it is full.
	if _, err := s.FinishReviewItem(ctx, "q", "it00", store.ReviewOutcome{Reviewer: "eve", Kind: store.ReviewDone, At: later}, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a third review with N=2: %v, want ErrConflict", err)
	}
	if e, err := s.NextReviewItem(ctx, "q", "eve", vers, later, lock); err != nil || e.ID == "it00" {
		t.Errorf("eve is given a full item: %+v, %v", e, err)
	}
	items, err := s.ListReviewItems(ctx, "q", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"bob", "carl"}, items[0].Reviewers); diff != "" {
		t.Errorf("it00's reviewers (-want +got):\n%s", diff)
	}
	p, err := s.ReviewProgress(ctx, "q", later, later.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// it00 full; carl holds it01; it02 reviewed once by bob, eve holds it.
	want := store.ReviewProgress{Items: 3, Reviewed: 1, InProgress: 2, Reviewers: []store.ReviewerProgress{
		{Reviewer: "bob", Today: 2, Total: 2, Skipped: 1}, {Reviewer: "carl", Today: 1, Total: 1}}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if _, err := s.NextReviewItem(ctx, "missing", "amy", nil, now, lock); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a missing queue: %v, want ErrNotFound", err)
	}
	if _, err := s.FinishReviewItem(ctx, "q", "nope", store.ReviewOutcome{Reviewer: "amy", Kind: store.ReviewDone, At: now}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a missing item: %v, want ErrNotFound", err)
	}
}

// testReviewConcurrent races reviewers: for the last review slot of an
// item, for the same person's two submissions, and for next items.
func testReviewConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	reviewQueueFixture(t, s, 2, 20)
	now := base.Add(time.Hour)
	for i := range 20 {
		id := fmt.Sprintf("it%02d", i)
		if _, err := s.FinishReviewItem(ctx, "q", id, store.ReviewOutcome{Reviewer: "first", Kind: store.ReviewDone, At: now}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		id := fmt.Sprintf("it%02d", i)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		// Two reviewers race for the last slot; one of them submits twice.
		for j, who := range []string{"amy", "bob", "amy", "bob"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := store.StoredScore{Score: eval.Score{ID: fmt.Sprintf("%s-%s-%d", id, who, j), Criterion: "tone", CriterionVersion: 1, EvaluatorKind: eval.Human,
					Evaluator: who, TargetKind: eval.TargetCall, Target: id, Value: eval.Value{Bool: ptr(true)}, At: now}}
				_, errs[j] = s.FinishReviewItem(ctx, "q", id, store.ReviewOutcome{Reviewer: who, Kind: store.ReviewDone, At: now}, []store.StoredScore{sc})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("%s: %v", id, err)
			}
		}
		if ok != 1 {
			t.Errorf("%s: %d submissions for the last slot succeeded, want 1 (%v)", id, ok, errs)
		}
		page, err := s.ListScores(ctx, store.ScoreQuery{Target: id})
		if err != nil || len(page.Scores) != 1 {
			t.Errorf("%s: %d scores stored, want the winner's only (%v)", id, len(page.Scores), err)
		}
	}
	p, err := s.ReviewProgress(ctx, "q", now, base)
	if err != nil || p.Reviewed != 20 || p.InProgress != 0 {
		t.Errorf("progress: %+v, %v", p, err)
	}

	// Reviewers asking at once are given distinct items.
	if _, err := s.CreateReviewQueue(ctx, store.ReviewQueue{Name: "r", ReviewsPerItem: 1, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	var add []store.ReviewItem
	for i := range 8 {
		add = append(add, store.ReviewItem{ID: fmt.Sprint(i), TargetKind: eval.TargetCall, Target: fmt.Sprint("c", i), AddedAt: base})
	}
	if _, err := s.AddReviewItems(ctx, "r", add, nil); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]string{}
		wg   sync.WaitGroup
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := fmt.Sprint("rev", i)
			it, err := s.NextReviewItem(ctx, "r", who, nil, now, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := seen[it.ID]; dup {
				t.Errorf("item %s locked by %s and %s", it.ID, other, who)
			}
			seen[it.ID] = who
		}()
	}
	wg.Wait()
	if _, err := s.NextReviewItem(ctx, "r", "late", nil, now, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a ninth reviewer with every item locked: %v, want ErrNotFound", err)
	}
}

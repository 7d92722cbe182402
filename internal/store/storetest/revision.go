package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

func testReviseCosts(t *testing.T, s Store) {
	ctx := context.Background()
	a := minimal("a", base)
	a.Provider, a.Model = "openai", "m"
	a = priced(a, 5*pricing.Micro)
	b := unpriced(minimal("b", base.Add(time.Hour)), pricing.UnitInput)
	b.Provider, b.Model = "openai", "new-model"
	c := priced(minimal("c", base.Add(2*time.Hour)), pricing.Micro)
	write(t, s, a, b, c)

	newA := pricing.Cost{Total: 4 * pricing.Micro, Input: 4 * pricing.Micro, EntryID: "fixed/m", Version: "v2", Multiplier: 1_000_000}
	newB := pricing.Cost{Total: 7 * pricing.Micro, Input: 7 * pricing.Micro, EntryID: "new/m", Version: "v2", Multiplier: 1_000_000}
	revs := []store.CostRevision{
		{RunID: "run1", RequestID: "a", Reason: "price cut applied late", OldCostUSD: a.CostUSD, NewCostUSD: ptrMoney(newA.Total), NewCost: &newA},
		{RunID: "run1", RequestID: "b", Reason: "price cut applied late", OldCostUSD: nil, NewCostUSD: ptrMoney(newB.Total), NewCost: &newB},
	}
	if err := s.ReviseCosts(ctx, revs); err != nil {
		t.Fatal(err)
	}
	// The calls carry their new cost, in the record and in cost questions.
	if got := get(t, s, "a"); got.CostUSD == nil || *got.CostUSD != newA.Total || got.Cost == nil || got.Cost.EntryID != "fixed/m" {
		t.Errorf("a after revision: %v %+v", got.CostUSD, got.Cost)
	}
	if got := get(t, s, "b"); got.CostUSD == nil || *got.CostUSD != newB.Total {
		t.Errorf("b after revision: %v", got.CostUSD)
	}
	tot := costTotals(t, s, store.CostQuery{})
	if len(tot) != 1 || tot[0].PricedCalls != 3 || tot[0].UnpricedCalls != 0 || tot[0].CostUSD.Format(15) != "0.000012000000000" {
		t.Errorf("totals after revision: %+v", tot)
	}
	if um := unpricedModels(t, s, store.CostQuery{}); len(um) != 0 {
		t.Errorf("unpriced models after revision: %+v", um)
	}
	// The audit trail keeps the figures before and after, newest first.
	got, err := s.CostRevisions(ctx, store.RevisionQuery{RunID: "run1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].RequestID != "b" || got[1].RequestID != "a" || got[0].Seq <= got[1].Seq {
		t.Fatalf("revisions = %+v", got)
	}
	ra := got[1]
	if ra.OldCostUSD == nil || *ra.OldCostUSD != 5*pricing.Micro || *ra.NewCostUSD != newA.Total || ra.OldCost == nil || ra.OldCost.EntryID != "test/m" ||
		ra.NewCost == nil || ra.NewCost.EntryID != "fixed/m" || ra.Reason != "price cut applied late" || !ra.ReceivedAt.Equal(base) || ra.RevisedAt.IsZero() {
		t.Errorf("revision of a = %+v", ra)
	}
	if rb := got[0]; rb.OldCostUSD != nil || rb.OldCost == nil || rb.OldCost.Unpriced != pricing.UnitInput {
		t.Errorf("revision of b = %+v", rb)
	}
	// A revision made from a stale read is refused.
	stale := []store.CostRevision{{RunID: "run2", RequestID: "a", OldCostUSD: a.CostUSD, NewCostUSD: ptrMoney(1), NewCost: &newA}}
	if err := s.ReviseCosts(ctx, stale); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale revision: %v, want ErrConflict", err)
	}
	if err := s.ReviseCosts(ctx, []store.CostRevision{{RunID: "run2", RequestID: "nosuch", NewCostUSD: ptrMoney(1)}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing call: %v, want ErrNotFound", err)
	}
	// Back to unpriced is a revision too.
	if err := s.ReviseCosts(ctx, []store.CostRevision{{RunID: "run3", RequestID: "c", OldCostUSD: c.CostUSD, NewCost: &pricing.Cost{Version: "v3", Multiplier: 1_000_000, Unpriced: pricing.UnitOutput}}}); err != nil {
		t.Fatal(err)
	}
	if um := unpricedModels(t, s, store.CostQuery{}); len(um) != 1 || um[0].Units != pricing.UnitOutput {
		t.Errorf("unpriced models after un-pricing c: %+v", um)
	}
	byReq, err := s.CostRevisions(ctx, store.RevisionQuery{RequestID: "c"})
	if err != nil || len(byReq) != 1 || byReq[0].RunID != "run3" || byReq[0].NewCostUSD != nil {
		t.Errorf("revisions of c = %+v, %v", byReq, err)
	}
	all, err := s.CostRevisions(ctx, store.RevisionQuery{Limit: 2})
	if err != nil || len(all) != 2 || all[0].RequestID != "c" {
		t.Errorf("limited revisions = %+v, %v", all, err)
	}
	if _, err := s.CostRevisions(ctx, store.RevisionQuery{Limit: -1}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("negative limit: %v", err)
	}
}

func testReviseCostsAtomic(t *testing.T, s Store) {
	ctx := context.Background()
	a := priced(minimal("a", base), pricing.Micro)
	write(t, s, a)
	cost := pricing.Cost{Total: 2 * pricing.Micro, EntryID: "e", Version: "v", Multiplier: 1_000_000}
	err := s.ReviseCosts(ctx, []store.CostRevision{
		{RunID: "r", RequestID: "a", OldCostUSD: a.CostUSD, NewCostUSD: ptrMoney(cost.Total), NewCost: &cost},
		{RunID: "r", RequestID: "missing", NewCostUSD: ptrMoney(cost.Total), NewCost: &cost},
	})
	if err == nil {
		t.Fatal("batch with a missing call accepted")
	}
	if got := get(t, s, "a"); *got.CostUSD != pricing.Micro {
		t.Errorf("a was revised by a failed batch: %v", *got.CostUSD)
	}
	if revs, err := s.CostRevisions(ctx, store.RevisionQuery{}); err != nil || len(revs) != 0 {
		t.Errorf("revisions after a failed batch: %+v %v", revs, err)
	}
	if err := s.ReviseCosts(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func testPriceEntries(t *testing.T, s Store) {
	ctx := context.Background()
	if got, err := s.PriceEntries(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %+v %v", got, err)
	}
	e1 := pricing.Entry{ID: "acme/gpt-4o", Match: pricing.Match{Exact: []string{"gpt-4o"}}, From: pricing.DateOf(base), Prices: pricing.Prices{Input: pricing.Dec("2.5"), Output: pricing.Dec("10")}}
	put, err := s.PutPriceEntry(ctx, store.StoredPriceEntry{Provider: "openai", Entry: &e1, ChangedBy: "alice"})
	if err != nil || put.Version != 1 || put.ID != "acme/gpt-4o" || put.ChangedAt.IsZero() {
		t.Fatalf("put: %+v %v", put, err)
	}
	e2 := e1
	e2.Prices.Input = pricing.Dec("2.25")
	if put, err = s.PutPriceEntry(ctx, store.StoredPriceEntry{Provider: "openai", Entry: &e2, ChangedBy: "bob"}); err != nil || put.Version != 2 {
		t.Fatalf("second put: %+v %v", put, err)
	}
	e3 := pricing.Entry{ID: "acme/claude", Match: pricing.Match{Prefix: []string{"claude-"}}, Prices: pricing.Prices{Input: pricing.Dec("2")}}
	if _, err = s.PutPriceEntry(ctx, store.StoredPriceEntry{Provider: "anthropic", Entry: &e3}); err != nil {
		t.Fatal(err)
	}
	got, err := s.PriceEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.StoredPriceEntry{
		{ID: "acme/claude", Version: 1, Provider: "anthropic", Entry: &e3},
		{ID: "acme/gpt-4o", Version: 2, Provider: "openai", Entry: &e2, ChangedBy: "bob"},
	}
	ignoreAt := gocmp.Comparer(func(a, b time.Time) bool { return true })
	if d := gocmp.Diff(want, got, ignoreAt); d != "" {
		t.Errorf("entries in force (-want +got):\n%s", d)
	}
	del, err := s.DeletePriceEntry(ctx, "acme/gpt-4o", "carol")
	if err != nil || del.Version != 3 || del.Entry != nil || del.Provider != "openai" {
		t.Errorf("delete: %+v %v", del, err)
	}
	if _, err := s.DeletePriceEntry(ctx, "acme/gpt-4o", "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := s.DeletePriceEntry(ctx, "nosuch", "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete of nothing: %v, want ErrNotFound", err)
	}
	if got, _ := s.PriceEntries(ctx); len(got) != 1 || got[0].ID != "acme/claude" {
		t.Errorf("after delete: %+v", got)
	}
	hist, err := s.PriceEntryHistory(ctx, "acme/gpt-4o")
	if err != nil || len(hist) != 3 || hist[0].ChangedBy != "alice" || *hist[0].Entry.Prices.Input != *pricing.Dec("2.5") || hist[2].Entry != nil {
		t.Errorf("history: %+v %v", hist, err)
	}
	if !hist[0].Entry.From.Equal(base.Truncate(0)) && !hist[0].Entry.From.Equal(base) {
		t.Errorf("from date lost: %v", hist[0].Entry.From)
	}
	if _, err := s.PriceEntryHistory(ctx, "nosuch"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("history of nothing: %v", err)
	}
	// Re-created after deletion: a new version, in force again.
	if put, err = s.PutPriceEntry(ctx, store.StoredPriceEntry{Provider: "openai", Entry: &e1}); err != nil || put.Version != 4 {
		t.Errorf("re-create: %+v %v", put, err)
	}
	if _, err := s.PutPriceEntry(ctx, store.StoredPriceEntry{Provider: "openai"}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("put without entry: %v", err)
	}
}

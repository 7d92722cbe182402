package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// TestRollupBackfill: calls stored before the rollups existed are
// summarised when the store opens, once, and calls written afterwards are
// added to them.
func TestRollupBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []record.Record
	for i := range 12 {
		ttft := float64(10 * (i + 1))
		recs = append(recs, record.Record{ID: string(rune('a' + i)), ReceivedAt: day.Add(time.Duration(i) * 7 * time.Minute),
			Endpoint: record.EndpointChatCompletions, Status: 200, TTFTMs: &ttft, E2EMs: 100})
		recs[i].UseCase = []string{"x", "y"}[i%2]
	}
	if err := s.WriteRecords(ctx, recs[:8]); err != nil {
		t.Fatal(err)
	}
	// Make the database look like one migrated from before the rollups.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM rollup_sketches; DELETE FROM rollups;
		UPDATE rollup_backfill SET backfill_to = (SELECT MAX(rowid) FROM requests), done_to = 0`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for round := range 2 { // a second open must not add them again
		if s, err = Open(ctx, path, Options{}); err != nil {
			t.Fatal(err)
		}
		if round == 1 {
			if err := s.WriteRecords(ctx, recs); err != nil { // 8 duplicates, 4 new
				t.Fatal(err)
			}
		}
		rows, err := s.Rollup(ctx, store.RollupQuery{From: day, To: day.Add(24 * time.Hour), GroupBy: []string{store.RollupUseCase}, Sketches: true})
		if err != nil {
			t.Fatal(err)
		}
		want := int64(4)
		if round == 1 {
			want = 6
		}
		if len(rows) != 2 || rows[0].Calls != want || rows[1].Calls != want || rows[0].Count(rollup.TTFT) != want {
			t.Fatalf("round %d: rows %+v, want 2 use cases with %d calls each", round, rows, want)
		}
		s.Close()
	}
}

// TestCostDaysMigration: the migration that adds cost_days fills it from
// the calls already stored, to the same totals the calls give.
func TestCostDaysMigration(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	var recs []record.Record
	for i := range 300 {
		r := record.Record{ID: fmt.Sprintf("m%03d", i), ReceivedAt: day.Add(time.Duration(i) * 37 * time.Minute), Endpoint: record.EndpointChatCompletions,
			Provider: []string{"openai", "anthropic"}[i%2], Model: fmt.Sprintf("m%d", i%3), Status: 200}
		r.User, r.Team, r.Account, r.UseCase = fmt.Sprintf("u%d", i%7), []string{"cx", "ml"}[i%2], []string{"a", "b", "c"}[i%3], []string{"x", ""}[i%2]
		r.Usage.InputTokens, r.Usage.OutputTokens = int64(i), int64(2*i)
		switch {
		case i%5 == 0:
			r.Cost = &pricing.Cost{Unpriced: pricing.UnitInput}
		case i%5 != 1:
			m := pricing.Money(int64(i) * 987_654_321_123)
			r.CostUSD, r.Cost = &m, &pricing.Cost{Total: m}
		}
		recs = append(recs, r)
	}
	if err := s.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `DROP TABLE cost_days`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, migrations[13].sql); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{store.GroupUser, store.GroupDay, store.GroupAccount, store.GroupNone} {
		days, err := s.CostTotals(ctx, store.CostQuery{GroupBy: g, ThenBy: map[bool]string{true: store.GroupModel}[g != store.GroupNone], Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		// An unaligned range that holds every call reads the calls.
		calls, err := s.CostTotals(ctx, store.CostQuery{From: day.Add(-time.Second), To: day.AddDate(0, 0, 30), GroupBy: g,
			ThenBy: map[bool]string{true: store.GroupModel}[g != store.GroupNone], Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(days) == 0 || fmt.Sprint(days) != fmt.Sprint(calls) {
			t.Errorf("group %q:\nfrom cost_days %v\nfrom calls     %v", g, days, calls)
		}
	}
}

// TestModelIdentitiesMigration: the migration that adds model_identities
// fills it from the calls already stored as the writer would have.
func TestModelIdentitiesMigration(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	var recs []record.Record
	for i := range 40 {
		r := record.Record{ID: fmt.Sprintf("i%02d", i), ReceivedAt: day.Add(time.Duration(i) * time.Minute), Endpoint: record.EndpointChatCompletions,
			Provider: "openai", Model: []string{"a", "b"}[i%2], Status: 200, ResponseModel: fmt.Sprintf("v%d", i/15), SystemFingerprint: fmt.Sprintf("fp%d", i/10)}
		if i%7 == 0 {
			r.Status = 502
		}
		recs = append(recs, r)
	}
	if err := s.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	written, err := s.ModelIdentities(ctx, store.IdentityQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `DROP TABLE model_identities`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, migrations[23].sql); err != nil {
		t.Fatal(err)
	}
	migrated, err := s.ModelIdentities(ctx, store.IdentityQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) < 4 || fmt.Sprint(written) != fmt.Sprint(migrated) {
		t.Errorf("written  %v\nmigrated %v", written, migrated)
	}
}

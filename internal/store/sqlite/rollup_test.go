package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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

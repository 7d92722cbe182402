package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// testKPIDays: the results in force are summed per day of their time and
// team of their instance's first call; a replaced result leaves its day.
func testKPIDays(t *testing.T, s Store) {
	ctx := context.Background()
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	call := func(id, inst, team string, at time.Time) record.Record {
		r := minimal(id, at)
		r.UseCase, r.UseCaseInstance, r.Team = "support", inst, team
		return r
	}
	// i1's first call is cx's; a later call of ops does not change that.
	write(t, s, call("c1", "i1", "cx", day.Add(time.Hour)), call("c2", "i1", "ops", day.Add(2*time.Hour)),
		call("c3", "i2", "ops", day.Add(3*time.Hour)))
	put := func(inst, kpi string, nanos int64, at time.Time) {
		t.Helper()
		if _, _, err := s.PutKPIResult(ctx, store.KPIResult{UseCase: "support", Instance: inst, KPI: kpi, Nanos: nanos, At: at, RecordedBy: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	put("i1", "resolved", 1e9, day.Add(5*time.Hour))
	put("i2", "resolved", 0, day.Add(5*time.Hour))
	put("i2", "resolved", 1e9, day.Add(30*time.Hour)) // replaces i2's 0 of day 1 with 1 on day 2
	put("i3", "resolved", 1e9, day.Add(6*time.Hour))  // no calls yet: no team
	put("i1", "refund", 2_500_000_000, day.Add(7*time.Hour))
	put("i1", "refund", 2_500_000_000, day.Add(8*time.Hour)) // same value: no change

	got, err := s.KPIDays(ctx, store.KPIDayQuery{UseCase: "support"})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		kpi, team    string
		day          time.Time
		results      int64
		whole, nanos int64
	}
	var rows []row
	for _, d := range got {
		rows = append(rows, row{d.KPI, d.Team, d.Day, d.Results, d.Whole, d.Nanos})
	}
	want := []row{
		{"refund", "cx", day, 1, 2, 500_000_000},
		{"resolved", "", day, 1, 1, 0},
		{"resolved", "cx", day, 1, 1, 0},
		{"resolved", "ops", day.AddDate(0, 0, 1), 1, 1, 0},
	}
	if len(rows) != len(want) {
		t.Fatalf("KPIDays = %+v\nwant %+v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	// Filters: a team, a range of whole days.
	if got, err := s.KPIDays(ctx, store.KPIDayQuery{Team: "ops"}); err != nil || len(got) != 1 || got[0].Results != 1 {
		t.Errorf("team ops: %+v %v", got, err)
	}
	if got, err := s.KPIDays(ctx, store.KPIDayQuery{From: day.AddDate(0, 0, 1), To: day.AddDate(0, 0, 2)}); err != nil || len(got) != 1 {
		t.Errorf("day 2: %+v %v", got, err)
	}
	if _, err := s.KPIDays(ctx, store.KPIDayQuery{From: day.Add(time.Hour)}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("unaligned from: %v", err)
	}
}

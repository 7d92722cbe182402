package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// costRecords are records of every cost kind, with costs whose decimal
// forms exercise the migration's parsing: whole dollars, a single
// femto-dollar, the largest Money, negatives, and random amounts.
func costRecords() []record.Record {
	at := time.Date(2025, 3, 14, 23, 0, 0, 0, time.UTC)
	var recs []record.Record
	add := func(r record.Record) {
		r.ID = fmt.Sprintf("r%04d", len(recs))
		r.ReceivedAt = at.Add(time.Duration(len(recs)) * 7 * time.Minute)
		r.Endpoint, r.Status = record.EndpointChatCompletions, 200
		r.Provider = []string{"openai", "anthropic"}[len(recs)%2]
		r.Model = fmt.Sprintf("m%d", len(recs)%3)
		r.Team = []string{"cx", "ml", ""}[len(recs)%3]
		r.User = fmt.Sprintf("u%d", len(recs)%4)
		if len(recs)%5 != 0 {
			r.Usage.InputTokens, r.Usage.OutputTokens = int64(len(recs)*977%200_000), int64(len(recs)*13%5000)
		}
		recs = append(recs, r)
	}
	priced := func(m pricing.Money) {
		add(record.Record{CostUSD: &m, Cost: &pricing.Cost{Total: m, EntryID: "e", Version: "v", Multiplier: 1_000_000}})
	}
	for _, m := range []pricing.Money{0, 1, 10, pricing.Micro, pricing.USD, 5 * pricing.USD, 4_321_987_654_321_001,
		100_000_000_000_000, 999_999_999_999_999, 1_000_000_000_000_001, math.MaxInt64, -1, -pricing.USD / 2, -1_500_000_000_000_001} {
		priced(m)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		switch rng.IntN(4) {
		case 0:
			priced(pricing.Money(rng.Int64()))
		case 1:
			priced(pricing.Money(rng.Int64N(int64(10 * pricing.USD))))
		case 2:
			priced(pricing.Money(rng.Int64N(int64(pricing.Milli))))
		default:
			priced(pricing.Money(rng.Int64N(1000)) * pricing.Nano)
		}
	}
	for _, u := range []pricing.UnitSet{0, pricing.UnitInput, pricing.UnitInput | pricing.UnitOutput | pricing.UnitAudioSeconds, 1<<11 - 1} {
		add(record.Record{Cost: &pricing.Cost{Version: "v", Multiplier: 1_000_000, Unpriced: u}})
		add(record.Record{Cost: &pricing.Cost{Version: "v", Multiplier: 1_000_000, Unpriced: u}})
	}
	// Priced although the breakdown lists an unpriced unit: cost_usd wins.
	m := pricing.Money(77)
	add(record.Record{CostUSD: &m, Cost: &pricing.Cost{Total: m, EntryID: "e", Unpriced: pricing.UnitImages}})
	// Never reached a provider, and priced without a breakdown.
	add(record.Record{Status: 502})
	add(record.Record{CostUSD: &m})
	return recs
}

// TestMigrateCost opens a version 1 database holding records of every cost
// kind: the migration must give each record the cost columns WriteRecords
// would have, and the store must answer cost questions as a new one does.
func TestMigrateCost(t *testing.T) {
	ctx := context.Background()
	recs := costRecords()
	oldPath := filepath.Join(t.TempDir(), "old.db")
	writeV1(t, oldPath, recs...)
	migrated, err := Open(ctx, oldPath, Options{})
	if err != nil {
		t.Fatalf("open version 1 database: %v", err)
	}
	defer migrated.Close()
	if v := schemaVersion(t, oldPath); v != len(migrations) {
		t.Errorf("schema version = %d, want %d", v, len(migrations))
	}

	for i := range recs {
		rec := &recs[i]
		wantCost, wantUnits, err := costColumns(rec)
		if err != nil {
			t.Fatal(err)
		}
		var cost sql.NullInt64
		var units sql.NullString
		var typ string
		if err := migrated.r.QueryRow(`SELECT cost_femto, typeof(cost_femto), unpriced_units FROM requests WHERE id = ?`, rec.ID).Scan(&cost, &typ, &units); err != nil {
			t.Fatal(err)
		}
		var gotCost, gotUnits any
		if cost.Valid {
			gotCost = cost.Int64
			if typ != "integer" {
				t.Errorf("%s: cost_femto has type %s", rec.ID, typ)
			}
		}
		if units.Valid {
			gotUnits = units.String
		}
		var tin, tout int64
		if err := migrated.r.QueryRow(`SELECT input_tokens, output_tokens FROM requests WHERE id = ?`, rec.ID).Scan(&tin, &tout); err != nil {
			t.Fatal(err)
		}
		if tin != rec.Usage.InputTokens || tout != rec.Usage.OutputTokens {
			t.Errorf("%s: migrated tokens %d, %d; want %d, %d", rec.ID, tin, tout, rec.Usage.InputTokens, rec.Usage.OutputTokens)
		}
		if gotCost != wantCost || gotUnits != wantUnits {
			t.Errorf("%s (cost_usd %v, cost %+v): migrated columns %v, %v; want %v, %v", rec.ID, rec.CostUSD, rec.Cost, gotCost, gotUnits, wantCost, wantUnits)
		}
	}

	fresh := openTest(t)
	defer fresh.Close()
	if err := fresh.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	groups := []string{store.GroupNone, store.GroupProvider, store.GroupModel, store.GroupUseCase,
		store.GroupTeam, store.GroupUser, store.GroupAccount, store.GroupDay}
	amounts := cmp.Comparer(func(a, b store.Amount) bool { return a == b })
	for _, g := range groups {
		q := store.CostQuery{GroupBy: g, Limit: store.MaxLimit}
		want, err := fresh.CostTotals(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := migrated.CostTotals(ctx, q)
		if err != nil {
			t.Fatalf("migrated CostTotals(%q): %v", g, err)
		}
		if diff := cmp.Diff(want, got, amounts); diff != "" {
			t.Errorf("CostTotals(%q) migrated vs new (-new +migrated):\n%s", g, diff)
		}
	}
	want, err := fresh.UnpricedModels(ctx, store.CostQuery{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := migrated.UnpricedModels(ctx, store.CostQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UnpricedModels migrated vs new (-new +migrated):\n%s", diff)
	}
	if len(got) == 0 || got[0].Units == 0 {
		t.Errorf("UnpricedModels = %+v, want the unpriced models", got)
	}
}

// TestCostUsesIndex explains the SQL of the cost questions: they read a
// covering index, never the table and its bodies.
func TestCostUsesIndex(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	from, to := time.Unix(1700000000, 0), time.Unix(1800000000, 0)
	plan := func(query string, args []any) string {
		t.Helper()
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		return strings.Join(plan, "; ")
	}
	for _, q := range []store.CostQuery{{}, {From: from}, {To: to}, {From: from, To: to}, {From: from, Provider: "openai"}, {ThenBy: store.GroupModel, Team: "cx"}} {
		for g := range groupKeys {
			if g == store.GroupNone && q.ThenBy != "" || g == q.ThenBy {
				continue
			}
			q.GroupBy = g
			p, err := q.Plan()
			if err != nil {
				t.Fatal(err)
			}
			query, args := costTotalsQuery(q, p)
			if got := plan(query, args); !strings.Contains(got, "COVERING INDEX requests_cost2") {
				t.Errorf("CostTotals(%+v): plan %q, want the covering index requests_cost2", q, got)
			}
		}
		q.GroupBy, q.ThenBy = "", ""
		p, _ := q.Plan()
		query, args := unpricedQuery(p)
		if got := plan(query, args); !strings.Contains(got, "COVERING INDEX requests_unpriced") {
			t.Errorf("UnpricedModels(%+v): plan %q, want the covering index requests_unpriced", q, got)
		}
	}
}

// BenchmarkCostTotals sums a day of 100,000 calls by use case.
func BenchmarkCostTotals(b *testing.B) {
	s := openTest(b)
	defer s.Close()
	ctx := context.Background()
	for i := range 400 {
		recs := benchRecords(250, i*250)
		for j := range recs {
			m := pricing.Money(j) * pricing.Micro
			recs[j].CostUSD = &m
			recs[j].UseCase = fmt.Sprintf("uc%d", j%20)
		}
		if err := s.WriteRecords(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.CostTotals(ctx, store.CostQuery{GroupBy: store.GroupUseCase}); err != nil {
			b.Fatal(err)
		}
	}
}

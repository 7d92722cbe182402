package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

// rollupDay is a UTC midnight, so that day buckets start at known times.
var rollupDay = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

// rollupRecords returns n calls spread over three days with a few keys,
// errors, retries, streams, priced and unpriced calls and latencies.
func rollupRecords(n int, seed uint64) []record.Record {
	rnd := rand.New(rand.NewPCG(seed, 7))
	pick := func(xs ...string) string { return xs[rnd.IntN(len(xs))] }
	var out []record.Record
	for i := range n {
		r := minimal(fmt.Sprintf("r%05d", i), rollupDay.Add(time.Duration(rnd.Int64N(int64(72*time.Hour)))))
		r.UseCase, r.UseCaseVersion, r.UseCaseStep = pick("support", "triage", ""), pick("v1", "v2"), pick("classify", "draft", "")
		r.Team, r.Provider, r.Model = pick("cx", "ops"), pick("openai", "anthropic"), pick("m1", "m2")
		if rnd.IntN(4) == 0 {
			r.Route = "chat"
		}
		r.E2EMs = 50 + rnd.ExpFloat64()*400
		r.OverheadMs = rnd.Float64()
		r.Usage.InputTokens, r.Usage.OutputTokens = int64(rnd.IntN(2000)), int64(rnd.IntN(500))
		r.Usage.CacheReadTokens, r.Usage.ReasoningTokens = int64(rnd.IntN(100)), int64(rnd.IntN(50))
		if rnd.IntN(2) == 0 {
			r.Stream = true
			ttft := 20 + rnd.ExpFloat64()*200
			r.TTFTMs = &ttft
			otps := 10 + rnd.Float64()*90
			r.OTPS = &otps
			r.ITLMs = &record.ITL{Mean: 5 + rnd.Float64()*20, Count: 10}
		}
		switch rnd.IntN(10) {
		case 0:
			r.Status, r.ErrorKind = 502, "upstream_unavailable"
		case 1:
			r.Status = 429
		case 2:
			r.ErrorKind = "interrupted"
		}
		if rnd.IntN(5) == 0 {
			r.Attempts = []record.Attempt{{Provider: "other", Model: "x", Status: 429, Next: "fallback"}, {Provider: r.Provider, Model: r.Model, Status: 200}}
		}
		switch rnd.IntN(5) {
		case 0:
			r = unpriced(r, pricing.UnitInput)
		case 1: // no cost at all
		case 2:
			r = priced(r, pricing.Money(rnd.Int64N(int64(pricing.USD)*50))) // up to $50: whole dollars
		default:
			r = priced(r, pricing.Money(rnd.Int64N(int64(pricing.Micro)*1000)))
		}
		out = append(out, r)
	}
	return out
}

// wantRollup is the reference Rollup over recs: widened range [from, to),
// buckets of step (0: one), grouped by dims, filtered by f.
func wantRollup(recs []record.Record, from, to time.Time, step time.Duration, dims []string, f rollup.Key) map[string]*rollup.Agg {
	out := map[string]*rollup.Agg{}
	for i := range recs {
		r := &recs[i]
		if r.ReceivedAt.Before(from) || !r.ReceivedAt.Before(to) {
			continue
		}
		k := rollup.Key{UseCase: r.UseCase, UseCaseVersion: r.UseCaseVersion, UseCaseStep: r.UseCaseStep, Team: r.Team, Provider: r.Provider, Model: r.Model, Route: r.Route}
		if !matchKey(k, f) {
			continue
		}
		b := from
		if step != 0 {
			b = from.Add(r.ReceivedAt.Sub(from) / step * step)
		}
		id := b.UTC().Format(time.RFC3339) + "|" + fmt.Sprint(projectKey(k, dims))
		var femto int64
		if r.CostUSD != nil {
			femto = int64(*r.CostUSD)
		}
		_, a := rollup.FromRecord(r, femto, r.CostUSD != nil)
		if out[id] == nil {
			out[id] = &rollup.Agg{}
		}
		out[id].Merge(&a)
	}
	return out
}

func matchKey(k, f rollup.Key) bool {
	eq := func(v, want string) bool { return want == "" || v == want }
	return eq(k.UseCase, f.UseCase) && eq(k.UseCaseVersion, f.UseCaseVersion) && eq(k.UseCaseStep, f.UseCaseStep) && eq(k.Team, f.Team) &&
		eq(k.Provider, f.Provider) && eq(k.Model, f.Model) && eq(k.Route, f.Route)
}

func projectKey(k rollup.Key, dims []string) rollup.Key {
	var p rollup.Key
	for _, d := range dims {
		switch d {
		case store.RollupUseCase:
			p.UseCase = k.UseCase
		case store.RollupUseCaseVersion:
			p.UseCaseVersion = k.UseCaseVersion
		case store.RollupUseCaseStep:
			p.UseCaseStep = k.UseCaseStep
		case store.RollupTeam:
			p.Team = k.Team
		case store.RollupProvider:
			p.Provider = k.Provider
		case store.RollupModel:
			p.Model = k.Model
		case store.RollupRoute:
			p.Route = k.Route
		}
	}
	return p
}

func rollupOf(t *testing.T, s Store, q store.RollupQuery) []store.RollupRow {
	t.Helper()
	got, err := s.Rollup(context.Background(), q)
	if err != nil {
		t.Fatalf("Rollup(%+v): %v", q, err)
	}
	return got
}

// counters is an Agg without its sketches, for comparison.
type counters struct {
	Calls, Errors, RateLimited, Retried, FellBack, Streams, Unpriced int64
	Cost                                                             string
	InputTokens, OutputTokens, CacheReadTokens, ReasoningTokens      int64
}

func countersOf(a *rollup.Agg) counters {
	row := store.RollupRow{Agg: *a}
	return counters{a.Calls, a.Errors, a.RateLimited, a.Retried, a.FellBack, a.Streams, a.Unpriced, row.Cost().Format(15),
		a.InputTokens, a.OutputTokens, a.CacheReadTokens, a.ReasoningTokens}
}

// checkRollup compares Rollup(q) with the reference over recs, counters
// exactly and every metric's count, p50 and p99 within the sketches'
// accuracy of the reference sketch (itself checked against exact
// quantiles in package rollup).
func checkRollup(t *testing.T, s Store, recs []record.Record, q store.RollupQuery, from, to time.Time) {
	t.Helper()
	got := rollupOf(t, s, q)
	want := wantRollup(recs, from, to, q.Step, q.GroupBy, q.Filter)
	if len(got) != len(want) {
		t.Fatalf("Rollup(%+v): %d rows, want %d", q, len(got), len(want))
	}
	for i, row := range got {
		if i > 0 {
			p := got[i-1]
			if row.Bucket.Before(p.Bucket) {
				t.Errorf("rows out of bucket order at %d", i)
			}
		}
		id := row.Bucket.UTC().Format(time.RFC3339) + "|" + fmt.Sprint(row.Key)
		w := want[id]
		if w == nil {
			t.Errorf("Rollup(%+v): unexpected row %s", q, id)
			continue
		}
		if g, w := countersOf(&row.Agg), countersOf(w); g != w {
			t.Errorf("Rollup(%+v) row %s:\n got %+v\nwant %+v", q, id, g, w)
		}
		for m := range rollup.NumMetrics {
			if !q.Sketches {
				if row.Sketches[m] != nil {
					t.Errorf("row %s has a %s sketch without Sketches", id, m)
				}
				continue
			}
			if g, w := row.Count(m), w.Count(m); g != w {
				t.Errorf("row %s %s count = %d, want %d", id, m, g, w)
			}
			for _, qq := range []float64{0.5, 0.99} {
				gv, gok := row.Quantile(m, qq)
				wv, wok := w.Quantile(m, qq)
				if gok != wok || math.Abs(gv-wv) > 2*rollup.RelativeAccuracy*wv+1e-9 {
					t.Errorf("row %s %s p%v = %v (%v), want %v (%v)", id, m, qq*100, gv, gok, wv, wok)
				}
			}
		}
	}
}

func testRollups(t *testing.T, s Store) {
	recs := rollupRecords(600, 1)
	// Two batches, the second overlapping the first: duplicates must not
	// count twice.
	write(t, s, recs[:400]...)
	write(t, s, recs[300:]...)
	end := rollupDay.Add(72 * time.Hour)
	for _, tc := range []struct {
		name     string
		from, to time.Time
		step     time.Duration
		dims     []string
		filter   rollup.Key
		sketches bool
	}{
		{name: "all, one bucket", from: rollupDay, to: end},
		{name: "per day by use case", from: rollupDay, to: end, step: 24 * time.Hour, dims: []string{store.RollupUseCase}, sketches: true},
		{name: "per hour by provider and model", from: rollupDay, to: end, step: time.Hour, dims: []string{store.RollupProvider, store.RollupModel}},
		{name: "per 6 hours, filtered", from: rollupDay, to: end, step: 6 * time.Hour, filter: rollup.Key{Team: "cx", Model: "m1"}, sketches: true},
		{name: "per minute in an hour", from: rollupDay.Add(5 * time.Hour), to: rollupDay.Add(6 * time.Hour), step: time.Minute, dims: []string{store.RollupTeam}, sketches: true},
		{name: "per 15 minutes by route and version", from: rollupDay.Add(30 * time.Hour), to: rollupDay.Add(34 * time.Hour), step: 15 * time.Minute, dims: []string{store.RollupRoute, store.RollupUseCaseVersion}},
		{name: "every dimension, sketches", from: rollupDay.Add(24 * time.Hour), to: rollupDay.Add(48 * time.Hour), dims: []string{store.RollupUseCase, store.RollupUseCaseVersion, store.RollupUseCaseStep, store.RollupTeam, store.RollupProvider, store.RollupModel, store.RollupRoute}, sketches: true},
		{name: "per day by step of one use case", from: rollupDay, to: end, step: 24 * time.Hour, dims: []string{store.RollupUseCaseStep}, filter: rollup.Key{UseCase: "support"}, sketches: true},
		{name: "one step", from: rollupDay, to: end, filter: rollup.Key{UseCaseStep: "draft"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := store.RollupQuery{From: tc.from, To: tc.to, Step: tc.step, GroupBy: tc.dims, Filter: tc.filter, Sketches: tc.sketches}
			checkRollup(t, s, recs, q, tc.from, tc.to)
		})
	}

	// An unaligned range is widened to the level it reads.
	q := store.RollupQuery{From: rollupDay.Add(90 * time.Minute), To: rollupDay.Add(150*time.Minute + time.Second), Step: time.Hour}
	checkRollup(t, s, recs, q, rollupDay.Add(time.Hour), rollupDay.Add(3*time.Hour))
}

func testRollupsRevised(t *testing.T, s Store) {
	ctx := context.Background()
	a := priced(minimal("a", rollupDay.Add(time.Hour)), 5*pricing.Micro)
	a.UseCase = "support"
	b := unpriced(minimal("b", rollupDay.Add(2*time.Hour)), pricing.UnitInput)
	b.UseCase = "support"
	write(t, s, a, b)
	newA := pricing.Cost{Total: 2 * pricing.Micro, Input: 2 * pricing.Micro, Version: "v2", Multiplier: 1_000_000}
	newB := pricing.Cost{Total: 7 * pricing.Micro, Input: 7 * pricing.Micro, Version: "v2", Multiplier: 1_000_000}
	if err := s.ReviseCosts(ctx, []store.CostRevision{
		{RunID: "r", RequestID: "a", OldCostUSD: a.CostUSD, NewCostUSD: ptrMoney(newA.Total), NewCost: &newA},
		{RunID: "r", RequestID: "b", NewCostUSD: ptrMoney(newB.Total), NewCost: &newB},
	}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []time.Duration{0, time.Minute, time.Hour, 24 * time.Hour} {
		rows := rollupOf(t, s, store.RollupQuery{From: rollupDay, To: rollupDay.Add(24 * time.Hour), Step: step})
		var sum rollup.Agg
		for i := range rows {
			sum.Merge(&rows[i].Agg)
		}
		if cost := (&store.RollupRow{Agg: sum}).Cost().Format(15); sum.Calls != 2 || cost != "0.000009000000000" || sum.Unpriced != 0 {
			t.Errorf("step %s after re-pricing: calls %d cost %s unpriced %d, want 2, 0.000009, 0", step, sum.Calls, cost, sum.Unpriced)
		}
	}
}

func testRollupsInvalid(t *testing.T, s Store) {
	for _, q := range []store.RollupQuery{
		{},
		{From: rollupDay},
		{From: rollupDay, To: rollupDay},
		{From: rollupDay.Add(time.Hour), To: rollupDay},
		{From: rollupDay, To: rollupDay.Add(time.Hour), Step: -time.Minute},
		{From: rollupDay, To: rollupDay.Add(time.Hour), Step: 90 * time.Second},
		{From: rollupDay, To: rollupDay.Add(time.Hour), GroupBy: []string{"user"}},
		{From: rollupDay, To: rollupDay.AddDate(0, 0, 30), Step: time.Minute},
	} {
		if _, err := s.Rollup(context.Background(), q); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("Rollup(%+v) error = %v, want ErrInvalidQuery", q, err)
		}
	}
	// An empty store answers no rows.
	if rows := rollupOf(t, s, store.RollupQuery{From: rollupDay, To: rollupDay.Add(time.Hour), Sketches: true}); len(rows) != 0 {
		t.Errorf("empty store: %+v", rows)
	}
}

// testRollupsConcurrent writes from several goroutines: the summaries
// must still count every call once.
func testRollupsConcurrent(t *testing.T, s Store) {
	recs := rollupRecords(400, 2)
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			var mine []record.Record
			for i := w; i < len(recs); i += 4 { // most calls written by two writers
				mine = append(mine, recs[i])
			}
			for c := range slices.Chunk(mine, 10) {
				if err := s.WriteRecords(context.Background(), c); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	checkRollup(t, s, recs, store.RollupQuery{From: rollupDay, To: rollupDay.Add(72 * time.Hour), Step: time.Hour, GroupBy: []string{store.RollupUseCase}, Sketches: true},
		rollupDay, rollupDay.Add(72*time.Hour))
}

// testRollupsLargeCost: a summary past $9,223 (where femto-dollars
// overflow an int64) is still exact, in every level and in sums of rows.
func testRollupsLargeCost(t *testing.T, s Store) {
	var recs []record.Record
	for i := range 25 {
		r := priced(minimal(fmt.Sprintf("big%02d", i), rollupDay.Add(time.Duration(i)*time.Second)), 1000*pricing.USD+pricing.Money(i))
		recs = append(recs, r)
	}
	write(t, s, recs...)
	for _, step := range []time.Duration{0, time.Minute, time.Hour, 24 * time.Hour} {
		rows := rollupOf(t, s, store.RollupQuery{From: rollupDay, To: rollupDay.Add(24 * time.Hour), Step: step})
		if len(rows) != 1 {
			t.Fatalf("step %s: %d rows", step, len(rows))
		}
		if got := rows[0].Cost().Format(15); got != "25000.000000000000300" {
			t.Errorf("step %s: cost %s, want 25000.000000000000300", step, got)
		}
		if got := rows[0].CostUSD(); got < 24999.99 || got > 25000.01 {
			t.Errorf("step %s: CostUSD %v", step, got)
		}
	}
}

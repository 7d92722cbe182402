package seed

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/value"
)

func engine(t *testing.T) *costing.Engine {
	t.Helper()
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return costing.NewEngine(cat, nil, nil)
}

// warnPricer fails the test when a seeded call cannot be priced: every
// model the seed uses must be in the catalog and every usage valid.
type warnPricer struct {
	t *testing.T
	e *costing.Engine
}

func (p warnPricer) Price(rec *record.Record, as string) {
	if _, err := p.e.Cost(rec, as); err != nil {
		p.t.Errorf("call %s (%s %s) cannot be priced: %v", rec.ID, as, rec.Model, err)
	}
	p.e.Price(rec, as)
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	end := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	opt := Options{Calls: 20_000, Days: 30, End: end, Batch: 3000}
	res, err := Run(ctx, st, warnPricer{t, engine(t)}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls != opt.Calls || res.Instances < opt.Calls/3 || res.KPIResults == 0 {
		t.Fatalf("result %+v", res)
	}
	// The same options again write nothing new.
	if _, err := Run(ctx, st, warnPricer{t, engine(t)}, opt); err != nil {
		t.Fatal(err)
	}
	from := end.AddDate(0, 0, -30)
	rows, err := st.Rollup(ctx, store.RollupQuery{From: from, To: end, GroupBy: []string{store.RollupUseCase}, Sketches: true})
	if err != nil {
		t.Fatal(err)
	}
	var calls, errs int64
	for _, r := range rows {
		calls += r.Calls
		errs += r.Errors
		if r.Key.UseCase == "" {
			t.Error("a seeded call has no use case")
		}
	}
	if calls != int64(opt.Calls) {
		t.Errorf("rollups count %d calls, want %d (written twice, stored once)", calls, opt.Calls)
	}
	if rate := float64(errs) / float64(calls); rate < 0.001 || rate > 0.05 {
		t.Errorf("error rate %.4f, want a realistic 0.1%%..5%%", rate)
	}
	// Weekdays' working hours are busier than weekend nights.
	busy, quiet := countAt(t, st, time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)), countAt(t, st, time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	if busy < 4*quiet || busy == 0 {
		t.Errorf("Wednesday 13:00 has %d calls, Sunday 03:00 %d: want a working-hours rhythm", busy, quiet)
	}
	// Latencies look like their models': gpt-4o-mini starts faster than o4-mini.
	lat := map[string]float64{}
	mrows, err := st.Rollup(ctx, store.RollupQuery{From: from, To: end, GroupBy: []string{store.RollupModel}, Sketches: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mrows {
		if v, ok := r.Quantile(0, 0.5); ok { // TTFT
			lat[r.Key.Model] = v
		}
	}
	if !(lat["gpt-4o-mini"] > 100 && lat["gpt-4o-mini"] < lat["o4-mini"]) {
		t.Errorf("median TTFT per model = %v", lat)
	}
	// Use cases are defined, with version 2 part-way.
	uc, err := (&value.Service{St: st}).Get(ctx, "support-triage")
	if err != nil {
		t.Fatalf("support-triage not defined: %v", err)
	}
	if uc.Version != "2" || len(uc.Versions) != 2 || !uc.Versions[1].From.After(from) || !uc.Versions[1].From.Before(end) {
		t.Errorf("support-triage versions %+v", uc.Versions)
	}
	page, err := st.ListRequests(ctx, store.RequestQuery{UseCase: "support-triage", From: end.Add(-24 * time.Hour), Limit: 1})
	if err != nil || len(page.Requests) != 1 || page.Requests[0].UseCaseVersion != "2" || page.Requests[0].CostUSD == nil {
		t.Errorf("a recent support-triage call: %+v, %v", page.Requests, err)
	}
}

func countAt(t *testing.T, st *sqlite.Store, at time.Time) int64 {
	t.Helper()
	rows, err := st.Rollup(context.Background(), store.RollupQuery{From: at, To: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return 0
	}
	return rows[0].Calls
}

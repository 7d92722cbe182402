package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
)

// spendBenchCalls are the calls of the Costs, Limits and Settings
// benchmarks, spread over the 30 days before now.
const spendBenchCalls = 200_000

var spendBench struct {
	once sync.Once
	path string
	err  error
}

// spendBenchStore opens the benchmarks' store, seeded once per package
// run (in batches of 5000) into a temporary directory: 5 providers, 20
// models, 8 teams, 40 use cases, 500 users and 50 accounts; one call in
// 20 unpriced.
func spendBenchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	spendBench.once.Do(func() {
		dir, err := os.MkdirTemp("", "weir-spend-bench-")
		if err != nil {
			spendBench.err = err
			return
		}
		spendBench.path = filepath.Join(dir, "weir.db")
		st, err := sqlite.Open(ctx, spendBench.path, sqlite.Options{})
		if err != nil {
			spendBench.err = err
			return
		}
		defer st.Close()
		start := time.Now()
		every := 30 * 24 * time.Hour / spendBenchCalls
		batch := make([]record.Record, 0, 5000)
		for i := range spendBenchCalls {
			cost := pricing.Money(int64(i%97+1) * int64(pricing.Micro) * 10)
			r := record.Record{ID: fmt.Sprintf("bench-%07d", i), ReceivedAt: now.Add(-time.Duration(i+1) * every),
				Endpoint: record.EndpointChatCompletions, Provider: fmt.Sprintf("provider-%d", i%5), Model: fmt.Sprintf("model-%d", i%20),
				Status: 200, E2EMs: 500 + float64(i%700),
				Usage:   usage.Usage{InputTokens: int64(500 + i%1000), OutputTokens: int64(50 + i%300)},
				CostUSD: &cost, Cost: &pricing.Cost{Total: cost}}
			r.RequestedModel = r.Model
			r.UseCase, r.Team, r.User, r.Account = fmt.Sprintf("use-case-%d", i%40), fmt.Sprintf("team-%d", i%8), fmt.Sprintf("user-%d", i%500), fmt.Sprintf("account-%d", i%50)
			if i%20 == 0 {
				r.CostUSD, r.Cost = nil, &pricing.Cost{Unpriced: pricing.UnitInput | pricing.UnitOutput}
			}
			batch = append(batch, r)
			if len(batch) == cap(batch) {
				if err := st.WriteRecords(ctx, batch); err != nil {
					spendBench.err = err
					return
				}
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			spendBench.err = st.WriteRecords(ctx, batch)
		}
		b.Logf("seeded %d calls in %s", spendBenchCalls, time.Since(start).Round(time.Millisecond))
	})
	if spendBench.err != nil {
		b.Fatal(spendBench.err)
	}
	st, err := sqlite.Open(ctx, spendBench.path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func benchSpendPage(b *testing.B, target, session string) {
	ctx := context.Background()
	st := spendBenchStore(b)
	lim, err := limits.New(ctx, limits.Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	alerts, err := alert.New(alert.Options{Store: alert.NewMemoryStore(), Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { alerts.Close(context.Background()) })
	cat, err := pricing.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	usd := func(s string) *pricing.Decimal {
		var d pricing.Decimal
		if err := d.UnmarshalJSON([]byte(s)); err != nil {
			b.Fatal(err)
		}
		return &d
	}
	for _, l := range []limits.Limit{
		{Name: "team-3-month", Match: limits.Match{Team: "team-3"}, USD: usd("100"), Window: limits.WindowMonth, Mode: limits.ModeWarn},
		{Name: "per-team", Per: limits.PerTeam, USD: usd("500"), Window: limits.WindowMonth, Mode: limits.ModeWarn},
		{Name: "per-user-day", Per: limits.PerUser, USD: usd("1"), Window: limits.WindowDay, Mode: limits.ModeBlock},
	} {
		if _, err := lim.Put(ctx, l, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 200 {
		if _, _, err := alerts.Raise(ctx, alert.Alert{Rule: "per-team", Kind: alert.KindLimitThreshold, Severity: alert.SeverityWarning,
			Scope: map[string]string{"limit": "per-team", "team": fmt.Sprintf("team-%d", i%8)}, Title: "limit per-team: warning",
			At: now.Add(-time.Duration(i) * time.Hour), DedupKey: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
	}
	people := map[string]auth.Principal{
		"admin-secret": spendPeople["admin-secret"],
		"team-secret":  {Kind: "user", Person: "t3", Role: auth.Viewer, Team: "team-3", Session: true},
	}
	d, err := New(Options{Auth: fakeAuth{people}, Requests: st, Costs: st, Rollups: st, Now: func() time.Time { return now },
		Spend: SpendSources{Catalog: func() *pricing.Catalog { return cat }, Limits: lim, Alerts: alerts, Forecaster: &spendForecasterFake{}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.AddCookie(&http.Cookie{Name: "weir_session", Value: session})
		d.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkPageCosts(b *testing.B) {
	b.Run("month", func(b *testing.B) { benchSpendPage(b, "/ui/costs", "admin-secret") })
	b.Run("30d", func(b *testing.B) { benchSpendPage(b, "/ui/costs?from=2026-02-13&to=2026-03-14", "admin-secret") })
	b.Run("30d-team", func(b *testing.B) { benchSpendPage(b, "/ui/costs?from=2026-02-13&to=2026-03-14", "team-secret") })
}

// BenchmarkPageCostsAccounts is the spend by account and user the Costs
// page loads by htmx: it sums the range's calls (not rollup dimensions).
func BenchmarkPageCostsAccounts(b *testing.B) {
	b.Run("month", func(b *testing.B) { benchSpendPage(b, "/ui/costs/accounts", "admin-secret") })
	b.Run("30d", func(b *testing.B) {
		benchSpendPage(b, "/ui/costs/accounts?from=2026-02-13&to=2026-03-14", "admin-secret")
	})
}

func BenchmarkPageCostsCSV(b *testing.B) {
	b.Run("user", func(b *testing.B) {
		benchSpendPage(b, "/ui/costs.csv?table=user&from=2026-02-13&to=2026-03-14", "admin-secret")
	})
}

func BenchmarkPageLimits(b *testing.B) {
	b.Run("admin", func(b *testing.B) { benchSpendPage(b, "/ui/limits", "admin-secret") })
	b.Run("team", func(b *testing.B) { benchSpendPage(b, "/ui/limits", "team-secret") })
	// The forecasts the page loads by htmx (a fake forecaster: the real
	// one's cost is internal/watch's).
	b.Run("forecasts", func(b *testing.B) { benchSpendPage(b, "/ui/limits/forecasts", "admin-secret") })
}

func BenchmarkPageSettings(b *testing.B) {
	benchSpendPage(b, "/ui/settings", "admin-secret")
}

package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/store/sqlite"
)

// healthBenchCalls are the calls of the health pages' benchmarks, spread
// over the 30 days before now.
const healthBenchCalls = 200_000

var healthBench struct {
	once sync.Once
	path string
	err  error
}

// healthBenchStore opens the benchmarks' store, seeded once per package
// run (in batches of 5000) into a temporary directory.
func healthBenchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	healthBench.once.Do(func() {
		dir, err := os.MkdirTemp("", "weir-health-bench-")
		if err != nil {
			healthBench.err = err
			return
		}
		healthBench.path = filepath.Join(dir, "weir.db")
		st, err := sqlite.Open(ctx, healthBench.path, sqlite.Options{})
		if err != nil {
			healthBench.err = err
			return
		}
		defer st.Close()
		start := time.Now()
		seedHealthEvery(b, st, healthBenchCalls, now, 30*24*time.Hour/healthBenchCalls)
		b.Logf("seeded %d calls in %s", healthBenchCalls, time.Since(start).Round(time.Millisecond))
	})
	if healthBench.err != nil {
		b.Fatal(healthBench.err)
	}
	st, err := sqlite.Open(ctx, healthBench.path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func benchHealthPage(b *testing.B, target string) {
	st := healthBenchStore(b)
	d, err := New(Options{Requests: st, Costs: st, Rollups: st, Now: func() time.Time { return now },
		Health: HealthSources{Routes: newFakeRoutes(), RouteConfig: healthRouteConfig}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		d.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkPageLatency(b *testing.B) {
	for _, r := range []string{"1h", "24h", "7d", "30d"} {
		b.Run(r, func(b *testing.B) { benchHealthPage(b, "/ui/latency?range="+r) })
	}
	b.Run("30d-one-target", func(b *testing.B) { benchHealthPage(b, "/ui/latency?range=30d&provider=openai&model=gpt-4o") })
}

func BenchmarkPageProviders(b *testing.B) {
	for _, r := range []string{"1h", "24h", "7d", "30d"} {
		b.Run(r, func(b *testing.B) { benchHealthPage(b, "/ui/providers?range="+r) })
	}
}

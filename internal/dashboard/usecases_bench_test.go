package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
	"github.com/weirhq/weir/internal/value"
)

// Seeded history of the value pages' benchmarks: valueBenchCalls calls
// over the 30 days before now, in runs of valueBenchRunCalls calls, of
// five use cases (three defined, with a KPI) and five teams;
// valueBenchKPIs runs have a KPI result.
const (
	valueBenchCalls    = 200_000
	valueBenchRunCalls = 5
	valueBenchKPIs     = 3000
)

var valueBench struct {
	once sync.Once
	path string
	err  error
}

var valueBenchUseCases = []string{"support-reply", "lead-gen", "summarise", "triage", "translate"}

func valueBenchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	valueBench.once.Do(func() {
		start := time.Now()
		valueBench.err = func() error {
			dir, err := os.MkdirTemp("", "weir-value-bench-")
			if err != nil {
				return err
			}
			valueBench.path = filepath.Join(dir, "weir.db")
			st, err := sqlite.Open(ctx, valueBench.path, sqlite.Options{})
			if err != nil {
				return err
			}
			defer st.Close()
			svc := &value.Service{St: st, Now: func() time.Time { return now.Add(-40 * 24 * time.Hour) }}
			goal := 0.7
			for _, n := range valueBenchUseCases[:3] {
				uc := value.UseCase{Name: n, Version: "1", BusinessOwner: "owner-" + n,
					KPIs: []value.KPI{{Name: "resolved", Type: value.TypeBoolean, Goal: &goal, Direction: value.HigherIsBetter, Value: []value.ValueRule{{USDPerUnit: *pricing.Dec("2.5")}}}}}
				if _, err := svc.Put(ctx, uc, 0, "bench"); err != nil {
					return err
				}
			}
			svc.Now = func() time.Time { return now.Add(-10 * 24 * time.Hour) }
			if _, err := svc.NewVersion(ctx, "support-reply", "2", "", "bench"); err != nil {
				return err
			}
			step := 30 * 24 * time.Hour / valueBenchCalls
			models := []string{"gpt-4o-mini", "gpt-4o", "claude-sonnet-4"}
			batch := make([]record.Record, 0, 5000)
			for i := range valueBenchCalls {
				run := i / valueBenchRunCalls
				uc := valueBenchUseCases[run%len(valueBenchUseCases)]
				at := now.Add(-time.Duration(valueBenchCalls-i) * step)
				ver := "1"
				if uc == "support-reply" && at.After(now.Add(-10*24*time.Hour)) {
					ver = "2"
				}
				cost := pricing.Money((1 + i%7) * int(pricing.Milli))
				r := record.Record{ID: fmt.Sprintf("b-%07d", i), ReceivedAt: at, Endpoint: record.EndpointChatCompletions, Provider: "openai",
					RequestedModel: models[i%3], Model: models[i%3], Status: 200, Stream: true, TTFTMs: ptr(80.0 + float64(i%400)), E2EMs: 500 + float64(i%2000),
					Usage: usage.Usage{InputTokens: 500, OutputTokens: 50}, CostUSD: ptr(cost),
					Cost: &pricing.Cost{Total: cost, PriceAs: "openai", EntryID: "openai/x", Version: "bench", Multiplier: 1_000_000},
					Attribution: record.Attribution{UseCase: uc, UseCaseVersion: ver, UseCaseInstance: fmt.Sprintf("run-%06d", run),
						Team: fmt.Sprintf("team-%d", run%5), User: fmt.Sprintf("user-%d", i%50)}}
				if i%50 == 0 {
					r.Status, r.ErrorKind = 500, "upstream"
				}
				// Four fingerprints per model over the month: three
				// identity changes each.
				r.ResponseModel, r.SystemFingerprint = models[i%3]+"-v1", fmt.Sprintf("fp_%d", i/(valueBenchCalls/4))
				batch = append(batch, r)
				if len(batch) == cap(batch) {
					if err := st.WriteRecords(ctx, batch); err != nil {
						return err
					}
					batch = batch[:0]
				}
			}
			if err := st.WriteRecords(ctx, batch); err != nil {
				return err
			}
			if err := seedBenchDrift(ctx, st, models); err != nil {
				return err
			}
			svc.Now = func() time.Time { return now }
			runs := valueBenchCalls / valueBenchRunCalls
			for k := range valueBenchKPIs {
				run := k * (runs / valueBenchKPIs) / len(valueBenchUseCases) * len(valueBenchUseCases) // support-reply's runs
				raw := json.RawMessage("true")
				if k%3 == 0 {
					raw = json.RawMessage("false")
				}
				if _, _, err := svc.PutKPI(ctx, "support-reply", fmt.Sprintf("run-%06d", run), "resolved", raw, now.Add(-time.Hour), "bench"); err != nil {
					return err
				}
			}
			return nil
		}()
		b.Logf("seeded %d calls and %d KPI results in %s", valueBenchCalls, valueBenchKPIs, time.Since(start).Round(time.Millisecond))
	})
	if valueBench.err != nil {
		b.Fatal(valueBench.err)
	}
	st, err := sqlite.Open(ctx, valueBench.path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// valueBenchDriftEvents drift events are seeded over the 30 days, of
// every use case and model.
const valueBenchDriftEvents = 1000

// seedBenchDrift stores behaviour drift events as the monitor does.
func seedBenchDrift(ctx context.Context, st *sqlite.Store, models []string) error {
	edges := make([]float64, 21)
	for i := range edges {
		edges[i] = float64(i * 10)
	}
	hist := []int{1, 5, 20, 40, 60, 40, 20, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	mean := 45.0
	for i := range valueBenchDriftEvents {
		at := now.Add(-time.Duration(valueBenchDriftEvents-i) * 30 * 24 * time.Hour / valueBenchDriftEvents)
		e := drift.Event{ID: ids.New("dft_", at.Add(time.Hour)), Kind: drift.KindBehaviour, Signal: drift.Signals()[i%5],
			UseCase: valueBenchUseCases[i%len(valueBenchUseCases)], Provider: "openai", Model: models[i%3], At: at, DetectedAt: at.Add(time.Hour),
			Summary: "bench drift", Finding: &drift.Finding{Test: drift.TestKS, P: 1e-9, PAdjusted: 1e-8, EffectName: "ks_d", Effect: 0.3, MinEffect: 0.15,
				Edges: edges, StartedAt: at,
				Baseline: drift.Window{Calls: 5000, Mean: &mean, Quantiles: &drift.Quantiles{P5: 10, P25: 30, P50: 45, P75: 60, P95: 80}, Histogram: hist},
				Recent:   drift.Window{Calls: 200, Mean: &mean, Quantiles: &drift.Quantiles{P5: 10, P25: 30, P50: 45, P75: 60, P95: 80}, Histogram: hist},
				Changes:  []drift.Change{{Kind: "prompt_version", Value: "p@2", FirstSeen: at, Share: 1, Near: true}}}}
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := st.SaveDriftEvent(ctx, store.DriftEvent{ID: e.ID, Signal: e.Signal, UseCase: e.UseCase, Provider: e.Provider, Model: e.Model,
			StartedAt: e.At, DetectedAt: e.DetectedAt, Event: raw}); err != nil {
			return err
		}
	}
	return nil
}

// benchValuePage renders target; hxTarget, when set, asks for that
// htmx block (a part the page loads after itself).
func benchValuePage(b *testing.B, target, session string, hxTarget ...string) {
	benchValuePageDrift(b, true, target, session, hxTarget...)
}

// benchValuePageDrift is benchValuePage with the drift sources wired
// or not.
func benchValuePageDrift(b *testing.B, withDrift bool, target, session string, hxTarget ...string) {
	st := valueBenchStore(b)
	svc := &value.Service{St: st, Now: func() time.Time { return now }}
	opt := Options{Auth: fakeAuth{valuePeople}, Requests: st, Costs: st, Rollups: st, Now: func() time.Time { return now },
		Value: ValueSources{UseCases: svc, Reports: st, KPIs: st, KPIDays: st, Forecaster: fakeForecaster{100}, Limits: fakeLimits{}, Alerts: fakeAlerts{}}}
	if withDrift {
		opt.Drift = DriftSources{Events: st, Identities: st}
	}
	d, err := New(opt)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.AddCookie(&http.Cookie{Name: "weir_session", Value: session})
		for _, t := range hxTarget {
			r.Header.Set("HX-Request", "true")
			r.Header.Set("HX-Target", t)
		}
		d.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d", target, w.Code)
		}
	}
}

func BenchmarkPageOverview(b *testing.B) {
	b.Run("admin", func(b *testing.B) { benchValuePage(b, "/ui/", "admin-secret") })
	b.Run("team", func(b *testing.B) { benchValuePage(b, "/ui/", "team1-secret") })
	b.Run("team-value", func(b *testing.B) { benchValuePage(b, "/ui/?value=1", "team1-secret", "value") })
	b.Run("value", func(b *testing.B) { benchValuePage(b, "/ui/?value=1", "admin-secret", "value") })
}

func BenchmarkPageUseCases(b *testing.B) {
	b.Run("admin", func(b *testing.B) { benchValuePage(b, "/ui/usecases", "admin-secret") })
	b.Run("value", func(b *testing.B) { benchValuePage(b, "/ui/usecases?value=1", "admin-secret", "usecases-table") })
}

func BenchmarkPageUseCase(b *testing.B) {
	for _, r := range useCaseRanges {
		b.Run(r, func(b *testing.B) { benchValuePage(b, "/ui/usecases/support-reply?range="+r, "admin-secret") })
	}
	b.Run("undefined-30d", func(b *testing.B) { benchValuePage(b, "/ui/usecases/triage?range=30d", "admin-secret") })
	// What the drift section and markers cost.
	b.Run("30d-without-drift", func(b *testing.B) {
		benchValuePageDrift(b, false, "/ui/usecases/support-reply?range=30d", "admin-secret")
	})
	// The parts the page loads after itself.
	for _, r := range useCaseRanges {
		b.Run(r+"-report", func(b *testing.B) {
			benchValuePage(b, "/ui/usecases/support-reply?report=1&range="+r, "admin-secret", "report")
		})
	}
	b.Run("30d-compare", func(b *testing.B) {
		benchValuePage(b, "/ui/usecases/support-reply?range=30d&a=1&b=2", "admin-secret", "compare")
	})
}

func BenchmarkPageDrift(b *testing.B) {
	b.Run("list", func(b *testing.B) { benchValuePage(b, "/ui/drift", "admin-secret") })
	b.Run("use-case", func(b *testing.B) { benchValuePage(b, "/ui/drift?use_case=support-reply&range=30d", "admin-secret") })
	b.Run("event", func(b *testing.B) {
		st := valueBenchStore(b)
		list, err := st.DriftEvents(context.Background(), store.DriftEventQuery{Limit: 1})
		if err != nil || len(list) != 1 {
			b.Fatalf("no drift event: %v", err)
		}
		benchValuePage(b, "/ui/drift/"+list[0].ID, "admin-secret")
	})
}

func BenchmarkPageInstance(b *testing.B) {
	benchValuePage(b, "/ui/usecases/support-reply/instances/run-039995", "admin-secret")
}

package watch

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/value"
)

type raised struct {
	mu sync.Mutex
	as []alert.Alert
}

func (r *raised) Raise(_ context.Context, a alert.Alert) (alert.Alert, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.as = append(r.as, a)
	return a, true, nil
}

func (r *raised) kinds() string {
	var ks []string
	for _, a := range r.as {
		ks = append(ks, a.Kind+":"+a.Scope["use_case"]+a.Scope["limit"])
	}
	return strings.Join(ks, " ")
}

func TestWatch(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	n := 0
	call := func(at time.Time, uc string, usd string, status int) record.Record {
		n++
		var m pricing.Money
		r := record.Record{ID: fmt.Sprintf("r%05d", n), ReceivedAt: at, Endpoint: record.EndpointChatCompletions, Status: status,
			Provider: "openai", Model: "gpt-4o", Attribution: record.Attribution{UseCase: uc, UseCaseInstance: fmt.Sprint("i", n)}}
		if status < 400 {
			if err := m.UnmarshalJSON([]byte(usd)); err != nil {
				t.Fatal(err)
			}
			r.CostUSD, r.Cost = &m, &pricing.Cost{Total: m, EntryID: "e", Version: "v", Multiplier: 1_000_000}
		} else {
			r.ErrorKind = "upstream_error"
		}
		return r
	}
	var recs []record.Record
	// bot: $10 a day for 28 days, $45 today by 15:00: a spike.
	for d := 1; d <= 28; d++ {
		recs = append(recs, call(now.AddDate(0, 0, -d), "bot", "10", 200))
	}
	recs = append(recs, call(now.Add(-2*time.Hour), "bot", "45", 200))
	// steady: $10 a day and $9 today: no spike.
	for d := 0; d <= 28; d++ {
		recs = append(recs, call(now.AddDate(0, 0, -d).Add(-3*time.Hour), "steady", "9", 200))
	}
	// support (defined): 30 calls in the last hour, 6 failed: 20%.
	for i := range 30 {
		status := 200
		if i%5 == 0 {
			status = 502
		}
		recs = append(recs, call(now.Add(-time.Duration(i+1)*time.Minute), "support", "0.01", status))
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	ucs := &value.Service{St: st, Now: func() time.Time { return now }}
	if _, err := ucs.Put(ctx, value.UseCase{Name: "support", KPIs: []value.KPI{}}, 0, "t"); err != nil {
		t.Fatal(err)
	}
	r := &raised{}
	w := &Watcher{Cost: st, UseCases: ucs, Alerts: r, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler),
		Limits: func() []limits.Limit {
			// bot's month: $190 in the 19 days before today, $45 today,
			// about $10 a day to come: well past $200.
			return []limits.Limit{{Name: "bot-monthly", Match: limits.Match{UseCase: "bot"}, USD: pricing.Dec("200"), Window: limits.WindowMonth, Mode: limits.ModeWarn},
				{Name: "steady-monthly", Match: limits.Match{UseCase: "steady"}, USD: pricing.Dec("1000"), Window: limits.WindowMonth, Mode: limits.ModeWarn}}
		}}
	if err := w.Check(ctx); err != nil {
		t.Fatal(err)
	}
	want := "spend_spike:bot error_rate:support forecast_over_limit:bot-monthly"
	if got := r.kinds(); got != want {
		t.Errorf("alerts %q, want %q", got, want)
	}
	for _, a := range r.as {
		if a.Title == "" || a.Message == "" || a.DedupKey == "" || a.Value <= a.Threshold {
			t.Errorf("alert %+v", a)
		}
	}
	f, err := w.Forecast(ctx, store.CostQuery{UseCase: "steady"}, "Europe/Berlin")
	// $9 a day: 19 days before today ($171) and today's $9: about $270 for
	// November.
	if err != nil || f.ForecastTotalUSD < 240 || f.ForecastTotalUSD > 300 || f.Low > f.ForecastTotalUSD || f.High < f.ForecastTotalUSD {
		t.Errorf("forecast %+v %v", f, err)
	}
	if _, err := w.Forecast(ctx, store.CostQuery{}, "Mars/Olympus"); err == nil {
		t.Error("bad time zone accepted")
	}
}

// TestCostPerOutcomeRise: ten resolved tickets cost $1 each three weeks
// ago and $2 each two weeks ago: cost per resolved ticket doubled, a rise
// past 25% on complete weeks (last week's results may still be arriving).
func TestCostPerOutcomeRise(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	var recs []record.Record
	for i := range 20 {
		at, usd := now.AddDate(0, 0, -18), pricing.USD
		if i >= 10 {
			at, usd = now.AddDate(0, 0, -11), 2*pricing.USD
		}
		m := usd
		recs = append(recs, record.Record{ID: fmt.Sprintf("c%02d", i), ReceivedAt: at.Add(time.Duration(i) * time.Minute), Endpoint: record.EndpointChatCompletions,
			Status: 200, Provider: "openai", Model: "m", CostUSD: &m, Cost: &pricing.Cost{Total: m, EntryID: "e", Version: "v", Multiplier: 1_000_000},
			Attribution: record.Attribution{UseCase: "support", UseCaseInstance: fmt.Sprint("t", i)}})
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	ucs := &value.Service{St: st, Now: func() time.Time { return now }}
	if _, err := ucs.Put(ctx, value.UseCase{Name: "support", KPIs: []value.KPI{{Name: "resolved", Type: value.TypeBoolean, Direction: value.HigherIsBetter}}}, 0, "t"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, _, err := ucs.PutKPI(ctx, "support", fmt.Sprint("t", i), "resolved", []byte("true"), now.AddDate(0, 0, -5), "crm"); err != nil {
			t.Fatal(err)
		}
	}
	r := &raised{}
	w := &Watcher{Cost: st, UseCases: ucs, Alerts: r, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	if err := w.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.as) != 1 || r.as[0].Kind != alert.KindCostPerOutcomeRise || r.as[0].Value != 1 || r.as[0].Scope["kpi"] != "resolved" {
		t.Errorf("alerts: %+v", r.as)
	}
}

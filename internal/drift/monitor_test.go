package drift_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
)

type alerts struct {
	mu   sync.Mutex
	list []alert.Alert
}

func (a *alerts) Raise(_ context.Context, al alert.Alert) (alert.Alert, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, al)
	return al, true, nil
}

// TestMonitor runs the monitor over a SQLite store: a use case whose
// answers grow longer when the model's fingerprint changes gets one
// behaviour event (output length, with the fingerprint as what else
// changed) and one identity event, each stored and alerted once.
func TestMonitor(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now().UTC().Add(-20 * time.Hour).Truncate(time.Minute)
	r := rand.New(rand.NewPCG(1, 2))
	var recs []record.Record
	for i := range 2400 {
		out, fp := int64(40+r.IntN(41)), "fp_a"
		if i >= 2000 {
			out, fp = int64(70+r.IntN(41)), "fp_b"
		}
		recs = append(recs, record.Record{ID: fmt.Sprintf("req_%05d", i), ReceivedAt: start.Add(time.Duration(i) * 30 * time.Second),
			Endpoint: record.EndpointChatCompletions, Provider: "openai", Model: "gpt-4o", RequestedModel: "gpt-4o", Status: 200,
			ResponseModel: "gpt-4o-2024-08-06", SystemFingerprint: fp, FinishReason: "stop",
			Usage:       usage.Usage{InputTokens: 100, OutputTokens: out},
			Attribution: record.Attribution{UseCase: "triage"}})
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	al := &alerts{}
	now := start.Add(2400 * 30 * time.Second)
	mon, err := drift.NewMonitor(drift.MonitorOptions{Store: st, Alerts: al, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := mon.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind+"/"+e.Signal]++
	}
	if len(evs) != 2 || kinds["model_identity/"] != 1 || kinds["behaviour/output_tokens"] != 1 {
		t.Fatalf("events %v", kinds)
	}
	var beh drift.Event
	for _, e := range evs {
		if e.Kind == drift.KindBehaviour {
			beh = e
		}
	}
	if beh.UseCase != "triage" || beh.Finding.Direction != "up" || beh.Summary == "" {
		t.Errorf("behaviour event %+v", beh)
	}
	if d := beh.At.Sub(start.Add(2000 * 30 * time.Second)); d.Abs() > 30*time.Minute {
		t.Errorf("started %s from the true change", d)
	}
	if len(beh.Finding.Changes) == 0 || beh.Finding.Changes[0].Kind != "model_identity" || !beh.Finding.Changes[0].Near {
		t.Errorf("changes %+v", beh.Finding.Changes)
	}
	if len(al.list) != 2 {
		t.Fatalf("alerts %+v", al.list)
	}
	for _, a := range al.list {
		if a.Kind != drift.AlertBehaviour && a.Kind != drift.AlertModelIdentity {
			t.Errorf("alert kind %s", a.Kind)
		}
		if a.Kind == drift.AlertBehaviour && (a.Scope["use_case"] != "triage" || a.Scope["signal"] != "output_tokens" || a.Value < a.Threshold) {
			t.Errorf("alert %+v", a)
		}
	}
	stored, err := st.DriftEvents(ctx, store.DriftEventQuery{})
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored %d %v", len(stored), err)
	}
	// Checked again with new calls in the new behaviour: nothing new.
	var more []record.Record
	for i := 2400; i < 2500; i++ {
		more = append(more, record.Record{ID: fmt.Sprintf("req_%05d", i), ReceivedAt: start.Add(time.Duration(i) * 30 * time.Second),
			Endpoint: record.EndpointChatCompletions, Provider: "openai", Model: "gpt-4o", Status: 200,
			ResponseModel: "gpt-4o-2024-08-06", SystemFingerprint: "fp_b", FinishReason: "stop",
			Usage: usage.Usage{OutputTokens: int64(70 + r.IntN(41))}, Attribution: record.Attribution{UseCase: "triage"}})
	}
	if err := st.WriteRecords(ctx, more); err != nil {
		t.Fatal(err)
	}
	now = start.Add(2500 * 30 * time.Second)
	if evs, err := mon.Check(ctx); err != nil || len(evs) != 0 {
		t.Errorf("second check: %+v %v", evs, err)
	}
	// A new monitor (a restart) raises nothing again either.
	mon2, _ := drift.NewMonitor(drift.MonitorOptions{Store: st, Alerts: al, Now: func() time.Time { return now }})
	if evs, err := mon2.Check(ctx); err != nil || len(evs) != 0 {
		t.Errorf("after a restart: %+v %v", evs, err)
	}
	if len(al.list) != 2 {
		t.Errorf("alerts %d", len(al.list))
	}
}

package limits

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func TestWindowStart(t *testing.T) {
	berlin := "Europe/Berlin"
	at := time.Date(2026, 11, 27, 0, 30, 0, 0, time.UTC) // Friday 01:30 in Berlin
	for _, tc := range []struct {
		window, tz string
		want       string
	}{
		{WindowDay, "", "2026-11-27T00:00:00Z"},
		{WindowDay, berlin, "2026-11-27T00:00:00+01:00"},
		{WindowWeek, "", "2026-11-23T00:00:00Z"},
		{WindowMonth, berlin, "2026-11-01T00:00:00+01:00"},
		{WindowLifetime, "", "0001-01-01T00:00:00Z"},
	} {
		l := Limit{Window: tc.window, TimeZone: tc.tz}
		if err := l.compile(); err != nil {
			t.Fatal(err)
		}
		if got := l.windowStart(at).Format(time.RFC3339); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.window, tc.tz, got, tc.want)
		}
	}
	// Berlin's day starts an hour before UTC's: 23:30 UTC on the 26th is
	// already the 27th there.
	l := Limit{Window: WindowDay, TimeZone: berlin}
	l.compile()
	if got := l.windowStart(time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC)).Format(time.DateOnly); got != "2026-11-27" {
		t.Errorf("Berlin day: %s", got)
	}
}

func TestValidate(t *testing.T) {
	tokens := int64(1000)
	good := Limit{Name: "x", USD: pricing.Dec("5"), Window: WindowMonth, Mode: ModeBlock}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Limit{
		{Name: "x", Window: WindowMonth, Mode: ModeBlock},
		{Name: "x", USD: pricing.Dec("5"), Tokens: &tokens, Window: WindowMonth, Mode: ModeBlock},
		{Name: "x", USD: pricing.Dec("5"), Window: "year", Mode: ModeBlock},
		{Name: "x", USD: pricing.Dec("5"), Window: WindowMonth, Mode: "stop"},
		{Name: "x", USD: pricing.Dec("5"), Window: WindowMonth, Mode: ModeBlock, Per: "model"},
		{Name: "x", USD: pricing.Dec("5"), Window: WindowMonth, Mode: ModeBlock, Threshold: 1.5},
		{Name: "x", USD: pricing.Dec("5"), Window: WindowMonth, Mode: ModeBlock, TimeZone: "Mars/Olympus"},
		{USD: pricing.Dec("5"), Window: WindowMonth, Mode: ModeBlock},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

type alertLog struct {
	mu     sync.Mutex
	states []string
}

func (a *alertLog) add(l Limit, key string, c Counter, state string) {
	a.mu.Lock()
	a.states = append(a.states, l.Name+":"+state)
	a.mu.Unlock()
}

func TestAdmitAndAlerts(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	alerts := &alertLog{}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	m, err := New(ctx, Options{Store: st, Alert: alerts.add, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tokens := int64(1000)
	if _, err := m.Put(ctx, Limit{Name: "tok", Match: Match{Team: "ml"}, Tokens: &tokens, Window: WindowDay, Mode: ModeWarn}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Put(ctx, Limit{Name: "usd", Match: Match{Team: "ml"}, USD: pricing.Dec("0.01"), Window: WindowDay, Mode: ModeBlock}, "t"); err != nil {
		t.Fatal(err)
	}
	rec := &record.Record{ReceivedAt: now, Attribution: record.Attribution{Team: "ml"}}
	est := func() (pricing.Money, int64) { return 3 * pricing.Milli, 300 } // $0.003, 300 tokens
	// Three calls of $0.003 and 300 tokens: $0.009 and 900 tokens, past
	// the warn limit's 80% (800 tokens) but within both caps.
	for range 3 {
		tk, err := m.Admit(ctx, rec, est)
		if err != nil || tk == nil {
			t.Fatalf("admit: %v", err)
		}
		tk.Settle(3*pricing.Milli, 300)
	}
	// A fourth would take $0.009 + $0.003 past $0.01: refused.
	_, err = m.Admit(ctx, rec, est)
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Kind != apierror.BudgetExceeded {
		t.Fatalf("fourth call: %v", err)
	}
	// A smaller one fits: $0.0009, 200 tokens: the warn limit passes its cap.
	tk, err := m.Admit(ctx, rec, func() (pricing.Money, int64) { return 900 * pricing.Micro, 200 })
	if err != nil {
		t.Fatal(err)
	}
	tk.Settle(900*pricing.Micro, 200)
	want := []string{"usd:warning", "tok:warning", "usd:blocked", "tok:exceeded"}
	if len(alerts.states) != len(want) {
		t.Fatalf("alerts %v, want %v", alerts.states, want)
	}
	for i := range want {
		if alerts.states[i] != want[i] {
			t.Errorf("alerts %v, want %v", alerts.states, want)
			break
		}
	}
	states, err := m.States(ctx)
	if err != nil || len(states) != 2 || states[0].Limit != "tok" || states[0].State != "exceeded" || states[1].State != "blocked" || states[1].Refused != 1 || states[1].Used != "$0.009900" {
		t.Errorf("states: %+v %v", states, err)
	}
	// Calls of another team are not limited; a reset starts the count again.
	if tk, err := m.Admit(ctx, &record.Record{ReceivedAt: now, Attribution: record.Attribution{Team: "cx"}}, est); tk != nil || err != nil {
		t.Errorf("other team: %v %v", tk, err)
	}
	now = now.Add(time.Minute)
	if err := m.Reset(ctx, "usd", "t", "more budget"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Admit(ctx, rec, est); err != nil {
		t.Errorf("after reset: %v", err)
	}
	// A new process loads the limits and their spend from the store (none
	// recorded here: the calls above were never written).
	m2, err := New(ctx, Options{Store: st, Now: func() time.Time { return now }})
	if err != nil || len(m2.List()) != 2 {
		t.Fatalf("reload: %v", err)
	}
}

// TestWindowStartDST: in America/Santiago midnight of 2026-09-06 does not
// exist (clocks jump from 00:00 to 01:00): that day and its week start at
// 01:00, and the Sunday belongs to the week of Monday 2026-08-31.
func TestWindowStartDST(t *testing.T) {
	for _, tc := range []struct {
		window, at, want string
	}{
		{WindowDay, "2026-09-06T12:00:00-03:00", "2026-09-06T01:00:00-03:00"},
		{WindowWeek, "2026-09-06T12:00:00-03:00", "2026-08-31T00:00:00-04:00"},
		{WindowWeek, "2026-09-01T12:00:00-04:00", "2026-08-31T00:00:00-04:00"},
	} {
		l := Limit{Window: tc.window, TimeZone: "America/Santiago"}
		if err := l.compile(); err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := l.windowStart(at).Format(time.RFC3339); got != tc.want {
			t.Errorf("%s at %s: %s, want %s", tc.window, tc.at, got, tc.want)
		}
	}
}

// TestChangeWithCallsInFlight: saving a limit again or resetting it while
// calls are in flight keeps them counted where they reserved, so the cap
// still holds.
func TestChangeWithCallsInFlight(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := New(ctx, Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	l := Limit{Name: "cap", USD: pricing.Dec("0.01"), Window: WindowDay, Mode: ModeBlock}
	if _, err := m.Put(ctx, l, "t"); err != nil {
		t.Fatal(err)
	}
	rec := &record.Record{ReceivedAt: time.Now()}
	est := func() (pricing.Money, int64) { return pricing.Milli, 10 } // $0.001
	var tickets []*Ticket
	admitted := 0
	for range 30 {
		tk, err := m.Admit(ctx, rec, est)
		if err == nil {
			admitted++
			tickets = append(tickets, tk)
		}
	}
	if admitted != 10 {
		t.Fatalf("%d admitted before the change, want 10", admitted)
	}
	// The settled calls of the old generation cannot go negative or vanish.
	for _, tk := range tickets {
		tk.Settle(pricing.Milli, 10)
		tk.Settle(pricing.Milli, 10) // settled twice: counted once
	}
	if states, _ := m.States(ctx); len(states) != 1 || states[0].Used != "$0.010000" || states[0].InUse != "$0.000000" {
		t.Errorf("after settling: %+v", states)
	}
}

// TestSpendLoadedFromStore: a new process counts what was recorded in the
// window, and a reset's time, from the store.
func TestSpendLoadedFromStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cost := 5 * pricing.Milli
	write := func(id string, at time.Time) {
		c := cost
		if err := st.WriteRecords(ctx, []record.Record{{ID: id, ReceivedAt: at, Endpoint: record.EndpointChatCompletions, Status: 200,
			CostUSD: &c, Cost: &pricing.Cost{Total: c, EntryID: "e", Version: "v", Multiplier: 1_000_000}, Attribution: record.Attribution{Team: "ml"}}}); err != nil {
			t.Fatal(err)
		}
	}
	write("yesterday", now.Add(-24*time.Hour)) // another window
	write("today", now.Add(-time.Hour))
	m, err := New(ctx, Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Put(ctx, Limit{Name: "ml-daily", Match: Match{Team: "ml"}, USD: pricing.Dec("0.01"), Window: WindowDay, Mode: ModeBlock}, "t"); err != nil {
		t.Fatal(err)
	}
	rec := &record.Record{ReceivedAt: now, Attribution: record.Attribution{Team: "ml"}}
	// $0.005 recorded today + $0.006 estimated > $0.01.
	if _, err := m.Admit(ctx, rec, func() (pricing.Money, int64) { return 6 * pricing.Milli, 1 }); err == nil {
		t.Error("today's recorded spend was not counted")
	}
	if tk, err := m.Admit(ctx, rec, func() (pricing.Money, int64) { return 4 * pricing.Milli, 1 }); err != nil || tk == nil {
		t.Errorf("$0.004 more fits: %v", err)
	} else {
		tk.Settle(0, 0)
	}
	// After a reset, a new process counts from the reset's time only.
	now = now.Add(time.Minute)
	if err := m.Reset(ctx, "ml-daily", "t", ""); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	write("after-reset", now.Add(-30*time.Second))
	m2, err := New(ctx, Options{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	states, err := m2.States(ctx)
	if err != nil || len(states) != 1 || states[0].Used != "$0.005000" {
		t.Errorf("after reset and restart: %+v %v", states, err)
	}
}

// TestMemoryLoadsOnce: concurrent first uses of a key run one load.
func TestMemoryLoadsOnce(t *testing.T) {
	m := NewMemory()
	var loads, inLoad sync.WaitGroup
	var n int64
	var mu sync.Mutex
	inLoad.Add(1)
	load := func() (int64, error) {
		mu.Lock()
		n++
		mu.Unlock()
		inLoad.Wait() // hold the load until every caller is waiting
		return 7, nil
	}
	ctx := context.Background()
	for range 20 {
		loads.Add(1)
		go func() {
			defer loads.Done()
			if _, c, err := m.Reserve(ctx, "k", 1, 100, false, load); err != nil || c.Used != 7 {
				t.Errorf("reserve: %+v %v", c, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	inLoad.Done()
	loads.Wait()
	c, _ := m.Get(ctx, "k", load)
	if n != 1 || c.Reserved != 20 || c.Used != 7 {
		t.Errorf("%d loads, counter %+v", n, c)
	}
}

// TestPerAPIKey: each application key has its own cap; calls without an
// application key are not held by it.
func TestPerAPIKey(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := New(ctx, Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	tokens := int64(100)
	if _, err := m.Put(ctx, Limit{Name: "per-key", Match: Match{Application: "bot"}, Per: PerAPIKey, Tokens: &tokens, Window: WindowDay, Mode: ModeBlock}, "t"); err != nil {
		t.Fatal(err)
	}
	est := func() (pricing.Money, int64) { return 0, 60 }
	call := func(app, key string) error {
		tk, err := m.Admit(ctx, &record.Record{ReceivedAt: time.Now(), Attribution: record.Attribution{Application: app, APIKeyID: key}}, est)
		if err == nil && tk != nil {
			tk.Settle(0, 60)
		}
		return err
	}
	if call("bot", "k1") != nil || call("bot", "k1") == nil {
		t.Error("k1: the second call of 60 tokens must pass 100")
	}
	if call("bot", "k2") != nil {
		t.Error("k2 has its own cap")
	}
	if call("crm", "k3") != nil || call("crm", "k3") != nil || call("", "") != nil {
		t.Error("other applications and configured keys are not held")
	}
}

package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

func testUseCases(t *testing.T, s Store) {
	ctx := context.Background()
	if got, err := s.UseCases(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %+v %v", got, err)
	}
	put := func(name, doc string, ifRev int) (store.UseCaseDoc, error) {
		return s.PutUseCase(ctx, store.UseCaseDoc{Name: name, Doc: json.RawMessage(doc), ChangedBy: "alice"}, ifRev)
	}
	d, err := put("support", `{"description":"v1"}`, 0)
	if err != nil || d.Revision != 1 || d.ChangedAt.IsZero() {
		t.Fatalf("first put: %+v %v", d, err)
	}
	if d, err = put("support", `{"description":"v2"}`, 1); err != nil || d.Revision != 2 {
		t.Fatalf("second put: %+v %v", d, err)
	}
	if _, err := put("support", `{"description":"stale"}`, 1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("put on a stale revision: %v, want ErrConflict", err)
	}
	if _, err := put("leads", `{}`, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := put("", `{}`, 0); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("no name: %v", err)
	}
	all, err := s.UseCases(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "leads" || all[1].Name != "support" || all[1].Revision != 2 || string(all[1].Doc) != `{"description":"v2"}` {
		t.Errorf("latest revisions: %+v %v", all, err)
	}
	hist, err := s.UseCaseHistory(ctx, "support")
	if err != nil || len(hist) != 2 || string(hist[0].Doc) != `{"description":"v1"}` || hist[0].ChangedBy != "alice" {
		t.Errorf("history: %+v %v", hist, err)
	}
	if _, err := s.UseCaseHistory(ctx, "nosuch"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("history of nothing: %v", err)
	}
}

func testKPIResults(t *testing.T, s Store) {
	ctx := context.Background()
	at := base.Truncate(time.Second)
	r := store.KPIResult{UseCase: "support", Instance: "t1", KPI: "resolved", Nanos: 1e9, At: at, RecordedBy: "crm"}
	got, changed, err := s.PutKPIResult(ctx, r)
	if err != nil || !changed || !got.Current || got.RecordedAt.IsZero() {
		t.Fatalf("first put: %+v %v %v", got, changed, err)
	}
	// The same value again, even reported later: nothing changes.
	r1 := r
	r1.At = at.Add(time.Hour)
	if again, changed, err := s.PutKPIResult(ctx, r1); err != nil || changed || again.Nanos != 1e9 || !again.RecordedAt.Equal(got.RecordedAt) || !again.At.Equal(at) {
		t.Errorf("repeat: %+v %v %v", again, changed, err)
	}
	// A new value replaces it; the old is history.
	r2 := r
	r2.Nanos, r2.At = 0, at.Add(24*time.Hour)
	if _, changed, err := s.PutKPIResult(ctx, r2); err != nil || !changed {
		t.Fatalf("new value: %v %v", changed, err)
	}
	hist, err := s.KPIHistory(ctx, "support", "t1", "resolved")
	if err != nil || len(hist) != 2 || hist[0].Current || !hist[1].Current || hist[1].Nanos != 0 || !hist[0].At.Equal(at) {
		t.Errorf("history: %+v %v", hist, err)
	}
	if _, err := s.KPIHistory(ctx, "support", "t1", "csat"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("history of nothing: %v", err)
	}
	if _, _, err := s.PutKPIResult(ctx, store.KPIResult{UseCase: "support", KPI: "x", At: at}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("no instance: %v", err)
	}
}

// testKPIIdempotentProperty: whatever the order and repetition of writes,
// the value in force is the last one written, and history grows only when
// the value changes.
func testKPIIdempotentProperty(t *testing.T, s Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 30 {
		inst := fmt.Sprintf("i%d", trial)
		var last *store.KPIResult
		changes := 0
		for range 1 + rng.IntN(12) {
			r := store.KPIResult{UseCase: "p", Instance: inst, KPI: "k", Nanos: int64(rng.IntN(3)) * 1e9, At: base.Add(time.Duration(rng.IntN(2)) * time.Hour)}
			if rng.IntN(2) == 0 && last != nil {
				r = *last // an exact repeat
			}
			_, changed, err := s.PutKPIResult(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			want := last == nil || last.Nanos != r.Nanos
			if changed != want {
				t.Fatalf("trial %d: changed = %v, want %v", trial, changed, want)
			}
			if changed {
				changes++
			}
			if changed {
				rr := r
				last = &rr
			}
		}
		hist, err := s.KPIHistory(ctx, "p", inst, "k")
		if err != nil || len(hist) != changes || hist[len(hist)-1].Nanos != last.Nanos || !hist[len(hist)-1].Current {
			t.Fatalf("trial %d: history %+v (%d changes, last %+v) %v", trial, hist, changes, last, err)
		}
		for _, h := range hist[:len(hist)-1] {
			if h.Current {
				t.Fatalf("trial %d: two values in force", trial)
			}
		}
	}
}

func testInstanceTotals(t *testing.T, s Store) {
	ctx := context.Background()
	call := func(id string, at time.Duration, inst, version, team string, cost pricing.Money, status int, ttft *float64) record.Record {
		r := minimal(id, base.Add(at))
		r.UseCase, r.UseCaseInstance, r.UseCaseVersion, r.Team = "support", inst, version, team
		r.Status, r.E2EMs, r.TTFTMs = status, 100, ttft
		r.Usage.InputTokens, r.Usage.OutputTokens = 1000, 100
		if status < 400 {
			r = priced(r, cost)
		}
		return r
	}
	ttft := 40.0
	refused := func(id string, at time.Duration, inst string) record.Record {
		r := call(id, at, inst, "v2", "ml", 0, 403, nil)
		r.ErrorKind, r.E2EMs = "budget_exceeded", 1
		return r
	}
	write(t, s,
		call("a1", 0, "t1", "v1", "cx", 3*pricing.Micro, 200, &ttft),
		call("a2", time.Minute, "t1", "v2", "ml", 4*pricing.Micro, 200, nil),
		call("b1", 2*time.Minute, "t2", "v2", "ml", 5*pricing.Micro, 200, &ttft),
		call("b2", 3*time.Minute, "t2", "v2", "ml", 0, 429, nil),
		call("c1", 4*time.Minute, "", "v1", "cx", 7*pricing.Micro, 200, nil),
		call("c2", 5*time.Minute, "", "v2", "ml", pricing.Micro, 200, nil),
		refused("b3", 6*time.Minute, "t2"),
		call("old", -time.Hour, "t0", "v1", "cx", 9*pricing.Micro, 200, nil),
	)
	other := minimal("x1", base)
	other.UseCase, other.UseCaseInstance = "leads", "t1"
	write(t, s, priced(other, pricing.USD))

	got, err := s.InstanceTotals(ctx, store.InstanceQuery{UseCase: "support", From: base, To: base.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("instances = %+v", got)
	}
	t1, t2, none, none2 := got[0], got[1], got[2], got[3]
	if t1.Instance != "t1" || t1.Calls != 2 || t1.Version != "v1" || t1.Team != "cx" || !t1.First.Equal(base) || t1.CostUSD.Format(6) != "0.000007" ||
		t1.InputTokens != 2000 || t1.E2EMsSum != 200 || t1.TTFTCalls != 1 || t1.TTFTMsSum != 40 || t1.Errors != 0 {
		t.Errorf("t1 = %+v", t1)
	}
	// A refusal by a budget limit is a call, not an error, and not in the
	// latency sum.
	if t2.Instance != "t2" || t2.Calls != 3 || t2.PricedCalls != 1 || t2.Errors != 1 || t2.Refused != 1 || t2.E2EMsSum != 200 || t2.CostUSD.Format(6) != "0.000005" {
		t.Errorf("t2 = %+v", t2)
	}
	// Calls without an instance: one row per team (and version, day...).
	if none.Instance != "" || none.Calls != 1 || none.Team != "cx" || none.Version != "v1" || none2.Instance != "" || none2.Team != "ml" || none2.Version != "v2" {
		t.Errorf("calls without an instance = %+v, %+v", none, none2)
	}
	v2, err := s.InstanceTotals(ctx, store.InstanceQuery{UseCase: "support", From: base, To: base.Add(time.Hour), Version: "v2"})
	if err != nil || len(v2) != 3 || v2[0].Instance != "t1" || v2[0].Calls != 1 || v2[0].Version != "v2" {
		t.Errorf("version v2: %+v %v", v2, err)
	}
	// KPI values in force for the instances with calls in the range.
	for _, r := range []store.KPIResult{
		{UseCase: "support", Instance: "t1", KPI: "resolved", Nanos: 1e9, At: base},
		{UseCase: "support", Instance: "t2", KPI: "resolved", Nanos: 0, At: base},
		{UseCase: "support", Instance: "t0", KPI: "resolved", Nanos: 1e9, At: base},
		{UseCase: "leads", Instance: "t1", KPI: "qualified", Nanos: 1e9, At: base},
	} {
		if _, _, err := s.PutKPIResult(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	kpis, err := s.InstanceKPIs(ctx, store.InstanceQuery{UseCase: "support", From: base, To: base.Add(time.Hour)})
	if err != nil || len(kpis) != 2 || kpis[0].Instance != "t1" || kpis[1].Instance != "t2" || kpis[0].KPI != "resolved" {
		t.Errorf("instance KPIs: %+v %v", kpis, err)
	}
	if _, err := s.InstanceTotals(ctx, store.InstanceQuery{}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("no use case: %v", err)
	}
}

func testLimitDocs(t *testing.T, s Store) {
	ctx := context.Background()
	d, err := s.PutLimit(ctx, store.LimitDoc{Name: "team-ml", Doc: json.RawMessage(`{"usd":100}`), ChangedBy: "finance"})
	if err != nil || d.Revision != 1 {
		t.Fatalf("put: %+v %v", d, err)
	}
	if d, err = s.PutLimit(ctx, store.LimitDoc{Name: "team-ml", Doc: json.RawMessage(`{"usd":150}`)}); err != nil || d.Revision != 2 {
		t.Fatalf("second put: %+v %v", d, err)
	}
	if _, err := s.PutLimit(ctx, store.LimitDoc{Name: "chat", Doc: json.RawMessage(`{"usd":0.05}`)}); err != nil {
		t.Fatal(err)
	}
	ls, err := s.Limits(ctx)
	if err != nil || len(ls) != 2 || ls[0].Name != "chat" || string(ls[1].Doc) != `{"usd":150}` {
		t.Errorf("limits: %+v %v", ls, err)
	}
	if _, err := s.PutLimit(ctx, store.LimitDoc{Name: "chat"}); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := s.PutLimit(ctx, store.LimitDoc{Name: "chat"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if ls, _ := s.Limits(ctx); len(ls) != 1 {
		t.Errorf("after delete: %+v", ls)
	}
	for i := range 2 {
		if err := s.ResetLimit(ctx, store.LimitReset{Name: "team-ml", At: base.Add(time.Duration(i) * time.Hour), By: "finance", Note: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := s.LimitResets(ctx, "team-ml")
	if err != nil || len(rs) != 2 || !rs[1].At.Equal(base.Add(time.Hour)) || rs[0].Note != "0" {
		t.Errorf("resets: %+v %v", rs, err)
	}
	if err := s.ResetLimit(ctx, store.LimitReset{Name: "x"}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("reset without time: %v", err)
	}
}

func testAccess(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.PutApplication(ctx, store.ApplicationDoc{Name: "bot", Doc: json.RawMessage(`{"team":"cx"}`), ChangedBy: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutApplication(ctx, store.ApplicationDoc{Name: "bot", Doc: json.RawMessage(`{"team":"ml"}`)}); err != nil {
		t.Fatal(err)
	}
	apps, err := s.Applications(ctx)
	if err != nil || len(apps) != 1 || string(apps[0].Doc) != `{"team":"ml"}` {
		t.Errorf("applications: %+v %v", apps, err)
	}
	exp := base.Add(time.Hour).Truncate(time.Microsecond)
	k := store.StoredKey{ID: "key_1", App: "bot", Prefix: "weir_ab", Hash: []byte("0123456789abcdef0123456789abcdef"), CreatedAt: base, CreatedBy: "t", ExpiresAt: &exp}
	if err := s.AddKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey(ctx, store.StoredKey{ID: "key_2", App: "nosuch", Hash: []byte("x"), CreatedAt: base}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key of no application: %v", err)
	}
	same := k
	same.ID = "key_3"
	if err := s.AddKey(ctx, same); err == nil {
		t.Error("two keys with one hash accepted")
	}
	if err := s.RevokeKey(ctx, "key_1", base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, "key_1", base.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second revoke: %v", err)
	}
	keys, err := s.Keys(ctx)
	if err != nil || len(keys) != 1 || string(keys[0].Hash) != string(k.Hash) || keys[0].RevokedAt == nil || keys[0].ExpiresAt == nil || !keys[0].ExpiresAt.Equal(exp) {
		t.Errorf("keys: %+v %v", keys, err)
	}
}

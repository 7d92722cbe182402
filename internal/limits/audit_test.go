package limits

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func TestChangesAreAudited(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	m, err := New(ctx, Options{Store: st, Audit: audit.New(st, audit.Options{}), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ana := audit.WithActor(ctx, audit.Actor{Kind: "user", Name: "ana", Role: "finance"})
	l := Limit{Name: "cap", USD: pricing.Dec("10"), Window: WindowDay, Mode: ModeBlock}
	if _, err := m.Put(ana, l, "ana"); err != nil {
		t.Fatal(err)
	}
	l.USD = pricing.Dec("15")
	if _, err := m.Put(ana, l, "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Put(ana, Limit{Name: "bad"}, "ana"); err == nil {
		t.Fatal("invalid limit accepted")
	}
	bo := audit.WithActor(ctx, audit.Actor{Kind: "token", Name: "tok_1", Role: "operator"})
	for range 2 {
		if err := m.Reset(bo, "cap", "bo", "new budget"); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
	}
	if err := m.Delete(ana, "cap", "ana"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ana, "cap", "ana"); err == nil {
		t.Fatal("second delete succeeded")
	}
	p, err := st.ListAudit(ctx, store.AuditQuery{ObjectKind: "limit", ObjectID: "cap"})
	if err != nil {
		t.Fatal(err)
	}
	v10 := `{"match":{},"mode":"block","name":"cap","usd":10,"window":"day"}`
	v15 := `{"match":{},"mode":"block","name":"cap","usd":15,"window":"day"}`
	reset1 := `{"at":"2026-11-27T12:00:00Z","by":"bo","name":"cap","note":"new budget"}`
	reset2 := `{"at":"2026-11-27T13:00:00Z","by":"bo","name":"cap","note":"new budget"}`
	wants := []struct{ actor, action, before, after string }{ // newest first
		{"ana", "limit.delete", v15, ""},
		{"tok_1", "limit.reset", reset1, reset2},
		{"tok_1", "limit.reset", "", reset1},
		{"ana", "limit.put", v10, v15},
		{"ana", "limit.put", "", v10},
	}
	if len(p.Entries) != len(wants) {
		t.Fatalf("%d entries, want %d: %+v", len(p.Entries), len(wants), p.Entries)
	}
	for i, w := range wants {
		e := p.Entries[i]
		if e.Actor.Name != w.actor || e.Action != w.action || string(e.Before) != w.before || string(e.After) != w.after {
			t.Errorf("entry %d: %s %s %s -> %s\nwant %s %s %s -> %s", i, e.Actor.Name, e.Action, e.Before, e.After, w.actor, w.action, w.before, w.after)
		}
	}
}

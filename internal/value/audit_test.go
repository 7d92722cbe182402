package value

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/audit"
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
	s := &Service{St: st, Now: func() time.Time { return now }, Audit: audit.New(st, audit.Options{})}
	ana := audit.WithActor(ctx, audit.Actor{Kind: "user", Name: "ana", Role: "owner"})
	uc := supportCase()
	if _, err := s.Put(ana, uc, 0, "ana"); err != nil {
		t.Fatal(err)
	}
	uc.Description = "answers tickets"
	uc.KPIs = uc.KPIs[:1] // a KPI definition removed
	if _, err := s.Put(ana, uc, 0, "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ana, uc, 1, "ana"); err == nil { // stale revision: refused, not recorded
		t.Fatal("stale put accepted")
	}
	now = now.Add(time.Hour)
	if _, err := s.NewVersion(ana, "support", "3", "new prompt", "ana"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutKPI(ana, "support", "t1", "resolved", json.RawMessage("true"), time.Time{}, "ana"); err != nil {
		t.Fatal(err)
	}

	p, err := st.ListAudit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != 3 {
		t.Fatalf("%d entries, want 3 (KPI results are not changes): %+v", len(p.Entries), p.Entries)
	}
	decode := func(b json.RawMessage) *Stored {
		if b == nil {
			return nil
		}
		var st Stored
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return &st
	}
	wants := []struct {
		action                     string
		beforeRev, afterRev, nKPIs int
		version                    string
	}{
		{"use_case.new_version", 2, 3, 1, "3"},
		{"use_case.put", 1, 2, 1, "2"},
		{"use_case.put", 0, 1, 2, "2"},
	}
	for i, w := range wants {
		e := p.Entries[i]
		before, after := decode(e.Before), decode(e.After)
		beforeRev := 0
		if before != nil {
			beforeRev = before.Revision
		}
		if e.Action != w.action || e.ObjectKind != "use_case" || e.ObjectID != "support" || e.Actor.Name != "ana" ||
			beforeRev != w.beforeRev || after == nil || after.Revision != w.afterRev || len(after.KPIs) != w.nKPIs || after.Version != w.version {
			t.Errorf("entry %d: %s %s/%s by %s, %s -> %s", i, e.Action, e.ObjectKind, e.ObjectID, e.Actor.Name, e.Before, e.After)
		}
	}
	if b := decode(p.Entries[1].Before); b == nil || len(b.KPIs) != 2 || b.Description != "" {
		t.Errorf("put's before %s", p.Entries[1].Before)
	}
}

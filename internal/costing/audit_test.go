package costing

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

func TestChangesAreAudited(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	p, cat, err := NewPrices(ctx, st, embedded(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(cat, nil, nil)
	p.Attach(e)
	p.SetAuditor(audit.New(st, audit.Options{}))
	if err := st.WriteRecords(ctx, calls(t, e)); err != nil {
		t.Fatal(err)
	}
	ana := audit.WithActor(ctx, audit.Actor{Kind: "user", Name: "ana", Role: "finance"})
	entry := pricing.Entry{
		ID: "acme-mini", Match: pricing.Match{Exact: []string{"gpt-4o-mini"}}, From: pricing.DateOf(day("2026-11-03")),
		Prices: pricing.Prices{Input: pricing.Dec("0.10"), Output: pricing.Dec("0.40")},
	}
	if _, err := p.Put(ana, "openai", entry, "ana"); err != nil {
		t.Fatal(err)
	}
	entry.Prices.Input = pricing.Dec("0.12")
	if _, err := p.Put(ana, "openai", entry, "ana"); err != nil {
		t.Fatal(err)
	}
	opt := RepriceOptions{From: day("2026-11-01"), To: day("2026-12-01"), Reason: "acme agreement", DryRun: true}
	if _, err := p.Reprice(ana, opt); err != nil { // a dry run changes nothing: not recorded
		t.Fatal(err)
	}
	opt.DryRun = false
	run, err := p.Reprice(ana, opt)
	if err != nil || run.Stored != 20 {
		t.Fatalf("reprice: %+v %v", run, err)
	}
	if _, err := p.Reprice(ana, RepriceOptions{From: day("2026-11-01"), To: day("2026-12-01")}); err == nil { // no reason: refused
		t.Fatal("reprice without a reason accepted")
	}
	if _, err := p.Delete(ana, "acme-mini", "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Delete(ana, "acme-mini", "ana"); err == nil {
		t.Fatal("second delete succeeded")
	}

	pg, err := st.ListAudit(ctx, store.AuditQuery{Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	wants := []struct{ action, kind, id, before, after string }{ // newest first
		{"price_entry.delete", "price_entry", "acme-mini", `"input":0.12,`, ""},
		{"reprice.run", "reprice", run.RunID, "", `"changed":20,"from":"2026-11-01T00:00:00Z","newly_priced":0,"newly_unpriced":0,"reason":"acme agreement","scanned":41,"skipped":1,"stored":20`},
		{"price_entry.put", "price_entry", "acme-mini", `"input":0.1,`, `"input":0.12,`},
		{"price_entry.put", "price_entry", "acme-mini", "", `"input":0.1,`},
	}
	if len(pg.Entries) != len(wants) {
		t.Fatalf("%d entries, want %d: %+v", len(pg.Entries), len(wants), pg.Entries)
	}
	for i, w := range wants {
		e := pg.Entries[i]
		if e.Action != w.action || e.ObjectKind != w.kind || e.ObjectID != w.id || e.Actor.Role != "finance" {
			t.Errorf("entry %d: %s %s/%s by %+v", i, e.Action, e.ObjectKind, e.ObjectID, e.Actor)
		}
		if (w.before == "") != (e.Before == nil) || !strings.Contains(string(e.Before), w.before) {
			t.Errorf("entry %d (%s) before %s, want %s", i, w.action, e.Before, w.before)
		}
		if (w.after == "") != (e.After == nil) || !strings.Contains(string(e.After), w.after) {
			t.Errorf("entry %d (%s) after %s, want %s", i, w.action, e.After, w.after)
		}
	}
	var put store.StoredPriceEntry
	if err := json.Unmarshal(pg.Entries[2].After, &put); err != nil || put.Version != 2 || put.Provider != "openai" || put.ChangedBy != "ana" {
		t.Errorf("put's after: %+v %v", put, err)
	}
}

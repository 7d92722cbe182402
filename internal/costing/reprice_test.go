package costing

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func embedded(t *testing.T) *pricing.Catalog {
	t.Helper()
	c, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// calls are 10 gpt-4o-mini calls a day from 2026-11-01 to 2026-11-04, each
// 1M input and 100k output tokens, priced with cat as the gateway would.
func calls(t *testing.T, e *Engine) []record.Record {
	var recs []record.Record
	for d := range 4 {
		for i := range 10 {
			r := record.Record{
				ID: fmt.Sprintf("d%d-%02d", d, i), ReceivedAt: day("2026-11-01").Add(time.Duration(d)*24*time.Hour + time.Duration(i)*time.Hour),
				Endpoint: record.EndpointChatCompletions, Status: 200, Provider: "primary", Model: "gpt-4o-mini",
				Usage: usage.Usage{InputTokens: 1_000_000, OutputTokens: 100_000},
			}
			e.Price(&r, "openai")
			recs = append(recs, r)
		}
	}
	// One call that never reached a provider.
	recs = append(recs, record.Record{ID: "unreached", ReceivedAt: day("2026-11-02"), Endpoint: record.EndpointChatCompletions, Status: 502, Provider: "primary", Model: "gpt-4o-mini"})
	return recs
}

func TestReprice(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	pub := embedded(t)
	e := NewEngine(pub, nil, nil)
	recs := calls(t, e)
	// List price: 1M * $0.15 + 100k * $0.60 = $0.15 + $0.06 = $0.21 a call.
	if recs[0].CostUSD == nil || recs[0].CostUSD.String() != "0.210000" {
		t.Fatalf("list price = %v", recs[0].CostUSD)
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// A negotiated price, learnt late, that took effect on 2026-11-03:
	// $0.10 input, $0.40 output: $0.10 + $0.04 = $0.14 a call.
	fix, err := pub.WithOverlays(pricing.Overlay{Name: "acme", Sheets: []pricing.Sheet{{Provider: "openai", Entries: []pricing.Entry{{
		ID: "acme/gpt-4o-mini", Match: pricing.Match{Exact: []string{"gpt-4o-mini"}}, From: pricing.DateOf(day("2026-11-03")),
		Prices: pricing.Prices{Input: pricing.Dec("0.10"), Output: pricing.Dec("0.40")},
	}}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.SetCatalog(fix)
	opt := RepriceOptions{From: day("2026-11-01"), To: day("2026-12-01"), Reason: "acme agreement from Nov 3", DryRun: true}

	dry, err := e.Reprice(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	// 41 calls scanned: the 20 calls of Nov 3 and 4 change by $0.07 each;
	// the 20 earlier ones keep their price (the entry starts on Nov 3);
	// the unreached call is skipped.
	if dry.Scanned != 41 || dry.Changed != 20 || dry.Unchanged != 20 || dry.Skipped != 1 ||
		dry.Before.String() != "4.200000" || dry.After.String() != "2.800000" || len(dry.Changes) != 20 {
		t.Fatalf("dry run = %+v", dry)
	}
	if revs, _ := st.CostRevisions(ctx, store.RevisionQuery{}); len(revs) != 0 {
		t.Fatalf("a dry run stored %d revisions", len(revs))
	}

	opt.DryRun = false
	res, err := e.Reprice(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 20 || res.RunID == "" || res.Catalog != fix.Version() {
		t.Fatalf("run = %+v", res)
	}
	tot, err := st.CostTotals(ctx, store.CostQuery{GroupBy: store.GroupDay})
	if err != nil {
		t.Fatal(err)
	}
	byDay := map[string]string{}
	for _, g := range tot {
		byDay[g.Key] = g.CostUSD.String()
	}
	// 10 calls a day: $2.10 before Nov 3, $1.40 from then on.
	want := map[string]string{"2026-11-01": "2.100000", "2026-11-02": "2.100000", "2026-11-03": "1.400000", "2026-11-04": "1.400000"}
	for k, v := range want {
		if byDay[k] != v {
			t.Errorf("day %s costs $%s, want $%s (all: %v)", k, byDay[k], v, byDay)
		}
	}
	got, err := st.GetRequest(ctx, "d2-00")
	if err != nil || got.Cost == nil || got.Cost.EntryID != "acme/gpt-4o-mini" || !got.Cost.Negotiated || got.CostUSD.String() != "0.140000" {
		t.Errorf("re-priced call: %+v %v", got.Cost, err)
	}
	revs, err := st.CostRevisions(ctx, store.RevisionQuery{RequestID: "d2-00"})
	if err != nil || len(revs) != 1 || revs[0].OldCostUSD.String() != "0.210000" || revs[0].OldCost.EntryID != "openai/gpt-4o-mini" ||
		revs[0].Reason != opt.Reason || revs[0].RunID != res.RunID {
		t.Errorf("audit trail: %+v %v", revs, err)
	}

	// A second run with the same catalog changes nothing.
	again, err := e.Reprice(ctx, st, opt)
	if err != nil || again.Changed != 0 || again.Unchanged != 40 {
		t.Errorf("second run = %+v %v", again, err)
	}
	// Back to list prices: the revision is undone, and audited too.
	e.SetCatalog(pub)
	back, err := e.Reprice(ctx, st, RepriceOptions{From: day("2026-11-03"), To: day("2026-11-04"), Reason: "agreement withdrawn"})
	if err != nil || back.Changed != 10 || back.After.String() != "2.100000" {
		t.Errorf("undo = %+v %v", back, err)
	}
	if revs, _ := st.CostRevisions(ctx, store.RevisionQuery{RequestID: "d2-00"}); len(revs) != 2 || revs[0].Reason != "agreement withdrawn" {
		t.Errorf("audit trail after undo: %+v", revs)
	}

	for _, bad := range []RepriceOptions{
		{From: day("2026-11-01"), To: day("2026-12-01")},
		{To: day("2026-12-01"), Reason: "x"},
		{From: day("2026-12-01"), To: day("2026-11-01"), Reason: "x"},
	} {
		if _, err := e.Reprice(ctx, st, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestRepriceOldRecordsUsePriceAs(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	e := NewEngine(embedded(t), nil, nil)
	// Recorded unpriced by a Weir that did not know the provider's vendor:
	// the cost names no catalog provider.
	r := record.Record{ID: "old", ReceivedAt: day("2026-11-05"), Endpoint: record.EndpointChatCompletions, Status: 200,
		Provider: "corp-openai", Model: "gpt-4o-mini", Usage: usage.Usage{InputTokens: 1000, OutputTokens: 1000}}
	e.Price(&r, "")
	if r.CostUSD != nil || r.Cost == nil {
		t.Fatalf("setup: %+v", r.Cost)
	}
	if err := st.WriteRecords(ctx, []record.Record{r}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Reprice(ctx, st, RepriceOptions{From: day("2026-11-01"), To: day("2026-12-01"), Reason: "price_as set",
		PriceAs: func(p string) string {
			if p == "corp-openai" {
				return "openai"
			}
			return ""
		}})
	// 1000 * 0.15 + 1000 * 0.60 = 750 nano-dollars... $0.00075.
	if err != nil || res.Changed != 1 || res.NewlyPriced != 1 || res.After.String() != "0.000750" {
		t.Errorf("reprice = %+v %v", res, err)
	}
}

func TestCommitmentCoversCalls(t *testing.T) {
	c := pricing.Commitment{Name: "ptu", Provider: "azure-ptu", Models: []string{"gpt-4o"}, Fee: *pricing.Dec("1000"), Period: "month", From: pricing.DateOf(day("2026-11-01"))}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(embedded(t), []pricing.Commitment{c}, nil)
	in := record.Record{ID: "a", ReceivedAt: day("2026-11-10"), Provider: "azure-ptu", Model: "GPT-4o", Usage: usage.Usage{InputTokens: 1000, OutputTokens: 10}}
	e.Price(&in, "azure")
	if in.CostUSD == nil || *in.CostUSD != 0 || in.Cost.Commitment != "ptu" || in.Cost.EntryID != "commitment/ptu" {
		t.Errorf("covered call: %v %+v", in.CostUSD, in.Cost)
	}
	for _, r := range []record.Record{
		{ID: "before", ReceivedAt: day("2026-10-31"), Provider: "azure-ptu", Model: "gpt-4o"},
		{ID: "other-model", ReceivedAt: day("2026-11-10"), Provider: "azure-ptu", Model: "gpt-4o-mini"},
		{ID: "other-provider", ReceivedAt: day("2026-11-10"), Provider: "azure-paygo", Model: "gpt-4o"},
	} {
		r.Usage = usage.Usage{InputTokens: 1000, OutputTokens: 10}
		e.Price(&r, "azure")
		if r.Cost == nil || r.Cost.Commitment != "" || r.CostUSD == nil || *r.CostUSD == 0 {
			t.Errorf("%s: %v %+v", r.ID, r.CostUSD, r.Cost)
		}
	}
}

// TestRepriceKeepsCallsOfUnknownProviders: a priced call whose catalog
// provider cannot be named any more (recorded before costs named it, its
// provider since removed from the config) is left as it is, not unpriced.
func TestRepriceKeepsCallsOfUnknownProviders(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	e := NewEngine(embedded(t), nil, nil)
	r := record.Record{ID: "old", ReceivedAt: day("2026-11-05"), Endpoint: record.EndpointChatCompletions, Status: 200,
		Provider: "gone", Model: "gpt-4o-mini", Usage: usage.Usage{InputTokens: 1000, OutputTokens: 1000}}
	e.Price(&r, "openai")
	r.Cost.PriceAs = "" // as recorded before costs named it
	if err := st.WriteRecords(ctx, []record.Record{r}); err != nil {
		t.Fatal(err)
	}
	for _, priceAs := range []func(string) string{nil, func(string) string { return "" }} {
		res, err := e.Reprice(ctx, st, RepriceOptions{From: day("2026-11-01"), To: day("2026-12-01"), Reason: "x", PriceAs: priceAs})
		if err != nil || res.Changed != 0 || res.Skipped != 1 {
			t.Errorf("reprice = %+v %v", res, err)
		}
	}
	got, err := st.GetRequest(ctx, "old")
	if err != nil || got.CostUSD == nil || got.CostUSD.String() != "0.000750" {
		t.Errorf("the call's cost changed: %v %v", got.CostUSD, err)
	}
}

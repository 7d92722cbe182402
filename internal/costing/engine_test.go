package costing

import (
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/usage"
)

func TestEnginePrice(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	p := NewEngine(cat, nil, nil)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := usage.Usage{InputTokens: 1000, OutputTokens: 500}

	rec := &record.Record{ReceivedAt: at, Model: "gpt-4o-mini", ResponseModel: "gpt-4o-mini-2024-07-18", Usage: u}
	p.Price(rec, "openai")
	want, _ := cat.Price(pricing.Query{Provider: "openai", Model: "gpt-4o-mini", At: at, Usage: u})
	if rec.CostUSD == nil || want.EntryID == "" || *rec.CostUSD != want.Total || rec.Cost.EntryID != want.EntryID {
		t.Errorf("priced %+v (cost_usd %v), want total %v entry %s", rec.Cost, rec.CostUSD, want.Total, want.EntryID)
	}

	// The provider's own name for a model it serves under an alias: the
	// model as sent is priced when the reported one is unknown.
	rec = &record.Record{ReceivedAt: at, Model: "gpt-4o-mini", ResponseModel: "sim-renamed", Usage: u}
	p.Price(rec, "openai")
	if rec.CostUSD == nil || *rec.CostUSD != want.Total {
		t.Errorf("fallback to the model as sent: %+v", rec.Cost)
	}

	rec = &record.Record{ReceivedAt: at, Model: "llama-3.1-8b-instruct", Usage: u}
	p.Price(rec, "")
	if rec.CostUSD != nil || rec.Cost == nil || rec.Cost.Unpriced == 0 {
		t.Errorf("self-hosted call: cost_usd %v, cost %+v; want null with unpriced units", rec.CostUSD, rec.Cost)
	}
}

func TestEnginePriceServiceTier(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	p := NewEngine(cat, nil, nil)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := usage.Usage{InputTokens: 10000, OutputTokens: 1000}
	list := &record.Record{ReceivedAt: at, Model: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06", Usage: u, ServiceTier: "default"}
	flex := &record.Record{ReceivedAt: at, Model: "gpt-4o", ResponseModel: "gpt-4o-2024-08-06", Usage: u, ServiceTier: "flex"}
	p.Price(list, "openai")
	p.Price(flex, "openai")
	// gpt-4o: 10,000 input at $2.50/M = $0.025, 1,000 output at $10/M = $0.01;
	// flex is half of that.
	if list.CostUSD == nil || flex.CostUSD == nil || *list.CostUSD != 35*pricing.Milli || *flex.CostUSD != *list.CostUSD/2 {
		t.Errorf("list %v, flex %v; want $0.035 and half", list.CostUSD, flex.CostUSD)
	}
}

// BenchmarkEnginePrice is what pricing adds to each call on the gateway's
// path: the catalog lookup and arithmetic, and setting the record's cost.
func BenchmarkEnginePrice(b *testing.B) {
	cat, err := pricing.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	e := NewEngine(cat, []pricing.Commitment{{Name: "ptu", Provider: "azure-ptu", Fee: 1, Period: "month", From: pricing.DateOf(time.Unix(0, 0))}}, nil)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name     string
		rec      record.Record
		priceAs  string
		wantCost bool
	}{
		{"openai", record.Record{ReceivedAt: at, Provider: "primary", Model: "gpt-4o-mini", ResponseModel: "gpt-4o-mini-2024-07-18", Usage: usage.Usage{InputTokens: 1200, CacheReadTokens: 1024, OutputTokens: 300}}, "openai", true},
		{"anthropic-cache", record.Record{ReceivedAt: at, Provider: "anthropic", Model: "claude-sonnet-4-5", ResponseModel: "claude-sonnet-4-5-20250929", Usage: usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 500, CacheWrite1hTokens: 200, OutputTokens: 300}}, "anthropic", true},
		{"commitment", record.Record{ReceivedAt: at, Provider: "azure-ptu", Model: "gpt-4o", Usage: usage.Usage{InputTokens: 1000, OutputTokens: 100}}, "azure", true},
		{"self-hosted", record.Record{ReceivedAt: at, Provider: "onprem", Model: "llama-3.1-8b", Usage: usage.Usage{InputTokens: 1000, OutputTokens: 100}}, "", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rec := bc.rec
			var cost pricing.Cost
			b.ReportAllocs()
			for b.Loop() {
				cost, _ = e.Cost(&rec, bc.priceAs)
			}
			if _, ok := cost.Amount(); ok != bc.wantCost {
				b.Fatalf("cost %+v", cost)
			}
		})
	}
}

// TestEngineCostDoesNotAllocate holds the hot path to zero allocations.
func TestEngineCostDoesNotAllocate(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(cat, nil, nil)
	rec := record.Record{ReceivedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Model: "claude-sonnet-4-5", Usage: usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, OutputTokens: 300}}
	var cost pricing.Cost
	if n := testing.AllocsPerRun(1000, func() { cost, _ = e.Cost(&rec, "anthropic") }); n != 0 {
		t.Errorf("Engine.Cost allocates %v times per call", n)
	}
	if _, ok := cost.Amount(); !ok || cost.EntryID != "anthropic/claude-sonnet-4-5" {
		t.Errorf("cost %+v", cost)
	}
}

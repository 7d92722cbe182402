package app

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/usage"
)

func TestPriceAs(t *testing.T) {
	for _, tc := range []struct {
		p    config.Provider
		want string
	}{
		{config.Provider{Name: "primary", Type: "openai", BaseURL: "https://api.openai.com/v1"}, "openai"},
		{config.Provider{Name: "x", Type: "openai"}, "openai"},
		{config.Provider{Name: "fast", Type: "openai", BaseURL: "https://api.groq.com/openai/v1"}, "groq"},
		{config.Provider{Name: "eu", Type: "openai", BaseURL: "https://my-res.openai.azure.com/openai"}, "azure"},
		{config.Provider{Name: "claude", Type: "anthropic", BaseURL: "http://127.0.0.1:9/"}, "anthropic"},
		{config.Provider{Name: "deepseek", Type: "openai", BaseURL: "http://127.0.0.1:9/v1"}, "deepseek"},
		{config.Provider{Name: "onprem", Type: "openai", BaseURL: "http://vllm.internal:8000/v1"}, ""},
		{config.Provider{Name: "openai", Type: "openai", BaseURL: "http://proxy/v1", PriceAs: "none"}, ""},
		{config.Provider{Name: "gw", Type: "openai", BaseURL: "http://proxy/v1", PriceAs: "mistral"}, "mistral"},
	} {
		if got := priceAs(tc.p); got != tc.want {
			t.Errorf("priceAs(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "x", Type: "openai", PriceAs: "acme"}}
	if _, err := BuildUpstreams(cfg, nil); err == nil {
		t.Error("unknown price_as accepted")
	}
}

func TestRecordPricer(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	p := recordPricer{cat: cat, log: slog.New(slog.DiscardHandler)}
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

func TestRecordPricerServiceTier(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	p := recordPricer{cat: cat, log: slog.New(slog.DiscardHandler)}
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

func TestCatalogOverlay(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/acme.yaml"
	os.WriteFile(path, []byte("name: acme\ndiscounts: {openai: 0.2}\n"), 0o600)
	cfg := config.Default()
	cfg.Pricing.Overlay = path
	cat, err := Catalog(cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := usage.Usage{InputTokens: 10000, OutputTokens: 1000}
	cost, err := cat.Price(pricing.Query{Provider: "openai", Model: "gpt-4o-2024-08-06", At: at, Usage: u})
	// gpt-4o list: $0.035 (see above); 20% off: $0.028.
	if err != nil || cost.Total != 28*pricing.Milli || !strings.HasSuffix(cost.Version, "+acme") {
		t.Errorf("overlay cost %v version %q, %v", cost.Total, cost.Version, err)
	}
	os.WriteFile(path, []byte("name: acme\ndiscount: {openai: 0.2}\n"), 0o600)
	if err := Check(cfg); err == nil || !strings.Contains(err.Error(), "pricing.overlay") {
		t.Errorf("bad overlay: %v", err)
	}
}

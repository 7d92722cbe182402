package app

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/pricing"
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
	if _, err := BuildUpstreams(cfg, nil, nil); err == nil {
		t.Error("unknown price_as accepted")
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
	// The config's own sheets and discounts form the overlay "config", which
	// takes precedence over the file: 10% off OpenAI, and gpt-4o at $2 in,
	// $8 out: 10,000 * 2 + 1,000 * 8 = 28,000 nano... $0.028, not discounted.
	cfg.Pricing.Discounts = map[string]pricing.Decimal{"openai": *pricing.Dec("0.1")}
	cfg.Pricing.Sheets = []pricing.Sheet{{Provider: "openai", Entries: []pricing.Entry{{ID: "config/gpt-4o", Match: pricing.Match{Exact: []string{"gpt-4o-2024-08-06"}},
		Prices: pricing.Prices{Input: pricing.Dec("2"), Output: pricing.Dec("8")}}}}}
	if cat, err = Catalog(cfg); err != nil {
		t.Fatal(err)
	}
	cost, err = cat.Price(pricing.Query{Provider: "openai", Model: "gpt-4o-2024-08-06", At: at, Usage: u})
	if err != nil || cost.Total != 28*pricing.Milli || cost.EntryID != "config/gpt-4o" || !strings.HasSuffix(cost.Version, "+config+acme") {
		t.Errorf("config sheet: %+v %v", cost, err)
	}
	// gpt-4o-mini keeps its list price less the config's 10% (not the
	// file's 20%): 10,000 * 0.15 + 1,000 * 0.60 = 2,100 nano... $0.0021 * 0.9.
	cost, _ = cat.Price(pricing.Query{Provider: "openai", Model: "gpt-4o-mini", At: at, Usage: u})
	if cost.Total != 1890*pricing.Micro {
		t.Errorf("config discount: %+v", cost)
	}
	cfg.Pricing.Sheets[0].Entries[0].Prices = pricing.Prices{}
	if err := Check(cfg); err == nil || !strings.Contains(err.Error(), "pricing") {
		t.Errorf("bad config sheet: %v", err)
	}
	cfg.Pricing.Sheets = nil
	os.WriteFile(path, []byte("name: acme\ndiscount: {openai: 0.2}\n"), 0o600)
	if err := Check(cfg); err == nil || !strings.Contains(err.Error(), "pricing.overlay") {
		t.Errorf("bad overlay: %v", err)
	}
}

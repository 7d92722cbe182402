package app

import (
	"log/slog"
	"net/url"
	"strings"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
)

// recordPricer prices finished calls with the price catalog.
type recordPricer struct {
	cat *pricing.Catalog
	log *slog.Logger
}

// Price sets rec.Cost and, when every unit had a price, rec.CostUSD. The
// model the provider reported is priced first, then the model as sent.
func (p recordPricer) Price(rec *record.Record, priceAs string) {
	q := pricing.Query{Provider: priceAs, Model: rec.ResponseModel, At: rec.ReceivedAt, Usage: rec.Usage, ServiceTier: rec.ServiceTier}
	if rec.ServiceTier == "batch" {
		q.Batch, q.ServiceTier = true, ""
	}
	if q.Model == "" {
		q.Model = rec.Model
	}
	cost, err := p.cat.Price(q)
	if err == nil && cost.EntryID == "" && q.Model != rec.Model {
		q.Model = rec.Model
		cost, err = p.cat.Price(q)
	}
	if err != nil {
		p.log.Warn("price call", "id", rec.ID, "provider", priceAs, "model", q.Model, "err", err)
		return
	}
	rec.Cost = &cost
	if m, ok := cost.Amount(); ok {
		rec.CostUSD = &m
	}
}

// vendors are the price catalog's providers.
var vendors = map[string]bool{
	"openai": true, "anthropic": true, "google": true, "bedrock": true, "azure": true,
	"mistral": true, "deepseek": true, "groq": true, "xai": true,
}

// vendorHosts identify a vendor by its API host.
var vendorHosts = map[string]string{
	"api.openai.com": "openai", "api.anthropic.com": "anthropic", "api.groq.com": "groq",
	"api.mistral.ai": "mistral", "api.deepseek.com": "deepseek", "api.x.ai": "xai",
	"generativelanguage.googleapis.com": "google",
}

// priceAs is the vendor whose prices apply to a provider's calls: the
// configured price_as ("none" for none), else the vendor its type, API host
// or name identifies, else none.
func priceAs(p config.Provider) string {
	switch {
	case p.PriceAs == "none":
		return ""
	case p.PriceAs != "":
		return p.PriceAs
	case p.Type == "anthropic":
		return "anthropic"
	}
	if u, err := url.Parse(p.BaseURL); err == nil {
		host := strings.ToLower(u.Hostname())
		if v, ok := vendorHosts[host]; ok {
			return v
		}
		if strings.HasSuffix(host, ".openai.azure.com") {
			return "azure"
		}
	}
	if p.BaseURL == "" && p.Type == "openai" {
		return "openai"
	}
	if vendors[p.Name] {
		return p.Name
	}
	return ""
}

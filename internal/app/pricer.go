package app

import (
	"net/url"
	"strings"

	"github.com/weirhq/weir/internal/config"
)

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
	case p.Type == "bedrock":
		return "bedrock"
	case p.Type == "azure":
		return "azure"
	case p.Type == "gemini", p.Type == "vertex":
		return "google"
	}
	if u, err := url.Parse(p.BaseURL); err == nil {
		host := strings.ToLower(u.Hostname())
		if v, ok := vendorHosts[host]; ok {
			return v
		}
		if strings.HasPrefix(host, "bedrock-runtime.") && strings.HasSuffix(host, ".amazonaws.com") {
			return "bedrock"
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

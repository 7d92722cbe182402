package pricing

import (
	"testing"
	"time"

	"github.com/weirhq/weir/internal/usage"
)

func BenchmarkPrice(b *testing.B) {
	c := mustEmbedded(b)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		q    Query
	}{
		{"anthropic-cache", Query{Provider: "anthropic", Model: "claude-sonnet-4-5-20250929", At: at,
			Usage: usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 500, CacheWrite1hTokens: 200, OutputTokens: 300}}},
		{"openai-exact", Query{Provider: "openai", Model: "gpt-4o-2024-08-06", At: at, ServiceTier: "priority",
			Usage: usage.Usage{InputTokens: 10000, CacheReadTokens: 4000, OutputTokens: 500, ReasoningTokens: 100}}},
		{"openai-alias", Query{Provider: "openai", Model: "gpt-4o", At: at, Batch: true, Usage: usage.Usage{InputTokens: 1000, OutputTokens: 1000}}},
		{"bedrock-strip-inherit", Query{Provider: "bedrock", Model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", At: at, Usage: usage.Usage{InputTokens: 1000, OutputTokens: 1000}}},
		{"unknown-model", Query{Provider: "openai", Model: "gpt-unknown-9", At: at, Usage: usage.Usage{InputTokens: 1000, OutputTokens: 1000}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Price(bc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPriceAllocs holds the hot path to zero allocations.
func TestPriceAllocs(t *testing.T) {
	c := mustEmbedded(t)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []Query{
		{Provider: "anthropic", Model: "claude-sonnet-4-5-20250929", At: at, Usage: usage.Usage{InputTokens: 250000, CacheReadTokens: 2000, CacheWriteTokens: 500, CacheWrite1hTokens: 200, OutputTokens: 300}, Units: Units{WebSearches: 2}},
		{Provider: "openai", Model: "GPT-4o", At: at, ServiceTier: "flex", Usage: usage.Usage{InputTokens: 1000, OutputTokens: 1000}},
		{Provider: "bedrock", Model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", At: at, Batch: true, Usage: usage.Usage{InputTokens: 1000, OutputTokens: 1000}},
		{Provider: "nosuch", Model: "x", Usage: usage.Usage{InputTokens: 1}},
	} {
		if n := testing.AllocsPerRun(100, func() { _, _ = c.Price(q) }); n != 0 {
			t.Errorf("%s/%s: %v allocs per call", q.Provider, q.Model, n)
		}
	}
}

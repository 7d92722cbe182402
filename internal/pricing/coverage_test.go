package pricing

import (
	"bufio"
	"bytes"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/usage"
)

// coverageProviders are the providers whose current text models and
// embeddings models the catalog must cover.
var coverageProviders = []string{"openai", "anthropic", "google", "bedrock", "azure", "mistral", "deepseek", "groq", "xai"}

// noEmbeddingsMarker is the phrase a sheet's YAML comments must contain when
// the provider has no embeddings model to price.
const noEmbeddingsMarker = "no embeddings api"

// TestPriceCoverage prices real model ids, as sent on the wire, for every
// required provider and model family. In the comments, "a*p" is a tokens
// times p dollars per million tokens; the sum divided by 1e6 is the cost in
// dollars.
func TestPriceCoverage(t *testing.T) {
	c := mustEmbedded(t)
	at := day("2026-11-20")
	type tc struct {
		name     string
		provider string
		model    string
		at       time.Time // zero: at
		u        usage.Usage
		batch    bool
		want     string // dollars
		entry    string
	}
	cases := []tc{
		// --- Bedrock: Meta Llama
		{name: "llama 3.3 70b, us. profile", provider: "bedrock", model: "us.meta.llama3-3-70b-instruct-v1:0",
			// 10000*0.72 + 2000*0.72 = 7200+1440 = 8640 -> $0.00864
			u: usage.Usage{InputTokens: 10000, OutputTokens: 2000}, want: "0.00864", entry: "bedrock/llama3-3-70b"},
		{name: "llama 3.1 70b, in-region", provider: "bedrock", model: "meta.llama3-1-70b-instruct-v1:0",
			// 1000000*0.72 + 100000*0.72 = 720000+72000 = 792000 -> $0.792
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 100000}, want: "0.792", entry: "bedrock/llama3-1-70b"},
		{name: "llama 3.1 8b", provider: "bedrock", model: "meta.llama3-1-8b-instruct-v1:0",
			// 50000*0.22 + 5000*0.22 = 11000+1100 = 12100 -> $0.0121
			u: usage.Usage{InputTokens: 50000, OutputTokens: 5000}, want: "0.0121", entry: "bedrock/llama3-1-8b"},
		{name: "llama 4 maverick", provider: "bedrock", model: "us.meta.llama4-maverick-17b-instruct-v1:0",
			// 20000*0.24 + 3000*0.97 = 4800+2910 = 7710 -> $0.00771
			u: usage.Usage{InputTokens: 20000, OutputTokens: 3000}, want: "0.00771", entry: "bedrock/llama4-maverick"},
		{name: "llama 4 scout batch", provider: "bedrock", model: "us.meta.llama4-scout-17b-instruct-v1:0", batch: true,
			// (100000*0.17 + 10000*0.66) * 0.5 = (17000+6600)/2 = 11800 -> $0.0118
			u: usage.Usage{InputTokens: 100000, OutputTokens: 10000}, want: "0.0118", entry: "bedrock/llama4-scout"},
		// --- Bedrock: Mistral
		{name: "mistral large 24.07", provider: "bedrock", model: "mistral.mistral-large-2407-v1:0",
			// 10000*3 + 1000*9 = 30000+9000 = 39000 -> $0.039
			u: usage.Usage{InputTokens: 10000, OutputTokens: 1000}, want: "0.039", entry: "bedrock/mistral-large-2407"},
		{name: "mistral small 24.02", provider: "bedrock", model: "mistral.mistral-small-2402-v1:0",
			// 2000*1 + 1000*3 = 2000+3000 = 5000 -> $0.005
			u: usage.Usage{InputTokens: 2000, OutputTokens: 1000}, want: "0.005", entry: "bedrock/mistral-small-2402"},
		{name: "pixtral large, us. profile", provider: "bedrock", model: "us.mistral.pixtral-large-2502-v1:0",
			// 5000*2 + 1000*6 = 10000+6000 = 16000 -> $0.016
			u: usage.Usage{InputTokens: 5000, OutputTokens: 1000}, want: "0.016", entry: "bedrock/pixtral-large-2502"},
		{name: "mixtral 8x7b", provider: "bedrock", model: "mistral.mixtral-8x7b-instruct-v0:1",
			// 10000*0.45 + 10000*0.70 = 4500+7000 = 11500 -> $0.0115
			u: usage.Usage{InputTokens: 10000, OutputTokens: 10000}, want: "0.0115", entry: "bedrock/mixtral-8x7b"},
		{name: "mistral 7b", provider: "bedrock", model: "mistral.mistral-7b-instruct-v0:2",
			// 100000*0.15 + 20000*0.20 = 15000+4000 = 19000 -> $0.019
			u: usage.Usage{InputTokens: 100000, OutputTokens: 20000}, want: "0.019", entry: "bedrock/mistral-7b"},
		// --- Bedrock: Amazon Nova
		{name: "nova premier with cache read", provider: "bedrock", model: "us.amazon.nova-premier-v1:0",
			// 6000 uncached + 4000 read + 1000 out: 6000*2.50 + 4000*0.625 + 1000*12.50 = 15000+2500+12500 = 30000 -> $0.03
			u: usage.Usage{InputTokens: 10000, CacheReadTokens: 4000, OutputTokens: 1000}, want: "0.03", entry: "bedrock/nova-premier"},
		{name: "nova 2 lite, global profile", provider: "bedrock", model: "global.amazon.nova-2-lite-v1:0",
			// 50000*0.30 + 50000*0.075 + 10000*2.50 = 15000+3750+25000 = 43750 -> $0.04375
			u: usage.Usage{InputTokens: 100000, CacheReadTokens: 50000, OutputTokens: 10000}, want: "0.04375", entry: "bedrock/nova-2-lite-global"},
		{name: "nova 2 lite, us. profile pays the geo price", provider: "bedrock", model: "us.amazon.nova-2-lite-v1:0",
			// 50000*0.33 + 50000*0.0825 + 10000*2.75 = 16500+4125+27500 = 48125 -> $0.048125
			u: usage.Usage{InputTokens: 100000, CacheReadTokens: 50000, OutputTokens: 10000}, want: "0.048125", entry: "bedrock/nova-2-lite"},
		{name: "nova micro batch", provider: "bedrock", model: "amazon.nova-micro-v1:0", batch: true,
			// (1000000*0.035 + 1000000*0.14) * 0.5 = 175000/2 = 87500 -> $0.0875
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 1000000}, want: "0.0875", entry: "bedrock/nova-micro"},
		// --- Bedrock: Claude still reaches the Anthropic sheet through every prefix
		{name: "claude haiku 4.5, global profile", provider: "bedrock", model: "global.anthropic.claude-haiku-4-5-20251001-v1:0",
			// 10000*1 + 1000*5 = 10000+5000 = 15000 -> $0.015
			u: usage.Usage{InputTokens: 10000, OutputTokens: 1000}, want: "0.015", entry: "anthropic/claude-haiku-4-5"},
		{name: "claude opus 4.5, eu. profile", provider: "bedrock", model: "eu.anthropic.claude-opus-4-5-20251101-v1:0",
			// regional endpoint, 10% over global: (10000*5 + 1000*25) * 1.1 = 75000 * 1.1 = 82500 -> $0.0825
			u: usage.Usage{InputTokens: 10000, OutputTokens: 1000}, want: "0.0825", entry: "anthropic/claude-opus-4-5"},
		{name: "claude opus 4.5, global profile", provider: "bedrock", model: "global.anthropic.claude-opus-4-5-20251101-v1:0",
			// the global endpoint bills list price: 10000*5 + 1000*25 = 75000 -> $0.075
			u: usage.Usage{InputTokens: 10000, OutputTokens: 1000}, want: "0.075", entry: "anthropic/claude-opus-4-5"},
		{name: "claude opus 4.5, in-region", provider: "bedrock", model: "anthropic.claude-opus-4-5-20251101-v1:0",
			// in-region is regional too: 75000 * 1.1 -> $0.0825
			u: usage.Usage{InputTokens: 10000, OutputTokens: 1000}, want: "0.0825", entry: "anthropic/claude-opus-4-5"},
		{name: "claude sonnet 4, us. profile: one price", provider: "bedrock", model: "us.anthropic.claude-sonnet-4-20250514-v1:0",
			// models before Sonnet 4.5 keep one price: 10000*3 + 1000*15 = 45000 -> $0.045
			u: usage.Usage{InputTokens: 10000, OutputTokens: 1000}, want: "0.045", entry: "anthropic/claude-sonnet-4"},
		// --- Bedrock: embeddings
		{name: "titan text embeddings v2", provider: "bedrock", model: "amazon.titan-embed-text-v2:0",
			// 1000000*0.02 = 20000 -> $0.02
			u: usage.Usage{InputTokens: 1000000}, want: "0.02", entry: "bedrock/titan-embed-text-v2"},
		{name: "cohere embed english v3", provider: "bedrock", model: "cohere.embed-english-v3",
			// 250000*0.10 = 25000 -> $0.025
			u: usage.Usage{InputTokens: 250000}, want: "0.025", entry: "bedrock/cohere-embed-english-v3"},
		{name: "cohere embed multilingual v3", provider: "bedrock", model: "cohere.embed-multilingual-v3",
			// 12345*0.10 = 1234.5 -> $0.0012345
			u: usage.Usage{InputTokens: 12345}, want: "0.0012345", entry: "bedrock/cohere-embed-multilingual-v3"},
		{name: "cohere embed v4, global profile", provider: "bedrock", model: "global.cohere.embed-v4:0",
			// 100000*0.12 = 12000 -> $0.012
			u: usage.Usage{InputTokens: 100000}, want: "0.012", entry: "bedrock/cohere-embed-v4"},
		{name: "cohere embed v4, us. profile", provider: "bedrock", model: "us.cohere.embed-v4:0",
			// 100000*0.12 = 12000 -> $0.012
			u: usage.Usage{InputTokens: 100000}, want: "0.012", entry: "bedrock/cohere-embed-v4"},
		{name: "nova multimodal embeddings, text", provider: "bedrock", model: "amazon.nova-2-multimodal-embeddings-v1:0",
			// 200000*0.135 = 27000 -> $0.027
			u: usage.Usage{InputTokens: 200000}, want: "0.027", entry: "bedrock/nova-multimodal-embeddings"},
		// --- Azure inherits OpenAI's embeddings, with Azure's batch multiplier
		{name: "azure text-embedding-3-small", provider: "azure", model: "text-embedding-3-small",
			// 1000000*0.02 = 20000 -> $0.02
			u: usage.Usage{InputTokens: 1000000}, want: "0.02", entry: "openai/text-embedding-3-small"},
		{name: "azure text-embedding-3-large", provider: "azure", model: "text-embedding-3-large",
			// 10000*0.13 = 1300 -> $0.0013
			u: usage.Usage{InputTokens: 10000}, want: "0.0013", entry: "openai/text-embedding-3-large"},
		{name: "azure text-embedding-ada-002 batch", provider: "azure", model: "text-embedding-ada-002", batch: true,
			// 1000000*0.10 * 0.5 = 100000/2 = 50000 -> $0.05
			u: usage.Usage{InputTokens: 1000000}, want: "0.05", entry: "openai/text-embedding-ada-002"},
		{name: "openai ada-002 as named in its responses", provider: "openai", model: "text-embedding-ada-002-v2",
			// 1000*0.10 = 100 -> $0.0001
			u: usage.Usage{InputTokens: 1000}, want: "0.0001", entry: "openai/text-embedding-ada-002"},
		// --- Google
		{name: "gemini-embedding-001", provider: "google", model: "gemini-embedding-001",
			// 1000000*0.15 = 150000 -> $0.15
			u: usage.Usage{InputTokens: 1000000}, want: "0.15", entry: "google/gemini-embedding-001"},
		{name: "gemini-embedding-2 with models/ prefix", provider: "google", model: "models/gemini-embedding-2",
			// 40000*0.20 = 8000 -> $0.008
			u: usage.Usage{InputTokens: 40000}, want: "0.008", entry: "google/gemini-embedding-2"},
		{name: "gemini-3.5-flash cached and thinking", provider: "google", model: "gemini-3.5-flash",
			// 8000 uncached + 2000 cached, 1000 out of which 600 thinking:
			// 8000*1.50 + 2000*0.15 + 400*9 + 600*9 = 12000+300+3600+5400 = 21300 -> $0.0213
			u: usage.Usage{InputTokens: 10000, CacheReadTokens: 2000, OutputTokens: 1000, ReasoningTokens: 600}, want: "0.0213", entry: "google/gemini-3.5-flash"},
		{name: "gemini-3.1-flash-lite-preview with audio", provider: "google", model: "gemini-3.1-flash-lite-preview",
			// 6000 text + 4000 audio in, 1000 out: 6000*0.25 + 4000*0.50 + 1000*1.50 = 1500+2000+1500 = 5000 -> $0.005
			u: usage.Usage{InputTokens: 10000, InputAudioTokens: 4000, OutputTokens: 1000}, want: "0.005", entry: "google/gemini-3.1-flash-lite"},
		{name: "gemini-3.8-flash introductory price on its last second", provider: "google", model: "gemini-3.8-flash", at: day("2026-12-31T23:59:59Z"),
			// 1000000*0.75 + 100000*3.75 = 750000+375000 = 1125000 -> $1.125
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 100000}, want: "1.125", entry: "google/gemini-3.8-flash"},
		{name: "gemini-3.8-flash from 2027-01-01", provider: "google", model: "gemini-3.8-flash", at: day("2027-01-01"),
			// 1000000*1.50 + 100000*7.50 = 1500000+750000 = 2250000 -> $2.25
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 100000}, want: "2.25", entry: "google/gemini-3.8-flash@2027-01-01"},
		// --- Mistral
		{name: "codestral-embed", provider: "mistral", model: "codestral-embed",
			// 1000000*0.15 = 150000 -> $0.15
			u: usage.Usage{InputTokens: 1000000}, want: "0.15", entry: "mistral/codestral-embed"},
		{name: "mistral-embed batch", provider: "mistral", model: "mistral-embed", batch: true,
			// 1000000*0.10 * 0.5 = 50000 -> $0.05
			u: usage.Usage{InputTokens: 1000000}, want: "0.05", entry: "mistral/mistral-embed"},
		{name: "mistral-medium-latest before Medium 3.5", provider: "mistral", model: "mistral-medium-latest", at: day("2026-04-27"),
			// Medium 3: 1000000*0.40 + 100000*2 = 400000+200000 = 600000 -> $0.60
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 100000}, want: "0.6", entry: "mistral/mistral-medium-3"},
		{name: "mistral-medium-latest is Medium 3.5 from 2026-04-28", provider: "mistral", model: "mistral-medium-latest", at: day("2026-05-01"),
			// 1000000*1.50 + 100000*7.50 = 1500000+750000 = 2250000 -> $2.25
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 100000}, want: "2.25", entry: "mistral/mistral-medium-3.5"},
		{name: "mistral-large-latest before Large 3", provider: "mistral", model: "mistral-large-latest", at: day("2025-11-01"),
			// Large 2411: 1000000*2 + 100000*6 = 2000000+600000 = 2600000 -> $2.60
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 100000}, want: "2.6", entry: "mistral/mistral-large-2411"},
		{name: "mistral-small-latest before Small 4", provider: "mistral", model: "mistral-small-latest", at: day("2026-01-01"),
			// Small 3.2: 1000000*0.10 + 1000000*0.30 = 100000+300000 = 400000 -> $0.40
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 1000000}, want: "0.4", entry: "mistral/mistral-small-2506"},
		{name: "mistral-small-latest is Small 4 now", provider: "mistral", model: "mistral-small-latest",
			// 1000000*0.15 + 1000000*0.60 = 150000+600000 = 750000 -> $0.75
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 1000000}, want: "0.75", entry: "mistral/mistral-small-2603"},
		// --- DeepSeek
		{name: "deepseek-chat maps to V4 Flash after the cache cut", provider: "deepseek", model: "deepseek-chat", at: day("2026-05-01"),
			// 4000 miss + 6000 hit + 1000 out: 4000*0.14 + 6000*0.0028 + 1000*0.28 = 560+16.8+280 = 856.8 -> $0.0008568
			u: usage.Usage{InputTokens: 10000, CacheReadTokens: 6000, OutputTokens: 1000}, want: "0.0008568", entry: "deepseek/deepseek-chat@2026-04-26"},
		{name: "deepseek-v4-pro discounted", provider: "deepseek", model: "deepseek-v4-pro", at: day("2026-06-15"),
			// 20000 miss + 80000 hit + 5000 out: 20000*0.435 + 80000*0.003625 + 5000*0.87 = 8700+290+4350 = 13340 -> $0.01334
			u: usage.Usage{InputTokens: 100000, CacheReadTokens: 80000, OutputTokens: 5000}, want: "0.01334", entry: "deepseek/deepseek-v4-pro@2026-04-26"},
		{name: "deepseek-v4-pro peak price", provider: "deepseek", model: "deepseek-v4-pro", at: day("2026-11-25T02:30:00Z"), // a Wednesday, 01:00-04:00 UTC
			// 100000*1.32 + 10000*3.96 = 132000+39600 = 171600 -> $0.1716
			u: usage.Usage{InputTokens: 100000, OutputTokens: 10000}, want: "0.1716", entry: "deepseek/deepseek-v4-pro@2026-08-16"},
		{name: "deepseek-v4-pro off-peak", provider: "deepseek", model: "deepseek-v4-pro", at: day("2026-11-25T04:00:00Z"), // the peak window has just ended
			// half of $0.1716 -> $0.0858
			u: usage.Usage{InputTokens: 100000, OutputTokens: 10000}, want: "0.0858", entry: "deepseek/deepseek-v4-pro@2026-08-16"},
		{name: "deepseek-flash peak price", provider: "deepseek", model: "deepseek-flash", at: day("2026-11-27T09:59:59Z"), // a Friday, 06:00-10:00 UTC
			// 500000 miss + 500000 hit + 100000 out: 500000*0.30 + 500000*0.006 + 100000*1.20 = 150000+3000+120000 = 273000 -> $0.273
			u: usage.Usage{InputTokens: 1000000, CacheReadTokens: 500000, OutputTokens: 100000}, want: "0.273", entry: "deepseek/deepseek-flash@2026-09-10"},
		{name: "legacy deepseek-v4-flash billed as deepseek-flash, off-peak on a Saturday", provider: "deepseek", model: "deepseek-v4-flash", at: day("2026-11-28T07:00:00Z"),
			// (1000*0.30 + 1000*1.20) * 0.5 = (300+1200) * 0.5 = 750 -> $0.00075
			u: usage.Usage{InputTokens: 1000, OutputTokens: 1000}, want: "0.00075", entry: "deepseek/deepseek-flash@2026-09-10"},
		// --- Groq
		{name: "groq llama 4 maverick", provider: "groq", model: "meta-llama/llama-4-maverick-17b-128e-instruct",
			// 1000000*0.20 + 1000000*0.60 = 200000+600000 = 800000 -> $0.80
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 1000000}, want: "0.8", entry: "groq/llama-4-maverick"},
		{name: "groq llama 3.1 8b batch", provider: "groq", model: "llama-3.1-8b-instant", batch: true,
			// (1000000*0.05 + 1000000*0.08) * 0.5 = 130000/2 = 65000 -> $0.065
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 1000000}, want: "0.065", entry: "groq/llama-3.1-8b-instant"},
		// --- xAI
		{name: "grok 4.20 reasoning snapshot", provider: "xai", model: "grok-4.20-0309-reasoning",
			// 5000 uncached + 5000 cached, 2000 out of which 1500 reasoning:
			// 5000*1.25 + 5000*0.20 + 500*2.50 + 1500*2.50 = 6250+1000+1250+3750 = 12250 -> $0.01225
			u: usage.Usage{InputTokens: 10000, CacheReadTokens: 5000, OutputTokens: 2000, ReasoningTokens: 1500}, want: "0.01225", entry: "xai/grok-4.20"},
		{name: "grok 4.20 multi-agent", provider: "xai", model: "grok-4.20-multi-agent-0309",
			// 1000000*1.25 + 100000*2.50 = 1250000+250000 = 1500000 -> $1.50
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 100000}, want: "1.5", entry: "xai/grok-4.20"},
		{name: "grok 4.1 fast non-reasoning", provider: "xai", model: "grok-4-1-fast-non-reasoning",
			// 1000000*0.20 + 1000000*0.50 = 200000+500000 = 700000 -> $0.70
			u: usage.Usage{InputTokens: 1000000, OutputTokens: 1000000}, want: "0.7", entry: "xai/grok-4-fast"},
		{name: "grok 4.5", provider: "xai", model: "grok-4.5",
			// 100000*2 + 10000*6 = 200000+60000 = 260000 -> $0.26
			u: usage.Usage{InputTokens: 100000, OutputTokens: 10000}, want: "0.26", entry: "xai/grok-4.5"},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			when := tt.at
			if when.IsZero() {
				when = at
			}
			got, err := c.Price(Query{Provider: tt.provider, Model: tt.model, At: when, Usage: tt.u, Batch: tt.batch})
			if err != nil {
				t.Fatal(err)
			}
			amount, ok := got.Amount()
			if !ok {
				t.Fatalf("%s/%s unpriced: %v", tt.provider, tt.model, got)
			}
			if want := usd(t, tt.want); amount != want {
				t.Errorf("total = $%s, want $%s (%+v)", amount.Format(15), want.Format(15), got)
			}
			if got.EntryID != tt.entry {
				t.Errorf("entry = %s, want %s", got.EntryID, tt.entry)
			}
			checkSum(t, got)
		})
	}
}

// TestPriceCoverageUnpriced: models that are documented as not priced stay
// unpriced rather than costing $0.
func TestPriceCoverageUnpriced(t *testing.T) {
	c := mustEmbedded(t)
	for _, q := range []Query{
		// The deepseek-chat and deepseek-reasoner aliases were retired after 2026-07-24 15:59 UTC.
		{Provider: "deepseek", Model: "deepseek-reasoner", At: day("2026-07-24T16:00:00Z")},
		// text-embedding-004 was free of charge and has been shut down.
		{Provider: "google", Model: "text-embedding-004", At: day("2026-11-20")},
		// deepseek-flash did not exist before V4.1 Flash.
		{Provider: "deepseek", Model: "deepseek-flash", At: day("2026-09-10T03:59:59Z")},
	} {
		q.Usage = usage.Usage{InputTokens: 1000, OutputTokens: 100}
		got, err := c.Price(q)
		if err != nil {
			t.Fatal(err)
		}
		if got.Priced() {
			t.Errorf("%s/%s at %s priced: %v", q.Provider, q.Model, q.At.Format(time.RFC3339), got)
		}
	}
	// One second earlier the retired alias still had a price.
	got, _ := c.Price(Query{Provider: "deepseek", Model: "deepseek-reasoner", At: day("2026-07-24T15:59:59Z"), Usage: usage.Usage{InputTokens: 1000}})
	if !got.Priced() || got.EntryID != "deepseek/deepseek-chat@2026-04-26" {
		t.Errorf("deepseek-reasoner before retirement: %v", got)
	}
}

// TestCatalogSourcesChecked: every sheet names the pages its prices were
// checked against, each with a URL and a valid checked date.
func TestCatalogSourcesChecked(t *testing.T) {
	c := mustEmbedded(t)
	for _, s := range c.Sheets() {
		if len(s.Sources) == 0 {
			t.Errorf("%s: no sources", s.Provider)
			continue
		}
		for _, src := range s.Sources {
			if !strings.HasPrefix(src.URL, "https://") {
				t.Errorf("%s: source URL %q", s.Provider, src.URL)
			}
			if _, err := time.Parse(time.DateOnly, src.Checked); err != nil {
				t.Errorf("%s: source %s: checked %q: %v", s.Provider, src.URL, src.Checked, err)
			}
		}
	}
}

// TestEmbeddingsCoverage: every required provider has a sheet, and either
// prices at least one embeddings model (in its own sheet or a sheet it
// inherits) or says in a YAML comment why it has none.
func TestEmbeddingsCoverage(t *testing.T) {
	c := mustEmbedded(t)
	sheets := map[string]Sheet{}
	for _, s := range c.Sheets() {
		sheets[s.Provider] = s
	}
	comments := catalogComments(t)
	hasEmbeddings := func(s Sheet) bool {
		return slices.ContainsFunc(s.Entries, func(e Entry) bool { return isEmbeddings(e) })
	}
	for _, p := range coverageProviders {
		s, ok := sheets[p]
		if !ok {
			t.Errorf("%s: no catalog sheet", p)
			continue
		}
		found := hasEmbeddings(s)
		for _, name := range s.Inherits {
			found = found || hasEmbeddings(sheets[name])
		}
		documented := strings.Contains(comments[p], noEmbeddingsMarker)
		switch {
		case found && documented:
			t.Errorf("%s: prices embeddings but its comments say it has no embeddings API", p)
		case !found && !documented:
			t.Errorf("%s: no embeddings entry and no %q comment", p, noEmbeddingsMarker)
		}
		// Every embeddings entry of the sheet prices its own ids.
		for _, e := range s.Entries {
			if !isEmbeddings(e) {
				continue
			}
			for _, id := range slices.Concat(e.Match.Exact, e.Match.Prefix) {
				got, err := c.Price(Query{Provider: p, Model: id, At: day("2026-11-20"), Usage: usage.Usage{InputTokens: 1000}})
				if err != nil || !got.Priced() || got.EntryID != e.ID {
					t.Errorf("%s/%s: %v %v, want entry %s", p, id, got, err, e.ID)
				}
			}
		}
	}
}

// isEmbeddings reports whether e prices an embeddings model: its id names
// one, and it has an input price and no output price.
func isEmbeddings(e Entry) bool {
	return strings.Contains(e.ID, "embed") && e.Prices.Input != nil && e.Prices.Output == nil
}

// catalogComments returns the lowercased comment lines of each embedded
// catalog file, by the provider the file declares.
func catalogComments(t *testing.T) map[string]string {
	t.Helper()
	names, err := fs.Glob(embedded, "catalog/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded catalog files: %v %v", names, err)
	}
	out := map[string]string{}
	for _, n := range names {
		b, err := fs.ReadFile(embedded, n)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSheet(n, b)
		if err != nil {
			t.Fatal(err)
		}
		var comments strings.Builder
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "#") {
				comments.WriteString(strings.ToLower(strings.TrimLeft(line, "# ")))
				comments.WriteByte(' ')
			}
		}
		out[s.Provider] = comments.String()
	}
	return out
}

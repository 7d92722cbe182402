package pricing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weirhq/weir/internal/usage"
)

// usd parses a dollar amount with up to 15 decimals into Money.
func usd(t testing.TB, s string) Money {
	t.Helper()
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 15 {
		t.Fatalf("usd(%q): too many decimals", s)
	}
	n, err := parseDecimal(whole)
	if err != nil {
		t.Fatal(err)
	}
	m := Money(n/1e9) * USD
	f := int64(0)
	for _, c := range frac + strings.Repeat("0", 15-len(frac)) {
		f = f*10 + int64(c-'0')
	}
	return m + Money(f)
}

func day(s string) time.Time {
	t, err := parseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustEmbedded(t testing.TB) *Catalog {
	t.Helper()
	c, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// In the comments, "a*p" is a tokens times p dollars per million tokens;
// the sum of such products divided by 1e6 is the cost in dollars.
func TestPricePublished(t *testing.T) {
	c := mustEmbedded(t)
	now := day("2026-11-01")
	type tc struct {
		name     string
		provider string
		model    string
		at       time.Time
		u        usage.Usage
		batch    bool
		tier     string
		units    Units
		want     string // dollars
		entry    string
	}
	cases := []tc{
		// --- Anthropic
		{name: "sonnet-4.5 cache read and 5m write", provider: "anthropic", model: "claude-sonnet-4-5-20250929", at: now,
			// 1,000 uncached + 2,000 read + 500 write 5m + 300 output:
			// 1000*3 + 2000*0.30 + 500*3.75 + 300*15 = 3000+600+1875+4500 = 9975 -> $0.009975
			u:    usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 500, OutputTokens: 300},
			want: "0.009975", entry: "anthropic/claude-sonnet-4-5"},
		{name: "sonnet-4.5 1h part of the cache write", provider: "anthropic", model: "claude-sonnet-4-5", at: now,
			// write 500 of which 200 at 1h: 1000*3 + 2000*0.30 + 300*3.75 + 200*6 + 300*15
			// = 3000+600+1125+1200+4500 = 10425 -> $0.010425
			u:    usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 500, CacheWrite1hTokens: 200, OutputTokens: 300},
			want: "0.010425"},
		{name: "sonnet-4.5 prompt exactly at 200k stays base", provider: "anthropic", model: "claude-sonnet-4-5-20250929", at: now,
			// 200000*3 + 1000*15 = 600000+15000 = 615000 -> $0.615
			u:    usage.Usage{InputTokens: 200000, OutputTokens: 1000},
			want: "0.615"},
		{name: "sonnet-4.5 prompt one over 200k pays long context on every token", provider: "anthropic", model: "claude-sonnet-4-5-20250929", at: now,
			// 200001*6 + 1000*22.50 = 1200006+22500 = 1222506 -> $1.222506
			u:    usage.Usage{InputTokens: 200001, OutputTokens: 1000},
			want: "1.222506"},
		{name: "sonnet-4.5 long context counts cache in the prompt", provider: "anthropic", model: "claude-sonnet-4-5-20250929", at: now,
			// prompt 250,000 = 50,000 uncached + 150,000 read + 50,000 write 5m, 2,000 out:
			// 50000*6 + 150000*0.60 + 50000*7.50 + 2000*22.50 = 300000+90000+375000+45000 = 810000 -> $0.81
			u:    usage.Usage{InputTokens: 250000, CacheReadTokens: 150000, CacheWriteTokens: 50000, OutputTokens: 2000},
			want: "0.81"},
		{name: "sonnet-4 long context tier", provider: "anthropic", model: "claude-sonnet-4-20250514", at: now,
			// 300000 uncached at 6 + 0 out = 1800000 -> $1.80
			u:    usage.Usage{InputTokens: 300000},
			want: "1.8", entry: "anthropic/claude-sonnet-4"},
		{name: "opus-4.6 long context before the surcharge was removed", provider: "anthropic", model: "claude-opus-4-6", at: day("2026-03-12"),
			// 300000*10 = 3000000 -> $3
			u:    usage.Usage{InputTokens: 300000},
			want: "3", entry: "anthropic/claude-opus-4-6"},
		{name: "opus-4.6 long context flat from 2026-03-13", provider: "anthropic", model: "claude-opus-4-6", at: day("2026-03-13"),
			// 300000*5 = 1500000 -> $1.50
			u:    usage.Usage{InputTokens: 300000},
			want: "1.5", entry: "anthropic/claude-opus-4-6@2026-03-13"},
		{name: "sonnet-4.6 one second before the change", provider: "anthropic", model: "claude-sonnet-4-6", at: day("2026-03-12T23:59:59Z"),
			// 250000*6 = 1500000 -> $1.50
			u:    usage.Usage{InputTokens: 250000},
			want: "1.5"},
		{name: "sonnet-4.6 at the change", provider: "anthropic", model: "claude-sonnet-4-6", at: day("2026-03-13"),
			// 250000*3 = 750000 -> $0.75
			u:    usage.Usage{InputTokens: 250000},
			want: "0.75"},
		{name: "haiku-4.5", provider: "anthropic", model: "claude-haiku-4-5-20251001", at: now,
			// 10000*1 + 1000*5 = 15000 -> $0.015
			u:    usage.Usage{InputTokens: 10000, OutputTokens: 1000},
			want: "0.015"},
		{name: "haiku-3 one million each way", provider: "anthropic", model: "claude-3-haiku-20240307", at: now,
			// 1000000*0.25 + 1000000*1.25 = 250000+1250000 -> $1.50
			u:    usage.Usage{InputTokens: 1000000, OutputTokens: 1000000},
			want: "1.5"},
		{name: "opus-3 cache read", provider: "anthropic", model: "claude-3-opus-20240229", at: now,
			// 1000 uncached + 1000 read + 100 out: 1000*15 + 1000*1.50 + 100*75 = 15000+1500+7500 = 24000 -> $0.024
			u:    usage.Usage{InputTokens: 2000, CacheReadTokens: 1000, OutputTokens: 100},
			want: "0.024"},
		{name: "opus-4.1 all writes 1h", provider: "anthropic", model: "claude-opus-4-1-20250805", at: now,
			// 5000 uncached + 5000 write 1h + 1000 out: 5000*15 + 5000*30 + 1000*75 = 75000+150000+75000 = 300000 -> $0.30
			u:    usage.Usage{InputTokens: 10000, CacheWriteTokens: 5000, CacheWrite1hTokens: 5000, OutputTokens: 1000},
			want: "0.3"},
		{name: "opus-4.5 batch is half", provider: "anthropic", model: "claude-opus-4-5-20251101", at: now, batch: true,
			// (100000*5 + 10000*25) * 0.5 = (500000+250000)/2 = 375000 -> $0.375
			u:    usage.Usage{InputTokens: 100000, OutputTokens: 10000},
			want: "0.375"},
		{name: "haiku-3.5 with web searches", provider: "anthropic", model: "claude-3-5-haiku-20241022", at: now, units: Units{WebSearches: 3},
			// 1000*0.80 + 100*4 = 1200 -> $0.0012; 3 searches * $10/1000 = $0.03; total $0.0312
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 100},
			want: "0.0312"},
		{name: "sonnet-5 introductory price on its last day", provider: "anthropic", model: "claude-sonnet-5", at: day("2026-08-31T23:00:00Z"),
			// 1000000*2 -> $2
			u:    usage.Usage{InputTokens: 1000000},
			want: "2"},
		{name: "sonnet-5 standard price from 2026-09-01", provider: "anthropic", model: "claude-sonnet-5", at: day("2026-09-01"),
			// 1000000*3 -> $3
			u:    usage.Usage{InputTokens: 1000000},
			want: "3"},
		{name: "alias claude-3-5-sonnet-latest before 2024-10-22", provider: "anthropic", model: "claude-3-5-sonnet-latest", at: day("2024-09-01"),
			// resolves to claude-3-5-sonnet-20240620: 1000*3 + 100*15 = 4500 -> $0.0045
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 100},
			want: "0.0045", entry: "anthropic/claude-3-5-sonnet"},
		{name: "thinking tokens are output for Anthropic", provider: "anthropic", model: "claude-sonnet-4-5", at: now,
			// 100 in, 2000 out (Anthropic reports no reasoning split): 100*3 + 2000*15 = 300+30000 -> $0.0303
			u:    usage.Usage{InputTokens: 100, OutputTokens: 2000},
			want: "0.0303"},
		// --- OpenAI
		{name: "gpt-4o cached input", provider: "openai", model: "gpt-4o-2024-08-06", at: now,
			// 10,000 input incl. 4,000 cached, 500 out: 6000*2.50 + 4000*1.25 + 500*10 = 15000+5000+5000 = 25000 -> $0.025
			u:    usage.Usage{InputTokens: 10000, CacheReadTokens: 4000, OutputTokens: 500},
			want: "0.025", entry: "openai/gpt-4o"},
		{name: "gpt-4o alias before 2024-10-02 is the May snapshot", provider: "openai", model: "gpt-4o", at: day("2024-10-01T23:59:59Z"),
			// gpt-4o-2024-05-13: 1000*5 + 1000*15 = 20000 -> $0.02
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 1000},
			want: "0.02", entry: "openai/gpt-4o-2024-05-13"},
		{name: "gpt-4o alias from 2024-10-02 is the August snapshot", provider: "openai", model: "gpt-4o", at: day("2024-10-02"),
			// gpt-4o-2024-08-06: 1000*2.50 + 1000*10 = 12500 -> $0.0125
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 1000},
			want: "0.0125", entry: "openai/gpt-4o"},
		{name: "o3 before the price cut, reasoning as output", provider: "openai", model: "o3", at: day("2025-06-09"),
			// 1000 in, 5000 out of which 4000 reasoning: 1000*10 + 1000*40 + 4000*40 = 10000+40000+160000 = 210000 -> $0.21
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 5000, ReasoningTokens: 4000},
			want: "0.21", entry: "openai/o3"},
		{name: "o3 after the price cut", provider: "openai", model: "o3-2025-04-16", at: day("2025-06-10"),
			// 1000*2 + 1000*8 + 4000*8 = 2000+8000+32000 = 42000 -> $0.042
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 5000, ReasoningTokens: 4000},
			want: "0.042", entry: "openai/o3@2025-06-10"},
		{name: "o3 flex is half", provider: "openai", model: "o3", at: now, tier: "flex",
			// 42000 * 0.5 = 21000 -> $0.021
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 5000, ReasoningTokens: 4000},
			want: "0.021"},
		{name: "gpt-5 priority is twice", provider: "openai", model: "gpt-5", at: now, tier: "priority",
			// (1000*1.25 + 1000*10) * 2 = 11250*2 = 22500 -> $0.0225
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 1000},
			want: "0.0225"},
		{name: "gpt-5 default tier is list price", provider: "openai", model: "gpt-5", at: now, tier: "default",
			// 1000*1.25 + 1000*10 = 11250 -> $0.01125
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 1000},
			want: "0.01125"},
		{name: "gpt-5 batch with cache", provider: "openai", model: "gpt-5-2025-08-07", at: now, batch: true,
			// 1M in of which 200k cached, 100k out: (800000*1.25 + 200000*0.125 + 100000*10) * 0.5
			// = (1000000+25000+1000000)/2 = 1012500 -> $1.0125
			u:    usage.Usage{InputTokens: 1000000, CacheReadTokens: 200000, OutputTokens: 100000},
			want: "1.0125"},
		{name: "gpt-5-nano", provider: "openai", model: "gpt-5-nano", at: now,
			// 1000*0.05 + 1000*0.40 = 50+400 = 450 -> $0.00045
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 1000},
			want: "0.00045"},
		{name: "gpt-5.4 exactly at 272k", provider: "openai", model: "gpt-5.4", at: now,
			// 272000*2.50 = 680000 -> $0.68
			u:    usage.Usage{InputTokens: 272000},
			want: "0.68"},
		{name: "gpt-5.4 one over 272k", provider: "openai", model: "gpt-5.4", at: now,
			// 272001*5 = 1360005 -> $1.360005
			u:    usage.Usage{InputTokens: 272001},
			want: "1.360005"},
		{name: "gpt-4.1 priority 1.75x", provider: "openai", model: "gpt-4.1", at: now, tier: "priority",
			// (1000*2 + 1000*8) * 1.75 = 10000*1.75 = 17500 -> $0.0175
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 1000},
			want: "0.0175"},
		{name: "gpt-4o-mini fully cached", provider: "openai", model: "gpt-4o-mini", at: now,
			// 10000*0.075 = 750 -> $0.00075
			u:    usage.Usage{InputTokens: 10000, CacheReadTokens: 10000},
			want: "0.00075"},
		{name: "model id case is ignored", provider: "openai", model: "GPT-4o-Mini", at: now,
			// 1000*0.15 + 1000*0.60 = 750 -> $0.00075
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 1000},
			want: "0.00075", entry: "openai/gpt-4o-mini"},
		{name: "gpt-4.1-nano half cached", provider: "openai", model: "gpt-4.1-nano-2025-04-14", at: now,
			// 500000*0.10 + 500000*0.025 = 50000+12500 = 62500 -> $0.0625
			u:    usage.Usage{InputTokens: 1000000, CacheReadTokens: 500000},
			want: "0.0625"},
		{name: "text-embedding-3-small one million", provider: "openai", model: "text-embedding-3-small", at: now,
			// 1000000*0.02 -> $0.02
			u:    usage.Usage{InputTokens: 1000000},
			want: "0.02"},
		{name: "text-embedding-3-large odd count", provider: "openai", model: "text-embedding-3-large", at: now,
			// 12345*0.13 = 1604.85 -> $0.00160485
			u:    usage.Usage{InputTokens: 12345},
			want: "0.00160485"},
		{name: "gpt-realtime audio in and out", provider: "openai", model: "gpt-realtime", at: now,
			// in 1000 of which 600 audio, out 500 of which 400 audio:
			// 400*4 + 600*32 + 100*16 + 400*64 = 1600+19200+1600+25600 = 48000 -> $0.048
			u:    usage.Usage{InputTokens: 1000, InputAudioTokens: 600, OutputTokens: 500, OutputAudioTokens: 400},
			want: "0.048"},
		// --- Google
		{name: "gemini-2.5-pro exactly at 200k", provider: "google", model: "gemini-2.5-pro", at: now,
			// 200000*1.25 + 1000*10 = 250000+10000 = 260000 -> $0.26
			u:    usage.Usage{InputTokens: 200000, OutputTokens: 1000},
			want: "0.26"},
		{name: "gemini-2.5-pro one over 200k", provider: "google", model: "gemini-2.5-pro", at: now,
			// 200001*2.50 + 1000*15 = 500002.5+15000 = 515002.5 -> $0.5150025
			u:    usage.Usage{InputTokens: 200001, OutputTokens: 1000},
			want: "0.5150025"},
		{name: "gemini-2.5-pro long context with cache", provider: "google", model: "models/gemini-2.5-pro", at: now,
			// 300k prompt of which 100k cached, 2000 out of which 1500 thinking:
			// 200000*2.50 + 100000*0.25 + 500*15 + 1500*15 = 500000+25000+7500+22500 = 555000 -> $0.555
			u:    usage.Usage{InputTokens: 300000, CacheReadTokens: 100000, OutputTokens: 2000, ReasoningTokens: 1500},
			want: "0.555"},
		{name: "gemini-2.5-flash thinking as output", provider: "google", model: "gemini-2.5-flash", at: now,
			// 1M in, 1M out of which 500k thinking: 1000000*0.30 + 1000000*2.50 -> $2.80
			u:    usage.Usage{InputTokens: 1000000, OutputTokens: 1000000, ReasoningTokens: 500000},
			want: "2.8"},
		{name: "gemini-2.0-flash", provider: "google", model: "gemini-2.0-flash", at: now,
			// 10000*0.10 + 1000*0.40 = 1000+400 = 1400 -> $0.0014
			u:    usage.Usage{InputTokens: 10000, OutputTokens: 1000},
			want: "0.0014"},
		{name: "gemini-1.5-flash tier at 128k uses 0.0375", provider: "google", model: "gemini-1.5-flash-002", at: now,
			// 128001 prompt all cached: 128001*0.0375 = 4800.0375 -> $0.0048000375
			u:    usage.Usage{InputTokens: 128001, CacheReadTokens: 128001},
			want: "0.0048000375"},
		// --- DeepSeek
		{name: "deepseek-chat before V3.2", provider: "deepseek", model: "deepseek-chat", at: day("2025-07-01"),
			// 10000 in of which 6000 cache hit, 1000 out: 4000*0.27 + 6000*0.07 + 1000*1.10 = 1080+420+1100 = 2600 -> $0.0026
			u:    usage.Usage{InputTokens: 10000, CacheReadTokens: 6000, OutputTokens: 1000},
			want: "0.0026", entry: "deepseek/deepseek-chat"},
		{name: "deepseek-reasoner after V3.2", provider: "deepseek", model: "deepseek-reasoner", at: day("2025-10-01"),
			// 4000*0.28 + 6000*0.028 + 1000*0.42 = 1120+168+420 = 1708 -> $0.001708
			u:    usage.Usage{InputTokens: 10000, CacheReadTokens: 6000, OutputTokens: 1000, ReasoningTokens: 800},
			want: "0.001708", entry: "deepseek/deepseek-v3.2@2025-09-05"},
		// --- Mistral, Groq, xAI
		{name: "mistral-large-2512 cached", provider: "mistral", model: "mistral-large-latest", at: now,
			// 8000 uncached + 2000 cached + 1000 out: 8000*0.50 + 2000*0.05 + 1000*1.50 = 4000+100+1500 = 5600 -> $0.0056
			u:    usage.Usage{InputTokens: 10000, CacheReadTokens: 2000, OutputTokens: 1000},
			want: "0.0056"},
		{name: "mistral-embed", provider: "mistral", model: "mistral-embed", at: now,
			// 50000*0.10 = 5000 -> $0.005
			u:    usage.Usage{InputTokens: 50000},
			want: "0.005"},
		{name: "groq llama-3.3-70b", provider: "groq", model: "llama-3.3-70b-versatile", at: now,
			// 1000000*0.59 + 1000000*0.79 -> $1.38
			u:    usage.Usage{InputTokens: 1000000, OutputTokens: 1000000},
			want: "1.38"},
		{name: "groq gpt-oss-20b cached at 0.0375", provider: "groq", model: "openai/gpt-oss-20b", at: now,
			// 1 uncached + 1 cached token: 1*0.075 + 1*0.0375 = 0.1125 -> $0.0000001125
			u:    usage.Usage{InputTokens: 2, CacheReadTokens: 1},
			want: "0.0000001125"},
		{name: "groq batch", provider: "groq", model: "openai/gpt-oss-120b", at: now, batch: true,
			// (1000000*0.15 + 1000000*0.60) * 0.5 = 750000/2 = 375000 -> $0.375
			u:    usage.Usage{InputTokens: 1000000, OutputTokens: 1000000},
			want: "0.375"},
		{name: "xai grok-4", provider: "xai", model: "grok-4-0709", at: now,
			// 1000 in of which 400 cached, 1000 out: 600*3 + 400*0.75 + 1000*15 = 1800+300+15000 = 17100 -> $0.0171
			u:    usage.Usage{InputTokens: 1000, CacheReadTokens: 400, OutputTokens: 1000},
			want: "0.0171"},
		{name: "xai grok-3-mini reasoning", provider: "xai", model: "grok-3-mini", at: now,
			// 2000*0.30 + 3000*0.50 = 600+1500 = 2100 -> $0.0021
			u:    usage.Usage{InputTokens: 2000, OutputTokens: 3000, ReasoningTokens: 2500},
			want: "0.0021"},
		// --- Azure and Bedrock
		{name: "azure inherits openai", provider: "azure", model: "gpt-4o-2024-08-06", at: now,
			// as "gpt-4o cached input": $0.025
			u:    usage.Usage{InputTokens: 10000, CacheReadTokens: 4000, OutputTokens: 500},
			want: "0.025", entry: "openai/gpt-4o"},
		{name: "azure own entry", provider: "azure", model: "gpt-35-turbo", at: now,
			// 1000*0.50 + 1000*1.50 = 2000 -> $0.002
			u:    usage.Usage{InputTokens: 1000, OutputTokens: 1000},
			want: "0.002"},
		{name: "bedrock claude with region prefix", provider: "bedrock", model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", at: now,
			// as "sonnet-4.5 cache read and 5m write" ($0.009975), at the
			// regional endpoint's 10% premium: $0.0109725
			u:    usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 500, OutputTokens: 300},
			want: "0.0109725", entry: "anthropic/claude-sonnet-4-5"},
		{name: "bedrock nova-micro", provider: "bedrock", model: "amazon.nova-micro-v1:0", at: now,
			// 1000 in of which 1000 cached... 2000 in, 1000 cached, 100 out: 1000*0.035 + 1000*0.00875 + 100*0.14 = 35+8.75+14 = 57.75 -> $0.00005775
			u:    usage.Usage{InputTokens: 2000, CacheReadTokens: 1000, OutputTokens: 100},
			want: "0.00005775"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Price(Query{Provider: tt.provider, Model: tt.model, At: tt.at, Usage: tt.u, Batch: tt.batch, ServiceTier: tt.tier, Units: tt.units})
			if err != nil {
				t.Fatal(err)
			}
			amount, ok := got.Amount()
			if !ok {
				t.Fatalf("unpriced: %v", got)
			}
			if want := usd(t, tt.want); amount != want {
				t.Errorf("total = $%s, want $%s (%+v)", amount.Format(15), want.Format(15), got)
			}
			checkSum(t, got)
			if tt.entry != "" && got.EntryID != tt.entry {
				t.Errorf("entry = %s, want %s", got.EntryID, tt.entry)
			}
			if got.Version != c.Version() {
				t.Errorf("version = %s", got.Version)
			}
		})
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
}

func checkSum(t *testing.T, c Cost) {
	t.Helper()
	sum := c.Input + c.CacheRead + c.CacheWrite5m + c.CacheWrite1h + c.Output + c.Reasoning + c.InputAudio + c.OutputAudio + c.InputImage + c.OutputImage + c.Fees
	if sum != c.Total {
		t.Errorf("components add to %d, total %d", sum, c.Total)
	}
	for _, v := range []Money{c.Total, c.Input, c.CacheRead, c.CacheWrite5m, c.CacheWrite1h, c.Output, c.Reasoning, c.InputAudio, c.OutputAudio, c.Fees} {
		if v < 0 {
			t.Errorf("negative component in %+v", c)
		}
	}
}

func TestPriceBreakdown(t *testing.T) {
	c := mustEmbedded(t)
	got, err := c.Price(Query{Provider: "anthropic", Model: "claude-sonnet-4-5", At: day("2026-11-01"),
		Usage: usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 500, CacheWrite1hTokens: 200, OutputTokens: 300, Estimated: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := Cost{
		Total:        usd(t, "0.010425"),
		Input:        usd(t, "0.003"),    // 1000*3
		CacheRead:    usd(t, "0.0006"),   // 2000*0.30
		CacheWrite5m: usd(t, "0.001125"), // 300*3.75
		CacheWrite1h: usd(t, "0.0012"),   // 200*6
		Output:       usd(t, "0.0045"),   // 300*15
		PriceAs:      "anthropic",
		EntryID:      "anthropic/claude-sonnet-4-5",
		Version:      c.Version(),
		Multiplier:   1_000_000,
		Estimated:    true,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("breakdown (-want +got):\n%s", d)
	}
	// Reasoning is its own component, at the output price.
	got, _ = c.Price(Query{Provider: "openai", Model: "o3", At: day("2025-07-01"), Usage: usage.Usage{InputTokens: 1000, OutputTokens: 5000, ReasoningTokens: 4000}})
	if got.Reasoning != usd(t, "0.032") || got.Output != usd(t, "0.008") { // 4000*8, 1000*8
		t.Errorf("reasoning %s output %s", got.Reasoning, got.Output)
	}
}

func TestPriceUnpriced(t *testing.T) {
	c := mustEmbedded(t)
	for _, q := range []Query{
		{Provider: "openai", Model: "gpt-unknown-9", Usage: usage.Usage{InputTokens: 10, CacheReadTokens: 4, OutputTokens: 5, ReasoningTokens: 2}},
		{Provider: "nosuch", Model: "gpt-4o", Usage: usage.Usage{InputTokens: 10, CacheReadTokens: 4, OutputTokens: 5, ReasoningTokens: 2}},
		{Provider: "anthropic", Model: "claude-3-5-sonnet-20240620", At: day("2020-01-01").Add(-time.Hour * 24 * 365 * 100), Usage: usage.Usage{InputTokens: 10, CacheReadTokens: 4, OutputTokens: 5, ReasoningTokens: 2}},
	} {
		got, err := c.Price(q)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Amount(); ok && q.Provider != "anthropic" {
			t.Errorf("%s/%s priced: %v", q.Provider, q.Model, got)
		}
		if q.Provider == "anthropic" {
			continue // entries without a start date apply since always
		}
		if d := cmp.Diff([]string{"input_tokens", "cache_read_tokens", "output_tokens", "reasoning_tokens"}, got.Unpriced.Names()); d != "" {
			t.Errorf("unpriced units (-want +got):\n%s", d)
		}
		if got.String() != "unpriced (input_tokens,cache_read_tokens,output_tokens,reasoning_tokens)" {
			t.Errorf("String() = %s", got)
		}
	}
	// Audio tokens on a model without an audio price are unpriced, not free.
	got, _ := c.Price(Query{Provider: "openai", Model: "gpt-4o-mini", Usage: usage.Usage{InputTokens: 100, InputAudioTokens: 40}})
	if got.Priced() || got.Unpriced != UnitInputAudio {
		t.Errorf("audio on a text model: %+v", got)
	}
	// Web searches on a model without a search fee are unpriced.
	got, _ = c.Price(Query{Provider: "openai", Model: "gpt-4o-mini", Usage: usage.Usage{InputTokens: 100}, Units: Units{WebSearches: 1}})
	if got.Unpriced != UnitWebSearches {
		t.Errorf("searches: %+v", got)
	}
}

func TestPriceInvalidUsage(t *testing.T) {
	c := mustEmbedded(t)
	for _, u := range []usage.Usage{
		{InputTokens: -1},
		{InputTokens: 10, CacheReadTokens: 11},
		{InputTokens: 10, CacheReadTokens: 6, CacheWriteTokens: 6},
		{InputTokens: 10, CacheWriteTokens: 2, CacheWrite1hTokens: 3},
		{OutputTokens: 10, ReasoningTokens: 11},
		{InputTokens: 10, InputAudioTokens: 11},
	} {
		if _, err := c.Price(Query{Provider: "openai", Model: "gpt-4o", Usage: u}); err != ErrInvalidUsage {
			t.Errorf("%+v: err = %v, want ErrInvalidUsage", u, err)
		}
	}
	if _, err := c.Price(Query{Provider: "openai", Model: "o1-pro", Usage: usage.Usage{OutputTokens: 1 << 60}}); err != ErrOverflow {
		t.Errorf("overflow: err = %v", err)
	}
}

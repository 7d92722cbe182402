package pricing

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/usage"
)

const litellmSample = "testdata/litellm-sample.json"

func importLiteLLMSample(t testing.TB) ([]Sheet, ImportReport) {
	t.Helper()
	b, err := os.ReadFile(litellmSample)
	if err != nil {
		t.Fatal(err)
	}
	sheets, rep, err := ImportLiteLLM(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return sheets, rep
}

func entryJSON(e Entry) string {
	b, _ := json.Marshal(e)
	return string(b)
}

func TestImportLiteLLMEntries(t *testing.T) {
	sheets, rep := importLiteLLMSample(t)
	var provs []string
	got := map[string]Entry{}
	n := 0
	for _, s := range sheets {
		provs = append(provs, s.Provider)
		if err := s.validate(); err != nil {
			t.Errorf("sheet %s: %v", s.Provider, err)
		}
		if len(s.Sources) != 1 || s.Sources[0].URL != litellmURL {
			t.Errorf("sheet %s sources %+v", s.Provider, s.Sources)
		}
		for _, e := range s.Entries {
			got[e.ID] = e
			n++
		}
	}
	if want := []string{"openai", "anthropic", "google", "bedrock", "azure", "deepseek", "groq", "xai", "openrouter", "perplexity"}; !slices.Equal(provs, want) {
		t.Errorf("providers %v, want %v", provs, want)
	}
	if rep.Models != 15 || n != 15 {
		t.Errorf("report counts %d models, sheets hold %d; want 15", rep.Models, n)
	}
	exact := func(ids ...string) Match { return Match{Exact: ids} }
	for _, want := range []Entry{
		// Per-token prices times 1e6; batches at half price; priority at
		// 5/3 of standard is no 6-decimal multiplier: the tier's own prices.
		{ID: "openai/gpt-4o-mini", Match: exact("gpt-4o-mini"),
			Prices: Prices{Input: Dec("0.15"), CacheRead: Dec("0.075"), Output: Dec("0.6")},
			Batch:  Dec("0.5"),
			ServiceTierPrices: map[string]Prices{
				"priority": {Input: Dec("0.25"), CacheRead: Dec("0.125"), Output: Dec("1")},
			}},
		{ID: "openai/gpt-5", Match: exact("gpt-5", "gpt-5-2025-08-07"),
			Prices:       Prices{Input: Dec("1.25"), CacheRead: Dec("0.125"), Output: Dec("10")},
			Batch:        Dec("0.5"),
			ServiceTiers: map[string]Decimal{"flex": *Dec("0.5"), "priority": *Dec("2")}},
		// Priority prices without their above-272k counterparts: not one
		// multiple, and Weir's tier prices would drop the context tier.
		{ID: "openai/gpt-5.4", Match: exact("gpt-5.4"),
			Prices: Prices{Input: Dec("2.5"), CacheRead: Dec("0.25"), Output: Dec("15")},
			Tiers: []Tier{{Above: 272000,
				Prices: Prices{Input: Dec("5"), CacheRead: Dec("0.5"), Output: Dec("22.5")}}}},
		{ID: "openai/gpt-4o-audio-preview", Match: exact("gpt-4o-audio-preview"),
			Prices: Prices{Input: Dec("2.5"), Output: Dec("10"), InputAudio: Dec("40"), OutputAudio: Dec("80")}},
		{ID: "anthropic/claude-sonnet-4-5", Match: exact("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
			Prices: Prices{Input: Dec("3"), CacheRead: Dec("0.3"), CacheWrite: Dec("3.75"), CacheWrite1h: Dec("6"), Output: Dec("15")},
			Tiers: []Tier{{Above: 200000,
				Prices: Prices{Input: Dec("6"), CacheRead: Dec("0.6"), CacheWrite: Dec("7.5"), CacheWrite1h: Dec("12"), Output: Dec("22.5")}}},
			Fees: Fees{WebSearches: Dec("10")}},
		// The Gemini API key wins over Vertex AI's for the same id.
		{ID: "google/gemini-2.5-pro", Match: exact("gemini-2.5-pro"),
			Prices: Prices{Input: Dec("1.25"), CacheRead: Dec("0.125"), Output: Dec("10")},
			Tiers: []Tier{{Above: 200000,
				Prices: Prices{Input: Dec("2.5"), CacheRead: Dec("0.25"), Output: Dec("15")}}},
			Batch: Dec("0.5")},
		{ID: "google/gemini-3-flash-preview", Match: exact("gemini-3-flash-preview"),
			Prices: Prices{Input: Dec("0.5"), CacheRead: Dec("0.05"), Output: Dec("3"), Reasoning: Dec("3"), InputAudio: Dec("1")},
			Fees:   Fees{WebSearches: Dec("14")}},
		{ID: "google/gemini-2.0-flash-001", Match: exact("gemini-2.0-flash-001"),
			Prices: Prices{Input: Dec("0.15"), Output: Dec("0.6"), InputAudio: Dec("1")}},
		{ID: "bedrock/us.amazon.nova-pro-v1:0", Match: exact("us.amazon.nova-pro-v1:0"),
			Prices: Prices{Input: Dec("0.8"), CacheRead: Dec("0.2"), Output: Dec("3.2")}},
		{ID: "azure/gpt-4o", Match: exact("gpt-4o"),
			Prices: Prices{Input: Dec("2.5"), CacheRead: Dec("1.25"), Output: Dec("10")}},
		{ID: "deepseek/deepseek-chat", Match: exact("deepseek-chat"),
			Prices: Prices{Input: Dec("0.27"), CacheRead: Dec("0.07"), Output: Dec("1.1")}},
		{ID: "groq/openai/gpt-oss-20b", Match: exact("openai/gpt-oss-20b"),
			Prices: Prices{Input: Dec("0.075"), CacheRead: Dec("0.0375"), Output: Dec("0.3")},
			Batch:  Dec("0.5")},
		// xAI's 128k threshold is inclusive in LiteLLM.
		{ID: "xai/grok-4", Match: exact("grok-4"),
			Prices: Prices{Input: Dec("3"), CacheRead: Dec("0.75"), Output: Dec("15")},
			Tiers:  []Tier{{Above: 127999, Prices: Prices{Input: Dec("6"), Output: Dec("30")}}}},
		{ID: "openrouter/perplexity/sonar", Match: exact("perplexity/sonar"),
			Prices: Prices{Input: Dec("1"), Output: Dec("1")},
			Fees:   Fees{Requests: Dec("5")}},
		{ID: "perplexity/sonar-deep-research", Match: exact("sonar-deep-research"),
			Prices: Prices{Input: Dec("2"), Output: Dec("8"), Reasoning: Dec("3")}},
	} {
		e, ok := got[want.ID]
		if !ok {
			t.Errorf("entry %s missing", want.ID)
			continue
		}
		if !reflect.DeepEqual(e, want) {
			t.Errorf("entry %s:\n got %s\nwant %s", want.ID, entryJSON(e), entryJSON(want))
		}
	}
}

func TestImportLiteLLMReport(t *testing.T) {
	_, rep := importLiteLLMSample(t)
	const (
		perCall = " (billed once per call by search context size, not per search)"
		gpt54   = " (priority prices are not one multiple of the standard ones and the model has context tiers)"
		batch   = " (batch prices are not one multiple of the standard ones)"
	)
	want := []string{
		"fallback_generalizations: not a model entry (no litellm_provider)",
		"openai/1024-x-1024/dall-e-2: no token price (mode image_generation)",
		"azure/eu/gpt-4o-2024-08-06: region- or deployment-specific key, not a model id",
		"azure/gpt-4o: field input_cost_per_token_batches not imported" + batch,
		"azure/gpt-4o: field output_cost_per_token_batches not imported" + batch,
		"bedrock/us-east-1/anthropic.claude-v2:1: region- or deployment-specific key, not a model id",
		"anthropic/claude-sonnet-4-5: field provider_specific_entry not imported",
		"fireworks-ai-up-to-4b: price of a model size class, not a model id",
		"google/gemini-2.5-pro: field search_context_cost_per_query not imported (billed once per grounded prompt, not per search)",
		"openai/gpt-4o-mini: field file_search_cost_per_1k_calls not imported",
		"openai/gpt-4o-mini: field search_context_cost_per_query not imported" + perCall,
		"openai/gpt-5.4: field regional_processing_uplift_multiplier_eu not imported",
		"openai/gpt-5.4: field cache_read_input_token_cost_priority not imported" + gpt54,
		"openai/gpt-5.4: field input_cost_per_token_priority not imported" + gpt54,
		"openai/gpt-5.4: field output_cost_per_token_priority not imported" + gpt54,
		"groq/openai/gpt-oss-20b: field output_cost_per_token_above_128k_tokens not imported (no input_cost_per_token threshold of its own, so LiteLLM never applies it)",
		"perplexity/sonar-deep-research: field citation_cost_per_token not imported",
		"perplexity/sonar-deep-research: field search_context_cost_per_query not imported" + perCall,
		"together/meta-llama/Llama-3.3-70B-Instruct-Turbo: output_cost_per_token: price 1.6666666666666667e-06 per token is not a whole number of nano-dollars per million tokens",
		"xai/grok-4: field search_context_cost_per_query not imported" + perCall,
		"google/gemini-2.5-pro: key gemini-2.5-pro (vertex_ai-language-models) not imported: key gemini/gemini-2.5-pro prices the same id differently",
		"dashscope: provider unknown to Weir (2 models)",
	}
	if !slices.Equal(rep.Skipped, want) {
		t.Errorf("report:\n%s\nwant:\n%s", strings.Join(rep.Skipped, "\n"), strings.Join(want, "\n"))
	}
}

func TestImportLiteLLMPrices(t *testing.T) {
	sheets, _ := importLiteLLMSample(t)
	c, err := New("litellm", sheets...)
	if err != nil {
		t.Fatalf("imported sheets do not load: %v", err)
	}
	at := day("2026-11-01")
	for _, tt := range []struct {
		name, provider, model string
		u                     usage.Usage
		tier                  string
		batch                 bool
		units                 Units
		want                  string // dollars; "" for unpriced
	}{
		// 800*0.15 + 200*0.075 + 500*0.60 = 120+15+300 = 435 -> $0.000435
		{name: "gpt-4o-mini", provider: "openai", model: "gpt-4o-mini",
			u: usage.Usage{InputTokens: 1000, CacheReadTokens: 200, OutputTokens: 500}, want: "0.000435"},
		// the priority tier's own prices: 800*0.25 + 200*0.125 + 500*1 = 725 -> $0.000725
		{name: "gpt-4o-mini priority", provider: "openai", model: "gpt-4o-mini", tier: "priority",
			u: usage.Usage{InputTokens: 1000, CacheReadTokens: 200, OutputTokens: 500}, want: "0.000725"},
		// 435 * 0.5 = 217.5 -> $0.0002175
		{name: "gpt-4o-mini batch", provider: "openai", model: "gpt-4o-mini", batch: true,
			u: usage.Usage{InputTokens: 1000, CacheReadTokens: 200, OutputTokens: 500}, want: "0.0002175"},
		// (1000*1.25 + 1000*10) * 0.5 = 5625 -> $0.005625
		{name: "gpt-5 flex", provider: "openai", model: "gpt-5", tier: "flex",
			u: usage.Usage{InputTokens: 1000, OutputTokens: 1000}, want: "0.005625"},
		// 11250 * 2 -> $0.0225, through the alias key
		{name: "gpt-5 priority by alias", provider: "openai", model: "gpt-5-2025-08-07", tier: "priority",
			u: usage.Usage{InputTokens: 1000, OutputTokens: 1000}, want: "0.0225"},
		// priority not imported, list price above 272k: 300000*5 + 1000*22.5 -> $1.5225
		{name: "gpt-5.4 long prompt", provider: "openai", model: "gpt-5.4", tier: "priority",
			u: usage.Usage{InputTokens: 300000, OutputTokens: 1000}, want: "1.5225"},
		// 900*2.5 + 100*40 + 50*10 + 50*80 = 2250+4000+500+4000 = 10750 -> $0.01075
		{name: "audio", provider: "openai", model: "gpt-4o-audio-preview",
			u:    usage.Usage{InputTokens: 1000, InputAudioTokens: 100, OutputTokens: 100, OutputAudioTokens: 50},
			want: "0.01075"},
		// above 200k, by alias: 238000*6 + 10000*0.6 + 1000*7.5 + 1000*12 + 1000*22.5
		// = 1428000+6000+7500+12000+22500 = 1476000 -> $1.476, plus 2 searches at
		// $10 per 1,000 -> $1.496
		{name: "claude long prompt", provider: "anthropic", model: "claude-sonnet-4-5-20250929",
			u: usage.Usage{InputTokens: 250000, CacheReadTokens: 10000, CacheWriteTokens: 2000, CacheWrite1hTokens: 1000,
				OutputTokens: 1000},
			units: Units{WebSearches: 2}, want: "1.496"},
		// gemini key, above 200k: 199001*2.5 + 1000*0.25 = 497752.5 -> $0.4977525
		{name: "gemini-2.5-pro long prompt", provider: "google", model: "gemini-2.5-pro",
			u: usage.Usage{InputTokens: 200001, CacheReadTokens: 1000}, want: "0.4977525"},
		// 1000*0.5 = 500 -> $0.0005, plus 3 searches at $14 per 1,000 -> $0.0425
		{name: "gemini-3 search", provider: "google", model: "gemini-3-flash-preview",
			u: usage.Usage{InputTokens: 1000}, units: Units{WebSearches: 3}, want: "0.0425"},
		// Vertex AI only: 900*0.15 + 100*1 + 100*0.6 = 135+100+60 = 295 -> $0.000295
		{name: "vertex fallback", provider: "google", model: "gemini-2.0-flash-001",
			u: usage.Usage{InputTokens: 1000, InputAudioTokens: 100, OutputTokens: 100}, want: "0.000295"},
		// xAI's tier from 128,000 tokens included: 128000*6 -> $0.768
		{name: "grok-4 at the threshold", provider: "xai", model: "grok-4",
			u: usage.Usage{InputTokens: 128000}, want: "0.768"},
		// 127999*3 = 383997 -> $0.383997
		{name: "grok-4 below the threshold", provider: "xai", model: "grok-4",
			u: usage.Usage{InputTokens: 127999}, want: "0.383997"},
		// 1000*1 + 1000*1 = 2000 -> $0.002, plus $5 per 1,000 requests -> $0.007
		{name: "request fee", provider: "openrouter", model: "perplexity/sonar",
			u: usage.Usage{InputTokens: 1000, OutputTokens: 1000}, want: "0.007"},
		// cache hits: 400*0.27 + 600*0.07 + 100*1.1 = 108+42+110 = 260 -> $0.00026
		{name: "deepseek cache hit", provider: "deepseek", model: "deepseek-chat",
			u: usage.Usage{InputTokens: 1000, CacheReadTokens: 600, OutputTokens: 100}, want: "0.00026"},
		// (1000*0.075 + 1000*0.3) * 0.5 = 187.5 -> $0.0001875
		{name: "groq batch", provider: "groq", model: "openai/gpt-oss-20b", batch: true,
			u: usage.Usage{InputTokens: 1000, OutputTokens: 1000}, want: "0.0001875"},
		// 1000*2 + 600*8 + 400*3 = 2000+4800+1200 = 8000 -> $0.008
		{name: "reasoning", provider: "perplexity", model: "sonar-deep-research",
			u: usage.Usage{InputTokens: 1000, OutputTokens: 1000, ReasoningTokens: 400}, want: "0.008"},
		// batch prices not imported: list price, 1000*2.5 -> $0.0025
		{name: "azure batch at list price", provider: "azure", model: "gpt-4o", batch: true,
			u: usage.Usage{InputTokens: 1000}, want: "0.0025"},
		{name: "inexact price left out", provider: "together", model: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
			u: usage.Usage{InputTokens: 1000}},
		{name: "region key left out", provider: "bedrock", model: "anthropic.claude-v2:1",
			u: usage.Usage{InputTokens: 1000}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Price(Query{Provider: tt.provider, Model: tt.model, At: at, Usage: tt.u,
				ServiceTier: tt.tier, Batch: tt.batch, Units: tt.units})
			if err != nil {
				t.Fatal(err)
			}
			checkSum(t, got)
			if tt.want == "" {
				if got.Priced() {
					t.Errorf("priced: %v", got)
				}
				return
			}
			if want := usd(t, tt.want); !got.Priced() || got.Total != want {
				t.Errorf("%v (total $%s), want $%s", got, got.Total.Format(15), tt.want)
			}
		})
	}
}

// The sheets are catalog files: written out (JSON is YAML) they load back
// as they were.
func TestImportLiteLLMRoundTrip(t *testing.T) {
	sheets, _ := importLiteLLMSample(t)
	for _, s := range sheets {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSheet(s.Provider+".yaml", b)
		if err != nil {
			t.Fatalf("%s: %v", s.Provider, err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("%s: round trip changed the sheet:\n%s", s.Provider, b)
		}
	}
}

func TestLiteLLMAmount(t *testing.T) {
	f := func(in string, u llUnit, want string) {
		t.Helper()
		got, err := litellmAmount(json.RawMessage(in), u)
		if want == "" {
			if err == nil {
				t.Errorf("%s: got %s, want an error", in, got)
			}
			return
		}
		if err != nil || got != *Dec(want) {
			t.Errorf("%s: got %s, %v; want %s", in, got, err, want)
		}
	}
	f("2.5e-06", llPerToken, "2.5")
	f("3E-7", llPerToken, "0.3")
	f("0.0000006", llPerToken, "0.6")
	f("1e-15", llPerToken, "0.000000001")
	f("5.46875e-07", llPerToken, "0.546875")
	f("0", llPerToken, "0")
	f("0.0", llPerToken, "0")
	f("-0", llPerToken, "0")
	f("1e+3", llPerToken, "1000000000")
	f("0.005", llPerRequest, "5")
	f("0.014", llPerSearch, "14")
	// Not whole nano-dollars per million tokens, or per 1,000 calls.
	f("1.6666666666666667e-06", llPerToken, "")
	f("1e-16", llPerToken, "")
	f("1e-13", llPerRequest, "")
	// Negative, out of range, not a number.
	f("-1e-06", llPerToken, "")
	f("1e400", llPerToken, "")
	f("1e-999999999999", llPerToken, "")
	f("1000000001", llPerToken, "")
	f("10000000", llPerRequest, "")
	f(`"3e-7"`, llPerToken, "")
	f("true", llPerToken, "")
	f("{}", llPerToken, "")
}

func TestParseLiteLLMKey(t *testing.T) {
	f := func(k string, c llComp, above int64, variant string, ok bool) {
		t.Helper()
		gc, ga, gv, gok := parseLiteLLMKey(k)
		if gok != ok || ok && (gc != c || ga != above || gv != variant) {
			t.Errorf("%s: %v %d %q %v, want %v %d %q %v", k, gc, ga, gv, gok, c, above, variant, ok)
		}
	}
	f("input_cost_per_token", llInput, 0, "", true)
	f("cache_creation_input_token_cost_above_1hr", llCacheWrite1h, 0, "", true)
	f("cache_creation_input_token_cost_above_1hr_above_200k_tokens", llCacheWrite1h, 200000, "", true)
	f("input_cost_per_token_above_272k_tokens_priority", llInput, 272000, "priority", true)
	f("output_cost_per_token_above_128_tokens", llOutput, 128, "", true)
	f("cache_read_input_token_cost_flex", llCacheRead, 0, "flex", true)
	f("input_cost_per_audio_token_batches", llInputAudio, 0, "batches", true)
	f("output_cost_per_image_token", llOutputImage, 0, "", true)
	f("input_cost_per_token_above_1m_tokens", 0, 0, "", false)
	f("input_cost_per_token_above_0k_tokens", 0, 0, "", false)
	f("input_cost_per_token_above_+5k_tokens", 0, 0, "", false)
	f("input_cost_per_token_above_99999999999999999k_tokens", 0, 0, "", false)
	f("input_cost_per_character", 0, 0, "", false)
	f("input_cost_per_video_per_second_above_8s_interval", 0, 0, "", false)
	f("input_cost_per_token_priority_above_200k_tokens", 0, 0, "", false)
	f("cost_above_tokens", 0, 0, "", false)
	f("input_cost_per_token_above_tokens", 0, 0, "", false)
	f("input_cost_per_token_above_k_tokens", 0, 0, "", false)
}

func TestImportLiteLLMCases(t *testing.T) {
	type tc struct {
		name, in string
		entries  []Entry // every entry of every sheet, in order
		report   []string
	}
	one := func(e Entry) []Entry { return []Entry{e} }
	for _, tt := range []tc{
		{name: "empty", in: `{}`},
		{name: "not model entries",
			in:     `{"sample_spec": {"litellm_provider": "one of ..."}, "last_updated": "2026-01-01", "x": {"mode": "chat"}, "y": null}`,
			report: []string{"last_updated: not a model entry (no litellm_provider)", "x: not a model entry (no litellm_provider)", "y: not a model entry (no litellm_provider)"}},
		{name: "no token price without a mode",
			in:     `{"m": {"litellm_provider": "openai", "input_cost_per_request": 0.01}}`,
			report: []string{"openai/m: no token price"}},
		{name: "null and capability fields are not prices",
			in: `{"m": {"litellm_provider": "mistral", "input_cost_per_token": 1e-06, "output_cost_per_token": null,
				"supports_vision": true, "max_tokens": 5, "mode": "chat", "rpm": 10}}`,
			entries: one(Entry{ID: "mistral/m", Match: Match{Exact: []string{"m"}}, Prices: Prices{Input: Dec("1")}})},
		{name: "an invalid imported price leaves the model out",
			in:     `{"m": {"litellm_provider": "groq", "input_cost_per_token": "3e-7", "output_cost_per_token": 1e-06}}`,
			report: []string{`groq/m: input_cost_per_token: price "3e-7" is not a number`}},
		{name: "an invalid price not imported does not",
			in:      `{"m": {"litellm_provider": "groq", "input_cost_per_token": 1e-06, "input_cost_per_second": "x"}}`,
			entries: one(Entry{ID: "groq/m", Match: Match{Exact: []string{"m"}}, Prices: Prices{Input: Dec("1")}}),
			report:  []string{"groq/m: field input_cost_per_second not imported"}},
		{name: "same prices twice: one entry, nothing to report",
			in: `{"cohere/command-r": {"litellm_provider": "cohere", "input_cost_per_token": 1.5e-07},
				"command-r": {"litellm_provider": "cohere_chat", "input_cost_per_token": 1.5e-07}}`,
			entries: one(Entry{ID: "cohere/command-r", Match: Match{Exact: []string{"command-r"}}, Prices: Prices{Input: Dec("0.15")}})},
		{name: "ids match ignoring case",
			in: `{"M": {"litellm_provider": "openai", "input_cost_per_token": 1e-06},
				"m": {"litellm_provider": "openai", "input_cost_per_token": 2e-06, "aliases": ["M", "m2", "m2"]}}`,
			entries: one(Entry{ID: "openai/M", Match: Match{Exact: []string{"M"}}, Prices: Prices{Input: Dec("1")}}),
			report:  []string{"openai/m: key m (openai) not imported: key M prices the same id differently"}},
		{name: "an alias never displaces a model key",
			in: `{"a": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "aliases": ["b", "c", "c", "a", 7]},
				"b": {"litellm_provider": "openai", "input_cost_per_token": 2e-06}}`,
			entries: []Entry{
				{ID: "openai/a", Match: Match{Exact: []string{"a", "c"}}, Prices: Prices{Input: Dec("1")}},
				{ID: "openai/b", Match: Match{Exact: []string{"b"}}, Prices: Prices{Input: Dec("2")}},
			},
			report: []string{"openai/a: alias b not imported: key b prices that id differently"}},
		{name: "aliases of a key",
			in:      `{"a": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "aliases": ["openai/a-1", "a-2", ""]}}`,
			entries: one(Entry{ID: "openai/a", Match: Match{Exact: []string{"a", "a-1", "a-2"}}, Prices: Prices{Input: Dec("1")}})},
		{name: "vertex fills in, never replaces",
			in: `{"vertex_ai/gemini-x": {"litellm_provider": "vertex_ai-language-models", "input_cost_per_token": 2e-06},
				"gemini/gemini-x": {"litellm_provider": "gemini", "input_cost_per_token": 1e-06},
				"vertex_ai/claude-x": {"litellm_provider": "vertex_ai-anthropic_models", "input_cost_per_token": 1e-06}}`,
			entries: one(Entry{ID: "google/gemini-x", Match: Match{Exact: []string{"gemini-x"}}, Prices: Prices{Input: Dec("1")}}),
			report: []string{
				"google/gemini-x: key vertex_ai/gemini-x (vertex_ai-language-models) not imported: key gemini/gemini-x prices the same id differently",
				"vertex_ai-anthropic_models: provider unknown to Weir (1 model)",
			}},
		{name: "cache hit price differing from the cache read price",
			in: `{"deepseek-chat": {"litellm_provider": "deepseek", "input_cost_per_token": 2.7e-07,
				"cache_read_input_token_cost": 7e-08, "input_cost_per_token_cache_hit": 1.4e-07}}`,
			entries: one(Entry{ID: "deepseek/deepseek-chat", Match: Match{Exact: []string{"deepseek-chat"}},
				Prices: Prices{Input: Dec("0.27"), CacheRead: Dec("0.07")}}),
			report: []string{"deepseek/deepseek-chat: field input_cost_per_token_cache_hit not imported (differs from cache_read_input_token_cost, which is imported)"}},
		{name: "tier prices when a tier price is missing, reasoning at the tier's output price",
			in: `{"o": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06,
				"output_cost_per_reasoning_token": 4e-06, "cache_read_input_token_cost": 2.5e-07,
				"input_cost_per_token_priority": 2e-06, "output_cost_per_token_priority": 8e-06}}`,
			entries: one(Entry{ID: "openai/o", Match: Match{Exact: []string{"o"}},
				Prices:            Prices{Input: Dec("1"), CacheRead: Dec("0.25"), Output: Dec("4"), Reasoning: Dec("4")},
				ServiceTierPrices: map[string]Prices{"priority": {Input: Dec("2"), Output: Dec("8"), Reasoning: Dec("8")}}})},
		{name: "a multiplier would scale the request fee",
			in: `{"o": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "input_cost_per_request": 0.01,
				"input_cost_per_token_flex": 5e-07}}`,
			entries: one(Entry{ID: "openai/o", Match: Match{Exact: []string{"o"}},
				Prices: Prices{Input: Dec("1")}, Fees: Fees{Requests: Dec("10")},
				ServiceTierPrices: map[string]Prices{"flex": {Input: Dec("0.5")}}})},
		{name: "tier prices that LiteLLM applies at one multiple",
			in: `{"o": {"litellm_provider": "openai", "input_cost_per_token": 1e-06,
				"input_cost_per_token_above_100k_tokens": 2e-06, "input_cost_per_token_priority": 2e-06,
				"input_cost_per_token_above_100k_tokens_priority": 4e-06, "input_cost_per_token_batches": 5e-07,
				"input_cost_per_token_above_100k_tokens_batches": 1e-06, "input_cost_per_video_token_priority": 1e-06}}`,
			entries: one(Entry{ID: "openai/o", Match: Match{Exact: []string{"o"}},
				Prices: Prices{Input: Dec("1")},
				Tiers:  []Tier{{Above: 100000, Prices: Prices{Input: Dec("2")}}},
				Batch:  Dec("0.5"), ServiceTiers: map[string]Decimal{"priority": *Dec("2")}}),
			report: []string{"openai/o: field input_cost_per_video_token_priority not imported"}},
		{name: "batch prices without standard ones",
			in: `{"o": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "output_cost_per_token_batches": 5e-07,
				"output_cost_per_audio_token_priority": 1e-06}}`,
			entries: one(Entry{ID: "openai/o", Match: Match{Exact: []string{"o"}}, Prices: Prices{Input: Dec("1")}}),
			report: []string{
				"openai/o: field output_cost_per_audio_token_priority not imported (LiteLLM does not apply it)",
				"openai/o: field output_cost_per_token_batches not imported (batch prices are not one multiple of the standard ones)",
			}},
		{name: "free batch and tier prices add nothing",
			in: `{"o": {"litellm_provider": "openai", "input_cost_per_token": 0, "input_cost_per_token_batches": 0,
				"input_cost_per_token_flex": 0}}`,
			entries: one(Entry{ID: "openai/o", Match: Match{Exact: []string{"o"}}, Prices: Prices{Input: Dec("0")}})},
		{name: "web searches: medium size, per 1,000",
			in: `{"c": {"litellm_provider": "anthropic", "input_cost_per_token": 1e-06,
					"search_context_cost_per_query": {"search_context_size_low": 0.01, "search_context_size_medium": 0.02}},
				"d": {"litellm_provider": "anthropic", "input_cost_per_token": 1e-06,
					"search_context_cost_per_query": {"search_context_size_low": 0.01}},
				"e": {"litellm_provider": "anthropic", "input_cost_per_token": 1e-06,
					"search_context_cost_per_query": 0.01}}`,
			entries: []Entry{
				{ID: "anthropic/c", Match: Match{Exact: []string{"c"}}, Prices: Prices{Input: Dec("1")}, Fees: Fees{WebSearches: Dec("20")}},
				{ID: "anthropic/d", Match: Match{Exact: []string{"d"}}, Prices: Prices{Input: Dec("1")}},
			},
			report: []string{
				"anthropic/d: field search_context_cost_per_query not imported (no search_context_size_medium, the price LiteLLM charges per search)",
				"anthropic/e: search_context_cost_per_query: want an object of search context sizes",
			}},
		{name: "provider prefixes and model ids",
			in: `{"bedrock/invoke/anthropic.claude-x": {"litellm_provider": "bedrock", "input_cost_per_token": 1e-06},
				"bedrock/anthropic.claude-y": {"litellm_provider": "bedrock", "input_cost_per_token": 1e-06},
				"xai/": {"litellm_provider": "xai", "input_cost_per_token": 1e-06},
				"together-ai-up-to-4b": {"litellm_provider": "together_ai", "input_cost_per_token": 1e-07},
				"fireworks_ai/accounts/fireworks/models/m": {"litellm_provider": "fireworks_ai", "input_cost_per_token": 1e-07}}`,
			entries: []Entry{
				{ID: "bedrock/anthropic.claude-y", Match: Match{Exact: []string{"anthropic.claude-y"}}, Prices: Prices{Input: Dec("1")}},
				{ID: "fireworks/accounts/fireworks/models/m", Match: Match{Exact: []string{"accounts/fireworks/models/m"}}, Prices: Prices{Input: Dec("0.1")}},
			},
			report: []string{
				"bedrock/invoke/anthropic.claude-x: region- or deployment-specific key, not a model id",
				"together-ai-up-to-4b: price of a model size class, not a model id",
				"xai/: no model id after the provider prefix",
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sheets, rep, err := ImportLiteLLM(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []Entry
			for _, s := range sheets {
				got = append(got, s.Entries...)
			}
			if len(got) != len(tt.entries) || rep.Models != len(got) {
				t.Errorf("%d entries (report: %d), want %d", len(got), rep.Models, len(tt.entries))
			}
			for i := range min(len(got), len(tt.entries)) {
				if !reflect.DeepEqual(got[i], tt.entries[i]) {
					t.Errorf("entry %d:\n got %s\nwant %s", i, entryJSON(got[i]), entryJSON(tt.entries[i]))
				}
			}
			if !slices.Equal(rep.Skipped, tt.report) {
				t.Errorf("report:\n%s\nwant:\n%s", strings.Join(rep.Skipped, "\n"), strings.Join(tt.report, "\n"))
			}
			if _, err := New("test", sheets...); err != nil {
				t.Errorf("sheets do not load: %v", err)
			}
		})
	}
}

func TestImportLiteLLMErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `null`, `"x"`, `{"a": 1,}`} {
		if _, _, err := ImportLiteLLM(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzImportLiteLLM(f *testing.F) {
	b, err := os.ReadFile(litellmSample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"m": {"litellm_provider": "xai", "input_cost_per_token": 1e-06, "input_cost_per_token_above_1k_tokens": 2e-06,
		"input_cost_per_token_priority": 3e-06, "cache_creation_input_token_cost_above_1hr_above_1k_tokens": 4e-06}}`))
	f.Add([]byte(`{"m": {"litellm_provider": "openai", "input_cost_per_token": 0, "output_cost_per_token_flex": 1e-06,
		"output_cost_per_reasoning_token": 2e-06, "aliases": ["M", "n"], "input_cost_per_request": 1e-2}}`))
	// Found by fuzzing: "_above_" and "_tokens" overlapping.
	f.Add([]byte(`{"0":{"litellm_provider":"xai","cost_above_tokens":0}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sheets, rep, err := ImportLiteLLM(bytes.NewReader(b))
		if err != nil {
			return
		}
		c, err := New("fuzz", sheets...)
		if err != nil {
			t.Fatalf("imported sheets do not load: %v", err)
		}
		n := 0
		for _, s := range sheets {
			n += len(s.Entries)
			for _, e := range s.Entries {
				for _, m := range e.Match.Exact {
					for _, tier := range []string{"", "priority", "flex"} {
						cost, err := c.Price(Query{Provider: s.Provider, Model: m, At: time.Unix(1, 0), ServiceTier: tier, Batch: tier == "",
							Usage: usage.Usage{InputTokens: 300000, CacheReadTokens: 1000, CacheWriteTokens: 500, CacheWrite1hTokens: 100,
								OutputTokens: 2000, ReasoningTokens: 500, OutputAudioTokens: 10},
							Units: Units{WebSearches: 2}})
						if err == nil {
							checkSum(t, cost)
						}
					}
				}
			}
		}
		if n != rep.Models {
			t.Fatalf("report counts %d models, sheets hold %d", rep.Models, n)
		}
	})
}

package pricing

import (
	"testing"
	"time"

	"github.com/weirhq/weir/internal/usage"
)

func FuzzParseSheet(f *testing.F) {
	names, _ := embedded.ReadDir("catalog")
	for _, n := range names {
		b, _ := embedded.ReadFile("catalog/" + n.Name())
		f.Add(b)
	}
	f.Add([]byte("provider: openai\nentries:\n  - {id: a, match: {exact: [m]}, prices: {input: 1}, tiers: [{above: 1, prices: {output: 2}}]}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSheet("fuzz.yaml", b)
		if err != nil {
			return
		}
		c, err := New("fuzz", s)
		if err != nil {
			return
		}
		// Whatever parses must price without panicking.
		for _, e := range s.Entries {
			for _, m := range append(e.Match.Exact, e.Match.Prefix...) {
				cost, err := c.Price(Query{Provider: s.Provider, Model: m, At: time.Unix(1, 0), Usage: usage.Usage{InputTokens: 300000, CacheReadTokens: 1000, OutputTokens: 10}})
				if err == nil {
					checkSum(t, cost)
				}
			}
		}
	})
}

func FuzzPrice(f *testing.F) {
	c := mustEmbedded(f)
	f.Add("anthropic", "claude-sonnet-4-5", int64(1_700_000_000), int64(3500), int64(2000), int64(500), int64(200), int64(300), int64(0), int64(0), int64(0), int64(1), false, "")
	f.Add("openai", "o3", int64(1_750_000_000), int64(1000), int64(0), int64(0), int64(0), int64(5000), int64(4000), int64(0), int64(0), int64(0), true, "flex")
	f.Add("openai", "gpt-realtime", int64(1_750_000_000), int64(1000), int64(0), int64(0), int64(0), int64(500), int64(0), int64(600), int64(400), int64(0), false, "priority")
	f.Add("bedrock", "us.anthropic.claude-opus-4-6", int64(1_750_000_000), int64(300000), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), true, "")
	f.Fuzz(func(t *testing.T, provider, model string, at, in, cr, cw, cw1h, out, reas, inA, outA, searches int64, batch bool, tier string) {
		q := Query{Provider: provider, Model: model, At: time.Unix(at%(1<<40), 0), Batch: batch, ServiceTier: tier,
			Usage: usage.Usage{InputTokens: in, CacheReadTokens: cr, CacheWriteTokens: cw, CacheWrite1hTokens: cw1h,
				OutputTokens: out, ReasoningTokens: reas, InputAudioTokens: inA, OutputAudioTokens: outA},
			Units: Units{WebSearches: searches}}
		cost, err := c.Price(q)
		if err != nil {
			return
		}
		checkSum(t, cost)
		if cost.Priced() && cost.Unpriced != 0 {
			t.Fatal("priced with unpriced units")
		}
		// Another overlay-free catalog copy gives the same answer.
		again, _ := c.Price(q)
		if again != cost {
			t.Fatalf("not deterministic: %+v vs %+v", cost, again)
		}
		// The same counts as image tokens instead of audio: still whole.
		img := q
		img.Usage.InputImageTokens, img.Usage.InputAudioTokens = inA, 0
		img.Usage.OutputImageTokens, img.Usage.OutputAudioTokens = outA, 0
		if cost, err := c.Price(img); err == nil {
			checkSum(t, cost)
		}
	})
}

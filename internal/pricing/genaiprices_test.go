package pricing

import (
	"os"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/usage"
)

const genaiFile = "../../../shared/reference/genai-prices/data_slim.json"

func TestImportGenAIPricesReference(t *testing.T) {
	f, err := os.Open(genaiFile)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent (it is present in CI, under ../shared): skipping the import test on the real file", genaiFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets, rep, err := ImportGenAIPrices(f)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Models < 300 {
		t.Errorf("imported only %d models", rep.Models)
	}
	c, err := New("genai-prices", sheets...)
	if err != nil {
		t.Fatalf("imported sheets do not validate: %v", err)
	}
	for _, tt := range []struct {
		provider, model, at string
		u                   usage.Usage
		want                string
	}{
		// 1000*2.50 + 1000*10 = 12500 -> $0.0125
		{"openai", "gpt-4o", "2026-01-01", usage.Usage{InputTokens: 1000, OutputTokens: 1000}, "0.0125"},
		// o3 before 2025-06-10: 1000*10 + 1000*40 = 50000 -> $0.05
		{"openai", "o3", "2025-05-01", usage.Usage{InputTokens: 1000, OutputTokens: 1000}, "0.05"},
		// o3 from 2025-06-10: 1000*2 + 1000*8 = 10000 -> $0.01
		{"openai", "o3", "2025-07-01", usage.Usage{InputTokens: 1000, OutputTokens: 1000}, "0.01"},
		// claude-sonnet-4-5 tier (per-price tiers merged): 200001*6 + 1000*22.50 -> $1.222506
		{"anthropic", "claude-sonnet-4-5-20250929", "2026-01-01", usage.Usage{InputTokens: 200001, OutputTokens: 1000}, "1.222506"},
		// claude-haiku-4-5 with cache: 1000*1 + 2000*0.10 + 500*1.25 + 300*5 = 1000+200+625+1500 = 3325 -> $0.003325
		{"anthropic", "claude-haiku-4-5", "2026-01-01", usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 500, OutputTokens: 300}, "0.003325"},
		// gemini-2.5-pro above 200k: 200001*2.50 = 500002.5 -> $0.5000025
		{"google", "gemini-2.5-pro", "2026-01-01", usage.Usage{InputTokens: 200001}, "0.5000025"},
		// text-embedding-3-small: 1000000*0.02 -> $0.02
		{"openai", "text-embedding-3-small", "2026-01-01", usage.Usage{InputTokens: 1000000}, "0.02"},
		// groq gpt-oss-20b: 1*0.075 + 1*0.0375 -> $0.0000001125
		{"groq", "openai/gpt-oss-20b", "2026-01-01", usage.Usage{InputTokens: 2, CacheReadTokens: 1}, "0.0000001125"},
		// xai grok-4 under its x-ai provider id: 1000*3 + 1000*15 -> $0.018
		{"xai", "grok-4", "2026-01-01", usage.Usage{InputTokens: 1000, OutputTokens: 1000}, "0.018"},
	} {
		got, err := c.Price(Query{Provider: tt.provider, Model: tt.model, At: day(tt.at), Usage: tt.u})
		if err != nil {
			t.Fatal(err)
		}
		if want := usd(t, tt.want); got.Total != want || !got.Priced() {
			t.Errorf("%s/%s at %s: %v (total $%s), want $%s", tt.provider, tt.model, tt.at, got, got.Total.Format(15), tt.want)
		}
	}
	// Time-of-day periods are reported, not silently flattened.
	if !slicesContainsPrefix(rep.Skipped, "deepseek/deepseek-chat: time-of-day price period") {
		t.Errorf("time-of-day period not reported")
	}
}

func slicesContainsPrefix(list []string, p string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestImportGenAIPricesSmall(t *testing.T) {
	in := `[{"id":"openai","pricing_urls":["u"],"models":[
	  {"id":"m1","match":{"or":[{"equals":"m1"},{"contains":"x"}]},"prices":{"input_mtok":1e-2,"output_mtok":2,"requests_kcount":0.5}},
	  {"id":"m2","match":{"regex":"^m2"},"prices":{"input_mtok":1}}]},
	 {"id":"nosuch","models":[]}]`
	sheets, rep, err := ImportGenAIPrices(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(sheets) != 1 || len(sheets[0].Entries) != 1 || rep.Models != 1 || len(rep.Skipped) != 4 {
		t.Fatalf("sheets %+v report %+v", sheets, rep)
	}
	e := sheets[0].Entries[0]
	if *e.Prices.Input != *Dec("0.01") || *e.Fees.Requests != *Dec("0.5") {
		t.Errorf("entry %+v", e)
	}
	if _, _, err := ImportGenAIPrices(strings.NewReader(`{`)); err == nil {
		t.Error("bad JSON accepted")
	}
}

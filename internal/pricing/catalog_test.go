package pricing

import (
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/usage"
)

func TestOverlay(t *testing.T) {
	c := mustEmbedded(t)
	o, err := ParseOverlay("acme.yaml", []byte(`
name: acme
discounts: {anthropic: 0.15}
sheets:
  - provider: openai
    entries:
      - id: acme/gpt-4o
        match: {exact: [gpt-4o-2024-08-06]}
        prices: {input: 2, cache_read: 1, output: 8}
`))
	if err != nil {
		t.Fatal(err)
	}
	oc, err := c.WithOverlay(o)
	if err != nil {
		t.Fatal(err)
	}
	if oc.Version() != c.Version()+"+acme" {
		t.Errorf("version %s", oc.Version())
	}
	at := day("2026-11-01")
	// 15% off Anthropic: 9975 * 0.85 = 8478.75 -> $0.00847875
	got, err := oc.Price(Query{Provider: "anthropic", Model: "claude-sonnet-4-5", At: at,
		Usage: usage.Usage{InputTokens: 3500, CacheReadTokens: 2000, CacheWriteTokens: 500, OutputTokens: 300}})
	if err != nil || got.Total != usd(t, "0.00847875") || got.Multiplier != 850000 {
		t.Errorf("discount: %+v %v", got, err)
	}
	checkSum(t, got)
	// Discount and batch stack: 375000 * 0.5 ... opus-4.5 batch $0.375 * 0.85 = $0.31875
	got, _ = oc.Price(Query{Provider: "anthropic", Model: "claude-opus-4-5", At: at, Batch: true, Usage: usage.Usage{InputTokens: 100000, OutputTokens: 10000}})
	if got.Total != usd(t, "0.31875") {
		t.Errorf("discount+batch: $%s", got.Total)
	}
	// Negotiated sheet overrides the public entry: 6000*2 + 4000*1 + 500*8 = 12000+4000+4000 = 20000 -> $0.02
	got, _ = oc.Price(Query{Provider: "openai", Model: "gpt-4o-2024-08-06", At: at, Usage: usage.Usage{InputTokens: 10000, CacheReadTokens: 4000, OutputTokens: 500}})
	if got.Total != usd(t, "0.02") || got.EntryID != "acme/gpt-4o" || !got.Negotiated {
		t.Errorf("custom sheet: %+v", got)
	}
	// Other OpenAI models keep the public price; the base catalog is unchanged.
	got, _ = c.Price(Query{Provider: "openai", Model: "gpt-4o-2024-08-06", At: at, Usage: usage.Usage{InputTokens: 10000, CacheReadTokens: 4000, OutputTokens: 500}})
	if got.Total != usd(t, "0.025") {
		t.Errorf("base catalog changed: %+v", got)
	}
	// Overlays replace each other rather than stacking.
	o2 := Overlay{Name: "beta", Discounts: map[string]Decimal{"openai": *Dec("0.5")}}
	oc2, err := oc.WithOverlay(o2)
	if err != nil || oc2.Version() != c.Version()+"+beta" {
		t.Fatalf("%v %v", oc2, err)
	}
	for _, bad := range []Overlay{
		{},
		{Name: "x", Discounts: map[string]Decimal{"nosuch": *Dec("0.1")}},
		{Name: "x", Discounts: map[string]Decimal{"openai": *Dec("1")}},
		{Name: "x", Sheets: []Sheet{{Provider: "openai", Entries: []Entry{{ID: "openai/gpt-4o", Match: Match{Exact: []string{"x"}}, Prices: Prices{Input: Dec("1")}}}}}},
	} {
		if _, err := c.WithOverlay(bad); err == nil {
			t.Errorf("overlay %+v accepted", bad)
		}
	}
}

func TestParseSheetErrors(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"provider: openai\nentries:\n  - id: a\n    match: {exact: [a]}\n    pricez: {input: 1}\n", "t.yaml: yaml: unmarshal errors:\n  line 5: field pricez not found"},
		{"provider: nosuch\nentries: []\n", `t.yaml: unknown provider "nosuch"`},
		{"provider: openai\nentries:\n  - id: a\n    match: {exact: [a]}\n    prices: {input: -1}\n", "line 5: negative price -1"},
		{"provider: openai\nentries:\n  - id: a\n    match: {exact: [a]}\n    prices: {input: 1e3}\n", `line 5: invalid number "1e3"`},
		{"provider: openai\nentries:\n  - id: a\n    match: {exact: [a]}\n    prices: {input: 0.0000000001}\n", "more than 9 decimals"},
		{"provider: openai\nentries:\n  - id: a\n    match: {}\n    prices: {input: 1}\n", "entry a: match has no exact id or prefix"},
		{"provider: openai\nentries:\n  - id: a\n    match: {exact: [a]}\n", "entry a: no prices"},
		{"provider: openai\nentries:\n  - id: a\n    match: {exact: [a]}\n    prices: {input: 1}\n    tiers: [{above: 200, prices: {input: 2}}, {above: 100, prices: {input: 3}}]\n", "tiers must be above 0 and in increasing order"},
		{"provider: openai\nentries:\n  - id: a\n    match: {exact: [a]}\n    from: 2025-02-01\n    until: 2025-01-01\n    prices: {input: 1}\n", "until is not after from"},
		{"provider: openai\nentries:\n  - id: a\n    match: {exact: [a]}\n    from: 2025-13-01\n    prices: {input: 1}\n", "line 5: invalid date"},
		{"provider: openai\nbatch: 0\nentries: []\n", "batch multiplier must be above 0"},
		{"provider: openai\ninherits: [nosuch]\nentries: []\n", `inherits: unknown provider "nosuch"`},
		{"provider: openai\nentries: []\naliases: [{alias: a, target: b, provider: nosuch}]\n", `alias a: unknown provider "nosuch"`},
		{"provider: openai\nentries: []\n---\nprovider: openai\n", "more than one YAML document"},
	} {
		_, err := ParseSheet("t.yaml", []byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSheet(%q) = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	sheet := func(y string) Sheet {
		s, err := ParseSheet("t.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tt := range []struct {
		sheets []Sheet
		want   string
	}{
		{[]Sheet{sheet("provider: openai\nentries:\n  - {id: a, match: {exact: [m]}, prices: {input: 1}}\n  - {id: b, match: {exact: [m]}, prices: {input: 2}}\n")}, "entries a and b overlap in time for model m"},
		{[]Sheet{sheet("provider: openai\nentries:\n  - {id: a, match: {prefix: [m]}, until: 2025-03-01, prices: {input: 1}}\n  - {id: b, match: {prefix: [m]}, from: 2025-02-01, prices: {input: 2}}\n")}, "entries a and b overlap in time for model m*"},
		{[]Sheet{sheet("provider: openai\nentries:\n  - {id: a, match: {exact: [m]}, prices: {input: 1}}\n  - {id: a, match: {exact: [n]}, prices: {input: 2}}\n")}, "duplicate entry id a"},
		{[]Sheet{sheet("provider: openai\nentries: []\n"), sheet("provider: openai\nentries: []\n")}, "two sheets for provider openai"},
		{[]Sheet{sheet("provider: azure\ninherits: [openai]\nentries: []\n")}, "inherits openai, which has no sheet"},
		{[]Sheet{sheet("provider: openai\nentries: []\naliases: [{alias: a, target: b}]\n")}, "alias a: target b matches no entry"},
		{[]Sheet{sheet("provider: openai\nentries: []\naliases: [{alias: a, target: b, provider: groq}]\n")}, "provider groq has no sheet"},
		{[]Sheet{sheet("provider: openai\nentries:\n  - {id: a, match: {exact: [b]}, prices: {input: 1}}\naliases: [{alias: a, target: b, from: 2025-01-01}, {alias: a, target: b, from: 2025-01-01}]\n")}, "two targets from the same date"},
	} {
		_, err := New("v1", tt.sheets...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New = %v, want %q", err, tt.want)
		}
	}
	// Consecutive periods that touch are fine.
	if _, err := New("v1", sheet("provider: openai\nentries:\n  - {id: a, match: {exact: [m]}, until: 2025-02-01, prices: {input: 1}}\n  - {id: b, match: {exact: [m]}, from: 2025-02-01, prices: {input: 2}}\n")); err != nil {
		t.Error(err)
	}
}

func TestUntilLeavesAGap(t *testing.T) {
	s, err := ParseSheet("t.yaml", []byte("provider: openai\nentries:\n  - {id: a, match: {exact: [m]}, until: 2025-02-01, prices: {input: 1}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New("v1", s)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.Price(Query{Provider: "openai", Model: "m", At: day("2025-01-31"), Usage: usage.Usage{InputTokens: 1000000}})
	if got.Total != USD {
		t.Errorf("before until: %+v", got)
	}
	got, _ = c.Price(Query{Provider: "openai", Model: "m", At: day("2025-02-01"), Usage: usage.Usage{InputTokens: 1}})
	if got.Priced() {
		t.Errorf("after until: %+v", got)
	}
}

func TestMoneyFormat(t *testing.T) {
	for _, tt := range []struct {
		m      Money
		places int
		want   string
	}{
		{usd(t, "0.009975"), 6, "0.009975"},
		{usd(t, "0.0000001125"), 6, "0.000000"},
		{usd(t, "0.0000005"), 6, "0.000000"}, // half to even
		{usd(t, "0.0000015"), 6, "0.000002"},
		{usd(t, "1.5"), 0, "2"},
		{usd(t, "2.5"), 0, "2"},
		{-usd(t, "1.25"), 1, "-1.2"},
		{usd(t, "0.5150025"), 15, "0.515002500000000"},
	} {
		if got := tt.m.Format(tt.places); got != tt.want {
			t.Errorf("%d.Format(%d) = %s, want %s", tt.m, tt.places, got, tt.want)
		}
	}
	var s Sum
	for range 3_000_000 {
		s.Add(usd(t, "4000")) // 3e6 * $4,000 = $12e9, far beyond an int64 of femto-dollars
	}
	s.Add(usd(t, "0.000000000000001"))
	if got := s.Format(15); got != "12000000000.000000000000001" {
		t.Errorf("sum = %s", got)
	}
}

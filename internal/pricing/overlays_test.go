package pricing

import (
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/usage"
)

func TestOverlaysPrecedence(t *testing.T) {
	c := mustEmbedded(t)
	entry := func(id string, in string) Sheet {
		return Sheet{Provider: "openai", Entries: []Entry{{ID: id, Match: Match{Exact: []string{"gpt-4o-2024-08-06"}}, Prices: Prices{Input: Dec(in), Output: Dec("8")}}}}
	}
	api := Overlay{Name: "api", Sheets: []Sheet{entry("api/gpt-4o", "1")}, Discounts: map[string]Decimal{"anthropic": *Dec("0.2")}}
	cfg := Overlay{Name: "acme", Sheets: []Sheet{entry("acme/gpt-4o", "2"), {Provider: "openai", Entries: []Entry{{ID: "acme/gpt-4o-mini", Match: Match{Exact: []string{"gpt-4o-mini"}}, Prices: Prices{Input: Dec("0.1"), Output: Dec("0.4")}}}}},
		Discounts: map[string]Decimal{"anthropic": *Dec("0.1"), "google": *Dec("0.5")}}
	oc, err := c.WithOverlays(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if oc.Version() != c.Version()+"+api+acme" {
		t.Errorf("version %s", oc.Version())
	}
	at := day("2026-11-01")
	u := usage.Usage{InputTokens: 1_000_000}
	cases := []struct {
		provider, model, entry string
		want                   string
	}{
		// The first overlay wins: 1M input at $1.
		{"openai", "gpt-4o-2024-08-06", "api/gpt-4o", "1"},
		// Only the second overlay prices gpt-4o-mini: 1M at $0.10.
		{"openai", "gpt-4o-mini", "acme/gpt-4o-mini", "0.1"},
		// The first overlay's discount for Anthropic (20%) wins over the
		// second's (10%): a 1M-token prompt is above sonnet 4.5's 200k
		// tier, so input is $6 per million, * 0.8 = $4.80.
		{"anthropic", "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5", "4.8"},
	}
	for _, tc := range cases {
		got, err := oc.Price(Query{Provider: tc.provider, Model: tc.model, At: at, Usage: u})
		if err != nil || got.EntryID != tc.entry || got.Total != usd(t, tc.want) {
			t.Errorf("%s/%s: %s $%s %v, want %s $%s", tc.provider, tc.model, got.EntryID, got.Total, err, tc.entry, tc.want)
		}
	}
	// Listing: overlays first in precedence order, with their source.
	ls := oc.Entries()
	if ls[0].ID != "api/gpt-4o" || ls[0].Source != "api" || ls[1].Source != "acme" || ls[len(ls)-1].Source != SourcePublic {
		t.Errorf("listing order: %+v %+v %+v", ls[0], ls[1], ls[len(ls)-1])
	}
	if l, ok := oc.EntryByID("acme/gpt-4o-mini"); !ok || l.Provider != "openai" || l.Source != "acme" {
		t.Errorf("EntryByID: %+v %v", l, ok)
	}
	if got := oc.Overlays(); len(got) != 2 || got[0].Name != "api" {
		t.Errorf("Overlays: %+v", got)
	}
	// Names must be unique and free of '+'; ids unique across overlays.
	for _, bad := range [][]Overlay{
		{api, api},
		{{Name: "a+b"}},
		{api, {Name: "other", Sheets: []Sheet{entry("api/gpt-4o", "3")}}},
	} {
		if _, err := c.WithOverlays(bad...); err == nil {
			t.Errorf("overlays %v accepted", bad)
		} else if !strings.Contains(err.Error(), "overlay") && !strings.Contains(err.Error(), "duplicate") {
			t.Errorf("unclear error %v", err)
		}
	}
}

// TestInheritedAlias: Azure inherits OpenAI's list prices, and with them
// OpenAI's aliases: "gpt-4o" on Azure is gpt-4o-2024-08-06 as on OpenAI.
func TestInheritedAlias(t *testing.T) {
	c := mustEmbedded(t)
	// 1M input at $2.50 + 100k output at $10 = $2.50 + $1.00 = $3.50.
	got, err := c.Price(Query{Provider: "azure", Model: "gpt-4o", At: day("2026-11-10"), Usage: usage.Usage{InputTokens: 1_000_000, OutputTokens: 100_000}})
	if err != nil || got.EntryID != "openai/gpt-4o" || got.Total != usd(t, "3.5") {
		t.Errorf("azure gpt-4o: %+v %v", got, err)
	}
}

// TestServiceTierPrices: OpenAI's priority price for gpt-4o-mini ($0.25
// input, $0.125 cached, $1.00 output per million, on
// openai.com/api-priority-processing) is not a multiple of the standard
// $0.15 / $0.075 / $0.60, so the entry carries the tier's own prices.
func TestServiceTierPrices(t *testing.T) {
	sheet := Sheet{Provider: "openai", Batch: Dec("0.5"), ServiceTiers: map[string]Decimal{"flex": *Dec("0.5")}, Entries: []Entry{{
		ID: "t/gpt-4o-mini", Match: Match{Exact: []string{"gpt-4o-mini"}},
		Prices:            Prices{Input: Dec("0.15"), CacheRead: Dec("0.075"), Output: Dec("0.60")},
		ServiceTierPrices: map[string]Prices{"priority": {Input: Dec("0.25"), CacheRead: Dec("0.125"), Output: Dec("1.00")}},
	}}}
	c, err := New("t", sheet)
	if err != nil {
		t.Fatal(err)
	}
	u := usage.Usage{InputTokens: 1_000_000, CacheReadTokens: 200_000, OutputTokens: 100_000}
	cases := []struct {
		tier, want, own string
	}{
		// 800k * 0.25 + 200k * 0.125 + 100k * 1.00 = 0.20 + 0.025 + 0.10
		{"priority", "0.325", "priority"},
		{"PRIORITY", "0.325", "priority"},
		// 800k * 0.15 + 200k * 0.075 + 100k * 0.60 = 0.12 + 0.015 + 0.06
		{"default", "0.195", ""},
		// flex keeps its multiplier: 0.195 * 0.5
		{"flex", "0.0975", ""},
	}
	for _, tc := range cases {
		got, err := c.Price(Query{Provider: "openai", Model: "gpt-4o-mini", ServiceTier: tc.tier, Usage: u})
		if err != nil || got.Total != usd(t, tc.want) || got.ServiceTierPrices != tc.own {
			t.Errorf("%s: $%s %q %v, want $%s", tc.tier, got.Total, got.ServiceTierPrices, err, tc.want)
		}
		checkSum(t, got)
	}
	// A negotiated 10% off applies to the tier's prices too: 0.325 * 0.9.
	oc, err := c.WithOverlays(Overlay{Name: "acme", Discounts: map[string]Decimal{"openai": *Dec("0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := oc.Price(Query{Provider: "openai", Model: "gpt-4o-mini", ServiceTier: "priority", Usage: u}); got.Total != usd(t, "0.2925") {
		t.Errorf("discounted priority: $%s", got.Total)
	}
	bad := sheet
	bad.Entries = []Entry{sheet.Entries[0]}
	bad.Entries[0].ServiceTiers = map[string]Decimal{"priority": *Dec("2")}
	if _, err := New("t", bad); err == nil {
		t.Error("a tier with both a multiplier and prices accepted")
	}
}

// TestImageTokens: Gemini 2.5 Flash Image bills input at $0.30, text output
// at $2.50 and image output at $30 per million tokens; a 1024x1024 image is
// 1,290 output tokens (ai.google.dev/gemini-api/docs/pricing).
func TestImageTokens(t *testing.T) {
	c, err := New("t", Sheet{Provider: "google", Entries: []Entry{{
		ID: "t/gemini-2.5-flash-image", Match: Match{Exact: []string{"gemini-2.5-flash-image"}},
		Prices: Prices{Input: Dec("0.30"), Output: Dec("2.50"), OutputImage: Dec("30")},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	// 50 prompt tokens, one image (1,290 tokens) and 200 text tokens out:
	// 50 * 0.30 = $0.000015; 200 * 2.50 = $0.0005; 1290 * 30 = $0.0387.
	got, err := c.Price(Query{Provider: "google", Model: "gemini-2.5-flash-image",
		Usage: usage.Usage{InputTokens: 50, InputImageTokens: 0, OutputTokens: 1490, OutputImageTokens: 1290}})
	if err != nil || got.Total != usd(t, "0.039215") || got.OutputImage != usd(t, "0.0387") || got.Output != usd(t, "0.0005") {
		t.Errorf("image generation: %+v %v", got, err)
	}
	checkSum(t, got)
	// An image in the prompt has no price of its own: the text input price.
	// 258 image tokens + 42 text = 300 * 0.30 = $0.00009.
	got, _ = c.Price(Query{Provider: "google", Model: "gemini-2.5-flash-image", Usage: usage.Usage{InputTokens: 300, InputImageTokens: 258}})
	if got.Total != usd(t, "0.00009") || got.InputImage != usd(t, "0.0000774") || got.Unpriced != 0 {
		t.Errorf("image input: %+v", got)
	}
	if _, err := c.Price(Query{Provider: "google", Model: "gemini-2.5-flash-image", Usage: usage.Usage{InputTokens: 10, InputImageTokens: 11}}); err == nil {
		t.Error("image part larger than the input accepted")
	}
}

func TestOffPeak(t *testing.T) {
	sheet := Sheet{Provider: "deepseek", Entries: []Entry{{
		ID: "t/flash", Match: Match{Exact: []string{"flash"}}, Prices: Prices{Input: Dec("1")},
		OffPeak: &OffPeak{Multiplier: *Dec("0.5"), Holidays: []Date{{day("2026-10-01")}},
			Peak: []Window{{Days: []string{"mon", "Tue", "wed", "thu", "fri"}, From: "01:00", To: "04:00"}, {From: "22:00", To: "24:00"}}},
	}}}
	c, err := New("t", sheet)
	if err != nil {
		t.Fatal(err)
	}
	u := usage.Usage{InputTokens: 1_000_000} // $1 at peak
	for _, tc := range []struct {
		at   string
		want string
	}{
		{"2026-11-25T00:59:59Z", "0.5"}, // Wednesday, before the window
		{"2026-11-25T01:00:00Z", "1"},   // its first second
		{"2026-11-25T03:59:59Z", "1"},
		{"2026-11-25T04:00:00Z", "0.5"}, // To is exclusive
		{"2026-11-28T02:00:00Z", "0.5"}, // Saturday: the weekday window does not apply
		{"2026-11-28T23:30:00Z", "1"},   // ... the every-day window does
		{"2026-10-01T02:00:00Z", "0.5"}, // a holiday, a Thursday
		{"1969-12-31T23:00:00Z", "1"},   // before 1970: 22:00-24:00 every day
		{"1969-12-31T02:00:00Z", "1"},   // a Wednesday
		{"1969-12-27T02:00:00Z", "0.5"}, // a Saturday
	} {
		got, err := c.Price(Query{Provider: "deepseek", Model: "flash", At: day(tc.at), Usage: u})
		if err != nil || got.Total != usd(t, tc.want) || got.OffPeak != (tc.want == "0.5") {
			t.Errorf("%s: $%s off-peak %v %v, want $%s", tc.at, got.Total, got.OffPeak, err, tc.want)
		}
	}
	for _, bad := range []OffPeak{
		{Multiplier: *Dec("0.5")},
		{Peak: []Window{{From: "01:00", To: "02:00"}}},
		{Multiplier: *Dec("0.5"), Peak: []Window{{From: "1:00", To: "02:00"}}},
		{Multiplier: *Dec("0.5"), Peak: []Window{{From: "03:00", To: "02:00"}}},
		{Multiplier: *Dec("0.5"), Peak: []Window{{From: "23:00", To: "24:01"}}},
		{Multiplier: *Dec("0.5"), Peak: []Window{{Days: []string{"monday"}, From: "01:00", To: "02:00"}}},
	} {
		s := sheet
		s.Entries = []Entry{sheet.Entries[0]}
		s.Entries[0].OffPeak = &bad
		if _, err := New("t", s); err == nil {
			t.Errorf("off_peak %+v accepted", bad)
		}
	}
}

func TestFeeBound(t *testing.T) {
	e := Entry{ID: "t/x", Match: Match{Exact: []string{"x"}}, Prices: Prices{Input: Dec("1")}, Fees: Fees{Images: Dec("9300000")}}
	if _, err := New("t", Sheet{Provider: "openai", Entries: []Entry{e}}); err == nil || !strings.Contains(err.Error(), "fee") {
		t.Errorf("a fee that overflows per unit accepted: %v", err)
	}
	e.Fees.Images = Dec("9000000")
	if _, err := New("t", Sheet{Provider: "openai", Entries: []Entry{e}}); err != nil {
		t.Errorf("$9M per 1,000 refused: %v", err)
	}
}

func TestIDMultipliersValidate(t *testing.T) {
	e := Entry{ID: "t/x", Match: Match{Exact: []string{"x"}}, Prices: Prices{Input: Dec("1")}}
	for _, bad := range []IDMultiplier{
		{Multiplier: *Dec("1.1")},
		{Prefixes: []string{""}, Multiplier: *Dec("1.1")},
		{Prefixes: []string{"us."}, Models: []string{""}, Multiplier: *Dec("1.1")},
		{Prefixes: []string{"us."}},
		{Prefixes: []string{"us."}, Multiplier: *Dec("1.0000001")},
	} {
		if _, err := New("t", Sheet{Provider: "bedrock", IDMultipliers: []IDMultiplier{bad}, Entries: []Entry{e}}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	// Without models, a rule applies to every model with the prefix.
	c, err := New("t", Sheet{Provider: "bedrock", StripPrefixes: []string{"eu."}, IDMultipliers: []IDMultiplier{{Prefixes: []string{"EU."}, Multiplier: *Dec("2")}}, Entries: []Entry{e}})
	if err != nil {
		t.Fatal(err)
	}
	// 1M input at $1, doubled.
	if got, _ := c.Price(Query{Provider: "bedrock", Model: "eu.x", Usage: usage.Usage{InputTokens: 1_000_000}}); got.Total != usd(t, "2") || got.Multiplier != 2_000_000 {
		t.Errorf("eu.x: %+v", got)
	}
}

func TestMultiplierBoundsAndRounding(t *testing.T) {
	e := Entry{ID: "t/x", Match: Match{Exact: []string{"x"}}, Prices: Prices{Input: Dec("1")}}
	for _, s := range []Sheet{
		{Provider: "openai", Batch: Dec("11"), Entries: []Entry{e}},
		{Provider: "openai", ServiceTiers: map[string]Decimal{"priority": *Dec("5000")}, Entries: []Entry{e}},
	} {
		if _, err := New("t", s); err == nil {
			t.Errorf("multiplier above 10 accepted: %+v", s)
		}
	}
	// Products round half to even at the ppm: 0.876543 * 1.1 = 0.9641973 ->
	// 964197 ppm.
	if got := mulPPM(876543, 1_100_000); got != 964197 {
		t.Errorf("mulPPM = %d", got)
	}
	// 0.5 ppm rounds to even: 1 * 0.5 = 0.5 -> 0; 3 * 0.5 = 1.5 -> 2.
	if mulPPM(1, 500_000) != 0 || mulPPM(3, 500_000) != 2 {
		t.Error("half to even")
	}
	// The largest products stay exact: four multipliers of 10.
	m := mulPPM(mulPPM(mulPPM(10_000_000, 10_000_000), 10_000_000), 10_000_000)
	if m != 10_000_000_000 {
		t.Errorf("10^4 = %d ppm", m)
	}
}

// TestLongModelID: an id over 128 bytes with capitals still matches
// exactly (the lower-casing buffer is 128 bytes).
func TestLongModelID(t *testing.T) {
	id := strings.Repeat("x", 140) + "-model"
	c, err := New("t", Sheet{Provider: "openai", Entries: []Entry{{ID: "t/long", Match: Match{Exact: []string{id}}, Prices: Prices{Input: Dec("1")}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.Price(Query{Provider: "openai", Model: strings.ToUpper(id), Usage: usage.Usage{InputTokens: 1}})
	if got.EntryID != "t/long" {
		t.Errorf("long id with capitals: %+v", got)
	}
}

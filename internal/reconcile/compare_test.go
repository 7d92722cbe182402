package reconcile

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func mustParse(t *testing.T, provider, file string) Bill {
	t.Helper()
	b, err := parseFile(t, provider, file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCompareGolden(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		file     string
		weir     []WeirLine
		opts     Options
		json     bool
	}{
		{
			// Dated snapshots folded onto Weir's aliases; a row off by a
			// few cents, bill-only products and a Weir-only model with
			// unpriced calls.
			name: "openai_cost", provider: "openai", file: "openai_costs.json",
			weir: []WeirLine{
				{Day: day("2024-11-01"), Model: "gpt-4o-mini", Calls: 12, CostUSD: usd(t, "0.3000375"), Usage: Tokens{Input: 400500, CacheRead: 500, Output: 400000}},
				{Day: day("2024-11-01"), Model: "GPT-4o", Calls: 3, CostUSD: usd(t, "3.70"), Usage: Tokens{Input: 500000, Output: 250000}},
				{Day: day("2024-11-02"), Model: "gpt-4o-mini", Calls: 1, CostUSD: usd(t, "0.03"), Usage: Tokens{Input: 200000}},
				{Day: day("2024-11-02"), Model: "o3-mini", Calls: 4, Unpriced: 2, CostUSD: usd(t, "0.12"), Usage: Tokens{Input: 1000, Output: 2000}},
			},
			opts: Options{Normalize: StripDateSuffix},
			json: true,
		},
		{
			// A usage report: tokens compared, within 1%.
			name: "anthropic_tokens", provider: "anthropic", file: "anthropic_usage_report.json",
			weir: []WeirLine{
				{Day: day("2025-08-01"), Model: "claude-sonnet-4-20250514", Calls: 9, CostUSD: usd(t, "0.0123"), Usage: Tokens{Input: 3300, CacheRead: 200, CacheWrite: 1500, Output: 550}},
				{Day: day("2025-08-01"), Model: "claude-3-5-haiku-20241022", Calls: 1, CostUSD: usd(t, "0.0001"), Usage: Tokens{Input: 10, Output: 5}},
				{Day: day("2025-08-02"), Model: "claude-sonnet-4-20250514", Calls: 2, CostUSD: usd(t, "0.00001"), Usage: Tokens{Input: 2, Output: 3}},
			},
		},
		{
			// Costs not grouped by line item: day totals, within 1%.
			name: "openai_day_totals", provider: "openai", file: "openai_costs_no_line_items.json",
			weir: []WeirLine{
				{Day: day("2024-11-01"), Model: "gpt-4o", Calls: 3, CostUSD: usd(t, "3.00")},
				{Day: day("2024-11-01"), Model: "gpt-4o-mini", Calls: 12, CostUSD: usd(t, "0.30")},
				{Day: day("2024-11-02"), Model: "gpt-4o-mini", Calls: 1, CostUSD: usd(t, "0.0603")},
			},
		},
		{
			// The Anthropic cost report, whose web search costs have no
			// model.
			name: "anthropic_cost", provider: "anthropic", file: "anthropic_cost_report.json",
			weir: []WeirLine{
				{Day: day("2025-08-01"), Model: "claude-sonnet-4-20250514", Calls: 40, CostUSD: usd(t, "4.244875")},
				{Day: day("2025-08-01"), Model: "claude-3-5-haiku-20241022", Calls: 7, CostUSD: usd(t, "0.50")},
				{Day: day("2025-08-02"), Model: "claude-sonnet-4-20250514", Calls: 1, CostUSD: usd(t, "0.105")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compare(mustParse(t, tt.provider, tt.file), tt.weir, tt.opts)
			var buf bytes.Buffer
			if err := r.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".golden", buf.Bytes())
			if tt.json {
				b, err := json.MarshalIndent(r, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				golden(t, tt.name+".json.golden", append(b, '\n'))
			}
		})
	}
}

func TestCompareAliasFolding(t *testing.T) {
	bill := Bill{Provider: "openai", Lines: []Line{costLine(t, "2024-11-01", "gpt-4o-mini-2024-07-18", "1")}}
	weir := []WeirLine{{Day: day("2024-11-01").Add(13 * 3600e9), Model: "GPT-4o-mini", Calls: 1, CostUSD: usd(t, "1")}}

	// Without folding the rows do not match, though the totals (which the
	// verdict judges) do.
	r := Compare(bill, weir, Options{})
	if len(r.Rows) != 2 || r.Totals.BillOnly != 1 || r.Totals.WeirOnly != 1 || r.Totals.Matched != 0 {
		t.Errorf("without folding: rows %+v, totals %+v; want a bill-only and a Weir-only row", r.Rows, r.Totals)
	}

	r = Compare(bill, weir, Options{Normalize: StripDateSuffix})
	if len(r.Rows) != 1 || r.Rows[0].Side != SideBoth || r.Rows[0].Model != "gpt-4o-mini" || !r.Within {
		t.Fatalf("with folding: rows %+v; want one matched row", r.Rows)
	}
	if diff := cmp.Diff([]string{"gpt-4o-mini-2024-07-18"}, r.Rows[0].BillModels); diff != "" {
		t.Errorf("BillModels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"GPT-4o-mini"}, r.Rows[0].WeirModels); diff != "" {
		t.Errorf("WeirModels (-want +got):\n%s", diff)
	}

	// A catalog-backed hook: only the names it knows are folded.
	aliases := map[string]string{"gpt-4o-mini-2024-07-18": "gpt-4o-mini"}
	r = Compare(bill, weir, Options{Normalize: func(m string) string {
		if a, ok := aliases[m]; ok {
			return a
		}
		return m
	}})
	if len(r.Rows) != 1 || r.Rows[0].Side != SideBoth {
		t.Errorf("with a catalog hook: rows %+v; want one matched row", r.Rows)
	}
}

func TestStripDateSuffix(t *testing.T) {
	for in, want := range map[string]string{
		"gpt-4o-mini-2024-07-18":   "gpt-4o-mini",
		"claude-sonnet-4-20250514": "claude-sonnet-4",
		"gpt-4o":                   "gpt-4o",
		"o1-preview":               "o1-preview",
		"gpt-4-0613":               "gpt-4-0613",
		"model-2024-07-18-beta":    "model-2024-07-18-beta",
	} {
		if got := StripDateSuffix(in); got != want {
			t.Errorf("StripDateSuffix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithinTolerance(t *testing.T) {
	costBill := func(dollars string) Bill {
		return Bill{Lines: []Line{costLine(t, "2024-11-01", "m", dollars)}}
	}
	weirCost := func(dollars string) []WeirLine {
		return []WeirLine{{Day: day("2024-11-01"), Model: "m", CostUSD: usd(t, dollars)}}
	}
	tokenBill := func(in, out int64) Bill {
		return Bill{Lines: []Line{usageLine("2024-11-01", "m", Tokens{Input: in, Output: out})}}
	}
	weirTokens := func(in, out int64) []WeirLine {
		return []WeirLine{{Day: day("2024-11-01"), Model: "m", Usage: Tokens{Input: in, Output: out}}}
	}
	tests := []struct {
		name string
		bill Bill
		weir []WeirLine
		pct  float64
		want bool
	}{
		{"equal", costBill("100"), weirCost("100"), 1, true},
		{"exactly 1% over", costBill("100"), weirCost("101"), 1, true},
		{"exactly 1% under", costBill("100"), weirCost("99"), 1, true},
		{"a micro-dollar over 1%", costBill("100"), weirCost("101.000001"), 1, false},
		{"a femto-dollar over 1%", costBill("100"), weirCost("101.000000000000001"), 1, false},
		{"2% under", costBill("100"), weirCost("98"), 1, false},
		{"2% under at 5%", costBill("100"), weirCost("98"), 5, true},
		{"zero tolerance, equal", costBill("0.000001"), weirCost("0.000001"), 0, true},
		{"zero tolerance, off", costBill("0.000001"), weirCost("0.000002"), 0, false},
		{"both zero", costBill("0"), weirCost("0"), 1, true},
		{"zero bill", costBill("0"), weirCost("0.01"), 1, false},
		{"no Weir", costBill("1"), nil, 1, false},
		{"NaN", costBill("1"), weirCost("1"), math.NaN(), false},
		{"negative", costBill("1"), weirCost("1"), -1, false},
		{"infinite", costBill("1"), weirCost("9"), math.Inf(1), true},
		{"tokens equal", tokenBill(1000, 1000), weirTokens(1000, 1000), 1, true},
		{"tokens 1% off", tokenBill(1000, 1000), weirTokens(1010, 1010), 1, true},
		{"tokens 1.05% off", tokenBill(1000, 1000), weirTokens(1011, 1010), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compare(tt.bill, tt.weir, Options{})
			if got := r.WithinTolerance(tt.pct); got != tt.want {
				t.Errorf("WithinTolerance(%v) = %v, want %v (totals %+v)", tt.pct, got, tt.want, r.Totals)
			}
		})
	}
}

func TestCompareVerdictUsesOptions(t *testing.T) {
	bill := Bill{Lines: []Line{costLine(t, "2024-11-01", "m", "100")}}
	weir := []WeirLine{{Day: day("2024-11-01"), Model: "m", CostUSD: usd(t, "103")}}
	if r := Compare(bill, weir, Options{}); r.Within || r.TolerancePct != DefaultTolerancePct {
		t.Errorf("default: Within = %v, TolerancePct = %v; want false, 1", r.Within, r.TolerancePct)
	}
	if r := Compare(bill, weir, Options{TolerancePct: 5}); !r.Within {
		t.Errorf("5%%: Within = false, want true")
	}
}

func TestCompareBasisAndDiffs(t *testing.T) {
	bill := Bill{Lines: []Line{
		usageLine("2025-08-01", "a", Tokens{Input: 100, Output: 50}),
		usageLine("2025-08-01", "b", Tokens{Input: 10}),
	}}
	weir := []WeirLine{
		{Day: day("2025-08-01"), Model: "a", Calls: 2, CostUSD: usd(t, "0.000001"), Usage: Tokens{Input: 90, Output: 50}},
		{Day: day("2025-08-01"), Model: "c", Calls: 1, Usage: Tokens{Input: 5, Output: 5}},
	}
	r := Compare(bill, weir, Options{})
	if r.Basis != BasisTokens {
		t.Fatalf("Basis = %q, want tokens", r.Basis)
	}
	type rowSummary struct {
		Model      string
		Side       Side
		DiffTokens int64
		Rel        float64
	}
	var got []rowSummary
	for _, row := range r.Rows {
		s := rowSummary{Model: row.Model, Side: row.Side, DiffTokens: row.DiffTokens, Rel: math.NaN()}
		if row.RelDiff != nil {
			s.Rel = *row.RelDiff
		}
		got = append(got, s)
	}
	want := []rowSummary{
		{"a", SideBoth, -10, -10.0 / 150},
		{"b", SideBillOnly, -10, -1},
		{"c", SideWeirOnly, 10, math.NaN()},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool {
		return a == b || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-12
	})); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if r.Totals.DiffTokens != -10 || r.Totals.Matched != 1 || r.Totals.BillOnly != 1 || r.Totals.WeirOnly != 1 {
		t.Errorf("totals = %+v", r.Totals)
	}
}

func TestCompareEmpty(t *testing.T) {
	r := Compare(Bill{}, nil, Options{})
	if len(r.Rows) != 0 || !r.Within || r.Totals.RelDiff != nil {
		t.Errorf("empty report = %+v", r)
	}
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
}

// TestCompareLargeDay: one model's day beyond what an int64 of
// femto-dollars holds ($9,223) compares exactly.
func TestCompareLargeDay(t *testing.T) {
	bill, err := Parse(ProviderAnthropic, strings.NewReader(`{"data":[{"starting_at":"2025-08-01T00:00:00Z","results":[{"amount":"2500000","model":"claude-opus-4"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// 2,500,000 cents = $25,000.
	r := Compare(bill, []WeirLine{{Day: day("2025-08-01"), Model: "claude-opus-4", Calls: 9000, CostUSD: usd(t, "24900")}}, Options{})
	if r.Totals.BillUSD.String() != "25000.000000" || r.Totals.DiffUSD.String() != "-100.000000" || !r.Within {
		t.Errorf("large day: %+v", r.Totals)
	}
}

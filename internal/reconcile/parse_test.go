package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/store"
)

// usd is an exact amount of dollars written as a decimal.
func usd(t testing.TB, s string) store.Amount {
	t.Helper()
	a, err := parseAmount(s, dollarsExp)
	if err != nil {
		t.Fatalf("usd(%q): %v", s, err)
	}
	return a
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func costLine(t testing.TB, d, model, dollars string) Line {
	return Line{Day: day(d), Model: model, CostUSD: usd(t, dollars), HasCost: true}
}

func usageLine(d, model string, tok Tokens) Line {
	return Line{Day: day(d), Model: model, Usage: tok, HasUsage: true}
}

func parseFile(t testing.TB, provider, name string) (Bill, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Parse(provider, f)
}

func TestParseFixtures(t *testing.T) {
	// Expected lines are worked out by hand from the fixtures, which follow
	// the documented formats.
	twoPages := []Line{
		costLine(t, "2024-11-01", "gpt-4o-mini-2024-07-18", "0.30"),
		costLine(t, "2024-11-02", "gpt-4o-2024-08-06", "1.5"),
	}
	tests := []struct {
		provider, file, format string
		want                   []Line
	}{
		{"openai", "openai_costs.json", FormatOpenAICosts, []Line{
			costLine(t, "2024-11-01", "evals | gpt-4o-mini-2024-07-18", "0.01"),
			costLine(t, "2024-11-01", "gpt-4o-2024-08-06", "3.75"),
			costLine(t, "2024-11-01", "gpt-4o-mini-2024-07-18", "0.3000375"), // 0.06 + 0.0000375 + 0.24
			costLine(t, "2024-11-01", "web search tool calls", "0.025"),
			costLine(t, "2024-11-02", "gpt-4o-mini-2024-07-18", "0.03"), // 0.03 + "0E-6176"
			costLine(t, "2024-11-02", "gpt-audio-2025-08-28", "0.4"),
		}},
		{"openai", "openai_costs_pages.jsonl", FormatOpenAICosts, twoPages},
		{"openai", "openai_costs_array.json", FormatOpenAICosts, twoPages},
		{"openai", "openai_costs_no_line_items.json", FormatOpenAICosts, []Line{
			costLine(t, "2024-11-01", "", "3.30"),
			costLine(t, "2024-11-02", "", "0.06"),
		}},
		{"openai", "openai_usage.json", FormatOpenAIUsage, []Line{
			usageLine("2024-11-01", "gpt-4o-2024-08-06", Tokens{Input: 2000, Output: 300, Requests: 1}),
			usageLine("2024-11-01", "gpt-4o-mini-2024-07-18", Tokens{Input: 6000, CacheRead: 4000, Output: 1500, Requests: 7}),
			usageLine("2024-11-02", "", Tokens{Input: 100, Output: 50, Requests: 1}),
		}},
		{"openai", "openai_costs.csv", FormatOpenAICSV, []Line{
			costLine(t, "2024-11-01", "gpt-4o-mini-2024-07-18", "0.3000375"),
			costLine(t, "2024-11-02", "gpt-4o-2024-08-06", "1.5"),
		}},
		{"openai", "openai_activity.csv", FormatOpenAICSV, []Line{
			usageLine("2024-11-01", "gpt-4o-mini-2024-07-18", Tokens{Input: 6000, CacheRead: 4000, Output: 1500, Requests: 7}),
			usageLine("2024-11-02", "gpt-4o-2024-08-06", Tokens{Input: 2000, Output: 300, Requests: 1}),
		}},
		{"openai", "openai_generic.csv", FormatOpenAICSV, []Line{
			{Day: day("2024-11-01"), Model: "gpt-4o-mini", CostUSD: usd(t, "0.3000375"), HasCost: true,
				Usage: Tokens{Input: 2000250, Output: 500000}, HasUsage: true},
			{Day: day("2024-11-02"), Model: "gpt-4o", CostUSD: usd(t, "1.5"), HasCost: true,
				Usage: Tokens{Output: 150000}, HasUsage: true},
		}},
		{"anthropic", "anthropic_cost_report.json", FormatAnthropicCost, []Line{
			costLine(t, "2025-08-01", "", "0.01"), // web search: 1 cent, no model
			costLine(t, "2025-08-01", "claude-3-5-haiku-20241022", "0.50"),
			costLine(t, "2025-08-01", "claude-sonnet-4-20250514", "4.234875"), // 123.45 + 300 + 0.0375 cents
			costLine(t, "2025-08-02", "claude-sonnet-4-20250514", "0.105"),
		}},
		{"anthropic", "anthropic_usage_report.json", FormatAnthropicUsage, []Line{
			usageLine("2025-08-01", "claude-3-5-haiku-20241022", Tokens{Input: 10, Output: 5}),
			// 1500 uncached + 200 read + 1500 written, and 100 uncached in batch.
			usageLine("2025-08-01", "claude-sonnet-4-20250514", Tokens{Input: 3300, CacheRead: 200, CacheWrite: 1500, Output: 550}),
			usageLine("2025-08-02", "claude-sonnet-4-20250514", Tokens{Input: 2, Output: 4}), // two hourly buckets
		}},
		{"anthropic", "anthropic_cost.csv", FormatAnthropicCSV, []Line{
			costLine(t, "2025-08-01", "claude-haiku-3-5", "0.25"),
			costLine(t, "2025-08-01", "claude-sonnet-4", "4.2345"),
			costLine(t, "2025-08-02", "claude-sonnet-4", "0.105"),
		}},
		{"anthropic", "anthropic_usage.csv", FormatAnthropicCSV, []Line{
			usageLine("2025-08-01", "claude-sonnet-4-20250514", Tokens{Input: 3300, CacheRead: 200, CacheWrite: 1500, Output: 550}),
			usageLine("2025-08-02", "claude-3-5-haiku-20241022", Tokens{Input: 10, Output: 5}),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseFile(t, tt.provider, tt.file)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := Bill{Provider: tt.provider, Format: tt.format, Lines: tt.want}
			if diff := cmp.Diff(want, got, amountEq); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestParseMixedOpenAIPages(t *testing.T) {
	costs, err := os.ReadFile("testdata/openai_costs_pages.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	usage, err := os.ReadFile("testdata/openai_usage.json")
	if err != nil {
		t.Fatal(err)
	}
	bill, err := Parse("OpenAI", strings.NewReader(string(costs)+string(usage)))
	if err != nil {
		t.Fatal(err)
	}
	if want := FormatOpenAICosts + "+" + FormatOpenAIUsage; bill.Format != want {
		t.Errorf("Format = %q, want %q", bill.Format, want)
	}
	want := Line{Day: day("2024-11-01"), Model: "gpt-4o-mini-2024-07-18", CostUSD: usd(t, "0.30"), HasCost: true,
		Usage: Tokens{Input: 6000, CacheRead: 4000, Output: 1500, Requests: 7}, HasUsage: true}
	if diff := cmp.Diff(want, bill.Lines[1], amountEq); diff != "" {
		t.Errorf("merged line mismatch (-want +got):\n%s", diff)
	}
}

func TestParseEmptyPage(t *testing.T) {
	bill, err := Parse("anthropic", strings.NewReader(`{"data": [], "has_more": false, "next_page": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if bill.Format != "anthropic_api" || len(bill.Lines) != 0 {
		t.Errorf("got %+v, want format anthropic_api and no lines", bill)
	}
}

func TestOpenAILineItemModel(t *testing.T) {
	for in, want := range map[string]string{
		"gpt-4o-mini-2024-07-18, input":         "gpt-4o-mini-2024-07-18",
		"gpt-4o-mini-2024-07-18, cached input":  "gpt-4o-mini-2024-07-18",
		"gpt-audio-2025-08-28 audio, input":     "gpt-audio-2025-08-28",
		"evals | gpt-4o-mini-2024-07-18, input": "evals | gpt-4o-mini-2024-07-18",
		"web search tool calls":                 "web search tool calls",
		"  text-embedding-3-small, input ":      "text-embedding-3-small",
		", input":                               ", input",
		"":                                      "",
	} {
		if got := openAILineItemModel(in); got != want {
			t.Errorf("openAILineItemModel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAnthropicModel(t *testing.T) {
	for in, want := range map[string]string{
		"Claude Sonnet 4.5":        "claude-sonnet-4-5",
		"Claude  Haiku 3.5 ":       "claude-haiku-3-5",
		"claude-sonnet-4-20250514": "claude-sonnet-4-20250514",
		"":                         "",
	} {
		if got := anthropicModel(in); got != want {
			t.Errorf("anthropicModel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		exp     int
		want    string // dollars, Format(15)
		wantErr bool
	}{
		{"0.06", dollarsExp, "0.060000000000000", false},
		{"0.000004500000000000000000000000000000000", dollarsExp, "0.000004500000000", false},
		{"0E-6176", dollarsExp, "0.000000000000000", false},
		{"1e-2", dollarsExp, "0.010000000000000", false},
		{"1.5E+2", dollarsExp, "150.000000000000000", false},
		{"-0.25", dollarsExp, "-0.250000000000000", false},
		{"123.45", centsExp, "1.234500000000000", false},
		{"0.0000000000000005", dollarsExp, "0.000000000000000", false}, // half a femto-dollar: to even
		{"0.0000000000000015", dollarsExp, "0.000000000000002", false}, // 1.5 femto: to even
		{"0.00000000000000151", dollarsExp, "0.000000000000002", false},
		{"1e-999999", dollarsExp, "0.000000000000000", false},
		{"99999999999999999999", dollarsExp, "", true}, // beyond an int64 of dollars
		{"1e999999", dollarsExp, "", true},
		{"1e9999999", dollarsExp, "", true}, // exponent too long
		{"", dollarsExp, "", true},
		{".", dollarsExp, "", true},
		{"1.2.3", dollarsExp, "", true},
		{"1,5", dollarsExp, "", true},
		{"NaN", dollarsExp, "", true},
		{"1e", dollarsExp, "", true},
		{"1e+-1", dollarsExp, "", true},
		{"0x10", dollarsExp, "", true},
	}
	for _, tt := range tests {
		a, err := parseAmount(tt.in, tt.exp)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseAmount(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && a.Format(15) != tt.want {
			t.Errorf("parseAmount(%q, %d) = %s, want %s", tt.in, tt.exp, a.Format(15), tt.want)
		}
	}
}

// TestExactSums checks that money is summed exactly: 10,000 lines of one
// micro-dollar are one cent, not a float near it.
func TestExactSums(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("date,model,cost\n")
	var json strings.Builder
	json.WriteString(`{"object":"page","data":[{"object":"bucket","start_time":1730419200,"results":[`)
	for i := range 10000 {
		csv.WriteString("2024-11-01,gpt-4o-mini,0.000001\n")
		if i > 0 {
			json.WriteString(",")
		}
		json.WriteString(`{"object":"organization.costs.result","amount":{"value":0.000001,"currency":"usd"},"line_item":"gpt-4o-mini, input"}`)
	}
	json.WriteString(`]}]}`)
	for name, in := range map[string]string{"csv": csv.String(), "json": json.String()} {
		bill, err := Parse("openai", strings.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(bill.Lines) != 1 || bill.Lines[0].CostUSD != usd(t, "0.01") {
			t.Errorf("%s: lines = %+v, want one line of exactly $0.01", name, bill.Lines)
		}
	}

	// Anthropic cents: 10,000 amounts of "0.0001" cents are one cent.
	var an strings.Builder
	an.WriteString(`{"data":[{"starting_at":"2025-08-01T00:00:00Z","results":[`)
	for i := range 10000 {
		if i > 0 {
			an.WriteString(",")
		}
		an.WriteString(`{"currency":"USD","amount":"0.0001","model":"claude-sonnet-4"}`)
	}
	an.WriteString(`]}],"has_more":false}`)
	bill, err := Parse("anthropic", strings.NewReader(an.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(bill.Lines) != 1 || bill.Lines[0].CostUSD != usd(t, "0.01") {
		t.Errorf("anthropic: lines = %+v, want one line of exactly $0.01", bill.Lines)
	}

	// Weir's side: 10,000 calls of a micro-dollar against a one-cent bill.
	weir := make([]WeirLine, 10000)
	for i := range weir {
		weir[i] = WeirLine{Day: day("2025-08-01"), Model: "claude-sonnet-4", Calls: 1, CostUSD: usd(t, "0.000001")}
	}
	r := Compare(bill, weir, Options{})
	if r.Totals.DiffUSD.Format(15) != "0.000000000000000" || len(r.Rows) != 1 || r.Rows[0].Side != SideBoth {
		t.Errorf("Compare: diff %s, rows %+v; want an exact match", r.Totals.DiffUSD.Format(15), r.Rows)
	}
}

func TestParseErrors(t *testing.T) {
	page := func(results string) string {
		return `{"object":"page","data":[{"object":"bucket","start_time":1730419200,"results":[` + results + `]}]}`
	}
	cost := func(amount string) string {
		return page(`{"object":"organization.costs.result","amount":` + amount + `,"line_item":"gpt-4o, input"}`)
	}
	anPage := func(results string) string {
		return `{"data":[{"starting_at":"2025-08-01T00:00:00Z","results":[` + results + `]}]}`
	}
	tests := []struct {
		name, provider, in string
		want               []string // substrings of the error
	}{
		{"unknown provider", "google", "{}", []string{`unknown provider "google"`}},
		{"empty", "openai", " \n", []string{"empty input"}},
		{"truncated JSON", "openai", `{"object":"page","data":[`, []string{"unexpected end of input"}},
		{"syntax error", "openai", "{\"object\":\"page\",\n\"data\":[}]", []string{"line 2, column 9", "invalid JSON"}},
		{"syntax error in second JSON line", "openai", page("") + "\n{\"data\":[{]}\n", []string{"line 2"}},
		{"wrong type", "openai", `{"object":"page","data":"x"}`, []string{"page 1 (line 1)", "data", "JSON string"}},
		{"token count not a number", "openai", page(`{"object":"organization.usage.completions.result","input_tokens":"many"}`), []string{"input_tokens"}},
		{"empty array", "openai", `[]`, []string{"no page object"}},
		{"array of numbers", "openai", `[1]`, []string{"expected a page object in the array", `"1"`}},
		{"scalar after page", "openai", page("") + "\n42\n", []string{"line 2", "expected a page object"}},
		{"error envelope", "openai", `{"error":{"message":"Invalid admin key","type":"invalid_request_error"}}`, []string{"answered with an error", "Invalid admin key"}},
		{"not a page", "openai", `{"object":"list"}`, []string{`no "data" array`}},
		{"wrong page object", "openai", `{"object":"list","data":[]}`, []string{`object is "list"`}},
		{"no start_time", "openai", `{"object":"page","data":[{"object":"bucket","results":[]}]}`, []string{"data[0]: no start_time"}},
		{"start_time 1970", "openai", `{"object":"page","data":[{"start_time":0,"results":[]}]}`, []string{"data[0].start_time", "out of range"}},
		{"bad amount", "openai", cost(`{"value":"abc","currency":"usd"}`), []string{"data[0].results[0]", `amount.value "abc"`, "not a decimal number"}},
		{"amount is an object", "openai", cost(`{"value":{},"currency":"usd"}`), []string{"neither a number nor a string"}},
		{"no amount", "openai", page(`{"object":"organization.costs.result","line_item":"x, y"}`), []string{"no amount.value"}},
		{"euro", "openai", cost(`{"value":1,"currency":"eur"}`), []string{`"eur", not usd`}},
		{"no object", "openai", page(`{"input_tokens":1}`), []string{`no "object"`}},
		{"images usage", "openai", page(`{"object":"organization.usage.images.result","images":1}`), []string{"counts no tokens"}},
		{"unknown object", "openai", page(`{"object":"organization.project"}`), []string{`"organization.project" is not a costs or usage result`}},
		{"negative tokens", "openai", page(`{"object":"organization.usage.completions.result","input_tokens":-1}`), []string{"negative"}},
		{"anthropic report as openai", "openai", anPage(`{"uncached_input_tokens":1}`), []string{"no start_time", "Anthropic"}},
		{"anthropic amount as openai", "openai", page(`{"object":"organization.costs.result","amount":"1"}`), []string{"line 1, column", "data.results.amount: JSON string where an object was expected"}},
		{"openai page as anthropic", "anthropic", page(""), []string{"no starting_at", "OpenAI"}},
		{"bad starting_at", "anthropic", `{"data":[{"starting_at":"yesterday","results":[]}]}`, []string{`starting_at "yesterday"`}},
		{"anthropic bad amount", "anthropic", anPage(`{"amount":"12,5","currency":"USD"}`), []string{`amount "12,5" (cents)`}},
		{"anthropic euro", "anthropic", anPage(`{"amount":"1","currency":"EUR"}`), []string{`"EUR", not USD`}},
		{"anthropic neither", "anthropic", anPage(`{"model":"claude-sonnet-4"}`), []string{"neither an amount nor token counts"}},
		{"anthropic negative cache", "anthropic", anPage(`{"uncached_input_tokens":1,"cache_creation":{"ephemeral_1h_input_tokens":-5}}`), []string{"cache_creation"}},
		{"anthropic overflow", "anthropic", anPage(`{"uncached_input_tokens":9223372036854775807,"cache_read_input_tokens":1}`), []string{"overflow"}},
		{"csv no known columns", "openai", "foo,bar\n1,2\n", []string{"header row: no date column", "nor token columns", "the columns are: foo, bar"}},
		{"csv no cost", "anthropic", "usage_date_utc,model\n2025-08-01,x\n", []string{"no cost column", "usage_date_utc, model"}},
		{"csv no date", "openai", "model,cost\nx,1\n", []string{"no date column"}},
		{"csv bad cost", "openai", "date,model,cost\n2024-11-01,x,1\n2024-11-01,x,abc\n", []string{"line 3", "column cost", `"abc"`}},
		{"csv bad date", "openai", "date,model,cost\nNovember,x,1\n", []string{"line 2", `"November" is not a date`}},
		{"csv no date value", "openai", "date,model,cost\n,x,1\n", []string{"line 2", "no date"}},
		{"csv bad tokens", "anthropic", "usage_date_utc,model_version,usage_input_tokens_no_cache,usage_output_tokens\n2025-08-01,x,-5,1\n", []string{"line 2", "usage_input_tokens_no_cache", "not a whole non-negative number"}},
		{"csv fractional tokens", "openai", "date,model,input_tokens\n2024-11-01,x,1.5\n", []string{"not a whole"}},
		{"csv euro", "openai", "date,model,amount,currency\n2024-11-01,x,1,EUR\n", []string{"line 2", `"EUR" is not USD`}},
		{"csv field count", "openai", "date,model,cost\n2024-11-01,x\n", []string{"wrong number of fields"}},
		{"csv bad quote", "openai", "date,model,cost\n2024-11-01,\"x,1\n", []string{"read CSV"}},
		{"csv year 3000", "openai", "date,model,cost\n3000-01-01,x,1\n", []string{"out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bill, err := Parse(tt.provider, strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want an error containing %q", bill, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestParseReaderError checks that a failing reader is reported.
func TestParseReaderError(t *testing.T) {
	_, err := Parse("openai", errReader{})
	if err == nil || !strings.Contains(err.Error(), "read openai export") {
		t.Errorf("err = %v, want a read error", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("disk on fire") }

var amountEq = cmp.Comparer(func(a, b store.Amount) bool { return a == b })

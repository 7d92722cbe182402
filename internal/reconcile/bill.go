// Package reconcile compares the cost Weir recorded with what a provider says
// it charged. It parses a provider's own usage or billing export (OpenAI's
// Costs and Usage APIs and its dashboard CSV; Anthropic's Admin API cost and
// usage reports and its Console CSV) into lines per UTC day and model, and
// matches them with Weir's totals per day and model, which the caller reads
// from the store: this package queries nothing itself.
//
// The API and the command line may import reconcile. It imports only pricing,
// and store for store.Amount.
package reconcile

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// Providers Parse reads the exports of.
const (
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
)

// Formats Parse detects, the values of Bill.Format. An input that holds
// pages of two formats (OpenAI costs and completions usage pages together,
// say) gets both names joined by "+".
const (
	// FormatOpenAICosts is GET /v1/organization/costs: amounts in dollars.
	FormatOpenAICosts = "openai_costs_api"
	// FormatOpenAIUsage is GET /v1/organization/usage/completions (and the
	// embeddings and moderations usage pages): token counts only.
	FormatOpenAIUsage = "openai_usage_api"
	// FormatOpenAICSV is a CSV export of the OpenAI usage dashboard.
	FormatOpenAICSV = "openai_csv"
	// FormatAnthropicCost is GET /v1/organizations/cost_report: amounts in
	// cents.
	FormatAnthropicCost = "anthropic_cost_report"
	// FormatAnthropicUsage is GET /v1/organizations/usage_report/messages:
	// token counts only.
	FormatAnthropicUsage = "anthropic_usage_report"
	// FormatAnthropicCSV is a CSV export of the Anthropic Console's usage or
	// cost page.
	FormatAnthropicCSV = "anthropic_csv"
)

// maxInput bounds what Parse reads.
const maxInput = 256 << 20

// Tokens is a token count in Weir's taxonomy (package usage): Input is every
// prompt token, cached or not; CacheRead and CacheWrite are the parts of Input
// read from and written to a prompt cache; Output is every generated token.
// Requests is the number of model requests, where the export reports it.
type Tokens struct {
	Input      int64 `json:"input"`
	CacheRead  int64 `json:"cache_read"`
	CacheWrite int64 `json:"cache_write"`
	Output     int64 `json:"output"`
	Requests   int64 `json:"requests"`
}

// Total is Input plus Output, the quantity compared when a bill has no money.
func (t Tokens) Total() int64 { return t.Input + t.Output }

// add adds u to t, and returns false when a count would overflow.
func (t *Tokens) add(u Tokens) bool {
	s := *t
	for _, p := range [...]struct {
		dst *int64
		v   int64
	}{
		{&s.Input, u.Input}, {&s.CacheRead, u.CacheRead}, {&s.CacheWrite, u.CacheWrite},
		{&s.Output, u.Output}, {&s.Requests, u.Requests},
	} {
		if *p.dst > 1<<63-1-p.v {
			return false
		}
		*p.dst += p.v
	}
	*t = s
	return true
}

// Line is what a provider reports for one model on one UTC day, summed over
// the export's records.
type Line struct {
	// Day is UTC midnight of the day the records' buckets start in.
	Day time.Time `json:"day"`
	// Model is the model as the provider names it (a dated snapshot such as
	// "gpt-4o-mini-2024-07-18" is kept as is); empty when the export does not
	// break costs down by model, or for costs that belong to no model.
	Model string `json:"model"`
	// CostUSD is the exact sum of the records' amounts; meaningful only when
	// HasCost.
	CostUSD store.Amount `json:"cost_usd"`
	HasCost bool         `json:"has_cost"`
	// Usage sums the records' token counts; meaningful only when HasUsage.
	Usage    Tokens `json:"usage"`
	HasUsage bool   `json:"has_usage"`
}

// Bill is a parsed provider export.
type Bill struct {
	// Provider is ProviderOpenAI or ProviderAnthropic.
	Provider string `json:"provider"`
	// Format is the detected format, one of the Format constants (or two
	// joined by "+"); "openai_api" or "anthropic_api" for API pages that
	// hold no results.
	Format string `json:"format"`
	// Lines are sorted by day, then model; one per (day, model).
	Lines []Line `json:"lines"`
}

// HasCost reports whether any line carries money.
func (b Bill) HasCost() bool {
	return slices.ContainsFunc(b.Lines, func(l Line) bool { return l.HasCost })
}

// HasUsage reports whether any line carries token counts.
func (b Bill) HasUsage() bool {
	return slices.ContainsFunc(b.Lines, func(l Line) bool { return l.HasUsage })
}

// Parse reads a provider's usage or billing export, detecting its format from
// the content: JSON (one API page, an array of pages, or pages one after the
// other as JSON Lines) or CSV with a header row. provider is "openai" or
// "anthropic". Errors say what was wrong and where (line, page, record).
func Parse(provider string, r io.Reader) (Bill, error) {
	p := strings.ToLower(strings.TrimSpace(provider))
	if p != ProviderOpenAI && p != ProviderAnthropic {
		return Bill{}, fmt.Errorf("unknown provider %q: want %q or %q", provider, ProviderOpenAI, ProviderAnthropic)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return Bill{}, fmt.Errorf("read %s export: %w", p, err)
	}
	if len(data) > maxInput {
		return Bill{}, fmt.Errorf("%s export: larger than %d MiB", p, maxInput>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return Bill{}, fmt.Errorf("%s export: empty input", p)
	}
	b := newBuilder()
	switch {
	case trimmed[0] == '{' || trimmed[0] == '[':
		b.fallback = p + "_api"
		if p == ProviderOpenAI {
			err = eachJSONPage(data, b.openAIPage)
		} else {
			err = eachJSONPage(data, b.anthropicPage)
		}
	default:
		err = b.csv(p, data)
	}
	if err != nil {
		return Bill{}, fmt.Errorf("%s export: %w", p, err)
	}
	bill, err := b.bill(p)
	if err != nil {
		return Bill{}, fmt.Errorf("%s export: %w", p, err)
	}
	return bill, nil
}

// builder sums records into lines.
type builder struct {
	lines   map[lineKey]*lineSum
	formats map[string]bool
	// fallback is the format of an input with no records, whose shape
	// alone does not tell the formats apart (an API page with no results).
	fallback string
}

type lineKey struct {
	day   int64 // Unix seconds of UTC midnight
	model string
}

type lineSum struct {
	cost     store.Amount
	hasCost  bool
	usage    Tokens
	hasUsage bool
}

func newBuilder() *builder {
	return &builder{lines: map[lineKey]*lineSum{}, formats: map[string]bool{}}
}

func (b *builder) line(day time.Time, model string) *lineSum {
	k := lineKey{day.Unix(), model}
	s := b.lines[k]
	if s == nil {
		s = &lineSum{}
		b.lines[k] = s
	}
	return s
}

func (b *builder) addCost(day time.Time, model string, a store.Amount) {
	s := b.line(day, model)
	s.cost.AddAmount(a)
	s.hasCost = true
}

func (b *builder) addUsage(day time.Time, model string, t Tokens) error {
	for _, v := range [...]int64{t.Input, t.CacheRead, t.CacheWrite, t.Output, t.Requests} {
		if v < 0 {
			return errors.New("negative token or request count")
		}
	}
	s := b.line(day, model)
	if !s.usage.add(t) {
		return fmt.Errorf("token counts of %q on %s overflow", model, day.Format(time.DateOnly))
	}
	s.hasUsage = true
	return nil
}

// bill returns the lines, sorted, with their sums as Money.
func (b *builder) bill(provider string) (Bill, error) {
	formats := make([]string, 0, len(b.formats))
	for f := range b.formats {
		formats = append(formats, f)
	}
	slices.Sort(formats)
	out := Bill{Provider: provider, Format: strings.Join(formats, "+"), Lines: make([]Line, 0, len(b.lines))}
	for k, s := range b.lines {
		l := Line{Day: time.Unix(k.day, 0).UTC(), Model: k.model, HasCost: s.hasCost, Usage: s.usage, HasUsage: s.hasUsage}
		l.CostUSD = s.cost
		out.Lines = append(out.Lines, l)
	}
	slices.SortFunc(out.Lines, func(a, b Line) int {
		return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Model, b.Model))
	})
	if out.Format == "" {
		out.Format = b.fallback
	}
	return out, nil
}

// utcDay returns UTC midnight of the day t falls on, and an error when the
// year is implausible for a usage export.
func utcDay(t time.Time) (time.Time, error) {
	t = t.UTC()
	if y := t.Year(); y < 2000 || y > 2199 {
		return time.Time{}, fmt.Errorf("date %s is out of range", t.Format(time.RFC3339))
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

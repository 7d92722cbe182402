package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The Anthropic Admin API reports read here (GET
// /v1/organizations/cost_report and GET
// /v1/organizations/usage_report/messages) share one envelope: {"data":
// [buckets], "has_more", "next_page"}, where a bucket is {"starting_at",
// "ending_at" (RFC 3339), "results": [...]}. A cost result has "amount", a
// usage result has token counts.
type anthropicPage struct {
	Data  *[]anthropicBucket `json:"data"`
	Error *apiError          `json:"error"`
}

type anthropicBucket struct {
	StartingAt *string           `json:"starting_at"`
	Results    []anthropicResult `json:"results"`
}

type anthropicResult struct {
	// Cost report. amount is a decimal string in the currency's lowest unit:
	// "123.45" with currency "USD" is 123.45 cents, $1.2345.
	Amount   decimalText `json:"amount"`
	Currency *string     `json:"currency"`
	// Model is null when the report is not grouped by description, and for
	// costs that are not tokens (web search, code execution).
	Model    *string `json:"model"`
	CostType *string `json:"cost_type"`
	// Usage report. uncached_input_tokens excludes the cache reads and
	// writes, which are counted apart.
	UncachedInputTokens  *int64 `json:"uncached_input_tokens"`
	CacheReadInputTokens *int64 `json:"cache_read_input_tokens"`
	CacheCreation        *struct {
		Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
		Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
	} `json:"cache_creation"`
	OutputTokens *int64 `json:"output_tokens"`
}

func (b *builder) anthropicPage(p jsonPage) error {
	var page anthropicPage
	if err := p.decode(&page); err != nil {
		return err
	}
	if page.Data == nil {
		return notAPage(p, page.Error, "the Anthropic cost or usage report")
	}
	for i, bucket := range *page.Data {
		if bucket.StartingAt == nil {
			return fmt.Errorf("%s: data[%d]: no starting_at (an Anthropic bucket starts at an RFC 3339 time; is this an OpenAI page?)", p.where(), i)
		}
		t, err := time.Parse(time.RFC3339, *bucket.StartingAt)
		if err != nil {
			return fmt.Errorf("%s: data[%d].starting_at %q: not an RFC 3339 time", p.where(), i, *bucket.StartingAt)
		}
		day, err := utcDay(t)
		if err != nil {
			return fmt.Errorf("%s: data[%d].starting_at: %w", p.where(), i, err)
		}
		for j, r := range bucket.Results {
			if err := b.anthropicResult(day, r); err != nil {
				return fmt.Errorf("%s: data[%d].results[%d]: %w", p.where(), i, j, err)
			}
		}
	}
	return nil
}

func (b *builder) anthropicResult(day time.Time, r anthropicResult) error {
	model := ""
	if r.Model != nil {
		model = anthropicModel(*r.Model)
	}
	isUsage := r.UncachedInputTokens != nil || r.CacheReadInputTokens != nil || r.CacheCreation != nil || r.OutputTokens != nil
	if !r.Amount.set && !isUsage {
		return errors.New("neither an amount nor token counts: not a cost_report or usage_report result")
	}
	if r.Amount.set {
		if r.Currency != nil && !strings.EqualFold(*r.Currency, "USD") {
			return fmt.Errorf("currency is %q, not USD", *r.Currency)
		}
		a, err := parseAmount(r.Amount.text, centsExp)
		if err != nil {
			return fmt.Errorf("amount %q (cents): %w", r.Amount.text, err)
		}
		b.addCost(day, model, a)
		b.formats[FormatAnthropicCost] = true
	}
	if isUsage {
		var t Tokens
		t.Output = deref(r.OutputTokens)
		t.CacheRead = deref(r.CacheReadInputTokens)
		if c := r.CacheCreation; c != nil {
			var ok bool
			if t.CacheWrite, ok = sum(c.Ephemeral1h, c.Ephemeral5m); !ok {
				return errors.New("cache_creation token counts overflow or are negative")
			}
		}
		var ok bool
		if t.Input, ok = sum(deref(r.UncachedInputTokens), t.CacheRead, t.CacheWrite); !ok {
			return errors.New("input token counts overflow or are negative")
		}
		if err := b.addUsage(day, model, t); err != nil {
			return err
		}
		b.formats[FormatAnthropicUsage] = true
	}
	return nil
}

// anthropicModel turns the display names of the Console's cost export
// ("Claude Sonnet 4.5") into model ids ("claude-sonnet-4-5"); ids pass
// unchanged.
func anthropicModel(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, " \t") {
		return s
	}
	s = strings.ToLower(strings.Join(strings.Fields(s), "-"))
	return strings.ReplaceAll(s, ".", "-")
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// sum adds non-negative counts, and returns false when one is negative or
// the sum overflows.
func sum(vs ...int64) (int64, bool) {
	var s int64
	for _, v := range vs {
		if v < 0 || s > 1<<63-1-v {
			return 0, false
		}
		s += v
	}
	return s, true
}

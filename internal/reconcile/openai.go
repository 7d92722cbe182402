package reconcile

import (
	"fmt"
	"strings"
	"time"
)

// The OpenAI Admin API pages read here (GET /v1/organization/costs and GET
// /v1/organization/usage/completions) share one envelope: {"object": "page",
// "data": [buckets], "has_more", "next_page"}, where a bucket is {"object":
// "bucket", "start_time", "end_time" (Unix seconds), "results": [...]}. Each
// result says what it is in "object".
type openAIPage struct {
	Object string          `json:"object"`
	Data   *[]openAIBucket `json:"data"`
	Error  *apiError       `json:"error"`
}

type openAIBucket struct {
	StartTime *int64         `json:"start_time"`
	Results   []openAIResult `json:"results"`
	// Result is how some renderings of the API reference spell results.
	Result []openAIResult `json:"result"`
}

type openAIResult struct {
	Object string `json:"object"`
	// organization.costs.result: amount.value is in dollars ("usd").
	Amount *struct {
		Value    decimalText `json:"value"`
		Currency string      `json:"currency"`
	} `json:"amount"`
	// LineItem is set when the costs are grouped by line_item: "<model>,
	// <what>" such as "gpt-4o-mini-2024-07-18, cached input".
	LineItem *string `json:"line_item"`
	// organization.usage.*.result. input_tokens counts every input token,
	// cached and cache-write ones included; input_cached_tokens and
	// input_cache_write_tokens are parts of it.
	Model                 *string `json:"model"`
	InputTokens           int64   `json:"input_tokens"`
	InputCachedTokens     int64   `json:"input_cached_tokens"`
	InputCacheWriteTokens int64   `json:"input_cache_write_tokens"`
	OutputTokens          int64   `json:"output_tokens"`
	NumModelRequests      int64   `json:"num_model_requests"`
}

const (
	openAICostsResult = "organization.costs.result"
	openAIUsagePrefix = "organization.usage."
)

// openAIUsageObjects are the usage results that count tokens of a model.
var openAIUsageObjects = map[string]bool{
	"organization.usage.completions.result": true,
	"organization.usage.embeddings.result":  true,
	"organization.usage.moderations.result": true,
}

func (b *builder) openAIPage(p jsonPage) error {
	var page openAIPage
	if err := p.decode(&page); err != nil {
		return err
	}
	if page.Data == nil {
		return notAPage(p, page.Error, "the OpenAI Costs or Usage API")
	}
	if page.Object != "" && page.Object != "page" {
		return fmt.Errorf("%s: object is %q, want \"page\"", p.where(), page.Object)
	}
	for i, bucket := range *page.Data {
		if bucket.StartTime == nil {
			return fmt.Errorf("%s: data[%d]: no start_time (an OpenAI bucket starts at a Unix time; is this an Anthropic report?)", p.where(), i)
		}
		day, err := utcDay(time.Unix(*bucket.StartTime, 0))
		if err != nil {
			return fmt.Errorf("%s: data[%d].start_time: %w", p.where(), i, err)
		}
		results := bucket.Results
		if results == nil {
			results = bucket.Result
		}
		for j, r := range results {
			if err := b.openAIResult(day, r); err != nil {
				return fmt.Errorf("%s: data[%d].results[%d]: %w", p.where(), i, j, err)
			}
		}
	}
	return nil
}

func (b *builder) openAIResult(day time.Time, r openAIResult) error {
	switch {
	case r.Object == openAICostsResult:
		if r.Amount == nil || !r.Amount.Value.set {
			return fmt.Errorf("no amount.value")
		}
		if c := r.Amount.Currency; c != "" && !strings.EqualFold(c, "usd") {
			return fmt.Errorf("amount.currency is %q, not usd", c)
		}
		a, err := parseAmount(r.Amount.Value.text, dollarsExp)
		if err != nil {
			return fmt.Errorf("amount.value %q: %w", r.Amount.Value.text, err)
		}
		model := ""
		if r.LineItem != nil {
			model = openAILineItemModel(*r.LineItem)
		}
		b.addCost(day, model, a)
		b.formats[FormatOpenAICosts] = true
	case openAIUsageObjects[r.Object]:
		model := ""
		if r.Model != nil {
			model = strings.TrimSpace(*r.Model)
		}
		t := Tokens{
			Input:      r.InputTokens,
			CacheRead:  r.InputCachedTokens,
			CacheWrite: r.InputCacheWriteTokens,
			Output:     r.OutputTokens,
			Requests:   r.NumModelRequests,
		}
		if err := b.addUsage(day, model, t); err != nil {
			return err
		}
		b.formats[FormatOpenAIUsage] = true
	case r.Object == "":
		return fmt.Errorf("no \"object\" field saying what the result is")
	case strings.HasPrefix(r.Object, openAIUsagePrefix):
		return fmt.Errorf("%q counts no tokens: export the completions usage or the costs instead", r.Object)
	default:
		return fmt.Errorf("object %q is not a costs or usage result", r.Object)
	}
	return nil
}

// openAILineItemModel returns the model a Costs API line item is for. The
// line item names the model, optionally a modality, then what was charged:
// "gpt-4o-mini-2024-07-18, cached input" and "gpt-audio-2025-08-28 audio,
// input" are for "gpt-4o-mini-2024-07-18" and "gpt-audio-2025-08-28". A
// product prefix stays, since calls made by OpenAI's own products never pass
// through Weir: "evals | gpt-4o-mini-2024-07-18, input" is for "evals |
// gpt-4o-mini-2024-07-18". A line item without a comma ("web search tool
// calls") names no model and is returned as is.
func openAILineItemModel(item string) string {
	item = strings.TrimSpace(item)
	head, _, ok := strings.Cut(item, ",")
	if !ok {
		return item
	}
	prefix := ""
	if i := strings.LastIndex(head, "|"); i >= 0 {
		prefix = strings.TrimSpace(head[:i]) + " | "
		head = head[i+1:]
	}
	f := strings.Fields(head)
	if len(f) == 0 {
		return item
	}
	return prefix + f[0]
}

package reconcile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// CSV exports are read by their header row: columns are recognised by name,
// case-insensitively and with spaces and punctuation read as "_" ("Cost
// (USD)" is cost_usd). The documented exports:
//
//   - OpenAI usage dashboard, cost export grouped by line item: start_time,
//     end_time (Unix seconds), amount_value (dollars), amount_currency,
//     line_item, project_id, organization_id, project_name,
//     organization_name.
//   - OpenAI usage dashboard, activity export: the completions usage fields
//     (start_time, model, input_tokens, input_cached_tokens, output_tokens,
//     num_model_requests...).
//   - Anthropic Console usage export: usage_date_utc, model_version, api_key,
//     workspace, usage_type, context_window, usage_input_tokens_no_cache,
//     usage_input_tokens_cache_write_5m, usage_input_tokens_cache_write_1h,
//     usage_input_tokens_cache_read, usage_output_tokens, web_search_count...
//   - Anthropic Console cost export: usage_date_utc, model (a display name
//     such as "Claude Sonnet 4.5"), workspace, api_key, usage_type,
//     context_window, token_type, cost_usd (dollars), list_price_usd,
//     cost_type...
//
// Any other CSV with a date column and a cost or token columns named like
// these works too.
var (
	dayColumns      = []string{"date", "day", "usage_date_utc", "usage_date", "date_utc", "start_time_iso", "start_time", "starting_at", "bucket_start", "timestamp"}
	modelColumns    = []string{"model", "model_version", "model_id", "model_name", "snapshot_id"}
	lineItemColumns = []string{"line_item"}
	costColumns     = []string{"cost_usd", "cost", "amount_usd", "amount_value", "amount", "total_cost_usd", "total_cost", "spend_usd", "spend", "usd"}
	currencyColumns = []string{"amount_currency", "currency"}
	// Every input token, cached or not.
	inputColumns = []string{"total_input_tokens", "input_tokens", "prompt_tokens", "n_context_tokens_total", "context_tokens"}
	// Input tokens not read from or written to a cache.
	uncachedColumns   = []string{"usage_input_tokens_no_cache", "uncached_input_tokens", "input_tokens_no_cache", "input_no_cache_tokens"}
	cacheReadColumns  = []string{"input_cached_tokens", "cached_input_tokens", "cache_read_input_tokens", "usage_input_tokens_cache_read", "cache_read_tokens", "cached_tokens"}
	cacheWriteColumns = []string{"input_cache_write_tokens", "cache_creation_input_tokens", "usage_input_tokens_cache_write", "cache_write_tokens"}
	// Parts of the cache writes, by lifetime; summed when present.
	cacheWritePartColumns = []string{"usage_input_tokens_cache_write_5m", "usage_input_tokens_cache_write_1h", "input_cache_write_30m_tokens", "input_cache_write_12h_tokens"}
	outputColumns         = []string{"output_tokens", "usage_output_tokens", "completion_tokens", "n_generated_tokens_total", "generated_tokens"}
	requestColumns        = []string{"num_model_requests", "num_requests", "requests", "request_count", "n_requests"}
)

// csvLayout is where each recognised column is, -1 when absent.
type csvLayout struct {
	day, model, lineItem, cost, currency   int
	input, uncached, cacheRead, cacheWrite int
	cacheWriteParts                        []int
	output, requests                       int
	names                                  []string // normalised header
}

func (l csvLayout) hasTokens() bool {
	return l.input >= 0 || l.uncached >= 0 || l.cacheRead >= 0 || l.cacheWrite >= 0 || len(l.cacheWriteParts) > 0 || l.output >= 0 || l.requests >= 0
}

// columnName normalises a header cell: lower case, every run of other
// characters than letters and digits an underscore, none at either end.
func columnName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	return b.String()
}

func layoutOf(provider string, header []string) (csvLayout, error) {
	l := csvLayout{names: make([]string, len(header))}
	for i, h := range header {
		l.names[i] = columnName(h)
	}
	find := func(names []string) int {
		for _, n := range names {
			for i, h := range l.names {
				if h == n {
					return i
				}
			}
		}
		return -1
	}
	inputs, uncached := inputColumns, uncachedColumns
	if provider == ProviderAnthropic {
		// Anthropic's input_tokens leaves out the cache reads and writes.
		inputs = []string{"total_input_tokens"}
		uncached = append([]string{"input_tokens"}, uncachedColumns...)
	}
	l.day, l.model, l.lineItem = find(dayColumns), find(modelColumns), find(lineItemColumns)
	l.cost, l.currency = find(costColumns), find(currencyColumns)
	l.input, l.uncached = find(inputs), find(uncached)
	l.cacheRead, l.cacheWrite = find(cacheReadColumns), find(cacheWriteColumns)
	for _, n := range cacheWritePartColumns {
		if i := find([]string{n}); i >= 0 {
			l.cacheWriteParts = append(l.cacheWriteParts, i)
		}
	}
	l.output, l.requests = find(outputColumns), find(requestColumns)

	var missing []string
	if l.day < 0 {
		missing = append(missing, "no date column (one of "+strings.Join(dayColumns, ", ")+")")
	}
	if l.cost < 0 && !l.hasTokens() {
		missing = append(missing, "no cost column (one of "+strings.Join(costColumns, ", ")+") nor token columns (such as "+
			strings.Join([]string{inputColumns[1], uncachedColumns[0], outputColumns[0], outputColumns[1]}, ", ")+")")
	}
	if missing != nil {
		return l, fmt.Errorf("header row: %s; the columns are: %s", strings.Join(missing, "; "), strings.Join(header, ", "))
	}
	return l, nil
}

func (b *builder) csv(provider string, data []byte) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("read CSV header: %w", err)
	}
	header = append([]string(nil), header...)
	l, err := layoutOf(provider, header)
	if err != nil {
		return err
	}
	format := FormatOpenAICSV
	if provider == ProviderAnthropic {
		format = FormatAnthropicCSV
	}
	b.formats[format] = true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read CSV: %w", err)
		}
		line, _ := r.FieldPos(0)
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		if err := b.csvRecord(provider, l, rec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

func (b *builder) csvRecord(provider string, l csvLayout, rec []string) error {
	col := func(i int) string { return strings.TrimSpace(rec[i]) }
	day, err := parseDay(col(l.day))
	if err != nil {
		return fmt.Errorf("column %s: %w", l.names[l.day], err)
	}
	model := ""
	switch {
	case l.model >= 0:
		model = col(l.model)
	case l.lineItem >= 0 && provider == ProviderOpenAI:
		model = openAILineItemModel(col(l.lineItem))
	case l.lineItem >= 0:
		model = col(l.lineItem)
	}
	if provider == ProviderAnthropic {
		model = anthropicModel(model)
	}
	if l.currency >= 0 {
		if c := col(l.currency); c != "" && !strings.EqualFold(c, "usd") {
			return fmt.Errorf("column %s: %q is not USD", l.names[l.currency], c)
		}
	}
	if l.cost >= 0 {
		s := strings.TrimPrefix(col(l.cost), "$")
		if s == "" {
			s = "0"
		}
		a, err := parseAmount(s, dollarsExp)
		if err != nil {
			return fmt.Errorf("column %s: %q: %w", l.names[l.cost], col(l.cost), err)
		}
		b.addCost(day, model, a)
	}
	if !l.hasTokens() {
		return nil
	}
	count := func(i int) (int64, error) {
		if i < 0 {
			return 0, nil
		}
		n, err := parseCount(col(i))
		if err != nil {
			return 0, fmt.Errorf("column %s: %q: %w", l.names[i], col(i), err)
		}
		return n, nil
	}
	var t Tokens
	var uncached int64
	for _, c := range []struct {
		dst *int64
		i   int
	}{{&t.Input, l.input}, {&uncached, l.uncached}, {&t.CacheRead, l.cacheRead}, {&t.CacheWrite, l.cacheWrite}, {&t.Output, l.output}, {&t.Requests, l.requests}} {
		if *c.dst, err = count(c.i); err != nil {
			return err
		}
	}
	if len(l.cacheWriteParts) > 0 {
		t.CacheWrite = 0
		for _, i := range l.cacheWriteParts {
			n, err := count(i)
			if err != nil {
				return err
			}
			var ok bool
			if t.CacheWrite, ok = sum(t.CacheWrite, n); !ok {
				return errors.New("cache write token counts overflow")
			}
		}
	}
	if l.input < 0 {
		var ok bool
		if t.Input, ok = sum(uncached, t.CacheRead, t.CacheWrite); !ok {
			return errors.New("input token counts overflow")
		}
	}
	return b.addUsage(day, model, t)
}

// dayLayouts are the date and time shapes CSV exports use; a time without a
// zone is UTC, as both providers' dashboards are.
var dayLayouts = []string{
	time.DateOnly,
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02 15:04:05 MST",
}

// parseDay reads a CSV date: a date, a date and time, or Unix seconds.
func parseDay(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("no date")
	}
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is out of range", s)
		}
		return utcDay(time.Unix(n, 0))
	}
	for _, layout := range dayLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return utcDay(t)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD, an RFC 3339 time or Unix seconds)", s)
}

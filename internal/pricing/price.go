package pricing

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/usage"
)

// Query is one finished call to price.
type Query struct {
	// Provider is the provider type or vendor (openai, anthropic, google,
	// bedrock, azure, mistral, deepseek, groq, xai...).
	Provider string
	// Model is the model as the provider reported it (the record's
	// response_model), or as sent when the response named none.
	Model string
	// SentModel is the model id as sent upstream, when it differs from
	// Model: a sheet's id_multipliers look at it (Bedrock's global. and
	// regional profiles). Empty means Model.
	SentModel string
	// At is when the call was made; the zero time means now.
	At    time.Time
	Usage usage.Usage
	// Batch is true for a call made through a batch API.
	Batch bool
	// ServiceTier is the tier the provider reported (flex, priority...);
	// "", "default", "auto" and "standard" are list price.
	ServiceTier string
	// Units counts the billable non-token units of the call.
	Units Units
}

// Units are non-token billable units of a call.
type Units struct {
	WebSearches  int64 `json:"web_searches,omitempty"`
	Images       int64 `json:"images,omitempty"`
	AudioSeconds int64 `json:"audio_seconds,omitempty"`
}

// Cost is the price of one call with its breakdown. Components add up to
// Total exactly. Tokens of a component are charged at that component's
// price; see docs/pricing.md.
type Cost struct {
	// Total is the sum of the components. It is meaningful only when
	// Priced() is true; use Amount.
	Total Money `json:"total"`
	// Input is the uncached text input: input - cache reads - cache writes
	// - input audio - input images.
	Input        Money `json:"input"`
	CacheRead    Money `json:"cache_read"`
	CacheWrite5m Money `json:"cache_write_5m"`
	CacheWrite1h Money `json:"cache_write_1h"`
	// Output is the text output that is not reasoning: output - reasoning
	// - output audio - output images.
	Output      Money `json:"output"`
	Reasoning   Money `json:"reasoning"`
	InputAudio  Money `json:"input_audio"`
	OutputAudio Money `json:"output_audio"`
	InputImage  Money `json:"input_image,omitempty"`
	OutputImage Money `json:"output_image,omitempty"`
	Fees        Money `json:"fees"`
	// PriceAs is the catalog provider the call was priced as (the query's
	// Provider): what re-pricing the call later looks up again.
	PriceAs string `json:"price_as,omitempty"`
	// EntryID is the price entry used, Version the catalog's.
	EntryID string `json:"entry_id,omitempty"`
	Version string `json:"catalog_version"`
	// TierAbove is the context tier applied (0: the base prices).
	TierAbove int64 `json:"tier_above,omitempty"`
	// ServiceTierPrices names the service tier whose own prices applied
	// (instead of a multiplier).
	ServiceTierPrices string `json:"service_tier_prices,omitempty"`
	// OffPeak says the call was made outside the entry's peak hours and
	// paid the off-peak multiple (included in Multiplier).
	OffPeak bool `json:"off_peak,omitempty"`
	// Multiplier is the product of the batch, service-tier and negotiated
	// discount multipliers applied to the token components and fees, in
	// parts per million (1,000,000 = list price).
	Multiplier int64 `json:"multiplier_ppm"`
	Negotiated bool  `json:"negotiated,omitempty"`
	// Commitment names the committed capacity that covered the call: its
	// on-demand cost is 0 and its share of the commitment's fee is
	// reported apart (GET /api/v1/costs/commitments).
	Commitment string `json:"commitment,omitempty"`
	// Estimated is copied from the usage: Weir counted the tokens itself.
	Estimated bool `json:"estimated,omitempty"`
	// Unpriced lists the kinds of units of the call that have no price
	// (all of them when the model is unknown). A Cost with unpriced units
	// has no total: it is never $0.
	Unpriced UnitSet `json:"unpriced_units,omitempty"`
}

// Priced reports whether every unit of the call had a price.
func (c Cost) Priced() bool { return c.Unpriced == 0 && c.EntryID != "" }

// Amount returns the total and true when the call is fully priced.
func (c Cost) Amount() (Money, bool) { return c.Total, c.Priced() }

// UnitSet is a set of billable unit kinds.
type UnitSet uint16

// Unit kinds.
const (
	UnitInput UnitSet = 1 << iota
	UnitCacheRead
	UnitCacheWrite
	UnitCacheWrite1h
	UnitOutput
	UnitReasoning
	UnitInputAudio
	UnitOutputAudio
	UnitWebSearches
	UnitImages
	UnitAudioSeconds
	UnitInputImage
	UnitOutputImage
)

var unitNames = [...]string{
	"input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
	"output_tokens", "reasoning_tokens", "input_audio_tokens", "output_audio_tokens",
	"web_searches", "images", "audio_seconds", "input_image_tokens", "output_image_tokens",
}

// Names lists the set's units by their usage field names.
func (s UnitSet) Names() []string {
	var out []string
	for i, n := range unitNames {
		if s&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

func (s UnitSet) String() string { return strings.Join(s.Names(), ",") }

// MarshalJSON writes the names.
func (s UnitSet) MarshalJSON() ([]byte, error) {
	if s == 0 {
		return []byte("[]"), nil
	}
	return []byte(`["` + strings.Join(s.Names(), `","`) + `"]`), nil
}

// Errors of Price. They describe the query, not the catalog.
var (
	ErrInvalidUsage = errors.New("invalid usage: a count is negative or its parts exceed its total")
	ErrOverflow     = errors.New("cost overflows")
)

// Price returns the cost of one call. A model the catalog does not know is
// not an error: the Cost has no EntryID and lists its units as Unpriced.
// Price does not allocate.
func (c *Catalog) Price(q Query) (Cost, error) {
	u := q.Usage
	out := Cost{Version: c.version, PriceAs: q.Provider, Estimated: u.Estimated, Multiplier: million}
	if u.InputTokens < 0 || u.CacheReadTokens < 0 || u.CacheWriteTokens < 0 || u.CacheWrite1hTokens < 0 ||
		u.OutputTokens < 0 || u.ReasoningTokens < 0 || u.InputAudioTokens < 0 || u.OutputAudioTokens < 0 ||
		u.InputImageTokens < 0 || u.OutputImageTokens < 0 ||
		q.Units.WebSearches < 0 || q.Units.Images < 0 || q.Units.AudioSeconds < 0 {
		return out, ErrInvalidUsage
	}
	in := u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens - u.InputAudioTokens - u.InputImageTokens
	w5 := u.CacheWriteTokens - u.CacheWrite1hTokens
	outText := u.OutputTokens - u.ReasoningTokens - u.OutputAudioTokens - u.OutputImageTokens
	if in < 0 || w5 < 0 || outText < 0 || u.CacheReadTokens > u.InputTokens || u.CacheWriteTokens > u.InputTokens || u.ReasoningTokens > u.OutputTokens {
		return out, ErrInvalidUsage
	}
	present := unitsPresent(u, q.Units)

	p := c.providers[q.Provider]
	if p == nil {
		out.Unpriced = present
		return out, nil
	}
	t := q.At
	if t.IsZero() {
		t = time.Now()
	}
	e := p.findEntry(q.Model, t.Unix())
	if e == nil {
		out.Unpriced = present
		return out, nil
	}
	out.EntryID = e.id
	out.Negotiated = e.negotiated

	ps := &e.base
	for i := range e.tiers {
		if u.InputTokens > e.tiers[i].above {
			ps = &e.tiers[i].prices
			out.TierAbove = e.tiers[i].above
		}
	}
	ownTier := false
	if q.ServiceTier != "" {
		for i := range e.svcPrices {
			if strings.EqualFold(e.svcPrices[i].name, q.ServiceTier) {
				ps, ownTier = &e.svcPrices[i].prices, true
				out.TierAbove, out.ServiceTierPrices = 0, e.svcPrices[i].name
				break
			}
		}
	}

	// Multipliers: batch, service tier, negotiated discount.
	m := int64(million)
	if q.Batch {
		switch {
		case e.batch != 0:
			m = e.batch
		case p.batch != 0:
			m = p.batch
		}
	}
	if !ownTier {
		if tm := tierMultiplier(e, p, q.ServiceTier); tm != million {
			m = mulPPM(m, tm)
		}
	}
	sent := q.SentModel
	if sent == "" {
		sent = q.Model
	}
	if im := p.idMultiplier(sent); im != million {
		m = mulPPM(m, im)
	}
	if e.offPeak != nil && !e.offPeak.peak(t.Unix()) {
		m = mulPPM(m, e.offPeak.ppm)
		out.OffPeak = true
	}
	if !e.negotiated && p.discount != million {
		m = mulPPM(m, p.discount)
	}
	out.Multiplier = m

	fallback := func(i, alt int) Price {
		if ps.ok(i) {
			return ps.p[i]
		}
		return ps.p[alt]
	}
	ok := true
	charge := func(dst *Money, n int64, price Price, priced bool, unit UnitSet) {
		if n == 0 {
			return
		}
		if !priced {
			out.Unpriced |= unit
			return
		}
		v, good := mulTokens(n, price)
		if good {
			v, good = scale(v, m)
		}
		if !good {
			ok = false
			return
		}
		*dst = v
	}
	hasIn, hasOut := ps.ok(pInput), ps.ok(pOutput)
	charge(&out.Input, in, ps.p[pInput], hasIn, UnitInput)
	charge(&out.CacheRead, u.CacheReadTokens, fallback(pCacheRead, pInput), hasIn || ps.ok(pCacheRead), UnitCacheRead)
	w5Price := fallback(pCacheWrite, pInput)
	w5ok := hasIn || ps.ok(pCacheWrite)
	charge(&out.CacheWrite5m, w5, w5Price, w5ok, UnitCacheWrite)
	if ps.ok(pCacheWrite1h) {
		charge(&out.CacheWrite1h, u.CacheWrite1hTokens, ps.p[pCacheWrite1h], true, UnitCacheWrite1h)
	} else {
		charge(&out.CacheWrite1h, u.CacheWrite1hTokens, w5Price, w5ok, UnitCacheWrite1h)
	}
	charge(&out.Output, outText, ps.p[pOutput], hasOut, UnitOutput)
	charge(&out.Reasoning, u.ReasoningTokens, fallback(pReasoning, pOutput), hasOut || ps.ok(pReasoning), UnitReasoning)
	charge(&out.InputAudio, u.InputAudioTokens, ps.p[pInputAudio], ps.ok(pInputAudio), UnitInputAudio)
	charge(&out.OutputAudio, u.OutputAudioTokens, ps.p[pOutputAudio], ps.ok(pOutputAudio), UnitOutputAudio)
	charge(&out.InputImage, u.InputImageTokens, fallback(pInputImage, pInput), hasIn || ps.ok(pInputImage), UnitInputImage)
	charge(&out.OutputImage, u.OutputImageTokens, fallback(pOutputImage, pOutput), hasOut || ps.ok(pOutputImage), UnitOutputImage)

	var fees [4]Money
	charge(&fees[0], 1, ps.p[pFeeRequest], true, 0)
	charge(&fees[1], q.Units.WebSearches, ps.p[pFeeWebSearch], ps.ok(pFeeWebSearch), UnitWebSearches)
	charge(&fees[2], q.Units.Images, ps.p[pFeeImage], ps.ok(pFeeImage), UnitImages)
	charge(&fees[3], q.Units.AudioSeconds, ps.p[pFeeAudioSecond], ps.ok(pFeeAudioSecond), UnitAudioSeconds)
	for _, f := range fees {
		out.Fees, ok = add(out.Fees, f, ok)
	}
	for _, v := range [...]Money{out.Input, out.CacheRead, out.CacheWrite5m, out.CacheWrite1h, out.Output, out.Reasoning, out.InputAudio, out.OutputAudio, out.InputImage, out.OutputImage, out.Fees} {
		out.Total, ok = add(out.Total, v, ok)
	}
	if !ok {
		return Cost{Version: c.version, PriceAs: q.Provider, Estimated: u.Estimated, Multiplier: million, EntryID: e.id}, ErrOverflow
	}
	return out, nil
}

func add(a, b Money, ok bool) (Money, bool) {
	s := a + b
	if s < a {
		return a, false
	}
	return s, ok
}

func tierMultiplier(e *entry, p *providerIndex, tier string) int64 {
	if tier == "" {
		return million
	}
	for _, list := range [2][]tierMult{e.svc, p.tiers} {
		for _, t := range list {
			if strings.EqualFold(t.name, tier) {
				return t.ppm
			}
		}
	}
	return million
}

func unitsPresent(u usage.Usage, n Units) UnitSet {
	var s UnitSet
	for i, v := range [...]int64{
		u.InputTokens - u.CacheReadTokens - u.CacheWriteTokens - u.InputAudioTokens - u.InputImageTokens,
		u.CacheReadTokens, u.CacheWriteTokens - u.CacheWrite1hTokens, u.CacheWrite1hTokens,
		u.OutputTokens - u.ReasoningTokens - u.OutputAudioTokens - u.OutputImageTokens, u.ReasoningTokens,
		u.InputAudioTokens, u.OutputAudioTokens, n.WebSearches, n.Images, n.AudioSeconds,
		u.InputImageTokens, u.OutputImageTokens,
	} {
		if v > 0 {
			s |= 1 << i
		}
	}
	return s
}

// String is a one-line summary for logs.
func (c Cost) String() string {
	if !c.Priced() {
		return fmt.Sprintf("unpriced (%s)", c.Unpriced)
	}
	return fmt.Sprintf("$%s (%s, catalog %s)", c.Total, c.EntryID, c.Version)
}

// mulPPM multiplies two multipliers in parts per million, rounding half to
// even. Multipliers are at most MaxMultiplier, so the product of four is
// far from overflowing.
func mulPPM(a, b int64) int64 {
	p := a * b
	q, r := p/million, p%million
	if 2*r > million || 2*r == million && q%2 == 1 {
		q++
	}
	return q
}

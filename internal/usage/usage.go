// Package usage defines Weir's single token taxonomy, the OpenTelemetry GenAI
// one, and normalises every provider's usage report into it.
//
// In this taxonomy InputTokens counts every prompt token, including the ones
// read from or written to a prompt cache, and OutputTokens counts every
// generated token, including hidden reasoning. The cache and reasoning fields
// are subsets, never additions. Any package may import usage; it imports
// nothing of Weir's.
package usage

import (
	"encoding/json"
	"fmt"
)

// Usage is the token count of one call.
type Usage struct {
	// InputTokens is every prompt token, cached or not.
	InputTokens int64 `json:"input_tokens"`
	// CacheReadTokens is the part of InputTokens served from a prompt cache.
	CacheReadTokens int64 `json:"cache_read_tokens"`
	// CacheWriteTokens is the part of InputTokens written to a prompt cache.
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// CacheWrite1hTokens is the part of CacheWriteTokens written with a
	// one-hour lifetime (Anthropic prices it apart from the 5-minute one).
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens,omitempty"`
	// OutputTokens is every generated token, reasoning included.
	OutputTokens int64 `json:"output_tokens"`
	// ReasoningTokens is the part of OutputTokens spent on hidden reasoning.
	ReasoningTokens int64 `json:"reasoning_tokens"`
	// InputAudioTokens and OutputAudioTokens are the audio parts of the
	// input and output counts.
	InputAudioTokens  int64 `json:"input_audio_tokens,omitempty"`
	OutputAudioTokens int64 `json:"output_audio_tokens,omitempty"`
	// InputImageTokens and OutputImageTokens are the image parts of the
	// input and output counts, where a provider reports them apart.
	InputImageTokens  int64 `json:"input_image_tokens,omitempty"`
	OutputImageTokens int64 `json:"output_image_tokens,omitempty"`
	// Estimated is true when the provider reported no usage and Weir counted
	// the tokens itself.
	Estimated bool `json:"estimated,omitempty"`
}

// Total is input plus output tokens.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// IsZero reports whether u carries no counts at all.
func (u Usage) IsZero() bool { return u == Usage{} }

// openAIUsage is the usage object of the OpenAI chat completions, completions
// and embeddings APIs, with the fields OpenAI-compatible servers add.
type openAIUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
		AudioTokens  int64 `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
		AudioTokens     int64 `json:"audio_tokens"`
	} `json:"completion_tokens_details"`
	// DeepSeek reports its cache hits apart; both are part of prompt_tokens.
	PromptCacheHitTokens int64 `json:"prompt_cache_hit_tokens"`
	// Some servers (vLLM with reasoning parsers, xAI) put reasoning here.
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// FromOpenAI normalises an OpenAI-shaped usage object. prompt_tokens already
// includes cached tokens and completion_tokens already includes reasoning
// tokens, so they map directly.
func FromOpenAI(raw []byte) (Usage, error) {
	var o openAIUsage
	if err := json.Unmarshal(raw, &o); err != nil {
		return Usage{}, fmt.Errorf("decode openai usage: %w", err)
	}
	u := Usage{
		InputTokens:     o.PromptTokens,
		OutputTokens:    o.CompletionTokens,
		CacheReadTokens: o.PromptCacheHitTokens,
		ReasoningTokens: o.ReasoningTokens,
	}
	if o.PromptTokens == 0 && o.CompletionTokens == 0 && o.TotalTokens > 0 {
		u.InputTokens = o.TotalTokens // embeddings-like servers that send only a total
	}
	if d := o.PromptTokensDetails; d != nil {
		if d.CachedTokens > 0 {
			u.CacheReadTokens = d.CachedTokens
		}
		u.InputAudioTokens = d.AudioTokens
	}
	if d := o.CompletionTokensDetails; d != nil {
		if d.ReasoningTokens > 0 {
			u.ReasoningTokens = d.ReasoningTokens
		}
		u.OutputAudioTokens = d.AudioTokens
	}
	return u, nil
}

// anthropicUsage is the usage object of the Anthropic Messages API, as sent
// in a response, in message_start and in message_delta.
type anthropicUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreation            *struct {
		Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
}

// Anthropic accumulates Anthropic usage reports. Anthropic does not count
// cache reads and writes in input_tokens, so the normalised input is their
// sum. A stream reports usage twice (message_start, then cumulative counts in
// message_delta); Merge each report in order and the latest value of each
// field wins.
type Anthropic struct {
	input, cacheWrite, cacheRead, output, write1h int64
	seen                                          bool
}

// Merge folds one usage object into the accumulator.
func (a *Anthropic) Merge(raw []byte) error {
	var o anthropicUsage
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("decode anthropic usage: %w", err)
	}
	a.seen = true
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&a.input, o.InputTokens)
	set(&a.cacheWrite, o.CacheCreationInputTokens)
	set(&a.cacheRead, o.CacheReadInputTokens)
	set(&a.output, o.OutputTokens)
	if o.CacheCreation != nil {
		a.write1h = o.CacheCreation.Ephemeral1h
	}
	return nil
}

// Seen reports whether any usage object was merged.
func (a *Anthropic) Seen() bool { return a.seen }

// Usage returns the normalised usage.
func (a *Anthropic) Usage() Usage {
	return Usage{
		InputTokens:        a.input + a.cacheWrite + a.cacheRead,
		CacheReadTokens:    a.cacheRead,
		CacheWriteTokens:   a.cacheWrite,
		CacheWrite1hTokens: a.write1h,
		OutputTokens:       a.output,
	}
}

// FromAnthropic normalises one Anthropic usage object.
func FromAnthropic(raw []byte) (Usage, error) {
	var a Anthropic
	if err := a.Merge(raw); err != nil {
		return Usage{}, err
	}
	return a.Usage(), nil
}

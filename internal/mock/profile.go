package mock

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// Usage modes of a Profile.
const (
	// UsageAlways reports usage on every answer, including OpenAI streams
	// whose request did not ask for it.
	UsageAlways = "always"
	// UsageIfRequested reports usage in OpenAI streams only when the request
	// sets stream_options.include_usage, as OpenAI does. Non-streamed
	// answers and Anthropic streams always carry usage.
	UsageIfRequested = "if_requested"
	// UsageNever reports no usage at all, streamed or not, to exercise a
	// gateway's token estimation.
	UsageNever = "never"
)

// Hang points of a Profile.
const (
	// HangHeaders never sends the response headers.
	HangHeaders = "headers"
	// HangStream sends the headers and the first token chunk, then nothing
	// more, keeping the connection open.
	HangStream = "stream"
)

// Model types of a Profile.
const (
	// TypeChat serves chat completions and messages (the default).
	TypeChat = "chat"
	// TypeEmbedding serves embeddings.
	TypeEmbedding = "embedding"
)

// DefaultRefusalText is what a refusing model says when its profile sets no
// RefusalText.
const DefaultRefusalText = "I'm sorry, but I can't help with that."

// Profile is how one simulated model behaves. Every field's zero value is
// the default noted beside it. Durations are Go duration strings in YAML
// ("250ms").
type Profile struct {
	// Type is "chat" (default) or "embedding". A chat request for an
	// embedding model, or the reverse, gets the provider's error.
	Type string `yaml:"type"`
	// ResponseModel is the model name reported in answers, e.g. a dated
	// snapshot. Default: the requested model id.
	ResponseModel string `yaml:"response_model"`

	// TTFT is the time from the request to the first token (default 0).
	// For embeddings it is the whole response time.
	TTFT time.Duration `yaml:"ttft"`
	// TTFTJitter spreads TTFT uniformly by plus or minus this much.
	TTFTJitter time.Duration `yaml:"ttft_jitter"`
	// ITL is the inter-token latency (default 0).
	ITL time.Duration `yaml:"itl"`
	// ITLJitter spreads each ITL uniformly by plus or minus this much.
	ITLJitter time.Duration `yaml:"itl_jitter"`

	// OutputTokens is the number of content tokens generated per choice
	// (default 0: an empty answer). One token is one stream chunk.
	OutputTokens int `yaml:"output_tokens"`
	// ReasoningTokens is the number of reasoning tokens produced before the
	// content (default 0). Anthropic requests reason only when they enable
	// thinking, and at most thinking.budget_tokens.
	ReasoningTokens int `yaml:"reasoning_tokens"`
	// ReasoningVisible streams the reasoning: delta.reasoning_content chunks
	// on OpenAI, thinking_delta events on Anthropic. When false (default)
	// the reasoning is hidden: counted in usage and delaying the first
	// content token by ReasoningTokens*ITL (Anthropic sends an empty
	// thinking block with its signature, as with display "omitted").
	ReasoningVisible bool `yaml:"reasoning_visible"`

	// InputTokens, if above 0, is the uncached prompt token count reported;
	// otherwise it is computed from the request (see docs/simulator.md).
	InputTokens int `yaml:"input_tokens"`
	// CacheReadTokens are prompt tokens reported as read from the prompt
	// cache, on top of the uncached ones (default 0).
	CacheReadTokens int `yaml:"cache_read_tokens"`
	// CacheWriteTokens are prompt tokens reported as written to the prompt
	// cache, on top of the uncached ones (default 0). OpenAI has no such
	// figure and counts them as ordinary prompt tokens.
	CacheWriteTokens int `yaml:"cache_write_tokens"`
	// CacheWrite1hTokens is the part of CacheWriteTokens written with the
	// one-hour lifetime (Anthropic's ephemeral_1h_input_tokens; default 0).
	CacheWrite1hTokens int `yaml:"cache_write_1h_tokens"`
	// Usage is "always", "if_requested" or "never". Default: "if_requested",
	// which differs from "always" only for OpenAI streams.
	Usage string `yaml:"usage"`

	// Failures are drawn once per request from the seeded generator; their
	// rates add up to at most 1.
	Failures []Failure `yaml:"failures"`
	// CutRate is the probability that a response is aborted (connection
	// closed without a terminator) after CutAfter token chunks.
	CutRate  float64 `yaml:"cut_rate"`
	CutAfter int     `yaml:"cut_after"`
	// HangRate is the probability that a response stops at HangAt
	// ("headers", the default, or "stream") until the client gives up.
	HangRate float64 `yaml:"hang_rate"`
	HangAt   string  `yaml:"hang_at"`

	// RPM and TPM, if above 0, limit requests and tokens per minute for the
	// model; beyond them the answer is a 429 with the provider's headers.
	RPM int `yaml:"rpm"`
	TPM int `yaml:"tpm"`

	// OutputTokensJitter spreads each choice's content token count: it is
	// OutputTokens plus a uniform integer in [-j, +j], at least 1 when
	// OutputTokens is above 0 (default 0: exactly OutputTokens). Drawn per
	// request from the model's seeded generator, not from the request, so
	// identical requests get different lengths while a seed still repeats
	// the sequence. Tool-call arguments keep their length; JSON answers are
	// cut into the jittered number of pieces.
	OutputTokensJitter int `yaml:"output_tokens_jitter"`
	// RefusalRate is the probability, 0 to 1, that the model refuses a
	// request (default 0): every choice's content becomes RefusalText, and
	// no tool is called unless the request forces a call, which is then
	// answered normally. OpenAI structured outputs (response_format
	// json_schema) carry it in message.refusal / delta.refusal instead.
	RefusalRate float64 `yaml:"refusal_rate"`
	// RefusalText is what a refusing model says (default
	// DefaultRefusalText), split into word tokens like generated text.
	RefusalText string `yaml:"refusal_text"`
	// RefusalStopReason ends refusals on the Anthropic Messages API with
	// stop_reason "refusal", as Claude's streaming classifiers do, instead
	// of "end_turn" (default false).
	RefusalStopReason bool `yaml:"refusal_stop_reason"`
	// InvalidJSONRate is the probability, 0 to 1, that an answer to a
	// request for JSON (OpenAI json_object or json_schema, Gemini's JSON
	// modes) is not valid JSON: the document is cut before its closing
	// characters (default 0).
	InvalidJSONRate float64 `yaml:"invalid_json_rate"`

	// ToolCalls makes the model answer a request that carries tools (and a
	// tool_choice other than none) with a call to the first tool, or to the
	// named one. A request that forces a tool call gets one regardless.
	ToolCalls bool `yaml:"tool_calls"`

	// Dimensions is an embedding model's native vector length (default
	// 1536).
	Dimensions int `yaml:"dimensions"`

	// Switch, when set, replaces this profile from SwitchAfter (counted
	// from the server's start) or SwitchAt, whichever comes first.
	SwitchAfter time.Duration `yaml:"switch_after"`
	SwitchAt    time.Time     `yaml:"switch_at"`
	Switch      *Profile      `yaml:"switch"`
}

// Failure is one kind of injected error.
type Failure struct {
	// Status is the HTTP status: 400, 401, 403, 404, 408, 413, 429, 500,
	// 502, 503, 504 or 529.
	Status int `yaml:"status"`
	// Rate is the probability of this failure per request, 0 to 1.
	Rate float64 `yaml:"rate"`
	// RetryAfter, if set, is sent as the retry-after header (whole seconds,
	// rounded up) and, on OpenAI, retry-after-ms.
	RetryAfter time.Duration `yaml:"retry_after"`
	// AfterChunks, if above 0, delivers the failure inside a stream after
	// that many token chunks: an OpenAI error chunk followed by [DONE], or
	// an Anthropic error event. Non-streamed requests fail up front.
	AfterChunks int `yaml:"after_chunks"`
}

// Config is the simulator's configuration.
type Config struct {
	// Builtin also serves the models of DefaultConfig; models named in
	// Models replace the built-in ones of the same name.
	Builtin bool `yaml:"builtin"`
	// Models maps model ids to profiles. A request for any other model
	// gets the provider's 404.
	Models map[string]Profile `yaml:"models"`
	// APIKey, if set, is required as "Authorization: Bearer KEY" on the
	// OpenAI paths and "x-api-key: KEY" (or the bearer form, which
	// Anthropic's newer SDKs send) on the Anthropic ones. It is a test
	// credential, not a secret.
	APIKey string `yaml:"api_key"`
	// Seed makes generated text, ids and injected failures repeatable.
	Seed int64 `yaml:"seed"`
}

// DefaultConfig returns the built-in models, with modest realistic timings.
func DefaultConfig() Config {
	return Config{Seed: 1, Models: map[string]Profile{
		"gpt-4o-mini": {
			ResponseModel: "gpt-4o-mini-2024-07-18",
			TTFT:          300 * time.Millisecond, TTFTJitter: 100 * time.Millisecond,
			ITL: 15 * time.Millisecond, ITLJitter: 5 * time.Millisecond,
			OutputTokens: 60, ToolCalls: true,
		},
		"gpt-4.1": {
			ResponseModel: "gpt-4.1-2025-04-14",
			TTFT:          450 * time.Millisecond, TTFTJitter: 150 * time.Millisecond,
			ITL: 20 * time.Millisecond, ITLJitter: 6 * time.Millisecond,
			OutputTokens: 80, CacheReadTokens: 1024, ToolCalls: true,
		},
		"o4-mini": {
			ResponseModel: "o4-mini-2025-04-16",
			TTFT:          400 * time.Millisecond, TTFTJitter: 100 * time.Millisecond,
			ITL: 10 * time.Millisecond, ITLJitter: 3 * time.Millisecond,
			OutputTokens: 50, ReasoningTokens: 64, ToolCalls: true,
		},
		"deepseek-reasoner": {
			TTFT: 500 * time.Millisecond, TTFTJitter: 150 * time.Millisecond,
			ITL: 18 * time.Millisecond, ITLJitter: 5 * time.Millisecond,
			OutputTokens: 40, ReasoningTokens: 48, ReasoningVisible: true,
			CacheReadTokens: 256,
		},
		"text-embedding-3-small": {
			Type: TypeEmbedding, Dimensions: 1536,
			TTFT: 60 * time.Millisecond, TTFTJitter: 20 * time.Millisecond,
		},
		"claude-sonnet-4-5": {
			ResponseModel: "claude-sonnet-4-5-20250929",
			TTFT:          600 * time.Millisecond, TTFTJitter: 150 * time.Millisecond,
			ITL: 20 * time.Millisecond, ITLJitter: 6 * time.Millisecond,
			OutputTokens: 70, ReasoningTokens: 40, ReasoningVisible: true,
			CacheReadTokens: 2048, CacheWriteTokens: 512, ToolCalls: true,
		},
		"claude-haiku-4-5": {
			ResponseModel: "claude-haiku-4-5-20251001",
			TTFT:          350 * time.Millisecond, TTFTJitter: 100 * time.Millisecond,
			ITL: 10 * time.Millisecond, ITLJitter: 3 * time.Millisecond,
			OutputTokens: 50, ToolCalls: true,
		},
		"sim-fast": {OutputTokens: 16, ToolCalls: true},
		"sim-flaky": {
			TTFT: 50 * time.Millisecond, ITL: 5 * time.Millisecond,
			OutputTokens: 20,
			Failures: []Failure{
				{Status: 429, Rate: 0.15, RetryAfter: time.Second},
				{Status: 503, Rate: 0.10},
			},
		},
	}}
}

// LoadConfig reads a simulator configuration from a YAML file. Unknown keys
// are errors, and the result is validated.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read mock config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("mock config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes and validates a YAML configuration.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, errors.New("empty file")
		}
		return Config{}, fmt.Errorf("decode: %w", err)
	}
	if cfg.Builtin {
		def := DefaultConfig()
		for name, p := range cfg.Models {
			def.Models[name] = p
		}
		cfg.Models = def.Models
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports the first problem of the configuration, naming its key.
func (c Config) Validate() error {
	if len(c.Models) == 0 {
		return errors.New("models: at least one model is required")
	}
	names := make([]string, 0, len(c.Models))
	for name := range c.Models {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "" {
			return errors.New("models: empty model name")
		}
		p := c.Models[name]
		if err := p.validate("models." + name); err != nil {
			return err
		}
	}
	return nil
}

var failureStatuses = map[int]bool{400: true, 401: true, 403: true, 404: true, 408: true, 413: true,
	429: true, 500: true, 502: true, 503: true, 504: true, 529: true}

func (p *Profile) validate(key string) error {
	switch p.Type {
	case "", TypeChat, TypeEmbedding:
	default:
		return fmt.Errorf("%s.type: %q is not chat or embedding", key, p.Type)
	}
	durs := []struct {
		name string
		d    time.Duration
	}{{"ttft", p.TTFT}, {"ttft_jitter", p.TTFTJitter}, {"itl", p.ITL}, {"itl_jitter", p.ITLJitter}, {"switch_after", p.SwitchAfter}}
	for _, d := range durs {
		if d.d < 0 {
			return fmt.Errorf("%s.%s: %s is negative", key, d.name, d.d)
		}
	}
	ints := []struct {
		name string
		v    int
	}{{"output_tokens", p.OutputTokens}, {"reasoning_tokens", p.ReasoningTokens}, {"input_tokens", p.InputTokens},
		{"cache_read_tokens", p.CacheReadTokens}, {"cache_write_tokens", p.CacheWriteTokens},
		{"cache_write_1h_tokens", p.CacheWrite1hTokens}, {"cut_after", p.CutAfter}, {"rpm", p.RPM}, {"tpm", p.TPM},
		{"dimensions", p.Dimensions}, {"output_tokens_jitter", p.OutputTokensJitter}}
	for _, n := range ints {
		if n.v < 0 {
			return fmt.Errorf("%s.%s: %d is negative", key, n.name, n.v)
		}
	}
	if p.CacheWrite1hTokens > p.CacheWriteTokens {
		return fmt.Errorf("%s.cache_write_1h_tokens: %d is more than cache_write_tokens (%d)", key, p.CacheWrite1hTokens, p.CacheWriteTokens)
	}
	if p.Dimensions > 16384 {
		return fmt.Errorf("%s.dimensions: %d is more than 16384", key, p.Dimensions)
	}
	switch p.Usage {
	case "", UsageAlways, UsageIfRequested, UsageNever:
	default:
		return fmt.Errorf("%s.usage: %q is not always, if_requested or never", key, p.Usage)
	}
	switch p.HangAt {
	case "", HangHeaders, HangStream:
	default:
		return fmt.Errorf("%s.hang_at: %q is not headers or stream", key, p.HangAt)
	}
	if err := checkRate(key+".cut_rate", p.CutRate); err != nil {
		return err
	}
	if err := checkRate(key+".hang_rate", p.HangRate); err != nil {
		return err
	}
	if err := checkRate(key+".refusal_rate", p.RefusalRate); err != nil {
		return err
	}
	if err := checkRate(key+".invalid_json_rate", p.InvalidJSONRate); err != nil {
		return err
	}
	sum := 0.0
	for i, f := range p.Failures {
		fk := fmt.Sprintf("%s.failures[%d]", key, i)
		if !failureStatuses[f.Status] {
			return fmt.Errorf("%s.status: %d is not one of 400, 401, 403, 404, 408, 413, 429, 500, 502, 503, 504, 529", fk, f.Status)
		}
		if err := checkRate(fk+".rate", f.Rate); err != nil {
			return err
		}
		if f.RetryAfter < 0 {
			return fmt.Errorf("%s.retry_after: %s is negative", fk, f.RetryAfter)
		}
		if f.AfterChunks < 0 {
			return fmt.Errorf("%s.after_chunks: %d is negative", fk, f.AfterChunks)
		}
		sum += f.Rate
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("%s.failures: the rates add up to %g, more than 1", key, sum)
	}
	if p.Switch == nil && (p.SwitchAfter > 0 || !p.SwitchAt.IsZero()) {
		return fmt.Errorf("%s.switch: required with switch_after or switch_at", key)
	}
	if p.Switch != nil {
		if p.SwitchAfter == 0 && p.SwitchAt.IsZero() {
			return fmt.Errorf("%s.switch: needs switch_after or switch_at", key)
		}
		return p.Switch.validate(key + ".switch")
	}
	return nil
}

func checkRate(key string, r float64) error {
	if !(r >= 0 && r <= 1) {
		return fmt.Errorf("%s: %g is not between 0 and 1", key, r)
	}
	return nil
}

// Package record defines the record Weir keeps of every call it served: who
// made it, where it went, how long each part took and what it used. The
// gateway fills records, the recorder journals them, the store keeps them and
// the API returns them; the JSON field names are part of the public API.
// Any package may import record.
package record

import (
	"encoding/json"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/usage"
)

// Endpoints a record can belong to.
const (
	EndpointChatCompletions = "chat.completions"
	EndpointMessages        = "messages"
	EndpointEmbeddings      = "embeddings"
)

// Record is one call as Weir served it.
type Record struct {
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	// Endpoint is the caller-facing operation (chat.completions, messages,
	// embeddings).
	Endpoint string `json:"endpoint"`
	// Provider is the configured provider name that served the final attempt.
	Provider string `json:"provider"`
	// RequestedModel is the model as the caller wrote it.
	RequestedModel string `json:"requested_model"`
	// Route is the route the caller named as its model, when it named one;
	// Provider and Model are then the target that served the call (or the
	// last one tried), and Attempts lists every try.
	Route string `json:"route,omitempty"`
	// Prompt, PromptVersion and PromptVariant name the registered prompt
	// the call was rendered from (x-weir-prompt or the body's "weir"
	// field); the variant is "" for the default wording.
	Prompt        string `json:"prompt,omitempty"`
	PromptVersion int    `json:"prompt_version,omitempty"`
	PromptVariant string `json:"prompt_variant,omitempty"`
	// Model is the model as sent upstream.
	Model string `json:"model"`
	// ResponseModel is the model as the provider reported it.
	ResponseModel     string `json:"response_model"`
	SystemFingerprint string `json:"system_fingerprint"`
	// ProviderRequestID is the provider's own id for the final attempt.
	ProviderRequestID string `json:"provider_request_id,omitempty"`
	// Status is the HTTP status returned to the caller. A stream that broke
	// after its 200 header keeps 200 here and sets ErrorKind.
	Status       int    `json:"status"`
	ErrorKind    string `json:"error_kind,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	// Refusal says the model refused: the provider reported it (OpenAI
	// message.refusal or a streamed delta.refusal, Anthropic stop_reason
	// "refusal") or the answer's start matched Weir's refusal heuristic
	// (internal/behaviour.IsRefusal). Never set for a tool-call answer or
	// an empty one.
	Refusal bool `json:"refusal,omitempty"`
	// JSONValid is set only when the request asked for JSON (OpenAI
	// response_format json_object or json_schema, Anthropic structured
	// outputs): whether the answer's content, trimmed, is valid JSON (an
	// object for json_object). Null when the call failed, the answer was
	// a tool call or a refusal, or its content exceeded 1 MiB.
	JSONValid *bool `json:"json_valid,omitempty"`
	// ServiceTier is the tier the provider says served the call (default,
	// flex, priority; Anthropic standard, priority, batch).
	ServiceTier string `json:"service_tier,omitempty"`
	Stream      bool   `json:"stream"`
	// Chunks is the number of stream events written to the caller.
	Chunks int `json:"chunks,omitempty"`

	TTFTMs     *float64 `json:"ttft_ms"`
	TTFCTMs    *float64 `json:"ttfct_ms"`
	ITLMs      *ITL     `json:"itl_ms"`
	TPOTMs     *float64 `json:"tpot_ms"`
	OTPS       *float64 `json:"otps"`
	E2EMs      float64  `json:"e2e_ms"`
	UpstreamMs float64  `json:"upstream_ms"`
	OverheadMs float64  `json:"overhead_ms"`

	Usage usage.Usage `json:"usage"`

	// CostUSD is what the call cost, exactly, in US dollars; null when it
	// could not be priced (a model or a unit the price catalog lacks):
	// never 0 for an unpriced call. Cost says how it was derived.
	CostUSD *pricing.Money `json:"cost_usd"`
	Cost    *pricing.Cost  `json:"cost,omitempty"`

	Attribution

	Attempts []Attempt `json:"attempts"`

	// Request holds the request body as the caller sent it (not for calls
	// recorded as interrupted: the journal's begin entry keeps no body, to
	// write each body once). Response holds
	// the response body of a non-streamed call (or the error body sent), and
	// for a stream the text the model generated, in order: reasoning,
	// content, tool names and arguments. Both are empty when the caller set
	// x-weir-no-log. Truncated says either was cut at the configured limit.
	Request   string `json:"request,omitempty"`
	Response  string `json:"response,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// Attribution is who a call belongs to, from the x-weir-* request headers.
type Attribution struct {
	UseCase         string `json:"use_case,omitempty"`
	UseCaseInstance string `json:"use_case_instance,omitempty"`
	UseCaseVersion  string `json:"use_case_version,omitempty"`
	UseCaseStep     string `json:"use_case_step,omitempty"`
	User            string `json:"user,omitempty"`
	Account         string `json:"account,omitempty"`
	Team            string `json:"team,omitempty"`
	// Application and APIKeyID name the application whose key made the
	// call (set from the key, never from headers).
	Application string          `json:"application,omitempty"`
	APIKeyID    string          `json:"api_key_id,omitempty"`
	Tags        []string        `json:"tags,omitempty"`
	Properties  json.RawMessage `json:"properties,omitempty"`
	NoLog       bool            `json:"no_log,omitempty"`
}

// ITL summarises the inter-token latencies of a stream, in milliseconds.
type ITL struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	Max  float64 `json:"max"`
	// Count is the number of gaps measured.
	Count int `json:"count"`
}

// Attempt is one try against an upstream provider.
type Attempt struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// StartMs is when the attempt began, in milliseconds after ReceivedAt.
	StartMs    float64 `json:"start_ms"`
	DurationMs float64 `json:"duration_ms"`
	// Status is the upstream HTTP status, 0 when no response arrived.
	Status            int    `json:"status"`
	ErrorKind         string `json:"error_kind,omitempty"`
	Error             string `json:"error,omitempty"`
	ProviderRequestID string `json:"provider_request_id,omitempty"`
	// Next is what followed a failed attempt of a route: "retry" (the
	// same target again, after Backoff), "fallback" (the next target), or
	// empty when the attempt was the last.
	Next      string  `json:"next,omitempty"`
	BackoffMs float64 `json:"backoff_ms,omitempty"`
}

// Package provider defines what the gateway needs from an LLM provider
// adapter, as small interfaces an adapter implements only where it can: an
// adapter that cannot embed does not implement Embedder. One sub-package per
// vendor implements them; providertest holds the conformance suite every
// adapter passes. Adapters import provider, usage, sse and apierror, never
// the gateway or the store.
package provider

import (
	"context"
	"errors"

	"github.com/weirhq/weir/internal/apierror"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/internal/usage"
)

// Request is one call as the gateway hands it to an adapter.
type Request struct {
	// Model is the upstream model id (the part after "provider/").
	Model string
	// Body is the caller's JSON request in the protocol of the method called
	// (OpenAI chat completions for ChatCompletion, Anthropic Messages for
	// Messages, ...), with "model" already set to Model.
	Body []byte
	// Stream is the body's "stream" flag.
	Stream bool
	// IncludeUsage is true when a streaming OpenAI-protocol caller asked for
	// the final usage chunk (stream_options.include_usage). The gateway
	// always asks the provider for usage (it sets include_usage in Body);
	// when IncludeUsage is false adapters mark the usage-only event Drop so
	// the caller never sees it.
	IncludeUsage bool
	// Header carries the caller headers an adapter may forward
	// (anthropic-version, anthropic-beta, openai-organization, ...).
	Header http.Header
	// APIKey, when set, replaces the adapter's configured key for this call
	// (a caller's own key passed through with x-weir-provider-key).
	APIKey string
	// Wait, when set, accumulates the time spent waiting on the provider.
	Wait *WaitTimer
}

// Response is a provider's successful answer. Errors come back as
// *apierror.Error values instead, with the upstream status and a message
// extracted from the provider's error body.
type Response struct {
	// Status is the upstream HTTP status (2xx).
	Status int
	// Header holds the upstream headers worth relaying to the caller
	// (x-request-id, request-id, rate-limit headers, openai-processing-ms).
	Header http.Header
	// Body is the complete response for a non-streamed call, already in the
	// caller's protocol.
	Body []byte
	// Stream is non-nil for a streamed call.
	Stream Stream

	// What the adapter parsed from a non-streamed Body.
	Usage             usage.Usage
	HasUsage          bool
	ResponseModel     string
	SystemFingerprint string
	FinishReason      string
	RequestID         string
	// ServiceTier is the tier the provider says served the call (OpenAI's
	// service_tier, Anthropic's usage.service_tier), for pricing.
	ServiceTier string
	// Text is the generated text, for token estimation when the provider
	// reported no usage.
	Text string
}

// Stream is a streamed response. Next returns io.EOF after the last event of
// a stream that ended cleanly, and an error (preferably *apierror.Error) when
// the stream broke, stalled or carried garbage. Close releases the upstream
// connection and may be called at any time, from the goroutine calling Next.
type Stream interface {
	Next() (Event, error)
	Close() error
}

// Event is one stream event as it will reach the caller.
type Event struct {
	// Data is the complete wire form (SSE framing included) to write to the
	// caller, in the caller's protocol. Empty with Drop set means "nothing to
	// write" (a usage chunk the caller did not ask for).
	Data []byte
	Drop bool
	// Token is true when the event carries a generated token: reasoning,
	// content, refusal or tool-call arguments.
	Token bool
	// Completion is true when the event carries completion content or a tool
	// call, i.e. not only reasoning.
	Completion bool
	// Usage is set when the event reported usage; it is cumulative, so the
	// last one seen is the call's usage.
	Usage *usage.Usage
	// Text is generated text carried by the event (content, reasoning,
	// tool arguments), for token estimation when no usage arrives.
	Text string
	// Metadata the provider reported; empty when the event carried none.
	ResponseModel     string
	SystemFingerprint string
	FinishReason      string
	ServiceTier       string
	// Err is set when the event is a provider's in-stream error report
	// (Anthropic's "error" event, an OpenAI chunk with an "error" object),
	// classified like the HTTP error it stands for. The event is still
	// relayed; the call is recorded as failed with Err's kind.
	Err *apierror.Error
	// Done is true for the protocol's terminal event ([DONE], message_stop).
	Done bool
}

// ChatCompleter serves the OpenAI chat completions protocol
// (POST /v1/chat/completions), natively or by translation.
type ChatCompleter interface {
	ChatCompletion(ctx context.Context, req *Request) (*Response, error)
}

// Messenger serves the Anthropic Messages protocol (POST /v1/messages).
type Messenger interface {
	Messages(ctx context.Context, req *Request) (*Response, error)
}

// Embedder serves the OpenAI embeddings protocol (POST /v1/embeddings).
type Embedder interface {
	Embeddings(ctx context.Context, req *Request) (*Response, error)
}

// Model is one model a provider offers.
type Model struct {
	ID      string `json:"id"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelLister lists the models a provider offers.
type ModelLister interface {
	ListModels(ctx context.Context) ([]Model, error)
}

// WaitTimer accumulates the time a call spends waiting on the provider:
// connecting, waiting for response headers, and blocked reading the body.
// The gateway subtracts it from the end-to-end time to get its own overhead.
// It is safe for concurrent use.
type WaitTimer struct{ nanos atomic.Int64 }

// Add records d of waiting.
func (w *WaitTimer) Add(d time.Duration) {
	if w != nil {
		w.nanos.Add(int64(d))
	}
}

// Total is the waiting recorded so far.
func (w *WaitTimer) Total() time.Duration {
	if w == nil {
		return 0
	}
	return time.Duration(w.nanos.Load())
}

// ErrStreamClosed is what Stream.Next returns after Close.
var ErrStreamClosed = apierror.New(apierror.ClientClosed, "the stream was closed")

// CodeContentFilter is the error code of a call a provider's content
// policy refused (Azure OpenAI's content_filter: a prompt or an answer its
// filters blocked), so that a route can tell it from other refusals and
// fall back on it. An answer the policy cut short is not an error: it
// ends with the finish reason FinishContentFilter.
const CodeContentFilter = "content_filter"

// FinishContentFilter is the finish reason of an answer a provider's
// content policy cut short.
const FinishContentFilter = "content_filter"

// ContentFiltered reports whether err is a provider's content-policy
// refusal.
func ContentFiltered(err error) bool {
	var e *apierror.Error
	return errors.As(err, &e) && e.Code == CodeContentFilter
}

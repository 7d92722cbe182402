package gateway

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/sse"
)

// protocol is the API dialect a caller speaks; errors reach it in that
// dialect.
type protocol int

const (
	protoOpenAI protocol = iota
	protoAnthropic
)

func openAIType(k apierror.Kind) string {
	switch k {
	case apierror.InvalidRequest, apierror.NotFound, apierror.RequestTooLarge:
		return "invalid_request_error"
	case apierror.Authentication:
		return "authentication_error"
	case apierror.PermissionDenied, apierror.BudgetExceeded:
		return "permission_error"
	case apierror.RateLimited:
		return "rate_limit_error"
	case apierror.UpstreamTimeout:
		return "timeout_error"
	default:
		return "server_error"
	}
}

func anthropicType(k apierror.Kind) string {
	switch k {
	case apierror.InvalidRequest:
		return "invalid_request_error"
	case apierror.Authentication:
		return "authentication_error"
	case apierror.PermissionDenied, apierror.BudgetExceeded:
		return "permission_error"
	case apierror.NotFound:
		return "not_found_error"
	case apierror.RequestTooLarge:
		return "request_too_large"
	case apierror.RateLimited:
		return "rate_limit_error"
	case apierror.UpstreamOverloaded:
		return "overloaded_error"
	case apierror.UpstreamTimeout:
		return "timeout_error"
	default:
		return "api_error"
	}
}

// status is the HTTP status the caller gets: 529 exists only on the
// Anthropic surface.
func status(p protocol, e *apierror.Error) int {
	s := e.HTTPStatus()
	if s == 529 && p != protoAnthropic {
		return http.StatusServiceUnavailable
	}
	if s < 400 || s > 599 {
		return http.StatusBadGateway
	}
	return s
}

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

type anthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// errorBody renders e in the caller's protocol.
func errorBody(p protocol, e *apierror.Error, requestID string) []byte {
	var v any
	if p == protoAnthropic {
		var b anthropicError
		b.Type = "error"
		b.Error.Type = anthropicType(e.Kind)
		b.Error.Message = e.Message
		b.RequestID = requestID
		v = b
	} else {
		var b openAIError
		b.Error.Message = e.Message
		b.Error.Type = openAIType(e.Kind)
		b.Error.Param = strPtr(e.Param)
		code := e.Code
		if code == "" {
			code = e.Kind.String()
		}
		b.Error.Code = &code
		v = b
	}
	out, _ := json.Marshal(v)
	return out
}

// writeError sends e as a complete error response.
func writeError(w http.ResponseWriter, p protocol, e *apierror.Error, requestID string) int {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	h.Set("Content-Type", "application/json")
	st := status(p, e)
	w.WriteHeader(st)
	w.Write(errorBody(p, e, requestID))
	return st
}

// streamErrorEvent renders e as the SSE event that ends a broken stream:
// Anthropic's "error" event, or a data chunk holding an OpenAI error object
// (which the OpenAI SDKs raise as an error). No [DONE] follows, so no client
// mistakes the stream for complete.
func streamErrorEvent(p protocol, e *apierror.Error, requestID string) []byte {
	if p == protoAnthropic {
		return sse.AppendEvent(nil, "error", errorBody(p, e, requestID))
	}
	return sse.AppendEvent(nil, "", errorBody(p, e, requestID))
}

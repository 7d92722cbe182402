// Package apierror defines the one error type the gateway returns to callers.
// A Kind decides the HTTP status, whether another provider may be tried, and
// the error type names on the OpenAI and Anthropic surfaces; Message is safe
// to show the caller, while the wrapped cause is for logs only. Providers,
// the gateway and the API import it; it imports nothing of Weir's.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind classifies an error.
type Kind int

// The kinds, from the caller's fault to the provider's.
const (
	Internal Kind = iota
	InvalidRequest
	Authentication
	PermissionDenied
	NotFound
	RequestTooLarge
	RateLimited
	BudgetExceeded
	ClientClosed
	UpstreamUnavailable
	UpstreamTimeout
	UpstreamBadResponse
	UpstreamOverloaded
	UpstreamError
	Interrupted
)

var kindNames = [...]string{
	Internal:            "internal",
	InvalidRequest:      "invalid_request",
	Authentication:      "authentication",
	PermissionDenied:    "permission_denied",
	NotFound:            "not_found",
	RequestTooLarge:     "request_too_large",
	RateLimited:         "rate_limited",
	BudgetExceeded:      "budget_exceeded",
	ClientClosed:        "client_closed",
	UpstreamUnavailable: "upstream_unavailable",
	UpstreamTimeout:     "upstream_timeout",
	UpstreamBadResponse: "upstream_bad_response",
	UpstreamOverloaded:  "upstream_overloaded",
	UpstreamError:       "upstream_error",
	Interrupted:         "interrupted",
}

// String is the kind's name as recorded in error_kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Status is the HTTP status a kind gets when nothing more specific is known.
func (k Kind) Status() int {
	switch k {
	case InvalidRequest:
		return http.StatusBadRequest
	case Authentication:
		return http.StatusUnauthorized
	case PermissionDenied, BudgetExceeded:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case RequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case RateLimited:
		return http.StatusTooManyRequests
	case ClientClosed:
		return 499
	case UpstreamUnavailable, UpstreamOverloaded:
		return http.StatusServiceUnavailable
	case UpstreamTimeout:
		return http.StatusGatewayTimeout
	case UpstreamBadResponse, UpstreamError:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// Retryable reports whether another attempt, at the same or another
// provider, may succeed where this one failed.
func (k Kind) Retryable() bool {
	switch k {
	case RateLimited, UpstreamUnavailable, UpstreamTimeout, UpstreamBadResponse, UpstreamOverloaded:
		return true
	}
	return false
}

// Error is a gateway error.
type Error struct {
	Kind Kind
	// Message is safe to show the caller.
	Message string
	// Status overrides Kind.Status, e.g. to relay a provider's own status.
	Status int
	// Param and Code fill the OpenAI error object's fields of the same name.
	Param string
	Code  string
	// RetryAfter, when set, is sent as the retry-after header.
	RetryAfter time.Duration
	// Header holds upstream headers worth relaying with the error
	// (rate-limit state, request ids).
	Header http.Header
	// Err is the cause, for logs; never shown to the caller.
	Err error
}

// New returns an error of kind k with a caller-safe message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k with a caller-safe message and a cause.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status the caller receives.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Kind.Status()
}

// From returns err as an *Error, classifying unknown errors as Internal with
// a generic message so no internal detail leaks to the caller.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Message: "internal error", Err: err}
}

// FromStatus classifies an upstream HTTP error status.
func FromStatus(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == 529:
		return UpstreamOverloaded
	case status == http.StatusServiceUnavailable, status == http.StatusBadGateway:
		return UpstreamUnavailable
	case status == http.StatusGatewayTimeout, status == http.StatusRequestTimeout:
		return UpstreamTimeout
	case status >= 500:
		return UpstreamUnavailable
	case status == http.StatusUnauthorized:
		return Authentication
	case status == http.StatusForbidden:
		return PermissionDenied
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusRequestEntityTooLarge:
		return RequestTooLarge
	case status >= 400:
		return InvalidRequest
	}
	return UpstreamBadResponse
}

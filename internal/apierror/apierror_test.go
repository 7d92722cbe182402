package apierror

import (
	"errors"
	"fmt"
	"testing"
)

func TestFromStatus(t *testing.T) {
	for status, want := range map[int]Kind{
		400: InvalidRequest, 401: Authentication, 403: PermissionDenied, 404: NotFound,
		413: RequestTooLarge, 429: RateLimited, 500: UpstreamUnavailable, 502: UpstreamUnavailable,
		503: UpstreamUnavailable, 504: UpstreamTimeout, 529: UpstreamOverloaded, 200: UpstreamBadResponse,
	} {
		if got := FromStatus(status); got != want {
			t.Errorf("FromStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestFromHidesInternalDetail(t *testing.T) {
	e := From(fmt.Errorf("open /secret/path: %w", errors.New("boom")))
	if e.Kind != Internal || e.Message != "internal error" || e.HTTPStatus() != 500 {
		t.Errorf("From(plain error) = %+v", e)
	}
	orig := New(RateLimited, "slow down")
	if got := From(fmt.Errorf("wrapped: %w", orig)); got != orig {
		t.Errorf("From lost the wrapped *Error: %v", got)
	}
}

func TestKindNamesComplete(t *testing.T) {
	for k := Internal; k <= Interrupted; k++ {
		if kindNames[k] == "" {
			t.Errorf("kind %d has no name", k)
		}
	}
	if !RateLimited.Retryable() || InvalidRequest.Retryable() {
		t.Error("retryable classification is wrong")
	}
}

package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
)

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
		tol  time.Duration
	}{
		{http.Header{"Retry-After": {"2"}}, 2 * time.Second, 0},
		{http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond, 0},
		{http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"9"}}, 250 * time.Millisecond, 0},
		{http.Header{"Retry-After": {future}}, 90 * time.Second, 2 * time.Second},
		{http.Header{"Retry-After": {"soon"}}, 0, 0},
		{http.Header{"Retry-After": {"-3"}}, 0, 0},
		{http.Header{}, 0, 0},
	} {
		got := RetryAfter(tc.h)
		if d := got - tc.want; d < -tc.tol || d > tc.tol {
			t.Errorf("RetryAfter(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestRelayHeader(t *testing.T) {
	h := http.Header{
		"X-Request-Id": {"req_1"}, "X-Ratelimit-Remaining-Tokens": {"99"}, "Anthropic-Ratelimit-Requests-Limit": {"50"},
		"Set-Cookie": {"secret"}, "Content-Length": {"10"}, "Retry-After": {"1"},
	}
	got := RelayHeader(h)
	for _, k := range []string{"X-Request-Id", "X-Ratelimit-Remaining-Tokens", "Anthropic-Ratelimit-Requests-Limit", "Retry-After"} {
		if got.Get(k) == "" {
			t.Errorf("%s not relayed", k)
		}
	}
	for _, k := range []string{"Set-Cookie", "Content-Length"} {
		if got.Get(k) != "" {
			t.Errorf("%s relayed", k)
		}
	}
}

func TestStatusError(t *testing.T) {
	resp := &http.Response{StatusCode: 502, Header: http.Header{}}
	e := StatusError(resp, []byte("<html>Bad Gateway</html>"), nil)
	if e.Kind != apierror.UpstreamUnavailable || e.Message != "upstream returned HTTP 502" || e.HTTPStatus() != 502 {
		t.Errorf("html body: %+v", e)
	}
	e = StatusError(resp, []byte(strings.Repeat("x", 500)), nil)
	if !strings.HasSuffix(e.Message, "...") || len(e.Message) > 260 {
		t.Errorf("long body not cut: %q", e.Message)
	}
}

func TestBodyReaderStall(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var wait provider.WaitTimer
	b := NewBodyReader(io.NopCloser(readerFunc(func(p []byte) (int, error) {
		<-ctx.Done()
		return 0, context.Cause(ctx)
	})), &wait, 50*time.Millisecond, cancel)
	start := time.Now()
	_, err := b.Read(make([]byte, 10))
	if !errors.Is(err, ErrStalled) || time.Since(start) < 50*time.Millisecond {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
	if wait.Total() < 50*time.Millisecond {
		t.Errorf("wait = %v, want the stall counted as upstream time", wait.Total())
	}
	b.Close()
	if e := Classify(ctx, err); e.Kind != apierror.UpstreamTimeout {
		t.Errorf("classified as %v", e.Kind)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestHeaderDeadline(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := HeaderDeadline(20*time.Millisecond, cancel)
	<-ctx.Done()
	stop()
	if !errors.Is(context.Cause(ctx), ErrNoHeaders) {
		t.Errorf("cause = %v", context.Cause(ctx))
	}
	ctx2, cancel2 := context.WithCancelCause(context.Background())
	HeaderDeadline(20*time.Millisecond, cancel2)()
	time.Sleep(40 * time.Millisecond)
	if ctx2.Err() != nil {
		t.Error("stopped deadline still fired")
	}
}

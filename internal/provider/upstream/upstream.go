// Package upstream holds the HTTP plumbing every provider adapter shares:
// sending a request with the wait timed, classifying transport failures and
// error statuses into apierror kinds, and reading a stream with an idle
// timeout. Only provider adapters import it.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
)

// MaxErrorBody bounds how much of an upstream error body is read.
const MaxErrorBody = 1 << 20

// MaxBody bounds a non-streamed upstream response body.
const MaxBody = 64 << 20

// relayHeaders are upstream response headers passed back to the caller.
var relayHeaders = []string{
	"x-request-id", "request-id", "openai-processing-ms", "openai-version", "openai-organization",
	"retry-after", "retry-after-ms", "anthropic-organization-id",
}

// RelayHeader copies the headers worth relaying: request ids, processing
// time and every rate-limit header (x-ratelimit-*, anthropic-ratelimit-*).
func RelayHeader(h http.Header) http.Header {
	out := make(http.Header, 8)
	for _, k := range relayHeaders {
		if v := h.Values(k); len(v) > 0 {
			out[http.CanonicalHeaderKey(k)] = v
		}
	}
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-ratelimit-") || strings.HasPrefix(lk, "anthropic-ratelimit-") {
			out[k] = v
		}
	}
	return out
}

// Do sends req and returns the response when its status is 2xx. The wait
// until the response headers arrive is added to wait. A non-2xx answer is
// read, closed and returned as an *apierror.Error whose message comes from
// parseErr (the provider's error body); transport failures are classified as
// unavailable or timed out.
func Do(client *http.Client, req *http.Request, wait *provider.WaitTimer, parseErr func([]byte) (msg, code string)) (*http.Response, error) {
	start := time.Now()
	resp, err := client.Do(req)
	wait.Add(time.Since(start))
	if err != nil {
		return nil, Classify(req.Context(), err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	rstart := time.Now()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	wait.Add(time.Since(rstart))
	return nil, StatusError(resp, body, parseErr)
}

// StatusError turns an upstream error response into an *apierror.Error that
// keeps the upstream status, message, retry-after and rate-limit headers.
func StatusError(resp *http.Response, body []byte, parseErr func([]byte) (msg, code string)) *apierror.Error {
	msg, code := "", ""
	if parseErr != nil {
		msg, code = parseErr(body)
	}
	if msg == "" {
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "..."
		}
		msg = fmt.Sprintf("upstream returned HTTP %d", resp.StatusCode)
		if snippet != "" && !strings.HasPrefix(snippet, "<") {
			msg += ": " + snippet
		}
	}
	// A provider may echo the key it was sent (a proxy, a self-hosted
	// server): the message goes to the caller, the record and the logs.
	msg, code = Scrub(resp.Request, msg), Scrub(resp.Request, code)
	e := &apierror.Error{
		Kind:    apierror.FromStatus(resp.StatusCode),
		Message: msg,
		Status:  resp.StatusCode,
		Code:    code,
		Header:  RelayHeader(resp.Header),
		Err:     fmt.Errorf("upstream status %d", resp.StatusCode),
	}
	e.RetryAfter = RetryAfter(resp.Header)
	return e
}

// minScrub is the shortest credential Scrub looks for: shorter values
// would redact ordinary words.
const minScrub = 8

// Scrub replaces in s every credential req carried: the value of each
// header whose name says it holds one (Authorization, x-api-key, api-key,
// *token*, *secret*...), with and without its scheme (Bearer, Basic), and
// the password of the URL.
func Scrub(req *http.Request, s string) string {
	if req == nil || s == "" {
		return s
	}
	replace := func(v string) {
		if v = strings.TrimSpace(v); len(v) >= minScrub {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	for k, vs := range req.Header {
		if !credentialHeader(k) {
			continue
		}
		for _, v := range vs {
			replace(v)
			if _, after, ok := strings.Cut(v, " "); ok {
				replace(after)
			}
		}
	}
	if req.URL != nil && req.URL.User != nil {
		if p, ok := req.URL.User.Password(); ok {
			replace(p)
		}
	}
	return s
}

func credentialHeader(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"auth", "key", "token", "secret", "cookie", "signature", "credential", "password"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// RetryAfter reads retry-after-ms or retry-after (seconds or an HTTP date).
func RetryAfter(h http.Header) time.Duration {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("retry-after")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// Classify turns a transport error into an *apierror.Error.
func Classify(ctx context.Context, err error) *apierror.Error {
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae
	}
	if cause := context.Cause(ctx); cause != nil {
		if errors.As(cause, &ae) {
			return ae
		}
		if errors.Is(cause, context.Canceled) {
			return apierror.Wrap(apierror.ClientClosed, err, "the caller went away")
		}
		if errors.Is(cause, context.DeadlineExceeded) {
			return apierror.Wrap(apierror.UpstreamTimeout, err, "the provider did not answer in time")
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return apierror.Wrap(apierror.UpstreamTimeout, err, "the provider did not answer in time")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider closed the connection mid-response")
	}
	return apierror.Wrap(apierror.UpstreamUnavailable, err, "could not reach the provider")
}

// ReadBody reads a non-streamed response body, timing the wait.
func ReadBody(ctx context.Context, resp *http.Response, wait *provider.WaitTimer) ([]byte, error) {
	defer resp.Body.Close()
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	wait.Add(time.Since(start))
	if err != nil {
		return nil, Classify(ctx, err)
	}
	if len(body) > MaxBody {
		return nil, apierror.New(apierror.UpstreamBadResponse, "the provider's response exceeds %d bytes", MaxBody)
	}
	return body, nil
}

// ErrStalled is the cause set when a stream waited longer than its idle
// timeout for the next byte.
var ErrStalled = apierror.New(apierror.UpstreamTimeout, "the provider's stream stalled")

// BodyReader wraps a streamed response body: every Read is timed into the
// wait timer, and a Read that blocks longer than idle cancels the request
// with ErrStalled as the cause.
type BodyReader struct {
	body   io.ReadCloser
	wait   *provider.WaitTimer
	idle   time.Duration
	cancel context.CancelCauseFunc
	timer  *time.Timer
	once   sync.Once
}

// NewBodyReader wraps body. cancel must cancel the request's context.
func NewBodyReader(body io.ReadCloser, wait *provider.WaitTimer, idle time.Duration, cancel context.CancelCauseFunc) *BodyReader {
	b := &BodyReader{body: body, wait: wait, idle: idle, cancel: cancel}
	if idle > 0 {
		b.timer = time.AfterFunc(idle, func() { cancel(ErrStalled) })
	}
	return b
}

func (b *BodyReader) Read(p []byte) (int, error) {
	start := time.Now()
	if b.timer != nil {
		b.timer.Reset(b.idle)
	}
	n, err := b.body.Read(p)
	if b.timer != nil && err == nil {
		b.timer.Stop()
	}
	b.wait.Add(time.Since(start))
	return n, err
}

// Close stops the idle timer, cancels the request and closes the body.
func (b *BodyReader) Close() error {
	var err error
	b.once.Do(func() {
		if b.timer != nil {
			b.timer.Stop()
		}
		b.cancel(context.Canceled)
		err = b.body.Close()
	})
	return err
}

// ErrNoHeaders is the cause set when a streamed call's response headers did
// not arrive within the stream idle timeout.
var ErrNoHeaders = apierror.New(apierror.UpstreamTimeout, "the provider sent no response headers within the stream idle timeout")

// HeaderDeadline cancels a streamed call with ErrNoHeaders unless the
// returned stop function is called within timeout. Non-streamed calls are
// bounded by their whole-call timeout instead. A zero timeout does nothing.
func HeaderDeadline(timeout time.Duration, cancel context.CancelCauseFunc) (stop func()) {
	if timeout <= 0 {
		return func() {}
	}
	t := time.AfterFunc(timeout, func() { cancel(ErrNoHeaders) })
	return func() { t.Stop() }
}

// BaseURL returns raw without trailing slashes, or def when raw is empty,
// and checks that it is an http(s) URL.
func BaseURL(raw, def string) (string, error) {
	base := strings.TrimRight(raw, "/")
	if base == "" {
		base = def
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return "", fmt.Errorf("base_url %q: must start with http:// or https://", raw)
	}
	return base, nil
}

// Client returns c, or http.DefaultClient when c is nil.
func Client(c *http.Client) *http.Client {
	if c == nil {
		return http.DefaultClient
	}
	return c
}

// Call is one upstream request with Weir's deadlines: a non-streamed call
// is bounded as a whole by Timeout; a streamed call must get its response
// headers within Idle (then BodyReader bounds each wait for bytes).
type Call struct {
	Client   *http.Client
	Stream   bool
	Timeout  time.Duration
	Idle     time.Duration
	Wait     *provider.WaitTimer
	ParseErr func([]byte) (msg, code string)
}

// Send builds the request with build (on a context the returned cancel
// function ends) and sends it. On success the caller owns cancel and must
// call it when done with the response; on error everything is released.
func (c Call) Send(ctx context.Context, build func(context.Context) (*http.Request, error)) (*http.Response, context.CancelCauseFunc, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	if !c.Stream && c.Timeout > 0 {
		var stop context.CancelFunc
		cctx, stop = context.WithTimeoutCause(cctx, c.Timeout, apierror.New(apierror.UpstreamTimeout, "the provider did not answer within %s", c.Timeout))
		inner := cancel
		cancel = func(err error) { inner(err); stop() }
	}
	hr, err := build(cctx)
	if err != nil {
		cancel(nil)
		return nil, nil, err
	}
	stop := func() {}
	if c.Stream {
		stop = HeaderDeadline(c.Idle, cancel)
	}
	resp, err := Do(c.Client, hr, c.Wait, c.ParseErr)
	stop()
	if err != nil {
		cancel(nil)
		return nil, nil, err
	}
	return resp, cancel, nil
}

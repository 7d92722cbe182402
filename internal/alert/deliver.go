package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// work delivers queued jobs until Close closes the queue.
func (e *Engine) work() {
	defer e.wg.Done()
	for j := range e.jobs {
		e.deliver(j)
	}
}

// outcome is what one attempt came to.
type outcome struct {
	status int   // 0 without an answer
	err    error // nil when delivered
	retry  bool  // whether another attempt may succeed
	// wait, when set, is how long the receiver asked us to wait
	// (Retry-After).
	wait    time.Duration
	hasWait bool
}

// deliver sends j until it is delivered, fails for good, runs out of
// attempts or the engine gives up at Close. The state is stored after each
// attempt; an abandoned delivery keeps its last stored state.
func (e *Engine) deliver(j job) {
	ctx := e.ctx
	d := Delivery{Webhook: j.hook.Name, State: DeliveryPending}
	for ctx.Err() == nil {
		d.Attempts++
		o := e.attempt(ctx, j, d.Attempts)
		if ctx.Err() != nil {
			return
		}
		d.LastStatus = o.status
		if o.err == nil {
			d.State, d.LastError, d.DeliveredAt = DeliveryDelivered, "", e.opt.Now()
			e.record(j, d)
			return
		}
		d.LastError = o.err.Error()
		if !o.retry || d.Attempts >= e.opt.MaxAttempts {
			d.State = DeliveryFailed
			e.record(j, d)
			e.log.Warn("alert delivery failed", "alert", j.alertID, "webhook", j.hook.Name, "attempts", d.Attempts, "err", d.LastError)
			return
		}
		e.record(j, d)
		wait := o.wait
		if !o.hasWait {
			wait = e.backoff(d.Attempts)
		}
		if e.opt.Sleep(ctx, wait) != nil {
			return
		}
	}
}

// record stores d; it is not tied to the engine's context, so the state
// after the last attempt is stored even while Close is waiting.
func (e *Engine) record(j job, d Delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.updateDelivery(ctx, j.alertID, d)
}

// backoff is the wait before retry n (from 1): full jitter over
// min(MaxBackoff, BaseBackoff·2^(n-1)).
func (e *Engine) backoff(n int) time.Duration {
	c := min(e.opt.BaseBackoff, e.opt.MaxBackoff)
	for i := 1; i < n && c < e.opt.MaxBackoff; i++ {
		if c > e.opt.MaxBackoff/2 {
			c = e.opt.MaxBackoff
			break
		}
		c *= 2
	}
	return e.opt.Jitter(c)
}

// attempt makes one request.
func (e *Engine) attempt(ctx context.Context, j job, n int) outcome {
	actx, cancel := context.WithTimeout(ctx, e.opt.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, j.hook.URL, strings.NewReader(j.body))
	if err != nil {
		return outcome{err: errors.New("cannot build the request from the webhook's URL")}
	}
	req.Header.Set("Content-Type", j.ctype)
	req.Header.Set("User-Agent", "weir-alert")
	req.Header.Set("X-Weir-Alert-Id", j.alertID)
	req.Header.Set("X-Weir-Delivery-Attempt", strconv.Itoa(n))
	for k, v := range j.hook.Headers {
		req.Header.Set(k, v)
	}
	if j.hook.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(j.hook.Secret, []byte(j.body)))
	}
	resp, err := e.opt.Client.Do(req)
	if err != nil {
		if errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return outcome{err: fmt.Errorf("no answer within %v", e.opt.AttemptTimeout), retry: true}
		}
		return outcome{err: withoutURL(err), retry: true}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused

	o := outcome{status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return o
	}
	o.err = fmt.Errorf("HTTP %d%s", resp.StatusCode, excerpt(head))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		o.retry = true
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), e.opt.Now()); ok {
			if d > e.opt.MaxRetryAfter {
				o.retry = false
				o.err = fmt.Errorf("%w; Retry-After %v is beyond the %v this engine waits", o.err, d, e.opt.MaxRetryAfter)
			}
			o.wait, o.hasWait = d, true
		}
	case resp.StatusCode >= 500:
		o.retry = true
	}
	return o
}

// withoutURL drops the URL net/http puts in its errors: a Slack webhook's
// URL is its credential, and delivery errors are stored and served.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

// excerpt is the start of an error answer's body, on one line, for
// LastError; empty when the body is.
func excerpt(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "?"))
	return ": " + truncate(s, 200)
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

package providertest

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
)

// failureCases check error statuses, broken streams and cancellation.
func failureCases() []testCase {
	var cs []testCase
	for _, tc := range []struct {
		name, model string
		body        func(model string, stream bool) []byte
		check       func(t *testing.T, e *apierror.Error)
	}{
		{"rate_limited", m429, nil, func(t *testing.T, e *apierror.Error) {
			wantKind(t, e, apierror.RateLimited)
			if e.HTTPStatus() != 429 {
				t.Errorf("HTTPStatus = %d, want 429", e.HTTPStatus())
			}
			if e.RetryAfter <= 0 {
				t.Errorf("RetryAfter = %s, want > 0 (the simulator sends retry-after: 2)", e.RetryAfter)
			}
		}},
		{"status_500", m500, nil, wantRetryable},
		{"status_503", m503, nil, wantRetryable},
		{"overloaded_529", m529, nil, func(t *testing.T, e *apierror.Error) { wantKind(t, e, apierror.UpstreamOverloaded) }},
		{"unknown_model", mUnknown, nil, func(t *testing.T, e *apierror.Error) { wantKind(t, e, apierror.NotFound) }},
		{"provider_400", m400, nil, func(t *testing.T, e *apierror.Error) { wantKind(t, e, apierror.InvalidRequest) }},
		{"malformed_request", mPlain, func(model string, stream bool) []byte {
			// An empty messages array: the adapter or the provider rejects it.
			b := map[string]any{"model": model, "messages": []any{}}
			if stream {
				b["stream"] = true
			}
			return mustJSON(b)
		}, func(t *testing.T, e *apierror.Error) { wantKind(t, e, apierror.InvalidRequest) }},
		{"wrong_key", mPlain, nil, func(t *testing.T, e *apierror.Error) { wantKind(t, e, apierror.Authentication) }},
	} {
		for _, stream := range []bool{false, true} {
			name := "errors/" + tc.name + "/unary"
			if stream {
				name = "errors/" + tc.name + "/stream"
			}
			cs = append(cs, testCase{name, func(t *testing.T, s *Suite) {
				var opts []envOption
				if tc.name == "wrong_key" {
					opts = append(opts, withKey("sk-wrong"))
				}
				e := s.newEnv(t, opts...)
				body := chatBody(tc.model, stream, nil)
				if tc.body != nil {
					body = tc.body(tc.model, stream)
				}
				_, resp, err := e.chatCall(t.Context(), tc.model, body, stream, true)
				tc.check(t, wantCallError(t, resp, err))
			}})
		}
	}
	return append(cs,
		testCase{"broken/cut/stream", testCutStream},
		testCase{"broken/cut/unary", testCutUnary},
		testCase{"broken/stall", testStall},
		testCase{"broken/no_headers/stream", func(t *testing.T, s *Suite) { testNoHeaders(t, s, true) }},
		testCase{"broken/no_headers/unary", func(t *testing.T, s *Suite) { testNoHeaders(t, s, false) }},
		testCase{"broken/error_in_stream", testErrorInStream},
		testCase{"cancel/mid_stream", testCancelMidStream},
		testCase{"cancel/close_early/next_fails", func(t *testing.T, s *Suite) { testCloseEarly(t, s, false) }},
		testCase{"cancel/close_early/no_goroutine_leak", func(t *testing.T, s *Suite) { testCloseEarly(t, s, true) }},
	)
}

// wantCallError checks that a call failed with an *apierror.Error and
// returned no response (an error body must never pass for an answer).
func wantCallError(t *testing.T, resp *provider.Response, err error) *apierror.Error {
	t.Helper()
	if resp != nil {
		if resp.Stream != nil {
			resp.Stream.Close()
		}
		t.Fatalf("got a response (status %d, body %.200q) with error %v, want an error only", resp.Status, resp.Body, err)
	}
	if err == nil {
		t.Fatal("got neither a response nor an error")
	}
	var ae *apierror.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *apierror.Error", err, err)
	}
	if ae.Message == "" {
		t.Errorf("error %v has an empty Message", err)
	}
	return ae
}

func wantKind(t *testing.T, e *apierror.Error, k apierror.Kind) {
	t.Helper()
	if e.Kind != k {
		t.Errorf("error kind = %s, want %s (error: %v)", e.Kind, k, e)
	}
}

func wantRetryable(t *testing.T, e *apierror.Error) {
	t.Helper()
	if !e.Kind.Retryable() {
		t.Errorf("error kind %s is not retryable (error: %v)", e.Kind, e)
	}
}

// wantBrokenEnd checks that a stream did not end cleanly but with an
// *apierror.Error of kind k.
func wantBrokenEnd(t *testing.T, d drained, k apierror.Kind) {
	t.Helper()
	if d.err == io.EOF {
		t.Fatalf("the stream ended with io.EOF after %d events, want an error of kind %s", len(d.events), k)
	}
	wantAPIError(t, d.err, k)
	for i, ev := range d.events {
		if ev.Done {
			t.Errorf("event %d is Done in a broken stream", i)
		}
	}
}

func testCutStream(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	_, resp, err := e.chatCall(t.Context(), mCut, chatBody(mCut, true, nil), true, true)
	mustResponse(t, resp, err, true)
	wantBrokenEnd(t, drain(t, resp.Stream, streamLimit), apierror.UpstreamBadResponse)
}

func testCutUnary(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	_, resp, err := e.chatCall(t.Context(), mCut, chatBody(mCut, false, nil), false, false)
	wantKind(t, wantCallError(t, resp, err), apierror.UpstreamBadResponse)
}

func testStall(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	_, resp, err := e.chatCall(t.Context(), mStall, chatBody(mStall, true, nil), true, true)
	mustResponse(t, resp, err, true)
	d := drain(t, resp.Stream, streamLimit)
	wantBrokenEnd(t, d, apierror.UpstreamTimeout)
	if limit := idleTimeout + promptly; d.took > limit {
		t.Errorf("the stall was reported after %s, want within %s (StreamIdleTimeout %s)", d.took, limit, idleTimeout)
	}
}

// testNoHeaders: a streamed call is bounded by StreamIdleTimeout while it
// waits for headers, a non-streamed one by Timeout.
func testNoHeaders(t *testing.T, s *Suite, stream bool) {
	deadline := idleTimeout
	var opts []envOption
	if !stream {
		deadline = shortTimeout
		opts = append(opts, withTimeout(shortTimeout))
	}
	e := s.newEnv(t, opts...)
	type result struct {
		resp *provider.Response
		err  error
	}
	ch := make(chan result, 1)
	start := time.Now()
	go func() {
		_, resp, err := e.chatCall(context.Background(), mNoHeaders, chatBody(mNoHeaders, stream, nil), stream, true)
		ch <- result{resp, err}
	}()
	select {
	case r := <-ch:
		took := time.Since(start)
		wantKind(t, wantCallError(t, r.resp, r.err), apierror.UpstreamTimeout)
		if limit := deadline + promptly; took > limit {
			t.Errorf("the call failed after %s, want within %s", took, limit)
		}
	case <-time.After(streamLimit):
		t.Fatalf("the call did not return within %s though the provider never sent headers", streamLimit)
	}
}

// testErrorInStream: a provider's in-stream error must surface, as an
// Event with Error set or as an *apierror.Error from Next, never as a clean
// end that looks like a complete answer.
func testErrorInStream(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	_, resp, err := e.chatCall(t.Context(), mStreamErr, chatBody(mStreamErr, true, nil), true, true)
	mustResponse(t, resp, err, true)
	d := drain(t, resp.Stream, streamLimit)
	reported := false
	for _, ev := range d.events {
		if ev.Err != nil {
			reported = true
		}
	}
	if d.err != io.EOF {
		var ae *apierror.Error
		if !errors.As(d.err, &ae) {
			t.Errorf("the stream ended with %v (%T), want an *apierror.Error", d.err, d.err)
		} else if ae.Message == "" {
			t.Errorf("error %v has an empty Message", d.err)
		}
		reported = true
	}
	if !reported {
		t.Errorf("the provider's in-stream error was swallowed: the stream ended cleanly after %d events and none has Error set", len(d.events))
	}
}

// testCancelMidStream cancels the caller's context after the first token:
// Next must fail promptly and Close must not hang.
func testCancelMidStream(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, resp, err := e.chatCall(ctx, mSlow, chatBody(mSlow, true, nil), true, true)
	mustResponse(t, resp, err, true)
	type result struct {
		err                error
		afterCancel        int
		failTook, closeTok time.Duration
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		st := resp.Stream
		for {
			ev, err := st.Next()
			if err != nil {
				r.err = err
				break
			}
			if ev.Token {
				break
			}
		}
		if r.err == nil {
			cancel()
			start := time.Now()
			for {
				if _, err := st.Next(); err != nil {
					r.err = err
					break
				}
				r.afterCancel++
			}
			r.failTook = time.Since(start)
		}
		start := time.Now()
		st.Close()
		r.closeTok = time.Since(start)
		ch <- r
	}()
	select {
	case r := <-ch:
		if r.failTook == 0 && r.err != nil {
			t.Fatalf("the stream failed before the first token: %v", r.err)
		}
		if r.err == io.EOF {
			t.Errorf("after the caller cancelled, the stream ended with io.EOF (%d more events), want an error", r.afterCancel)
		} else {
			t.Logf("after cancel: %d more events, then %v", r.afterCancel, r.err)
		}
		if r.failTook > promptly {
			t.Errorf("Next failed %s after the cancel, want within %s", r.failTook, promptly)
		}
		if r.closeTok > promptly {
			t.Errorf("Close took %s, want within %s", r.closeTok, promptly)
		}
	case <-time.After(streamLimit):
		t.Fatalf("the stream did not end within %s of the cancel", streamLimit)
	}
}

// testCloseEarly closes a stream after its first event: the next Next must
// fail or end, promptly (with leaks false), and no goroutine may be left
// behind (with leaks true).
func testCloseEarly(t *testing.T, s *Suite, leaks bool) {
	e := s.newEnv(t)
	// Warm up, so the baseline counts the server and a transport in use.
	_, resp, err := e.chatCall(t.Context(), mPlain, chatBody(mPlain, false, nil), false, false)
	mustResponse(t, resp, err, false)
	base := settledGoroutines(e, -1)

	_, resp, err = e.chatCall(t.Context(), mSlow, chatBody(mSlow, true, nil), true, true)
	mustResponse(t, resp, err, true)
	type result struct {
		first, after error
		closeErr     error
		// events is how many events Next returned after Close.
		events int
		took   time.Duration
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		st := resp.Stream
		_, r.first = st.Next()
		start := time.Now()
		r.closeErr = st.Close()
		// Count the events Next still returns; the leak check calls it once
		// only, so that reading cannot release what Close did not.
		for r.events < 1000 {
			if _, r.after = st.Next(); r.after != nil || leaks {
				break
			}
			r.events++
		}
		r.took = time.Since(start)
		ch <- r
	}()
	select {
	case r := <-ch:
		if r.first != nil {
			t.Fatalf("first Next: %v", r.first)
		}
		if !leaks && r.events > 0 {
			t.Errorf("Next after Close returned %d more events before %v, want an error or io.EOF at once", r.events, r.after)
		}
		if r.took > promptly {
			t.Errorf("Close and Next took %s, want within %s", r.took, promptly)
		}
	case <-time.After(streamLimit):
		t.Fatalf("Close or the Next after it did not return within %s", streamLimit)
	}
	if !leaks {
		return
	}
	const slack = 2
	if n := settledGoroutines(e, base+slack); n > base+slack {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines after closing the stream early, %d before: a goroutine leaked?\n%s", n, base, buf)
	}
}

// settledGoroutines closes idle connections and waits up to 2s for the
// goroutine count to reach want (or, with want < 0, to stop changing), and
// returns it.
func settledGoroutines(e *env, want int) int {
	last := -1
	for deadline := time.Now().Add(2 * time.Second); ; {
		e.transport.CloseIdleConnections()
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if (want >= 0 && n <= want) || (want < 0 && n == last) || time.Now().After(deadline) {
			return n
		}
		last = n
	}
}

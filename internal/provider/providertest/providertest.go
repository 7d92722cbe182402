// Package providertest is the conformance suite every provider adapter must
// pass: call Run from the adapter's tests with a function that builds the
// adapter. Each case starts the provider simulator (internal/mock) with the
// suite's own seeded, zero-latency profiles and checks the adapter through
// provider.ChatCompleter, which every adapter implements, and through
// Messenger, Embedder and ModelLister where the adapter implements them. It
// is imported only by tests.
//
// The OpenAI wire shapes are checked with the suite's own strict decoders
// rather than the official SDK: the architecture test (internal/app) keeps
// the SDKs out of every package that is not a _test file, this one included.
package providertest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/usage"
)

// Protocol is the wire protocol an adapter speaks to its provider. It decides
// what the simulator can report, and so which usage the suite expects:
// OpenAI reports reasoning tokens apart but has no cache-write figure;
// Anthropic reports cache writes but folds reasoning into output_tokens.
type Protocol int

// The protocols the simulator speaks.
const (
	// OpenAI is POST /v1/chat/completions, /v1/embeddings, GET /v1/models.
	OpenAI Protocol = iota
	// Anthropic is POST /v1/messages and GET /v1/models.
	Anthropic
	// Bedrock is Converse and ConverseStream (POST /model/{id}/converse,
	// /converse-stream): usage as Anthropic reports it (cache writes with
	// their TTL, reasoning in the output), and no model named in answers.
	Bedrock
)

// Suite describes the adapter under test.
type Suite struct {
	// New builds the adapter under test for a provider whose API root is
	// cfg.BaseURL; the suite sets Name, BaseURL, APIKey, StreamIdleTimeout,
	// Timeout and Client in cfg.
	New func(cfg provider.Config) (any, error)
	// BaseURL maps the simulator's URL to the adapter's base URL (url+"/v1"
	// for OpenAI, url for Anthropic). Nil means the URL unchanged.
	BaseURL func(serverURL string) string
	// Protocol is the protocol the adapter speaks upstream (default OpenAI).
	Protocol Protocol
	// Skip lists the cases known to fail, by name (as in "chat/unary"),
	// with the reason: the suite skips them with "known failure: " and the
	// reason. A name that matches no case is an error.
	Skip map[string]string
}

// Timings the suite configures and holds adapters to.
const (
	// idleTimeout is the StreamIdleTimeout every adapter gets.
	idleTimeout = 200 * time.Millisecond
	// callTimeout is the Timeout of a non-streamed call; the case that
	// checks it uses shortTimeout instead.
	callTimeout  = 5 * time.Second
	shortTimeout = 300 * time.Millisecond
	// promptly bounds how long past a deadline an adapter may take to report
	// it, and how long cancellation and Close may take.
	promptly = time.Second
	// streamLimit bounds a whole stream, so that a hanging adapter fails its
	// case instead of hanging the test binary.
	streamLimit = 10 * time.Second
)

// mockKey is the simulator's API key; the adapter is configured with it
// unless a case says otherwise.
const mockKey = "sk-conformance"

// The simulated models. Every count is fixed by the profile (input_tokens)
// so that expected usage does not depend on the prompt-count rule.
const (
	mPlain     = "conf-plain"
	mReasoner  = "conf-reasoner"
	mCache     = "conf-cache"
	mSlow      = "conf-slow"
	mEmbed     = "conf-embed"
	m400       = "conf-fail-400"
	m429       = "conf-fail-429"
	m500       = "conf-fail-500"
	m503       = "conf-fail-503"
	m529       = "conf-fail-529"
	mCut       = "conf-cut"
	mStall     = "conf-stall"
	mNoHeaders = "conf-no-headers"
	mStreamErr = "conf-stream-error"
	mUnknown   = "conf-no-such-model"
)

// The profiles' counts.
const (
	plainIn, plainOut                   = 11, 8
	reasonIn, reasonOut, reasonThinking = 11, 6, 4
	cacheIn, cacheOut                   = 10, 5
	cacheRead, cacheWrite, cacheWrite1h = 20, 7, 3
	embedDims                           = 8
)

func mockConfig() mock.Config {
	plain := mock.Profile{ResponseModel: mPlain + "-0001", InputTokens: plainIn, OutputTokens: plainOut, ToolCalls: true}
	fail := func(status int) mock.Profile {
		p := plain
		p.ResponseModel = ""
		p.Failures = []mock.Failure{{Status: status, Rate: 1}}
		return p
	}
	rate := fail(429)
	rate.Failures[0].RetryAfter = 2 * time.Second
	cut, stall, noHeaders, streamErr := plain, plain, plain, plain
	cut.CutRate, cut.CutAfter = 1, 3
	stall.HangRate, stall.HangAt = 1, mock.HangStream
	noHeaders.HangRate, noHeaders.HangAt = 1, mock.HangHeaders
	streamErr.Failures = []mock.Failure{{Status: 529, Rate: 1, AfterChunks: 3}}
	return mock.Config{Seed: 7, APIKey: mockKey, Models: map[string]mock.Profile{
		mPlain: plain,
		mReasoner: {ResponseModel: mReasoner + "-0001", InputTokens: reasonIn, OutputTokens: reasonOut,
			ReasoningTokens: reasonThinking, ReasoningVisible: true},
		mCache: {InputTokens: cacheIn, OutputTokens: cacheOut, CacheReadTokens: cacheRead,
			CacheWriteTokens: cacheWrite, CacheWrite1hTokens: cacheWrite1h},
		mSlow:      {InputTokens: plainIn, OutputTokens: 40, ITL: 20 * time.Millisecond},
		mEmbed:     {Type: mock.TypeEmbedding, Dimensions: embedDims},
		m400:       fail(400),
		m429:       rate,
		m500:       fail(500),
		m503:       fail(503),
		m529:       fail(529),
		mCut:       cut,
		mStall:     stall,
		mNoHeaders: noHeaders,
		mStreamErr: streamErr,
	}}
}

// testCase is one named case of the suite.
type testCase struct {
	name string
	f    func(t *testing.T, s *Suite)
}

// Run runs the conformance suite against the adapter s.New builds.
func Run(t *testing.T, s Suite) {
	t.Helper()
	if s.New == nil {
		t.Fatal("providertest: Suite.New is nil")
	}
	if err := mockConfig().Validate(); err != nil {
		t.Fatalf("providertest: simulator profiles: %v", err)
	}
	var cases []testCase
	cases = append(cases, chatCases()...)
	cases = append(cases, failureCases()...)
	cases = append(cases, nativeCases()...)
	known := map[string]bool{}
	for _, c := range cases {
		if known[c.name] {
			t.Fatalf("providertest: duplicate case name %q", c.name)
		}
		known[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			if reason, ok := s.Skip[c.name]; ok {
				t.Skip("known failure: " + reason)
			}
			c.f(t, &s)
		})
	}
	var unknown []string
	for name := range s.Skip {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		t.Errorf("Suite.Skip names %q, which is not a case of the suite", name)
	}
}

// env is one simulator and one adapter pointed at it.
type env struct {
	mock      *mock.Server
	transport *http.Transport
	adapter   any
}

// envOption adjusts the adapter's config.
type envOption func(*provider.Config)

func withKey(key string) envOption { return func(c *provider.Config) { c.APIKey = key } }

func withTimeout(d time.Duration) envOption { return func(c *provider.Config) { c.Timeout = d } }

// newEnv starts a simulator and builds the adapter; both go away when the
// test ends.
func (s *Suite) newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	m := mock.New(mockConfig(), nil)
	srv := httptest.NewServer(m)
	tr := &http.Transport{}
	t.Cleanup(srv.Close)
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(m.Close) // runs first: ends hangs so srv.Close does not wait
	base := srv.URL
	if s.BaseURL != nil {
		base = s.BaseURL(srv.URL)
	}
	cfg := provider.Config{
		Name: "conformance", BaseURL: base, APIKey: mockKey,
		StreamIdleTimeout: idleTimeout, Timeout: callTimeout,
		Client: &http.Client{Transport: tr},
	}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := s.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, ok := a.(provider.ChatCompleter); !ok {
		t.Fatalf("the adapter (%T) does not implement provider.ChatCompleter, which every adapter must", a)
	}
	return &env{mock: m, transport: tr, adapter: a}
}

func (e *env) chat() provider.ChatCompleter { return e.adapter.(provider.ChatCompleter) }

// chatCall calls ChatCompletion with a fresh Request.
func (e *env) chatCall(ctx context.Context, model string, body []byte, stream, includeUsage bool) (*provider.Request, *provider.Response, error) {
	req := newRequest(model, body, stream, includeUsage)
	resp, err := e.chat().ChatCompletion(ctx, req)
	return req, resp, err
}

func newRequest(model string, body []byte, stream, includeUsage bool) *provider.Request {
	return &provider.Request{
		Model: model, Body: body, Stream: stream, IncludeUsage: includeUsage,
		Header: http.Header{}, Wait: &provider.WaitTimer{},
	}
}

// mustResponse fails unless the call succeeded with a response of the right
// kind (streamed or not).
func mustResponse(t *testing.T, resp *provider.Response, err error, stream bool) {
	t.Helper()
	if err != nil {
		t.Fatalf("call failed: %v", err)
	}
	if resp == nil {
		t.Fatal("call returned neither a response nor an error")
	}
	if stream && resp.Stream == nil {
		t.Fatal("streamed call returned no Stream")
	}
	if !stream && resp.Stream != nil {
		resp.Stream.Close()
		t.Fatal("non-streamed call returned a Stream")
	}
	if resp.Status < 200 || resp.Status > 299 {
		t.Errorf("Status = %d, want 2xx", resp.Status)
	}
}

// event is a provider.Event copied out of the stream (adapters may reuse
// the Data buffer on the next call to Next).
type event struct {
	provider.Event
}

// drained is what reading a stream to its end gave.
type drained struct {
	events []event
	// err is the error that ended the stream: io.EOF for a clean end.
	err error
	// afterEnd is what one more Next returned after err.
	afterEnd error
	// closeErr is what Close returned.
	closeErr error
	took     time.Duration
}

// drain reads st to its end and closes it, in a goroutine that owns the
// stream (Next and Close are not safe for concurrent use), and fails the test
// if that takes longer than limit. After a timeout the goroutine is left to
// end when the simulator closes.
func drain(t *testing.T, st provider.Stream, limit time.Duration) drained {
	t.Helper()
	ch := make(chan drained, 1)
	go func() {
		start := time.Now()
		var d drained
		for range 100000 {
			ev, err := st.Next()
			if err != nil {
				d.err = err
				break
			}
			ev.Data = append([]byte(nil), ev.Data...)
			if ev.Usage != nil {
				u := *ev.Usage
				ev.Usage = &u
			}
			d.events = append(d.events, event{ev})
		}
		if d.err != nil {
			_, d.afterEnd = st.Next()
		}
		d.took = time.Since(start)
		d.closeErr = st.Close()
		ch <- d
	}()
	select {
	case d := <-ch:
		if d.err == nil {
			t.Fatalf("the stream did not end after %d events", len(d.events))
		}
		return d
	case <-time.After(limit):
		t.Fatalf("the stream did not end within %s", limit)
		return drained{}
	}
}

// wantCleanEnd checks that a stream ended with a Done event and io.EOF.
func wantCleanEnd(t *testing.T, d drained) {
	t.Helper()
	if d.err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", d.err)
	}
	if n := len(d.events); n == 0 || !d.events[n-1].Done {
		t.Errorf("the last event is not Done")
	}
	for i, ev := range d.events[:max(len(d.events)-1, 0)] {
		if ev.Done {
			t.Errorf("event %d of %d is Done before the end", i, len(d.events))
		}
	}
	if d.afterEnd != io.EOF {
		t.Errorf("Next after io.EOF returned %v, want io.EOF again", d.afterEnd)
	}
	if d.closeErr != nil {
		t.Errorf("Close after a clean end: %v", d.closeErr)
	}
}

// lastUsage is the last usage the stream reported.
func lastUsage(d drained) *usage.Usage {
	var u *usage.Usage
	for _, ev := range d.events {
		if ev.Usage != nil {
			u = ev.Usage
		}
	}
	return u
}

// wantAPIError checks that err is an *apierror.Error of kind k with a
// message, and returns it.
func wantAPIError(t *testing.T, err error, k apierror.Kind) *apierror.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", k)
	}
	var ae *apierror.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *apierror.Error, want kind %s", err, err, k)
	}
	if ae.Kind != k {
		t.Errorf("error kind = %s, want %s (error: %v)", ae.Kind, k, err)
	}
	if ae.Message == "" {
		t.Errorf("error %v has an empty Message", err)
	}
	return ae
}

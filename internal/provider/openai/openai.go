// Package openai is the adapter for OpenAI and every server that speaks the
// OpenAI API (vLLM, Ollama, llama.cpp, Together, Groq, Mistral, DeepSeek,
// OpenRouter, xAI...): chat completions, embeddings and the model list,
// relayed natively. Only the app imports it, to register it.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/buger/jsonparser"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/sse"
	"github.com/weirhq/weir/internal/usage"
)

// DefaultBaseURL is OpenAI's API root.
const DefaultBaseURL = "https://api.openai.com/v1"

// Provider relays the OpenAI protocol to one base URL.
type Provider struct {
	name    string
	baseURL string
	apiKey  func() (string, error)
	headers map[string]string
	client  *http.Client
	timeout time.Duration
	idle    time.Duration
	hooks   Hooks
}

// Hooks adapt Provider to an OpenAI-compatible API with its own URL
// scheme, key header and error body (Azure OpenAI). Each nil hook keeps
// OpenAI's behaviour.
type Hooks struct {
	// URL returns the URL of an API path ("/chat/completions",
	// "/embeddings", "/models") for the model called ("" for the model
	// list). Default: the base URL followed by path.
	URL func(path, model string) string
	// Auth puts key on the upstream request's headers. Default:
	// Authorization: Bearer key.
	Auth func(h http.Header, key string)
	// ParseError extracts message and code from an error body. Default:
	// ParseError.
	ParseError func(body []byte) (msg, code string)
}

var (
	_ provider.ChatCompleter = (*Provider)(nil)
	_ provider.Embedder      = (*Provider)(nil)
	_ provider.ModelLister   = (*Provider)(nil)
)

// Factory builds a Provider; register it as type "openai".
func Factory(cfg provider.Config) (any, error) { return New(cfg) }

// New returns an adapter for cfg.
func New(cfg provider.Config) (*Provider, error) { return NewWith(cfg, Hooks{}) }

// NewWith returns an adapter for cfg whose requests and error bodies are
// adapted by h.
func NewWith(cfg provider.Config, h Hooks) (*Provider, error) {
	base, err := upstream.BaseURL(cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	if h.ParseError == nil {
		h.ParseError = ParseError
	}
	return &Provider{
		name: cfg.Name, baseURL: base, apiKey: cfg.KeyFunc(), headers: cfg.Headers,
		client: upstream.Client(cfg.Client), timeout: cfg.Timeout, idle: cfg.StreamIdleTimeout,
		hooks: h,
	}, nil
}

// forwardHeaders are caller headers passed upstream.
var forwardHeaders = []string{"OpenAI-Organization", "OpenAI-Project", "OpenAI-Beta"}

func (p *Provider) newRequest(ctx context.Context, method, path string, body []byte, req *provider.Request) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	url := p.baseURL + path
	if p.hooks.URL != nil {
		model := ""
		if req != nil {
			model = req.Model
		}
		url = p.hooks.URL(path, model)
	}
	hr, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, apierror.Wrap(apierror.Internal, err, "build upstream request")
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/json")
	key := ""
	if req != nil {
		key = req.APIKey
	}
	if key == "" {
		if key, err = p.apiKey(); err != nil {
			return nil, err
		}
	}
	if req != nil {
		for _, h := range forwardHeaders {
			if v := req.Header.Get(h); v != "" {
				hr.Header.Set(h, v)
			}
		}
		if req.Stream {
			hr.Header.Set("Accept", "text/event-stream")
		}
	}
	if key != "" {
		if p.hooks.Auth != nil {
			p.hooks.Auth(hr.Header, key)
		} else {
			hr.Header.Set("Authorization", "Bearer "+key)
		}
	}
	for k, v := range p.headers {
		hr.Header.Set(k, v)
	}
	return hr, nil
}

// call sends one request and returns the 2xx response, with a context that
// Close or the stream's idle timer cancels.
func (p *Provider) call(ctx context.Context, path string, req *provider.Request) (*http.Response, context.CancelCauseFunc, error) {
	c := upstream.Call{Client: p.client, Stream: req.Stream, Timeout: p.timeout, Idle: p.idle, Wait: req.Wait, ParseErr: p.hooks.ParseError}
	return c.Send(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.newRequest(ctx, http.MethodPost, path, req.Body, req)
	})
}

// ParseError extracts message and code from an OpenAI error body.
func ParseError(body []byte) (msg, code string) {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error) == 0 {
		return "", ""
	}
	var obj struct {
		Message string          `json:"message"`
		Code    json.RawMessage `json:"code"`
		Type    string          `json:"type"`
	}
	if json.Unmarshal(e.Error, &obj) != nil {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s, ""
		}
		return "", ""
	}
	code = strings.Trim(string(obj.Code), `"`)
	if code == "null" {
		code = ""
	}
	if code == "" {
		code = obj.Type
	}
	return obj.Message, code
}

// ChatCompletion relays POST /chat/completions.
func (p *Provider) ChatCompletion(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	resp, cancel, err := p.call(ctx, "/chat/completions", req)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Status: resp.StatusCode, Header: upstream.RelayHeader(resp.Header)}
	out.RequestID = resp.Header.Get("x-request-id")
	if req.Stream {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			body, _ := upstream.ReadBody(ctx, resp, req.Wait)
			cancel(nil)
			return nil, apierror.New(apierror.UpstreamBadResponse, "the provider answered a streaming request with %q instead of an event stream: %.200s", ct, body)
		}
		body := upstream.NewBodyReader(resp.Body, req.Wait, p.idle, cancel)
		out.Stream = &chatStream{ctx: ctx, body: body, r: sse.NewReader(body), includeUsage: req.IncludeUsage}
		return out, nil
	}
	defer cancel(nil)
	body, err := upstream.ReadBody(ctx, resp, req.Wait)
	if err != nil {
		return nil, err
	}
	if err := parseChatResponse(body, out); err != nil {
		return nil, err
	}
	out.Body = body
	return out, nil
}

func parseChatResponse(body []byte, out *provider.Response) error {
	// The fields the record needs, read without decoding the whole answer;
	// the full decode runs only when the text is needed to estimate usage.
	if len(bytes.TrimSpace(body)) == 0 || bytes.TrimSpace(body)[0] != '{' || !json.Valid(body) {
		return apierror.New(apierror.UpstreamBadResponse, "the provider returned a response that is not valid chat completion JSON")
	}
	if v, err := jsonparser.GetString(body, "model"); err == nil {
		out.ResponseModel = v
	}
	if v, err := jsonparser.GetString(body, "system_fingerprint"); err == nil {
		out.SystemFingerprint = v
	}
	if v, err := jsonparser.GetString(body, "service_tier"); err == nil {
		out.ServiceTier = v
	}
	if v, err := jsonparser.GetString(body, "choices", "[0]", "finish_reason"); err == nil {
		out.FinishReason = v
	}
	if raw, vt, _, err := jsonparser.Get(body, "usage"); err == nil && vt == jsonparser.Object {
		u, err := usage.FromOpenAI(raw)
		if err != nil {
			return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a malformed usage object")
		}
		out.Usage, out.HasUsage = u, true
	}
	// The generated text, walked the same way as stream deltas.
	var walker chatStream
	var ev provider.Event
	if _, err := jsonparser.ArrayEach(body, func(choice []byte, vt jsonparser.ValueType, _ int, _ error) {
		if vt == jsonparser.Object {
			walker.choice(choice, &ev)
		}
	}, "choices"); err != nil && err != jsonparser.KeyPathNotFoundError {
		return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a response whose choices are not a list")
	}
	out.Text = string(walker.text)
	return nil
}

func isJSONValue(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// chatStream relays an OpenAI chat completion stream event by event.
type chatStream struct {
	closed       bool // Close was called: Next fails at once
	ctx          context.Context
	body         *upstream.BodyReader
	r            *sse.Reader
	includeUsage bool
	done         bool
	// sawError is set once the provider reported an error in the stream:
	// the stream may then end without [DONE], as some servers do.
	sawError bool
	// model and fingerprint cache the last strings seen, so a stream that
	// repeats them in every chunk allocates them once.
	model, fingerprint, tier string
	scratch                  []byte
	text                     []byte
}

func (s *chatStream) Next() (provider.Event, error) {
	if s.closed {
		return provider.Event{}, provider.ErrStreamClosed
	}
	if s.done {
		return provider.Event{}, io.EOF
	}
	for {
		ev, err := s.r.Next()
		if err != nil {
			if err == io.EOF {
				if s.sawError {
					return provider.Event{}, io.EOF
				}
				return provider.Event{}, apierror.New(apierror.UpstreamBadResponse, "the provider's stream ended without [DONE]")
			}
			return provider.Event{}, upstream.Classify(s.ctx, streamErr(err))
		}
		if ev.Data == nil { // comment or keep-alive
			continue
		}
		return s.parse(ev)
	}
}

func streamErr(err error) error {
	if err == io.ErrUnexpectedEOF {
		return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider's stream was cut mid-event")
	}
	return err
}

// ParseChunk reads one chat.completion.chunk into an Event (without Data).
// It is exported for the fuzz test and the relay benchmark.
func ParseChunk(data []byte, includeUsage bool) (provider.Event, error) {
	s := chatStream{includeUsage: includeUsage}
	return s.parse(sse.Event{Data: data})
}

func (s *chatStream) parse(ev sse.Event) (provider.Event, error) {
	out := provider.Event{Data: ev.Raw}
	data := bytes.TrimSpace(ev.Data)
	if bytes.Equal(data, []byte("[DONE]")) {
		s.done = true
		out.Done = true
		return out, nil
	}
	if len(data) == 0 || data[0] != '{' {
		return provider.Event{}, apierror.New(apierror.UpstreamBadResponse, "the provider sent a stream chunk that is not a JSON object: %.100q", data)
	}
	// A zero-allocation walk over the chunk (this is the hot path): only the
	// fields the gateway needs are looked at, the rest is relayed untouched.
	s.text = s.text[:0]
	var usageRaw, groqUsage, errRaw []byte
	choices := 0
	err := jsonparser.ObjectEach(data, func(key, value []byte, vt jsonparser.ValueType, _ int) error {
		switch string(key) {
		case "model":
			if vt == jsonparser.String {
				out.ResponseModel = s.cached(&s.model, value)
			}
		case "system_fingerprint":
			if vt == jsonparser.String {
				out.SystemFingerprint = s.cached(&s.fingerprint, value)
			}
		case "service_tier":
			if vt == jsonparser.String {
				out.ServiceTier = s.cached(&s.tier, value)
			}
		case "usage":
			if vt == jsonparser.Object {
				usageRaw = value
			}
		case "x_groq":
			if vt == jsonparser.Object {
				if u, t, _, err := jsonparser.Get(value, "usage"); err == nil && t == jsonparser.Object {
					groqUsage = u
				}
			}
		case "error":
			if vt != jsonparser.Null {
				errRaw = value
			}
		case "choices":
			if vt != jsonparser.Array {
				return errBadChoices
			}
			var cerr error
			_, err := jsonparser.ArrayEach(value, func(choice []byte, ct jsonparser.ValueType, _ int, err error) {
				if err == nil && ct == jsonparser.Object {
					choices++
					if e := s.choice(choice, &out); e != nil && cerr == nil {
						cerr = e
					}
				}
			})
			if err != nil {
				return err
			}
			return cerr
		}
		return nil
	})
	if err != nil {
		return provider.Event{}, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider sent a stream chunk that is not valid JSON")
	}
	if len(s.text) > 0 {
		out.Text = string(s.text)
	}
	if errRaw != nil {
		out.Err = streamError(errRaw)
		s.sawError = true
	}
	if usageRaw == nil {
		usageRaw = groqUsage
	}
	if usageRaw != nil {
		u, err := usage.FromOpenAI(usageRaw)
		if err != nil {
			return provider.Event{}, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider sent a malformed usage object")
		}
		out.Usage = &u
		if !s.includeUsage && choices == 0 {
			// The usage-only chunk Weir asked for on the caller's behalf.
			out.Data, out.Drop = nil, true
		}
	}
	return out, nil
}

var errBadChoices = errors.New("choices is not an array")

// cached returns the string for b, reusing *last when it is equal.
func (s *chatStream) cached(last *string, b []byte) string {
	if *last != string(b) { // no allocation: compiler-optimised comparison
		*last = string(b)
	}
	return *last
}

// choice reads one choice of a chunk.
func (s *chatStream) choice(choice []byte, out *provider.Event) error {
	return jsonparser.ObjectEach(choice, func(key, value []byte, vt jsonparser.ValueType, _ int) error {
		switch string(key) {
		case "finish_reason":
			if vt == jsonparser.String && len(value) > 0 && out.FinishReason == "" {
				out.FinishReason = finishReason(value)
			}
		case "delta", "message":
			if vt != jsonparser.Object {
				return nil
			}
			return jsonparser.ObjectEach(value, func(k, v []byte, t jsonparser.ValueType, _ int) error {
				switch string(k) {
				case "reasoning_content", "reasoning":
					if t == jsonparser.String && len(v) > 0 {
						out.Token = true
						s.appendText(v)
					}
				case "content", "refusal":
					if t == jsonparser.String && len(v) > 0 {
						out.Token, out.Completion = true, true
						s.appendText(v)
					}
				case "tool_calls":
					if t != jsonparser.Array {
						return nil
					}
					_, err := jsonparser.ArrayEach(v, func(tc []byte, _ jsonparser.ValueType, _ int, _ error) {
						if name, nt, _, err := jsonparser.Get(tc, "function", "name"); err == nil && nt == jsonparser.String && len(name) > 0 {
							out.Token, out.Completion = true, true
							s.appendText(name)
						}
						if args, at, _, err := jsonparser.Get(tc, "function", "arguments"); err == nil && at == jsonparser.String && len(args) > 0 {
							out.Token, out.Completion = true, true
							s.appendText(args)
						}
					})
					return err
				}
				return nil
			})
		}
		return nil
	})
}

// finishReason interns the common values.
func finishReason(b []byte) string {
	for _, r := range []string{"stop", "length", "tool_calls", "content_filter", "function_call"} {
		if string(b) == r {
			return r
		}
	}
	return string(b)
}

// appendText unescapes a JSON string's content onto s.text.
func (s *chatStream) appendText(raw []byte) {
	if bytes.IndexByte(raw, '\\') < 0 {
		s.text = append(s.text, raw...)
		return
	}
	u, err := jsonparser.Unescape(raw, s.scratch[:cap(s.scratch)])
	if err != nil {
		s.text = append(s.text, raw...)
		return
	}
	if cap(u) > cap(s.scratch) {
		s.scratch = u[:0]
	}
	s.text = append(s.text, u...)
}

func (s *chatStream) Close() error {
	s.closed = true
	return s.body.Close()
}

// Embeddings relays POST /embeddings.
func (p *Provider) Embeddings(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	req.Stream = false
	resp, cancel, err := p.call(ctx, "/embeddings", req)
	if err != nil {
		return nil, err
	}
	defer cancel(nil)
	out := &provider.Response{Status: resp.StatusCode, Header: upstream.RelayHeader(resp.Header), RequestID: resp.Header.Get("x-request-id")}
	body, err := upstream.ReadBody(ctx, resp, req.Wait)
	if err != nil {
		return nil, err
	}
	var r struct {
		Model string          `json:"model"`
		Usage json.RawMessage `json:"usage"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a response that is not valid embeddings JSON")
	}
	out.ResponseModel = r.Model
	if isJSONValue(r.Usage) {
		u, err := usage.FromOpenAI(r.Usage)
		if err != nil {
			return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a malformed usage object")
		}
		out.Usage, out.HasUsage = u, true
	}
	out.Body = body
	return out, nil
}

// ListModels asks GET /models.
func (p *Provider) ListModels(ctx context.Context) ([]provider.Model, error) {
	hr, err := p.newRequest(ctx, http.MethodGet, "/models", nil, nil)
	if err != nil {
		return nil, err
	}
	resp, err := upstream.Do(p.client, hr, nil, p.hooks.ParseError)
	if err != nil {
		return nil, err
	}
	body, err := upstream.ReadBody(ctx, resp, nil)
	if err != nil {
		return nil, err
	}
	var list struct {
		Data []provider.Model `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a model list that is not valid JSON")
	}
	return list.Data, nil
}

// streamError classifies an error object an OpenAI-compatible server sent
// inside a stream, by its code or type.
func streamError(raw []byte) *apierror.Error {
	msg, code := ParseError(append(append([]byte(`{"error":`), raw...), '}'))
	if msg == "" {
		msg = "the provider reported an error mid-stream"
	}
	kind := apierror.UpstreamError
	switch code {
	case "rate_limit_exceeded", "rate_limit_error", "requests", "tokens":
		kind = apierror.RateLimited
	case "overloaded", "overloaded_error", "server_overloaded":
		kind = apierror.UpstreamOverloaded
	case "timeout", "timeout_error":
		kind = apierror.UpstreamTimeout
	case "invalid_request_error", "context_length_exceeded":
		kind = apierror.InvalidRequest
	}
	return &apierror.Error{Kind: kind, Message: msg, Code: code}
}

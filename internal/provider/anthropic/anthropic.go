// Package anthropic is the adapter for Anthropic's Messages API: POST
// /v1/messages relayed natively for Anthropic-protocol callers, the OpenAI
// chat completions protocol translated to and from Messages (streamed or
// not), and the model list. Only the app imports it, to register it as type
// "anthropic".
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/sse"
	"github.com/weirhq/weir/internal/usage"
)

// DefaultBaseURL is Anthropic's API root. A configured base URL may end in
// /v1 or not; the adapter appends /v1/messages and /v1/models itself.
const DefaultBaseURL = "https://api.anthropic.com"

// DefaultVersion is the anthropic-version header sent when the caller sends
// none.
const DefaultVersion = "2023-06-01"

// Provider talks to one Anthropic (or Anthropic-compatible) base URL.
type Provider struct {
	name    string
	baseURL string // without the trailing /v1
	apiKey  func() (string, error)
	headers map[string]string
	client  *http.Client
	timeout time.Duration
	idle    time.Duration
}

var (
	_ provider.Messenger     = (*Provider)(nil)
	_ provider.ChatCompleter = (*Provider)(nil)
	_ provider.ModelLister   = (*Provider)(nil)
)

// Factory builds a Provider; register it as type "anthropic".
func Factory(cfg provider.Config) (any, error) { return New(cfg) }

// New returns an adapter for cfg. An empty BaseURL means DefaultBaseURL; a nil
// Client means http.DefaultClient.
func New(cfg provider.Config) (*Provider, error) {
	base, err := upstream.BaseURL(cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	base = strings.TrimSuffix(base, "/v1")
	return &Provider{
		name: cfg.Name, baseURL: base, apiKey: cfg.KeyFunc(), headers: cfg.Headers,
		client: upstream.Client(cfg.Client), timeout: cfg.Timeout, idle: cfg.StreamIdleTimeout,
	}, nil
}

func (p *Provider) newRequest(ctx context.Context, method, path string, body []byte, req *provider.Request) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, p.baseURL+path, rd)
	if err != nil {
		return nil, apierror.Wrap(apierror.Internal, err, "build upstream request")
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("anthropic-version", DefaultVersion)
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
		if v := req.Header.Get("anthropic-version"); v != "" {
			hr.Header.Set("anthropic-version", v)
		}
		for _, v := range req.Header.Values("anthropic-beta") {
			hr.Header.Add("anthropic-beta", v)
		}
		if req.Stream {
			hr.Header.Set("Accept", "text/event-stream")
		}
	}
	if key != "" {
		hr.Header.Set("x-api-key", key)
	}
	for k, v := range p.headers {
		hr.Header.Set(k, v)
	}
	return hr, nil
}

// call sends one POST and returns the 2xx response with the cancel function
// of its context: Close, the stream's idle timer or the caller cancels it.
// A non-streamed call is bounded by the configured timeout as well.
func (p *Provider) call(ctx context.Context, path string, body []byte, req *provider.Request) (*http.Response, context.CancelCauseFunc, error) {
	c := upstream.Call{Client: p.client, Stream: req.Stream, Timeout: p.timeout, Idle: p.idle, Wait: req.Wait, ParseErr: ParseError}
	return c.Send(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.newRequest(ctx, http.MethodPost, path, body, req)
	})
}

// ParseError extracts the message and type from an Anthropic error body:
// {"type":"error","error":{"type":"rate_limit_error","message":"..."}}.
func ParseError(body []byte) (msg, code string) {
	var e struct {
		Error *errorObject `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == nil {
		return "", ""
	}
	return e.Error.Message, e.Error.Type
}

type errorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// streamError turns an in-stream "error" event into the gateway error of the
// matching kind, as if the provider had answered with the status Anthropic
// documents for that error type.
func streamError(e *errorObject) *apierror.Error {
	var kind apierror.Kind
	status := 0
	switch e.Type {
	case "overloaded_error":
		kind, status = apierror.UpstreamOverloaded, 529
	case "rate_limit_error":
		kind = apierror.RateLimited
	case "api_error":
		kind = apierror.UpstreamError
	case "timeout_error":
		kind = apierror.UpstreamTimeout
	case "invalid_request_error":
		kind = apierror.InvalidRequest
	case "authentication_error":
		kind = apierror.Authentication
	case "permission_error", "billing_error":
		kind = apierror.PermissionDenied
	case "not_found_error":
		kind = apierror.NotFound
	case "request_too_large":
		kind = apierror.RequestTooLarge
	default:
		kind = apierror.UpstreamError
	}
	msg := e.Message
	if msg == "" {
		msg = "the provider reported an error mid-stream"
		if e.Type != "" {
			msg += " (" + e.Type + ")"
		}
	}
	return &apierror.Error{Kind: kind, Message: msg, Status: status, Code: e.Type,
		Err: fmt.Errorf("anthropic stream error event %q", e.Type)}
}

// openStream checks that a streamed answer really is an event stream and
// wraps its body with the idle timeout.
func (p *Provider) openStream(ctx context.Context, resp *http.Response, cancel context.CancelCauseFunc, req *provider.Request) (*upstream.BodyReader, error) {
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		body, _ := upstream.ReadBody(ctx, resp, req.Wait)
		cancel(nil)
		return nil, apierror.New(apierror.UpstreamBadResponse, "the provider answered a streaming request with %q instead of an event stream: %.200s", ct, body)
	}
	return upstream.NewBodyReader(resp.Body, req.Wait, p.idle, cancel), nil
}

// Messages relays POST /v1/messages unchanged, in both directions.
func (p *Provider) Messages(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	resp, cancel, err := p.call(ctx, "/v1/messages", req.Body, req)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Status: resp.StatusCode, Header: upstream.RelayHeader(resp.Header), RequestID: resp.Header.Get("request-id")}
	if req.Stream {
		body, err := p.openStream(ctx, resp, cancel, req)
		if err != nil {
			return nil, err
		}
		out.Stream = &messagesStream{ctx: ctx, body: body, r: sse.NewReader(body)}
		return out, nil
	}
	defer cancel(nil)
	body, err := upstream.ReadBody(ctx, resp, req.Wait)
	if err != nil {
		return nil, err
	}
	m, err := parseMessage(body)
	if err != nil {
		return nil, err
	}
	out.Body = body
	out.ResponseModel, out.FinishReason, out.Text = m.Model, m.StopReason, m.text()
	out.ServiceTier = serviceTier(m.Usage)
	if out.Usage, out.HasUsage, err = m.usage(); err != nil {
		return nil, err
	}
	return out, nil
}

// message is the part of a Messages API response the adapter reads.
type message struct {
	ID         string          `json:"id"`
	Model      string          `json:"model"`
	StopReason string          `json:"stop_reason"`
	Content    []contentBlock  `json:"content"`
	Usage      json.RawMessage `json:"usage"`
}

type contentBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
}

func parseMessage(body []byte) (*message, error) {
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a response that is not valid Messages JSON")
	}
	return &m, nil
}

// text is the generated text of every block, for token estimation.
func (m *message) text() string {
	var b strings.Builder
	for _, c := range m.Content {
		switch c.Type {
		case "text":
			b.WriteString(c.Text)
		case "thinking":
			b.WriteString(c.Thinking)
		case "tool_use":
			b.WriteString(c.Name)
			b.Write(c.Input)
		}
	}
	return b.String()
}

func (m *message) usage() (usage.Usage, bool, error) {
	if !isJSONValue(m.Usage) {
		return usage.Usage{}, false, nil
	}
	u, err := usage.FromAnthropic(m.Usage)
	if err != nil {
		return usage.Usage{}, false, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a malformed usage object")
	}
	return u, true, nil
}

func isJSONValue(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// maxModelPages bounds the model list pagination, in case a server keeps
// answering has_more.
const maxModelPages = 50

// ListModels asks GET /v1/models, following has_more/last_id.
func (p *Provider) ListModels(ctx context.Context) ([]provider.Model, error) {
	if p.timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, p.timeout, apierror.New(apierror.UpstreamTimeout, "the provider did not list its models within %s", p.timeout))
		defer stop()
	}
	var out []provider.Model
	after := ""
	for range maxModelPages {
		q := url.Values{"limit": {"1000"}}
		if after != "" {
			q.Set("after_id", after)
		}
		hr, err := p.newRequest(ctx, http.MethodGet, "/v1/models?"+q.Encode(), nil, nil)
		if err != nil {
			return nil, err
		}
		resp, err := upstream.Do(p.client, hr, nil, ParseError)
		if err != nil {
			return nil, err
		}
		body, err := upstream.ReadBody(ctx, resp, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Data []struct {
				ID        string `json:"id"`
				CreatedAt string `json:"created_at"`
			} `json:"data"`
			HasMore bool   `json:"has_more"`
			LastID  string `json:"last_id"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a model list that is not valid JSON")
		}
		for _, m := range page.Data {
			var created int64
			if t, err := time.Parse(time.RFC3339, m.CreatedAt); err == nil {
				created = t.Unix()
			}
			out = append(out, provider.Model{ID: m.ID, Created: created, OwnedBy: "anthropic"})
		}
		if !page.HasMore || page.LastID == "" || page.LastID == after {
			return out, nil
		}
		after = page.LastID
	}
	return out, nil
}

// Package gemini is the adapter for Google's Gemini models, through the
// Gemini API of Google AI Studio (type "gemini", API key in
// x-goog-api-key) or through Vertex AI (type "vertex", OAuth access token
// as a bearer token, project and location in the base URL). It serves the
// OpenAI chat completions protocol by translating it to generateContent and
// streamGenerateContent (SSE, alt=sse) and the answers back, the OpenAI
// embeddings protocol through batchEmbedContents, and (Gemini API only) the
// model list. Only the app imports it, to register its two types.
package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
)

// DefaultBaseURL is the Gemini API root of Google AI Studio.
const DefaultBaseURL = "https://generativelanguage.googleapis.com/v1beta"

// Provider talks to the Gemini API or to Vertex AI.
type Provider struct {
	name    string
	baseURL string // without a trailing slash
	vertex  bool   // bearer token and the publishers/google path
	apiKey  func() (string, error)
	headers map[string]string
	client  *http.Client
	timeout time.Duration
	idle    time.Duration
}

// Studio is a Provider of type "gemini": it can also list its models.
type Studio struct{ *Provider }

var (
	_ provider.ChatCompleter = (*Provider)(nil)
	_ provider.Embedder      = (*Provider)(nil)
	_ provider.ChatCompleter = Studio{}
	_ provider.Embedder      = Studio{}
	_ provider.ModelLister   = Studio{}
)

// Factory builds an adapter for the Gemini API; register it as type
// "gemini". An empty BaseURL means DefaultBaseURL.
func Factory(cfg provider.Config) (any, error) {
	p, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return Studio{p}, nil
}

// VertexFactory builds an adapter for Vertex AI; register it as type
// "vertex". BaseURL is required and names the project and location:
// https://LOCATION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/LOCATION
// (https://aiplatform.googleapis.com/v1/projects/PROJECT/locations/global
// for the global endpoint). The key is an OAuth 2 access token.
func VertexFactory(cfg provider.Config) (any, error) { return NewVertex(cfg) }

// New returns a Gemini API adapter for cfg. A nil Client means
// http.DefaultClient.
func New(cfg provider.Config) (*Provider, error) {
	base, err := upstream.BaseURL(cfg.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	return newProvider(cfg, base, false), nil
}

// NewVertex returns a Vertex AI adapter for cfg.
func NewVertex(cfg provider.Config) (*Provider, error) {
	if cfg.BaseURL == "" {
		return nil, fmt.Errorf("base_url is required for type vertex: https://LOCATION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/LOCATION")
	}
	base, err := upstream.BaseURL(cfg.BaseURL, "")
	if err != nil {
		return nil, err
	}
	if _, err := VertexLocation(base); err != nil {
		return nil, err
	}
	return newProvider(cfg, base, true), nil
}

// VertexLocation checks that a Vertex AI base URL ends in
// /projects/PROJECT/locations/LOCATION and returns LOCATION.
func VertexLocation(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("base_url %q: %w", base, err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	n := len(parts)
	if n < 4 || parts[n-4] != "projects" || parts[n-2] != "locations" || parts[n-3] == "" || parts[n-1] == "" {
		return "", fmt.Errorf("base_url %q: a Vertex AI base URL must end in /projects/PROJECT/locations/LOCATION", base)
	}
	return parts[n-1], nil
}

func newProvider(cfg provider.Config, base string, vertex bool) *Provider {
	return &Provider{
		name: cfg.Name, baseURL: base, vertex: vertex, apiKey: cfg.KeyFunc(), headers: cfg.Headers,
		client: upstream.Client(cfg.Client), timeout: cfg.Timeout, idle: cfg.StreamIdleTimeout,
	}
}

// modelPath is the path of a model method: models/M:method on the Gemini
// API, publishers/google/models/M:method on Vertex AI. A "models/" prefix
// on the model id is accepted (the Gemini API's own model names carry it).
func (p *Provider) modelPath(model, method string) string {
	model = strings.TrimPrefix(model, "models/")
	path := "/models/" + url.PathEscape(model) + ":" + method
	if p.vertex {
		path = "/publishers/google" + path
	}
	return path
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
	if req != nil && req.Stream {
		hr.Header.Set("Accept", "text/event-stream")
	}
	key := ""
	if req != nil {
		key = req.APIKey
	}
	if key == "" {
		if key, err = p.apiKey(); err != nil {
			return nil, err
		}
	}
	if key != "" {
		if p.vertex {
			hr.Header.Set("Authorization", "Bearer "+key)
		} else {
			hr.Header.Set("x-goog-api-key", key)
		}
	}
	for k, v := range p.headers {
		hr.Header.Set(k, v)
	}
	return hr, nil
}

// call sends one POST and returns the 2xx response with the cancel function
// of its context, like the other adapters; a Google error answer becomes an
// *apierror.Error classified by its status (see classify).
func (p *Provider) call(ctx context.Context, path string, body []byte, req *provider.Request) (*http.Response, context.CancelCauseFunc, error) {
	var ge *googleError
	parse := func(b []byte) (string, string) {
		ge = parseGoogleError(b)
		if ge == nil {
			return "", ""
		}
		return ge.Message, ge.code()
	}
	c := upstream.Call{Client: p.client, Stream: req.Stream, Timeout: p.timeout, Idle: p.idle, Wait: req.Wait, ParseErr: parse}
	resp, cancel, err := c.Send(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.newRequest(ctx, http.MethodPost, path, body, req)
	})
	if err != nil {
		classify(err, ge)
		return nil, nil, err
	}
	return resp, cancel, nil
}

// googleError is the error object of Google APIs:
// {"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED","details":[...]}}.
type googleError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []struct {
		Type       string `json:"@type"`
		Reason     string `json:"reason"`
		RetryDelay string `json:"retryDelay"`
	} `json:"details"`
}

// reason is the ErrorInfo reason (API_KEY_INVALID, ...), if any.
func (e *googleError) reason() string {
	for _, d := range e.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

// code is what the error's Code field carries: the ErrorInfo reason when
// there is one, else the canonical status.
func (e *googleError) code() string {
	if r := e.reason(); r != "" {
		return r
	}
	return e.Status
}

// retryDelay reads the RetryInfo detail ("2s", "0.5s").
func (e *googleError) retryDelay() time.Duration {
	for _, d := range e.Details {
		if d.RetryDelay == "" {
			continue
		}
		s, ok := strings.CutSuffix(d.RetryDelay, "s")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 86400 {
			return time.Duration(f * float64(time.Second))
		}
	}
	return 0
}

// parseGoogleError reads a Google error body: an object, or an array of
// them (Vertex AI sometimes answers so). It returns nil for anything else.
func parseGoogleError(body []byte) *googleError {
	var one struct {
		Error *googleError `json:"error"`
	}
	b := bytes.TrimSpace(body)
	if len(b) > 0 && b[0] == '[' {
		var many []struct {
			Error *googleError `json:"error"`
		}
		if json.Unmarshal(b, &many) != nil || len(many) == 0 {
			return nil
		}
		one.Error = many[0].Error
	} else if json.Unmarshal(b, &one) != nil {
		return nil
	}
	return one.Error
}

// ParseError extracts the message and code (ErrorInfo reason or status)
// from a Google error body.
func ParseError(body []byte) (msg, code string) {
	e := parseGoogleError(body)
	if e == nil {
		return "", ""
	}
	return e.Message, e.code()
}

// classify refines an upstream error from what the Google error body said:
// the Gemini API answers a bad API key with 400 INVALID_ARGUMENT (reason
// API_KEY_INVALID), an overloaded model with 503 UNAVAILABLE, and a rate
// limit with a RetryInfo delay instead of a retry-after header.
func classify(err error, ge *googleError) {
	ae, ok := err.(*apierror.Error)
	if !ok || ge == nil {
		return
	}
	switch {
	case ge.reason() == "API_KEY_INVALID" || ge.Status == "UNAUTHENTICATED":
		ae.Kind = apierror.Authentication
	case ge.Status == "PERMISSION_DENIED":
		ae.Kind = apierror.PermissionDenied
	case ge.Status == "RESOURCE_EXHAUSTED" && ae.Status == http.StatusTooManyRequests:
		ae.Kind = apierror.RateLimited
	case ae.Status == http.StatusServiceUnavailable && strings.Contains(strings.ToLower(ge.Message), "overloaded"):
		ae.Kind = apierror.UpstreamOverloaded
	}
	if ae.RetryAfter == 0 {
		ae.RetryAfter = ge.retryDelay()
	}
}

// streamError turns an error object found in a stream into the gateway
// error of the matching kind.
func streamError(ge *googleError) *apierror.Error {
	status := ge.Code
	if status < 400 || status > 599 {
		status = statusOf(ge.Status)
	}
	msg := ge.Message
	if msg == "" {
		msg = "the provider reported an error mid-stream"
		if ge.Status != "" {
			msg += " (" + ge.Status + ")"
		}
	}
	e := &apierror.Error{Kind: apierror.FromStatus(status), Message: msg, Status: status, Code: ge.code(),
		Err: fmt.Errorf("gemini stream error %d %s", ge.Code, ge.Status)}
	classify(e, ge)
	return e
}

// statusOf is the HTTP status of a canonical Google status name.
func statusOf(s string) int {
	switch s {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		return 400
	case "UNAUTHENTICATED":
		return 401
	case "PERMISSION_DENIED":
		return 403
	case "NOT_FOUND":
		return 404
	case "RESOURCE_EXHAUSTED":
		return 429
	case "UNAVAILABLE":
		return 503
	case "DEADLINE_EXCEEDED":
		return 504
	}
	return 500
}

// maxModelPages bounds the model list pagination.
const maxModelPages = 50

// ListModels asks GET models of the Gemini API, following nextPageToken.
// Vertex AI has no equivalent list of the Gemini models a project may call,
// so only Studio offers it.
func (s Studio) ListModels(ctx context.Context) ([]provider.Model, error) {
	p := s.Provider
	if p.timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, p.timeout, apierror.New(apierror.UpstreamTimeout, "the provider did not list its models within %s", p.timeout))
		defer stop()
	}
	var out []provider.Model
	token := ""
	for range maxModelPages {
		q := url.Values{"pageSize": {"1000"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		hr, err := p.newRequest(ctx, http.MethodGet, "/models?"+q.Encode(), nil, nil)
		if err != nil {
			return nil, err
		}
		var ge *googleError
		resp, err := upstream.Do(p.client, hr, nil, func(b []byte) (string, string) {
			ge = parseGoogleError(b)
			return ParseError(b)
		})
		if err != nil {
			classify(err, ge)
			return nil, err
		}
		body, err := upstream.ReadBody(ctx, resp, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Models []struct {
				Name string `json:"name"`
			} `json:"models"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a model list that is not valid JSON")
		}
		for _, m := range page.Models {
			out = append(out, provider.Model{ID: strings.TrimPrefix(m.Name, "models/"), OwnedBy: "google"})
		}
		if page.NextPageToken == "" || page.NextPageToken == token {
			return out, nil
		}
		token = page.NextPageToken
	}
	return out, nil
}

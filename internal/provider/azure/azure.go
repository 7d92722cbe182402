// Package azure is the adapter for Azure OpenAI: chat completions and
// embeddings relayed natively, as the API is OpenAI's under Azure's paths
// ({endpoint}/openai/deployments/{deployment}/...?api-version=..., or the
// v1 API at {endpoint}/openai/v1/...), keys (the api-key header, or a
// Microsoft Entra ID token as a bearer) and content filter. It builds on
// the openai adapter through its hooks. Only the app imports it, to
// register it.
package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/openai"
	"github.com/weirhq/weir/internal/provider/upstream"
)

// DefaultAPIVersion is the api-version sent when the config names none: the
// latest generally available version of the data-plane inference API.
const DefaultAPIVersion = "2024-10-21"

// APIVersionV1 selects the v1 API, which takes no api-version.
const APIVersionV1 = "v1"

// The ways the key is sent (provider.Azure.Auth).
const (
	AuthAPIKey  = "api_key"
	AuthEntraID = "entra_id"
)

// Provider relays the OpenAI protocol to one Azure OpenAI resource.
type Provider struct {
	oa          *openai.Provider
	endpoint    string // the resource endpoint, without /openai
	version     string // api-version, or APIVersionV1
	deployments map[string]string
}

var (
	_ provider.ChatCompleter = (*Provider)(nil)
	_ provider.Embedder      = (*Provider)(nil)
	_ provider.ModelLister   = (*Provider)(nil)
)

// Factory builds a Provider; register it as type "azure".
func Factory(cfg provider.Config) (any, error) { return New(cfg) }

// New returns an adapter for cfg. cfg.BaseURL is the resource endpoint
// (https://NAME.openai.azure.com, or a custom domain); one that ends in
// /openai/v1 selects the v1 API whatever the api_version.
func New(cfg provider.Config) (*Provider, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("base_url is required: the resource endpoint, e.g. https://NAME.openai.azure.com")
	}
	endpoint, err := upstream.BaseURL(cfg.BaseURL, "")
	if err != nil {
		return nil, err
	}
	var az provider.Azure
	if cfg.Azure != nil {
		az = *cfg.Azure
	}
	version := az.APIVersion
	if e, ok := strings.CutSuffix(endpoint, "/openai/v1"); ok {
		endpoint, version = e, APIVersionV1
	}
	endpoint = strings.TrimSuffix(endpoint, "/openai")
	if version == "" {
		version = DefaultAPIVersion
	}
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	auth := apiKeyHeader
	switch az.Auth {
	case "", AuthAPIKey:
	case AuthEntraID:
		auth = bearer
	default:
		return nil, fmt.Errorf("auth %q: want %s or %s", az.Auth, AuthAPIKey, AuthEntraID)
	}
	for d, m := range az.Deployments {
		if d == "" || m == "" {
			return nil, fmt.Errorf("deployments: %q: %q: neither may be empty", d, m)
		}
	}
	p := &Provider{endpoint: endpoint, version: version, deployments: az.Deployments}
	cfg.BaseURL = endpoint
	p.oa, err = openai.NewWith(cfg, openai.Hooks{URL: p.url, Auth: auth, ParseError: ParseError})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// checkVersion accepts v1 and the dated versions (2024-10-21,
// 2025-04-01-preview), which go into a URL unescaped.
func checkVersion(v string) error {
	if v == APIVersionV1 || v == "preview" || v == "latest" {
		return nil
	}
	if len(v) < len("2006-01-02") || v[4] != '-' || v[7] != '-' {
		return fmt.Errorf("api_version %q: want a dated version such as %s (or %s-preview) or %s", v, DefaultAPIVersion, DefaultAPIVersion, APIVersionV1)
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r == '-') {
			return fmt.Errorf("api_version %q: unexpected character %q", v, r)
		}
	}
	return nil
}

func apiKeyHeader(h http.Header, key string) { h.Set("api-key", key) }

func bearer(h http.Header, key string) { h.Set("Authorization", "Bearer "+key) }

// url maps an OpenAI API path to Azure's. On the deployments API the model
// is the deployment; "preview" and "latest" on the v1 API are sent as its
// api-version.
func (p *Provider) url(path, model string) string {
	if p.version == APIVersionV1 {
		return p.endpoint + "/openai/v1" + path
	}
	if p.version == "preview" || p.version == "latest" {
		return p.endpoint + "/openai/v1" + path + "?api-version=" + p.version
	}
	if path == "/models" {
		return p.endpoint + "/openai/models?api-version=" + p.version
	}
	return p.endpoint + "/openai/deployments/" + url.PathEscape(model) + path + "?api-version=" + p.version
}

// ParseError extracts message and code from an Azure error body: OpenAI's
// shape (whose code is a string such as content_filter, "429" or
// DeploymentNotFound), or the gateway's {"statusCode","message"} of a
// rejected key or token.
func ParseError(body []byte) (msg, code string) {
	if msg, code = openai.ParseError(body); msg != "" || code != "" {
		if code == "" || code == "null" {
			code = innerCode(body)
		}
		return msg, code
	}
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		return e.Message, ""
	}
	return "", ""
}

// innerCode is error.innererror.code, Azure's detail (ResponsibleAIPolicyViolation).
func innerCode(body []byte) string {
	var e struct {
		Error struct {
			Inner struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Error.Inner.Code
}

// classify marks a content-filter refusal with provider.CodeContentFilter,
// whatever code Azure gave it.
func classify(err error) error {
	var e *apierror.Error
	if errors.As(err, &e) && isFilterCode(e.Code) {
		e.Code, e.Kind = provider.CodeContentFilter, apierror.InvalidRequest
	}
	return err
}

func isFilterCode(code string) bool {
	return code == "content_filter" || code == "ResponsibleAIPolicyViolation"
}

// ChatCompletion relays a chat completion to the deployment req.Model (on
// the v1 API, the body's model names the deployment).
func (p *Provider) ChatCompletion(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	resp, err := p.oa.ChatCompletion(ctx, req)
	if err != nil {
		return nil, classify(err)
	}
	p.fix(resp, req.Model)
	if resp.Stream != nil {
		resp.Stream = &stream{Stream: resp.Stream, model: p.deployments[req.Model]}
		return resp, nil
	}
	if resp.FinishReason == "" {
		if f, _ := Filtered(resp.Body); f {
			resp.FinishReason = provider.FinishContentFilter
		}
	}
	return resp, nil
}

// Embeddings relays an embeddings call to the deployment req.Model.
func (p *Provider) Embeddings(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	resp, err := p.oa.Embeddings(ctx, req)
	if err != nil {
		return nil, classify(err)
	}
	p.fix(resp, req.Model)
	return resp, nil
}

// fix reports the deployment's configured model, when there is one, as
// the model that answered: the answer's own may be a name the price
// catalog does not know (an alias such as "ada", a proxy's), and the
// configuration is the operator's word.
func (p *Provider) fix(resp *provider.Response, deployment string) {
	if m := p.deployments[deployment]; m != "" {
		resp.ResponseModel = m
	}
}

// ListModels lists the configured deployments. Azure's data plane lists
// the base models a resource may deploy, not its deployments, so it is
// asked only when none are configured.
func (p *Provider) ListModels(ctx context.Context) ([]provider.Model, error) {
	if len(p.deployments) == 0 {
		return p.oa.ListModels(ctx)
	}
	out := make([]provider.Model, 0, len(p.deployments))
	for d := range p.deployments {
		out = append(out, provider.Model{ID: d, OwnedBy: "azure"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Package bedrock is the adapter for Amazon Bedrock's Converse API: OpenAI
// chat completions translated to POST /model/{modelId}/converse and
// /converse-stream, and the answers (JSON, or the AWS event-stream binary
// framing) translated back to chat.completion and chat.completion.chunk.
// Requests are signed with SigV4 (static keys or the standard AWS
// credential chain) or carry a Bedrock API key as a bearer token. Only the
// app imports it, to register it as type "bedrock".
package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
)

// SigningName is the service name in Bedrock's SigV4 credential scope.
const SigningName = "bedrock"

// BaseURL is the Bedrock runtime endpoint of region.
func BaseURL(region string) string {
	return "https://bedrock-runtime." + region + ".amazonaws.com"
}

// Provider talks to the Bedrock runtime of one region.
type Provider struct {
	name    string
	baseURL string
	region  string
	// apiKey is set when the provider is configured with a Bedrock API
	// key (sent as a bearer token); creds otherwise.
	apiKey  func() (string, error)
	creds   aws.CredentialsProvider
	signer  *v4.Signer
	headers map[string]string
	client  *http.Client
	timeout time.Duration
	idle    time.Duration
}

var _ provider.ChatCompleter = (*Provider)(nil)

// Factory builds a Provider; register it as type "bedrock".
func Factory(cfg provider.Config) (any, error) { return New(cfg) }

// New returns an adapter for cfg. With an API key (cfg.APIKey or cfg.Key)
// requests carry it as a bearer token; otherwise they are signed with the
// static keys of cfg.AWS, or with credentials from the standard AWS chain
// (which is then also where an unset region comes from). An empty BaseURL
// means the region's runtime endpoint.
func New(cfg provider.Config) (*Provider, error) {
	var a provider.AWS
	if cfg.AWS != nil {
		a = *cfg.AWS
	}
	if (a.AccessKeyID == "") != (a.SecretAccessKey == "") {
		return nil, fmt.Errorf("aws_access_key_id and aws_secret_access_key go together: set both or neither")
	}
	p := &Provider{
		name: cfg.Name, region: a.Region, headers: cfg.Headers,
		client: errorTypes(upstream.Client(cfg.Client)), timeout: cfg.Timeout, idle: cfg.StreamIdleTimeout,
	}
	switch {
	case cfg.APIKey != "" || cfg.Key != nil:
		p.apiKey = cfg.KeyFunc()
	case a.AccessKeyID != "":
		p.creds = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, ""))
	default:
		opts := []func(*awsconfig.LoadOptions) error{}
		if a.Region != "" {
			opts = append(opts, awsconfig.WithRegion(a.Region))
		}
		if a.Profile != "" {
			opts = append(opts, awsconfig.WithSharedConfigProfile(a.Profile))
		}
		ac, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			return nil, fmt.Errorf("load the AWS configuration: %w", err)
		}
		p.creds, p.region = ac.Credentials, ac.Region
		if p.creds == nil {
			return nil, fmt.Errorf("no AWS credentials: set api_key, aws_access_key_id and aws_secret_access_key, or configure the standard AWS chain")
		}
	}
	if p.creds != nil {
		p.signer = v4.NewSigner()
		if p.region == "" {
			return nil, fmt.Errorf("region is required to sign requests (set region, or AWS_REGION)")
		}
	}
	def := ""
	if p.region != "" {
		def = BaseURL(p.region)
	}
	if cfg.BaseURL == "" && def == "" {
		return nil, fmt.Errorf("region is required (or base_url)")
	}
	base, err := upstream.BaseURL(cfg.BaseURL, def)
	if err != nil {
		return nil, err
	}
	p.baseURL = base
	return p, nil
}

// modelPath is the escaped path of an operation on model: the id is one
// path segment, so the ':' of a version and the '/' of an ARN are escaped
// as the AWS SDKs do.
func modelPath(model, op string) (path, raw string) {
	esc := strings.ReplaceAll(url.PathEscape(model), ":", "%3A")
	return "/model/" + model + "/" + op, "/model/" + esc + "/" + op
}

func (p *Provider) newRequest(ctx context.Context, model, op string, body []byte, req *provider.Request) (*http.Request, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, p.baseURL, bytes.NewReader(body))
	if err != nil {
		return nil, apierror.Wrap(apierror.Internal, err, "build upstream request")
	}
	path, raw := modelPath(model, op)
	hr.URL.Path, hr.URL.RawPath = strings.TrimSuffix(hr.URL.Path, "/")+path, strings.TrimSuffix(hr.URL.EscapedPath(), "/")+raw
	hr.Header.Set("Content-Type", "application/json")
	if req.Stream {
		hr.Header.Set("Accept", "application/vnd.amazon.eventstream")
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	for k, v := range p.headers {
		hr.Header.Set(k, v)
	}
	key := req.APIKey
	if key == "" && p.apiKey != nil {
		if key, err = p.apiKey(); err != nil {
			return nil, err
		}
	}
	if key != "" {
		hr.Header.Set("Authorization", "Bearer "+key)
		return hr, nil
	}
	if p.creds == nil {
		return nil, apierror.New(apierror.Authentication, "provider %q has no Bedrock API key and no AWS credentials", p.name)
	}
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return nil, apierror.Wrap(apierror.Authentication, err, "could not get AWS credentials to sign the request")
	}
	sum := sha256.Sum256(body)
	if err := p.signer.SignHTTP(ctx, creds, hr, hex.EncodeToString(sum[:]), SigningName, p.region, time.Now()); err != nil {
		return nil, apierror.Wrap(apierror.Internal, err, "sign the request")
	}
	return hr, nil
}

// call sends one POST and returns the 2xx response with the cancel function
// of its context (see upstream.Call.Send: Close, the stream's idle timer or
// the caller cancels it).
func (p *Provider) call(ctx context.Context, model, op string, body []byte, req *provider.Request) (*http.Response, context.CancelCauseFunc, error) {
	c := upstream.Call{Client: p.client, Stream: req.Stream, Timeout: p.timeout, Idle: p.idle, Wait: req.Wait, ParseErr: ParseError}
	resp, cancel, err := c.Send(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.newRequest(ctx, model, op, body, req)
	})
	if err != nil {
		return nil, nil, classify(err)
	}
	return resp, cancel, nil
}

// relayHeader is upstream.RelayHeader plus AWS's request id.
func relayHeader(h http.Header) http.Header {
	out := upstream.RelayHeader(h)
	if v := h.Get("x-amzn-requestid"); v != "" {
		out.Set("x-amzn-requestid", v)
	}
	return out
}

// ParseError extracts the message from a Bedrock error body,
// {"message":"..."} (some services send "Message"), and the error type when
// the body names it ("__type"); Bedrock sends the type in the
// x-amzn-errortype header, which classifying copies into the body.
func ParseError(body []byte) (msg, code string) {
	var e struct {
		Message  string `json:"message"`
		MessageU string `json:"Message"`
		Type     string `json:"__type"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	if e.Message == "" {
		e.Message = e.MessageU
	}
	return e.Message, errorType(e.Type)
}

// errorType trims an AWS error type to its name:
// "ValidationException:http://internal.amazon.com/coral/..." and
// "com.amazon.coral#ValidationException" are "ValidationException".
func errorType(t string) string {
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// kindOf is the gateway error kind of an AWS error type; ok is false for a
// type the status alone classifies.
func kindOf(typ string) (k apierror.Kind, ok bool) {
	switch typ {
	case "UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignatureException",
		"MissingAuthenticationTokenException", "ExpiredTokenException", "InvalidClientTokenId",
		"UnauthorizedException":
		return apierror.Authentication, true
	case "AccessDeniedException":
		return apierror.PermissionDenied, true
	case "ValidationException":
		return apierror.InvalidRequest, true
	case "ResourceNotFoundException":
		return apierror.NotFound, true
	case "ThrottlingException":
		return apierror.RateLimited, true
	case "ServiceUnavailableException":
		// Bedrock's answer when the model's capacity is exhausted.
		return apierror.UpstreamOverloaded, true
	case "ModelNotReadyException", "InternalServerException":
		return apierror.UpstreamUnavailable, true
	case "ModelTimeoutException":
		return apierror.UpstreamTimeout, true
	case "ModelErrorException", "ModelStreamErrorException":
		return apierror.UpstreamError, true
	}
	return 0, false
}

// classify refines an upstream error's kind by its AWS error type: AWS
// answers bad credentials with 403, not 401, and capacity with 503.
func classify(err error) error {
	ae, ok := err.(*apierror.Error)
	if !ok || ae.Code == "" {
		return err
	}
	if k, ok := kindOf(ae.Code); ok {
		ae.Kind = k
	}
	return ae
}

// errorTypes wraps a client so that an error answer's x-amzn-errortype
// header reaches ParseError: the header is folded into the JSON body as
// "__type" when the body has none.
func errorTypes(c *http.Client) *http.Client {
	cl := *c
	base := cl.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cl.Transport = errorTypeTransport{base}
	return &cl
}

type errorTypeTransport struct{ base http.RoundTripper }

func (t errorTypeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	typ := resp.Header.Get("x-amzn-errortype")
	if typ == "" {
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, upstream.MaxErrorBody))
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		obj = map[string]json.RawMessage{}
		if len(bytes.TrimSpace(body)) > 0 {
			msg, _ := json.Marshal(string(body))
			obj["message"] = msg
		}
	}
	if _, ok := obj["__type"]; !ok {
		obj["__type"], _ = json.Marshal(typ)
	}
	body, _ = json.Marshal(obj)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

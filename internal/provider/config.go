package provider

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/weirhq/weir/internal/apierror"
)

// Config is what every adapter is built from. The config package fills it
// from the providers section of the configuration file.
type Config struct {
	// Name is the provider's name in "name/model" addresses.
	Name string
	// Type selects the adapter: openai, anthropic, ...
	Type string
	// BaseURL is the API root, e.g. https://api.openai.com/v1 or
	// https://api.anthropic.com (the adapter appends its paths).
	BaseURL string
	// APIKey is the resolved secret; never logged.
	APIKey string
	// Key, when set, replaces APIKey and is read on every upstream request:
	// a key that changes while Weir runs (one stored through the management
	// API). An empty result means the provider has no key yet, and its
	// calls fail with a clear error instead of reaching the provider.
	Key func() string
	// Headers are sent with every upstream request.
	Headers map[string]string
	// Models are the model ids this provider is known to serve; used for
	// bare-name routing and GET /v1/models when the provider cannot list.
	Models []string
	// Azure is the Azure OpenAI setup of a provider of type azure; nil
	// means its defaults.
	Azure *Azure
	// Timeout bounds one whole non-streamed call; StreamIdleTimeout bounds
	// the wait for the next stream event; ConnectTimeout bounds dialing and
	// waiting for response headers.
	Timeout           time.Duration
	StreamIdleTimeout time.Duration
	ConnectTimeout    time.Duration
	// Client is the HTTP client to use; the app shares one transport.
	Client *http.Client
	// AWS is where and as whom a bedrock adapter signs its requests; nil
	// for other types (and for a bedrock provider configured with an API
	// key only).
	AWS *AWS
}

// AWS is the SigV4 setup of an adapter that calls AWS (type bedrock).
type AWS struct {
	// Region is the AWS region, e.g. us-east-1. Empty: the standard
	// chain's (AWS_REGION, the profile's region).
	Region string
	// Profile is a profile of the shared AWS config files. Empty: the
	// standard chain's default.
	Profile string
	// AccessKeyID and SecretAccessKey are resolved static keys, both or
	// neither. Empty: the standard credential chain (environment, shared
	// files, SSO, web identity, ECS or EC2 roles).
	AccessKeyID, SecretAccessKey string
}

// Factory builds an adapter from its config.
type Factory func(Config) (any, error)

// Registry maps a provider type to its factory. It is an explicit value,
// built by the app, not filled by init side effects.
type Registry map[string]Factory

// Build returns the adapter for cfg.Type.
func (r Registry) Build(cfg Config) (any, error) {
	f, ok := r[cfg.Type]
	if !ok {
		return nil, fmt.Errorf("provider %q: unknown type %q (known: %v)", cfg.Name, cfg.Type, r.Types())
	}
	p, err := f(cfg)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", cfg.Name, err)
	}
	return p, nil
}

// Types lists the registered types, sorted.
func (r Registry) Types() []string {
	out := make([]string, 0, len(r))
	for t := range r {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// CodeNoCredential is the error code of a call to a provider whose stored
// key has not been set.
const CodeNoCredential = "provider_credential_missing"

// KeyFunc returns how an adapter reads its key on each request: the fixed
// APIKey, or Key, whose empty result is an error (upstream_unavailable,
// so a fallback may try another provider) naming the provider.
func (c Config) KeyFunc() func() (string, error) {
	if c.Key == nil {
		k := c.APIKey
		return func() (string, error) { return k, nil }
	}
	name, key := c.Name, c.Key
	return func() (string, error) {
		if k := key(); k != "" {
			return k, nil
		}
		e := apierror.New(apierror.UpstreamUnavailable, "provider %q has no key yet: an administrator must store one (PUT /api/v1/providers/%s/credential)", name, name)
		e.Code = CodeNoCredential
		return "", e
	}
}

// Azure is the setup of an Azure OpenAI adapter (type azure).
type Azure struct {
	// APIVersion is the api-version query parameter of the deployments
	// API; "v1" selects Azure's v1 API ({endpoint}/openai/v1/...), which
	// takes none. Empty: the adapter's default GA version.
	APIVersion string
	// Auth is how the key is sent: "api_key" (the api-key header, the
	// default) or "entra_id" (a Microsoft Entra ID access token, sent as
	// Authorization: Bearer).
	Auth string
	// Deployments maps a deployment name to the model it serves, for
	// pricing when the answer names no model.
	Deployments map[string]string
}

// Package config loads Weir's configuration: defaults first, then a YAML
// file decoded strictly (unknown keys are errors), then environment
// references resolved, then Validate. Secrets are never printed: Redacted
// gives the view for logs and the API. Only the app and cmd/weir import it.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/secret"
	"github.com/weirhq/weir/internal/sso"
)

// Config is the whole configuration. Every field's default is written next
// to it; docs/configuration.md is the reference.
type Config struct {
	// Listen is the gateway and API address. Default 127.0.0.1:8080.
	Listen string `yaml:"listen" json:"listen"`
	// DataDir holds the embedded store and the recording journal.
	// Default ./weir-data.
	DataDir string  `yaml:"data_dir" json:"data_dir"`
	Log     Log     `yaml:"log" json:"log"`
	Gateway Gateway `yaml:"gateway" json:"gateway"`
	// Providers are the upstream APIs. Default: one per standard API-key
	// environment variable that is set (see FromEnv).
	Providers []Provider `yaml:"providers" json:"providers"`
	// Models maps a bare model name callers may use to "provider/model".
	Models map[string]string `yaml:"models" json:"models,omitempty"`
	// Routes are names callers use as their model, each served by
	// weighted, prioritised targets with retries, fallbacks and circuit
	// breakers (docs/routing.md).
	Routes   map[string]Route `yaml:"routes" json:"routes,omitempty"`
	Recorder Recorder         `yaml:"recorder" json:"recorder"`
	Pricing  Pricing          `yaml:"pricing" json:"pricing"`
	Alerts   Alerts           `yaml:"alerts" json:"alerts"`
	Auth     Auth             `yaml:"auth" json:"auth"`
	// Prompts configures the prompt registry (docs/prompts.md).
	Prompts Prompts `yaml:"prompts" json:"prompts"`
	// Drift configures drift detection and canaries (docs/drift.md).
	Drift Drift `yaml:"drift" json:"drift"`
	// PprofListen, when set, serves Go's profiler (/debug/pprof/) on its
	// own address, e.g. 127.0.0.1:6060. Default off.
	PprofListen string `yaml:"pprof_listen" json:"pprof_listen,omitempty"`

	// Source is the file the config came from, empty for defaults.
	Source string `yaml:"-" json:"source,omitempty"`
}

// Auth configures how people sign in to the management API.
type Auth struct {
	// SessionTTL bounds a session's life. Default 12h.
	SessionTTL Duration `yaml:"session_ttl" json:"session_ttl,omitempty"`
	// SessionIdle ends a session after this long without a request.
	// Default 2h.
	SessionIdle Duration `yaml:"session_idle" json:"session_idle,omitempty"`
	// InsecureCookies drops the session cookie's Secure attribute, for
	// plain HTTP on a host other than localhost (browsers accept Secure
	// cookies from http://localhost). Never in production. Default false.
	InsecureCookies bool `yaml:"insecure_cookies" json:"insecure_cookies,omitempty"`
	// OIDC, when set, enables OpenID Connect single sign-on
	// (docs/configuration.md, "auth.oidc"). Default off.
	OIDC *OIDC `yaml:"oidc" json:"oidc,omitempty"`
}

// OIDC is the single sign-on section: sso.Config plus its two secrets,
// resolved like every other secret.
type OIDC struct {
	sso.Config `yaml:",inline"`
	// ClientSecret is env:VAR, file:/path or (discouraged) the literal;
	// empty for a public client (PKCE alone).
	ClientSecret Secret `yaml:"client_secret" json:"client_secret,omitempty"`
	// CookieKey seals the 10-minute sign-in cookie. Default: a random key
	// per process; set it when several replicas serve the callback.
	CookieKey Secret `yaml:"cookie_key" json:"cookie_key,omitempty"`
}

// SSO is the section with its secrets' values, for sso.New.
func (o OIDC) SSO() sso.Config {
	c := o.Config
	c.ClientSecret, c.CookieKey = o.ClientSecret.Value(), o.CookieKey.Value()
	return c
}

// Prompts configures the prompt registry.
type Prompts struct {
	// Dir holds prompts as YAML files (one prompt or partial per file),
	// synced into the store at start: a changed file becomes a new
	// version. A relative path is relative to the config file. Default
	// none.
	Dir string `yaml:"dir" json:"dir,omitempty"`
	// AllowUnknownVariables lets calls pass variables a prompt does not
	// declare. Default false: such a variable is an error (usually a typo).
	AllowUnknownVariables bool `yaml:"allow_unknown_variables" json:"allow_unknown_variables,omitempty"`
}

// Drift configures drift detection (docs/drift.md).
type Drift struct {
	// Disabled turns the drift monitor off. Default on.
	Disabled bool `yaml:"disabled" json:"disabled,omitempty"`
	// Interval is the time between checks. Default 5m.
	Interval Duration `yaml:"interval" json:"interval,omitempty"`
	// Lookback bounds a baseline in time. Default 168h (7 days).
	Lookback Duration `yaml:"lookback" json:"lookback,omitempty"`
	// Detection is the decision rule; zero fields take the defaults of
	// docs/drift.md.
	Detection drift.Config `yaml:"detection" json:"detection"`
	// Canaries are golden sets run on a schedule, so that drift is seen
	// even without traffic.
	Canaries []Canary `yaml:"canaries" json:"canaries,omitempty"`
}

// Canary is a small evaluation dataset run against a model or route on a
// schedule, its scores watched for drift (docs/drift.md, "Canaries").
type Canary struct {
	// Name is unique; its runs are experiments named canary-NAME-TIME.
	Name string `yaml:"name" json:"name"`
	// Dataset names the dataset (its latest version, or DatasetVersion).
	Dataset        string `yaml:"dataset" json:"dataset"`
	DatasetVersion int    `yaml:"dataset_version" json:"dataset_version,omitempty"`
	// Model is the route or model called; Prompt, optional, a prompt
	// reference (name, name@3, name@label).
	Model  string `yaml:"model" json:"model"`
	Prompt string `yaml:"prompt" json:"prompt,omitempty"`
	// Params are merged into each request (temperature, max_tokens...).
	Params map[string]any `yaml:"params" json:"params,omitempty"`
	// Evaluators score each answer (the experiment evaluators of
	// docs/evaluation.md).
	Evaluators []CanaryEvaluator `yaml:"evaluators" json:"evaluators"`
	// Every is the time between runs. Default 1h; at least 1m.
	Every Duration `yaml:"every" json:"every,omitempty"`
}

// CanaryEvaluator is one evaluator of a canary.
type CanaryEvaluator struct {
	Kind      string         `yaml:"kind" json:"kind"`
	Config    map[string]any `yaml:"config" json:"config,omitempty"`
	Criterion string         `yaml:"criterion" json:"criterion"`
	// Model is a judge's route or model (kind judge only).
	Model string `yaml:"model" json:"model,omitempty"`
}

// Log configures structured logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level" json:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format" json:"format"`
}

// Gateway configures the proxy surfaces.
type Gateway struct {
	// MaxBodyBytes bounds a request body. Default 33554432 (32 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
	// MaxLoggedBodyBytes bounds the request and response text kept in each
	// record; longer bodies are truncated and flagged. 0 keeps no bodies.
	// Default 1048576 (1 MiB).
	MaxLoggedBodyBytes *int `yaml:"max_logged_body_bytes" json:"max_logged_body_bytes"`
	// APIKeys, when set, are the keys callers must present (Authorization:
	// Bearer or x-api-key). Default none: no caller authentication, which is
	// only sensible on a loopback listener.
	APIKeys []Secret `yaml:"api_keys" json:"api_keys,omitempty"`
	// UpstreamTimeout bounds a whole non-streamed upstream call. Default 10m.
	UpstreamTimeout Duration `yaml:"upstream_timeout" json:"upstream_timeout"`
	// StreamIdleTimeout bounds the wait for the next byte of a stream,
	// including the first. Default 5m (reasoning models think silently).
	StreamIdleTimeout Duration `yaml:"stream_idle_timeout" json:"stream_idle_timeout"`
	// ConnectTimeout bounds dialing a provider. Default 10s.
	ConnectTimeout Duration `yaml:"connect_timeout" json:"connect_timeout"`
	// ShutdownTimeout bounds the graceful drain on stop. Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout" json:"shutdown_timeout"`
}

// Provider is one upstream API.
type Provider struct {
	// Name is how callers address it: "name/model". Required; no "/".
	Name string `yaml:"name" json:"name"`
	// Type selects the adapter: openai (also any OpenAI-compatible server)
	// or anthropic. Required.
	Type string `yaml:"type" json:"type"`
	// BaseURL is the API root. Default: the vendor's public API.
	BaseURL string `yaml:"base_url" json:"base_url,omitempty"`
	// APIKey is the provider key: "env:VAR", "file:/path", or "stored"
	// (sealed in the store under WEIR_MASTER_KEY and set through
	// PUT /api/v1/providers/{name}/credential; read again on every call).
	// Default none (a server that needs no key).
	APIKey Secret `yaml:"api_key" json:"api_key,omitempty"`
	// Headers are added to every upstream request.
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	// Models this provider serves: listed by GET /v1/models and usable as
	// bare names when no other provider lists the same name.
	Models []string `yaml:"models" json:"models,omitempty"`
	// AllowCallerKey lets a caller send its own key for this provider in
	// x-weir-provider-key. Default false.
	AllowCallerKey bool `yaml:"allow_caller_key" json:"allow_caller_key"`
	// PriceAs names the vendor whose published prices apply to this
	// provider's calls (openai, anthropic, google, bedrock, azure, mistral,
	// deepseek, groq, xai), or "none" for a self-hosted server. Default:
	// inferred from the type, the base URL's host or the name; calls that
	// cannot be priced are recorded with cost_usd null, never $0.
	PriceAs string `yaml:"price_as" json:"price_as,omitempty"`
	// UpstreamTimeout and StreamIdleTimeout override the gateway's.
	UpstreamTimeout   Duration `yaml:"upstream_timeout" json:"upstream_timeout,omitempty"`
	StreamIdleTimeout Duration `yaml:"stream_idle_timeout" json:"stream_idle_timeout,omitempty"`
	// APIVersion (type azure only) is the api-version of Azure OpenAI's
	// deployments API, or "v1" for its v1 API ({base_url}/openai/v1/...).
	// Default 2024-10-21.
	APIVersion string `yaml:"api_version" json:"api_version,omitempty"`
	// Auth (type azure only) is how api_key is sent: api_key (the api-key
	// header) or entra_id (a Microsoft Entra ID access token, sent as
	// Authorization: Bearer; Weir does not fetch or refresh it). Default
	// api_key.
	Auth string `yaml:"auth" json:"auth,omitempty"`
	// Deployments (type azure only) maps deployment names to the models
	// they serve: the price of a call whose answer names no model, and the
	// provider's model list. Default none.
	Deployments map[string]string `yaml:"deployments" json:"deployments,omitempty"`
	// Region (type bedrock only) is the AWS region, e.g. us-east-1: it
	// picks the endpoint (https://bedrock-runtime.REGION.amazonaws.com) and
	// scopes the SigV4 signature. Default: AWS_REGION or the AWS profile's.
	Region string `yaml:"region" json:"region,omitempty"`
	// AWSProfile (type bedrock only) is a profile of the shared AWS config
	// and credentials files for the standard credential chain. Default:
	// AWS_PROFILE, else the default profile.
	AWSProfile string `yaml:"aws_profile" json:"aws_profile,omitempty"`
	// AWSAccessKeyID and AWSSecretAccessKey (type bedrock only) are static
	// AWS keys, "env:VAR" or "file:/path", both or neither. Default: the
	// standard AWS credential chain (environment, shared files, SSO, web
	// identity, ECS and EC2 roles). A bedrock provider with api_key (a
	// Bedrock API key, sent as a bearer token) signs nothing.
	AWSAccessKeyID     Secret `yaml:"aws_access_key_id" json:"aws_access_key_id,omitempty"`
	AWSSecretAccessKey Secret `yaml:"aws_secret_access_key" json:"aws_secret_access_key,omitempty"`
}

// Pricing configures how calls are priced.
type Pricing struct {
	// Overlay is a file of negotiated prices laid over the built-in
	// catalog: percentage discounts per provider and custom price sheets
	// (docs/pricing.md). A relative path is relative to the config file.
	// Default none: list prices.
	Overlay string `yaml:"overlay" json:"overlay,omitempty"`
	// Discounts and Sheets are negotiated prices written in the config
	// itself, in the overlay format; they form the overlay "config", which
	// takes precedence over the overlay file's.
	Discounts map[string]pricing.Decimal `yaml:"discounts" json:"discounts,omitempty"`
	Sheets    []pricing.Sheet            `yaml:"sheets" json:"sheets,omitempty"`
	// Commitments are committed or provisioned capacity (PTUs, Bedrock
	// model units, licences) covering the calls to a configured provider.
	Commitments []pricing.Commitment `yaml:"commitments" json:"commitments,omitempty"`
}

// Alerts configures where alerts go.
type Alerts struct {
	// DedupWindow: raises of the same alert within it are counted, not
	// delivered again. Default 1h.
	DedupWindow Duration `yaml:"dedup_window" json:"dedup_window,omitempty"`
	// Webhooks receive every fresh alert they select.
	Webhooks []Webhook `yaml:"webhooks" json:"webhooks,omitempty"`
	// CheckInterval is how often spend spikes, cost per outcome, error
	// rates and month-end forecasts are checked. Default 5m.
	CheckInterval Duration `yaml:"check_interval" json:"check_interval,omitempty"`
}

// Webhook is an alert receiver.
type Webhook struct {
	Name string `yaml:"name" json:"name"`
	// URL is a secret (a Slack webhook URL is a credential): env:NAME,
	// file:PATH or the URL itself.
	URL Secret `yaml:"url" json:"url"`
	// Format is json (default) or slack.
	Format  string            `yaml:"format" json:"format,omitempty"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	// Secret signs each body: X-Weir-Signature: sha256=<hex HMAC>.
	Secret Secret `yaml:"secret" json:"secret,omitempty"`
	// Kinds selects alert kinds (empty: all); MinSeverity the least severe
	// delivered (info, warning, critical; default info).
	Kinds       []string `yaml:"kinds" json:"kinds,omitempty"`
	MinSeverity string   `yaml:"min_severity" json:"min_severity,omitempty"`
}

// Recorder configures the path from the gateway to the store.
type Recorder struct {
	// QueueSize is the in-memory queue of finished records. Default 8192.
	QueueSize int `yaml:"queue_size" json:"queue_size"`
	// BatchSize is the most records written in one store transaction.
	// Default 256.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// FlushInterval is the longest a record waits for its batch. Default 50ms.
	FlushInterval Duration `yaml:"flush_interval" json:"flush_interval"`
	// Fsync makes every journal append durable against power loss, not only
	// against a crash of the process. Default false.
	Fsync bool `yaml:"fsync" json:"fsync"`
}

// canaryName is what a canary's name may be (it names experiments).
var canaryName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

// Default returns the configuration used when no file is given, before
// providers are taken from the environment.
func Default() Config {
	logged := 1 << 20
	return Config{
		Listen:  "127.0.0.1:8080",
		DataDir: "./weir-data",
		Log:     Log{Level: "info", Format: "text"},
		Gateway: Gateway{
			MaxBodyBytes:       32 << 20,
			MaxLoggedBodyBytes: &logged,
			UpstreamTimeout:    Duration(10 * time.Minute),
			StreamIdleTimeout:  Duration(5 * time.Minute),
			ConnectTimeout:     Duration(10 * time.Second),
			ShutdownTimeout:    Duration(30 * time.Second),
		},
		Recorder: Recorder{QueueSize: 8192, BatchSize: 256, FlushInterval: Duration(50 * time.Millisecond)},
	}
}

// Getenv looks up an environment variable; os.LookupEnv in production, a
// map in tests.
type Getenv func(string) (string, bool)

// Load reads the file at path over the defaults, resolves secrets through
// env and validates the result. Errors name the file and the key.
func Load(path string, env Getenv) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := Parse(data, env)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.Source = path
	if o := cfg.Pricing.Overlay; o != "" && !filepath.IsAbs(o) {
		cfg.Pricing.Overlay = filepath.Join(filepath.Dir(path), o)
	}
	if d := cfg.Prompts.Dir; d != "" && !filepath.IsAbs(d) {
		cfg.Prompts.Dir = filepath.Join(filepath.Dir(path), d)
	}
	return cfg, nil
}

// Parse decodes YAML over the defaults, resolves secrets and validates.
func Parse(data []byte, env Getenv) (Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, cleanYAMLError(err)
	}
	if err := cfg.resolve(env); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func cleanYAMLError(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	msg = strings.ReplaceAll(msg, " in type config.", " in ")
	return errors.New(msg)
}

func (c *Config) resolve(env Getenv) error {
	notStored := func(s *Secret) error {
		if s.Stored() {
			return fmt.Errorf("%q is only for providers[].api_key", StoredRef)
		}
		return s.resolve(env)
	}
	for i := range c.Gateway.APIKeys {
		if err := notStored(&c.Gateway.APIKeys[i]); err != nil {
			return fmt.Errorf("gateway.api_keys[%d]: %w", i, err)
		}
	}
	if o := c.Auth.OIDC; o != nil {
		if err := notStored(&o.ClientSecret); err != nil {
			return fmt.Errorf("auth.oidc.client_secret: %w", err)
		}
		if err := notStored(&o.CookieKey); err != nil {
			return fmt.Errorf("auth.oidc.cookie_key: %w", err)
		}
	}
	for i := range c.Providers {
		k := &c.Providers[i].APIKey
		if err := k.resolve(env); err != nil {
			return fmt.Errorf("providers[%d] (%s).api_key: %w", i, c.Providers[i].Name, err)
		}
		if k.Stored() {
			// The key is sealed in the store: without the master key it can
			// be neither read nor set.
			if _, err := secret.FromEnv(env); err != nil {
				return fmt.Errorf("providers[%d] (%s).api_key: stored: the stored key is sealed under the master key: %w", i, c.Providers[i].Name, err)
			}
		}
		if err := notStored(&c.Providers[i].AWSAccessKeyID); err != nil {
			return fmt.Errorf("providers[%d] (%s).aws_access_key_id: %w", i, c.Providers[i].Name, err)
		}
		if err := notStored(&c.Providers[i].AWSSecretAccessKey); err != nil {
			return fmt.Errorf("providers[%d] (%s).aws_secret_access_key: %w", i, c.Providers[i].Name, err)
		}
	}
	for i := range c.Alerts.Webhooks {
		w := &c.Alerts.Webhooks[i]
		if err := notStored(&w.URL); err != nil {
			return fmt.Errorf("alerts.webhooks[%d].url: %w", i, err)
		}
		if err := notStored(&w.Secret); err != nil {
			return fmt.Errorf("alerts.webhooks[%d].secret: %w", i, err)
		}
	}
	return nil
}

// StoredProviders names the providers whose key is "stored".
func (c *Config) StoredProviders() []string {
	var out []string
	for _, p := range c.Providers {
		if p.APIKey.Stored() {
			out = append(out, p.Name)
		}
	}
	return out
}

// Validate checks the configuration as a whole.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Auth.SessionTTL.D() < 0 || c.Auth.SessionIdle.D() < 0 {
		bad("auth", "session_ttl and session_idle cannot be negative")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port", c.Listen)
	}
	if c.PprofListen != "" {
		if _, _, err := net.SplitHostPort(c.PprofListen); err != nil {
			bad("pprof_listen", "%q is not host:port", c.PprofListen)
		}
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.Drift.Interval.D() < 0 || c.Drift.Lookback.D() < 0 {
		bad("drift", "interval and lookback cannot be negative")
	}
	if err := c.Drift.Detection.Validate(); err != nil {
		bad("drift.detection", "%v", err)
	}
	canaries := map[string]bool{}
	for i, cn := range c.Drift.Canaries {
		key := fmt.Sprintf("drift.canaries[%d]", i)
		switch {
		case !canaryName.MatchString(cn.Name):
			bad(key+".name", "%q must be 1 to 40 letters, digits, '.', '_' or '-'", cn.Name)
		case canaries[cn.Name]:
			bad(key+".name", "%q is used twice", cn.Name)
		}
		canaries[cn.Name] = true
		if cn.Dataset == "" || cn.Model == "" {
			bad(key, "dataset and model are required")
		}
		if len(cn.Evaluators) == 0 {
			bad(key+".evaluators", "a canary needs at least one evaluator")
		}
		for j, ev := range cn.Evaluators {
			if ev.Kind == "" || ev.Criterion == "" {
				bad(fmt.Sprintf("%s.evaluators[%d]", key, j), "kind and criterion are required")
			}
		}
		if e := cn.Every.D(); e != 0 && e < time.Minute {
			bad(key+".every", "%s is less than 1m", e)
		}
	}
	if o := c.Auth.OIDC; o != nil {
		if err := o.Config.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				errs = append(errs, errors.New("auth.oidc."+line))
			}
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if c.Gateway.MaxBodyBytes <= 0 {
		bad("gateway.max_body_bytes", "must be positive")
	}
	if c.Gateway.MaxLoggedBodyBytes != nil && *c.Gateway.MaxLoggedBodyBytes < 0 {
		bad("gateway.max_logged_body_bytes", "must not be negative")
	}
	for key, d := range map[string]Duration{
		"gateway.upstream_timeout": c.Gateway.UpstreamTimeout, "gateway.stream_idle_timeout": c.Gateway.StreamIdleTimeout,
		"gateway.connect_timeout": c.Gateway.ConnectTimeout, "gateway.shutdown_timeout": c.Gateway.ShutdownTimeout,
		"recorder.flush_interval": c.Recorder.FlushInterval,
	} {
		if d <= 0 {
			bad(key, "must be a positive duration")
		}
	}
	if c.Recorder.QueueSize <= 0 {
		bad("recorder.queue_size", "must be positive")
	}
	if c.Recorder.BatchSize <= 0 {
		bad("recorder.batch_size", "must be positive")
	}
	names := map[string]bool{}
	for i, p := range c.Providers {
		key := fmt.Sprintf("providers[%d]", i)
		switch {
		case p.Name == "":
			bad(key+".name", "is required")
		case strings.ContainsAny(p.Name, "/ \t"):
			bad(key+".name", "%q must not contain '/' or spaces", p.Name)
		case names[p.Name]:
			bad(key+".name", "%q is used twice", p.Name)
		}
		names[p.Name] = true
		if p.Type == "" {
			bad(key+".type", "is required")
		}
		if p.BaseURL != "" && !strings.HasPrefix(p.BaseURL, "http://") && !strings.HasPrefix(p.BaseURL, "https://") {
			bad(key+".base_url", "%q must start with http:// or https://", redactURL(p.BaseURL))
		}
		if p.UpstreamTimeout < 0 || p.StreamIdleTimeout < 0 {
			bad(key, "timeouts must not be negative")
		}
		if p.Type == "azure" {
			if p.BaseURL == "" {
				bad(key+".base_url", "is required for type azure: the resource endpoint, e.g. https://NAME.openai.azure.com")
			}
			if p.Auth != "" && p.Auth != "api_key" && p.Auth != "entra_id" {
				bad(key+".auth", "%q: want api_key or entra_id", p.Auth)
			}
			for d, m := range p.Deployments {
				if d == "" || m == "" {
					bad(key+".deployments", "%q: %q: deployment and model must not be empty", d, m)
				}
			}
		} else if p.APIVersion != "" || p.Auth != "" || len(p.Deployments) > 0 {
			bad(key, "api_version, auth and deployments apply to type azure only")
		}
		if p.Type == "bedrock" {
			if p.AWSAccessKeyID.IsSet() != p.AWSSecretAccessKey.IsSet() {
				bad(key, "aws_access_key_id and aws_secret_access_key go together: set both or neither")
			}
			if p.Region != "" && !validRegion(p.Region) {
				bad(key+".region", "%q is not an AWS region name (e.g. us-east-1)", p.Region)
			}
		} else if p.Region != "" || p.AWSProfile != "" || p.AWSAccessKeyID.IsSet() || p.AWSSecretAccessKey.IsSet() {
			bad(key, "region, aws_profile, aws_access_key_id and aws_secret_access_key apply to type bedrock only")
		}
		if p.Type == "vertex" && !vertexBaseURL(p.BaseURL) {
			bad(key+".base_url", "%q: type vertex needs the Vertex AI location root, https://LOCATION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/LOCATION", redactURL(p.BaseURL))
		}
	}
	for i, w := range c.Alerts.Webhooks {
		key := fmt.Sprintf("alerts.webhooks[%d]", i)
		if w.Name == "" {
			bad(key+".name", "is required")
		}
		if u := w.URL.Value(); !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			bad(key+".url", "must be an http:// or https:// URL")
		}
		if w.Format != "" && w.Format != "json" && w.Format != "slack" {
			bad(key+".format", "%q: want json or slack", w.Format)
		}
		switch w.MinSeverity {
		case "", "info", "warning", "critical":
		default:
			bad(key+".min_severity", "%q: want info, warning or critical", w.MinSeverity)
		}
	}
	if c.Alerts.DedupWindow < 0 {
		bad("alerts.dedup_window", "must not be negative")
	}
	if c.Alerts.CheckInterval < 0 {
		bad("alerts.check_interval", "must not be negative")
	}
	commitments := map[string]bool{}
	for i := range c.Pricing.Commitments {
		cm := &c.Pricing.Commitments[i]
		key := fmt.Sprintf("pricing.commitments[%d]", i)
		if err := cm.Validate(); err != nil {
			bad(key, "%v", err)
			continue
		}
		if !names[cm.Provider] {
			bad(key+".provider", "provider %q is not configured", cm.Provider)
		}
		if commitments[cm.Name] {
			bad(key+".name", "%q is used twice", cm.Name)
		}
		commitments[cm.Name] = true
		for j := range c.Pricing.Commitments[:i] {
			if other := &c.Pricing.Commitments[j]; other.Validate() == nil && overlap(cm, other) {
				bad(key, "commitment %s overlaps %s: the same calls would carry two fees", cm.Name, other.Name)
			}
		}
	}
	for alias, target := range c.Models {
		prov, model, ok := strings.Cut(target, "/")
		if !ok || model == "" {
			bad("models."+alias, "%q is not provider/model", target)
			continue
		}
		if !names[prov] {
			bad("models."+alias, "provider %q is not configured", prov)
		}
	}
	c.validateRoutes(names, bad)
	return errors.Join(errs...)
}

// LoggedBodyLimit is the resolved gateway.max_logged_body_bytes.
func (c *Config) LoggedBodyLimit() int {
	if c.Gateway.MaxLoggedBodyBytes == nil {
		return 1 << 20
	}
	return *c.Gateway.MaxLoggedBodyBytes
}

// Redacted returns a copy safe to print: every secret replaced, passwords
// in URLs and sensitive headers hidden.
func (c Config) Redacted() Config {
	out := c
	if o := c.Auth.OIDC; o != nil {
		r := *o
		r.ClientSecret, r.CookieKey = o.ClientSecret.redacted(), o.CookieKey.redacted()
		out.Auth.OIDC = &r
	}
	out.Gateway.APIKeys = make([]Secret, len(c.Gateway.APIKeys))
	for i, k := range c.Gateway.APIKeys {
		out.Gateway.APIKeys[i] = k.redacted()
	}
	out.Providers = make([]Provider, len(c.Providers))
	for i, p := range c.Providers {
		out.Providers[i] = p.redacted()
	}
	out.Alerts.Webhooks = make([]Webhook, len(c.Alerts.Webhooks))
	for i, w := range c.Alerts.Webhooks {
		w.URL, w.Secret = w.URL.redacted(), w.Secret.redacted()
		w.Headers = redactHeaders(w.Headers)
		out.Alerts.Webhooks[i] = w
	}
	return out
}

// String is the redacted configuration as JSON, so that printing or
// logging a Config (%v, %+v, slog) never shows a secret.
func (c Config) String() string { return printJSON(c.Redacted()) }

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue is String, for slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// validRegion reports whether r looks like an AWS region name: lower-case
// letters, digits and dashes (us-east-1, eu-central-2, us-gov-west-1).
func validRegion(r string) bool {
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return strings.Count(r, "-") >= 2
}

func (p Provider) redacted() Provider {
	p.APIKey = p.APIKey.redacted()
	p.AWSAccessKeyID = p.AWSAccessKeyID.redacted()
	p.AWSSecretAccessKey = p.AWSSecretAccessKey.redacted()
	p.BaseURL = redactURL(p.BaseURL)
	p.Headers = redactHeaders(p.Headers)
	return p
}

// String is the redacted provider as JSON.
func (p Provider) String() string { return printJSON(p.redacted()) }

// GoString is String, for %#v.
func (p Provider) GoString() string { return p.String() }

// LogValue is String, for slog.
func (p Provider) LogValue() slog.Value { return slog.StringValue(p.String()) }

// printJSON is v as JSON: the fields' own MarshalJSON (Secret's) apply.
func printJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return redactedText
	}
	return string(b)
}

func redactHeaders(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	h := make(map[string]string, len(in))
	for k, v := range in {
		if sensitiveHeader(k) {
			v = redactedText
		}
		h[k] = v
	}
	return h
}

func sensitiveHeader(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"auth", "key", "token", "secret", "cookie", "password", "credential", "signature"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// redactURL hides the password of a URL with credentials in it
// (https://user:pass@host/...).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return redactedText // unparseable and maybe with credentials
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else {
		u.User = url.User(redactedText)
	}
	return u.String()
}

// envProviders are the providers enabled from standard environment
// variables when no config file is given: name, type, key variable,
// base-URL variable and default base URL.
var envProviders = []struct{ name, typ, keyVar, urlVar, url string }{
	{"openai", "openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1"},
	{"anthropic", "anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "https://api.anthropic.com"},
	{"gemini", "gemini", "GEMINI_API_KEY", "GEMINI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta"},
	{"groq", "openai", "GROQ_API_KEY", "GROQ_BASE_URL", "https://api.groq.com/openai/v1"},
	{"mistral", "openai", "MISTRAL_API_KEY", "MISTRAL_BASE_URL", "https://api.mistral.ai/v1"},
	{"deepseek", "openai", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", "https://api.deepseek.com/v1"},
	{"xai", "openai", "XAI_API_KEY", "XAI_BASE_URL", "https://api.x.ai/v1"},
	{"together", "openai", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", "https://api.together.xyz/v1"},
	{"openrouter", "openai", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1"},
}

// FromEnv returns the defaults with one provider for each standard API-key
// variable that is set, honouring the matching base-URL variable.
func FromEnv(env Getenv) (Config, error) {
	cfg := Default()
	for _, e := range envProviders {
		key, ok := env(e.keyVar)
		if !ok || key == "" {
			continue
		}
		url := e.url
		if v, ok := env(e.urlVar); ok && v != "" {
			url = v
		}
		cfg.Providers = append(cfg.Providers, Provider{
			Name: e.name, Type: e.typ, BaseURL: url,
			APIKey: Secret{ref: "env:" + e.keyVar, value: key},
		})
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("configuration from the environment: %w", err)
	}
	return cfg, nil
}

// overlap reports whether two commitments can cover the same call: the same
// provider, overlapping dates, and a model in common (no models: all).
func overlap(a, b *pricing.Commitment) bool {
	if a.Provider != b.Provider {
		return false
	}
	endsBefore := func(x, y *pricing.Commitment) bool { return x.Until != nil && !x.Until.After(y.From.Time) }
	if endsBefore(a, b) || endsBefore(b, a) {
		return false
	}
	if len(a.Models) == 0 || len(b.Models) == 0 {
		return true
	}
	for _, m := range a.Models {
		for _, n := range b.Models {
			if strings.EqualFold(m, n) {
				return true
			}
		}
	}
	return false
}

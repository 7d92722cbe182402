package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
)

func testEnv(m map[string]string) Getenv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var env = testEnv(map[string]string{"WEIR_KEY": "weir-secret", "OPENAI_API_KEY": "sk-openai-secret", "OIDC_SECRET": "oidc-client-secret"})

func TestGood(t *testing.T) {
	cfg, err := Load("testdata/full.good.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:9090" || cfg.Gateway.StreamIdleTimeout.D() != 90*time.Second || cfg.LoggedBodyLimit() != 0 {
		t.Errorf("values not loaded: %+v", cfg)
	}
	if cfg.Gateway.UpstreamTimeout.D() != 10*time.Minute {
		t.Errorf("default lost: upstream_timeout = %v", cfg.Gateway.UpstreamTimeout.D())
	}
	if got := cfg.Providers[2].APIKey.Value(); got != "sk-ant-from-file" {
		t.Errorf("file secret = %q", got)
	}
	if cfg.Providers[0].APIKey.Value() != "sk-openai-secret" || cfg.Gateway.APIKeys[0].Value() != "weir-secret" {
		t.Error("env secrets not resolved")
	}
	if cfg.Pricing.Overlay != "testdata/acme-prices.yaml" {
		t.Errorf("overlay path %q not resolved against the config file", cfg.Pricing.Overlay)
	}
	if pr := cfg.Pricing; len(pr.Sheets) != 1 || pr.Sheets[0].Entries[0].ID != "config/gpt-4o-mini" || pr.Discounts["anthropic"] != *pricing.Dec("0.12") ||
		len(pr.Commitments) != 1 || pr.Commitments[0].Fee != *pricing.Dec("1500") || pr.Commitments[0].Provider != "onprem" {
		t.Errorf("pricing = %+v", pr)
	}
	if w := cfg.Alerts.Webhooks; len(w) != 1 || w[0].URL.Value() != "https://hooks.example.com/services/T000/B000/XXXX" || w[0].Secret.Value() != "weir-secret" {
		t.Errorf("webhooks = %+v", w)
	}
	if b, _ := json.Marshal(cfg.Redacted()); strings.Contains(string(b), "hooks.example.com") || strings.Contains(string(b), "weir-secret") {
		t.Errorf("redacted config shows a webhook secret: %s", b)
	}
	if cfg.Recorder.QueueSize != 8192 || cfg.Recorder.BatchSize != 64 || !cfg.Recorder.Fsync {
		t.Errorf("recorder = %+v", cfg.Recorder)
	}
	empty, err := Load("testdata/empty.good.yaml", env)
	if err != nil || empty.Listen != "127.0.0.1:8080" || empty.DataDir != "./weir-data" {
		t.Errorf("empty file: %+v, %v", empty, err)
	}
}

func TestRedacted(t *testing.T) {
	cfg, err := Load("testdata/full.good.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cfg.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, secret := range []string{"weir-secret", "sk-openai-secret", "sk-ant-from-file", "Bearer local", "oidc-client-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted config shows %q: %s", secret, out)
		}
	}
	if cfg.Auth.OIDC == nil || cfg.Auth.OIDC.SSO().ClientSecret != "oidc-client-secret" || cfg.Auth.SessionIdle.D() != 30*time.Minute || !strings.Contains(out, "env:OIDC_SECRET") {
		t.Errorf("auth section: %+v %s", cfg.Auth, out)
	}
	if !strings.Contains(out, "env:OPENAI_API_KEY") {
		t.Errorf("redacted config lost the reference: %s", out)
	}
	if cfg.Providers[0].APIKey.Value() == "" {
		t.Error("Redacted changed the original")
	}
}

func TestBad(t *testing.T) {
	want := map[string][]string{
		"unknown-key.bad.yaml":             {"line 2", "listen_port", "not found"},
		"duplicate-provider.bad.yaml":      {`providers[1].name: "a" is used twice`},
		"missing-env.bad.yaml":             {"providers[0] (openai).api_key: environment variable NOT_SET_ANYWHERE is not set"},
		"bad-duration.bad.yaml":            {"line 2", `"5 minutes" is not a duration`},
		"bad-alias.bad.yaml":               {`models.fast: "gpt-4o-mini" is not provider/model`, `models.slow: provider "nowhere" is not configured`},
		"bad-provider.bad.yaml":            {`providers[0].name: "my/openai" must not contain '/'`, `providers[0].base_url: "ftp://x" must start with http://`},
		"bad-values.bad.yaml":              {`log.level: "loud" is not one of`, `listen: "8080" is not host:port`},
		"syntax.bad.yaml":                  {"line"},
		"overlapping-commitments.bad.yaml": {`pricing.commitments[2]: commitment c overlaps a`, `pricing.commitments[2]: commitment c overlaps b`},
		"stored-no-master-key.bad.yaml":    {"providers[0] (openai).api_key: stored: the stored key is sealed under the master key: WEIR_MASTER_KEY is not set"},
		"stored-elsewhere.bad.yaml":        {`gateway.api_keys[0]: "stored" is only for providers[].api_key`},
		"oidc-no-role.bad.yaml":            {"auth.oidc.roles: no roles and no default_role: nobody could sign in"},
		"oidc-http-issuer.bad.yaml":        {`auth.oidc.issuer: "http://idp.example" must be an https URL`},
		"bad-route.bad.yaml": {`routes.dup: "dup" is also under models:`, "routes.empty.targets: a route needs at least one target", "routes.bad/name: a route name",
			`routes.broken.targets[0].provider: provider "nowhere" is not configured`, "routes.broken.targets[1].model: is required", "routes.broken.targets[1].weight: -1",
			"routes.broken.targets[1].timeouts: timeouts cannot be negative", "routes.broken.retry: attempts is 0-10"},
		"bad-commitment.bad.yaml": {`pricing.commitments[0]: commitment ptu: period "week"`, `pricing.commitments[1].provider: provider "nowhere" is not configured`, `pricing.commitments[2].name: "ptu2" is used twice`},
	}
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) != len(want) {
		t.Errorf("%d bad files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		_, err := Load(f, env)
		if err == nil {
			t.Errorf("%s: loaded without error", f)
			continue
		}
		if !strings.HasPrefix(err.Error(), "config "+f+": ") {
			t.Errorf("%s: error does not name the file: %v", f, err)
		}
		for _, w := range want[filepath.Base(f)] {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", f, err, w)
			}
		}
	}
}

func TestFromEnv(t *testing.T) {
	cfg, err := FromEnv(testEnv(map[string]string{
		"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "ANTHROPIC_API_KEY": "sk-ant", "GROQ_API_KEY": "",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Providers) != 2 {
		t.Fatalf("providers = %+v", cfg.Providers)
	}
	if p := cfg.Providers[0]; p.Name != "openai" || p.BaseURL != "http://127.0.0.1:9/v1" || p.APIKey.Value() != "sk-1" || p.APIKey.String() != "env:OPENAI_API_KEY" {
		t.Errorf("openai = %+v", p)
	}
	if p := cfg.Providers[1]; p.Name != "anthropic" || p.BaseURL != "https://api.anthropic.com" {
		t.Errorf("anthropic = %+v", p)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"full.good.yaml", "unknown-key.bad.yaml", "bad-alias.bad.yaml"} {
		b, _ := os.ReadFile(filepath.Join("testdata", name))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b, env)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config Validate rejects: %v", verr)
			}
		}
	})
}

const masterKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64

func TestStoredKey(t *testing.T) {
	yml := []byte("providers:\n  - {name: openai, type: openai, api_key: stored}\n  - {name: local, type: openai, base_url: \"http://127.0.0.1:8000/v1\"}\n")
	cfg, err := Parse(yml, testEnv(map[string]string{"WEIR_MASTER_KEY": masterKey}))
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Providers[0].APIKey
	if !k.Stored() || !k.IsSet() || k.Value() != "" || k.String() != "stored" {
		t.Errorf("api_key: stored = %#v (stored %v, value %q)", k, k.Stored(), k.Value())
	}
	if cfg.Providers[1].APIKey.Stored() {
		t.Error("no api_key is stored")
	}
	if got := cfg.StoredProviders(); len(got) != 1 || got[0] != "openai" {
		t.Errorf("StoredProviders = %v", got)
	}
	if b, _ := json.Marshal(cfg.Redacted()); !strings.Contains(string(b), `"api_key":"stored"`) {
		t.Errorf("redacted config: %s", b)
	}
	for name, env := range map[string]map[string]string{
		"short master key":     {"WEIR_MASTER_KEY": "c2hvcnQ="},
		"bad previous key":     {"WEIR_MASTER_KEY": masterKey, "WEIR_MASTER_KEY_PREVIOUS": "not a key at all"},
		"master key not set":   {},
		"master key is spaces": {"WEIR_MASTER_KEY": "   "},
	} {
		_, err := Parse(yml, testEnv(env))
		if err == nil || !strings.HasPrefix(err.Error(), "providers[0] (openai).api_key: stored: ") || !strings.Contains(err.Error(), "WEIR_MASTER_KEY") {
			t.Errorf("%s: %v", name, err)
		}
		for _, v := range env {
			if len(strings.TrimSpace(v)) > 0 && err != nil && strings.Contains(err.Error(), v) {
				t.Errorf("%s: the error shows the key: %v", name, err)
			}
		}
	}
}

// TestSecretsNeverPrinted: no way of printing a configuration (errors,
// fmt verbs, slog in both formats, the redacted JSON and YAML) shows a
// secret value or a password in a base URL.
func TestSecretsNeverPrinted(t *testing.T) {
	yml := []byte(`
gateway:
  api_keys: ["weir-literal-gateway-key"]
providers:
  - name: openai
    type: openai
    api_key: sk-literal-provider-key
    base_url: https://user:url-password-123@llm.example.com/v1
    headers: {Cookie: "session=cookie-secret-1", X-Api-Signature: sig-secret-2, X-Team: visible}
  - name: anthropic
    type: anthropic
    api_key: env:ANTHROPIC_API_KEY
`)
	secrets := []string{"weir-literal-gateway-key", "sk-literal-provider-key", "url-password-123", "cookie-secret-1", "sig-secret-2", "sk-ant-env-value"}
	envm := testEnv(map[string]string{"ANTHROPIC_API_KEY": "sk-ant-env-value"})
	cfg, err := Parse(yml, envm)
	if err != nil {
		t.Fatal(err)
	}
	red := cfg.Redacted()
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg, "key", cfg.Providers[0].APIKey)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", red, "key", cfg.Providers[0].APIKey)
	rj, _ := json.Marshal(red)
	outs := map[string]string{
		"%v":       fmt.Sprintf("%v", cfg),
		"%+v":      fmt.Sprintf("%+v", cfg),
		"%#v":      fmt.Sprintf("%#v", cfg.Providers[0].APIKey),
		"%#v list": fmt.Sprintf("%#v", cfg.Gateway.APIKeys),
		"provider": fmt.Sprintf("%v %+v %#v %s", cfg.Providers[0], cfg.Providers[0], cfg.Providers[0], cfg.Providers),
		"%#v cfg":  fmt.Sprintf("%#v", cfg),
		"slog":     logs.String(),
		"redacted": string(rj),
	}
	// A bad file with a literal key: the error names keys, never values.
	bad := bytes.Replace(yml, []byte("type: anthropic"), []byte("type: anthropic\n    base_url: ftp://u:url-password-123@h/v1"), 1)
	bad = append(bad, []byte("listen: nope\n")...)
	if _, err := Parse(bad, envm); err == nil || !strings.Contains(err.Error(), "providers[1].base_url") {
		t.Fatalf("a bad file: %v", err)
	} else {
		outs["error"] = err.Error()
	}
	for what, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s shows %q: %s", what, s, out)
			}
		}
	}
	if !strings.Contains(string(rj), "X-Team\":\"visible") || !strings.Contains(string(rj), "https://user:xxxxx@llm.example.com/v1") {
		t.Errorf("redacted too much: %s", rj)
	}
	for raw, want := range map[string]string{
		"":                           "",
		"https://api.openai.com/v1":  "https://api.openai.com/v1",
		"https://tok@h.example/v1":   "https://%5Bredacted%5D@h.example/v1",
		"https://u:p@h.example/v1":   "https://u:xxxxx@h.example/v1",
		"http://u:p@[::1:80/v1 oops": "[redacted]",
	} {
		if got := redactURL(raw); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

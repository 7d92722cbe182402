package config

import (
	"encoding/json"
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

var env = testEnv(map[string]string{"WEIR_KEY": "weir-secret", "OPENAI_API_KEY": "sk-openai-secret"})

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
	for _, secret := range []string{"weir-secret", "sk-openai-secret", "sk-ant-from-file", "Bearer local"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted config shows %q: %s", secret, out)
		}
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
		"bad-commitment.bad.yaml":          {`pricing.commitments[0]: commitment ptu: period "week"`, `pricing.commitments[1].provider: provider "nowhere" is not configured`, `pricing.commitments[2].name: "ptu2" is used twice`},
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

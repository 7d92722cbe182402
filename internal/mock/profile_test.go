package mock

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfigGood(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good configs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := LoadConfig(f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadConfigFull(t *testing.T) {
	cfg, err := LoadConfig("testdata/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Seed: 7, APIKey: "sk-mock", Models: map[string]Profile{
		"steady": {
			Type: "chat", ResponseModel: "steady-2026-01-01",
			TTFT: 200 * time.Millisecond, TTFTJitter: 20 * time.Millisecond, ITL: 25 * time.Millisecond, ITLJitter: 5 * time.Millisecond,
			OutputTokens: 12, ReasoningTokens: 4, ReasoningVisible: true,
			InputTokens: 30, CacheReadTokens: 100, CacheWriteTokens: 50, CacheWrite1hTokens: 10, Usage: UsageIfRequested,
			Failures: []Failure{{Status: 429, Rate: 0.1, RetryAfter: 2 * time.Second}, {Status: 529, Rate: 0.05, AfterChunks: 3}},
			CutRate:  0.01, CutAfter: 5, HangRate: 0.01, HangAt: HangStream, RPM: 600, TPM: 100000, ToolCalls: true,
			SwitchAfter: 10 * time.Minute,
			Switch: &Profile{TTFT: 2 * time.Second, OutputTokens: 12, SwitchAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
				Switch: &Profile{TTFT: 5 * time.Second}},
		},
		"embed": {Type: TypeEmbedding, Dimensions: 8},
	}}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestLoadConfigBuiltin(t *testing.T) {
	cfg, err := LoadConfig("testdata/builtin.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Models["gpt-4o-mini"].OutputTokens != 5 || cfg.Models["gpt-4o-mini"].TTFT != 0 || cfg.Models["mine"].OutputTokens != 3 || cfg.Models["claude-sonnet-4-5"].OutputTokens == 0 {
		t.Errorf("models %+v", cfg.Models)
	}
}

func TestLoadConfigBad(t *testing.T) {
	want := map[string]string{
		"bad-duration.bad.yaml":   "line 2: cannot unmarshal !!str `fast` into time.Duration",
		"cache-1h.bad.yaml":       "models.m.cache_write_1h_tokens: 6 is more than cache_write_tokens (5)",
		"empty.bad.yaml":          "empty file",
		"hang-at.bad.yaml":        `models.m.hang_at: "body" is not headers or stream`,
		"int-duration.bad.yaml":   "cannot unmarshal !!int `250` into time.Duration",
		"negative.bad.yaml":       "models.m.output_tokens: -1 is negative",
		"no-models.bad.yaml":      "models: at least one model is required",
		"rate.bad.yaml":           "models.m.failures[0].rate: 1.5 is not between 0 and 1",
		"rates-sum.bad.yaml":      "models.m.failures: the rates add up to 1.2, more than 1",
		"status.bad.yaml":         "models.m.failures[0].status: 418 is not one of",
		"switch-missing.bad.yaml": "models.m.switch: required with switch_after or switch_at",
		"switch-nested.bad.yaml":  "models.m.switch.cut_rate: 2 is not between 0 and 1",
		"syntax.bad.yaml":         "cannot unmarshal !!seq into map[string]mock.Profile",
		"type.bad.yaml":           `models.m.type: "image" is not chat or embedding`,
		"unknown-key.bad.yaml":    "line 4: field outputs not found in type mock.Profile",
		"usage.bad.yaml":          `models.m.usage: "sometimes" is not always, if_requested or never`,
	}
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) != len(want) {
		t.Errorf("%d bad configs, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadConfig(f)
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "mock config "+f+": ") {
				t.Errorf("error %q does not name the file", msg)
			}
			w, ok := want[filepath.Base(f)]
			if !ok || !strings.Contains(msg, w) {
				t.Errorf("error %q, want it to contain %q", msg, w)
			}
		})
	}
	if _, err := LoadConfig("testdata/missing.yaml"); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gpt-4o-mini", "gpt-4.1", "o4-mini", "deepseek-reasoner", "text-embedding-3-small", "claude-sonnet-4-5", "claude-haiku-4-5", "sim-fast", "sim-flaky"} {
		if _, ok := cfg.Models[name]; !ok {
			t.Errorf("no built-in %s", name)
		}
	}
	for name, p := range cfg.Models {
		if p.Type == TypeEmbedding || len(p.Failures) > 0 {
			continue
		}
		if p.TTFT > time.Second || p.ITL > 50*time.Millisecond {
			t.Errorf("%s is slow for a demo: ttft %s itl %s", name, p.TTFT, p.ITL)
		}
	}
}

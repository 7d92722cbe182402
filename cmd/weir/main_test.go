package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("providers:\n  - {name: local, type: openai, base_url: http://127.0.0.1:8000/v1}\nmodels: {fast: local/llama}\n"), 0o600)
	badType := filepath.Join(dir, "bad-type.yaml")
	os.WriteFile(badType, []byte("providers:\n  - {name: x, type: gemini}\n"), 0o600)
	badKey := filepath.Join(dir, "bad-key.yaml")
	os.WriteFile(badKey, []byte("providers:\n  - {name: x, type: openai, apikey: foo}\n"), 0o600)

	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"config", "check", good}, &out, &errOut); err != nil || !strings.Contains(out.String(), "OK (1 providers, 1 model aliases)") {
		t.Errorf("good config: %v %q", err, out.String())
	}
	for path, want := range map[string]string{
		badType:                            `unknown type "gemini"`,
		badKey:                             "field apikey not found",
		filepath.Join(dir, "missing.yaml"): "no such file",
	} {
		err := run(context.Background(), []string{"config", "check", path}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want the file name and %q", filepath.Base(path), err, want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{nil, {"fly"}, {"config"}, {"config", "lint", "x"}, {"serve", "--nope"}, {"demo", "--rate", "0"}} {
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("weir %v: no error", args)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "weir serve") {
		t.Errorf("help: %v %q", err, out.String())
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true, "0.0.0.0:8080": false, ":8080": false, "10.0.0.1:80": false} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v", addr, got)
		}
	}
}

func TestCostQuote(t *testing.T) {
	var out, errOut bytes.Buffer
	// gpt-4o-mini through the batch API (50% off $0.15 and $0.60 per M):
	// 1,000 input = $0.000075, 100 output = $0.00003.
	err := run(context.Background(), []string{"cost", "quote", "--provider", "openai", "--model", "gpt-4o-mini", "--input", "1000", "--output", "100", "--batch", "--at", "2026-11-01"}, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "$0.000105000") || !strings.Contains(out.String(), "multiplier: 0.5000") {
		t.Errorf("quote: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"cost", "quote", "--provider", "openai", "--model", "nope", "--input", "5"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "unpriced") {
		t.Errorf("unpriced: %v %s", err, out.String())
	}
	for _, args := range [][]string{{"cost"}, {"cost", "quote"}, {"cost", "quote", "--provider", "openai", "--model", "gpt-4o", "--at", "yesterday"}, {"cost", "quote", "--provider", "openai", "--model", "gpt-4o", "--input", "-3"}} {
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("weir %v: no error", args)
		}
	}
}

func TestPricesShow(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"prices", "show", "--provider", "anthropic", "--at", "2026-11-01", "claude-sonnet-4-5"}, &out, &errOut); err != nil || !strings.Contains(out.String(), `"id": "anthropic/claude-sonnet-4-5"`) {
		t.Errorf("show: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"prices", "show", "no-such-model"}, &out, &errOut); err == nil {
		t.Error("unknown model: no error")
	}
}

// TestPricesImport converts the public genai-prices dataset into an overlay
// file that the config accepts as pricing.overlay.
func TestPricesImport(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "reference", "genai-prices", "data_slim.json")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("the genai-prices reference data is not beside the checkout (%v)", err)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"prices", "import", "--format", "genai-prices", "--name", "public", src}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "imported ") || !strings.Contains(out.String(), "id: public:anthropic/claude-3-5-sonnet") {
		t.Fatalf("import output:\n%.500s\n%s", out.String(), errOut.String())
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "public.yaml"), out.Bytes(), 0o600)
	cfgPath := filepath.Join(dir, "weir.yaml")
	os.WriteFile(cfgPath, []byte("pricing: {overlay: public.yaml}\n"), 0o600)
	out.Reset()
	if err := run(context.Background(), []string{"config", "check", cfgPath}, &out, &errOut); err != nil {
		t.Errorf("the imported overlay does not load: %v", err)
	}
	if err := run(context.Background(), []string{"prices", "import", "--format", "litellm", src}, &out, &errOut); err == nil {
		t.Error("litellm accepted")
	}
}

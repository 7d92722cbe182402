package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store/sqlite"
	weirusage "github.com/weirhq/weir/internal/usage"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("providers:\n  - {name: local, type: openai, base_url: http://127.0.0.1:8000/v1}\nmodels: {fast: local/llama}\n"), 0o600)
	badType := filepath.Join(dir, "bad-type.yaml")
	os.WriteFile(badType, []byte("providers:\n  - {name: x, type: cohere}\n"), 0o600)
	badKey := filepath.Join(dir, "bad-key.yaml")
	os.WriteFile(badKey, []byte("providers:\n  - {name: x, type: openai, apikey: foo}\n"), 0o600)

	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"config", "check", good}, &out, &errOut); err != nil || !strings.Contains(out.String(), "OK (1 providers, 1 model aliases)") {
		t.Errorf("good config: %v %q", err, out.String())
	}
	for path, want := range map[string]string{
		badType:                            `unknown type "cohere"`,
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
		t.Error("genai-prices data accepted as litellm")
	}
	if err := run(context.Background(), []string{"prices", "import", "--format", "csv", src}, &out, &errOut); err == nil {
		t.Error("an unknown format accepted")
	}
}

func TestPricesImportLiteLLM(t *testing.T) {
	var out, errOut bytes.Buffer
	src := filepath.Join("..", "..", "internal", "pricing", "testdata", "litellm-sample.json")
	if err := run(context.Background(), []string{"prices", "import", "--format", "litellm", "--name", "litellm", src}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "imported ") || !strings.Contains(out.String(), "id: litellm:openai/gpt-4o-mini") {
		t.Fatalf("import output:\n%.800s\n%s", out.String(), errOut.String())
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "litellm.yaml"), out.Bytes(), 0o600)
	cfgPath := filepath.Join(dir, "weir.yaml")
	os.WriteFile(cfgPath, []byte("pricing: {overlay: litellm.yaml}\n"), 0o600)
	out.Reset()
	if err := run(context.Background(), []string{"config", "check", cfgPath}, &out, &errOut); err != nil {
		t.Errorf("the imported overlay does not load: %v", err)
	}
}

func TestPricesReprice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	eng := costing.NewEngine(pub, nil, nil)
	var recs []record.Record
	for i := range 4 {
		r := record.Record{ID: fmt.Sprintf("c%d", i), ReceivedAt: time.Date(2026, 11, 1+i, 12, 0, 0, 0, time.UTC), Endpoint: record.EndpointChatCompletions,
			Status: 200, Provider: "primary", Model: "gpt-4o-mini", Usage: weirusage.Usage{InputTokens: 1_000_000, OutputTokens: 100_000}}
		eng.Price(&r, "openai") // $0.15 + $0.06 = $0.21
		recs = append(recs, r)
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// A negotiated price in the config from Nov 3: $0.10 + $0.04 = $0.14.
	cfgPath := filepath.Join(dir, "weir.yaml")
	os.WriteFile(cfgPath, []byte(`providers: [{name: primary, type: openai}]
pricing:
  sheets:
    - provider: openai
      entries:
        - {id: acme/gpt-4o-mini, match: {exact: [gpt-4o-mini]}, from: 2026-11-03, prices: {input: 0.10, output: 0.40}}
`), 0o600)
	args := []string{"prices", "reprice", "--config", cfgPath, "--data", dir, "--from", "2026-11-01", "--to", "2026-12-01", "--reason", "acme terms"}
	var out, errOut bytes.Buffer
	if err := run(ctx, append(args, "--dry-run"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "would re-price (dry run) 2 of 4 calls") || !strings.Contains(out.String(), "$0.420000 before, $0.280000 after") {
		t.Errorf("dry run:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, args, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "re-priced 2 of 4 calls") || !strings.Contains(out.String(), "$0.210000000 -> $0.140000000") || !strings.Contains(out.String(), "audit trail: GET /api/v1/costs/revisions?run_id=") {
		t.Errorf("run:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, args, &out, &errOut); err != nil || !strings.Contains(out.String(), "re-priced 0 of 4 calls") {
		t.Errorf("second run: %v\n%s", err, out.String())
	}
	// The quote with the same config and data shows the negotiated price.
	out.Reset()
	if err := run(ctx, []string{"cost", "quote", "--config", cfgPath, "--data", dir, "--provider", "openai", "--model", "gpt-4o-mini", "--input", "1000000", "--output", "100000", "--at", "2026-11-05"}, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "$0.140000000 (entry acme/gpt-4o-mini") {
		t.Errorf("quote: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{
		{"prices", "reprice", "--data", dir, "--from", "2026-11-01", "--to", "2026-12-01"},
		{"prices", "reprice", "--data", dir, "--from", "yesterday", "--to", "2026-12-01", "--reason", "x"},
		{"prices", "reprice", "--data", filepath.Join(dir, "nothing"), "--from", "2026-11-01", "--to", "2026-12-01", "--reason", "x"},
	} {
		if err := run(ctx, bad, &out, &errOut); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestCostReconcile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	eng := costing.NewEngine(pub, nil, nil)
	var recs []record.Record
	for i := range 10 {
		// Claude Sonnet 4.5: 100,000 input at $3 = $0.30, 10,000 output at
		// $15 = $0.15: $0.45 a call, $4.50 for the day.
		r := record.Record{ID: fmt.Sprintf("a%d", i), ReceivedAt: time.Date(2026, 11, 2, 9+i, 0, 0, 0, time.UTC), Endpoint: record.EndpointMessages,
			Status: 200, Provider: "claude", Model: "claude-sonnet-4-5", Usage: weirusage.Usage{InputTokens: 100_000, OutputTokens: 10_000}}
		eng.Price(&r, "anthropic")
		recs = append(recs, r)
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfgPath := filepath.Join(dir, "weir.yaml")
	os.WriteFile(cfgPath, []byte("providers: [{name: claude, type: anthropic}]\n"), 0o600)
	// Anthropic's cost report counts cents: 300 + 150 = 450 cents = $4.50,
	// plus 2.5 cents of a model Weir never saw.
	export := filepath.Join(dir, "cost.json")
	os.WriteFile(export, []byte(`{"data":[{"starting_at":"2026-11-02T00:00:00Z","ending_at":"2026-11-03T00:00:00Z","results":[
		{"currency":"USD","amount":"300","cost_type":"tokens","model":"claude-sonnet-4-5-20250929","token_type":"uncached_input_tokens"},
		{"currency":"USD","amount":"150","cost_type":"tokens","model":"claude-sonnet-4-5-20250929","token_type":"output_tokens"},
		{"currency":"USD","amount":"2.5","cost_type":"tokens","model":"claude-haiku-4-5-20251001","token_type":"output_tokens"}]}],"has_more":false}`), 0o600)
	var out, errOut bytes.Buffer
	err = run(ctx, []string{"cost", "reconcile", "--provider", "anthropic", "--config", cfgPath, "--data", dir, export}, &out, &errOut)
	// $4.50 of $4.525: -0.55%, within 1%; the Haiku line is on the bill only.
	if err != nil || !strings.Contains(out.String(), "Verdict: within 1% tolerance") || !strings.Contains(out.String(), "claude-sonnet-4-5") || !strings.Contains(out.String(), "bill only") {
		t.Errorf("reconcile: %v\n%s", err, out.String())
	}
	out.Reset()
	err = run(ctx, []string{"cost", "reconcile", "--provider", "anthropic", "--tolerance", "0.1", "--json", "--config", cfgPath, "--data", dir, export}, &out, &errOut)
	if !errors.Is(err, errOutsideTolerance) || !strings.Contains(out.String(), `"within_tolerance": false`) {
		t.Errorf("tolerance 0.1%%: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{
		{"cost", "reconcile", "--config", cfgPath, "--data", dir, export},
		{"cost", "reconcile", "--provider", "openai", "--config", cfgPath, "--data", dir, export},
		{"cost", "reconcile", "--provider", "anthropic", "--config", cfgPath, "--data", dir, cfgPath},
		{"cost", "reconcile", "--provider", "anthropic", "--config", cfgPath, "--data", dir, filepath.Join(dir, "missing.json")},
	} {
		if err := run(ctx, bad, &out, &errOut); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestKeysCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "create", "--app", "bot", "--data", dir}, &out, &errOut); err == nil {
		t.Error("a new application without a team accepted")
	}
	out.Reset()
	if err := run(ctx, []string{"keys", "create", "--app", "bot", "--team", "support", "--data", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	secret := lines[len(lines)-1]
	id := strings.Fields(lines[0])[1]
	if !strings.HasPrefix(secret, "weir_") || !strings.HasPrefix(id, "key_") {
		t.Fatalf("output:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"keys", "list", "--data", dir}, &out, &errOut); err != nil || !strings.Contains(out.String(), id) || strings.Contains(out.String(), secret) {
		t.Errorf("list: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"keys", "revoke", "--data", dir, id}, &out, &errOut); err != nil || !strings.Contains(out.String(), "revoked") {
		t.Errorf("revoke: %v %s", err, out.String())
	}
	if err := run(ctx, []string{"keys", "revoke", "--data", dir, id}, &out, &errOut); err == nil {
		t.Error("second revoke accepted")
	}
	if err := run(ctx, []string{"keys", "rotate", "--data", dir}, &out, &errOut); err == nil {
		t.Error("unknown verb accepted")
	}
}

func TestAdminCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var out bytes.Buffer
	runOK := func(args ...string) string {
		t.Helper()
		out.Reset()
		if err := run(ctx, append(args, "--data", dir), &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	got := runOK("admin", "create-user", "--name", "ann", "--role", "admin")
	if !strings.Contains(got, "created ann (admin)") || !strings.Contains(got, "one-time password") {
		t.Errorf("create-user: %q", got)
	}
	if err := run(ctx, []string{"admin", "create-user", "--name", "ann", "--role", "viewer", "--data", dir}, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create: %v", err)
	}
	if err := run(ctx, []string{"admin", "create-user", "--name", "bob", "--role", "god", "--data", dir}, &out, io.Discard); err == nil {
		t.Error("unknown role accepted")
	}
	if got := runOK("admin", "list-users"); !strings.Contains(got, `"name": "ann"`) || strings.Contains(got, "argon2") {
		t.Errorf("list-users: %q", got)
	}
	got = runOK("admin", "create-token", "--person", "ann", "--name", "ci", "--role", "viewer")
	if !strings.Contains(got, "weirm_") || !strings.Contains(got, "as viewer") {
		t.Errorf("create-token: %q", got)
	}
	if got := runOK("admin", "reset-password", "--name", "ann"); !strings.Contains(got, "one-time password") {
		t.Errorf("reset-password: %q", got)
	}
	if err := run(ctx, []string{"admin", "fly", "--data", dir}, &out, io.Discard); err == nil {
		t.Error("unknown verb accepted")
	}
}

// Command weir is Weir's single binary: the gateway and its API (serve), a
// self-contained demo on simulated providers (demo), the provider simulator
// on its own (mock), and a configuration checker (config check).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // limits and forecasts name time zones; not every host has zoneinfo

	"github.com/weirhq/weir/internal/access"
	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/app"
	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/demo"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"go.yaml.in/yaml/v3"
)

const usage = `weir: an LLM gateway that measures every call.

Usage:
  weir serve [--config FILE] [--listen ADDR] [--data DIR]
  weir demo  [--listen ADDR] [--data DIR] [--rate N] [--duration D]
  weir mock  [--listen ADDR] [--config FILE]
  weir eval run --file F [--url U] [--token T] [--fail-if COND]... [--json]   (run an experiment on a running Weir)
  weir eval add-calls --dataset NAME [--expected] CALL_ID...                  (recorded calls into a dataset)
  weir seed  [--calls N] [--days D] [--seed S] [--config FILE] [--data DIR]   (realistic history, e.g. for the dashboard benchmark)
  weir config check FILE
  weir cost quote --provider P --model M [--input N --output N ...] [--config FILE --data DIR]
  weir cost reconcile --provider openai|anthropic [--from D --to D] [--config FILE] [--data DIR] EXPORT
  weir prices show [--provider P] [--at T] [--config FILE --data DIR] MODEL
  weir prices import --format genai-prices|litellm [--name N] FILE > overlay.yaml
  weir prices reprice --from T --to T --reason R [--dry-run] [--config FILE] [--data DIR]
  weir admin create-user --name N --role R [--team T] | reset-password --name N | list-users | create-token --person N --name WHAT
  weir credentials rotate [--config FILE] [--data DIR]   (WEIR_MASTER_KEY=new WEIR_MASTER_KEY_PREVIOUS=old)
  weir keys create --app NAME [--team T] [--expires D] | weir keys list | weir keys revoke ID   [--config FILE] [--data DIR]

Run 'weir COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "weir:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "mock":
		return runMock(ctx, args[1:], stderr)
	case "seed":
		return runSeed(ctx, args[1:], stdout, stderr)
	case "eval":
		return evalCommand(ctx, args[1:], stdout, stderr)
	case "cost":
		switch {
		case len(args) >= 2 && args[1] == "quote":
			return costQuote(ctx, args[2:], stdout)
		case len(args) >= 2 && args[1] == "reconcile":
			return costReconcile(ctx, args[2:], stdout)
		}
		return errors.New("usage: weir cost quote --provider P --model M [--input N] [--output N] ... | weir cost reconcile --provider openai EXPORT")
	case "prices":
		switch {
		case len(args) >= 2 && args[1] == "show":
			return pricesShow(ctx, args[2:], stdout)
		case len(args) >= 2 && args[1] == "import":
			return pricesImport(args[2:], stdout, stderr)
		case len(args) >= 2 && args[1] == "reprice":
			return pricesReprice(ctx, args[2:], stdout, stderr)
		}
		return errors.New("usage: weir prices show [--provider P] [--at T] MODEL | weir prices import --format genai-prices|litellm FILE | weir prices reprice --from T --to T --reason R")
	case "keys":
		if len(args) < 2 {
			return errors.New("usage: weir keys create --app NAME [--team T] [--expires YYYY-MM-DD] | weir keys list | weir keys revoke ID")
		}
		return keysCommand(ctx, args[1], args[2:], stdout)
	case "admin":
		return adminCommand(ctx, args[1:], os.Stdin, stdout)
	case "credentials":
		if len(args) < 2 || args[1] != "rotate" {
			return errors.New("usage: WEIR_MASTER_KEY=new WEIR_MASTER_KEY_PREVIOUS=old weir credentials rotate [--config FILE] [--data DIR]")
		}
		return credentialsRotate(ctx, args[2:], stdout, stderr)
	case "config":
		if len(args) != 3 || args[1] != "check" {
			return errors.New("usage: weir config check FILE")
		}
		return checkConfig(args[2], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (default: providers from OPENAI_API_KEY, ANTHROPIC_API_KEY, ...)")
	listen := fs.String("listen", "", "listen address (default 127.0.0.1:8080)")
	data := fs.String("data", "", "data directory (default ./weir-data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cfg config.Config
	var err error
	if *cfgPath != "" {
		cfg, err = config.Load(*cfgPath, os.LookupEnv)
	} else {
		cfg, err = config.FromEnv(os.LookupEnv)
	}
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	log := newLogger(stderr, cfg.Log)
	if len(cfg.Providers) == 0 {
		log.Warn("no provider configured: set OPENAI_API_KEY or ANTHROPIC_API_KEY, or pass --config")
	}
	if len(cfg.Gateway.APIKeys) == 0 && !app.Loopback(cfg.Listen) {
		log.Warn("listening beyond loopback without gateway.api_keys: anyone who can reach it can spend your provider keys", "listen", cfg.Listen)
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Serve(ctx, nil)
}

func checkConfig(path string, stdout io.Writer) error {
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		return err
	}
	if err := app.Check(cfg); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "config %s: OK (%d providers, %d model aliases)\n", path, len(cfg.Providers), len(cfg.Models))
	return nil
}

func runMock(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mock", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9090", "listen address")
	cfgPath := fs.String("config", "", "simulator profiles (default: the built-in models)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(stderr, config.Log{Level: "info", Format: "text"})
	mcfg := mock.DefaultConfig()
	if *cfgPath != "" {
		var err error
		if mcfg, err = mock.LoadConfig(*cfgPath); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	log.Info("weir mock listening", "openai_base_url", "http://"+ln.Addr().String()+"/v1", "anthropic_base_url", "http://"+ln.Addr().String())
	return serveUntil(ctx, ln, mock.New(mcfg, log))
}

func serveUntil(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "gateway listen address")
	data := fs.String("data", "./weir-data", "data directory")
	rate := fs.Float64("rate", 2, "use-case instances started per second")
	duration := fs.Duration("duration", 0, "stop after this long (default: until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate <= 0 {
		return errors.New("--rate must be positive")
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	cfg := config.Default()
	cfg.Listen, cfg.DataDir = *listen, *data
	cfg.Log.Level = "warn"
	log := newLogger(stderr, cfg.Log)

	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	go serveUntil(ctx, mln, mock.New(mock.DefaultConfig(), log.With("part", "mock")))
	sim := "http://" + mln.Addr().String()
	cfg.Providers = []config.Provider{
		{Name: "openai", Type: "openai", BaseURL: sim + "/v1"},
		{Name: "anthropic", Type: "anthropic", BaseURL: sim},
	}
	cfg.Models = map[string]string{"gpt-4o-mini": "openai/gpt-4o-mini", "claude-sonnet-4-5": "anthropic/claude-sonnet-4-5"}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	admin, otp, token, err := demoPeople(ctx, a.People())
	if err != nil {
		a.Close(context.Background())
		return err
	}
	defer func() {
		// The demo's token ends with the demo.
		a.People().RevokeToken(audit.WithActor(context.Background(), audit.Actor{Kind: "cli", Name: "demo"}), auth.Principal{Kind: "cli", Role: auth.Admin}, token.ID)
	}()
	signIn := fmt.Sprintf("sign in as %s with the password you set (forgot it? weir admin reset-password --name %s --data %s)", admin, admin, cfg.DataDir)
	if otp != "" {
		signIn = fmt.Sprintf("sign in as %s with the one-time password %s (you choose your own at the first sign-in)", admin, otp)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	return a.Serve(ctx, func(addr string) {
		base := "http://" + addr
		fmt.Fprintf(stdout, strings.TrimLeft(`
Weir demo: gateway on %[1]s with simulated OpenAI and Anthropic providers (%[2]s),
sending sample traffic for three use cases (support-triage, lead-qualification, contract-review).

  Dashboard            %[1]s/ui/   (%[6]s)
  OpenAI base URL      %[1]s/v1
  Anthropic base URL   %[1]s

The management API needs a person or a token: sign in as above,
or use this admin token, valid while the demo runs:

  export WEIR_TOKEN=%[7]s

  Recorded calls       curl -H "Authorization: Bearer $WEIR_TOKEN" '%[1]s/api/v1/requests?limit=5'
  One use case         curl -H "Authorization: Bearer $WEIR_TOKEN" '%[1]s/api/v1/requests?use_case=support-triage'
  Spend by use case    curl -H "Authorization: Bearer $WEIR_TOKEN" '%[1]s/api/v1/costs?group_by=use_case'
  Value by use case    curl -H "Authorization: Bearer $WEIR_TOKEN" '%[1]s/api/v1/portfolio?from=%[4]s&to=%[5]s'
  Cost per resolved    curl -H "Authorization: Bearer $WEIR_TOKEN" '%[1]s/api/v1/use-cases/support-triage/report?from=%[4]s&to=%[5]s&group_by=version'
  Limits and spend     curl -H "Authorization: Bearer $WEIR_TOKEN" '%[1]s/api/v1/limits'
  Prometheus metrics   %[1]s/metrics

  Try: curl %[1]s/v1/chat/completions -H 'content-type: application/json' \
         -H 'x-weir-use-case: my-test' -d '{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'

Data is kept in %[3]s. Press Ctrl-C to stop.
`, "\n"), base, sim, cfg.DataDir, today.Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly), signIn, token.Secret)
		go demo.Run(ctx, base, token.Secret, *rate, log)
	})
}

// demoPeople makes sure the demo's data directory has an admin: the first
// run creates "admin" with a one-time password (returned once). It also
// creates the admin token the demo's traffic uses.
func demoPeople(ctx context.Context, m *auth.Manager) (admin, otp string, token auth.NewToken, err error) {
	ctx = audit.WithActor(ctx, audit.Actor{Kind: "cli", Name: "demo"})
	admin = "admin"
	if _, err = m.Person(ctx, admin); errors.Is(err, store.ErrNotFound) {
		if _, otp, err = m.CreatePerson(ctx, admin, auth.PersonInput{Role: "admin", DisplayName: "Demo admin"}, ""); err != nil {
			return "", "", token, err
		}
	} else if err != nil {
		return "", "", token, err
	}
	exp := time.Now().Add(30 * 24 * time.Hour)
	token, err = m.CreateToken(ctx, auth.Principal{Kind: "cli", Role: auth.Admin}, auth.TokenInput{Name: "demo traffic", Person: admin, ExpiresAt: &exp})
	return admin, otp, token, err
}

// costQuote prices a call offline with the built-in catalog, exactly as
// recorded calls and POST /api/v1/cost/quote are priced.
func costQuote(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cost quote", flag.ContinueOnError)
	var req api.QuoteRequest
	fs.StringVar(&req.Provider, "provider", "", "vendor: openai, anthropic, google, bedrock, azure, mistral, deepseek, groq, xai")
	fs.StringVar(&req.Model, "model", "", "model as the provider reports it, or an alias")
	fs.Int64Var(&req.Usage.InputTokens, "input", 0, "input tokens, cache reads and writes included")
	fs.Int64Var(&req.Usage.CacheReadTokens, "cache-read", 0, "the part of --input read from the prompt cache")
	fs.Int64Var(&req.Usage.CacheWriteTokens, "cache-write", 0, "the part of --input written to the prompt cache")
	fs.Int64Var(&req.Usage.CacheWrite1hTokens, "cache-write-1h", 0, "the part of --cache-write with a one-hour lifetime")
	fs.Int64Var(&req.Usage.OutputTokens, "output", 0, "output tokens, reasoning included")
	fs.Int64Var(&req.Usage.ReasoningTokens, "reasoning", 0, "the part of --output spent reasoning")
	fs.Int64Var(&req.Usage.InputImageTokens, "input-image", 0, "the image part of --input")
	fs.Int64Var(&req.Usage.OutputImageTokens, "output-image", 0, "the image part of --output (generated images)")
	fs.Int64Var(&req.Units.WebSearches, "web-searches", 0, "web search calls")
	fs.BoolVar(&req.Batch, "batch", false, "made through the batch API")
	fs.StringVar(&req.ServiceTier, "tier", "", "service tier (flex, priority, ...)")
	at := fs.String("at", "", "when the call was made, RFC 3339 or YYYY-MM-DD (default now)")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	cfgPath, data := catalogFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, *at); err != nil {
				return fmt.Errorf("--at %q: want RFC 3339 or YYYY-MM-DD", *at)
			}
		}
		req.At = &t
	}
	cat, err := catalogInForce(ctx, *cfgPath, *data)
	if err != nil {
		return err
	}
	resp, err := api.Quote(cat, req)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	c := resp.Cost
	if resp.CostUSD == nil {
		fmt.Fprintf(stdout, "unpriced: the catalog (version %s) has no price for %s/%s: %s\n", c.Version, req.Provider, req.Model, c.Unpriced)
		return nil
	}
	fmt.Fprintf(stdout, "%s/%s: $%s (entry %s, catalog %s)\n", req.Provider, req.Model, resp.CostUSD.Format(9), c.EntryID, c.Version)
	for _, part := range []struct {
		name string
		m    pricing.Money
	}{{"input", c.Input}, {"cache read", c.CacheRead}, {"cache write 5m", c.CacheWrite5m}, {"cache write 1h", c.CacheWrite1h},
		{"output", c.Output}, {"reasoning", c.Reasoning}, {"input audio", c.InputAudio}, {"output audio", c.OutputAudio},
		{"input image", c.InputImage}, {"output image", c.OutputImage}, {"fees", c.Fees}} {
		if part.m != 0 {
			fmt.Fprintf(stdout, "  %-15s $%s\n", part.name, part.m.Format(9))
		}
	}
	if c.TierAbove > 0 {
		fmt.Fprintf(stdout, "  long-context tier: prompt above %d tokens\n", c.TierAbove)
	}
	if c.Multiplier != 1_000_000 {
		fmt.Fprintf(stdout, "  multiplier: %.4f (batch, service tier, negotiated)\n", float64(c.Multiplier)/1e6)
	}
	return nil
}

// pricesShow prints the catalog entries for a model: with --provider and
// --at (default now), the one Weir uses for a call at that time.
func pricesShow(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("prices show", flag.ContinueOnError)
	provider := fs.String("provider", "", "vendor: openai, anthropic, google, bedrock, azure, mistral, deepseek, groq, xai")
	at := fs.String("at", "", "the entry in force at this time, RFC 3339 or YYYY-MM-DD (default now, with --provider)")
	cfgPath, data := catalogFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: weir prices show [--provider P] [--at T] MODEL")
	}
	var when *time.Time
	if *provider != "" {
		t := time.Now()
		if *at != "" {
			var err error
			if t, err = time.Parse(time.RFC3339, *at); err != nil {
				if t, err = time.Parse(time.DateOnly, *at); err != nil {
					return fmt.Errorf("--at %q: want RFC 3339 or YYYY-MM-DD", *at)
				}
			}
		}
		when = &t
	}
	cat, err := catalogInForce(ctx, *cfgPath, *data)
	if err != nil {
		return err
	}
	list := api.Prices(cat, *provider, fs.Arg(0), when)
	if len(list.Entries) == 0 {
		return fmt.Errorf("no price for %q in catalog %s", fs.Arg(0), list.CatalogVersion)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// pricesImport converts a public price dataset into an overlay file in
// Weir's catalog format, ready for the config's pricing.overlay. What the
// format cannot express is listed on stderr, never silently changed.
func pricesImport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("prices import", flag.ContinueOnError)
	format := fs.String("format", "genai-prices", "input format: genai-prices (the v1 JSON, data.json or data_slim.json) or litellm (model_prices_and_context_window.json)")
	name := fs.String("name", "imported", "overlay name, appended to the catalog version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: weir prices import --format genai-prices|litellm [--name N] FILE")
	}
	importers := map[string]func(io.Reader) ([]pricing.Sheet, pricing.ImportReport, error){
		"genai-prices": pricing.ImportGenAIPrices,
		"litellm":      pricing.ImportLiteLLM,
	}
	importer := importers[*format]
	if importer == nil {
		return fmt.Errorf("--format %q: want genai-prices or litellm", *format)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	sheets, report, err := importer(f)
	if err != nil {
		return fmt.Errorf("import %s: %w", fs.Arg(0), err)
	}
	// Overlay entry ids must not collide with the built-in catalog's.
	for i := range sheets {
		for j := range sheets[i].Entries {
			sheets[i].Entries[j].ID = *name + ":" + sheets[i].Entries[j].ID
		}
	}
	enc := yaml.NewEncoder(stdout)
	enc.SetIndent(2)
	if err := enc.Encode(pricing.Overlay{Name: *name, Sheets: sheets}); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	for _, s := range report.Skipped {
		fmt.Fprintln(stderr, "skipped:", s)
	}
	fmt.Fprintf(stderr, "imported %d models into %d sheets, skipped %d items\n", report.Models, len(sheets), len(report.Skipped))
	return nil
}

// catalogFlags adds --config and --data, which select the catalog in force:
// the built-in one, the config's negotiated prices, and the entries managed
// through the API in the data directory's store.
func catalogFlags(fs *flag.FlagSet) (cfgPath, data *string) {
	cfgPath = fs.String("config", "", "configuration file whose negotiated prices apply (default: none)")
	data = fs.String("data", "", "data directory whose API-managed prices apply (default: none)")
	return cfgPath, data
}

func loadConfig(path string) (config.Config, error) {
	if path != "" {
		return config.Load(path, os.LookupEnv)
	}
	return config.FromEnv(os.LookupEnv)
}

func catalogInForce(ctx context.Context, cfgPath, data string) (*pricing.Catalog, error) {
	if cfgPath == "" && data == "" {
		return pricing.Embedded()
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	if data == "" {
		return app.Catalog(cfg)
	}
	path := filepath.Join(data, "weir.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no Weir store at %s: %w", path, err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	_, eng, err := app.OpenPrices(ctx, cfg, st, nil)
	if err != nil {
		return nil, err
	}
	return eng.Catalog(), nil
}

// pricesReprice recomputes the stored costs of a period with the prices in
// force, keeping the old figures in the audit trail. It works on the data
// directory directly, also while Weir serves from it.
func pricesReprice(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("prices reprice", flag.ContinueOnError)
	from := fs.String("from", "", "first day or instant to re-price, YYYY-MM-DD or RFC 3339 (required)")
	to := fs.String("to", "", "end, exclusive, YYYY-MM-DD or RFC 3339 (required)")
	reason := fs.String("reason", "", "why, kept in every revision (required)")
	provider := fs.String("provider", "", "only calls to this configured provider")
	model := fs.String("model", "", "only calls with this model as sent")
	dry := fs.Bool("dry-run", false, "show what would change without storing it")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cfgPath := fs.String("config", "", "configuration file (its negotiated prices and commitments apply; default: from the environment)")
	data := fs.String("data", "", "data directory (default: the config's data_dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *from == "" || *to == "" || *reason == "" {
		return errors.New("usage: weir prices reprice --from T --to T --reason R [--provider P] [--model M] [--dry-run] [--config FILE] [--data DIR]")
	}
	opt := costing.RepriceOptions{Reason: *reason, Provider: *provider, Model: *model, DryRun: *dry}
	var err error
	if opt.From, err = parseWhen(*from); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if opt.To, err = parseWhen(*to); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	opt.PriceAs = app.PriceAsOf(cfg)
	path := filepath.Join(cfg.DataDir, "weir.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no Weir store at %s: %w", path, err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	prices, _, err := app.OpenPrices(ctx, cfg, st, newLogger(stderr, cfg.Log))
	if err != nil {
		return err
	}
	prices.SetAuditor(audit.New(st, audit.Options{Log: newLogger(stderr, cfg.Log)}))
	ctx = audit.WithActor(ctx, audit.CLIActor())
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "weir: no --config: pricing with the built-in catalog and the store's API prices only, without the config's negotiated prices and commitments")
	}
	res, err := prices.Reprice(ctx, opt)
	if err != nil {
		if res.Stored > 0 {
			return fmt.Errorf("%d revisions of run %s were stored before the error; run again, runs are idempotent: %w", res.Stored, res.RunID, err)
		}
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	verb := "re-priced"
	if res.DryRun {
		verb = "would re-price (dry run)"
	}
	fmt.Fprintf(stdout, "%s %d of %d calls with catalog %s (run %s): %d unchanged, %d skipped\n",
		verb, res.Changed, res.Scanned, res.Catalog, res.RunID, res.Unchanged, res.Skipped)
	if res.Changed > 0 {
		fmt.Fprintf(stdout, "changed calls: $%s before, $%s after; %d newly priced, %d newly unpriced\n",
			res.Before, res.After, res.NewlyPriced, res.NewlyUnpriced)
	}
	for _, c := range res.Changes {
		fmt.Fprintf(stdout, "  %s  %s  %s -> %s\n", c.ReceivedAt.Format(time.RFC3339), c.RequestID, moneyOrUnpriced(c.OldCostUSD), moneyOrUnpriced(c.NewCostUSD))
	}
	if !res.DryRun && res.Changed > 0 {
		fmt.Fprintf(stdout, "audit trail: GET /api/v1/costs/revisions?run_id=%s\n", res.RunID)
	}
	return nil
}

func moneyOrUnpriced(m *pricing.Money) string {
	if m == nil {
		return "unpriced"
	}
	return "$" + m.Format(9)
}

func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}

// errOutsideTolerance makes weir cost reconcile exit 1 when the totals
// differ by more than the tolerance, after printing the report.
var errOutsideTolerance = errors.New("Weir's total differs from the bill by more than the tolerance")

// costReconcile compares a provider's usage or billing export with the
// costs recorded in the data directory.
func costReconcile(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cost reconcile", flag.ContinueOnError)
	provider := fs.String("provider", "", "whose export: openai or anthropic (required)")
	from := fs.String("from", "", "first day compared, YYYY-MM-DD (default: the export's first day)")
	to := fs.String("to", "", "end day, exclusive (default: the day after the export's last)")
	tolerance := fs.Float64("tolerance", 1, "percent of the bill the total difference may be")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cfgPath := fs.String("config", "", "configuration file: its providers say which calls are priced as --provider (default: from the environment)")
	data := fs.String("data", "", "data directory (default: the config's data_dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *provider == "" {
		return errors.New("usage: weir cost reconcile --provider openai|anthropic [--from D] [--to D] [--tolerance PCT] [--config FILE] [--data DIR] EXPORT")
	}
	var fromT, toT time.Time
	var err error
	if *from != "" {
		if fromT, err = parseWhen(*from); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	}
	if *to != "" {
		if toT, err = parseWhen(*to); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	path := filepath.Join(cfg.DataDir, "weir.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no Weir store at %s: %w", path, err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	_, eng, err := app.OpenPrices(ctx, cfg, st, nil)
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := app.Reconciler{Cost: st, Catalog: eng.Catalog, Providers: cfg.Providers}.Reconcile(ctx, *provider, f, fromT, toT, *tolerance)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if !rep.Within {
		return errOutsideTolerance
	}
	return nil
}

// keysCommand manages application keys in the data directory; a running
// Weir sees the changes within access.RefreshInterval.
func keysCommand(ctx context.Context, verb string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keys "+verb, flag.ContinueOnError)
	app := fs.String("app", "", "application (created when new; --team required then)")
	team := fs.String("team", "", "the application's team")
	expires := fs.String("expires", "", "expiry, YYYY-MM-DD or RFC 3339 (default: none)")
	cfgPath := fs.String("config", "", "configuration file (default: from the environment)")
	data := fs.String("data", "", "data directory (default: the config's data_dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "weir.db"), sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	m, err := access.New(ctx, st, nil)
	if err != nil {
		return err
	}
	m.SetAuditor(audit.New(st, audit.Options{}))
	ctx = audit.WithActor(ctx, audit.CLIActor())
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch verb {
	case "create":
		if *app == "" {
			return errors.New("usage: weir keys create --app NAME [--team T] [--expires YYYY-MM-DD]")
		}
		apps, err := m.Applications(ctx)
		if err != nil {
			return err
		}
		known := slices.ContainsFunc(apps, func(a access.ApplicationView) bool { return a.Name == *app })
		if !known || *team != "" {
			a := access.Application{Name: *app, Team: *team}
			for _, v := range apps {
				if v.Name == *app {
					a = v.Application
					a.Team = *team
				}
			}
			if _, err := m.PutApplication(ctx, a, "cli"); err != nil {
				return err
			}
		}
		var exp time.Time
		if *expires != "" {
			if exp, err = parseWhen(*expires); err != nil {
				return fmt.Errorf("--expires: %w", err)
			}
		}
		k, err := m.CreateKey(ctx, *app, exp, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s for application %s (shown once, keep it now):\n%s\n", k.ID, *app, k.Secret)
		return nil
	case "list":
		apps, err := m.Applications(ctx)
		if err != nil {
			return err
		}
		return enc.Encode(apps)
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("usage: weir keys revoke ID")
		}
		if err := m.RevokeKey(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("weir keys %s: want create, list or revoke", verb)
}

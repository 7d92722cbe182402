// Command weir is Weir's single binary: the gateway and its API (serve), a
// self-contained demo on simulated providers (demo), the provider simulator
// on its own (mock), and a configuration checker (config check).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/weirhq/weir/internal/app"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/demo"
	"github.com/weirhq/weir/internal/mock"
)

const usage = `weir: an LLM gateway that measures every call.

Usage:
  weir serve [--config FILE] [--listen ADDR] [--data DIR]
  weir demo  [--listen ADDR] [--data DIR] [--rate N] [--duration D]
  weir mock  [--listen ADDR] [--config FILE]
  weir config check FILE

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
	if len(cfg.Gateway.APIKeys) == 0 && !loopback(cfg.Listen) {
		log.Warn("listening beyond loopback without gateway.api_keys: anyone who can reach it can spend your provider keys", "listen", cfg.Listen)
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Serve(ctx, nil)
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
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
	return a.Serve(ctx, func(addr string) {
		base := "http://" + addr
		fmt.Fprintf(stdout, strings.TrimLeft(`
Weir demo: gateway on %[1]s with simulated OpenAI and Anthropic providers (%[2]s),
sending sample traffic for three use cases (support-triage, lead-qualification, contract-review).

  OpenAI base URL      %[1]s/v1
  Anthropic base URL   %[1]s
  Recorded calls       %[1]s/api/v1/requests?limit=5
  One use case         %[1]s/api/v1/requests?use_case=support-triage
  Prometheus metrics   %[1]s/metrics

  Try: curl %[1]s/v1/chat/completions -H 'content-type: application/json' \
         -H 'x-weir-use-case: my-test' -d '{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'

Data is kept in %[3]s. Press Ctrl-C to stop.
`, "\n"), base, sim, cfg.DataDir)
		go demo.Run(ctx, base, *rate, log)
	})
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/weirhq/weir/internal/app"
	"github.com/weirhq/weir/internal/seed"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// runSeed writes a realistic call history into the data directory's store
// (created when missing), for the dashboard's benchmark and demos.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	calls := fs.Int("calls", 100_000, "number of calls to write")
	days := fs.Int("days", 90, "length of the history in days, ending now")
	seedN := fs.Uint64("seed", 1, "another number gives another history; the same number writes the same calls (nothing twice)")
	cfgPath := fs.String("config", "", "configuration file (its prices apply; default: from the environment)")
	data := fs.String("data", "", "data directory (default: the config's data_dir)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *calls <= 0 || *days <= 0 {
		return errors.New("usage: weir seed [--calls N] [--days D] [--seed S] [--config FILE] [--data DIR]")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "weir.db"), sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	_, eng, err := app.OpenPrices(ctx, cfg, st, newLogger(stderr, cfg.Log))
	if err != nil {
		return err
	}
	start := time.Now()
	last := start
	res, err := seed.Run(ctx, st, eng, seed.Options{Calls: *calls, Days: *days, Seed: *seedN, Progress: func(n int) {
		if *quiet || time.Since(last) < 5*time.Second && n < *calls {
			return
		}
		last = time.Now()
		el := time.Since(start)
		fmt.Fprintf(stderr, "%d of %d calls (%.0f%%), %.0f calls/s\n", n, *calls, 100*float64(n)/float64(*calls), float64(n)/el.Seconds())
	}})
	if err != nil {
		return fmt.Errorf("seed: %d calls written before: %w", res.Calls, err)
	}
	fmt.Fprintf(stdout, "wrote %d calls of %d instances and %d KPI results from %s to %s into %s in %s\n",
		res.Calls, res.Instances, res.KPIResults, res.From.Format(time.DateOnly), res.To.Format(time.DateOnly),
		cfg.DataDir, time.Since(start).Round(time.Second))
	return nil
}

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/drift/canary"
	"github.com/weirhq/weir/internal/eval/experiment"
)

// Defaults of the drift section.
const (
	driftInterval = 5 * time.Minute
	// canaryTick is how often the canaries are looked at; each runs when
	// its own interval has passed.
	canaryTick = time.Minute
)

// newDrift builds the drift monitor and, when canaries are configured,
// their runner (nil otherwise). Both are nil when drift is disabled.
func newDrift(cfg config.Drift, st drift.Store, alerts *alert.Engine, experiments *experiment.Service, log *slog.Logger) (*drift.Monitor, *canary.Runner, error) {
	if cfg.Disabled {
		return nil, nil, nil
	}
	mon, err := drift.NewMonitor(drift.MonitorOptions{Store: st, Alerts: alerts, Config: cfg.Detection, Lookback: cfg.Lookback.D(), Log: log})
	if err != nil {
		return nil, nil, err
	}
	if len(cfg.Canaries) == 0 {
		return mon, nil, nil
	}
	cs := make([]canary.Canary, 0, len(cfg.Canaries))
	for _, c := range cfg.Canaries {
		cn := canary.Canary{Name: c.Name, Dataset: c.Dataset, DatasetVersion: c.DatasetVersion, Model: c.Model, Prompt: c.Prompt, Every: c.Every.D()}
		if len(c.Params) > 0 {
			b, err := json.Marshal(c.Params)
			if err != nil {
				return nil, nil, fmt.Errorf("drift.canaries %s: params: %w", c.Name, err)
			}
			cn.Params = b
		}
		for _, e := range c.Evaluators {
			spec := experiment.EvaluatorSpec{Kind: e.Kind, Criterion: e.Criterion, Model: e.Model}
			if len(e.Config) > 0 {
				b, err := json.Marshal(e.Config)
				if err != nil {
					return nil, nil, fmt.Errorf("drift.canaries %s: evaluator config: %w", c.Name, err)
				}
				spec.Config = b
			}
			cn.Evaluators = append(cn.Evaluators, spec)
		}
		cs = append(cs, cn)
	}
	cfgCanary := cfg.Detection
	cfgCanary.MinBaseline, cfgCanary.MinRecent = 0, 0 // the canary defaults count scores, not calls
	run, err := canary.New(canary.Options{Canaries: cs, Experiments: experiments, Events: st, Alerts: alerts, Config: cfgCanary, Log: log.With("part", "canaries")})
	if err != nil {
		return nil, nil, err
	}
	return mon, run, nil
}

// runDrift runs the monitor and the canaries until ctx is done.
func runDrift(ctx context.Context, cfg config.Drift, mon *drift.Monitor, run *canary.Runner) {
	if mon == nil {
		return
	}
	interval := cfg.Interval.D()
	if interval <= 0 {
		interval = driftInterval
	}
	done := make(chan struct{})
	if run != nil {
		go func() {
			defer close(done)
			run.Run(ctx, min(canaryTick, interval))
		}()
	} else {
		close(done)
	}
	mon.Run(ctx, interval)
	<-done
}

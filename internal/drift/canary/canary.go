// Package canary runs golden sets on a schedule and watches their scores
// for drift: a small evaluation dataset with its evaluators, run against a
// model or route every interval as an experiment (use case "canary"), so
// that a model that changes is noticed even when no traffic reaches it.
// Each run's scores per criterion are compared with the runs before it by
// drift.Compare; a drop is a drift event of signal canary_score:CRITERION.
package canary

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/store"
)

// UseCase is the use case of canary calls: their cost and latency stay
// out of the production use cases' figures.
const UseCase = "canary"

// Canary is one golden set on a schedule.
type Canary struct {
	Name           string
	Dataset        string
	DatasetVersion int
	Model, Prompt  string
	Params         json.RawMessage
	Evaluators     []experiment.EvaluatorSpec
	// Every is the time between runs (default 1h).
	Every time.Duration
}

// Experiments runs experiments (*experiment.Service).
type Experiments interface {
	Create(ctx context.Context, sp experiment.Spec, by string) (experiment.Created, error)
	Wait(ctx context.Context, name string) error
	Get(ctx context.Context, name string) (experiment.Experiment, error)
	List(ctx context.Context) ([]experiment.Experiment, error)
	Results(ctx context.Context, name string) ([]experiment.Result, error)
}

// Options configure a Runner.
type Options struct {
	Canaries    []Canary
	Experiments Experiments
	Events      store.DriftEventStore
	Alerts      drift.Raiser // nil: events are stored, not raised
	// Config is the decision rule; MinBaseline and MinRecent count
	// scores here (defaults 30 and 10), RecentCalls is not used: the
	// recent window is the latest run, then the latest three.
	Config drift.Config
	// BaselineRuns is how many runs before the recent ones form the
	// baseline (default 20).
	BaselineRuns int
	Log          *slog.Logger
	Now          func() time.Time
}

// Runner runs the canaries when due and checks their scores.
type Runner struct {
	opt Options
	mu  sync.Mutex // serialises Tick
}

// New returns a runner.
func New(opt Options) (*Runner, error) {
	if opt.Experiments == nil || opt.Events == nil {
		return nil, errors.New("canary: experiments and an event store are required")
	}
	for i := range opt.Canaries {
		if opt.Canaries[i].Every <= 0 {
			opt.Canaries[i].Every = time.Hour
		}
	}
	if opt.Config.MinBaseline <= 0 {
		opt.Config.MinBaseline = 30
	}
	if opt.Config.MinRecent <= 0 {
		opt.Config.MinRecent = 10
	}
	if opt.BaselineRuns <= 0 {
		opt.BaselineRuns = 20
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Runner{opt: opt}, nil
}

// Run ticks every interval (a minute suits hourly canaries) until ctx
// is done.
func (r *Runner) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := r.Tick(ctx); err != nil && ctx.Err() == nil {
			r.opt.Log.Warn("canary: tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick runs every canary that is due (never run, or its last run began
// Every ago), waits for the runs and checks their scores.
func (r *Runner) Tick(ctx context.Context) ([]drift.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	all, err := r.opt.Experiments.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("canary: experiments: %w", err)
	}
	now := r.opt.Now().UTC()
	var out []drift.Event
	var errs []error
	for _, c := range r.opt.Canaries {
		runs := runsOf(all, c.Name)
		if len(runs) > 0 && now.Sub(runs[len(runs)-1].CreatedAt) < c.Every {
			continue
		}
		evs, err := r.RunOnce(ctx, c)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, evs...)
	}
	return out, errors.Join(errs...)
}

// prefix is what a canary's experiments' names start with.
func prefix(name string) string { return "canary-" + name + "-" }

// runsOf are the canary's finished runs, oldest first.
func runsOf(all []experiment.Experiment, name string) []experiment.Experiment {
	var out []experiment.Experiment
	for _, e := range all {
		if strings.HasPrefix(e.Name, prefix(name)) && e.Status == store.ExperimentDone {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b experiment.Experiment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.Name, b.Name))
	})
	return out
}

// RunOnce runs the canary now, waits for it and checks its scores.
func (r *Runner) RunOnce(ctx context.Context, c Canary) ([]drift.Event, error) {
	now := r.opt.Now().UTC()
	name := prefix(c.Name) + now.Format("20060102T150405.000")
	name = strings.ReplaceAll(name, ".", "-")
	sp := experiment.Spec{Name: name, Dataset: c.Dataset, DatasetVersion: c.DatasetVersion, UseCase: UseCase,
		Variants:   []experiment.Variant{{Name: "canary", Model: c.Model, Prompt: c.Prompt, Params: c.Params}},
		Evaluators: c.Evaluators}
	if _, err := r.opt.Experiments.Create(ctx, sp, "canary:"+c.Name); err != nil {
		return nil, fmt.Errorf("canary %s: run: %w", c.Name, err)
	}
	if err := r.opt.Experiments.Wait(ctx, name); err != nil {
		return nil, fmt.Errorf("canary %s: wait: %w", c.Name, err)
	}
	return r.Check(ctx, c)
}

// run is one run's scores per criterion.
type run struct {
	name string
	at   time.Time
	// scores per criterion: 0/1 for pass/fail, else numbers.
	scores map[string][]float64
	rate   map[string]bool
}

// Check compares the canary's latest runs with the ones before them, per
// criterion, and stores and raises the drops (or rises) it finds.
func (r *Runner) Check(ctx context.Context, c Canary) ([]drift.Event, error) {
	all, err := r.opt.Experiments.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("canary %s: experiments: %w", c.Name, err)
	}
	exps := runsOf(all, c.Name)
	if len(exps) > r.opt.BaselineRuns+3 {
		exps = exps[len(exps)-r.opt.BaselineRuns-3:]
	}
	runs := make([]run, 0, len(exps))
	for _, e := range exps {
		res, err := r.opt.Experiments.Results(ctx, e.Name)
		if err != nil {
			return nil, fmt.Errorf("canary %s: results of %s: %w", c.Name, e.Name, err)
		}
		runs = append(runs, scoresOf(e, res))
	}
	if len(runs) < 2 {
		return nil, nil
	}
	scope := drift.Scope{UseCase: UseCase + "/" + c.Name, Model: c.Model}
	prior, err := r.opt.Events.DriftEvents(ctx, store.DriftEventQuery{UseCase: scope.UseCase, Model: scope.Model, Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("canary %s: events: %w", c.Name, err)
	}
	since := map[string]time.Time{}
	for _, e := range prior {
		if e.DetectedAt.After(since[e.Signal]) {
			since[e.Signal] = e.DetectedAt
		}
	}
	type cand struct {
		f    drift.Finding
		ok   bool
		runs []run // baseline and recent runs
		k    int   // recent runs
	}
	var cands []cand
	criteria := map[string]bool{}
	for _, rn := range runs {
		for k := range rn.scores {
			criteria[k] = true
		}
	}
	for _, crit := range slices.Sorted(func(yield func(string) bool) {
		for k := range criteria {
			if !yield(k) {
				return
			}
		}
	}) {
		signal := drift.SignalCanaryScore + ":" + crit
		var rs []run
		for _, rn := range runs {
			if rn.at.Before(since[signal]) {
				continue
			}
			if _, ok := rn.scores[crit]; ok {
				rs = append(rs, rn)
			}
		}
		for _, k := range []int{1, 3} {
			if len(rs) <= k {
				continue
			}
			base, recent := collect(rs[max(0, len(rs)-k-r.opt.BaselineRuns):len(rs)-k], crit), collect(rs[len(rs)-k:], crit)
			isRate := rs[len(rs)-1].rate[crit]
			f, ok := drift.Compare(signal, drift.Sample{Values: base, Rate: isRate}, drift.Sample{Values: recent, Rate: isRate}, r.opt.Config)
			f.Baseline.From, f.Baseline.To = rs[max(0, len(rs)-k-r.opt.BaselineRuns)].at, rs[len(rs)-k-1].at
			f.Recent.From, f.Recent.To = rs[len(rs)-k].at, rs[len(rs)-1].at
			f.StartedAt = f.Recent.From
			f.Changes = []drift.Change{}
			cands = append(cands, cand{f: f, ok: ok, runs: rs, k: k})
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	ps := make([]float64, len(cands))
	for i, c := range cands {
		ps[i] = c.f.P
	}
	adj := drift.Adjust(ps)
	alpha := cmp.Or(r.opt.Config.Alpha, drift.DefaultConfig().Alpha)
	best := map[string]int{}
	for i := range cands {
		cands[i].f.PAdjusted = adj[i]
		if !cands[i].ok || adj[i] >= alpha {
			continue
		}
		if j, ok := best[cands[i].f.Signal]; !ok || adj[i] < adj[j] {
			best[cands[i].f.Signal] = i
		}
	}
	now := r.opt.Now().UTC()
	var out []drift.Event
	for _, sig := range slices.Sorted(func(yield func(string) bool) {
		for k := range best {
			if !yield(k) {
				return
			}
		}
	}) {
		f := cands[best[sig]].f
		ev := drift.Event{ID: ids.New("dft_", now), Kind: drift.KindBehaviour, Signal: f.Signal, UseCase: scope.UseCase, Model: c.Model,
			At: f.StartedAt, DetectedAt: now, Finding: &f}
		ev.Summary = summary(c, f)
		b, err := json.Marshal(ev)
		if err != nil {
			return out, fmt.Errorf("canary %s: %w", c.Name, err)
		}
		if err := r.opt.Events.SaveDriftEvent(ctx, store.DriftEvent{ID: ev.ID, Signal: ev.Signal, UseCase: ev.UseCase, Model: ev.Model,
			StartedAt: ev.At, DetectedAt: now, Event: b}); err != nil {
			return out, fmt.Errorf("canary %s: %w", c.Name, err)
		}
		r.opt.Log.Info("drift event", "kind", ev.Kind, "signal", ev.Signal, "canary", c.Name, "summary", ev.Summary)
		if r.opt.Alerts != nil {
			drift.RaiseEvent(ctx, r.opt.Alerts, ev, r.opt.Log)
		}
		out = append(out, ev)
	}
	return out, nil
}

func collect(rs []run, crit string) []float64 {
	var out []float64
	for _, rn := range rs {
		out = append(out, rn.scores[crit]...)
	}
	return out
}

// scoresOf reads one run's scores per criterion: pass/fail when the
// evaluator says, else a number.
func scoresOf(e experiment.Experiment, res []experiment.Result) run {
	rn := run{name: e.Name, at: e.CreatedAt, scores: map[string][]float64{}, rate: map[string]bool{}}
	if e.StartedAt != nil {
		rn.at = *e.StartedAt
	}
	for _, r := range res {
		if r.Error != "" {
			continue
		}
		for _, s := range r.Scores {
			switch {
			case s.Pass != nil:
				v := 0.0
				if *s.Pass {
					v = 1
				}
				rn.scores[s.Criterion] = append(rn.scores[s.Criterion], v)
				rn.rate[s.Criterion] = true
			case s.Value != nil && s.Value.Number != nil:
				rn.scores[s.Criterion] = append(rn.scores[s.Criterion], *s.Value.Number)
			case s.Value != nil && s.Value.Bool != nil:
				v := 0.0
				if *s.Value.Bool {
					v = 1
				}
				rn.scores[s.Criterion] = append(rn.scores[s.Criterion], v)
				rn.rate[s.Criterion] = true
			}
		}
	}
	return rn
}

func summary(c Canary, f drift.Finding) string {
	crit := strings.TrimPrefix(f.Signal, drift.SignalCanaryScore+":")
	if f.Baseline.Rate != nil {
		return fmt.Sprintf("canary %s on %s: %s pass rate went %s from %.0f%% to %.0f%% (%d scores against %d)", c.Name, c.Model, crit,
			f.Direction, 100**f.Baseline.Rate, 100**f.Recent.Rate, f.Recent.Calls, f.Baseline.Calls)
	}
	return fmt.Sprintf("canary %s on %s: %s scores went %s (median %.3g → %.3g)", c.Name, c.Model, crit, f.Direction,
		f.Baseline.Quantiles.P50, f.Recent.Quantiles.P50)
}

// Command bench is Weir's whole-system load benchmark. It builds cmd/weir,
// starts the provider simulator (weir mock) and the gateway (weir serve) as
// child processes on loopback, and measures each scenario twice, DIRECT
// (client -> simulator) and VIA WEIR (client -> gateway -> simulator), in
// interleaved rounds so that machine noise hits both sides alike. It writes
// every raw number to bench/results/<UTC timestamp>.json and a summary table
// with pass/fail against Weir's overhead targets to bench/results/latest.md.
//
//	go run ./bench            # the full run, about 3 minutes
//	go run ./bench -quick     # a 10-20 s smoke run (writes latest-quick.md)
//
// Nothing imports this package; docs/benchmarks.md explains the scenarios.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the harness's settings, from flags.
type options struct {
	root     string        // repository root (holds go.mod)
	out      string        // results directory
	duration time.Duration // one side of one round
	rounds   int
	quick    bool

	rate        int   // open-loop requests per second (scenario a)
	concurrency []int // closed-loop workers (scenario b)
	streamConc  int   // closed-loop streaming workers (scenario c)
	openStreams int   // concurrent long-lived streams (scenario d)
	hold        time.Duration
	warmup      time.Duration
	keepTemp    bool
	waitQuiet   time.Duration
	only        string // scenario letters to run, e.g. "ac"; "" runs all
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.root, "root", "", "repository root (default: the nearest directory above the working directory holding go.mod)")
	fs.StringVar(&o.out, "out", "", "results directory (default ROOT/bench/results)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of one side of one round")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds per scenario (each runs direct and via weir once)")
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 1 round of 1s, 200 open streams held 2s; writes latest-quick.md, not latest.md")
	fs.IntVar(&o.rate, "rate", 1000, "open-loop request rate (scenario a)")
	conc := intList{16, 64}
	fs.Var(&conc, "concurrency", "closed-loop worker counts, comma-separated (scenario b)")
	fs.IntVar(&o.streamConc, "stream-concurrency", 32, "closed-loop streaming workers (scenario c)")
	fs.IntVar(&o.openStreams, "open-streams", 1000, "concurrent long-lived streams held through weir (scenario d)")
	fs.DurationVar(&o.hold, "hold", 10*time.Second, "how long scenario d holds its streams open")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unrecorded load per side before a scenario's rounds")
	fs.BoolVar(&o.keepTemp, "keep", false, "keep the temporary directory (binary, configs, process logs)")
	fs.DurationVar(&o.waitQuiet, "wait-quiet", 3*time.Minute, "before starting, wait up to this long for a second in which the machine is less than 15% busy (0: don't wait)")
	fs.StringVar(&o.only, "only", "", "run only these scenarios, e.g. -only ac (for investigation; the table then lacks the others)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if strings.Trim(o.only, "abcd") != "" {
		return o, fmt.Errorf("-only %q: want letters among a, b, c, d", o.only)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.concurrency = conc
	if o.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			o.duration = time.Second
		}
		if !set["rounds"] {
			o.rounds = 1
		}
		if !set["open-streams"] {
			o.openStreams = 200
		}
		if !set["hold"] {
			o.hold = 2 * time.Second
		}
		if !set["warmup"] {
			o.warmup = 300 * time.Millisecond
		}
	}
	switch {
	case o.duration < 100*time.Millisecond || o.duration > 10*time.Minute:
		return o, fmt.Errorf("-duration %s: want 100ms to 10m", o.duration)
	case o.rounds < 1 || o.rounds > 100:
		return o, fmt.Errorf("-rounds %d: want 1 to 100", o.rounds)
	case o.rate < 1 || o.rate > 100000:
		return o, fmt.Errorf("-rate %d: want 1 to 100000", o.rate)
	case o.streamConc < 1 || o.streamConc > 10000:
		return o, fmt.Errorf("-stream-concurrency %d: want 1 to 10000", o.streamConc)
	case o.openStreams < 1 || o.openStreams > 50000:
		return o, fmt.Errorf("-open-streams %d: want 1 to 50000", o.openStreams)
	case o.hold < 0 || o.hold > 10*time.Minute:
		return o, fmt.Errorf("-hold %s: want 0 to 10m", o.hold)
	case o.warmup < 0 || o.warmup > time.Minute:
		return o, fmt.Errorf("-warmup %s: want 0 to 1m", o.warmup)
	}
	for _, c := range o.concurrency {
		if c < 1 || c > 10000 {
			return o, fmt.Errorf("-concurrency %d: want 1 to 10000", c)
		}
	}
	if o.root == "" {
		r, err := findRoot()
		if err != nil {
			return o, err
		}
		o.root = r
	}
	if o.out == "" {
		o.out = filepath.Join(o.root, "bench", "results")
	}
	return o, nil
}

// findRoot walks up from the working directory to the one holding go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for i := 0; i < 64; i++ {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("no go.mod above the working directory: pass -root")
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	opt, err := parseOptions(args, os.Stderr)
	if err != nil {
		return err
	}
	started := time.Now().UTC()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stdout, "[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, a...))
	}
	raiseFileLimit(opt.openStreams, logf)
	if opt.waitQuiet > 0 {
		if err := waitQuiet(ctx, opt.waitQuiet, logf); err != nil {
			return err
		}
	}
	load0, busy0, self0 := loadAvg(), machineBusy(), selfCPU()

	tmp, err := os.MkdirTemp("", "weir-bench-")
	if err != nil {
		return err
	}
	if opt.keepTemp {
		logf("temporary directory kept: %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	logf("building cmd/weir")
	bin, err := buildWeir(ctx, opt.root, tmp)
	if err != nil {
		return err
	}
	env, err := startEnv(ctx, bin, tmp)
	if err != nil {
		return err
	}
	defer env.stop(logf)
	logf("simulator on %s, gateway on %s (pid %d)", env.mock.addr, env.weir.addr, env.weir.pid())

	res := &Results{
		Started: started,
		Quick:   opt.quick,
		Machine: machineInfo(ctx, opt.root),
		Settings: Settings{
			RoundDuration: opt.duration.String(), Rounds: opt.rounds, Warmup: opt.warmup.String(),
			Rate: opt.rate, Concurrency: opt.concurrency, StreamConcurrency: opt.streamConc,
			OpenStreams: opt.openStreams, Hold: opt.hold.String(), Only: opt.only,
			Profiles: profilesYAML, GatewayConfig: env.gatewayConfig,
		},
	}
	b := newBencher(opt, env, logf)
	defer b.close()

	if err := b.preflight(ctx); err != nil {
		return err
	}
	// e. idle RSS, before any load (the preflight sent one request each).
	if err := sleepCtx(ctx, time.Second); err != nil {
		return err
	}
	idle, err := readProcStatus(env.weir.pid())
	if err != nil {
		return fmt.Errorf("idle rss: %w", err)
	}
	res.Idle = idle
	logf("e. idle: weir VmRSS %.1f MB", mb(idle.VmRSS))

	steps := []struct {
		letter, name string
		f            func(context.Context, *Results) error
	}{
		{"a", "a. open-loop non-streaming", b.scenarioOpenLoop},
		{"b", "b. closed-loop non-streaming", b.scenarioClosedLoop},
		{"c", "c. streaming", b.scenarioStreaming},
		{"d", "d. open streams", b.scenarioOpenStreams},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if opt.only != "" && !strings.Contains(opt.only, s.letter) {
			continue
		}
		logf("%s", s.name)
		if err := s.f(ctx, res); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	end, err := readProcStatus(env.weir.pid())
	if err != nil {
		return fmt.Errorf("final rss: %w", err)
	}
	res.End = end
	res.WeirCPU, _ = readProcCPU(env.weir.pid())
	res.MockCPU, _ = readProcCPU(env.mock.pid())
	res.Finished = time.Now().UTC()
	ours := (selfCPU() - self0) + res.WeirCPU + res.MockCPU
	capacity := float64(res.Finished.Sub(started)) * float64(runtime.NumCPU())
	res.Noise = Noise{LoadAvgStart: load0, LoadAvgEnd: loadAvg(),
		OtherCPUPercent: round1(max(0, float64(machineBusy()-busy0-ours)) / capacity * 100)}
	if res.Noise.OtherCPUPercent > 5 {
		logf("warning: other processes used %.1f%% of the CPU during the run: the numbers are noisy", res.Noise.OtherCPUPercent)
	}
	res.evaluate()

	jsonPath, mdPath, err := res.write(opt.out)
	if err != nil {
		return err
	}
	logf("wrote %s and %s", jsonPath, mdPath)
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, res.markdownTable())
	if n := res.failed(); n > 0 {
		logf("%d target(s) missed", n)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// raiseFileLimit raises the soft RLIMIT_NOFILE towards the hard limit so
// the client, and the children that inherit it, can hold every stream.
func raiseFileLimit(streams int, logf func(string, ...any)) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logf("getrlimit: %v", err)
		return
	}
	want := uint64(4*streams + 1024)
	if lim.Cur >= want {
		return
	}
	lim.Cur = min(want, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logf("setrlimit: %v", err)
	}
	if lim.Cur < want {
		logf("warning: open file limit %d is below the %d wanted for %d streams", lim.Cur, want, streams)
	}
}

// intList is a comma-separated list of ints flag.
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(v string) error {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("%q is not an integer", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 || len(out) > 16 {
		return errors.New("want 1 to 16 values")
	}
	*l = out
	return nil
}

// waitQuiet waits, at most max, for a second in which the whole machine
// is less than 15% busy.
func waitQuiet(ctx context.Context, max time.Duration, logf func(string, ...any)) error {
	deadline := time.Now().Add(max)
	for i := 0; ; i++ {
		b0, t0 := machineBusy(), time.Now()
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
		busy := float64(machineBusy()-b0) / (float64(time.Since(t0)) * float64(runtime.NumCPU())) * 100
		if busy < 15 {
			return nil
		}
		if i == 0 {
			logf("the machine is %.0f%% busy: waiting up to %s for it to quieten (-wait-quiet)", busy, max)
		}
		if time.Now().After(deadline) {
			logf("warning: the machine is still %.0f%% busy; starting anyway", busy)
			return nil
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/weirhq/weir/internal/eval/experiment"
)

// evalUsage is the usage of `weir eval`.
const evalUsage = `usage: weir eval run --file experiment.yaml [--url http://127.0.0.1:8080] [--token TOKEN]
                     [--fail-if 'pass_rate(criterion) < 0.8'] [--fail-if 'regression(c, baseline=A, candidate=B) > 0.05'] [--json]
`

// evalCommand runs `weir eval SUBCOMMAND`.
func evalCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "add-calls" {
		return evalAddCalls(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprint(stderr, evalUsage)
		return errors.New("usage: weir eval run --file FILE [--fail-if COND]... [--json] | weir eval add-calls --dataset NAME CALL_ID...")
	}
	return evalRun(ctx, args[1:], stdout, stderr)
}

// failIfs collects repeated --fail-if flags.
type failIfs []experiment.Condition

func (f *failIfs) String() string { return fmt.Sprint(len(*f)) }

func (f *failIfs) Set(s string) error {
	c, err := experiment.ParseCondition(s)
	if err != nil {
		return err
	}
	*f = append(*f, c)
	return nil
}

// evalRun creates (or resumes) an experiment on a running Weir through its
// API, follows its progress, prints the comparison and checks the
// --fail-if conditions: their holding is an error (exit status 1).
func evalRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", envOr("WEIR_URL", "http://127.0.0.1:8080"), "Weir's base URL (env WEIR_URL)")
	token := fs.String("token", os.Getenv("WEIR_TOKEN"), "management token with evals.write (env WEIR_TOKEN)")
	file := fs.String("file", "", "the experiment, YAML or JSON (required)")
	asJSON := fs.Bool("json", false, "print the comparison and the verdicts as JSON")
	poll := fs.Duration("poll", time.Second, "how often the progress is read")
	var conds failIfs
	fs.Var(&conds, "fail-if", "a condition that fails the run (repeatable): pass_rate(C[, variant=V]) OP X, mean(C[, variant=V]) OP X, regression(C, baseline=A, candidate=B) OP X; OP is <, <=, > or >=")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, evalUsage)
		return errors.New("eval run: --file is required and takes no arguments")
	}
	if *poll <= 0 {
		return errors.New("eval run: --poll must be positive")
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("eval run: %w", err)
	}
	sp, err := decodeExperimentFile(raw)
	if err != nil {
		return fmt.Errorf("eval run: %s: %w", *file, err)
	}
	c := &apiClient{base: strings.TrimRight(*base, "/"), token: *token, http: &http.Client{Timeout: 60 * time.Second}}
	body, _ := json.Marshal(sp)
	var created experiment.Created
	if err := c.do(ctx, http.MethodPost, "/api/v1/experiments", body, &created); err != nil {
		return fmt.Errorf("eval run: create %s: %w", sp.Name, err)
	}
	if created.Resumed {
		fmt.Fprintf(stderr, "experiment %s exists with this specification: resuming (done items are skipped)\n", sp.Name)
	}
	e, err := follow(ctx, c, sp.Name, *poll, stderr)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "stopped following; experiment %s goes on in Weir: run the same command again to follow it\n", sp.Name)
		}
		return fmt.Errorf("eval run: %w", err)
	}
	cache := map[string]experiment.Comparison{}
	compare := func(a, b string) (experiment.Comparison, error) {
		key := a + "\x00" + b
		if cmp, ok := cache[key]; ok {
			return cmp, nil
		}
		var cmp experiment.Comparison
		q := url.Values{}
		if a != "" || b != "" {
			q.Set("a", a)
			q.Set("b", b)
		}
		path := "/api/v1/experiments/" + url.PathEscape(sp.Name) + "/compare"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		if err := c.do(ctx, http.MethodGet, path, nil, &cmp); err != nil {
			return cmp, err
		}
		cache[key] = cmp
		return cmp, nil
	}
	cmp, err := compare("", "")
	if err != nil {
		return fmt.Errorf("eval run: compare: %w", err)
	}
	var verdicts []experiment.Verdict
	failed := 0
	for _, cond := range conds {
		v, err := cond.Check(compare)
		if err != nil {
			return fmt.Errorf("eval run: --fail-if %q: %w", cond.Source, err)
		}
		if v.Holds {
			failed++
		}
		verdicts = append(verdicts, v)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"experiment": e, "comparison": cmp, "fail_if": verdicts}); err != nil {
			return err
		}
	} else {
		printComparison(stdout, e, cmp, verdicts)
	}
	switch {
	case e.Status != "done":
		return fmt.Errorf("eval run: experiment %s ended %s: %s", e.Name, e.Status, e.Error)
	case failed > 0:
		return fmt.Errorf("eval run: %d of %d --fail-if conditions hold", failed, len(conds))
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// decodeExperimentFile reads an experiment from YAML (or JSON, which is
// YAML) strictly: the document is converted to JSON and decoded with
// unknown fields refused, then validated.
func decodeExperimentFile(raw []byte) (experiment.Spec, error) {
	var doc any
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		return experiment.Spec{}, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return experiment.Spec{}, errors.New("one YAML document expected")
	}
	j, err := json.Marshal(doc)
	if err != nil {
		return experiment.Spec{}, err
	}
	sp, err := experiment.DecodeSpec(j)
	if err != nil {
		return sp, err
	}
	return sp, sp.Validate()
}

// apiClient calls Weir's management API.
type apiClient struct {
	base, token string
	http        *http.Client
}

func (c *apiClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// follow polls the experiment until it is no longer pending or running,
// drawing a progress bar on a terminal and plain lines (at most one per
// ten seconds, and on each tenth done) otherwise.
func follow(ctx context.Context, c *apiClient, name string, poll time.Duration, stderr io.Writer) (experiment.Experiment, error) {
	tty := isTerminal(stderr)
	start := time.Now()
	first := -1
	var lastLine time.Time
	lastTenth := -1
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var e experiment.Experiment
		if err := c.do(ctx, http.MethodGet, "/api/v1/experiments/"+url.PathEscape(name), nil, &e); err != nil {
			return e, err
		}
		if first < 0 {
			first = e.Progress.Done
		}
		line := progressLine(e.Progress, first, time.Since(start))
		ended := e.Status != "pending" && e.Status != "running"
		switch {
		case tty:
			fmt.Fprintf(stderr, "\r\033[K%s", line)
			if ended {
				fmt.Fprintln(stderr)
			}
		default:
			tenth := 0
			if e.Progress.Total > 0 {
				tenth = e.Progress.Done * 10 / e.Progress.Total
			}
			if ended || tenth != lastTenth || time.Since(lastLine) >= 10*time.Second {
				fmt.Fprintln(stderr, line)
				lastTenth, lastLine = tenth, time.Now()
			}
		}
		if ended {
			return e, nil
		}
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(stderr)
			}
			return e, ctx.Err()
		case <-t.C:
		}
	}
}

// progressLine is "[#####.....] 20/40 (50%) 3.1/s ETA 6s".
func progressLine(p experiment.Progress, first int, elapsed time.Duration) string {
	const width = 30
	filled, pct := 0, 0.0
	if p.Total > 0 {
		filled = min(width, p.Done*width/p.Total)
		pct = 100 * float64(p.Done) / float64(p.Total)
	}
	s := fmt.Sprintf("[%s%s] %d/%d (%.0f%%)", strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.Done, p.Total, pct)
	if secs := elapsed.Seconds(); secs > 0 && p.Done > first {
		rate := float64(p.Done-first) / secs
		s += fmt.Sprintf(" %.1f/s", rate)
		if left := p.Total - p.Done; left > 0 {
			s += " ETA " + time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second).String()
		}
	}
	return s
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// printComparison prints the comparison as tables.
func printComparison(w io.Writer, e experiment.Experiment, c experiment.Comparison, verdicts []experiment.Verdict) {
	took := ""
	if e.StartedAt != nil && e.FinishedAt != nil {
		took = " in " + e.FinishedAt.Sub(*e.StartedAt).Round(100*time.Millisecond).String()
	}
	fmt.Fprintf(w, "experiment %s: %s, %d/%d runs%s (dataset %s@%d)\n\n", e.Name, e.Status, e.Progress.Done, e.Progress.Total, took, e.Spec.Dataset, e.Spec.DatasetVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "variant\truns\tfailed\tcost/item\tcost total\tp50 ms\tp95 ms")
	ms := func(p *float64) string {
		if p == nil {
			return "-"
		}
		if *p < 10 {
			return fmt.Sprintf("%.1f", *p)
		}
		return fmt.Sprintf("%.0f", *p)
	}
	for _, v := range c.Variants {
		mean := "-"
		if v.CostMeanUSD != nil {
			mean = fmt.Sprintf("$%.6f", *v.CostMeanUSD)
		}
		total := "-"
		if v.Priced > 0 {
			total = "$" + v.CostTotalUSD.String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\n", v.Variant, v.Results, v.Failed, mean, total, ms(v.LatencyP50Ms), ms(v.LatencyP95Ms))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "criterion\tvariant\tscored\terrors\tmean\tpass rate\t95% CI")
	for _, v := range c.Variants {
		for _, cs := range v.Criteria {
			mean, rate, ci := "-", "-", "-"
			if cs.Mean != nil {
				mean = fmt.Sprintf("%.3f", *cs.Mean)
			}
			if cs.PassRate != nil {
				rate = pct(cs.PassRate.Estimate)
				ci = "[" + pct(cs.PassRate.Lower) + ", " + pct(cs.PassRate.Upper) + "]"
			}
			fmt.Fprintf(tw, "%s@%d\t%s\t%d\t%d\t%s\t%s\t%s\n", cs.Criterion, cs.Version, v.Variant, cs.Scored, cs.Errors, mean, rate, ci)
		}
	}
	tw.Flush()
	if c.A != "" {
		fmt.Fprintf(w, "\n%s vs %s (difference %s − %s, paired bootstrap):\n", c.B, c.A, c.B, c.A)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "criterion\titems\tdifference\t95% CI\tp\tbetter\tworse")
		for _, d := range c.Differences {
			if d.Paired == nil {
				fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t%d\t%d\n", d.Criterion, len(d.Better), len(d.Worse))
				continue
			}
			p := d.Paired
			fmt.Fprintf(tw, "%s\t%d\t%+.3f\t[%+.3f, %+.3f]\t%.3f\t%d\t%d\n", d.Criterion, p.Items, p.Difference.Estimate, p.Difference.Lower, p.Difference.Upper, p.P, len(d.Better), len(d.Worse))
		}
		tw.Flush()
		for _, d := range c.Differences {
			for _, l := range []struct {
				what  string
				items []string
			}{{"better", d.Better}, {"worse", d.Worse}} {
				if len(l.items) == 0 {
					continue
				}
				shown := l.items[:min(len(l.items), 10)]
				more := ""
				if len(l.items) > len(shown) {
					more = fmt.Sprintf(" and %d more", len(l.items)-len(shown))
				}
				fmt.Fprintf(w, "%s %s on %s: %s%s\n", c.B, l.what, d.Criterion, strings.Join(shown, ", "), more)
			}
		}
	}
	if len(verdicts) > 0 {
		fmt.Fprintln(w)
		for _, v := range verdicts {
			mark := "ok  "
			if v.Holds {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "%s --fail-if %s: %s\n", mark, v.Condition, v.Detail)
		}
	}
}

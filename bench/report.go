package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Results is everything one run measured; it is written as JSON.
type Results struct {
	Started     time.Time           `json:"started"`
	Finished    time.Time           `json:"finished"`
	Quick       bool                `json:"quick"`
	Machine     Machine             `json:"machine"`
	Settings    Settings            `json:"settings"`
	Idle        ProcStatus          `json:"idle_weir"`    // e.
	OpenLoop    *OpenLoopResult     `json:"open_loop"`    // a.
	ClosedLoop  []*ClosedLoopResult `json:"closed_loop"`  // b.
	Streaming   *StreamingResult    `json:"streaming"`    // c.
	OpenStreams *OpenStreamsResult  `json:"open_streams"` // d.
	End         ProcStatus          `json:"end_weir"`
	WeirCPU     time.Duration       `json:"weir_cpu_total_ns"`
	MockCPU     time.Duration       `json:"mock_cpu_total_ns"`
	Checks      []Check             `json:"checks"`
	Noise       Noise               `json:"noise"`
}

// Noise is how busy the machine was with other work during the run.
type Noise struct {
	LoadAvgStart float64 `json:"load_avg_1m_start"`
	LoadAvgEnd   float64 `json:"load_avg_1m_end"`
	// OtherCPUPercent is the CPU time used by processes other than the
	// harness, the simulator and weir, as a percentage of the machine's
	// capacity over the run (it includes the go build at the start).
	OtherCPUPercent float64 `json:"other_cpu_percent"`
}

// Settings are the knobs of the run.
type Settings struct {
	RoundDuration     string `json:"round_duration"`
	Rounds            int    `json:"rounds"`
	Warmup            string `json:"warmup"`
	Rate              int    `json:"rate_rps"`
	Concurrency       []int  `json:"concurrency"`
	StreamConcurrency int    `json:"stream_concurrency"`
	OpenStreams       int    `json:"open_streams"`
	Hold              string `json:"hold"`
	Only              string `json:"only,omitempty"`
	Profiles          string `json:"simulator_profiles"`
	GatewayConfig     string `json:"gateway_config"`
}

// Check is one row of the summary table.
type Check struct {
	Metric string `json:"metric"`
	Direct string `json:"direct"`
	Weir   string `json:"weir"`
	Delta  string `json:"added_or_ratio"`
	Target string `json:"target,omitempty"`
	Pass   *bool  `json:"pass,omitempty"`
}

func f3(v float64) string { return fmt.Sprintf("%.3f", v) }
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func signed(v float64) string {
	return fmt.Sprintf("%+.3f", v)
}
func boolp(b bool) *bool { return &b }

// evaluate fills Checks from the scenario results.
func (r *Results) evaluate() {
	var c []Check
	if a := r.OpenLoop; a != nil {
		c = append(c,
			Check{fmt.Sprintf("a. non-streaming latency p50 @ %d req/s (ms)", a.Rate), f3(a.Direct.Latency.P50), f3(a.Weir.Latency.P50), signed(a.AddedP50Ms), "added < 0.3 ms", boolp(a.AddedP50Ms < 0.3)},
			Check{"a. non-streaming latency p90 (ms)", f3(a.Direct.Latency.P90), f3(a.Weir.Latency.P90), signed(a.AddedP90Ms), "", nil},
			Check{"a. non-streaming latency p99 (ms)", f3(a.Direct.Latency.P99), f3(a.Weir.Latency.P99), signed(a.AddedP99Ms), "added < 2 ms", boolp(a.AddedP99Ms < 2)},
			Check{"a. non-streaming latency max (ms)", f3(a.Direct.Latency.Max), f3(a.Weir.Latency.Max), signed(a.Weir.Latency.Max - a.Direct.Latency.Max), "", nil},
			Check{"a. errors / requests", fmt.Sprintf("%d / %d", a.Direct.Errors, a.Direct.Requests), fmt.Sprintf("%d / %d", a.Weir.Errors, a.Weir.Requests), "", "0 errors", boolp(a.Direct.Errors == 0 && a.Weir.Errors == 0)},
			Check{"a. weir CPU per request (us)", "", f1(a.Weir.CPU.WeirUsPerReq), "", "", nil},
		)
	}
	for _, b := range r.ClosedLoop {
		c = append(c, Check{fmt.Sprintf("b. max throughput, %d workers (req/s)", b.Concurrency), fmt.Sprintf("%.0f", b.Direct.ThroughputRPS), fmt.Sprintf("%.0f", b.Weir.ThroughputRPS), fmt.Sprintf("x%.3f", b.ThroughputRatio), "", nil})
	}
	if s := r.Streaming; s != nil {
		c = append(c,
			Check{fmt.Sprintf("c. streaming TTFT p50, %d workers (ms)", s.Concurrency), f3(s.Direct.TTFT.P50), f3(s.Weir.TTFT.P50), signed(s.AddedTTFTP50Ms), "", nil},
			Check{"c. streaming TTFT p99 (ms)", f3(s.Direct.TTFT.P99), f3(s.Weir.TTFT.P99), signed(s.AddedTTFTP99Ms), "added < 1 ms", boolp(s.AddedTTFTP99Ms < 1)},
			Check{"c. chunk k arrival minus direct median of chunk k, p50 (ms)", signed(s.ChunkSpreadDirect.P50), signed(s.ChunkAdded.P50), signed(s.ChunkAdded.P50 - s.ChunkSpreadDirect.P50), "", nil},
			Check{"c. chunk k arrival minus direct median of chunk k, p99 (ms)", signed(s.ChunkSpreadDirect.P99), signed(s.ChunkAdded.P99), signed(s.ChunkAdded.P99 - s.ChunkSpreadDirect.P99), "", nil},
			Check{"c. chunks per stream", fmt.Sprint(s.ExpectedChunks), chunkRange(s.Weir), "", "", nil},
			Check{"c. chunks coalesced", "", "", fmt.Sprint(s.ChunksCoalesced), "= 0", boolp(s.ChunksCoalesced == 0 && s.Weir.Streams > 0)},
			Check{"c. events sharing a read with the previous one", fmt.Sprintf("%d / %d", s.Direct.SameReadEvents, s.Direct.TotalChunks), fmt.Sprintf("%d / %d", s.Weir.SameReadEvents, s.Weir.TotalChunks), "", "", nil},
			Check{"c. stream errors / streams", fmt.Sprintf("%d / %d", s.Direct.Errors, s.Direct.Streams+s.Direct.Errors), fmt.Sprintf("%d / %d", s.Weir.Errors, s.Weir.Streams+s.Weir.Errors), "", "0 errors", boolp(s.Direct.Errors == 0 && s.Weir.Errors == 0)},
		)
	}
	if d := r.OpenStreams; d != nil {
		c = append(c,
			Check{fmt.Sprintf("d. weir peak RSS, %d open streams (MB)", d.Streams), "", f1(d.PeakRSSMB), fmt.Sprintf("%.1f KB/stream", d.KBPerStream), "< 100 MB, all open", boolp(d.PeakRSSMB < 100 && d.Opened == int64(d.Streams) && d.EndedEarly == 0)},
			Check{"d. streams open / ended early", "", fmt.Sprintf("%d / %d", d.Opened, d.EndedEarly), "", "", nil},
		)
	}
	c = append(c,
		Check{"e. weir idle RSS after start-up (MB)", "", f1(mb(r.Idle.VmRSS)), "", "", nil},
		Check{"weir VmHWM over the whole run (MB)", "", f1(mb(r.End.VmHWM)), "", "", nil},
	)
	r.Checks = c
}

func chunkRange(s StreamSideSummary) string {
	if s.ChunksMin == s.ChunksMax {
		return fmt.Sprint(s.ChunksMin)
	}
	return fmt.Sprintf("%d-%d", s.ChunksMin, s.ChunksMax)
}

func (r *Results) failed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Pass != nil && !*c.Pass {
			n++
		}
	}
	return n
}

// markdownTable is the checks as a markdown table.
func (r *Results) markdownTable() string {
	var b strings.Builder
	b.WriteString("| metric | direct | via weir | added / ratio | target | result |\n")
	b.WriteString("|---|---:|---:|---:|---|---|\n")
	for _, c := range r.Checks {
		res := ""
		if c.Pass != nil {
			res = "FAIL"
			if *c.Pass {
				res = "pass"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", c.Metric, dash(c.Direct), dash(c.Weir), dash(c.Delta), dash(c.Target), res)
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// markdown is latest.md.
func (r *Results) markdown(jsonName string) string {
	var b strings.Builder
	title := "Weir load benchmark: latest results"
	if r.Quick || r.Settings.Only != "" {
		title = "Weir load benchmark: partial or quick run (not for citing)"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	m := r.Machine
	commit := m.GitCommit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if m.GitDirty {
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(&b, "Run %s (UTC), %.0f s, commit %s; raw numbers in [%s](%s).\n\n",
		r.Started.Format("2006-01-02 15:04"), r.Finished.Sub(r.Started).Seconds(), commit, jsonName, jsonName)
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, GOMAXPROCS %d, %s, Linux %s. The client, the simulator and weir share these CPUs.\n\n",
		m.CPUModel, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.Kernel)
	s := r.Settings
	fmt.Fprintf(&b, "Each scenario runs direct (client -> simulator) and via weir (client -> weir -> simulator) in %d interleaved rounds of %s per side, after %s of unrecorded warm-up per side. Latency in a. is measured from each request's intended send time.\n\n",
		s.Rounds, s.RoundDuration, s.Warmup)
	fmt.Fprintf(&b, "Other processes used %.1f%% of the machine's CPU during the run (1-minute load average %.2f at the start, %.2f at the end).\n\n",
		r.Noise.OtherCPUPercent, r.Noise.LoadAvgStart, r.Noise.LoadAvgEnd)
	if r.Noise.OtherCPUPercent > 5 {
		b.WriteString("**Warning: other work on the machine used more than 5% of its CPU during this run; the numbers are noisy.** Each round's share is in the JSON (`other_processes_cpu_percent`).\n\n")
	}
	b.WriteString(r.markdownTable())
	if n := r.failed(); n > 0 {
		fmt.Fprintf(&b, "\n%d target(s) missed.\n", n)
	} else {
		b.WriteString("\nAll targets met.\n")
	}
	b.WriteString("\nRun `go run ./bench` from the repository root to reproduce; docs/benchmarks.md explains each row.\n")
	return b.String()
}

// write stores the JSON and the markdown in dir and returns their paths.
func (r *Results) write(dir string) (string, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	name := r.Started.Format("20060102T150405Z")
	mdName := "latest.md"
	switch {
	case r.Settings.Only != "":
		name += "-only-" + r.Settings.Only
		mdName = "latest-only.md"
	case r.Quick:
		name += "-quick"
		mdName = "latest-quick.md"
	}
	jsonPath := filepath.Join(dir, name+".json")
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
		return "", "", err
	}
	mdPath := filepath.Join(dir, mdName)
	if err := os.WriteFile(mdPath, []byte(r.markdown(name+".json")), 0o644); err != nil {
		return "", "", err
	}
	return jsonPath, mdPath, nil
}

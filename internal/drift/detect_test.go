package drift

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/store"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// stream makes n calls a minute apart; shape, from call `at` on, changes
// them.
type stream struct {
	r       *rand.Rand
	calls   []store.CallSignal
	outMean float64
	refusal float64
	length  float64 // share of finish reason "length"
	prompt  int
	fp      string
}

func newStream(seed uint64) *stream {
	return &stream{r: rand.New(rand.NewPCG(seed, 7)), outMean: 60, refusal: 0.01, length: 0.03, prompt: 1, fp: "fp_a"}
}

func (s *stream) add(n int) {
	for range n {
		i := len(s.calls)
		out := int64(s.outMean - 20 + float64(s.r.IntN(41)))
		ttft := 300 + 60*s.r.NormFloat64()
		otps := 50 + 10*s.r.NormFloat64()
		cost := float64(out) * 1e-5
		c := store.CallSignal{ID: fmt.Sprint("c", i), ReceivedAt: t0.Add(time.Duration(i) * time.Minute),
			OK: s.r.Float64() > 0.005, OutputTokens: out, TTFTMs: &ttft, OTPS: &otps, CostUSD: &cost, FinishReason: "stop",
			Prompt: "triage", PromptVersion: s.prompt, ResponseModel: "gpt-4o-2024-08-06", SystemFingerprint: s.fp}
		if s.r.Float64() < s.length {
			c.FinishReason = "length"
		}
		c.Refusal = s.r.Float64() < s.refusal
		s.calls = append(s.calls, c)
	}
}

func find(fs []Finding, signal string) *Finding {
	for i := range fs {
		if fs[i].Signal == signal {
			return &fs[i]
		}
	}
	return nil
}

func TestDetectShifts(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(s *stream)
		signal string
		dir    string
	}{
		{"output length up 30%", func(s *stream) { s.outMean = 78 }, SignalOutputTokens, "up"},
		{"output length down 30%", func(s *stream) { s.outMean = 42 }, SignalOutputTokens, "down"},
		{"refusals 1% to 10%", func(s *stream) { s.refusal = 0.10 }, SignalRefusalRate, "up"},
		{"finish reasons", func(s *stream) { s.length = 0.25 }, SignalFinishReason, "changed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStream(1)
			s.add(3000)
			c.change(s)
			s.prompt, s.fp = 2, "fp_b" // what else changed, at the same call
			s.add(400)
			fs := Detect(s.calls, nil, Config{})
			f := find(fs, c.signal)
			if f == nil {
				t.Fatalf("no %s finding in %+v", c.signal, fs)
			}
			if f.Direction != c.dir || f.PAdjusted >= 0.001 || f.Effect < f.MinEffect {
				t.Errorf("finding %+v", f)
			}
			// The change began at call 3000 (minute 3000).
			if d := f.StartedAt.Sub(t0.Add(3000 * time.Minute)); d < -60*time.Minute || d > 60*time.Minute {
				t.Errorf("started at %s, %s from the true change", f.StartedAt, d)
			}
			var near []string
			for _, ch := range f.Changes {
				if ch.Near {
					near = append(near, ch.Kind+" "+ch.Value+" was "+ch.Previous)
				}
			}
			want := "model_identity gpt-4o-2024-08-06 fp_b was gpt-4o-2024-08-06 fp_a; prompt_version triage@2 was triage@1"
			if got := strings.Join(near, "; "); got != want {
				t.Errorf("changes near it: %s", got)
			}
			// Only the signal that changed drifted (cost follows output length).
			for _, g := range fs {
				if g.Signal != c.signal && !(c.signal == SignalOutputTokens && g.Signal == SignalCost) {
					t.Errorf("also found %s: %+v", g.Signal, g)
				}
			}
		})
	}
}

func TestDetectQuiet(t *testing.T) {
	// 20 seeds of 8,000 calls without a change, checked every 100 calls
	// as the monitor would: no finding.
	checks := 0
	for seed := range uint64(20) {
		s := newStream(100 + seed)
		s.add(1000)
		for range 70 {
			s.add(100)
			checks++
			if fs := Detect(s.calls[max(0, len(s.calls)-7000):], nil, Config{}); len(fs) > 0 {
				t.Errorf("seed %d, call %d: false alarm %+v", seed, len(s.calls), fs[0])
			}
		}
	}
	if checks != 1400 {
		t.Fatalf("%d checks", checks)
	}
}

func TestDetectSince(t *testing.T) {
	s := newStream(3)
	s.add(3000)
	s.outMean = 78
	s.add(400)
	if f := find(Detect(s.calls, nil, Config{}), SignalOutputTokens); f == nil {
		t.Fatal("the shift was not found")
	}
	// After an event, the new behaviour is the baseline: nothing to find
	// until enough calls follow it.
	since := map[string]time.Time{SignalOutputTokens: t0.Add(3100 * time.Minute), SignalCost: t0.Add(3100 * time.Minute)}
	if fs := Detect(s.calls, since, Config{}); len(fs) != 0 {
		t.Errorf("found again after the event: %+v", fs)
	}
}

func TestDetectTooFewCalls(t *testing.T) {
	s := newStream(4)
	s.add(150)
	s.outMean = 200
	s.add(100)
	if fs := Detect(s.calls, nil, Config{}); len(fs) != 0 {
		t.Errorf("a baseline of 150 calls decided: %+v", fs)
	}
	if fs := Detect(nil, nil, Config{}); fs != nil {
		t.Errorf("no calls: %+v", fs)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{DefaultConfig(), true},
		{Config{Alpha: 1}, false},
		{Config{MinD: 2}, false},
		{Config{MinH: 4}, false},
		{Config{RecentCalls: []int{0}}, false},
	} {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.cfg, err)
		}
	}
}

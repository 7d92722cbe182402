package drift_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/behaviour"
	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/drift/canary"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// The simulator's behaviour switch drives these tests: calls are answered
// by the provider simulator in-process, read as the gateway reads them
// (usage, fingerprint, finish reason, Weir's refusal heuristic), and the
// series is checked as the monitor checks a scope.

var (
	quietSeeds = flag.Int("drift.seeds", 4, "seeds of the no-switch run of TestSimulatorQuiet (docs/drift.md states the figure for 200)")
	quietCalls = flag.Int("drift.calls", 6000, "calls per seed of TestSimulatorQuiet")
)

var simStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// switchAt is the call from which the switched profile answers.
const switchAt = 3000

// sim is one model on the simulator, a call a minute on its clock.
type sim struct {
	t     testing.TB
	srv   *mock.Server
	now   time.Time
	calls []store.CallSignal
	n     int
}

func newSim(t testing.TB, seed int64, p mock.Profile) *sim {
	t.Helper()
	cfg := mock.Config{Seed: seed, Models: map[string]mock.Profile{"gpt-sim": p}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &sim{t: t, srv: mock.New(cfg, nil), now: simStart}
	s.srv.SetClock(func() time.Time { return s.now })
	return s
}

// profile is the usual model: 60±20 output tokens, 1% refusals.
func profile() mock.Profile {
	return mock.Profile{ResponseModel: "gpt-sim-2026-01-01", OutputTokens: 60, OutputTokensJitter: 20, RefusalRate: 0.01}
}

// switched is the usual model switching to sw at call switchAt.
func switched(sw mock.Profile) mock.Profile {
	p := profile()
	p.SwitchAt = simStart.Add(switchAt * time.Minute)
	p.Switch = &sw
	return p
}

// answer posts one chat completion and returns its body.
func (s *sim) answer(extra string) []byte {
	body := fmt.Sprintf(`{"model":"gpt-sim","messages":[{"role":"user","content":"question %d"}]%s}`, s.n, extra)
	s.n++
	req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.srv.ServeHTTP(w, req)
	if w.Code != 200 {
		s.t.Fatalf("simulator answered %d: %s", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// call makes one call and keeps it as a drift signal.
func (s *sim) call() {
	raw := s.answer("")
	var r struct {
		Model             string `json:"model"`
		SystemFingerprint string `json:"system_fingerprint"`
		Choices           []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		s.t.Fatal(err)
	}
	text := behaviour.Text{Limit: behaviour.JSONNone.Limit()}
	ans, err := behaviour.OpenAIAnswer(raw, &text)
	if err != nil {
		s.t.Fatal(err)
	}
	v := behaviour.Judge(ans, &text, behaviour.JSONNone, false)
	s.calls = append(s.calls, store.CallSignal{ID: fmt.Sprint("c", len(s.calls)), ReceivedAt: s.now, OK: true,
		ResponseModel: r.Model, SystemFingerprint: r.SystemFingerprint, FinishReason: r.Choices[0].FinishReason,
		OutputTokens: r.Usage.CompletionTokens, Refusal: v.Refusal})
	s.now = s.now.Add(time.Minute)
}

// detectAfterSwitch makes calls until a finding of the signal (checked
// every 10 calls after the switch, on the last 7,000 calls) and returns
// how many calls after the switch it took, or -1 within limit calls.
func detectAfterSwitch(t *testing.T, s *sim, signal string, limit int) (int, drift.Finding) {
	t.Helper()
	for range switchAt {
		s.call()
	}
	for i := 1; i <= limit; i++ {
		s.call()
		if i%10 != 0 {
			continue
		}
		for _, f := range drift.Detect(s.calls[max(0, len(s.calls)-7000):], nil, drift.Config{}) {
			if f.Signal == signal {
				return i, f
			}
			t.Errorf("another signal found first: %s %+v", f.Signal, f)
		}
	}
	return -1, drift.Finding{}
}

func TestSimulatorSwitch(t *testing.T) {
	out := profile()
	out.OutputTokens = 78 // answers 30% longer
	ref := profile()
	ref.RefusalRate = 0.08 // refusals from 1% to 8%
	for _, c := range []struct {
		name   string
		sw     mock.Profile
		signal string
		bound  int // detection within this many calls, for every seed
	}{
		{"output length +30%", out, drift.SignalOutputTokens, 150},
		{"refusals 1% to 8%", ref, drift.SignalRefusalRate, 600},
	} {
		t.Run(c.name, func(t *testing.T) {
			var delays []int
			for seed := range int64(10) {
				s := newSim(t, seed+1, switched(c.sw))
				d, f := detectAfterSwitch(t, s, c.signal, 2*c.bound)
				if d < 0 || d > c.bound {
					t.Fatalf("seed %d: detected after %d calls, want within %d", seed, d, c.bound)
				}
				if at := f.StartedAt.Sub(simStart.Add(switchAt * time.Minute)); at.Abs() > 100*time.Minute {
					t.Errorf("seed %d: change point %s from the switch", seed, at)
				}
				delays = append(delays, d)
			}
			slices.Sort(delays)
			t.Logf("%s: detected after %v calls (median %d, max %d)", c.name, delays, delays[len(delays)/2], delays[len(delays)-1])
		})
	}
}

// TestSimulatorFingerprint: a switch to a profile that behaves the same
// but answers with another fingerprint is an identity event at the
// switch's first call, and no behaviour drift.
func TestSimulatorFingerprint(t *testing.T) {
	s := newSim(t, 7, switched(profile()))
	for range switchAt + 1000 {
		s.call()
	}
	type key struct{ rm, fp string }
	seen := map[key]*store.ModelIdentity{}
	for _, c := range s.calls {
		k := key{c.ResponseModel, c.SystemFingerprint}
		if m := seen[k]; m != nil {
			m.LastSeen, m.Calls = c.ReceivedAt, m.Calls+1
			continue
		}
		seen[k] = &store.ModelIdentity{Provider: "sim", Model: "gpt-sim", ResponseModel: k.rm, SystemFingerprint: k.fp,
			FirstSeen: c.ReceivedAt, LastSeen: c.ReceivedAt, Calls: 1}
	}
	var ids []store.ModelIdentity
	for _, m := range seen {
		ids = append(ids, *m)
	}
	evs := drift.IdentityEvents(ids)
	if len(evs) != 1 || !evs[0].At.Equal(simStart.Add(switchAt*time.Minute)) || evs[0].Previous.SystemFingerprint == evs[0].Current.SystemFingerprint {
		t.Fatalf("identity events %+v", evs)
	}
	t.Logf("identity event at the switch's first call: %s → %s", evs[0].Previous, evs[0].Current)
	for n := switchAt; n <= len(s.calls); n += 100 {
		if fs := drift.Detect(s.calls[max(0, n-7000):n], nil, drift.Config{}); len(fs) > 0 {
			t.Errorf("call %d: behaviour drift without a change of behaviour: %+v", n, fs[0])
		}
	}
	// What else changed names the fingerprint when behaviour changes too.
	long := profile()
	long.OutputTokens = 90
	s = newSim(t, 8, switched(long))
	_, f := detectAfterSwitch(t, s, drift.SignalOutputTokens, 300)
	if len(f.Changes) == 0 || f.Changes[0].Kind != "model_identity" || !f.Changes[0].Near {
		t.Errorf("changes %+v", f.Changes)
	}
}

// TestSimulatorQuiet runs the simulator without a switch and checks it
// every 50 calls as the monitor would: no finding. -drift.seeds and
// -drift.calls make the long run of docs/drift.md.
func TestSimulatorQuiet(t *testing.T) {
	checks, alarms := 0, 0
	for seed := range int64(*quietSeeds) {
		s := newSim(t, 1000+seed, profile())
		for i := 1; i <= *quietCalls; i++ {
			s.call()
			if i%50 != 0 || i < 400 {
				continue
			}
			checks++
			for _, f := range drift.Detect(s.calls[max(0, len(s.calls)-7000):], nil, drift.Config{}) {
				alarms++
				t.Errorf("seed %d, call %d: false alarm %s: %+v", seed, i, f.Signal, f)
			}
		}
	}
	t.Logf("%d seeds × %d calls: %d false alarms in %d checks", *quietSeeds, *quietCalls, alarms, checks)
}

// simExperiments runs a canary's items on the simulator, asking for JSON
// objects, and scores each answer by whether it is one.
type simExperiments struct {
	s     *sim
	items int
	exps  []experiment.Experiment
	res   map[string][]experiment.Result
}

func (e *simExperiments) Create(_ context.Context, sp experiment.Spec, _ string) (experiment.Created, error) {
	at := e.s.now
	e.exps = append(e.exps, experiment.Experiment{Name: sp.Name, Spec: sp, Status: store.ExperimentDone, CreatedAt: at, StartedAt: &at})
	var res []experiment.Result
	for range e.items {
		raw := e.s.answer(`,"response_format":{"type":"json_object"}`)
		text := behaviour.Text{Limit: behaviour.JSONObject.Limit()}
		ans, err := behaviour.OpenAIAnswer(raw, &text)
		if err != nil {
			return experiment.Created{}, err
		}
		v := behaviour.Judge(ans, &text, behaviour.JSONObject, false)
		pass := v.JSONChecked && v.JSONValid
		res = append(res, experiment.Result{Scores: []experiment.ResultScore{{Criterion: "valid-json", Pass: &pass}}})
	}
	if e.res == nil {
		e.res = map[string][]experiment.Result{}
	}
	e.res[sp.Name] = res
	return experiment.Created{}, nil
}

func (e *simExperiments) Wait(context.Context, string) error { return nil }
func (e *simExperiments) Get(context.Context, string) (experiment.Experiment, error) {
	return experiment.Experiment{}, store.ErrNotFound
}
func (e *simExperiments) List(context.Context) ([]experiment.Experiment, error) {
	return slices.Clone(e.exps), nil
}
func (e *simExperiments) Results(_ context.Context, name string) ([]experiment.Result, error) {
	return e.res[name], nil
}

// TestSimulatorCanary: the model starts breaking 30% of its JSON answers
// at a time when no traffic reaches it; an hourly canary of 20 items
// finds it.
func TestSimulatorCanary(t *testing.T) {
	ctx := context.Background()
	var delays []int
	for seed := range int64(10) {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		broken := profile()
		broken.InvalidJSONRate = 0.3
		p := profile()
		p.SwitchAt, p.Switch = simStart.Add(24*time.Hour), &broken
		s := newSim(t, 50+seed, p)
		ex := &simExperiments{s: s, items: 20}
		run, err := canary.New(canary.Options{Experiments: ex, Events: st, Now: func() time.Time { return s.now },
			Canaries: []canary.Canary{{Name: "json", Dataset: "golden", Model: "gpt-sim", Every: time.Hour,
				Evaluators: []experiment.EvaluatorSpec{{Kind: "json", Criterion: "valid-json"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		found := -1
		for hour := 0; hour < 34 && found < 0; hour++ {
			s.now = simStart.Add(time.Duration(hour) * time.Hour)
			evs, err := run.Tick(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if hour < 24 {
					t.Fatalf("seed %d, run %d: false alarm %s", seed, hour, e.Summary)
				}
				found = hour - 24 + 1 // runs since the switch, this one included
			}
		}
		st.Close()
		if found < 0 || found > 3 {
			t.Fatalf("seed %d: the drop was found after %d runs", seed, found)
		}
		delays = append(delays, found)
	}
	t.Logf("canary of 20 items, valid JSON 100%% → 70%%: found after %v runs", delays)
}

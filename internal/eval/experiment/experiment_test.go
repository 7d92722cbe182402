package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/store"
)

func TestParseCondition(t *testing.T) {
	ok := func(src string, want Condition) {
		t.Helper()
		want.Source = src
		got, err := ParseCondition(src)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", src, diff)
		}
	}
	ok("pass_rate(short) < 0.8", Condition{Metric: "pass_rate", Criterion: "short", Op: "<", Threshold: 0.8})
	ok("  pass_rate( short , variant = mini )<=.5 ", Condition{Metric: "pass_rate", Criterion: "short", Variant: "mini", Op: "<=", Threshold: 0.5})
	ok("mean(tone.v2)>=4", Condition{Metric: "mean", Criterion: "tone.v2", Op: ">=", Threshold: 4})
	ok("regression(short, baseline=A, candidate=B) > 0.05", Condition{Metric: "regression", Criterion: "short", Baseline: "A", Candidate: "B", Op: ">", Threshold: 0.05})
	ok("regression(c, candidate=B, baseline=A) > -1", Condition{Metric: "regression", Criterion: "c", Baseline: "A", Candidate: "B", Op: ">", Threshold: -1})

	bad := func(src, want string) {
		t.Helper()
		_, err := ParseCondition(src)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", src, err, want)
		}
	}
	bad("", "want pass_rate")
	bad("pass_rate short < 0.8", "want pass_rate")
	bad("rate(short) < 0.8", `unknown metric "rate"`)
	bad("pass_rate(short < 0.8", "missing )")
	bad("pass_rate() < 0.8", `criterion ""`)
	bad("pass_rate(short) = 0.8", "want <, <=, > or >=")
	bad("pass_rate(short) < 0.8 )", "not a decimal number")
	bad("pass_rate(short) < 1e3", "not a decimal number")
	bad("pass_rate(short) < ", "not a decimal number")
	bad("pass_rate(short) < 0.8 and 1", "not a decimal number")
	bad("pass_rate(short, mini) < 0.8", "want key=value")
	bad("pass_rate(short, model=mini) < 0.8", "optionally, variant=NAME")
	bad("pass_rate(short, variant=mini, variant=x) < 0.8", "given twice")
	bad("pass_rate(short, variant=) < 0.8", `variant ""`)
	bad("regression(short, baseline=A) > 0.05", "baseline=NAME and candidate=NAME")
	bad("regression(short, baseline=A, candidate=A) > 0.05", "the same variant")
	bad("regression(short, baseline=A, candidate=B, variant=C) > 0.05", "baseline=NAME and candidate=NAME")
	bad(strings.Repeat("x", 2000), "over 1024 bytes")
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"pass_rate(short) < 0.8", "regression(short, baseline=A, candidate=B) > 0.05", "mean(x, variant=y)>=.5", "((", "pass_rate(a)<", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCondition(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		switch c.Op {
		case "<", "<=", ">", ">=":
		default:
			t.Fatalf("%q: op %q", s, c.Op)
		}
		if !criterionRE.MatchString(c.Criterion) || c.Metric == "regression" && (c.Baseline == "" || c.Candidate == "" || c.Variant != "") {
			t.Fatalf("%q parsed to %+v", s, c)
		}
		// Parsing is stable under surrounding spaces.
		c2, err := ParseCondition(" " + s + " ")
		if err != nil || c2.Criterion != c.Criterion || c2.Threshold != c.Threshold || c2.Op != c.Op || c2.Variant != c.Variant {
			t.Fatalf("%q: with spaces %+v, %v", s, c2, err)
		}
	})
}

func validSpec() Spec {
	return Spec{Name: "e1", Dataset: "qa",
		Variants:   []Variant{{Name: "a", Model: "m1"}, {Name: "b", Model: "m2", Prompt: "p@production", Params: json.RawMessage(`{"temperature":0}`)}},
		Evaluators: []EvaluatorSpec{{Kind: "exact_match", Criterion: "right"}, {Kind: "judge", Model: "j", Criterion: "tone"}}}
}

func TestSpecValidate(t *testing.T) {
	s := validSpec()
	if err := s.Validate(); err != nil || s.Concurrency != DefaultConcurrent {
		t.Fatalf("valid spec: %v (concurrency %d)", err, s.Concurrency)
	}
	for _, tt := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"bad name", func(s *Spec) { s.Name = "a/b" }, "experiment name"},
		{"no dataset", func(s *Spec) { s.Dataset = "" }, "a dataset is required"},
		{"negative version", func(s *Spec) { s.DatasetVersion = -1 }, "dataset_version"},
		{"no variants", func(s *Spec) { s.Variants = nil }, "1 to 10 variants"},
		{"twice", func(s *Spec) { s.Variants[1].Name = "a" }, "appears twice"},
		{"no model", func(s *Spec) { s.Variants[0].Model = " " }, "a model"},
		{"params not an object", func(s *Spec) { s.Variants[0].Params = json.RawMessage(`[1]`) }, "params must be a JSON object"},
		{"params set the model", func(s *Spec) { s.Variants[0].Params = json.RawMessage(`{"model":"x"}`) }, `may not set "model"`},
		{"params stream", func(s *Spec) { s.Variants[0].Params = json.RawMessage(`{"stream":true}`) }, `may not set "stream"`},
		{"no evaluators", func(s *Spec) { s.Evaluators = nil }, "1 to 20 evaluators"},
		{"no criterion", func(s *Spec) { s.Evaluators[0].Criterion = "" }, "a criterion is required"},
		{"criterion twice", func(s *Spec) { s.Evaluators[1].Criterion = "right" }, "scored by another evaluator"},
		{"unknown kind", func(s *Spec) { s.Evaluators[0].Kind = "vibes" }, "unknown kind"},
		{"bad config", func(s *Spec) { s.Evaluators[0].Config = json.RawMessage(`{"nope":1}`) }, "unknown field"},
		{"judge without model", func(s *Spec) { s.Evaluators[1].Model = "" }, "a judge needs a model"},
		{"judge config not an object", func(s *Spec) { s.Evaluators[1].Config = json.RawMessage(`[1]`) }, "must be a JSON object"},
		{"judge config response_format", func(s *Spec) { s.Evaluators[1].Config = json.RawMessage(`{"response_format":{}}`) }, `may not set "response_format"`},
		{"code with model", func(s *Spec) { s.Evaluators[0].Model = "m" }, "only a judge has a model"},
		{"concurrency", func(s *Spec) { s.Concurrency = 65 }, "concurrency is 1 to 64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.edit(&s)
			err := s.Validate()
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func FuzzDecodeSpec(f *testing.F) {
	good, _ := json.Marshal(validSpec())
	f.Add(good)
	f.Add([]byte(`{"name":"x"} {}`))
	f.Add([]byte(`{"name":"x","extra":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSpec(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := s.Validate(); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("validate: %v does not wrap ErrInvalid", err)
		}
	})
}

func TestDecodeSpecStrict(t *testing.T) {
	for _, b := range []string{`{"name":"x","extra":1}`, `{"name":"x"} {}`, `[]`, `{"variants":[{"name":"a","modle":"m"}]}`} {
		if _, err := DecodeSpec([]byte(b)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", b, err)
		}
	}
}

func TestSameSpec(t *testing.T) {
	pinned := validSpec()
	pinned.DatasetVersion, pinned.UseCase, pinned.Concurrency = 3, "support", 4
	pinned.Evaluators[0].CriterionVersion, pinned.Evaluators[1].CriterionVersion = 2, 5
	if !sameSpec(pinned, validSpec()) {
		t.Error("an unpinned spec differs from its pinned form")
	}
	other := validSpec()
	other.DatasetVersion = 2
	if sameSpec(pinned, other) {
		t.Error("another dataset version is the same spec")
	}
	other = validSpec()
	other.Variants[0].Model = "m3"
	if sameSpec(pinned, other) {
		t.Error("another model is the same spec")
	}
}

func TestScoreIDDeterministic(t *testing.T) {
	a := ScoreID("e/i/v", "c", 1, "judge:m")
	if a != ScoreID("e/i/v", "c", 1, "judge:m") || a == ScoreID("e/i/v", "c", 2, "judge:m") || a == ScoreID("e/i/w", "c", 1, "judge:m") || len(a) > 64 {
		t.Errorf("score ids: %s", a)
	}
}

func TestCompareWithoutData(t *testing.T) {
	e := Experiment{Name: "e1", Spec: validSpec()}
	c, err := compare(e, nil, "", "")
	if err != nil || c.A != "a" || c.B != "b" || len(c.Differences) != 2 || c.Differences[0].Paired != nil || c.Differences[0].Undefined == "" {
		t.Errorf("compare without results: %+v, %v", c, err)
	}
	for _, ab := range [][2]string{{"a", "a"}, {"a", ""}, {"a", "zz"}} {
		if _, err := compare(e, nil, ab[0], ab[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("compare %v: %v, want ErrInvalid", ab, err)
		}
	}
}

// TestRoutesAreServed: every route in Routes reaches a handler (no
// "no route" 404), and nothing else does.
func TestRoutesAreServed(t *testing.T) {
	h := New(Options{Store: emptyStore{}}).Handler()
	for _, rt := range Routes {
		path := strings.ReplaceAll(rt.Path, "{name}", "e1")
		req := httptest.NewRequest(rt.Method, path, strings.NewReader("{}"))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if strings.Contains(w.Body.String(), "no route") {
			t.Errorf("%s %s: not served", rt.Method, rt.Path)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("DELETE", "/api/v1/experiments/e1", nil))
	if w.Code != 404 && w.Code != 405 {
		t.Errorf("DELETE: %d", w.Code)
	}
}

// emptyStore has no experiment.
type emptyStore struct{ store.ExperimentStore }

func (emptyStore) Experiment(context.Context, string) (store.Experiment, error) {
	return store.Experiment{}, store.ErrNotFound
}

func (emptyStore) ListExperiments(context.Context) ([]store.Experiment, error) {
	return []store.Experiment{}, nil
}

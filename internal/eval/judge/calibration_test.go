package judge

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/evalstats"
	"github.com/weirhq/weir/internal/store"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func fp(f float64) *float64 { return &f }

func bv(b bool) eval.Value     { return eval.Value{Bool: &b} }
func lv(l string) eval.Value   { return eval.Value{Label: l} }
func nv(f float64) eval.Value  { return eval.Value{Number: &f} }
func tgt(i int) string         { return fmt.Sprintf("req_%03d", i) }
func near(a, b float64) bool   { return math.Abs(a-b) < 1e-9 }
func deref(p *float64) float64 { return *p }

// sc builds a score of criterion c version v.
func sc(v int, kind eval.EvaluatorKind, evaluator, target string, val eval.Value, at time.Time) store.StoredScore {
	return store.StoredScore{Score: eval.Score{ID: fmt.Sprintf("sco_%s_%s_%d_%d", evaluator, target, v, at.UnixNano()), Criterion: "c", CriterionVersion: v,
		EvaluatorKind: kind, Evaluator: evaluator, TargetKind: eval.TargetCall, Target: target, Value: val, At: at}}
}

func params(d *eval.Definition, minItems int) Params {
	return Params{Def: d, Criterion: "c", CriterionVersion: 1, Evaluator: "j@1", Threshold: 0.6, MinItems: minItems, Seed: 7, Iterations: 500}
}

// pairsScores makes one human and one judge score per pair (human value,
// judge value) under version 1.
func pairsScores(pairs [][2]eval.Value) (judge, human []store.StoredScore) {
	for i, p := range pairs {
		human = append(human, sc(1, eval.Human, "ann", tgt(i), p[0], t0))
		judge = append(judge, sc(1, eval.LLM, "j@1", tgt(i), p[1], t0))
	}
	return judge, human
}

// TestCalibrateBooleanByHand: 10 items, TP 4, FN 1, TN 3, FP 2. p_o =
// 0.7; people pass 5/10, the judge 6/10, p_e = .5·.6 + .5·.4 = 0.5, kappa
// = (0.7-0.5)/(1-0.5) = 0.4. Sensitivity 4/5, specificity 3/5.
func TestCalibrateBooleanByHand(t *testing.T) {
	d := &eval.Definition{Question: "ok?", Type: eval.Boolean}
	var pairs [][2]eval.Value
	add := func(n int, h, j bool) {
		for range n {
			pairs = append(pairs, [2]eval.Value{bv(h), bv(j)})
		}
	}
	add(4, true, true)
	add(1, true, false)
	add(3, false, false)
	add(2, false, true)
	js, hs := pairsScores(pairs)
	c, err := Calibrate(params(d, 50), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	if c.DoubleScored != 10 || c.Method != "kappa" || c.Agreement.Weighting != "unweighted" {
		t.Errorf("double %d method %s weighting %s", c.DoubleScored, c.Method, c.Agreement.Weighting)
	}
	if k := deref(c.Agreement.Kappa.Estimate); !near(k, 0.4) {
		t.Errorf("kappa = %v, want 0.4", k)
	}
	if a := deref(c.Accuracy); !near(a, 0.7) {
		t.Errorf("accuracy = %v, want 0.7", a)
	}
	wantConf := &Confusion{Rows: "human", Columns: "judge", Labels: []string{"false", "true"}, Counts: [][]int{{3, 2}, {1, 4}}}
	if diff := cmp.Diff(wantConf, c.Confusion); diff != "" {
		t.Errorf("confusion (-want +got):\n%s", diff)
	}
	if c.Pass == nil || !near(deref(c.Pass.Sensitivity), 0.8) || !near(deref(c.Pass.Specificity), 0.6) {
		t.Fatalf("pass stats %+v, want sensitivity 0.8, specificity 0.6", c.Pass)
	}
	if c.Pass.TruePositives != 4 || c.Pass.FalseNegatives != 1 || c.Pass.TrueNegatives != 3 || c.Pass.FalsePositives != 2 {
		t.Errorf("counts %+v", c.Pass.JudgeCalibration)
	}
	if c.Trust.Trusted || c.Trust.MinItems != 50 {
		t.Errorf("trusted with 10 items: %+v", c.Trust)
	}
}

// TestCalibrateMatchesEvalstats: kappa, interval and confusion equal
// evalstats' on the same pairs; labels map to their indexes (not the
// order they appear in), and ordered labels use quadratic weights.
func TestCalibrateMatchesEvalstats(t *testing.T) {
	labels := []string{"poor", "fair", "good"}
	hl := []string{"good", "good", "fair", "poor", "good", "fair", "poor", "fair", "good", "poor", "good", "fair"}
	jl := []string{"good", "fair", "fair", "poor", "good", "good", "fair", "fair", "good", "poor", "poor", "fair"}
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			d := &eval.Definition{Question: "q", Type: eval.Categorical, Labels: labels, Ordered: ordered}
			var pairs [][2]eval.Value
			for i := range hl {
				pairs = append(pairs, [2]eval.Value{lv(hl[i]), lv(jl[i])})
			}
			js, hs := pairsScores(pairs)
			p := params(d, 5)
			c, err := Calibrate(p, js, hs)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := evalstats.Codes(labels, hl)
			b, _ := evalstats.Codes(labels, jl)
			w := evalstats.Unweighted
			if ordered {
				w = evalstats.Quadratic
			}
			ag, ci, err := evalstats.KappaInterval(a, b, 3, w, evalstats.BootstrapOptions{Iterations: p.Iterations, Seed: p.Seed})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Agreement; !near(deref(got.Kappa.Estimate), ag.Kappa) || !near(deref(got.Kappa.Lower), ci.Lower) ||
				!near(deref(got.Kappa.Upper), ci.Upper) || got.Weighting != w.String() {
				t.Errorf("agreement %+v; want kappa %v [%v, %v] %s", got, ag.Kappa, ci.Lower, ci.Upper, w)
			}
			if diff := cmp.Diff(ag.Confusion, c.Confusion.Counts); diff != "" {
				t.Errorf("confusion (-evalstats +got):\n%s", diff)
			}
			// human "good" judged "poor" (item 10) is row good, column poor.
			if c.Confusion.Labels[2] != "good" || c.Confusion.Counts[2][0] != 1 {
				t.Errorf("labels %v counts %v: want one good→poor at [2][0]", c.Confusion.Labels, c.Confusion.Counts)
			}
			if c.Pass != nil {
				t.Errorf("pass stats without pass labels: %+v", c.Pass)
			}
		})
	}
}

// TestCalibrateLikertQuadratic: Likert criteria are ordinal.
func TestCalibrateLikertQuadratic(t *testing.T) {
	d := &eval.Definition{Question: "q", Type: eval.Likert, Points: 5, PassAt: fp(4)}
	h := []int{1, 2, 3, 4, 5, 5, 4, 3, 2, 1}
	j := []int{1, 3, 3, 5, 5, 4, 4, 2, 2, 2}
	var pairs [][2]eval.Value
	a, b := make([]int, len(h)), make([]int, len(h))
	for i := range h {
		pairs = append(pairs, [2]eval.Value{nv(float64(h[i])), nv(float64(j[i]))})
		a[i], b[i] = h[i]-1, j[i]-1
	}
	js, hs := pairsScores(pairs)
	c, err := Calibrate(params(d, 5), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	ag, _ := evalstats.Kappa(a, b, 5, evalstats.Quadratic)
	if !near(deref(c.Agreement.Kappa.Estimate), ag.Kappa) || c.Agreement.Weighting != "quadratic" {
		t.Errorf("kappa %v (%s), want %v quadratic", deref(c.Agreement.Kappa.Estimate), c.Agreement.Weighting, ag.Kappa)
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5"}, c.Confusion.Labels); diff != "" {
		t.Errorf("labels: %s", diff)
	}
	// Pass at 4: people pass items 3,4,5,6 (4 of 10), the judge 3,4,5,6 too.
	if c.Pass == nil || c.Pass.TruePositives != 4 || c.Pass.TrueNegatives != 6 {
		t.Errorf("pass %+v", c.Pass)
	}
}

// TestCalibrateVersionsNeverMixed: scores of version 2 (people's and the
// judge's, of the same targets) change nothing in version 1's calibration.
func TestCalibrateVersionsNeverMixed(t *testing.T) {
	d := &eval.Definition{Question: "ok?", Type: eval.Boolean}
	var pairs [][2]eval.Value
	for i := range 12 {
		pairs = append(pairs, [2]eval.Value{bv(i%2 == 0), bv(i%3 == 0)})
	}
	js, hs := pairsScores(pairs)
	want, err := Calibrate(params(d, 5), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	for i := range 12 {
		// Version 2: opposite values, newer, same judge name and targets.
		js = append(js, sc(2, eval.LLM, "j@1", tgt(i), bv(i%3 != 0), later))
		hs = append(hs, sc(2, eval.Human, "ann", tgt(i), bv(i%2 != 0), later), sc(2, eval.Human, "bob", tgt(i), bv(true), later))
		// Another judge version and a code evaluator on version 1.
		js = append(js, sc(1, eval.LLM, "j@2", tgt(i), bv(true), later), sc(1, eval.Code, "j@1", tgt(i), bv(true), later))
	}
	got, err := Calibrate(params(d, 5), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("version 2 scores changed version 1's calibration (-want +got):\n%s", diff)
	}
}

// TestCalibrateMajorityAndLatest: three people 2 to 1 give a majority;
// two people 1 to 1 tie and the item is left out; a person's and the
// judge's latest score count.
func TestCalibrateMajorityAndLatest(t *testing.T) {
	d := &eval.Definition{Question: "ok?", Type: eval.Boolean}
	js := []store.StoredScore{
		sc(1, eval.LLM, "j@1", "a", bv(false), t0),
		sc(1, eval.LLM, "j@1", "a", bv(true), t0.Add(time.Minute)), // latest: true
		sc(1, eval.LLM, "j@1", "b", bv(false), t0),
		sc(1, eval.LLM, "j@1", "c", bv(true), t0),
	}
	hs := []store.StoredScore{
		sc(1, eval.Human, "ann", "a", bv(true), t0), sc(1, eval.Human, "bob", "a", bv(true), t0), sc(1, eval.Human, "cy", "a", bv(false), t0),
		sc(1, eval.Human, "ann", "b", bv(true), t0), sc(1, eval.Human, "bob", "b", bv(false), t0), // tie
		sc(1, eval.Human, "ann", "c", bv(true), t0),
		sc(1, eval.Human, "ann", "c", bv(false), t0.Add(time.Minute)), // ann's latest on c: false
	}
	c, err := Calibrate(params(d, 5), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	if c.DoubleScored != 2 || c.HumanTies != 1 || c.JudgeItems != 3 || c.HumanItems != 3 {
		t.Errorf("double %d ties %d judge %d human %d; want 2, 1, 3, 3", c.DoubleScored, c.HumanTies, c.JudgeItems, c.HumanItems)
	}
	// a: people true, judge true; c: people false, judge true.
	if diff := cmp.Diff([][]int{{0, 1}, {0, 1}}, c.Confusion.Counts); diff != "" {
		t.Errorf("confusion (-want +got):\n%s", diff)
	}
	// The human ceiling: units a (1,1,0) and b (1,0) as evalstats computes.
	rel, _ := evalstats.Alpha([][]float64{{1, 1, 0}, {1, 0}}, evalstats.NominalMetric)
	if c.HumanCeiling.Units != 2 || c.HumanCeiling.Metric != "nominal" || !near(deref(c.HumanCeiling.Alpha), rel.Alpha) {
		t.Errorf("ceiling %+v, want 2 units nominal alpha %v", c.HumanCeiling, rel.Alpha)
	}
}

// TestTrustedFlips: 40 agreeing items are too few; 60 are enough.
func TestTrustedFlips(t *testing.T) {
	d := &eval.Definition{Question: "ok?", Type: eval.Boolean}
	mk := func(n int) (js, hs []store.StoredScore) {
		var pairs [][2]eval.Value
		for i := range n {
			v := i%2 == 0
			pairs = append(pairs, [2]eval.Value{bv(v), bv(v)})
		}
		// One disagreement so kappa is not trivially 1.
		pairs = append(pairs, [2]eval.Value{bv(true), bv(false)})
		return pairsScores(pairs)
	}
	js, hs := mk(40)
	c, err := Calibrate(params(d, 50), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Trust.Trusted || c.DoubleScored != 41 {
		t.Errorf("41 items: %+v, want untrusted", c.Trust)
	}
	js, hs = mk(60)
	c, err = Calibrate(params(d, 50), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Trust.Trusted || deref(c.Trust.Bound) <= 0.6 {
		t.Errorf("61 items: %+v, want trusted", c.Trust)
	}
	// A judge that agrees by chance only is never trusted, however many items.
	var pairs [][2]eval.Value
	for i := range 200 {
		pairs = append(pairs, [2]eval.Value{bv(i%2 == 0), bv(i%4 < 2)})
	}
	js, hs = pairsScores(pairs)
	c, _ = Calibrate(params(d, 50), js, hs)
	if c.Trust.Trusted {
		t.Errorf("chance judge trusted: %+v", c.Trust)
	}
}

// TestCorrectedPassRateWired: the judge's pass rate counts every item it
// scored (not only the double-scored ones) and is corrected with the
// calibration counts exactly as evalstats.CorrectedPassRate does.
func TestCorrectedPassRateWired(t *testing.T) {
	d := &eval.Definition{Question: "ok?", Type: eval.Boolean}
	var pairs [][2]eval.Value
	for i := range 30 {
		h := i%3 != 0      // 20 pass
		j := h || i%5 == 0 // FP on i = 0, 15 (i%3==0 && i%5==0)
		if i == 1 {
			j = false // one FN
		}
		pairs = append(pairs, [2]eval.Value{bv(h), bv(j)})
	}
	js, hs := pairsScores(pairs)
	// 70 more items only the judge scored: 49 pass.
	for i := range 70 {
		js = append(js, sc(1, eval.LLM, "j@1", tgt(100+i), bv(i < 49), t0))
	}
	c, err := Calibrate(params(d, 50), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	cal := evalstats.JudgeCalibration{TruePositives: 19, FalseNegatives: 1, TrueNegatives: 8, FalsePositives: 2}
	if c.Pass.JudgeCalibration != cal {
		t.Fatalf("calibration counts %+v, want %+v", c.Pass.JudgeCalibration, cal)
	}
	passes := 21 + 49
	if c.Pass.JudgeItems != 100 || c.Pass.JudgePasses != passes {
		t.Errorf("judge items %d passes %d, want 100, %d", c.Pass.JudgeItems, c.Pass.JudgePasses, passes)
	}
	want, err := evalstats.CorrectedPassRate(passes, 100, cal, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !near(deref(c.Pass.Raw.Estimate), want.Raw.Estimate) || !near(deref(c.Pass.Corrected.Estimate), want.Corrected.Estimate) ||
		!near(deref(c.Pass.Corrected.Lower), want.Corrected.Lower) || !near(deref(c.Pass.Corrected.Upper), want.Corrected.Upper) {
		t.Errorf("pass %+v, want raw %v corrected %+v", c.Pass, want.Raw.Estimate, want.Corrected)
	}
}

// TestCalibrateNumeric: Pearson's r and the mean absolute difference by
// hand. people 1,2,3,4; judge 2,2,4,4: means 2.5 and 3; Σdxdy = 1.5·1 +
// .5·1 + .5·1 + 1.5·1 = 4, Σdx² = 5, Σdy² = 4, r = 4/√20; |diffs| 1,0,1,0.
func TestCalibrateNumeric(t *testing.T) {
	d := &eval.Definition{Question: "q", Type: eval.Numeric, Min: fp(0), Max: fp(10)}
	h := []float64{1, 2, 3, 4}
	j := []float64{2, 2, 4, 4}
	var pairs [][2]eval.Value
	for i := range h {
		pairs = append(pairs, [2]eval.Value{nv(h[i]), nv(j[i])})
	}
	js, hs := pairsScores(pairs)
	c, err := Calibrate(params(d, 3), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "correlation" || c.Agreement != nil || c.Note == "" {
		t.Errorf("method %q agreement %+v note %q", c.Method, c.Agreement, c.Note)
	}
	if r := deref(c.Correlation.Pearson.Estimate); !near(r, 4/math.Sqrt(20)) {
		t.Errorf("r = %v, want %v", r, 4/math.Sqrt(20))
	}
	if m := deref(c.Correlation.MeanAbsDiff); !near(m, 0.5) {
		t.Errorf("mean abs diff = %v, want 0.5", m)
	}
	if c.HumanCeiling.Metric != "interval" {
		t.Errorf("ceiling metric %q, want interval", c.HumanCeiling.Metric)
	}
}

// TestCalibrateEmpty: no scores is a calibration with nothing measured,
// not an error, and JSON-safe.
func TestCalibrateEmpty(t *testing.T) {
	d := &eval.Definition{Question: "ok?", Type: eval.Boolean}
	c, err := Calibrate(params(d, 50), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Trust.Trusted || c.Agreement != nil || c.DoubleScored != 0 || c.Pass == nil || c.Pass.Note == "" {
		t.Errorf("%+v", c)
	}
	// All items in one category: kappa undefined, reported as null.
	js, hs := pairsScores([][2]eval.Value{{bv(true), bv(true)}, {bv(true), bv(true)}})
	c, err = Calibrate(params(d, 1), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Agreement.Kappa.Estimate != nil || c.Trust.Trusted {
		t.Errorf("undefined kappa: %+v %+v", c.Agreement, c.Trust)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("undefined statistics do not marshal: %v", err)
	}
}

func TestParseEvaluator(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		v    int
		ok   bool
	}{
		{"tone@3", "tone", 3, true},
		{"a@b@12", "a@b", 12, true},
		{"tone", "", 0, false},
		{"@3", "", 0, false},
		{"tone@0", "", 0, false},
		{"tone@03", "", 0, false},
		{"tone@3x", "", 0, false},
		{"tone@+3", "", 0, false},
	} {
		n, v, ok := ParseEvaluator(tc.in)
		if n != tc.name || v != tc.v || ok != tc.ok {
			t.Errorf("ParseEvaluator(%q) = %q, %d, %v; want %q, %d, %v", tc.in, n, v, ok, tc.name, tc.v, tc.ok)
		}
	}
}

func TestDriftVerdict(t *testing.T) {
	for _, tc := range []struct {
		name        string
		recent, all Period
		alert       bool
	}{
		{"few items", Period{Agreement: fp(0.1), DoubleScored: 5}, Period{Agreement: fp(0.9), DoubleScored: 500, Trusted: true}, false},
		{"dropped", Period{Agreement: fp(0.6), Lower: fp(0.61), DoubleScored: 40}, Period{Agreement: fp(0.8), DoubleScored: 500}, true},
		{"steady", Period{Agreement: fp(0.78), Lower: fp(0.7), DoubleScored: 40}, Period{Agreement: fp(0.8), DoubleScored: 500, Trusted: true}, false},
		{"trust lost", Period{Agreement: fp(0.75), Lower: fp(0.55), DoubleScored: 40}, Period{Agreement: fp(0.8), DoubleScored: 500, Trusted: true}, true},
	} {
		alert, reason, _ := driftVerdict(tc.recent, tc.all, 0.6)
		if alert != tc.alert {
			t.Errorf("%s: alert %v (%s), want %v", tc.name, alert, reason, tc.alert)
		}
	}
}

// TestCalibrateNumericUndefined: without variation r is undefined: null,
// no bound, not trusted, not zero.
func TestCalibrateNumericUndefined(t *testing.T) {
	d := &eval.Definition{Question: "q", Type: eval.Numeric, Min: fp(0), Max: fp(10)}
	js, hs := pairsScores([][2]eval.Value{{nv(3), nv(4)}, {nv(3), nv(5)}, {nv(3), nv(6)}})
	c, err := Calibrate(params(d, 1), js, hs)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Correlation.Pearson
	if p.Estimate != nil || p.Lower != nil || p.Upper != nil || c.Trust.Bound != nil || c.Trust.Trusted {
		t.Errorf("pearson %+v trust %+v: want nulls, untrusted", p, c.Trust)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("undefined statistics do not marshal: %v", err)
	}
	if m := deref(c.Correlation.MeanAbsDiff); !near(m, 2) {
		t.Errorf("mean abs diff %v, want 2", m)
	}
}

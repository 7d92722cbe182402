package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/eval/judge"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

var evalPeople = map[string]auth.Principal{
	"admin":  {Kind: "user", Person: "ada", Role: auth.Admin},
	"viewer": {Kind: "user", Person: "vic", Role: auth.Viewer},
	"cx":     {Kind: "user", Person: "cyd", Role: auth.Viewer, Team: "cx"},
	"rev":    {Kind: "user", Person: "amy", Role: auth.Reviewer},
}

// evalEnv is a dashboard over the real evaluation services, constructed
// as internal/app does, on a fresh SQLite store.
type evalEnv struct {
	env
	crit  *criteria.Service
	ds    *dataset.Service
	exps  *experiment.Service
	judge *judge.Service
}

func newEvalEnv(t *testing.T, src func(evalEnv) EvaluationSources) evalEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return now }
	e := evalEnv{env: env{st: st}}
	e.crit = criteria.New(criteria.Options{Store: st, People: st, Now: clock})
	e.ds = dataset.New(dataset.Options{Store: st, Calls: st, Now: clock})
	e.judge = judge.New(judge.Options{Store: st, Seed: 7, Now: clock})
	e.exps = experiment.New(experiment.Options{Store: st, Datasets: e.ds, Criteria: e.crit, Records: st, Gateway: func() string { return "http://127.0.0.1:1" }, Now: clock})
	t.Cleanup(e.exps.Close)
	if src == nil {
		src = func(e evalEnv) EvaluationSources {
			return EvaluationSources{Criteria: e.crit, Datasets: e.ds, Experiments: e.exps, Judges: e.judge}
		}
	}
	d, err := New(Options{Auth: fakeAuth{evalPeople}, Requests: st, Evaluation: src(e), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	return e
}

// seedEval fills the services: criterion "polite" (two versions, scores
// by people and a judge under version 2), criterion "tone" with a pending
// change, dataset "tickets", judge "polite-judge" and experiment "ab".
func seedEval(t *testing.T, e evalEnv) {
	t.Helper()
	ctx := context.Background()
	ada := criteria.Actor{Name: "ada", Admin: true}
	put := func(name string, in criteria.Input, by criteria.Actor, want string) {
		t.Helper()
		res, err := e.crit.Put(ctx, name, in, by)
		if err != nil || res.Status != want {
			t.Fatalf("put criterion %s: %+v, %v", name, res.Status, err)
		}
	}
	put("polite", criteria.Input{UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "ted",
		Definition: &eval.Definition{Question: "Is the reply polite?", Type: eval.Boolean}}, ada, criteria.StatusApplied)
	put("polite", criteria.Input{Definition: &eval.Definition{Question: "Is the reply polite?", Rubric: "Curt counts as impolite.", Type: eval.Boolean},
		Reason: "curt replies upset customers"}, ada, criteria.StatusApplied)
	no := false
	put("tone", criteria.Input{UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "ted", RequiresApproval: ptr(true),
		Definition: &eval.Definition{Question: "Is the tone right?", Type: eval.Likert, Points: 5}}, ada, criteria.StatusApplied)
	put("tone", criteria.Input{RequiresApproval: &no, Reason: "too slow"}, criteria.Actor{Name: "bea"}, criteria.StatusPending)

	// Judge scores and people's scores on twelve calls: they disagree on
	// two.
	if _, err := e.judge.Create(ctx, judge.Input{Name: "polite-judge", Criterion: "polite", Definition: judge.Definition{Model: "gpt-4o-mini", MinItems: 5}}, "ada"); err != nil {
		t.Fatal(err)
	}
	var human, llm []criteria.ScoreInput
	for i := range 12 {
		target := fmt.Sprintf("call-%03d", i)
		hv, jv := i%3 != 0, i%3 != 0
		if i == 4 || i == 9 {
			jv = !jv
		}
		human = append(human, criteria.ScoreInput{Criterion: "polite", EvaluatorKind: eval.Human, TargetKind: eval.TargetCall, Target: target, Value: eval.Value{Bool: ptr(hv)}, At: now.Add(-time.Hour)})
		llm = append(llm, criteria.ScoreInput{Criterion: "polite", EvaluatorKind: eval.LLM, Evaluator: "polite-judge@1", TargetKind: eval.TargetCall, Target: target, Value: eval.Value{Bool: ptr(jv)}, At: now.Add(-time.Hour)})
	}
	if _, _, err := e.crit.PutScores(ctx, human, criteria.Actor{Name: "amy"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.crit.PutScores(ctx, llm, criteria.Actor{Name: "ada"}); err != nil {
		t.Fatal(err)
	}
	// A second reviewer on six of them, who disagrees with amy on one:
	// people's agreement is measurable, and that item ties.
	var bob []criteria.ScoreInput
	for _, sc := range human[:6] {
		if sc.Target == "call-005" {
			sc.Value = eval.Value{Bool: ptr(!*sc.Value.Bool)}
		}
		bob = append(bob, sc)
	}
	if _, _, err := e.crit.PutScores(ctx, bob, criteria.Actor{Name: "bob"}); err != nil {
		t.Fatal(err)
	}

	if _, err := e.ds.Create(ctx, dataset.Dataset{Name: "tickets", UseCase: "support", Description: "Real tickets"}, "ada"); err != nil {
		t.Fatal(err)
	}
	var items []dataset.Item
	for i := range 3 {
		items = append(items, dataset.Item{ID: fmt.Sprintf("it-%d", i),
			Messages: json.RawMessage(fmt.Sprintf(`[{"role":"user","content":"Where is my <parcel> %d?"}]`, i)),
			Expected: json.RawMessage(fmt.Sprintf(`"On its way %d."`, i)), Tags: []string{"parcel"}, Split: "test", SourceCall: fmt.Sprintf("call-%03d", i)})
	}
	if _, err := e.ds.AddItems(ctx, "tickets", items, "first import", "ada"); err != nil {
		t.Fatal(err)
	}

	// An experiment, stored as a finished run would leave it: two
	// variants on the three items, scored by a code evaluator.
	spec := experiment.Spec{Name: "ab", Dataset: "tickets", DatasetVersion: 1, UseCase: "support",
		Variants:   []experiment.Variant{{Name: "mini", Model: "gpt-4o-mini"}, {Name: "big", Model: "gpt-4o"}},
		Evaluators: []experiment.EvaluatorSpec{{Kind: "contains", Criterion: "polite", CriterionVersion: 2, Config: json.RawMessage(`{"value":"way"}`)}}}
	raw, _ := json.Marshal(spec)
	if _, err := e.st.CreateExperiment(ctx, store.Experiment{Name: "ab", Spec: raw, Status: "done", CreatedAt: now.Add(-time.Hour), CreatedBy: "ada", Total: 6}); err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		for _, v := range spec.Variants {
			pass := v.Name == "big" || i == 0
			cost := pricing.Milli
			if v.Name == "big" {
				cost = 5 * pricing.Milli
			}
			doc, _ := json.Marshal(experiment.Result{Item: it.ID, Variant: v.Name, Output: "ok", CostUSD: &cost, LatencyMs: float64(100 * (i + 1)),
				Scores: []experiment.ResultScore{{Criterion: "polite", CriterionVersion: 2, EvaluatorKind: eval.Code, Evaluator: "contains", Value: &eval.Value{Bool: ptr(pass)}, Pass: ptr(pass)}}})
			if err := e.st.PutExperimentResult(ctx, store.ExperimentResult{Experiment: "ab", Item: it.ID, Variant: v.Name, Doc: doc, At: now}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (e evalEnv) page(t *testing.T, target string) string {
	t.Helper()
	w := e.do(t, req{target: target, session: "viewer"})
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", target, w.Code, w.Body.String())
	}
	body := w.Body.String()
	if strings.Contains(body, " style=") || strings.Contains(body, "<style") || strings.Contains(body, "<script>") {
		t.Errorf("GET %s: inline style or script, which the CSP blocks", target)
	}
	return body
}

func wantAll(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(body, s) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
}

func TestEvaluationPages(t *testing.T) {
	e := newEvalEnv(t, nil)
	seedEval(t, e)
	ctx := context.Background()

	body := e.page(t, "/ui/evaluation")
	wantAll(t, "the Evaluation page", body,
		`href="/ui/evaluation" aria-current="page"`,
		`href="/ui/evaluation/criteria/polite"`, "bea / ted", `<td class="num">2</td>`,
		`href="/ui/evaluation/criteria/tone"`, `<span class="warn">by bea`,
		`href="/ui/evaluation/datasets/tickets"`, `<td class="num">3</td>`,
		`href="/ui/evaluation/experiments/ab"`, "6 / 6", "done",
		`href="/ui/evaluation/judges/polite-judge"`, "polite</a>@2", "gpt-4o-mini")
	cal, err := e.judge.Calibration(ctx, "polite-judge", judge.CalibrationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	trusted := `<span class="bad">no</span>`
	if cal.Trust.Trusted {
		trusted = `<span class="ok">yes</span>`
	}
	wantAll(t, "the Evaluation page", body, trusted)

	// The criterion: both versions with what changed, and the scores
	// under version 2 only, per evaluator kind.
	body = e.page(t, "/ui/evaluation/criteria/polite")
	h, err := e.crit.History(ctx, "polite", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Versions) != 2 || len(h.Versions[0].Totals) != 0 || len(h.Versions[1].Totals) != 2 {
		t.Fatalf("history: %+v", h)
	}
	want := []string{"curt replies upset customers", "rubric changed", "first version", "no scores", "Curt counts as impolite."}
	for _, k := range h.Versions[1].Totals {
		want = append(want, fmt.Sprintf("<strong>%s</strong>: %d scores, pass rate %s (%d / %d)", k.EvaluatorKind, k.Count, strconv.FormatFloat(*k.PassRate*100, 'f', 1, 64)+"%", k.Passes, k.Judged))
	}
	wantAll(t, "the criterion page", body, want...)
	body = e.page(t, "/ui/evaluation/criteria/tone")
	wantAll(t, "the tone page", body, "A change is waiting for approval: proposed by bea", "too slow", `<span class="warn">pending</span>`, "yes: a change by one owner")

	// The dataset: its version and items, escaped, linked to their calls.
	body = e.page(t, "/ui/evaluation/datasets/tickets")
	wantAll(t, "the dataset page", body, "Real tickets", "first import", "Items of version 1",
		"user: Where is my &lt;parcel&gt; 1?", "On its way 2.", `<span class="tag">parcel</span>`, "<td>test</td>", `href="/ui/calls/call-002"`)
	if strings.Contains(body, "<parcel>") {
		t.Error("an item's input is not escaped")
	}

	// The experiment: the numbers are the service's comparison's.
	body = e.page(t, "/ui/evaluation/experiments/ab")
	c, err := e.exps.Compare(ctx, "ab", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.A != "mini" || c.B != "big" || len(c.Differences) != 1 || c.Differences[0].Paired == nil {
		t.Fatalf("comparison: %+v", c)
	}
	d := c.Differences[0]
	pr := c.Variants[1].Criteria[0].PassRate
	wantAll(t, "the experiment page", body, "Variant <strong>big</strong> against <strong>mini</strong>",
		fmt.Sprintf("%s [%s, %s]", strconv.FormatFloat(d.Paired.Difference.Estimate, 'f', 3, 64), strconv.FormatFloat(d.Paired.Difference.Lower, 'f', 3, 64), strconv.FormatFloat(d.Paired.Difference.Upper, 'f', 3, 64)),
		fmt.Sprintf(`<td class="num">%s</td>`, strconv.FormatFloat(d.Paired.P, 'f', 3, 64)),
		fmt.Sprintf(`<td class="num">%d</td>`, len(d.Better)),
		fmt.Sprintf("%s [%s, %s]", strconv.FormatFloat(pr.Estimate*100, 'f', 1, 64)+"%", strconv.FormatFloat(pr.Lower*100, 'f', 1, 64)+"%", strconv.FormatFloat(pr.Upper*100, 'f', 1, 64)+"%"),
		"$0.001000", "$0.005000", "200 ms / 300 ms", "Better: it-1, it-2", `max="6" value="6"`)

	// The judge: its calibration as the service computes it.
	body = e.page(t, "/ui/evaluation/judges/polite-judge")
	if cal.Agreement == nil || cal.Agreement.Kappa.Estimate == nil || cal.Pass == nil || cal.Confusion == nil || cal.HumanCeiling.Alpha == nil {
		t.Fatalf("calibration: %+v", cal)
	}
	k := cal.Agreement.Kappa
	wantAll(t, "the judge page", body, "polite-judge@1",
		"Cohen's kappa</dt><dd>"+strconv.FormatFloat(*k.Estimate, 'f', 3, 64)+" ["+strconv.FormatFloat(*k.Lower, 'f', 3, 64)+", "+strconv.FormatFloat(*k.Upper, 'f', 3, 64)+"]",
		"Accuracy</dt><dd>"+strconv.FormatFloat(*cal.Accuracy*100, 'f', 1, 64)+"%",
		fmt.Sprintf("Double-scored items</dt><dd>%d ", cal.DoubleScored),
		fmt.Sprintf("TP %d, FN %d, TN %d, FP %d", cal.Pass.TruePositives, cal.Pass.FalseNegatives, cal.Pass.TrueNegatives, cal.Pass.FalsePositives),
		"Pass rate, corrected</dt><dd>"+strconv.FormatFloat(*cal.Pass.Corrected.Estimate*100, 'f', 1, 64)+"%",
		fmt.Sprintf("%s %s <span class=\"small muted\">over %d items", cal.HumanCeiling.Metric, strconv.FormatFloat(*cal.HumanCeiling.Alpha, 'f', 3, 64), cal.HumanCeiling.Units),
		"1 left out where people tie", cal.Trust.Reason, "Confusion matrix")
	if cal.DoubleScored != 11 || cal.HumanTies != 1 || cal.HumanCeiling.Units != 6 {
		t.Errorf("double-scored %d, ties %d, units %d; want 11, 1, 6", cal.DoubleScored, cal.HumanTies, cal.HumanCeiling.Units)
	}
	// The confusion matrix's cells, row by row.
	for i, row := range cal.Confusion.Counts {
		var b strings.Builder
		fmt.Fprintf(&b, `<tr><th scope="row">%s</th>`, cal.Confusion.Labels[i])
		for _, n := range row {
			fmt.Fprintf(&b, `<td class="num">%d</td>`, n)
		}
		wantAll(t, "the confusion matrix", body, b.String())
	}
}

func TestEvaluationPagesEmpty(t *testing.T) {
	e := newEvalEnv(t, nil)
	body := e.page(t, "/ui/evaluation")
	wantAll(t, "the empty Evaluation page", body, "No criteria yet", "No datasets yet", "No experiments yet", "No judges yet")
	for _, target := range []string{"/ui/evaluation/criteria/x", "/ui/evaluation/datasets/x", "/ui/evaluation/experiments/x", "/ui/evaluation/judges/x"} {
		if w := e.do(t, req{target: target, session: "viewer"}); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, w.Code)
		}
	}
	// A dataset without items and a judge without scores.
	ctx := context.Background()
	if _, err := e.ds.Create(ctx, dataset.Dataset{Name: "empty"}, "ada"); err != nil {
		t.Fatal(err)
	}
	wantAll(t, "an empty dataset", e.page(t, "/ui/evaluation/datasets/empty"), "No version yet")
	if _, err := e.crit.Put(ctx, "c", criteria.Input{UseCase: "u", BusinessOwner: "a", TechnicalOwner: "b",
		Definition: &eval.Definition{Question: "Q?", Type: eval.Boolean}}, criteria.Actor{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	wantAll(t, "a criterion without scores", e.page(t, "/ui/evaluation/criteria/c"), "no scores", "No change was ever proposed")
	if _, err := e.judge.Create(ctx, judge.Input{Name: "j", Criterion: "c", Definition: judge.Definition{Model: "m"}}, "ada"); err != nil {
		t.Fatal(err)
	}
	wantAll(t, "a judge without scores", e.page(t, "/ui/evaluation/judges/j"), "Not trusted")
	wantAll(t, "the Evaluation page with a judge", e.page(t, "/ui/evaluation"), `href="/ui/evaluation/judges/j"`, "c</a>@1", `<span class="bad">no</span>`)
	// Past evalListCalibrations judges the list links to each judge's
	// calibration instead of computing them all.
	for i := range evalListCalibrations {
		if _, err := e.judge.Create(ctx, judge.Input{Name: fmt.Sprintf("j%02d", i), Criterion: "c", Definition: judge.Definition{Model: "m"}}, "ada"); err != nil {
			t.Fatal(err)
		}
	}
	body = e.page(t, "/ui/evaluation")
	wantAll(t, "the Evaluation page with many judges", body, `<a href="/ui/evaluation/judges/j07">calibration</a>`, "open each judge to see whether it is trusted")
	if strings.Contains(body, `<span class="bad">no</span>`) {
		t.Error("the calibrations were computed for too many judges")
	}
}

func TestEvaluationPagesUnwired(t *testing.T) {
	e := newEvalEnv(t, func(evalEnv) EvaluationSources { return EvaluationSources{} })
	body := e.page(t, "/ui/evaluation")
	wantAll(t, "the unwired Evaluation page", body, "Criteria are not set up here.", "Datasets are not set up here.",
		"Experiments are not set up here.", "Judges are not set up here.")
	for _, target := range []string{"/ui/evaluation/criteria/x", "/ui/evaluation/datasets/x", "/ui/evaluation/experiments/x", "/ui/evaluation/judges/x"} {
		w := e.do(t, req{target: target, session: "viewer"})
		if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "are not set up here") {
			t.Errorf("GET %s: %d, want 404 with a note", target, w.Code)
		}
	}
	// One source wired: the others still say so.
	e = newEvalEnv(t, func(e evalEnv) EvaluationSources { return EvaluationSources{Datasets: e.ds} })
	body = e.page(t, "/ui/evaluation")
	wantAll(t, "a partly wired Evaluation page", body, "Criteria are not set up here.", "No datasets yet", "Judges are not set up here.")
}

func TestEvaluationAccess(t *testing.T) {
	e := newEvalEnv(t, nil)
	seedEval(t, e)
	targets := []string{"/ui/evaluation", "/ui/evaluation/criteria/polite", "/ui/evaluation/datasets/tickets", "/ui/evaluation/experiments/ab", "/ui/evaluation/judges/polite-judge"}
	for _, session := range []string{"cx", "rev"} {
		for _, target := range targets {
			w := e.do(t, req{target: target, session: session})
			if w.Code != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", session, target, w.Code)
			}
			if strings.Contains(w.Body.String(), "polite-judge@1") || strings.Contains(w.Body.String(), "On its way") {
				t.Errorf("%s GET %s: the refusal shows evaluation data", session, target)
			}
		}
	}
	for _, target := range targets {
		if w := e.do(t, req{target: target, session: "admin"}); w.Code != http.StatusOK {
			t.Errorf("admin GET %s: %d", target, w.Code)
		}
		if w := e.do(t, req{target: target}); w.Code != http.StatusSeeOther {
			t.Errorf("anonymous GET %s: %d, want 303 to sign in", target, w.Code)
		}
	}
	// The navigation: Evaluation right before Review for readers, absent
	// for a reviewer.
	nav := navLinks.FindString(e.page(t, "/ui/calls"))
	if !strings.Contains(nav, `href="/ui/evaluation"`) {
		t.Errorf("a viewer's navigation lacks Evaluation:\n%s", nav)
	}
	if i, j := strings.Index(nav, `href="/ui/settings"`), strings.Index(nav, `href="/ui/evaluation"`); i < 0 || j < i {
		t.Errorf("Evaluation is not after Settings:\n%s", nav)
	}
}

func TestEvaluationDatasetPages(t *testing.T) {
	e := newEvalEnv(t, nil)
	ctx := context.Background()
	if _, err := e.ds.Create(ctx, dataset.Dataset{Name: "big"}, "ada"); err != nil {
		t.Fatal(err)
	}
	var items []dataset.Item
	for i := range evalItemsPage + 5 {
		items = append(items, dataset.Item{ID: fmt.Sprintf("item-%02d", i), Variables: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
	}
	if _, err := e.ds.AddItems(ctx, "big", items, "", "ada"); err != nil {
		t.Fatal(err)
	}
	body := e.page(t, "/ui/evaluation/datasets/big")
	next := regexp.MustCompile(`href="(/ui/evaluation/datasets/big\?cursor=\d+)">Next items`).FindStringSubmatch(body)
	if next == nil || !strings.Contains(body, "item-49") || strings.Contains(body, "item-50") || !strings.Contains(body, "(the first 50)") {
		t.Fatalf("the first page of items:\n%s", body)
	}
	body = e.page(t, next[1])
	if !strings.Contains(body, "item-54") || strings.Contains(body, "item-49") || strings.Contains(body, "Next items") || !strings.Contains(body, "← First items") {
		t.Errorf("the second page of items:\n%s", body)
	}
	if w := e.do(t, req{target: "/ui/evaluation/datasets/big?cursor=x", session: "viewer"}); w.Code != http.StatusBadRequest {
		t.Errorf("a bad cursor: %d, want 400", w.Code)
	}
}

func TestInputText(t *testing.T) {
	for _, tc := range []struct {
		item dataset.Item
		want string
	}{
		{dataset.Item{Messages: json.RawMessage(`[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <b>"}]`)}, "system: Be brief. · user: Hi <b>"},
		{dataset.Item{Messages: json.RawMessage(`[{"role":"user","content":[{"type":"text","text":"a&b"}]}]`)}, `user: [{"text":"a&b","type":"text"}]`},
		{dataset.Item{Variables: json.RawMessage(`{"city":"<Paris>","n":2}`)}, `{"city":"<Paris>","n":2}`},
		{dataset.Item{Messages: json.RawMessage(`{"not":"a list"}`)}, `{"not":"a list"}`},
		{dataset.Item{}, ""},
	} {
		if got := inputText(tc.item); got != tc.want {
			t.Errorf("inputText(%s%s) = %q, want %q", tc.item.Messages, tc.item.Variables, got, tc.want)
		}
	}
	long := strings.Repeat("é", evalPreview+10)
	if got := preview(long); utf8.RuneCountInString(got) != evalPreview+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("preview of %d runes: %d runes", evalPreview+10, utf8.RuneCountInString(got))
	}
	if got := preview("short"); got != "short" {
		t.Errorf("preview(short) = %q", got)
	}
}

package judge

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/eval"
)

// TestDisagreementsGoToPeople: targets on which two judges of the same
// criterion version give different verdicts are queued for people when
// the judge names a dispute queue; agreement and a judge without the
// queue queue nothing.
func TestDisagreementsGoToPeople(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, id := range []string{"req_1", "req_2", "req_3"} {
		e.call(t, id, "Where is my parcel?", "It left today.")
	}
	// The lenient judge passes everything, the strict one nothing.
	e.gw.reply = func(c Completion) (string, error) {
		if c.Model == "strict" {
			return `{"reasoning":"curt","score":false}`, nil
		}
		return `{"reasoning":"fine","score":true}`, nil
	}
	if _, err := e.svc.Create(ctx, Input{Name: "lenient", Criterion: "polite", Definition: Definition{Model: "lenient"}}, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(ctx, Input{Name: "strict", Criterion: "polite", Definition: Definition{Model: "strict", DisputeQueue: "polite-disputes"}}, "ann"); err != nil {
		t.Fatal(err)
	}
	targets := []Target{{Kind: eval.TargetCall, ID: "req_1"}, {Kind: eval.TargetCall, ID: "req_2"}}
	run, err := e.svc.Score(ctx, "lenient", 0, targets, "ann")
	if err != nil || run.Disagreements != 0 || len(e.sink.got) != 0 {
		t.Fatalf("first judge: %+v %v, queued %v", run, err, e.sink.got)
	}
	// req_3 is judged by the strict judge alone: nothing to disagree with.
	run, err = e.svc.Score(ctx, "strict", 0, append(targets, Target{Kind: eval.TargetCall, ID: "req_3"}), "ann")
	if err != nil || run.Scored != 3 {
		t.Fatalf("second judge: %+v %v", run, err)
	}
	slices.Sort(e.sink.got)
	want := []string{"polite-disputes/call/req_1", "polite-disputes/call/req_2"}
	if run.Disagreements != 2 || !slices.Equal(e.sink.got, want) {
		t.Errorf("disagreements %d, queued %v; want %v", run.Disagreements, e.sink.got, want)
	}
	// The lenient judge has no disagreement queue: scoring again queues nothing more.
	if run, err := e.svc.Score(ctx, "lenient", 0, targets, "ann"); err != nil || run.Disagreements != 0 || len(e.sink.got) != 2 {
		t.Errorf("lenient again: %+v %v, queued %v", run, err, e.sink.got)
	}
}

// TestUnsureGoesToPeople: a score given with a confidence under the judge
// version's unsure_below is queued for people; a sure one is not; the
// score is stored either way.
func TestUnsureGoesToPeople(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.call(t, "req_1", "Where is my parcel?", "It left today.")
	e.call(t, "req_2", "Refund?", "Maybe.")
	e.gw.reply = func(c Completion) (string, error) {
		if strings.Contains(c.User, "Maybe.") {
			return `{"reasoning":"hard to say","score":true,"confidence":0.3}`, nil
		}
		return `{"reasoning":"clearly polite","score":true,"confidence":0.95}`, nil
	}
	if _, err := e.svc.Create(ctx, Input{Name: "tone", Criterion: "polite", Definition: Definition{Model: "m", DisputeQueue: "polite-disputes", UnsureBelow: 0.6}}, "ann"); err != nil {
		t.Fatal(err)
	}
	run, err := e.svc.Score(ctx, "tone", 0, []Target{{Kind: eval.TargetCall, ID: "req_1"}, {Kind: eval.TargetCall, ID: "req_2"}}, "ann")
	if err != nil || run.Scored != 2 || run.Unsure != 1 || run.Disagreements != 0 || !slices.Equal(e.sink.got, []string{"polite-disputes/call/req_2"}) {
		t.Errorf("run %+v %v, queued %v", run, err, e.sink.got)
	}
}

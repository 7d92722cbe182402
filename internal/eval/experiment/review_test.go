package experiment

import (
	"fmt"
	"strings"
	"testing"
)

func TestReviewRule(t *testing.T) {
	r := &ReviewRule{Queue: "q", Share: 0.25}
	n := 0
	for i := range 2000 {
		item := fmt.Sprintf("i%04d", i)
		got := r.reviewed("e", item, "v")
		if got != r.reviewed("e", item, "v") {
			t.Fatal("the draw is not stable")
		}
		if got {
			n++
		}
	}
	if n < 420 || n > 580 {
		t.Errorf("share 0.25 drew %d of 2000", n)
	}
	var none *ReviewRule
	if none.reviewed("e", "i", "v") || !(&ReviewRule{Queue: "q", Share: 1}).reviewed("e", "i", "v") {
		t.Error("nil rule or share 1")
	}
	base := func() Spec {
		return Spec{Name: "e", Dataset: "d", Variants: []Variant{{Name: "a", Model: "m"}},
			Evaluators: []EvaluatorSpec{{Kind: "length", Config: []byte(`{"min":1}`), Criterion: "c"}}}
	}
	for _, tc := range []struct {
		rule *ReviewRule
		want string
	}{
		{&ReviewRule{Queue: "q", Share: 0}, "review.share"},
		{&ReviewRule{Queue: "q", Share: 1.5}, "review.share"},
		{&ReviewRule{Queue: "bad name!", Share: 0.5}, "review.queue"},
		{&ReviewRule{Queue: "q", Share: 0.5}, ""},
	} {
		sp := base()
		sp.Review = tc.rule
		err := sp.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.rule, err, tc.want)
		}
	}
}

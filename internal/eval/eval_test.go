package eval

import (
	"errors"
	"testing"
)

func f(v float64) *float64 { return &v }

var (
	boolean = Definition{Question: "Resolved?", Type: Boolean}
	tone    = Definition{Question: "Tone?", Type: Categorical, Labels: []string{"rude", "neutral", "warm"}, Ordered: true, PassLabels: []string{"neutral", "warm"}}
	score   = Definition{Question: "Accuracy 0-1", Type: Numeric, Min: f(0), Max: f(1), PassAt: f(0.8)}
	likert  = Definition{Question: "Helpfulness", Type: Likert, Points: 5, PassAt: f(4)}
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Definition
		ok   bool
	}{
		{"boolean", boolean, true},
		{"categorical", tone, true},
		{"numeric", score, true},
		{"likert", likert, true},
		{"no question", Definition{Type: Boolean}, false},
		{"unknown type", Definition{Question: "q", Type: "stars"}, false},
		{"one label", Definition{Question: "q", Type: Categorical, Labels: []string{"a"}}, false},
		{"duplicate label", Definition{Question: "q", Type: Categorical, Labels: []string{"a", "A"}}, false},
		{"pass label not a label", Definition{Question: "q", Type: Categorical, Labels: []string{"a", "b"}, PassLabels: []string{"c"}}, false},
		{"numeric without range", Definition{Question: "q", Type: Numeric}, false},
		{"numeric min >= max", Definition{Question: "q", Type: Numeric, Min: f(1), Max: f(1)}, false},
		{"pass_at outside", Definition{Question: "q", Type: Numeric, Min: f(0), Max: f(1), PassAt: f(2)}, false},
		{"likert 4 points", Definition{Question: "q", Type: Likert, Points: 4}, false},
		{"likert 7", Definition{Question: "q", Type: Likert, Points: 7}, true},
		{"boolean with labels", Definition{Question: "q", Type: Boolean, Labels: []string{"a", "b"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.d.Validate()
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestParseValueCheckPassCategory(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d        Definition
		in       string
		ok       bool
		pass     bool
		passKnow bool
		cat      int
	}{
		{"yes", boolean, "Yes", true, true, true, 1},
		{"fail", boolean, "fail", true, false, true, 0},
		{"maybe", boolean, "maybe", false, false, false, 0},
		{"label any case", tone, "WARM", true, true, true, 2},
		{"label not passing", tone, "rude", true, false, true, 0},
		{"unknown label", tone, "cold", false, false, false, 0},
		{"number", score, "0.85", true, true, true, 0},
		{"number below pass", score, "0.5", true, false, true, 0},
		{"number out of range", score, "1.5", false, false, false, 0},
		{"NaN", score, "NaN", false, false, false, 0},
		{"likert", likert, "4", true, true, true, 3},
		{"likert fraction", likert, "3.5", false, false, false, 0},
		{"likert 0", likert, "0", false, false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.d.ParseValue(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseValue(%q) = %+v, %v", tc.in, v, err)
			}
			if err != nil {
				return
			}
			if err := tc.d.Check(v); err != nil {
				t.Errorf("Check of a parsed value: %v", err)
			}
			pass, know := tc.d.Pass(v)
			if pass != tc.pass || know != tc.passKnow {
				t.Errorf("Pass = %v, %v; want %v, %v", pass, know, tc.pass, tc.passKnow)
			}
			if c, ok := tc.d.Category(v); tc.d.Type != Numeric && (!ok || c != tc.cat) {
				t.Errorf("Category = %d, %v; want %d", c, ok, tc.cat)
			}
		})
	}
	if err := boolean.Check(Value{}); err == nil {
		t.Error("an empty value passed Check")
	}
	yes := true
	if err := boolean.Check(Value{Bool: &yes, Label: "x"}); err == nil {
		t.Error("a value with two fields passed Check")
	}
	if tone.Categories() != 3 || likert.Categories() != 5 || !likert.Ordinal() || !tone.Ordinal() || boolean.Ordinal() {
		t.Error("categories or ordinal wrong")
	}
}

// FuzzParseValue: whatever a judge or a CSV says, parsing never panics
// and what it accepts passes Check.
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"true", "warm", "0.5", "4", " 1e3 ", "-0", "Inf"} {
		f.Add(s)
	}
	defs := []Definition{boolean, tone, score, likert}
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range defs {
			v, err := d.ParseValue(s)
			if err == nil {
				if err := d.Check(v); err != nil {
					t.Fatalf("%s accepted %q as %+v, which fails Check: %v", d.Type, s, v, err)
				}
			}
		}
	})
}

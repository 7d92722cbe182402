// Package eval holds the vocabulary of Weir's continuous evaluation: what
// a criterion asks and how it is scored, what a score is and who gave it.
// The criteria and datasets services, the evaluators (code, LLM judges,
// human review), experiments and calibration all speak these types; this
// package only defines them and checks them, it stores and runs nothing.
package eval

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is wrapped when a definition or a score is refused.
var ErrInvalid = errors.New("invalid")

// ScoreType is how a criterion is scored.
type ScoreType string

// The score types.
const (
	// Boolean scores are pass (true) or fail (false).
	Boolean ScoreType = "boolean"
	// Categorical scores are one of the criterion's named labels.
	Categorical ScoreType = "categorical"
	// Numeric scores are a number in the criterion's [Min, Max].
	Numeric ScoreType = "numeric"
	// Likert scores are an integer from 1 to the criterion's Points (5, 7
	// or 10), ordered: higher is better.
	Likert ScoreType = "likert"
)

// Definition is what a criterion asks and how it is scored: the part of a
// criterion whose every change makes a new version.
type Definition struct {
	// Question is what is judged, e.g. "Does the reply resolve the
	// customer's problem?".
	Question string `json:"question"`
	// Rubric tells a reviewer or a judge how to decide, with examples.
	Rubric string    `json:"rubric"`
	Type   ScoreType `json:"type"`
	// Labels are the categorical labels, in a meaningful order when
	// Ordered (e.g. poor, fair, good).
	Labels  []string `json:"labels,omitempty"`
	Ordered bool     `json:"ordered,omitempty"`
	// PassLabels are the labels that count as a pass, for pass rates of
	// categorical criteria (optional).
	PassLabels []string `json:"pass_labels,omitempty"`
	// Min and Max bound numeric scores.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Points is the Likert scale's size: 5, 7 or 10.
	Points int `json:"points,omitempty"`
	// PassAt is the lowest numeric or Likert score that counts as a pass
	// (optional; boolean true always passes).
	PassAt *float64 `json:"pass_at,omitempty"`
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// Validate checks the definition.
func (d *Definition) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	if strings.TrimSpace(d.Question) == "" {
		return bad("a criterion needs a question")
	}
	if len(d.Question) > 2000 || len(d.Rubric) > 20000 {
		return bad("question (2,000) or rubric (20,000 characters) too long")
	}
	switch d.Type {
	case Boolean:
		if len(d.Labels) > 0 || d.Min != nil || d.Max != nil || d.Points != 0 || d.PassAt != nil {
			return bad("a boolean criterion has no labels, range, points or pass_at")
		}
	case Categorical:
		if len(d.Labels) < 2 || len(d.Labels) > 20 {
			return bad("a categorical criterion needs 2 to 20 labels")
		}
		seen := map[string]bool{}
		for _, l := range d.Labels {
			if !labelRE.MatchString(l) {
				return bad("label %q: letters, digits, space, . _ - only, up to 64", l)
			}
			if seen[strings.ToLower(l)] {
				return bad("label %q appears twice", l)
			}
			seen[strings.ToLower(l)] = true
		}
		for _, l := range d.PassLabels {
			if !slices.Contains(d.Labels, l) {
				return bad("pass label %q is not a label", l)
			}
		}
		if d.Min != nil || d.Max != nil || d.Points != 0 || d.PassAt != nil {
			return bad("a categorical criterion has no range, points or pass_at")
		}
	case Numeric:
		if d.Min == nil || d.Max == nil || !(*d.Min < *d.Max) || isBad(*d.Min) || isBad(*d.Max) {
			return bad("a numeric criterion needs min < max")
		}
		if d.PassAt != nil && (*d.PassAt < *d.Min || *d.PassAt > *d.Max) {
			return bad("pass_at is outside [min, max]")
		}
		if len(d.Labels) > 0 || d.Points != 0 {
			return bad("a numeric criterion has no labels or points")
		}
	case Likert:
		if d.Points != 5 && d.Points != 7 && d.Points != 10 {
			return bad("a likert criterion has 5, 7 or 10 points")
		}
		if d.PassAt != nil && (*d.PassAt < 1 || *d.PassAt > float64(d.Points)) {
			return bad("pass_at is outside 1..%d", d.Points)
		}
		if len(d.Labels) > 0 || d.Min != nil || d.Max != nil {
			return bad("a likert criterion has no labels or range")
		}
	default:
		return bad("type %q: want boolean, categorical, numeric or likert", d.Type)
	}
	return nil
}

func isBad(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

// Value is one score under a definition: exactly one field is set, the
// one of the definition's type (Likert scores are in Number, as integers).
type Value struct {
	Bool   *bool    `json:"bool,omitempty"`
	Label  string   `json:"label,omitempty"`
	Number *float64 `json:"number,omitempty"`
}

// Check reports whether v is a valid score under d.
func (d *Definition) Check(v Value) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	set := 0
	if v.Bool != nil {
		set++
	}
	if v.Label != "" {
		set++
	}
	if v.Number != nil {
		set++
	}
	if set != 1 {
		return bad("a score has exactly one of bool, label and number")
	}
	switch d.Type {
	case Boolean:
		if v.Bool == nil {
			return bad("a boolean criterion is scored true or false")
		}
	case Categorical:
		if !slices.Contains(d.Labels, v.Label) {
			return bad("label %q is not one of %s", v.Label, strings.Join(d.Labels, ", "))
		}
	case Numeric:
		if v.Number == nil || isBad(*v.Number) || *v.Number < *d.Min || *v.Number > *d.Max {
			return bad("a score of this criterion is a number from %v to %v", *d.Min, *d.Max)
		}
	case Likert:
		if v.Number == nil || *v.Number != math.Trunc(*v.Number) || *v.Number < 1 || *v.Number > float64(d.Points) {
			return bad("a score of this criterion is a whole number from 1 to %d", d.Points)
		}
	}
	return nil
}

// Pass reports whether v counts as a pass under d, and false for ok when
// d says nothing about passing (a categorical criterion without pass
// labels, a numeric or Likert one without pass_at).
func (d *Definition) Pass(v Value) (pass, ok bool) {
	switch d.Type {
	case Boolean:
		return v.Bool != nil && *v.Bool, v.Bool != nil
	case Categorical:
		if len(d.PassLabels) == 0 {
			return false, false
		}
		return slices.Contains(d.PassLabels, v.Label), true
	case Numeric, Likert:
		if d.PassAt == nil || v.Number == nil {
			return false, false
		}
		return *v.Number >= *d.PassAt, true
	}
	return false, false
}

// Category returns v's category index for agreement statistics: 0/1 for
// boolean, the label's index, the Likert point minus one; and false for
// numeric scores, which are not categories.
func (d *Definition) Category(v Value) (int, bool) {
	switch d.Type {
	case Boolean:
		if v.Bool == nil {
			return 0, false
		}
		if *v.Bool {
			return 1, true
		}
		return 0, true
	case Categorical:
		i := slices.Index(d.Labels, v.Label)
		return i, i >= 0
	case Likert:
		if v.Number == nil {
			return 0, false
		}
		return int(*v.Number) - 1, true
	}
	return 0, false
}

// Categories is the number of categories Category returns (0 for numeric).
func (d *Definition) Categories() int {
	switch d.Type {
	case Boolean:
		return 2
	case Categorical:
		return len(d.Labels)
	case Likert:
		return d.Points
	}
	return 0
}

// Ordinal reports whether the categories are ordered (Likert, ordered
// labels): agreement on them is measured with weighted kappa.
func (d *Definition) Ordinal() bool {
	return d.Type == Likert || d.Type == Categorical && d.Ordered
}

// ParseValue reads a score written as text (a reviewer's key, a judge's
// answer after extraction, a CSV cell) strictly under d: true/false/yes/
// no/pass/fail for boolean, an exact label (case-insensitive) for
// categorical, a number for numeric and Likert.
func (d *Definition) ParseValue(s string) (Value, error) {
	s = strings.TrimSpace(s)
	var v Value
	switch d.Type {
	case Boolean:
		switch strings.ToLower(s) {
		case "true", "yes", "pass", "1":
			b := true
			v.Bool = &b
		case "false", "no", "fail", "0":
			b := false
			v.Bool = &b
		default:
			return v, fmt.Errorf("%w: %q is not true or false", ErrInvalid, s)
		}
	case Categorical:
		for _, l := range d.Labels {
			if strings.EqualFold(l, s) {
				v.Label = l
			}
		}
		if v.Label == "" {
			return v, fmt.Errorf("%w: %q is not one of %s", ErrInvalid, s, strings.Join(d.Labels, ", "))
		}
	case Numeric, Likert:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return v, fmt.Errorf("%w: %q is not a number", ErrInvalid, s)
		}
		v.Number = &f
	}
	return v, d.Check(v)
}

// EvaluatorKind says who gave a score.
type EvaluatorKind string

// The evaluator kinds.
const (
	Human EvaluatorKind = "human"
	LLM   EvaluatorKind = "llm"
	Code  EvaluatorKind = "code"
)

// TargetKind says what was scored.
type TargetKind string

// The targets of a score.
const (
	TargetCall           TargetKind = "call"
	TargetInstance       TargetKind = "instance"
	TargetExperimentItem TargetKind = "experiment_item"
)

// Score is one evaluation of one target under one criterion version.
type Score struct {
	ID               string `json:"id"`
	Criterion        string `json:"criterion"`
	CriterionVersion int    `json:"criterion_version"`
	// Evaluator is who scored: the reviewer's name, the judge's id and
	// version ("tone-judge@3"), or the code evaluator's name.
	EvaluatorKind EvaluatorKind `json:"evaluator_kind"`
	Evaluator     string        `json:"evaluator"`
	TargetKind    TargetKind    `json:"target_kind"`
	// Target is the call id, "use_case/instance", or
	// "experiment/item/variant".
	Target string `json:"target"`
	Value  Value  `json:"value"`
	// Reasoning is a judge's explanation or a reviewer's comment.
	Reasoning string    `json:"reasoning,omitempty"`
	At        time.Time `json:"at"`
}

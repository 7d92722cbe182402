package experiment

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// A Condition is a --fail-if condition of `weir eval run`: the run fails
// (exit 1) when it holds. The grammar, parsed strictly (spaces are
// allowed between tokens, nowhere else is anything extra):
//
//	condition := metric op number
//	metric    := "pass_rate(" criterion [", variant=" name] ")"
//	           | "mean(" criterion [", variant=" name] ")"
//	           | "regression(" criterion ", baseline=" name ", candidate=" name ")"
//	op        := "<" | "<=" | ">" | ">="
//	number    := a decimal number, e.g. 0.8, .05, -1, 3
//
// pass_rate is a variant's passes / judged scores (0 to 1), mean its mean
// score (pass = 1, fail = 0 for boolean criteria); without a variant the
// condition holds when it holds for any variant. regression is the
// baseline's mean minus the candidate's over the items both scored (for a
// boolean criterion: the drop in pass rate), so "regression(c,
// baseline=A, candidate=B) > 0.05" fails a run whose candidate lost more
// than 5 points. A condition that has no data (no score of the
// criterion) holds: a gate does not pass on nothing.
type Condition struct {
	Metric    string // pass_rate, mean or regression
	Criterion string
	Variant   string // pass_rate and mean, optional
	Baseline  string // regression
	Candidate string // regression
	Op        string
	Threshold float64
	// Source is the condition as written.
	Source string
}

var (
	criterionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	numberRE    = regexp.MustCompile(`^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
)

// ParseCondition parses one --fail-if condition.
func ParseCondition(src string) (Condition, error) {
	c := Condition{Source: src}
	bad := func(format string, a ...any) (Condition, error) {
		return Condition{}, fmt.Errorf("%w: --fail-if %q: %s", ErrInvalid, src, fmt.Sprintf(format, a...))
	}
	if len(src) > 1024 {
		return bad("over 1024 bytes")
	}
	s := strings.TrimSpace(src)
	open := strings.IndexByte(s, '(')
	if open < 0 {
		return bad("want pass_rate(...), mean(...) or regression(...) followed by <, <=, > or >= and a number")
	}
	c.Metric = strings.TrimSpace(s[:open])
	switch c.Metric {
	case "pass_rate", "mean", "regression":
	default:
		return bad("unknown metric %q: want pass_rate, mean or regression", c.Metric)
	}
	closing := strings.IndexByte(s, ')')
	if closing < open {
		return bad("missing )")
	}
	args := strings.Split(s[open+1:closing], ",")
	for i := range args {
		args[i] = strings.TrimSpace(args[i])
	}
	c.Criterion = args[0]
	if !criterionRE.MatchString(c.Criterion) {
		return bad("criterion %q: letters, digits, . _ - only", c.Criterion)
	}
	named := map[string]string{}
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return bad("argument %q: want key=value", a)
		}
		if _, dup := named[k]; dup {
			return bad("argument %s given twice", k)
		}
		if !nameRE.MatchString(v) {
			return bad("%s %q: letters, digits, . _ - only, up to 64", k, v)
		}
		named[k] = v
	}
	switch c.Metric {
	case "regression":
		c.Baseline, c.Candidate = named["baseline"], named["candidate"]
		if c.Baseline == "" || c.Candidate == "" || len(named) != 2 {
			return bad("regression takes the criterion, baseline=NAME and candidate=NAME")
		}
		if c.Baseline == c.Candidate {
			return bad("baseline and candidate are the same variant")
		}
	default:
		c.Variant = named["variant"]
		if len(named) > 1 || len(named) == 1 && c.Variant == "" {
			return bad("%s takes the criterion and, optionally, variant=NAME", c.Metric)
		}
	}
	rest := strings.TrimSpace(s[closing+1:])
	for _, op := range []string{"<=", ">=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			c.Op, rest = op, strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if c.Op == "" {
		return bad("want <, <=, > or >= after the metric")
	}
	if !numberRE.MatchString(rest) {
		return bad("threshold %q is not a decimal number", rest)
	}
	f, err := strconv.ParseFloat(rest, 64)
	if err != nil || math.IsInf(f, 0) {
		return bad("threshold %q is not a number", rest)
	}
	c.Threshold = f
	return c, nil
}

func (c Condition) holds(x float64) bool {
	switch c.Op {
	case "<":
		return x < c.Threshold
	case "<=":
		return x <= c.Threshold
	case ">":
		return x > c.Threshold
	default:
		return x >= c.Threshold
	}
}

// Verdict is a condition checked against an experiment.
type Verdict struct {
	Condition string `json:"condition"`
	Holds     bool   `json:"holds"`
	// Detail says which values made it hold or not.
	Detail string `json:"detail"`
}

// Check evaluates c. compare returns the comparison of variants a and b
// (both empty: any comparison with every variant's summary).
func (c Condition) Check(compare func(a, b string) (Comparison, error)) (Verdict, error) {
	v := Verdict{Condition: c.Source}
	if c.Metric == "regression" {
		cmp, err := compare(c.Baseline, c.Candidate)
		if err != nil {
			return v, err
		}
		for _, d := range cmp.Differences {
			if d.Criterion != c.Criterion {
				continue
			}
			if d.Paired == nil {
				v.Holds, v.Detail = true, fmt.Sprintf("no paired scores of %s: %s", c.Criterion, d.Undefined)
				return v, nil
			}
			x := -d.Paired.Difference.Estimate
			v.Holds = c.holds(x)
			v.Detail = fmt.Sprintf("regression %.4f (%s %.4f → %s %.4f over %d items; B−A 95%% CI [%.4f, %.4f], p=%.3f)",
				x, c.Baseline, d.Paired.MeanA, c.Candidate, d.Paired.MeanB, d.Paired.Items, d.Paired.Difference.Lower, d.Paired.Difference.Upper, d.Paired.P)
			return v, nil
		}
		v.Holds, v.Detail = true, fmt.Sprintf("the experiment has no criterion %s", c.Criterion)
		return v, nil
	}
	cmp, err := compare("", "")
	if err != nil {
		return v, err
	}
	seen := false
	var parts []string
	for _, vs := range cmp.Variants {
		if c.Variant != "" && vs.Variant != c.Variant {
			continue
		}
		for _, cs := range vs.Criteria {
			if cs.Criterion != c.Criterion {
				continue
			}
			var x float64
			switch {
			case c.Metric == "pass_rate" && cs.Judged > 0:
				x = float64(cs.Passes) / float64(cs.Judged)
			case c.Metric == "mean" && cs.Mean != nil:
				x = *cs.Mean
			default:
				continue
			}
			seen = true
			if c.holds(x) {
				v.Holds = true
				parts = append(parts, fmt.Sprintf("%s %.4f (holds)", vs.Variant, x))
			} else {
				parts = append(parts, fmt.Sprintf("%s %.4f", vs.Variant, x))
			}
		}
	}
	if !seen {
		v.Holds, v.Detail = true, fmt.Sprintf("no %s of %s to check", c.Metric, c.Criterion)
		return v, nil
	}
	v.Detail = c.Metric + ": " + strings.Join(parts, ", ")
	return v, nil
}

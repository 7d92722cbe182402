package judge

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/evalstats"
	"github.com/weirhq/weir/internal/store"
)

// Interval is an estimate with its interval; a field is null when it is
// undefined (too few items, no variation).
type Interval struct {
	Estimate   *float64 `json:"estimate"`
	Lower      *float64 `json:"lower"`
	Upper      *float64 `json:"upper"`
	Confidence float64  `json:"confidence"`
}

func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func interval(i evalstats.Interval) Interval {
	return Interval{Estimate: num(i.Estimate), Lower: num(i.Lower), Upper: num(i.Upper), Confidence: i.Confidence}
}

// Agreement is Cohen's kappa between people (the majority of a target's
// reviewers) and the judge, with its percentile bootstrap interval.
type Agreement struct {
	// Weighting is quadratic for ordinal criteria (Likert, ordered labels),
	// unweighted otherwise.
	Weighting string   `json:"weighting"`
	Kappa     Interval `json:"kappa"`
	Resamples int      `json:"resamples"`
	Observed  *float64 `json:"observed"`
	Expected  *float64 `json:"expected"`
}

// Confusion is the confusion matrix: Counts[i][j] counts the items people
// put in Labels[i] and the judge in Labels[j].
type Confusion struct {
	Rows    string   `json:"rows"`
	Columns string   `json:"columns"`
	Labels  []string `json:"labels"`
	Counts  [][]int  `json:"counts"`
}

// Correlation is how a numeric judge agrees with people: Pearson's r with
// its bootstrap interval and the mean absolute difference.
type Correlation struct {
	Pearson     Interval `json:"pearson"`
	MeanAbsDiff *float64 `json:"mean_abs_diff"`
}

// Ceiling is the human ceiling: Krippendorff's alpha among people on the
// targets two or more of them scored.
type Ceiling struct {
	Metric string   `json:"metric"`
	Alpha  *float64 `json:"alpha"`
	Units  int      `json:"units"`
	Note   string   `json:"note,omitempty"`
}

// Trust is the trust rule's verdict.
type Trust struct {
	Trusted   bool    `json:"trusted"`
	Threshold float64 `json:"threshold"`
	MinItems  int     `json:"min_items"`
	// Bound is the lower bound compared with Threshold: kappa's, or
	// Pearson's r's for numeric criteria.
	Bound  *float64 `json:"bound"`
	Reason string   `json:"reason"`
}

// PassStats compare the judge's pass verdicts with people's on the
// double-scored items, and give the judge's pass rate over every item it
// scored, raw and corrected for its sensitivity and specificity.
type PassStats struct {
	evalstats.JudgeCalibration
	Sensitivity *float64 `json:"sensitivity"`
	Specificity *float64 `json:"specificity"`
	JudgeItems  int      `json:"judge_items"`
	JudgePasses int      `json:"judge_passes"`
	Raw         Interval `json:"raw"`
	Corrected   Interval `json:"corrected"`
	Clamped     bool     `json:"clamped,omitempty"`
	Note        string   `json:"note,omitempty"`
}

// Calibration is a judge version's agreement with people on one criterion
// version.
type Calibration struct {
	Judge            string         `json:"judge"`
	Version          int            `json:"version"`
	Evaluator        string         `json:"evaluator"`
	Criterion        string         `json:"criterion"`
	CriterionVersion int            `json:"criterion_version"`
	Type             eval.ScoreType `json:"type"`
	// Method is "kappa" for boolean, categorical and Likert criteria, and
	// "correlation" for numeric ones (Pearson's r and the mean absolute
	// difference instead of kappa).
	Method string `json:"method"`
	Note   string `json:"note,omitempty"`
	// JudgeItems counts the targets the judge scored, HumanItems those
	// people scored; DoubleScored those both scored where people have a
	// majority (the pairs measured); HumanTies those both scored where
	// people's scores tie, left out.
	JudgeItems   int          `json:"judge_items"`
	HumanItems   int          `json:"human_items"`
	DoubleScored int          `json:"double_scored"`
	HumanTies    int          `json:"human_ties"`
	Agreement    *Agreement   `json:"agreement,omitempty"`
	Accuracy     *float64     `json:"accuracy,omitempty"`
	Confusion    *Confusion   `json:"confusion,omitempty"`
	Correlation  *Correlation `json:"correlation,omitempty"`
	HumanCeiling Ceiling      `json:"human_ceiling"`
	Trust        Trust        `json:"trust"`
	Pass         *PassStats   `json:"pass,omitempty"`
}

// Params say what Calibrate measures and how.
type Params struct {
	Def              *eval.Definition
	Criterion        string
	CriterionVersion int
	// Evaluator is the judge version's evaluator name ("<judge>@<v>").
	Evaluator  string
	Threshold  float64
	MinItems   int
	Seed       uint64
	Iterations int
}

// Labels names a definition's categories in Category order.
func Labels(d *eval.Definition) []string {
	switch d.Type {
	case eval.Boolean:
		return []string{"false", "true"}
	case eval.Categorical:
		return slices.Clone(d.Labels)
	case eval.Likert:
		out := make([]string, d.Points)
		for i := range out {
			out[i] = strconv.Itoa(i + 1)
		}
		return out
	}
	return nil
}

// valueOf is the value of category c.
func valueOf(d *eval.Definition, c int) eval.Value {
	switch d.Type {
	case eval.Boolean:
		b := c == 1
		return eval.Value{Bool: &b}
	case eval.Categorical:
		return eval.Value{Label: d.Labels[c]}
	}
	f := float64(c + 1)
	return eval.Value{Number: &f}
}

// passDefined reports whether d gives pass verdicts.
func passDefined(d *eval.Definition) bool {
	switch d.Type {
	case eval.Boolean:
		return true
	case eval.Categorical:
		return len(d.PassLabels) > 0
	}
	return d.PassAt != nil
}

func targetKey(s eval.Score) string { return string(s.TargetKind) + "\x00" + s.Target }

// newer reports whether a is a later score than b (by time, then id).
func newer(a, b store.StoredScore) bool {
	if c := a.At.Compare(b.At); c != 0 {
		return c > 0
	}
	return a.ID > b.ID
}

// human is people's reference score of one target.
type human struct {
	values []eval.Value // one per person, their latest
	ref    eval.Value
	cat    int
	tie    bool
}

// humanRefs groups people's scores by target (each person's latest),
// with the majority (categories; a tie has none) or the mean (numeric).
func humanRefs(d *eval.Definition, scores []store.StoredScore, version int) map[string]*human {
	latest := map[[2]string]store.StoredScore{}
	for _, s := range scores {
		if s.EvaluatorKind != eval.Human || s.CriterionVersion != version {
			continue
		}
		k := [2]string{targetKey(s.Score), s.Evaluator}
		if old, ok := latest[k]; !ok || newer(s, old) {
			latest[k] = s
		}
	}
	keys := make([][2]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	out := map[string]*human{}
	for _, k := range keys {
		h := out[k[0]]
		if h == nil {
			h = &human{}
			out[k[0]] = h
		}
		h.values = append(h.values, latest[k].Value)
	}
	for _, h := range out {
		if d.Type == eval.Numeric {
			var sum float64
			n := 0
			for _, v := range h.values {
				if v.Number != nil {
					sum += *v.Number
					n++
				}
			}
			if n == 0 {
				h.tie = true
				continue
			}
			m := sum / float64(n)
			h.ref = eval.Value{Number: &m}
			continue
		}
		counts := make([]int, d.Categories())
		for _, v := range h.values {
			if c, ok := d.Category(v); ok && c >= 0 && c < len(counts) {
				counts[c]++
			}
		}
		best, top := -1, 0
		for c, n := range counts {
			switch {
			case n > top:
				best, top, h.tie = c, n, false
			case n == top && n > 0:
				h.tie = true
			}
		}
		if best < 0 {
			h.tie = true
			continue
		}
		h.cat, h.ref = best, valueOf(d, best)
	}
	return out
}

// judgeLatest keeps the judge version's latest score per target.
func judgeLatest(scores []store.StoredScore, evaluator string, version int) map[string]store.StoredScore {
	out := map[string]store.StoredScore{}
	for _, s := range scores {
		if s.EvaluatorKind != eval.LLM || s.Evaluator != evaluator || s.CriterionVersion != version {
			continue
		}
		k := targetKey(s.Score)
		if old, ok := out[k]; !ok || newer(s, old) {
			out[k] = s
		}
	}
	return out
}

// Calibrate measures the judge's agreement with people from the scores
// given (scores of other criterion versions, other evaluators, and code
// evaluators are ignored: versions are never mixed).
func Calibrate(p Params, judgeScores, humanScores []store.StoredScore) (Calibration, error) {
	d := p.Def
	if d == nil {
		return Calibration{}, errors.New("calibrate: no definition")
	}
	c := Calibration{Evaluator: p.Evaluator, Criterion: p.Criterion, CriterionVersion: p.CriterionVersion, Type: d.Type, Method: "kappa"}
	if j, v, ok := ParseEvaluator(p.Evaluator); ok {
		c.Judge, c.Version = j, v
	}
	if d.Type == eval.Numeric {
		c.Method = "correlation"
		c.Note = "numeric criterion: Pearson's r and the mean absolute difference are reported instead of kappa; trust compares r's lower bound with the threshold"
	}
	opt := evalstats.BootstrapOptions{Iterations: p.Iterations, Seed: p.Seed}
	judged := judgeLatest(judgeScores, p.Evaluator, p.CriterionVersion)
	humans := humanRefs(d, humanScores, p.CriterionVersion)
	c.JudgeItems, c.HumanItems = len(judged), len(humans)

	keys := make([]string, 0, len(judged))
	for k := range judged {
		if h, ok := humans[k]; ok {
			if h.tie {
				c.HumanTies++
				continue
			}
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	c.DoubleScored = len(keys)
	c.Trust = Trust{Threshold: p.Threshold, MinItems: p.MinItems}

	var bound float64 = math.NaN()
	if d.Type == eval.Numeric {
		hs := make([]float64, 0, len(keys))
		js := make([]float64, 0, len(keys))
		for _, k := range keys {
			if v := judged[k].Value.Number; v != nil {
				hs = append(hs, *humans[k].ref.Number)
				js = append(js, *v)
			}
		}
		if len(hs) > 0 {
			corr := &Correlation{Pearson: Interval{Confidence: 0.95}}
			var mad float64
			for i := range hs {
				mad += math.Abs(hs[i] - js[i])
			}
			corr.MeanAbsDiff = num(mad / float64(len(hs)))
			ci, err := evalstats.Bootstrap(len(hs), func(sample []int) (float64, error) { return pearson(hs, js, sample) }, opt)
			if err != nil && !errors.Is(err, evalstats.ErrUndefined) {
				return c, fmt.Errorf("calibrate: %w", err)
			}
			if ci.Confidence != 0 {
				// The bootstrap ran: its bounds (NaN when too few
				// resamples were defined).
				corr.Pearson = interval(ci.Interval)
				bound = ci.Lower
			}
			// r on all items (undefined without variation: null).
			r, _ := pearson(hs, js, nil)
			corr.Pearson.Estimate = num(r)
			c.Correlation = corr
		}
	} else {
		k := d.Categories()
		a := make([]int, 0, len(keys))
		b := make([]int, 0, len(keys))
		for _, key := range keys {
			jc, ok := d.Category(judged[key].Value)
			if !ok || jc < 0 || jc >= k {
				continue
			}
			a = append(a, humans[key].cat)
			b = append(b, jc)
		}
		w := evalstats.Unweighted
		if d.Ordinal() {
			w = evalstats.Quadratic
		}
		if len(a) > 0 {
			ag, ci, err := evalstats.KappaInterval(a, b, k, w, opt)
			if err != nil && !errors.Is(err, evalstats.ErrUndefined) && !errors.Is(err, evalstats.ErrNoData) {
				return c, fmt.Errorf("calibrate: %w", err)
			}
			if ag.Confusion == nil {
				ag.Confusion, _ = evalstats.Confusion(a, b, k)
			}
			c.Agreement = &Agreement{Weighting: w.String(), Kappa: Interval{Estimate: num(ag.Kappa), Lower: num(ci.Lower), Upper: num(ci.Upper), Confidence: ci.Confidence},
				Resamples: ci.Resamples, Observed: num(ag.Observed), Expected: num(ag.Expected)}
			if ci.Confidence == 0 {
				c.Agreement.Kappa.Confidence = evalstats.DefaultConfidence
				c.Agreement.Kappa.Lower, c.Agreement.Kappa.Upper = nil, nil
			}
			acc := ag.Accuracy
			if ag.Items == 0 {
				acc = accuracy(a, b)
			}
			c.Accuracy = num(acc)
			c.Confusion = &Confusion{Rows: "human", Columns: "judge", Labels: Labels(d), Counts: ag.Confusion}
			if c.Agreement.Kappa.Lower != nil {
				bound = *c.Agreement.Kappa.Lower
			}
		}
	}
	c.Trust.Bound = num(bound)
	c.Trust.Trusted = evalstats.Trusted(bound, p.Threshold, c.DoubleScored, p.MinItems)
	switch {
	case c.Trust.Trusted:
		c.Trust.Reason = fmt.Sprintf("%d double-scored items (at least %d) and the lower bound %.3f is above %.2f", c.DoubleScored, p.MinItems, bound, p.Threshold)
	case c.DoubleScored < p.MinItems:
		c.Trust.Reason = fmt.Sprintf("%d double-scored items, fewer than %d", c.DoubleScored, p.MinItems)
	case math.IsNaN(bound):
		c.Trust.Reason = "agreement is undefined on these items (no variation)"
	default:
		c.Trust.Reason = fmt.Sprintf("the lower bound %.3f is not above %.2f", bound, p.Threshold)
	}

	c.HumanCeiling = ceiling(d, humans)

	if passDefined(d) {
		c.Pass = passStats(d, keys, judged, humans)
	}
	return c, nil
}

func accuracy(a, b []int) float64 {
	if len(a) == 0 {
		return math.NaN()
	}
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return float64(n) / float64(len(a))
}

// pearson is Pearson's r over the items in sample (all when nil).
func pearson(x, y []float64, sample []int) (float64, error) {
	n := len(x)
	if sample != nil {
		n = len(sample)
	}
	at := func(i int) int {
		if sample == nil {
			return i
		}
		return sample[i]
	}
	var mx, my float64
	for i := range n {
		mx += x[at(i)]
		my += y[at(i)]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range n {
		dx, dy := x[at(i)]-mx, y[at(i)]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN(), fmt.Errorf("pearson: no variation: %w", evalstats.ErrUndefined)
	}
	return sxy / math.Sqrt(sxx*syy), nil
}

// ceiling is Krippendorff's alpha among people.
func ceiling(d *eval.Definition, humans map[string]*human) Ceiling {
	m := evalstats.NominalMetric
	switch {
	case d.Type == eval.Numeric:
		m = evalstats.IntervalMetric
	case d.Ordinal():
		m = evalstats.OrdinalMetric
	}
	keys := make([]string, 0, len(humans))
	for k, h := range humans {
		if len(h.values) >= 2 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	c := Ceiling{Metric: m.String(), Units: len(keys)}
	if len(keys) == 0 {
		c.Note = "no target has two or more people's scores"
		return c
	}
	units := make([][]float64, 0, len(keys))
	for _, k := range keys {
		var u []float64
		for _, v := range humans[k].values {
			if d.Type == eval.Numeric {
				if v.Number != nil {
					u = append(u, *v.Number)
				}
				continue
			}
			if cat, ok := d.Category(v); ok {
				u = append(u, float64(cat))
			}
		}
		units = append(units, u)
	}
	r, err := evalstats.Alpha(units, m)
	c.Alpha = num(r.Alpha)
	if err != nil {
		c.Note = err.Error()
	}
	return c
}

// passStats counts pass verdicts on the double-scored items and corrects
// the judge's pass rate over all its items.
func passStats(d *eval.Definition, keys []string, judged map[string]store.StoredScore, humans map[string]*human) *PassStats {
	ps := &PassStats{}
	for _, k := range keys {
		hp, ok1 := d.Pass(humans[k].ref)
		jp, ok2 := d.Pass(judged[k].Value)
		if !ok1 || !ok2 {
			continue
		}
		switch {
		case hp && jp:
			ps.TruePositives++
		case hp:
			ps.FalseNegatives++
		case jp:
			ps.FalsePositives++
		default:
			ps.TrueNegatives++
		}
	}
	if n := ps.TruePositives + ps.FalseNegatives; n > 0 {
		ps.Sensitivity = num(ps.JudgeCalibration.Sensitivity())
	}
	if n := ps.TrueNegatives + ps.FalsePositives; n > 0 {
		ps.Specificity = num(ps.JudgeCalibration.Specificity())
	}
	for _, s := range judged {
		if p, ok := d.Pass(s.Value); ok {
			ps.JudgeItems++
			if p {
				ps.JudgePasses++
			}
		}
	}
	nan := Interval{Confidence: evalstats.DefaultConfidence}
	ps.Raw, ps.Corrected = nan, nan
	if ps.JudgeItems == 0 {
		ps.Note = "the judge has scored no item"
		return ps
	}
	pr, err := evalstats.CorrectedPassRate(ps.JudgePasses, ps.JudgeItems, ps.JudgeCalibration, 0)
	if err != nil {
		ps.Note = "no corrected pass rate: " + err.Error()
		if raw, err := evalstats.Wilson(ps.JudgePasses, ps.JudgeItems, 0); err == nil {
			ps.Raw = interval(raw)
		}
		if pr.Raw.Confidence != 0 {
			ps.Raw = interval(pr.Raw)
		}
		return ps
	}
	ps.Raw, ps.Corrected, ps.Clamped = interval(pr.Raw), interval(pr.Corrected), pr.Clamped
	return ps
}

package judge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/evalstats"
	"github.com/weirhq/weir/internal/store"
)

// maxScores bounds the scores read for one measurement.
const maxScores = 500_000

// allScores reads every score matching q, page by page.
func (s *Service) allScores(ctx context.Context, q store.ScoreQuery) ([]store.StoredScore, error) {
	q.Limit = store.MaxLimit
	var out []store.StoredScore
	for {
		p, err := s.st.ListScores(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Scores...)
		if len(out) > maxScores {
			return nil, fmt.Errorf("%w: over %d scores to read; narrow the period", ErrInvalid, maxScores)
		}
		if p.NextCursor == "" {
			return out, nil
		}
		q.Cursor = p.NextCursor
	}
}

// CalibrationQuery selects what Calibration measures: a judge version
// (0: the latest one scoring CriterionVersion, or the latest), and
// optionally only the judge's scores in [From, To) (people's scores are
// always all of them).
type CalibrationQuery struct {
	Version          int
	CriterionVersion int
	From, To         time.Time
}

// resolve picks the judge version a query names.
func (s *Service) resolve(ctx context.Context, name string, q CalibrationQuery) (store.Judge, Version, error) {
	if q.Version != 0 || q.CriterionVersion == 0 {
		j, v, err := s.version(ctx, name, q.Version)
		if err != nil {
			return j, v, err
		}
		if q.CriterionVersion != 0 && v.Definition.CriterionVersion != q.CriterionVersion {
			return j, v, invalid("judge %s scores criterion version %d, not %d", v.Evaluator, v.Definition.CriterionVersion, q.CriterionVersion)
		}
		return j, v, nil
	}
	j, err := s.st.Judge(ctx, name)
	if err != nil {
		return j, Version{}, err
	}
	vs, err := s.st.JudgeVersions(ctx, name)
	if err != nil {
		return j, Version{}, err
	}
	for _, sv := range slices.Backward(vs) {
		v, err := decodeVersion(sv)
		if err != nil {
			return j, v, err
		}
		if v.Definition.CriterionVersion == q.CriterionVersion {
			return j, v, nil
		}
	}
	return j, Version{}, fmt.Errorf("no version of judge %s scores criterion %s version %d: %w", name, j.Criterion, q.CriterionVersion, store.ErrNotFound)
}

// Calibration measures a judge version against people.
func (s *Service) Calibration(ctx context.Context, name string, q CalibrationQuery) (Calibration, error) {
	j, v, err := s.resolve(ctx, name, q)
	if err != nil {
		return Calibration{}, err
	}
	return s.calibrate(ctx, j, v, q.From, q.To)
}

func (s *Service) calibrate(ctx context.Context, j store.Judge, v Version, from, to time.Time) (Calibration, error) {
	cv := v.Definition.CriterionVersion
	d, _, err := s.criterionDefinition(ctx, j.Criterion, cv)
	if err != nil {
		return Calibration{}, err
	}
	js, err := s.allScores(ctx, store.ScoreQuery{Criterion: j.Criterion, CriterionVersion: cv, EvaluatorKind: eval.LLM, Evaluator: v.Evaluator, From: from, To: to})
	if err != nil {
		return Calibration{}, err
	}
	hs, err := s.allScores(ctx, store.ScoreQuery{Criterion: j.Criterion, CriterionVersion: cv, EvaluatorKind: eval.Human})
	if err != nil {
		return Calibration{}, err
	}
	threshold, minItems := s.trustRule(v.Definition)
	return Calibrate(Params{Def: d, Criterion: j.Criterion, CriterionVersion: cv, Evaluator: v.Evaluator,
		Threshold: threshold, MinItems: minItems, Seed: s.seed, Iterations: s.iterations}, js, hs)
}

// Rate is a pass rate with its Wilson interval.
type Rate struct {
	Items  int      `json:"items"`
	Passes int      `json:"passes"`
	Rate   Interval `json:"rate"`
}

func rateOf(passes, items int) Rate {
	r := Rate{Items: items, Passes: passes, Rate: Interval{Confidence: evalstats.DefaultConfidence}}
	if iv, err := evalstats.Wilson(passes, items, 0); err == nil {
		r.Rate = interval(iv)
	}
	return r
}

// JudgeRate is one judge version's pass rate over the period.
type JudgeRate struct {
	Evaluator string `json:"evaluator"`
	Trusted   bool   `json:"trusted"`
	// Status is "trusted" or "untrusted": an untrusted judge's figures
	// are shown apart and never counted in the headline.
	Status string `json:"status"`
	Reason string `json:"reason"`
	Rate
	// Corrected is the pass rate corrected for the judge's sensitivity
	// and specificity (null when they are not measured).
	Corrected *Interval `json:"corrected,omitempty"`
}

// PassRate is a criterion version's pass rate over a period.
type PassRate struct {
	Criterion string `json:"criterion"`
	// Version is the criterion version measured: scores of other versions
	// are never mixed in. LatestUsed says the request named none.
	Version    int       `json:"version"`
	LatestUsed bool      `json:"latest_used,omitempty"`
	From       time.Time `json:"from,omitzero"`
	To         time.Time `json:"to,omitzero"`
	// Headline counts each target once: people's majority verdict when
	// they scored it, else the latest verdict of a trusted judge.
	Headline        Rate        `json:"headline"`
	FromHumans      int         `json:"from_humans"`
	FromTrusted     int         `json:"from_trusted_judges"`
	Humans          Rate        `json:"humans"`
	TrustedJudges   []JudgeRate `json:"trusted_judges"`
	UntrustedJudges []JudgeRate `json:"untrusted_judges"`
	Note            string      `json:"note,omitempty"`
}

// PassRate reports a criterion version's (0: the latest) pass rate in
// [from, to) from people's scores and trusted judges' only.
func (s *Service) PassRate(ctx context.Context, criterion string, version int, from, to time.Time) (PassRate, error) {
	out := PassRate{Criterion: criterion, From: from, To: to, TrustedJudges: []JudgeRate{}, UntrustedJudges: []JudgeRate{}}
	if version == 0 {
		c, err := s.st.Criterion(ctx, criterion)
		if err != nil {
			return out, err
		}
		version, out.LatestUsed = c.LatestVersion, true
	}
	out.Version = version
	d, _, err := s.criterionDefinition(ctx, criterion, version)
	if err != nil {
		return out, err
	}
	if !passDefined(d) {
		return out, invalid("criterion %s version %d says nothing about passing (no pass labels or pass_at)", criterion, version)
	}
	hs, err := s.allScores(ctx, store.ScoreQuery{Criterion: criterion, CriterionVersion: version, EvaluatorKind: eval.Human, From: from, To: to})
	if err != nil {
		return out, err
	}
	ls, err := s.allScores(ctx, store.ScoreQuery{Criterion: criterion, CriterionVersion: version, EvaluatorKind: eval.LLM, From: from, To: to})
	if err != nil {
		return out, err
	}
	verdict := map[string]bool{}
	humans := humanRefs(d, hs, version)
	hp := 0
	for k, h := range humans {
		if h.tie {
			continue
		}
		if p, ok := d.Pass(h.ref); ok {
			verdict[k] = p
			if p {
				hp++
			}
		}
	}
	out.Humans = rateOf(hp, len(verdict))
	out.FromHumans = len(verdict)

	byEval := map[string][]store.StoredScore{}
	for _, sc := range ls {
		byEval[sc.Evaluator] = append(byEval[sc.Evaluator], sc)
	}
	names := make([]string, 0, len(byEval))
	for n := range byEval {
		names = append(names, n)
	}
	slices.Sort(names)
	trustedLatest := map[string]store.StoredScore{}
	calCache := map[string]Calibration{}
	for _, ev := range names {
		jr := JudgeRate{Evaluator: ev, Status: "untrusted"}
		cal, err := s.calibrationOf(ctx, criterion, version, ev, calCache)
		switch {
		case err == nil:
			jr.Trusted, jr.Reason = cal.Trust.Trusted, cal.Trust.Reason
		case errors.Is(err, store.ErrNotFound), errors.Is(err, ErrInvalid):
			jr.Reason = err.Error()
		default:
			return out, err
		}
		latest := judgeLatest(byEval[ev], ev, version)
		passes, items := 0, 0
		for _, sc := range latest {
			if p, ok := d.Pass(sc.Value); ok {
				items++
				if p {
					passes++
				}
			}
		}
		jr.Rate = rateOf(passes, items)
		if err == nil && cal.Pass != nil && items > 0 {
			if pr, err := evalstats.CorrectedPassRate(passes, items, cal.Pass.JudgeCalibration, 0); err == nil {
				c := interval(pr.Corrected)
				jr.Corrected = &c
			}
		}
		if jr.Trusted {
			jr.Status = "trusted"
			out.TrustedJudges = append(out.TrustedJudges, jr)
			for k, sc := range latest {
				if old, ok := trustedLatest[k]; !ok || newer(sc, old) {
					trustedLatest[k] = sc
				}
			}
		} else {
			out.UntrustedJudges = append(out.UntrustedJudges, jr)
		}
	}
	for k, sc := range trustedLatest {
		if _, ok := verdict[k]; ok {
			continue
		}
		if p, ok := d.Pass(sc.Value); ok {
			verdict[k] = p
			out.FromTrusted++
		}
	}
	passes := 0
	for _, p := range verdict {
		if p {
			passes++
		}
	}
	out.Headline = rateOf(passes, len(verdict))
	out.Note = "the headline counts people's scores and trusted judges' only; untrusted judges' figures are listed apart; code evaluators are not counted"
	return out, nil
}

// calibrationOf calibrates the judge version behind an evaluator name
// against the criterion version (all time), cached per evaluator.
func (s *Service) calibrationOf(ctx context.Context, criterion string, version int, ev string, cache map[string]Calibration) (Calibration, error) {
	if c, ok := cache[ev]; ok {
		return c, nil
	}
	name, v, ok := ParseEvaluator(ev)
	if !ok {
		return Calibration{}, invalid("evaluator %q is not a judge version", ev)
	}
	j, dv, err := s.version(ctx, name, v)
	if err != nil {
		return Calibration{}, err
	}
	if j.Criterion != criterion || dv.Definition.CriterionVersion != version {
		return Calibration{}, invalid("judge %s scores %s version %d", ev, j.Criterion, dv.Definition.CriterionVersion)
	}
	c, err := s.calibrate(ctx, j, dv, time.Time{}, time.Time{})
	if err != nil {
		return c, err
	}
	cache[ev] = c
	return c, nil
}

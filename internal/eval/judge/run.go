package judge

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/evaluator"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/store"
)

// MaxTargets bounds the targets of one run.
const MaxTargets = 100

// maxReasoning bounds a stored judge reasoning (as the criteria service).
const maxReasoning = 20000

// Target is what a judge scores: for now a recorded call ("call", its id).
type Target struct {
	Kind eval.TargetKind `json:"kind"`
	ID   string          `json:"id"`
}

// RunError is a target the run could not score, and why.
type RunError struct {
	Target Target `json:"target"`
	Error  string `json:"error"`
}

// Run is the report of one judge run: the scores stored and the targets
// that failed (a reply that does not parse is an error here, never a
// score).
type Run struct {
	ID               string              `json:"id"`
	Judge            string              `json:"judge"`
	Version          int                 `json:"version"`
	Evaluator        string              `json:"evaluator"`
	Criterion        string              `json:"criterion"`
	CriterionVersion int                 `json:"criterion_version"`
	Targets          int                 `json:"targets"`
	Scored           int                 `json:"scored"`
	Scores           []store.StoredScore `json:"scores"`
	Errors           []RunError          `json:"errors"`
	// Audited counts the scored targets queued for people to review;
	// AuditErrors those the sink refused.
	Audited     int `json:"audited"`
	AuditErrors int `json:"audit_errors,omitempty"`
	// Disagreements are the targets queued for people because another
	// judge scored them differently, Unsure those the judge was unsure
	// about (DisputeQueue).
	Disagreements int       `json:"disagreements,omitempty"`
	Unsure        int       `json:"unsure,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by"`
}

// renderSystem fills a version's prompt template, or returns the default.
func renderSystem(d *eval.Definition, jd Definition, def string) string {
	if strings.TrimSpace(jd.Prompt) == "" {
		return def
	}
	return placeholderRE.ReplaceAllStringFunc(jd.Prompt, func(m string) string {
		switch placeholderRE.FindStringSubmatch(m)[1] {
		case "question":
			return strings.TrimSpace(d.Question)
		case "rubric":
			return strings.TrimSpace(d.Rubric)
		case "allowed_values":
			return evaluator.AllowedValues(d)
		}
		return m
	})
}

// callItem makes a call's input and output into what a judge looks at.
func callItem(ctx context.Context, r store.RequestReader, id string) (evaluator.JudgeItem, error) {
	rec, err := r.GetRequest(ctx, id)
	if err != nil {
		return evaluator.JudgeItem{}, err
	}
	it, err := dataset.ItemFromCall(rec, true)
	if err != nil {
		return evaluator.JudgeItem{}, err
	}
	var out string
	if json.Unmarshal(it.Expected, &out) != nil {
		out = string(it.Expected)
	}
	return evaluator.JudgeItem{Input: evaluator.FormatMessages(it.Messages), Output: out}, nil
}

// Audited reports whether a judge version's score of target falls in its
// audit share: a stable hash, so a target is picked or not whatever the
// run, and re-runs queue nothing twice by chance.
func Audited(evaluatorName, target string, share float64) bool {
	if share <= 0 {
		return false
	}
	if share >= 1 {
		return true
	}
	sum := sha256.Sum256([]byte(evaluatorName + "\x00" + target))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11)/float64(1<<53) < share
}

// Score runs a judge version (0: the latest) on targets and stores the
// scores it gives; the run's report is stored too.
func (s *Service) Score(ctx context.Context, name string, version int, targets []Target, by string) (Run, error) {
	if s.gw == nil {
		return Run{}, ErrNoGateway
	}
	if len(targets) == 0 || len(targets) > MaxTargets {
		return Run{}, invalid("a run scores 1 to %d targets", MaxTargets)
	}
	for i, t := range targets {
		if t.ID == "" || len(t.ID) > store.MaxIDLen {
			return Run{}, invalid("target %d: an id of at most %d bytes is required", i, store.MaxIDLen)
		}
		if t.Kind != eval.TargetCall {
			return Run{}, invalid("target %d: kind %q: judges score calls (kind \"call\")", i, t.Kind)
		}
	}
	j, v, err := s.version(ctx, name, version)
	if err != nil {
		return Run{}, err
	}
	d, _, err := s.criterionDefinition(ctx, j.Criterion, v.Definition.CriterionVersion)
	if err != nil {
		return Run{}, err
	}
	now := s.now().UTC()
	run := Run{ID: ids.New("jrun_", now), Judge: name, Version: v.Version, Evaluator: v.Evaluator, Criterion: j.Criterion,
		CriterionVersion: v.Definition.CriterionVersion, Targets: len(targets), Scores: []store.StoredScore{}, Errors: []RunError{},
		CreatedAt: now, CreatedBy: by}

	type result struct {
		score      *store.StoredScore
		confidence *float64
		err        error
	}
	results := make([]result, len(targets))
	sem := make(chan struct{}, s.concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			sc, conf, err := s.scoreOne(ctx, j, v, d, t)
			results[i] = result{sc, conf, err}
		})
	}
	wg.Wait()
	unsure := map[string]bool{} // targets whose judge was unsure
	for i, r := range results {
		if r.err != nil {
			run.Errors = append(run.Errors, RunError{Target: targets[i], Error: r.err.Error()})
			continue
		}
		run.Scores = append(run.Scores, *r.score)
		if r.confidence != nil && *r.confidence < v.Definition.UnsureBelow {
			unsure[r.score.Target] = true
		}
	}
	if len(run.Scores) > 0 {
		if _, err := s.st.PutScores(ctx, run.Scores); err != nil {
			return Run{}, fmt.Errorf("judge %s: store scores: %w", v.Evaluator, err)
		}
	}
	run.Scored = len(run.Scores)
	if s.sink != nil && v.Definition.AuditShare > 0 {
		queue := v.Definition.AuditQueue
		if queue == "" {
			queue = name + "-audit"
		}
		for _, sc := range run.Scores {
			if !Audited(v.Evaluator, sc.Target, v.Definition.AuditShare) {
				continue
			}
			if err := s.sink.Enqueue(ctx, queue, string(sc.TargetKind), sc.Target); err != nil {
				run.AuditErrors++
				s.log.Warn("judge: audit enqueue", "judge", v.Evaluator, "target", sc.Target, "err", err)
				continue
			}
			run.Audited++
		}
	}
	if s.sink != nil && v.Definition.DisputeQueue != "" {
		for _, sc := range run.Scores {
			why := "unsure"
			if !unsure[sc.Target] {
				other, err := s.disagrees(ctx, d, sc)
				if err != nil {
					s.log.Warn("judge: read other judges' scores", "judge", v.Evaluator, "target", sc.Target, "err", err)
					continue
				}
				if other == "" {
					continue
				}
				why = "disagrees with " + other
			}
			if err := s.sink.Enqueue(ctx, v.Definition.DisputeQueue, string(sc.TargetKind), sc.Target); err != nil {
				run.AuditErrors++
				s.log.Warn("judge: dispute enqueue", "judge", v.Evaluator, "why", why, "target", sc.Target, "err", err)
				continue
			}
			if why == "unsure" {
				run.Unsure++
			} else {
				run.Disagreements++
			}
		}
	}
	doc, _ := json.Marshal(run)
	if err := s.st.PutJudgeRun(ctx, store.JudgeRun{ID: run.ID, Judge: name, Version: v.Version, Doc: doc, CreatedAt: now, CreatedBy: by}); err != nil {
		return run, fmt.Errorf("judge %s: store the run: %w", v.Evaluator, err)
	}
	return run, nil
}

// scoreOne asks the judge about one target.
func (s *Service) scoreOne(ctx context.Context, j store.Judge, v Version, d *eval.Definition, t Target) (*store.StoredScore, *float64, error) {
	it, err := callItem(ctx, s.st, t.ID)
	if err != nil {
		return nil, nil, err
	}
	system, user := evaluator.BuildJudgePrompt(d, it)
	system = renderSystem(d, v.Definition, system)
	reply, err := s.gw.Complete(ctx, Completion{Model: v.Definition.Model, Temperature: v.Definition.Temperature,
		System: system, User: user, Step: "judge:" + v.Evaluator, ResponseFormat: evaluator.JudgeResponseFormat(d)})
	if err != nil {
		return nil, nil, err
	}
	jm, err := evaluator.ParseJudgement(d, reply)
	if err != nil {
		return nil, nil, err
	}
	if err := d.Check(jm.Value); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", evaluator.ErrJudgeReply, err)
	}
	reasoning := jm.Reasoning
	if len(reasoning) > maxReasoning {
		reasoning = strings.ToValidUTF8(reasoning[:maxReasoning], "")
	}
	now := s.now().UTC()
	sc := store.StoredScore{Score: eval.Score{ID: ids.New("sco_", now), Criterion: j.Criterion, CriterionVersion: v.Definition.CriterionVersion,
		EvaluatorKind: eval.LLM, Evaluator: v.Evaluator, TargetKind: t.Kind, Target: t.ID, Value: jm.Value, Reasoning: reasoning, At: now}}
	if pass, ok := d.Pass(jm.Value); ok {
		sc.Pass = &pass
	}
	return &sc, jm.Confidence, nil
}

// GetRun returns a stored run's report.
func (s *Service) GetRun(ctx context.Context, name, id string) (Run, error) {
	r, err := s.st.JudgeRun(ctx, name, id)
	if err != nil {
		return Run{}, err
	}
	var out Run
	if err := json.Unmarshal(r.Doc, &out); err != nil {
		return Run{}, fmt.Errorf("judge %s run %s: stored report: %w", name, id, err)
	}
	return out, nil
}

// disagrees returns another judge that scored sc's target under the same
// criterion version differently (its latest score), or "" when none did.
// Numeric scores are never a disagreement here: there is no category to
// differ in.
func (s *Service) disagrees(ctx context.Context, d *eval.Definition, sc store.StoredScore) (string, error) {
	mine, ok := d.Category(sc.Value)
	if !ok {
		return "", nil
	}
	p, err := s.st.ListScores(ctx, store.ScoreQuery{Criterion: sc.Criterion, CriterionVersion: sc.CriterionVersion,
		EvaluatorKind: eval.LLM, TargetKind: sc.TargetKind, Target: sc.Target, Limit: store.MaxLimit})
	if err != nil {
		return "", err
	}
	seen := map[string]bool{} // newest first: an evaluator's first score is its latest
	for _, o := range p.Scores {
		if o.Evaluator == sc.Evaluator || seen[o.Evaluator] {
			continue
		}
		seen[o.Evaluator] = true
		if c, ok := d.Category(o.Value); ok && c != mine {
			return o.Evaluator, nil
		}
	}
	return "", nil
}

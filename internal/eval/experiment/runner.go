package experiment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/evaluator"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// Result is what one variant did on one item, with its scores.
type Result struct {
	Item      string               `json:"item"`
	Variant   string               `json:"variant"`
	Output    string               `json:"output"`
	ToolCalls []evaluator.ToolCall `json:"tool_calls,omitempty"`
	// CallID is the gateway's x-weir-request-id of the call.
	CallID string `json:"call_id,omitempty"`
	// CostUSD is the recorded cost of the call, nil when unknown.
	CostUSD   *pricing.Money `json:"cost_usd"`
	LatencyMs float64        `json:"latency_ms"`
	// Error is why the call failed; a failed run is retried by the next
	// run of the experiment.
	Error  string        `json:"error,omitempty"`
	Scores []ResultScore `json:"scores"`
}

// ResultScore is one evaluator's verdict on a result: a score, or the
// reason there is none (an item without expected output, a judge reply
// that did not parse).
type ResultScore struct {
	Criterion        string             `json:"criterion"`
	CriterionVersion int                `json:"criterion_version"`
	EvaluatorKind    eval.EvaluatorKind `json:"evaluator_kind"`
	Evaluator        string             `json:"evaluator"`
	ScoreID          string             `json:"score_id,omitempty"`
	Value            *eval.Value        `json:"value,omitempty"`
	Pass             *bool              `json:"pass,omitempty"`
	Reasoning        string             `json:"reasoning,omitempty"`
	// JudgeCallID is the judge's call.
	JudgeCallID string `json:"judge_call_id,omitempty"`
	Error       string `json:"error,omitempty"`
	// Retry is set when the judge could not be reached: the next run of
	// the experiment asks it again (without calling the variant again).
	Retry bool `json:"retry,omitempty"`
}

// Target is a result's score target: "experiment/item/variant".
func Target(experiment, item, variant string) string {
	return experiment + "/" + item + "/" + variant
}

// ScoreID is the deterministic id of a score: the same experiment, item,
// variant, criterion version and evaluator always give the same id, so a
// re-run stores no duplicate.
func ScoreID(target, criterion string, version int, evaluatorName string) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%s", target, criterion, version, evaluatorName)))
	return "sco_x" + hex.EncodeToString(h[:])[:32]
}

// scorer is one evaluator, ready to run.
type scorer struct {
	spec EvaluatorSpec
	def  eval.Definition
	code evaluator.Evaluator // nil for a judge
	name string
	kind eval.EvaluatorKind
}

// Run runs a pinned specification to the end: every item × variant
// without a successful result is called and scored. It is what Create
// starts in the background; tests and the CLI may call it directly.
func (s *Service) Run(ctx context.Context, sp Spec) error {
	st := s.opt.Store
	exp, err := st.Experiment(ctx, sp.Name)
	if err != nil {
		return err
	}
	started := time.Time{}
	if exp.StartedAt.IsZero() {
		started = s.opt.Now().UTC()
	}
	if err := st.SetExperimentStatus(ctx, sp.Name, store.ExperimentRunning, "", started, time.Time{}); err != nil {
		return err
	}
	runErr := s.run(ctx, sp)
	// The final status is written even when ctx has ended.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.opt.Now().UTC()
	switch {
	case runErr == nil:
		return st.SetExperimentStatus(fctx, sp.Name, store.ExperimentDone, "", time.Time{}, now)
	case ctx.Err() != nil && s.base.Err() != nil:
		// The process is stopping: left running, resumed later.
		return runErr
	case ctx.Err() != nil:
		return errors.Join(runErr, st.SetExperimentStatus(fctx, sp.Name, store.ExperimentCanceled, "canceled", time.Time{}, now))
	default:
		return errors.Join(runErr, st.SetExperimentStatus(fctx, sp.Name, store.ExperimentFailed, runErr.Error(), time.Time{}, now))
	}
}

func (s *Service) scorers(ctx context.Context, sp Spec) ([]scorer, error) {
	out := make([]scorer, 0, len(sp.Evaluators))
	for _, e := range sp.Evaluators {
		v, err := s.opt.Criteria.Version(ctx, e.Criterion, e.CriterionVersion)
		if err != nil {
			return nil, fmt.Errorf("criterion %s@%d: %w", e.Criterion, e.CriterionVersion, err)
		}
		sc := scorer{spec: e, def: v.Definition}
		if e.Kind == JudgeKind {
			sc.kind, sc.name = eval.LLM, "judge:"+e.Model
		} else {
			if sc.code, err = evaluator.New(e.Kind, e.Config); err != nil {
				return nil, err
			}
			sc.kind, sc.name = eval.Code, e.Kind
		}
		out = append(out, sc)
	}
	return out, nil
}

type job struct {
	item    dataset.Entry
	variant Variant
	// prev, when set, is a result whose call succeeded but some of whose
	// evaluators could not reach their judge: only those score again.
	prev *Result
}

func (s *Service) run(ctx context.Context, sp Spec) error {
	_, items, err := s.opt.Datasets.AllItems(ctx, sp.Dataset, sp.DatasetVersion)
	if err != nil {
		return fmt.Errorf("read dataset %s@%d: %w", sp.Dataset, sp.DatasetVersion, err)
	}
	scorers, err := s.scorers(ctx, sp)
	if err != nil {
		return err
	}
	prev, err := s.opt.Store.ExperimentResults(ctx, sp.Name)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	rescore := map[string]*Result{}
	for _, r := range prev {
		var res Result
		if json.Unmarshal(r.Doc, &res) != nil || res.Error != "" {
			continue
		}
		if slices.ContainsFunc(res.Scores, func(sc ResultScore) bool { return sc.Retry }) {
			rescore[r.Item+"\x00"+r.Variant] = &res
			continue
		}
		done[r.Item+"\x00"+r.Variant] = true
	}
	jobs := make(chan job)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		first  error
	)
	for range sp.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := s.runOne(ctx, sp, scorers, j)
				if ctx.Err() != nil {
					continue // a cut-short call is not a result
				}
				doc, err := json.Marshal(res)
				if err == nil {
					err = s.opt.Store.PutExperimentResult(ctx, store.ExperimentResult{Experiment: sp.Name, Item: res.Item, Variant: res.Variant, Doc: doc, At: s.opt.Now().UTC()})
				}
				if err == nil && res.Error == "" && res.CallID != "" && s.opt.Reviews != nil && sp.Review.reviewed(sp.Name, res.Item, res.Variant) {
					target := sp.Name + "/" + res.Item + "/" + res.Variant
					if rerr := s.opt.Reviews.Enqueue(ctx, sp.Review.Queue, string(eval.TargetExperimentItem), target); rerr != nil {
						s.opt.Log.Warn("experiment: send to review", "experiment", sp.Name, "target", target, "err", rerr)
					}
				}
				mu.Lock()
				if res.Error != "" || slices.ContainsFunc(res.Scores, func(sc ResultScore) bool { return sc.Retry }) {
					failed++
				}
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, it := range items {
		for _, v := range sp.Variants {
			if done[it.ID+"\x00"+v.Name] {
				continue
			}
			select {
			case jobs <- job{item: it, variant: v, prev: rescore[it.ID+"\x00"+v.Name]}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if first != nil {
		return first
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed (run the experiment again to retry them)", failed, len(items)*len(sp.Variants))
	}
	return nil
}

// runOne calls one variant on one item and scores the output.
func (s *Service) runOne(ctx context.Context, sp Spec, scorers []scorer, j job) Result {
	res := Result{Item: j.item.ID, Variant: j.variant.Name, Scores: []ResultScore{}}
	target := Target(sp.Name, j.item.ID, j.variant.Name)
	kept := map[string]ResultScore{}
	if j.prev != nil {
		res = *j.prev
		for _, sc := range j.prev.Scores {
			if !sc.Retry {
				kept[sc.Criterion] = sc
			}
		}
		res.Scores = []ResultScore{}
	} else {
		body, err := variantBody(j.variant, j.item.Item)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		hdr := attribution(sp.UseCase, sp.Name+"/"+j.item.ID, sp.Name, j.variant.Name)
		start := time.Now()
		c, err := s.chat(ctx, body, hdr)
		res.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
		res.CallID = c.id
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Output, res.ToolCalls, res.CostUSD = c.text, c.toolCalls, s.cost(ctx, c.id)
	}
	in := evaluator.Input{Output: res.Output, ToolCalls: res.ToolCalls, Cost: res.CostUSD, E2EMs: res.LatencyMs}
	if exp, ok := j.item.ExpectedText(); ok {
		in.Expected = &exp
	}
	var scores []criteria.ScoreInput
	for _, sc := range scorers {
		if k, ok := kept[sc.spec.Criterion]; ok {
			res.Scores = append(res.Scores, k)
			continue
		}
		rs := ResultScore{Criterion: sc.spec.Criterion, CriterionVersion: sc.spec.CriterionVersion, EvaluatorKind: sc.kind, Evaluator: sc.name}
		var (
			v      eval.Value
			reason string
			err    error
		)
		if sc.code != nil {
			v, reason, err = codeScore(ctx, sc, in)
		} else {
			v, reason, rs.JudgeCallID, err = s.judge(ctx, sp, sc, j.variant.Name, j.item.Item, res.Output, in.Expected)
		}
		if err != nil {
			rs.Error = err.Error()
			rs.Retry = errors.Is(err, errUnreachable)
			res.Scores = append(res.Scores, rs)
			continue
		}
		rs.Value, rs.Reasoning = &v, reason
		if p, ok := sc.def.Pass(v); ok {
			rs.Pass = &p
		}
		rs.ScoreID = ScoreID(target, sc.spec.Criterion, sc.spec.CriterionVersion, sc.name)
		scores = append(scores, eval.Score{ID: rs.ScoreID, Criterion: sc.spec.Criterion, CriterionVersion: sc.spec.CriterionVersion,
			EvaluatorKind: sc.kind, Evaluator: sc.name, TargetKind: eval.TargetExperimentItem, Target: target, Value: v,
			Reasoning: clip(reason, 20000), At: s.opt.Now().UTC()})
		res.Scores = append(res.Scores, rs)
	}
	if len(scores) > 0 {
		if _, _, err := s.opt.Criteria.PutScores(ctx, scores, criteria.Actor{Name: "experiment:" + sp.Name}); err != nil {
			res.Error = "store scores: " + err.Error()
		}
	}
	return res
}

// clip cuts s to at most n bytes, at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// codeScore turns a deterministic evaluator's result into a score of its
// criterion: pass/fail for boolean criteria, the measurement for numeric
// and Likert ones.
func codeScore(ctx context.Context, sc scorer, in evaluator.Input) (eval.Value, string, error) {
	r, err := sc.code.Evaluate(ctx, in)
	if err != nil {
		return eval.Value{}, "", err
	}
	var v eval.Value
	switch sc.def.Type {
	case eval.Boolean:
		p := r.Pass
		v.Bool = &p
	case eval.Numeric, eval.Likert:
		if r.Score == nil {
			return v, "", fmt.Errorf("%s gives pass or fail, not a number for %s criterion %s", sc.spec.Kind, sc.def.Type, sc.spec.Criterion)
		}
		f := *r.Score
		v.Number = &f
	default:
		return v, "", fmt.Errorf("%s cannot score a %s criterion", sc.spec.Kind, sc.def.Type)
	}
	if err := sc.def.Check(v); err != nil {
		return v, "", err
	}
	return v, r.Explanation, nil
}

// variantBody is the chat completions request of a variant for an item:
// its params, the model, the item's messages, and the prompt with the
// item's variables in the weir field.
func variantBody(v Variant, it dataset.Item) (map[string]any, error) {
	body := map[string]any{}
	if p := bytes.TrimSpace(v.Params); len(p) > 0 && string(p) != "null" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(p, &m); err != nil {
			return nil, fmt.Errorf("variant %s params: %w", v.Name, err)
		}
		for k, val := range m {
			body[k] = val
		}
	}
	body["model"] = v.Model
	msgs := json.RawMessage(`[]`)
	if len(it.Messages) > 0 {
		msgs = it.Messages
	}
	body["messages"] = msgs
	switch {
	case v.Prompt != "":
		w := map[string]any{"prompt": v.Prompt}
		if len(it.Variables) > 0 {
			w["variables"] = it.Variables
		}
		body["weir"] = w
	case len(it.Messages) == 0:
		return nil, fmt.Errorf("item %s has variables but no messages, and variant %s has no prompt to render them", it.ID, v.Name)
	}
	return body, nil
}

// attribution is the x-weir-* headers of an experiment's call.
func attribution(useCase, instance, experiment, variant string) http.Header {
	h := http.Header{}
	h.Set("x-weir-use-case", useCase)
	h.Set("x-weir-use-case-instance", clip(instance, 256))
	h.Set("x-weir-tags", tag("experiment:"+experiment)+","+tag("variant:"+variant))
	return h
}

// tag makes a valid x-weir-tags entry: no commas, at most 64 bytes.
func tag(s string) string {
	return clip(strings.ReplaceAll(s, ",", "_"), 64)
}

type chatResult struct {
	id        string
	text      string
	toolCalls []evaluator.ToolCall
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content   *string `json:"content"`
			ToolCalls []struct {
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// maxResponse bounds a gateway answer read.
const maxResponse = 16 << 20

// chat makes one chat completion through the gateway.
func (s *Service) chat(ctx context.Context, body map[string]any, hdr http.Header) (chatResult, error) {
	var out chatResult
	raw, err := json.Marshal(body)
	if err != nil {
		return out, err
	}
	if s.opt.Gateway == nil {
		return out, errors.New("no gateway URL configured")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.opt.Gateway(), "/")+"/v1/chat/completions", bytes.NewReader(raw))
	if err != nil {
		return out, err
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	if s.opt.GatewayKey != "" {
		req.Header.Set("Authorization", "Bearer "+s.opt.GatewayKey)
	}
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return out, fmt.Errorf("call the gateway: %w", err)
	}
	defer resp.Body.Close()
	out.id = resp.Header.Get("x-weir-request-id")
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return out, fmt.Errorf("read the gateway's answer: %w", err)
	}
	var cr chatResponse
	jerr := json.Unmarshal(b, &cr)
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(clip(string(b), 300))
		if jerr == nil && cr.Error != nil {
			msg = cr.Error.Message
		}
		return out, fmt.Errorf("gateway answered %d: %s", resp.StatusCode, msg)
	}
	if jerr != nil {
		return out, fmt.Errorf("the gateway's answer: %w", jerr)
	}
	if len(cr.Choices) == 0 {
		return out, errors.New("the gateway's answer has no choices")
	}
	m := cr.Choices[0].Message
	if m.Content != nil {
		out.text = *m.Content
	}
	for _, tc := range m.ToolCalls {
		args := json.RawMessage(tc.Function.Arguments)
		if !json.Valid(args) {
			args, _ = json.Marshal(tc.Function.Arguments)
		}
		out.toolCalls = append(out.toolCalls, evaluator.ToolCall{Name: tc.Function.Name, Arguments: args})
	}
	return out, nil
}

// cost reads a call's recorded cost, waiting a little for the recorder;
// nil when the call is unpriced or its record does not come in time.
func (s *Service) cost(ctx context.Context, id string) *pricing.Money {
	if id == "" {
		return nil
	}
	deadline := time.Now().Add(s.opt.RecordWait)
	for wait := 20 * time.Millisecond; ; wait = min(wait*2, 250*time.Millisecond) {
		cost, final := s.readCost(ctx, id)
		if final {
			return cost
		}
		if time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// readCost reads a call's cost once; final is false when the record is
// not there yet.
func (s *Service) readCost(ctx context.Context, id string) (cost *pricing.Money, final bool) {
	if s.opt.Records != nil {
		rec, err := s.opt.Records.GetRequest(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, false
		case err != nil:
			return nil, true
		}
		return rec.CostUSD, true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.opt.Gateway(), "/")+"/api/v1/requests/"+id, nil)
	if err != nil {
		return nil, true
	}
	if s.opt.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.opt.APIToken)
	}
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var rec struct {
		CostUSD *pricing.Money `json:"cost_usd"`
	}
	derr := json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(&rec)
	switch {
	case resp.StatusCode == http.StatusOK && derr == nil:
		return rec.CostUSD, true
	case resp.StatusCode == http.StatusNotFound:
		return nil, false
	}
	return nil, true // no permission, or not JSON: do without
}

// errUnreachable is wrapped when a judge's call failed: the score is
// asked again by the next run, unlike a reply without a valid score.
var errUnreachable = errors.New("the judge could not be reached")

// judge asks an LLM judge, through the gateway, for a score of the output
// under sc's criterion.
func (s *Service) judge(ctx context.Context, sp Spec, sc scorer, variant string, it dataset.Item, output string, expected *string) (eval.Value, string, string, error) {
	ji := evaluator.JudgeItem{Output: output}
	if len(it.Messages) > 0 {
		ji.Input = evaluator.FormatMessages(it.Messages)
	} else {
		ji.Input = string(it.Variables)
	}
	if expected != nil {
		ji.Expected = *expected
	}
	system, user := evaluator.BuildJudgePrompt(&sc.def, ji)
	body := map[string]any{"temperature": 0}
	if p := bytes.TrimSpace(sc.spec.Config); len(p) > 0 && string(p) != "null" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(p, &m); err != nil {
			return eval.Value{}, "", "", fmt.Errorf("judge config: %w", err)
		}
		for k, v := range m {
			if string(bytes.TrimSpace(v)) == "null" {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
	}
	body["model"] = sc.spec.Model
	body["messages"] = []map[string]string{
		{"role": "system", "content": system},
		{"role": "user", "content": user},
	}
	body["response_format"] = evaluator.JudgeResponseFormat(&sc.def)
	hdr := attribution("evaluation", sp.Name+"/"+it.ID, sp.Name, variant)
	hdr.Set("x-weir-tags", hdr.Get("x-weir-tags")+","+tag("judge:"+sc.spec.Criterion))
	c, err := s.chat(ctx, body, hdr)
	if err != nil {
		return eval.Value{}, "", c.id, fmt.Errorf("judge %s: %w: %w", sc.spec.Model, errUnreachable, err)
	}
	j, err := evaluator.ParseJudgement(&sc.def, c.text)
	if err != nil {
		return eval.Value{}, "", c.id, err
	}
	return j.Value, j.Reasoning, c.id, nil
}

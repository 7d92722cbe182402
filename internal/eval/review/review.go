// Package review runs Weir's human review queues: a queue belongs to a use
// case, names the criteria its items are scored on and how many people
// review each item, and is fed by sampling the use case's production calls
// (a rate, filters, strata with a daily minimum) and by items added through
// the API. A reviewer asks for the next item, which is locked for them for
// ten minutes and scored on each criterion's latest version at that time;
// the scores are stored as human eval.Scores. The app wires it (Service,
// Handler, Routes, Run) and the dashboard's Review page uses Service; it
// imports eval, eval/dataset (to read a call's messages), store, auth,
// httpjson and ids.
package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// Errors the service wraps; the handler maps them to statuses.
var (
	// ErrInvalid: the request is malformed or refused (400).
	ErrInvalid = errors.New("invalid")
	// ErrEmpty: the reviewer has nothing left in the queue (404 with a
	// code of its own).
	ErrEmpty = errors.New("nothing to review")
)

// Store is what the service needs of the store.
type Store interface {
	store.ReviewStore
	Criterion(ctx context.Context, name string) (store.Criterion, error)
	CriterionVersion(ctx context.Context, name string, version int) (store.CriterionVersion, error)
}

// Auditor records a change in the audit log (*audit.Log is one).
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// Defaults.
const (
	// LockFor is how long opening an item locks it for its reviewer.
	LockFor = 10 * time.Minute
	// DefaultInterval is how often Run samples calls.
	DefaultInterval = time.Minute
	// MaxReviews bounds a queue's reviews per item.
	MaxReviews = 20
	// MaxCriteria bounds a queue's criteria.
	MaxCriteria = 20
	// MaxAdd bounds the items of one POST.
	MaxAdd     = 1000
	maxComment = 20000
	maxReason  = 2000
)

// Options configure a Service.
type Options struct {
	Store Store
	// Calls reads the calls an item points at and the calls to sample.
	Calls store.RequestReader
	// Experiments, optional, finds the call an experiment item's variant
	// made (*experiment.Service), so that a reviewer sees its input and
	// output; without it such items show only their target.
	Experiments ExperimentCalls
	// Audit, optional, records created queues and added items.
	Audit Auditor
	// Interval is Run's period (default DefaultInterval); LockFor the
	// lock's length (default LockFor).
	Interval time.Duration
	LockFor  time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// ExperimentCalls finds the call of an experiment item's variant.
type ExperimentCalls interface {
	ResultCall(ctx context.Context, experiment, item, variant string) (string, error)
}

// UseExperiments sets Options.Experiments once the experiments exist
// (they are built after the queues); call it before the service is used.
func (s *Service) UseExperiments(e ExperimentCalls) { s.exps = e }

// Service manages review queues.
type Service struct {
	st       Store
	calls    store.RequestReader
	exps     ExperimentCalls
	audit    Auditor
	interval time.Duration
	lockFor  time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// New returns a Service.
func New(opt Options) *Service {
	s := &Service{st: opt.Store, calls: opt.Calls, exps: opt.Experiments, audit: opt.Audit, interval: opt.Interval, lockFor: opt.LockFor, now: opt.Now, log: opt.Log}
	if s.interval <= 0 {
		s.interval = DefaultInterval
	}
	if s.lockFor <= 0 {
		s.lockFor = LockFor
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

func (s *Service) record(ctx context.Context, action, name string, before, after any) {
	if s.audit == nil {
		return
	}
	if err := s.audit.Record(ctx, action, "review_queue", name, before, after); err != nil {
		s.log.Warn("review: audit", "action", action, "queue", name, "err", err)
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// QueueInput is a queue as created.
type QueueInput struct {
	Name     string   `json:"name"`
	UseCase  string   `json:"use_case"`
	Criteria []string `json:"criteria"`
	// ReviewsPerItem is N, 1 (the default) to MaxReviews.
	ReviewsPerItem int                  `json:"reviews_per_item,omitempty"`
	Sampling       store.ReviewSampling `json:"sampling"`
}

// Queue is a queue with its progress.
type Queue struct {
	store.ReviewQueue
	Progress store.ReviewProgress `json:"progress"`
}

// Validate checks a queue's fields (not that its criteria exist).
func (in *QueueInput) Validate() error {
	if !nameRE.MatchString(in.Name) {
		return invalid("name %q: letters, digits, . _ - (up to 128), starting with a letter or digit", in.Name)
	}
	if !nameRE.MatchString(in.UseCase) {
		return invalid("use_case %q is not a use case name", in.UseCase)
	}
	if len(in.Criteria) == 0 || len(in.Criteria) > MaxCriteria {
		return invalid("a queue has 1 to %d criteria", MaxCriteria)
	}
	for i, c := range in.Criteria {
		if slices.Contains(in.Criteria[:i], c) {
			return invalid("criterion %q appears twice", c)
		}
	}
	if in.ReviewsPerItem == 0 {
		in.ReviewsPerItem = 1
	}
	if in.ReviewsPerItem < 1 || in.ReviewsPerItem > MaxReviews {
		return invalid("reviews_per_item is 1 to %d", MaxReviews)
	}
	sp := &in.Sampling
	if !(sp.Rate >= 0 && sp.Rate <= 1) {
		return invalid("sampling.rate is 0 to 1")
	}
	switch sp.StratifyBy {
	case "", "model", "version":
	default:
		return invalid("sampling.stratify_by %q: model or version", sp.StratifyBy)
	}
	if sp.MinPerStratum < 0 || sp.MinPerStratum > 1000 {
		return invalid("sampling.min_per_stratum is 0 to 1000")
	}
	if sp.MinPerStratum > 0 && sp.StratifyBy == "" {
		return invalid("sampling.min_per_stratum needs stratify_by")
	}
	if len(sp.Model) > 256 || len(sp.UseCaseVersion) > 256 {
		return invalid("sampling filters are at most 256 bytes")
	}
	return nil
}

// CreateQueue creates a queue; its criteria must exist and belong to its
// use case.
func (s *Service) CreateQueue(ctx context.Context, in QueueInput, by string) (Queue, error) {
	if err := in.Validate(); err != nil {
		return Queue{}, err
	}
	for _, name := range in.Criteria {
		c, err := s.st.Criterion(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return Queue{}, invalid("no criterion %q", name)
		} else if err != nil {
			return Queue{}, err
		}
		if c.UseCase != in.UseCase {
			return Queue{}, invalid("criterion %q belongs to use case %q, not %q", name, c.UseCase, in.UseCase)
		}
	}
	q, err := s.st.CreateReviewQueue(ctx, store.ReviewQueue{Name: in.Name, UseCase: in.UseCase, Criteria: in.Criteria,
		ReviewsPerItem: in.ReviewsPerItem, Sampling: in.Sampling, CreatedAt: s.now().UTC(), CreatedBy: by})
	if err != nil {
		return Queue{}, err
	}
	s.record(ctx, "review_queue.create", q.Name, nil, q)
	return Queue{ReviewQueue: q, Progress: store.ReviewProgress{Reviewers: []store.ReviewerProgress{}}}, nil
}

func (s *Service) dayStart(now time.Time) time.Time { return now.UTC().Truncate(24 * time.Hour) }

// Queue returns a queue with its progress.
func (s *Service) Queue(ctx context.Context, name string) (Queue, error) {
	q, err := s.st.ReviewQueue(ctx, name)
	if err != nil {
		return Queue{}, err
	}
	now := s.now()
	p, err := s.st.ReviewProgress(ctx, name, now, s.dayStart(now))
	if err != nil {
		return Queue{}, err
	}
	return Queue{ReviewQueue: q, Progress: p}, nil
}

// Queues returns every queue with its progress.
func (s *Service) Queues(ctx context.Context) ([]Queue, error) {
	qs, err := s.st.ListReviewQueues(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Queue, 0, len(qs))
	for _, q := range qs {
		p, err := s.st.ReviewProgress(ctx, q.Name, now, s.dayStart(now))
		if err != nil {
			return nil, err
		}
		out = append(out, Queue{ReviewQueue: q, Progress: p})
	}
	return out, nil
}

// ItemInput is an item added by the API: a call id, or an experiment
// item's target ("experiment/item/variant").
type ItemInput struct {
	Call           string `json:"call,omitempty"`
	ExperimentItem string `json:"experiment_item,omitempty"`
}

// AddItems adds items to a queue; a call must exist. It returns how many
// were new (a target the queue holds is skipped).
func (s *Service) AddItems(ctx context.Context, queue string, in []ItemInput, by string) (int, error) {
	if len(in) == 0 || len(in) > MaxAdd {
		return 0, invalid("add 1 to %d items", MaxAdd)
	}
	if _, err := s.st.ReviewQueue(ctx, queue); err != nil {
		return 0, err
	}
	now := s.now().UTC()
	items := make([]store.ReviewItem, 0, len(in))
	for i, it := range in {
		ri := store.ReviewItem{ID: ids.New("rvi_", now), Source: "added", AddedAt: now, AddedBy: by}
		switch {
		case it.Call != "" && it.ExperimentItem == "":
			if s.calls == nil {
				return 0, invalid("item %d: calls cannot be read here", i)
			}
			if _, err := s.calls.GetRequest(ctx, it.Call); errors.Is(err, store.ErrNotFound) {
				return 0, invalid("item %d: no call %q", i, it.Call)
			} else if err != nil {
				return 0, err
			}
			ri.TargetKind, ri.Target = eval.TargetCall, it.Call
		case it.ExperimentItem != "" && it.Call == "":
			if strings.Count(it.ExperimentItem, "/") != 2 || strings.Contains(it.ExperimentItem, "//") {
				return 0, invalid("item %d: experiment_item is experiment/item/variant", i)
			}
			ri.TargetKind, ri.Target = eval.TargetExperimentItem, it.ExperimentItem
		default:
			return 0, invalid("item %d: give call or experiment_item", i)
		}
		if len(ri.Target) > store.MaxIDLen {
			return 0, invalid("item %d: the target is over %d bytes", i, store.MaxIDLen)
		}
		items = append(items, ri)
	}
	n, err := s.st.AddReviewItems(ctx, queue, items, nil)
	if err != nil {
		return 0, err
	}
	s.record(ctx, "review_queue.add_items", queue, nil, map[string]any{"added": n, "items": in})
	return n, nil
}

// Items returns a page of a queue's items with who reviewed them.
func (s *Service) Items(ctx context.Context, queue string, offset, limit int) ([]store.ReviewItem, error) {
	if _, err := s.st.ReviewQueue(ctx, queue); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	return s.st.ListReviewItems(ctx, queue, offset, limit)
}

// TaskCriterion is a criterion as the reviewer scores it: the version
// the item was opened with.
type TaskCriterion struct {
	Name       string          `json:"name"`
	Version    int             `json:"version"`
	Definition eval.Definition `json:"definition"`
}

// Message is one input message, as text.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Task is a locked item with what the reviewer needs to score it.
type Task struct {
	Queue    string           `json:"queue"`
	Item     store.ReviewItem `json:"item"`
	Criteria []TaskCriterion  `json:"criteria"`
	// Input is the call's request messages, Output its response text;
	// Note says why they are missing (e.g. no body was recorded).
	Input  []Message `json:"input"`
	Output string    `json:"output"`
	Note   string    `json:"note,omitempty"`
	// Call is the call's model, provider and time, for calls.
	Model      string    `json:"model,omitempty"`
	ReceivedAt time.Time `json:"received_at,omitzero"`
}

// latest returns the queue's criteria at their latest versions.
func (s *Service) latest(ctx context.Context, q store.ReviewQueue) (map[string]int, error) {
	out := map[string]int{}
	for _, name := range q.Criteria {
		v, err := s.st.CriterionVersion(ctx, name, 0)
		if err != nil {
			return nil, fmt.Errorf("criterion %s: %w", name, err)
		}
		out[name] = v.Version
	}
	return out, nil
}

func (s *Service) criteria(ctx context.Context, q store.ReviewQueue, versions map[string]int) ([]TaskCriterion, error) {
	out := make([]TaskCriterion, 0, len(q.Criteria))
	for _, name := range q.Criteria {
		n, ok := versions[name]
		if !ok {
			return nil, fmt.Errorf("item opened without criterion %s", name)
		}
		v, err := s.st.CriterionVersion(ctx, name, n)
		if err != nil {
			return nil, fmt.Errorf("criterion %s@%d: %w", name, n, err)
		}
		tc := TaskCriterion{Name: name, Version: n}
		if err := json.Unmarshal(v.Definition, &tc.Definition); err != nil {
			return nil, fmt.Errorf("criterion %s@%d: %w", name, n, err)
		}
		out = append(out, tc)
	}
	return out, nil
}

// Next locks the reviewer's next item (the one they hold, renewed, if
// any) and returns it with its input, output and criteria. Nothing left
// is ErrEmpty.
func (s *Service) Next(ctx context.Context, queue, reviewer string) (Task, error) {
	if reviewer == "" {
		return Task{}, invalid("reviewing needs a person")
	}
	q, err := s.st.ReviewQueue(ctx, queue)
	if err != nil {
		return Task{}, err
	}
	versions, err := s.latest(ctx, q)
	if err != nil {
		return Task{}, err
	}
	it, err := s.st.NextReviewItem(ctx, queue, reviewer, versions, s.now(), s.lockFor)
	if errors.Is(err, store.ErrNotFound) {
		return Task{}, fmt.Errorf("review queue %s: %w for %s", queue, ErrEmpty, reviewer)
	}
	if err != nil {
		return Task{}, err
	}
	return s.task(ctx, q, it)
}

func (s *Service) task(ctx context.Context, q store.ReviewQueue, it store.ReviewItem) (Task, error) {
	crit, err := s.criteria(ctx, q, it.Versions)
	if err != nil {
		return Task{}, err
	}
	t := Task{Queue: q.Name, Item: it, Criteria: crit, Input: []Message{}}
	callID := it.Target
	if it.TargetKind != eval.TargetCall {
		// An experiment item: its output is the call its variant made.
		exp, rest, _ := strings.Cut(it.Target, "/")
		item, variant, _ := strings.Cut(rest, "/")
		id := ""
		if s.exps != nil {
			id, err = s.exps.ResultCall(ctx, exp, item, variant)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return Task{}, err
			}
		}
		if id == "" {
			t.Note = "An experiment item: its input and output are in the experiment's results."
			return t, nil
		}
		callID = id
	}
	if s.calls == nil {
		t.Note = "Calls cannot be read here."
		return t, nil
	}
	r, err := s.calls.GetRequest(ctx, callID)
	if errors.Is(err, store.ErrNotFound) {
		t.Note = "The call is no longer stored."
		return t, nil
	} else if err != nil {
		return Task{}, err
	}
	t.Model, t.ReceivedAt = r.Model, r.ReceivedAt
	t.Input, t.Output, t.Note = Readable(r)
	return t, nil
}

// Readable returns a call's request messages and response text for a
// reviewer, and a note when they cannot be shown as such (the raw bodies
// are shown then).
func Readable(r record.Record) (in []Message, out, note string) {
	in = []Message{}
	item, err := dataset.ItemFromCall(r, true)
	if err != nil {
		item, err = dataset.ItemFromCall(r, false)
		if err != nil {
			if r.Request != "" {
				in = append(in, Message{Role: "request", Content: r.Request})
			}
			note = "The call's bodies are shown as recorded: " + err.Error()
			if r.ErrorMessage != "" {
				return in, r.ErrorMessage, note
			}
			return in, r.Response, note
		}
		out = r.Response
		if r.ErrorMessage != "" {
			out = r.ErrorMessage
		}
		note = fmt.Sprintf("The call failed (status %d).", r.Status)
	} else {
		_ = json.Unmarshal(item.Expected, &out)
	}
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	_ = json.Unmarshal(item.Messages, &msgs)
	for _, m := range msgs {
		in = append(in, Message{Role: m.Role, Content: contentText(m.Content)})
	}
	return in, out, note
}

// contentText flattens a message's content: a string, or the text of its
// parts (other parts are named in brackets).
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return string(raw)
	}
	var b strings.Builder
	for _, p := range parts {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		if p.Type == "text" {
			b.WriteString(p.Text)
		} else {
			b.WriteString("[" + p.Type + "]")
		}
	}
	return b.String()
}

// Renew extends the reviewer's lock on an item (activity on it).
func (s *Service) Renew(ctx context.Context, queue, id, reviewer string) (store.ReviewItem, error) {
	return s.st.RenewReviewLock(ctx, queue, id, reviewer, s.now(), s.lockFor)
}

// Submission is a review: a value per criterion of the queue, and an
// optional comment (stored as each score's reasoning).
type Submission struct {
	Scores  map[string]eval.Value `json:"scores"`
	Comment string                `json:"comment,omitempty"`
}

// Submit stores a review of an item the reviewer opened (Next): every
// criterion of the queue is scored, each checked against the version the
// item was opened with. The item must not have all its reviews, nor a
// review by this reviewer already (store.ErrConflict).
func (s *Service) Submit(ctx context.Context, queue, id, reviewer string, sub Submission) (store.ReviewItem, []store.StoredScore, error) {
	if reviewer == "" {
		return store.ReviewItem{}, nil, invalid("reviewing needs a person")
	}
	if len(sub.Comment) > maxComment {
		return store.ReviewItem{}, nil, invalid("the comment is over %d bytes", maxComment)
	}
	q, err := s.st.ReviewQueue(ctx, queue)
	if err != nil {
		return store.ReviewItem{}, nil, err
	}
	it, err := s.st.ReviewItem(ctx, queue, id)
	if err != nil {
		return it, nil, err
	}
	if it.LockedBy != reviewer {
		return it, nil, fmt.Errorf("review item %s/%s: open it first (next): %w", queue, id, store.ErrConflict)
	}
	crit, err := s.criteria(ctx, q, it.Versions)
	if err != nil {
		return it, nil, err
	}
	for name := range sub.Scores {
		if !slices.Contains(q.Criteria, name) {
			return it, nil, invalid("criterion %q is not one of the queue's", name)
		}
	}
	now := s.now().UTC()
	scores := make([]store.StoredScore, 0, len(crit))
	for _, c := range crit {
		v, ok := sub.Scores[c.Name]
		if !ok {
			return it, nil, invalid("criterion %q is not scored", c.Name)
		}
		if err := c.Definition.Check(v); err != nil {
			return it, nil, fmt.Errorf("criterion %s: %w", c.Name, err)
		}
		sc := store.StoredScore{Score: eval.Score{ID: ids.New("sco_", now), Criterion: c.Name, CriterionVersion: c.Version,
			EvaluatorKind: eval.Human, Evaluator: reviewer, TargetKind: it.TargetKind, Target: it.Target, Value: v, Reasoning: sub.Comment, At: now}}
		if pass, ok := c.Definition.Pass(v); ok {
			sc.Pass = &pass
		}
		scores = append(scores, sc)
	}
	it, err = s.st.FinishReviewItem(ctx, queue, id, store.ReviewOutcome{Reviewer: reviewer, Kind: store.ReviewDone, At: now}, scores)
	if err != nil {
		return it, nil, err
	}
	return it, scores, nil
}

// Skip records that the reviewer passes on an item (they are not given it
// again) and releases their lock.
func (s *Service) Skip(ctx context.Context, queue, id, reviewer, reason string) (store.ReviewItem, error) {
	if reviewer == "" {
		return store.ReviewItem{}, invalid("reviewing needs a person")
	}
	if len(reason) > maxReason {
		return store.ReviewItem{}, invalid("the reason is over %d bytes", maxReason)
	}
	return s.st.FinishReviewItem(ctx, queue, id, store.ReviewOutcome{Reviewer: reviewer, Kind: store.ReviewSkipped, Reason: reason, At: s.now().UTC()}, nil)
}

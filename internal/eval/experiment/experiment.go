// Package experiment runs evaluation experiments: a pinned dataset version
// sent through two or more variants (a route or model, an optional prompt
// reference, parameters) by calling Weir's own gateway over HTTP, so every
// call is recorded, priced and attributed like production traffic; each
// output is scored by deterministic evaluators and LLM judges (whose calls
// go through the gateway too) under pinned criterion versions, the scores
// stored through the criteria service. It compares variants (pass rates
// with Wilson intervals, paired bootstrap differences, cost and latency,
// items that flipped) and serves the experiments API. The app wires it
// (Service, Handler, Routes); cmd/weir's `weir eval run` drives it over
// HTTP. It imports eval, evaluator, criteria, dataset, evalstats, store,
// auth and httpjson.
package experiment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/evaluator"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// Errors the service wraps; the handler maps them to statuses.
var (
	// ErrInvalid: the specification is refused (400).
	ErrInvalid = errors.New("invalid")
	// ErrRunning: the experiment is running already (409 on changes).
	ErrRunning = errors.New("running")
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Limits of a specification.
const (
	MaxVariants       = 10
	MaxEvaluators     = 20
	MaxConcurrency    = 64
	DefaultConcurrent = 4
	// JudgeKind is the evaluator kind of an LLM judge.
	JudgeKind = "judge"
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Variant is one way of answering the items: what to call and how.
type Variant struct {
	Name string `json:"name"`
	// Model is the route or model name sent as the request's model.
	Model string `json:"model"`
	// Prompt, optional, is a prompt reference (name, name@3,
	// name@label); the item's variables are its variables.
	Prompt string `json:"prompt,omitempty"`
	// Params are merged into the request body (temperature, max_tokens,
	// tools...); model, messages, stream and weir are refused.
	Params json.RawMessage `json:"params,omitempty"`
}

// EvaluatorSpec is one evaluator: a deterministic kind of package
// evaluator with its config, or "judge" with a model; Criterion is the
// criterion its scores are stored under.
type EvaluatorSpec struct {
	Kind      string          `json:"kind"`
	Config    json.RawMessage `json:"config,omitempty"`
	Criterion string          `json:"criterion"`
	// Config of a judge is request parameters merged over the default
	// {"temperature": 0} (a null value removes one, e.g. for models that
	// refuse a temperature); response_format and tools are the judge's.
	// Model is the judge's route or model (judge only).
	Model string `json:"model,omitempty"`
	// CriterionVersion is pinned when the experiment is created (the
	// criterion's latest version then).
	CriterionVersion int `json:"criterion_version,omitempty"`
}

// Spec is what an experiment runs. DatasetVersion 0 means the latest; it
// is pinned when the experiment is created, as are criterion versions.
type Spec struct {
	Name           string          `json:"name"`
	Dataset        string          `json:"dataset"`
	DatasetVersion int             `json:"dataset_version,omitempty"`
	Variants       []Variant       `json:"variants"`
	Evaluators     []EvaluatorSpec `json:"evaluators"`
	Concurrency    int             `json:"concurrency,omitempty"`
	// UseCase is the x-weir-use-case of the variants' calls: the
	// dataset's use case when empty, else "evaluation".
	UseCase string `json:"use_case,omitempty"`
	// Review, optional, sends a share of the outputs to a review queue
	// for people to score (as experiment items).
	Review *ReviewRule `json:"review,omitempty"`
}

// ReviewRule sends Share (0 to 1) of an experiment's outputs, drawn by a
// stable hash of experiment, item and variant, to the review queue Queue.
type ReviewRule struct {
	Queue string  `json:"queue"`
	Share float64 `json:"share"`
}

// ReviewSink queues targets for people to review (the review queues).
type ReviewSink interface {
	Enqueue(ctx context.Context, queue, targetKind, target string) error
}

// reviewed reports whether the rule sends an item's variant to review.
func (r *ReviewRule) reviewed(experiment, item, variant string) bool {
	if r == nil || r.Share <= 0 {
		return false
	}
	if r.Share >= 1 {
		return true
	}
	sum := sha256.Sum256([]byte(experiment + "\x00" + item + "\x00" + variant))
	return float64(binary.BigEndian.Uint64(sum[:8])>>11)/float64(1<<53) < r.Share
}

// DecodeSpec reads a specification strictly: one JSON object, no unknown
// fields.
func DecodeSpec(body []byte) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("%w: the spec: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return s, fmt.Errorf("%w: the spec must be one JSON object", ErrInvalid)
	}
	return s, nil
}

var (
	reservedParams = []string{"model", "messages", "stream", "stream_options", "weir", "n"}
	judgeReserved  = append([]string{"response_format", "tools", "tool_choice"}, reservedParams...)
)

// checkParams checks request parameters: absent, null or a JSON object
// without the reserved keys.
func checkParams(raw json.RawMessage, reserved []string) error {
	p := bytes.TrimSpace(raw)
	if len(p) == 0 || string(p) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(p, &m); err != nil {
		return fmt.Errorf("must be a JSON object: %v", err)
	}
	for _, k := range reserved {
		if _, ok := m[k]; ok {
			return fmt.Errorf("may not set %q", k)
		}
	}
	return nil
}

// Validate checks a specification without the store: names, variants,
// evaluator configs.
func (s *Spec) Validate() error {
	if !nameRE.MatchString(s.Name) {
		return invalid("experiment name %q: letters, digits, . _ - only, up to 64, starting with a letter or digit", s.Name)
	}
	if s.Dataset == "" {
		return invalid("a dataset is required")
	}
	if s.DatasetVersion < 0 {
		return invalid("dataset_version must be positive (0: the latest)")
	}
	if len(s.Variants) < 1 || len(s.Variants) > MaxVariants {
		return invalid("an experiment has 1 to %d variants", MaxVariants)
	}
	seen := map[string]bool{}
	for i, v := range s.Variants {
		if !nameRE.MatchString(v.Name) {
			return invalid("variants[%d]: name %q: letters, digits, . _ - only, up to 64", i, v.Name)
		}
		if seen[v.Name] {
			return invalid("variants[%d]: name %q appears twice", i, v.Name)
		}
		seen[v.Name] = true
		if strings.TrimSpace(v.Model) == "" || len(v.Model) > 256 {
			return invalid("variants[%d]: a model (route or model name, up to 256 bytes) is required", i)
		}
		if len(v.Prompt) > 256 {
			return invalid("variants[%d]: the prompt reference is over 256 bytes", i)
		}
		if err := checkParams(v.Params, reservedParams); err != nil {
			return invalid("variants[%d]: params %v", i, err)
		}
	}
	if len(s.Evaluators) < 1 || len(s.Evaluators) > MaxEvaluators {
		return invalid("an experiment has 1 to %d evaluators", MaxEvaluators)
	}
	crit := map[string]bool{}
	for i, e := range s.Evaluators {
		if e.Criterion == "" {
			return invalid("evaluators[%d]: a criterion is required", i)
		}
		if crit[e.Criterion] {
			return invalid("evaluators[%d]: criterion %q is scored by another evaluator of this experiment", i, e.Criterion)
		}
		crit[e.Criterion] = true
		if e.Kind == JudgeKind {
			if strings.TrimSpace(e.Model) == "" {
				return invalid("evaluators[%d]: a judge needs a model", i)
			}
			if err := checkParams(e.Config, judgeReserved); err != nil {
				return invalid("evaluators[%d]: a judge's config (request parameters): %v", i, err)
			}
			continue
		}
		if e.Model != "" {
			return invalid("evaluators[%d]: only a judge has a model", i)
		}
		if _, err := evaluator.New(e.Kind, e.Config); err != nil {
			return invalid("evaluators[%d]: %v", i, err)
		}
	}
	if s.Concurrency == 0 {
		s.Concurrency = DefaultConcurrent
	}
	if s.Concurrency < 1 || s.Concurrency > MaxConcurrency {
		return invalid("concurrency is 1 to %d", MaxConcurrency)
	}
	if len(s.UseCase) > 256 {
		return invalid("use_case is over 256 bytes")
	}
	if r := s.Review; r != nil {
		if !nameRE.MatchString(r.Queue) {
			return invalid("review.queue %q is not a queue name", r.Queue)
		}
		if !(r.Share > 0 && r.Share <= 1) {
			return invalid("review.share is above 0 and at most 1")
		}
	}
	return nil
}

// Datasets is what the service needs of datasets (*dataset.Service).
type Datasets interface {
	Get(ctx context.Context, name string) (dataset.Dataset, error)
	AllItems(ctx context.Context, name string, version int) (int, []dataset.Entry, error)
}

// Criteria is what the service needs of criteria (*criteria.Service).
type Criteria interface {
	Version(ctx context.Context, name string, version int) (criteria.Version, error)
	PutScores(ctx context.Context, in []criteria.ScoreInput, by criteria.Actor) ([]store.StoredScore, int, error)
}

// RecordReader reads a recorded call (store.RequestReader's GetRequest);
// a call not recorded yet is store.ErrNotFound.
type RecordReader interface {
	GetRequest(ctx context.Context, id string) (record.Record, error)
}

// Auditor records a change in the audit log (*audit.Log is one).
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// Options configure a Service.
type Options struct {
	Store    store.ExperimentStore
	Datasets Datasets
	Criteria Criteria
	// Gateway is the base URL of Weir's gateway and API, e.g.
	// http://127.0.0.1:8080 (calls go to /v1/chat/completions, records
	// are read from /api/v1/requests/{id}). A func, for listeners whose
	// address is known only once they listen.
	Gateway func() string
	// GatewayKey, optional, is sent as the bearer token of the gateway
	// calls: an application key, required once the gateway has keys.
	GatewayKey string
	// Records, optional, reads a call's record for its cost (the app's
	// store: *sqlite.Store). Without it the record is read from
	// GET /api/v1/requests/{id} with APIToken.
	Records RecordReader
	// APIToken, optional, is the bearer token of the record reads over
	// HTTP (a management token with read).
	APIToken string
	// Client makes the calls; http.DefaultClient when nil.
	Client *http.Client
	Audit  Auditor
	// Reviews, optional, takes the outputs a spec's review rule sends to
	// people.
	Reviews ReviewSink
	Now     func() time.Time
	Log     *slog.Logger
	// RecordWait bounds how long the cost of a call is waited for in its
	// record (default 2 s); the response's usage is kept without it.
	RecordWait time.Duration
}

// Service keeps and runs experiments.
type Service struct {
	opt Options

	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
	base    context.Context
	stop    context.CancelFunc
}

// New returns a Service. Close stops its running experiments.
func New(opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	if opt.RecordWait == 0 {
		opt.RecordWait = 2 * time.Second
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Service{opt: opt, running: map[string]context.CancelFunc{}, base: ctx, stop: stop}
}

// Close cancels the running experiments and waits for them to stop; they
// stay "running" in the store and resume with Resume or a new POST.
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}

// Experiment is an experiment as the API shows it.
type Experiment struct {
	Name      string    `json:"name"`
	Spec      Spec      `json:"spec"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// StartedAt and FinishedAt are absent until the run starts or ends.
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Progress   Progress   `json:"progress"`
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Progress is how far a run is.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

func decodeExperiment(e store.Experiment) (Experiment, error) {
	out := Experiment{Name: e.Name, Status: e.Status, Error: e.Error, CreatedAt: e.CreatedAt, CreatedBy: e.CreatedBy,
		StartedAt: timeOrNil(e.StartedAt), FinishedAt: timeOrNil(e.FinishedAt), Progress: Progress{Done: e.Done, Total: e.Total}}
	if err := json.Unmarshal(e.Spec, &out.Spec); err != nil {
		return out, fmt.Errorf("experiment %s: spec: %w", e.Name, err)
	}
	return out, nil
}

// Get returns one experiment with its progress.
func (s *Service) Get(ctx context.Context, name string) (Experiment, error) {
	e, err := s.opt.Store.Experiment(ctx, name)
	if err != nil {
		return Experiment{}, err
	}
	return decodeExperiment(e)
}

// List returns the experiments, newest first.
func (s *Service) List(ctx context.Context) ([]Experiment, error) {
	es, err := s.opt.Store.ListExperiments(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Experiment, 0, len(es))
	for _, e := range es {
		d, err := decodeExperiment(e)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// pin checks the spec against the store and pins the dataset version and
// every criterion's latest version.
func (s *Service) pin(ctx context.Context, sp *Spec) (items int, err error) {
	ds, err := s.opt.Datasets.Get(ctx, sp.Dataset)
	if errors.Is(err, store.ErrNotFound) {
		return 0, invalid("no dataset %q", sp.Dataset)
	} else if err != nil {
		return 0, err
	}
	if sp.DatasetVersion == 0 {
		sp.DatasetVersion = ds.LatestVersion
	}
	if sp.DatasetVersion == 0 {
		return 0, invalid("dataset %s has no items yet", sp.Dataset)
	}
	v, entries, err := s.opt.Datasets.AllItems(ctx, sp.Dataset, sp.DatasetVersion)
	if errors.Is(err, store.ErrNotFound) {
		return 0, invalid("no version %d of dataset %s", sp.DatasetVersion, sp.Dataset)
	} else if err != nil {
		return 0, err
	}
	sp.DatasetVersion = v
	if len(entries) == 0 {
		return 0, invalid("dataset %s version %d has no items", sp.Dataset, v)
	}
	if sp.UseCase == "" {
		sp.UseCase = ds.UseCase
	}
	if sp.UseCase == "" {
		sp.UseCase = "evaluation"
	}
	for i := range sp.Evaluators {
		e := &sp.Evaluators[i]
		cv, err := s.opt.Criteria.Version(ctx, e.Criterion, e.CriterionVersion)
		if errors.Is(err, store.ErrNotFound) {
			return 0, invalid("evaluators[%d]: no criterion %s (version %d)", i, e.Criterion, e.CriterionVersion)
		} else if err != nil {
			return 0, err
		}
		e.CriterionVersion = cv.Version
		if e.Kind != JudgeKind && cv.Definition.Type == eval.Categorical {
			return 0, invalid("evaluators[%d]: a %s evaluator cannot score categorical criterion %s", i, e.Kind, e.Criterion)
		}
	}
	return len(entries), nil
}

// Created says what Create did.
type Created struct {
	Experiment Experiment `json:"experiment"`
	// Resumed is true when the experiment existed with the same
	// specification and was (re)started where it stopped.
	Resumed bool `json:"resumed"`
}

// Create validates and pins a specification, stores the experiment and
// starts it in the background. An experiment of the same name whose
// pinned specification matches is resumed instead (items already done are
// skipped); one that differs is store.ErrConflict.
func (s *Service) Create(ctx context.Context, sp Spec, by string) (Created, error) {
	if err := sp.Validate(); err != nil {
		return Created{}, err
	}
	existing, err := s.opt.Store.Experiment(ctx, sp.Name)
	switch {
	case err == nil:
		old, err := decodeExperiment(existing)
		if err != nil {
			return Created{}, err
		}
		if !sameSpec(old.Spec, sp) {
			return Created{}, fmt.Errorf("experiment %s exists with another specification: %w", sp.Name, store.ErrConflict)
		}
		if err := s.start(old.Spec); err != nil && !errors.Is(err, ErrRunning) {
			return Created{}, err
		}
		e, err := s.Get(ctx, sp.Name)
		return Created{Experiment: e, Resumed: true}, err
	case !errors.Is(err, store.ErrNotFound):
		return Created{}, err
	}
	n, err := s.pin(ctx, &sp)
	if err != nil {
		return Created{}, err
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		return Created{}, err
	}
	st, err := s.opt.Store.CreateExperiment(ctx, store.Experiment{Name: sp.Name, Spec: raw, Status: store.ExperimentPending,
		Total: n * len(sp.Variants), CreatedAt: s.opt.Now().UTC(), CreatedBy: by})
	if err != nil {
		return Created{}, err
	}
	if s.opt.Audit != nil {
		if err := s.opt.Audit.Record(ctx, "experiment.create", "experiment", sp.Name, nil, sp); err != nil {
			s.opt.Log.Warn("experiment: audit", "experiment", sp.Name, "err", err)
		}
	}
	if err := s.start(sp); err != nil {
		return Created{}, err
	}
	e, err := decodeExperiment(st)
	return Created{Experiment: e}, err
}

// sameSpec reports whether a stored (pinned) spec is what b asks for: b's
// unset dataset version, criterion versions, concurrency and use case
// match anything.
func sameSpec(pinned, b Spec) bool {
	if b.DatasetVersion == 0 {
		b.DatasetVersion = pinned.DatasetVersion
	}
	if b.UseCase == "" {
		b.UseCase = pinned.UseCase
	}
	b.Concurrency = pinned.Concurrency
	if len(b.Evaluators) == len(pinned.Evaluators) {
		for i := range b.Evaluators {
			if b.Evaluators[i].CriterionVersion == 0 {
				b.Evaluators[i].CriterionVersion = pinned.Evaluators[i].CriterionVersion
			}
		}
	}
	x, err1 := json.Marshal(pinned)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(compact(x), compact(y))
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// Resume restarts the experiments left running or pending (after a
// restart of the process).
func (s *Service) Resume(ctx context.Context) error {
	es, err := s.List(ctx)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.Status == store.ExperimentRunning || e.Status == store.ExperimentPending {
			if err := s.start(e.Spec); err != nil && !errors.Is(err, ErrRunning) {
				return err
			}
		}
	}
	return nil
}

// start runs sp in the background unless it runs already.
func (s *Service) start(sp Spec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.running[sp.Name]; ok {
		return fmt.Errorf("experiment %s: %w", sp.Name, ErrRunning)
	}
	if s.base.Err() != nil {
		return fmt.Errorf("experiment %s: the service is closed", sp.Name)
	}
	ctx, cancel := context.WithCancel(s.base)
	s.running[sp.Name] = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.running, sp.Name)
			s.mu.Unlock()
			cancel()
		}()
		if err := s.Run(ctx, sp); err != nil {
			s.opt.Log.Warn("experiment: run", "experiment", sp.Name, "err", err)
		}
	}()
	return nil
}

// Cancel stops a running experiment; it is marked canceled. One marked
// running or pending that does not run in this process (its process
// stopped) is marked canceled at once.
func (s *Service) Cancel(ctx context.Context, name string) error {
	e, err := s.opt.Store.Experiment(ctx, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	cancel, ok := s.running[name]
	s.mu.Unlock()
	switch {
	case ok:
		cancel()
	case e.Status == store.ExperimentRunning || e.Status == store.ExperimentPending:
		return s.opt.Store.SetExperimentStatus(ctx, name, store.ExperimentCanceled, "canceled", time.Time{}, s.opt.Now().UTC())
	}
	return nil
}

// Wait blocks until the named experiment is not running in this process
// (or ctx ends).
func (s *Service) Wait(ctx context.Context, name string) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		_, ok := s.running[name]
		s.mu.Unlock()
		if !ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

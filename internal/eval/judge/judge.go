// Package judge runs LLM judges and measures how far they can be trusted.
// A judge is a named, versioned scorer of one criterion: each immutable
// version fixes the criterion version it scores, the model (a Weir route or
// model name), the temperature and, optionally, its own system prompt.
// Running a judge on recorded calls asks Weir's own gateway (attributed to
// the "evaluation" use case) and stores its verdicts as LLM scores;
// calibration joins them with people's scores of the same targets under
// the same criterion version (kappa with a bootstrap interval, the
// confusion matrix, the human ceiling, sensitivity and specificity, the
// corrected pass rate) and decides whether the judge is trusted. Pass rates
// use people's and trusted judges' scores only. The app wires it (Service,
// Handler, Routes); it imports eval, evaluator, dataset, evalstats, store,
// auth, httpjson and ids.
package judge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/store"
)

// Errors the service wraps; the handler maps them to statuses.
var (
	// ErrInvalid: the request is malformed or refused (400).
	ErrInvalid = errors.New("invalid")
	// ErrNoGateway: judges cannot run, no gateway is configured (503).
	ErrNoGateway = errors.New("no gateway configured to run judges")
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Store is what the service needs of the store.
type Store interface {
	store.JudgeStore
	store.JudgeRunStore
	store.CriterionStore
	store.CriterionVersionReader
	store.ScoreStore
	store.RequestReader
}

// Auditor records a change in the audit log (*audit.Log is one).
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// AuditSink takes targets a judge scored for people to review (the review
// queue satisfies it): queue is the queue's name, targetKind an
// eval.TargetKind, target the target's id.
type AuditSink interface {
	Enqueue(ctx context.Context, queue, targetKind, target string) error
}

// Defaults of the trust rule (issue 8), used when a judge version sets
// none.
const (
	DefaultTrustThreshold = 0.6
	DefaultMinItems       = 50
)

// Options configure a Service.
type Options struct {
	Store Store
	// Gateway asks the judge model; required to run judges.
	Gateway Gateway
	// Audit, optional, records created judges and new versions.
	Audit Auditor
	// Sink, optional, takes the audit share of scored targets; nil keeps
	// judges working without audits.
	Sink AuditSink
	// TrustThreshold and MinItems are the trust rule's defaults (0: 0.6
	// and 50); a judge version may set its own.
	TrustThreshold float64
	MinItems       int
	// Seed seeds the bootstrap intervals (the same data give the same
	// interval); Iterations is their resamples (0: 2000).
	Seed       uint64
	Iterations int
	// Concurrency bounds the judge calls of one run in flight (0: 4).
	Concurrency int
	Now         func() time.Time
	Log         *slog.Logger
}

// Service manages judges, runs them and calibrates them.
type Service struct {
	st          Store
	gw          Gateway
	audit       Auditor
	sink        AuditSink
	threshold   float64
	minItems    int
	seed        uint64
	iterations  int
	concurrency int
	now         func() time.Time
	log         *slog.Logger
}

// New returns a Service.
func New(opt Options) *Service {
	s := &Service{st: opt.Store, gw: opt.Gateway, audit: opt.Audit, sink: opt.Sink, threshold: opt.TrustThreshold,
		minItems: opt.MinItems, seed: opt.Seed, iterations: opt.Iterations, concurrency: opt.Concurrency, now: opt.Now, log: opt.Log}
	if s.threshold == 0 {
		s.threshold = DefaultTrustThreshold
	}
	if s.minItems == 0 {
		s.minItems = DefaultMinItems
	}
	if s.concurrency <= 0 {
		s.concurrency = 4
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

func (s *Service) record(ctx context.Context, action, name string, before, after any) {
	if s.audit == nil {
		return
	}
	if err := s.audit.Record(ctx, action, "judge", name, before, after); err != nil {
		s.log.Warn("judge: audit", "action", action, "judge", name, "err", err)
	}
}

// Definition is what one judge version does: the part whose every change
// makes a new version.
type Definition struct {
	// CriterionVersion is the version of the judge's criterion it scores.
	CriterionVersion int `json:"criterion_version"`
	// Model is a Weir route or model name.
	Model       string  `json:"model"`
	Temperature float64 `json:"temperature"`
	// Prompt, optional, replaces the default system prompt; it may use
	// {{question}}, {{rubric}} and {{allowed_values}}. The user message
	// (the call's input and output between tags) is always the default's.
	Prompt string `json:"prompt,omitempty"`
	// AuditShare is the share (0 to 1) of the call targets the judge scores
	// that are queued for people to review, in AuditQueue (default
	// "<judge>-audit").
	AuditShare float64 `json:"audit_share,omitempty"`
	AuditQueue string  `json:"audit_queue,omitempty"`
	// DisputeQueue, when set, receives the call targets people should
	// settle: those on which this judge and another judge of the same
	// criterion version disagree (a different verdict, label or point),
	// and those this judge is unsure about (its confidence below
	// UnsureBelow).
	DisputeQueue string `json:"dispute_queue,omitempty"`
	// UnsureBelow is the confidence (0 to 1, as the judge states it in
	// its answer) under which a score is disputed; 0 disputes none.
	UnsureBelow float64 `json:"unsure_below,omitempty"`
	// TrustThreshold and MinItems override the trust rule's defaults: the
	// judge is trusted when at least MinItems items carry both a person's
	// and its score and the lower bound of its kappa interval is above
	// TrustThreshold.
	TrustThreshold *float64 `json:"trust_threshold,omitempty"`
	MinItems       int      `json:"min_items,omitempty"`
}

// placeholders a Prompt may use.
var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

var placeholders = map[string]bool{"question": true, "rubric": true, "allowed_values": true}

// Validate checks the definition (the criterion version is checked by the
// service against the store).
func (d *Definition) Validate() error {
	if d.CriterionVersion < 1 {
		return invalid("criterion_version must be positive")
	}
	if strings.TrimSpace(d.Model) == "" || len(d.Model) > 256 {
		return invalid("a judge needs a model (a route or model name, up to 256 bytes)")
	}
	if math.IsNaN(d.Temperature) || d.Temperature < 0 || d.Temperature > 2 {
		return invalid("temperature must be from 0 to 2")
	}
	if len(d.Prompt) > 20000 {
		return invalid("the prompt is over 20,000 bytes")
	}
	for _, m := range placeholderRE.FindAllStringSubmatch(d.Prompt, -1) {
		if !placeholders[m[1]] {
			return invalid("prompt placeholder {{%s}}: want {{question}}, {{rubric}} or {{allowed_values}}", m[1])
		}
	}
	if math.IsNaN(d.AuditShare) || d.AuditShare < 0 || d.AuditShare > 1 {
		return invalid("audit_share must be from 0 to 1")
	}
	if d.AuditQueue != "" && !nameRE.MatchString(d.AuditQueue) {
		return invalid("audit_queue %q: letters, digits, . _ - only, up to 128", d.AuditQueue)
	}
	if t := d.TrustThreshold; t != nil && (math.IsNaN(*t) || *t < -1 || *t >= 1) {
		return invalid("trust_threshold must be from -1 to below 1")
	}
	if d.MinItems < 0 || d.MinItems > 1_000_000 {
		return invalid("min_items must be from 0 to 1,000,000")
	}
	return nil
}

// nameRE is a judge's name rule.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Judge is a judge as the API shows it.
type Judge struct {
	store.Judge
	Versions []Version `json:"versions,omitempty"`
}

// Version is one judge version with its definition decoded.
type Version struct {
	Judge   string `json:"judge"`
	Version int    `json:"version"`
	// Evaluator is the name its scores carry: "<judge>@<version>".
	Evaluator  string     `json:"evaluator"`
	Definition Definition `json:"definition"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
}

// EvaluatorName is the evaluator of a judge version's scores.
func EvaluatorName(judge string, version int) string { return fmt.Sprintf("%s@%d", judge, version) }

// ParseEvaluator splits "<judge>@<version>"; ok is false for any other
// evaluator name.
func ParseEvaluator(s string) (judge string, version int, ok bool) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 {
		return "", 0, false
	}
	var v int
	if _, err := fmt.Sscanf(s[i+1:], "%d", &v); err != nil || v < 1 || fmt.Sprint(v) != s[i+1:] {
		return "", 0, false
	}
	return s[:i], v, true
}

func decodeVersion(v store.JudgeVersion) (Version, error) {
	out := Version{Judge: v.Judge, Version: v.Version, Evaluator: EvaluatorName(v.Judge, v.Version), CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy}
	if err := json.Unmarshal(v.Definition, &out.Definition); err != nil {
		return out, fmt.Errorf("judge %s version %d: stored definition: %w", v.Judge, v.Version, err)
	}
	return out, nil
}

// Input is the body that creates a judge or makes its next version.
// CriterionVersion 0 means the criterion's latest version.
type Input struct {
	Name      string `json:"name,omitempty"`
	Criterion string `json:"criterion,omitempty"`
	Definition
}

// criterionDefinition reads a criterion version's definition.
func (s *Service) criterionDefinition(ctx context.Context, name string, version int) (*eval.Definition, int, error) {
	cv, err := s.st.CriterionVersion(ctx, name, version)
	if err != nil {
		return nil, 0, err
	}
	var d eval.Definition
	if err := json.Unmarshal(cv.Definition, &d); err != nil {
		return nil, 0, fmt.Errorf("criterion %s version %d: stored definition: %w", name, cv.Version, err)
	}
	return &d, cv.Version, nil
}

// checkInput resolves the criterion version and validates the definition.
func (s *Service) checkInput(ctx context.Context, criterion string, d *Definition) error {
	if d.CriterionVersion == 0 {
		c, err := s.st.Criterion(ctx, criterion)
		if errors.Is(err, store.ErrNotFound) {
			return invalid("no criterion %q", criterion)
		} else if err != nil {
			return err
		}
		d.CriterionVersion = c.LatestVersion
	}
	if err := d.Validate(); err != nil {
		return err
	}
	if _, _, err := s.criterionDefinition(ctx, criterion, d.CriterionVersion); errors.Is(err, store.ErrNotFound) {
		return invalid("no criterion %s version %d", criterion, d.CriterionVersion)
	} else if err != nil {
		return err
	}
	return nil
}

// Create makes a judge with its first version.
func (s *Service) Create(ctx context.Context, in Input, by string) (Judge, error) {
	if !nameRE.MatchString(in.Name) {
		return Judge{}, invalid("name %q: letters, digits, . _ - only, up to 128", in.Name)
	}
	if in.Criterion == "" {
		return Judge{}, invalid("a judge names the criterion it scores")
	}
	d := in.Definition
	if err := s.checkInput(ctx, in.Criterion, &d); err != nil {
		return Judge{}, err
	}
	raw, _ := json.Marshal(d)
	now := s.now().UTC()
	j, v, err := s.st.CreateJudge(ctx, store.Judge{Name: in.Name, Criterion: in.Criterion, CreatedAt: now, CreatedBy: by},
		store.JudgeVersion{Definition: raw, CreatedAt: now, CreatedBy: by})
	if err != nil {
		return Judge{}, err
	}
	dv, err := decodeVersion(v)
	if err != nil {
		return Judge{}, err
	}
	s.record(ctx, "judge.create", j.Name, nil, dv)
	return Judge{Judge: j, Versions: []Version{dv}}, nil
}

// Put makes the next version of a judge; a definition identical to the
// latest one is a no-op that returns the judge as it is.
func (s *Service) Put(ctx context.Context, name string, in Input, by string) (Judge, bool, error) {
	j, err := s.st.Judge(ctx, name)
	if err != nil {
		return Judge{}, false, err
	}
	if in.Name != "" && in.Name != name {
		return Judge{}, false, invalid("the body names judge %q, the path %q", in.Name, name)
	}
	if in.Criterion != "" && in.Criterion != j.Criterion {
		return Judge{}, false, invalid("judge %s scores criterion %s; make a new judge for %s", name, j.Criterion, in.Criterion)
	}
	d := in.Definition
	if err := s.checkInput(ctx, j.Criterion, &d); err != nil {
		return Judge{}, false, err
	}
	latest, err := s.st.JudgeVersion(ctx, name, j.LatestVersion)
	if err != nil {
		return Judge{}, false, err
	}
	prev, err := decodeVersion(latest)
	if err != nil {
		return Judge{}, false, err
	}
	raw, _ := json.Marshal(d)
	if old, _ := json.Marshal(prev.Definition); string(old) == string(raw) {
		got, err := s.Get(ctx, name)
		return got, false, err
	}
	v, err := s.st.AddJudgeVersion(ctx, store.JudgeVersion{Judge: name, Definition: raw, CreatedAt: s.now().UTC(), CreatedBy: by}, j.LatestVersion)
	if err != nil {
		return Judge{}, false, err
	}
	dv, err := decodeVersion(v)
	if err != nil {
		return Judge{}, false, err
	}
	s.record(ctx, "judge.version", name, prev, dv)
	got, err := s.Get(ctx, name)
	return got, true, err
}

// Get returns a judge with its versions, oldest first.
func (s *Service) Get(ctx context.Context, name string) (Judge, error) {
	j, err := s.st.Judge(ctx, name)
	if err != nil {
		return Judge{}, err
	}
	vs, err := s.st.JudgeVersions(ctx, name)
	if err != nil {
		return Judge{}, err
	}
	out := Judge{Judge: j, Versions: make([]Version, 0, len(vs))}
	for _, v := range vs {
		dv, err := decodeVersion(v)
		if err != nil {
			return Judge{}, err
		}
		out.Versions = append(out.Versions, dv)
	}
	return out, nil
}

// List returns the judges (headers), of one criterion when criterion is
// not empty.
func (s *Service) List(ctx context.Context, criterion string) ([]store.Judge, error) {
	return s.st.ListJudges(ctx, criterion)
}

// version returns one judge version, the latest when version is 0.
func (s *Service) version(ctx context.Context, name string, version int) (store.Judge, Version, error) {
	j, err := s.st.Judge(ctx, name)
	if err != nil {
		return j, Version{}, err
	}
	v, err := s.st.JudgeVersion(ctx, name, version)
	if err != nil {
		return j, Version{}, err
	}
	dv, err := decodeVersion(v)
	return j, dv, err
}

// trustRule is a version's threshold and minimum items.
func (s *Service) trustRule(d Definition) (float64, int) {
	t, n := s.threshold, s.minItems
	if d.TrustThreshold != nil {
		t = *d.TrustThreshold
	}
	if d.MinItems > 0 {
		n = d.MinItems
	}
	return t, n
}

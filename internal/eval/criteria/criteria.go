// Package criteria keeps Weir's evaluation criteria and the scores given
// under them: criteria are named, belong to a use case, have a business
// owner and a technical owner, and are versioned (every change of the
// definition is a new, immutable version with author and reason). A
// criterion may require the other owner's approval of a change. Scores are
// stored under the criterion version they were given under and summarised
// per version, never mixed. The app wires it (Service, Handler, Routes); it
// imports eval, store, auth, httpjson and ids.
package criteria

import (
	"bytes"
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
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/store"
)

// Errors the service wraps; the handler maps them to statuses.
var (
	// ErrInvalid: the request is malformed or refused (400).
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the actor may not do this to this criterion (403).
	ErrForbidden = errors.New("forbidden")
)

// Store is what the service needs of the store.
type Store interface {
	store.CriterionStore
	store.CriterionVersionReader
	store.CriterionChangeStore
	store.ScoreStore
}

// PersonLookup finds a person by name (*auth.Manager and the store's
// PeopleStore are ones); a missing person is store.ErrNotFound.
type PersonLookup interface {
	Person(ctx context.Context, name string) (store.Person, error)
}

// peopleCounter is optionally implemented by a PersonLookup: while nobody
// exists (an open, loopback-only API), owners are names only.
type peopleCounter interface {
	CountPeople(ctx context.Context) (int, error)
}

// Auditor records a change in the audit log (*audit.Log is one): action,
// the object's kind and id, and its state before (nil: created) and after.
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// Actor is who asks for a change: a person's name, and whether they act
// as an administrator (who may change and approve any criterion).
type Actor struct {
	Name  string
	Admin bool
}

// Options configure a Service.
type Options struct {
	Store Store
	// People checks that owners are people; required.
	People PersonLookup
	// Audit, optional, records changes of criteria and decisions.
	Audit Auditor
	Now   func() time.Time
	Log   *slog.Logger
}

// Service manages criteria and scores.
type Service struct {
	st     Store
	people PersonLookup
	audit  Auditor
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Service.
func New(opt Options) *Service {
	s := &Service{st: opt.Store, people: opt.People, audit: opt.Audit, now: opt.Now, log: opt.Log}
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
	if err := s.audit.Record(ctx, action, "criterion", name, before, after); err != nil {
		s.log.Warn("criteria: audit", "action", action, "criterion", name, "err", err)
	}
}

// nameRE is a use case's name rule.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Limits of free text.
const (
	maxReason    = 2000
	maxReasoning = 20000
	maxFuture    = 5 * time.Minute
	// MaxBatch bounds the scores of one PutScores.
	MaxBatch = 1000
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Criterion is a criterion's header with its latest definition and its
// pending change, if any.
type Criterion struct {
	store.Criterion
	Definition eval.Definition `json:"definition"`
	Pending    *Change         `json:"pending_change,omitempty"`
}

// Version is one immutable version of a criterion.
type Version struct {
	Criterion  string          `json:"criterion"`
	Version    int             `json:"version"`
	Definition eval.Definition `json:"definition"`
	Author     string          `json:"author"`
	Reason     string          `json:"reason,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
}

// Change is a proposed change; Definition is nil when it changes only
// owners or the approval flag.
type Change struct {
	store.CriterionChange
	Definition *eval.Definition `json:"definition,omitempty"`
}

func decodeVersion(v store.CriterionVersion) (Version, error) {
	out := Version{Criterion: v.Criterion, Version: v.Version, Author: v.Author, Reason: v.Reason, CreatedAt: v.CreatedAt}
	if err := json.Unmarshal(v.Definition, &out.Definition); err != nil {
		return out, fmt.Errorf("criterion %s version %d: %w", v.Criterion, v.Version, err)
	}
	return out, nil
}

func decodeChange(c store.CriterionChange) (Change, error) {
	out := Change{CriterionChange: c}
	if len(c.Definition) > 0 {
		out.Definition = new(eval.Definition)
		if err := json.Unmarshal(c.Definition, out.Definition); err != nil {
			return out, fmt.Errorf("criterion %s change %s: %w", c.Criterion, c.ID, err)
		}
	}
	out.CriterionChange.Definition = nil
	return out, nil
}

// Input is a criterion as PUT: on creation use_case, both owners and the
// definition are required; on a change empty fields (and absent
// requires_approval or definition) keep what is. The reason is required
// for every version after the first.
type Input struct {
	UseCase          string           `json:"use_case,omitempty"`
	BusinessOwner    string           `json:"business_owner,omitempty"`
	TechnicalOwner   string           `json:"technical_owner,omitempty"`
	RequiresApproval *bool            `json:"requires_approval,omitempty"`
	Definition       *eval.Definition `json:"definition,omitempty"`
	Reason           string           `json:"reason,omitempty"`
}

// Result is what a Put did: Status applied (Version is the new version, or
// nil when only the header changed), pending (Change awaits the other
// owner's approval) or unchanged (nothing differed; Version is the latest).
type Result struct {
	Status    string    `json:"status"`
	Criterion Criterion `json:"criterion"`
	Version   *Version  `json:"version,omitempty"`
	Change    *Change   `json:"change,omitempty"`
}

// The statuses of a Result.
const (
	StatusApplied   = "applied"
	StatusPending   = "pending"
	StatusUnchanged = "unchanged"
)

// canonical is a definition's stored form; equal definitions have equal
// canonical forms.
func canonical(d *eval.Definition) (json.RawMessage, error) {
	return json.Marshal(d)
}

func (s *Service) checkOwner(ctx context.Context, field, name string) error {
	if name == "" {
		return invalid("%s is required", field)
	}
	p, err := s.people.Person(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if pc, ok := s.people.(peopleCounter); ok {
			if n, err := pc.CountPeople(ctx); err == nil && n == 0 {
				return nil // nobody signs in yet: owners are names only
			}
		}
		return invalid("%s %q is not a person in Weir: add them first (PUT /api/v1/people/{name})", field, name)
	case err != nil:
		return fmt.Errorf("read person %s: %w", name, err)
	case p.Disabled:
		return invalid("%s %q is disabled", field, name)
	}
	return nil
}

func owns(c store.Criterion, a Actor) bool {
	return a.Name != "" && (c.BusinessOwner == a.Name || c.TechnicalOwner == a.Name)
}

// Get returns a criterion with its latest definition and pending change.
func (s *Service) Get(ctx context.Context, name string) (Criterion, error) {
	c, err := s.st.Criterion(ctx, name)
	if err != nil {
		return Criterion{}, err
	}
	return s.view(ctx, c)
}

func (s *Service) view(ctx context.Context, c store.Criterion) (Criterion, error) {
	out := Criterion{Criterion: c}
	v, err := s.st.CriterionVersion(ctx, c.Name, c.LatestVersion)
	if err != nil {
		return out, err
	}
	dv, err := decodeVersion(v)
	if err != nil {
		return out, err
	}
	out.Definition = dv.Definition
	chs, err := s.st.CriterionChanges(ctx, c.Name)
	if err != nil {
		return out, err
	}
	for _, ch := range chs {
		if ch.Status == store.ChangePending {
			dc, err := decodeChange(ch)
			if err != nil {
				return out, err
			}
			out.Pending = &dc
		}
	}
	return out, nil
}

// List returns the criteria, of one use case when useCase is set, with
// their latest definitions.
func (s *Service) List(ctx context.Context, useCase string) ([]Criterion, error) {
	cs, err := s.st.ListCriteria(ctx, useCase)
	if err != nil {
		return nil, err
	}
	out := make([]Criterion, 0, len(cs))
	for _, c := range cs {
		v, err := s.view(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Versions returns every version of a criterion, oldest first.
func (s *Service) Versions(ctx context.Context, name string) ([]Version, error) {
	vs, err := s.st.CriterionVersions(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(vs))
	for _, v := range vs {
		dv, err := decodeVersion(v)
		if err != nil {
			return nil, err
		}
		out = append(out, dv)
	}
	return out, nil
}

// Version returns one version (0: the latest).
func (s *Service) Version(ctx context.Context, name string, version int) (Version, error) {
	if version < 0 {
		return Version{}, invalid("the version must be a positive number")
	}
	v, err := s.st.CriterionVersion(ctx, name, version)
	if err != nil {
		return Version{}, err
	}
	return decodeVersion(v)
}

// Changes returns a criterion's proposed changes, pending and decided,
// oldest first.
func (s *Service) Changes(ctx context.Context, name string) ([]Change, error) {
	if _, err := s.st.Criterion(ctx, name); err != nil {
		return nil, err
	}
	chs, err := s.st.CriterionChanges(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(chs))
	for _, ch := range chs {
		dc, err := decodeChange(ch)
		if err != nil {
			return nil, err
		}
		out = append(out, dc)
	}
	return out, nil
}

// Put creates a criterion or changes it. A creation is applied at once by
// an owner it names or an admin. A change by an owner or an admin is
// applied at once, or, when the criterion requires approval, stored as a
// pending change for the other owner to approve. An identical definition
// with the same header changes nothing.
func (s *Service) Put(ctx context.Context, name string, in Input, by Actor) (Result, error) {
	if !nameRE.MatchString(name) {
		return Result{}, invalid("criterion name %q: letters, digits, . _ - only, up to 128, starting with a letter or digit", name)
	}
	if len(in.Reason) > maxReason {
		return Result{}, invalid("the reason is over %d bytes", maxReason)
	}
	var def json.RawMessage
	if in.Definition != nil {
		if err := in.Definition.Validate(); err != nil {
			return Result{}, err
		}
		var err error
		if def, err = canonical(in.Definition); err != nil {
			return Result{}, err
		}
	}
	cur, err := s.st.Criterion(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s.create(ctx, name, in, def, by)
	case err != nil:
		return Result{}, err
	}
	if in.UseCase != "" && in.UseCase != cur.UseCase {
		return Result{}, invalid("criterion %s belongs to use case %s; a criterion does not move (create another)", name, cur.UseCase)
	}
	if !by.Admin && !owns(cur, by) {
		return Result{}, fmt.Errorf("%w: %s owns neither side of criterion %s (owners: %q and %q)", ErrForbidden, by.Name, name, cur.BusinessOwner, cur.TechnicalOwner)
	}
	next := cur
	if in.BusinessOwner != "" {
		next.BusinessOwner = in.BusinessOwner
	}
	if in.TechnicalOwner != "" {
		next.TechnicalOwner = in.TechnicalOwner
	}
	if in.RequiresApproval != nil {
		next.RequiresApproval = *in.RequiresApproval
	}
	for _, o := range []struct{ field, was, is string }{{"business_owner", cur.BusinessOwner, next.BusinessOwner}, {"technical_owner", cur.TechnicalOwner, next.TechnicalOwner}} {
		if o.was != o.is {
			if err := s.checkOwner(ctx, o.field, o.is); err != nil {
				return Result{}, err
			}
		}
	}
	latest, err := s.st.CriterionVersion(ctx, name, cur.LatestVersion)
	if err != nil {
		return Result{}, err
	}
	if def != nil && bytes.Equal(def, latest.Definition) {
		def = nil // the same definition: no new version
	}
	headerChanged := next.BusinessOwner != cur.BusinessOwner || next.TechnicalOwner != cur.TechnicalOwner || next.RequiresApproval != cur.RequiresApproval
	if def == nil && !headerChanged {
		view, err := s.view(ctx, cur)
		if err != nil {
			return Result{}, err
		}
		lv, err := decodeVersion(latest)
		if err != nil {
			return Result{}, err
		}
		return Result{Status: StatusUnchanged, Criterion: view, Version: &lv}, nil
	}
	if def != nil && strings.TrimSpace(in.Reason) == "" {
		return Result{}, invalid("a new version of criterion %s needs a reason", name)
	}
	now := s.now().UTC()
	if cur.RequiresApproval {
		ch, err := s.st.AddCriterionChange(ctx, store.CriterionChange{ID: ids.New("crc_", now), Criterion: name, Base: cur.LatestVersion,
			BusinessOwner: next.BusinessOwner, TechnicalOwner: next.TechnicalOwner, RequiresApproval: next.RequiresApproval,
			Definition: def, Reason: in.Reason, ProposedBy: by.Name, ProposedAt: now})
		if err != nil {
			return Result{}, err
		}
		dc, err := decodeChange(ch)
		if err != nil {
			return Result{}, err
		}
		s.record(ctx, "criterion.change.propose", name, nil, dc)
		view, err := s.Get(ctx, name)
		if err != nil {
			return Result{}, err
		}
		return Result{Status: StatusPending, Criterion: view, Change: &dc}, nil
	}
	next.ChangedAt, next.ChangedBy = now, by.Name
	var nv *store.CriterionVersion
	if def != nil {
		nv = &store.CriterionVersion{Definition: def, Author: by.Name, Reason: in.Reason, CreatedAt: now}
	}
	got, nv, err := s.st.UpdateCriterion(ctx, next, nv, cur.LatestVersion)
	if err != nil {
		return Result{}, err
	}
	res := Result{Status: StatusApplied}
	if nv != nil {
		dv, err := decodeVersion(*nv)
		if err != nil {
			return Result{}, err
		}
		res.Version = &dv
		s.record(ctx, "criterion.version", name, nil, dv)
	}
	if headerChanged {
		s.record(ctx, "criterion.put", name, cur, got)
	}
	if res.Criterion, err = s.view(ctx, got); err != nil {
		return Result{}, err
	}
	return res, nil
}

func (s *Service) create(ctx context.Context, name string, in Input, def json.RawMessage, by Actor) (Result, error) {
	if !nameRE.MatchString(in.UseCase) {
		return Result{}, invalid("use_case %q: a use case name is required", in.UseCase)
	}
	if def == nil {
		return Result{}, invalid("a new criterion needs a definition")
	}
	if err := s.checkOwner(ctx, "business_owner", in.BusinessOwner); err != nil {
		return Result{}, err
	}
	if err := s.checkOwner(ctx, "technical_owner", in.TechnicalOwner); err != nil {
		return Result{}, err
	}
	c := store.Criterion{Name: name, UseCase: in.UseCase, BusinessOwner: in.BusinessOwner, TechnicalOwner: in.TechnicalOwner,
		RequiresApproval: in.RequiresApproval != nil && *in.RequiresApproval, ChangedBy: by.Name}
	if !by.Admin && !owns(c, by) {
		return Result{}, fmt.Errorf("%w: an owner creates criteria they own: name %s as business_owner or technical_owner", ErrForbidden, by.Name)
	}
	now := s.now().UTC()
	c.CreatedAt, c.ChangedAt = now, now
	got, v, err := s.st.CreateCriterion(ctx, c, store.CriterionVersion{Definition: def, Author: by.Name, Reason: in.Reason, CreatedAt: now})
	if err != nil {
		return Result{}, err
	}
	dv, err := decodeVersion(v)
	if err != nil {
		return Result{}, err
	}
	s.record(ctx, "criterion.create", name, nil, map[string]any{"criterion": got, "version": dv})
	return Result{Status: StatusApplied, Criterion: Criterion{Criterion: got, Definition: dv.Definition}, Version: &dv}, nil
}

var verbs = map[string]string{store.ChangeApproved: "approve", store.ChangeRejected: "reject", store.ChangeWithdrawn: "withdraw"}

// Decide approves, rejects or withdraws a pending change. The other owner
// (not the proposer) or an admin other than the proposer approves or
// rejects; a rejection needs a reason; the proposer or an admin withdraws.
func (s *Service) Decide(ctx context.Context, name, id, decision, reason string, by Actor) (Change, error) {
	if len(reason) > maxReason {
		return Change{}, invalid("the reason is over %d bytes", maxReason)
	}
	cur, err := s.st.Criterion(ctx, name)
	if err != nil {
		return Change{}, err
	}
	ch, err := s.st.CriterionChange(ctx, name, id)
	if err != nil {
		return Change{}, err
	}
	if ch.Status != store.ChangePending {
		return Change{}, fmt.Errorf("change %s is %s already: %w", id, ch.Status, store.ErrConflict)
	}
	switch decision {
	case store.ChangeApproved, store.ChangeRejected:
		if by.Name == ch.ProposedBy {
			return Change{}, fmt.Errorf("%w: %s proposed change %s: the other owner decides it (withdraw it instead)", ErrForbidden, by.Name, id)
		}
		if !by.Admin && !owns(cur, by) {
			return Change{}, fmt.Errorf("%w: only the other owner of criterion %s (%q or %q) or an admin decides its changes", ErrForbidden, name, cur.BusinessOwner, cur.TechnicalOwner)
		}
		if decision == store.ChangeRejected && strings.TrimSpace(reason) == "" {
			return Change{}, invalid("a rejection needs a reason")
		}
	case store.ChangeWithdrawn:
		if by.Name != ch.ProposedBy && !by.Admin {
			return Change{}, fmt.Errorf("%w: only %s, who proposed change %s, or an admin withdraws it", ErrForbidden, ch.ProposedBy, id)
		}
	default:
		return Change{}, invalid("decision %q: approve, reject or withdraw", decision)
	}
	before, err := decodeChange(ch)
	if err != nil {
		return Change{}, err
	}
	got, err := s.st.DecideCriterionChange(ctx, name, id, decision, by.Name, reason, s.now().UTC())
	if err != nil {
		return Change{}, err
	}
	after, err := decodeChange(got)
	if err != nil {
		return Change{}, err
	}
	s.record(ctx, "criterion.change."+verbs[decision], name, before, after)
	return after, nil
}

// ScoreInput is a score as posted: CriterionVersion 0 is the latest
// version at the time of writing; ID and At default to a new id and now.
type ScoreInput = eval.Score

// PutScores checks a batch of scores against their criterion versions'
// definitions and stores it (a score whose id is stored already is
// skipped). A human score's evaluator is by, whatever the body says. It
// returns the scores as stored (with their pass verdicts) and how many
// were new.
func (s *Service) PutScores(ctx context.Context, in []ScoreInput, by Actor) ([]store.StoredScore, int, error) {
	if len(in) == 0 || len(in) > MaxBatch {
		return nil, 0, invalid("a batch holds 1 to %d scores", MaxBatch)
	}
	now := s.now().UTC()
	defs := map[string]*eval.Definition{}
	latest := map[string]int{}
	out := make([]store.StoredScore, 0, len(in))
	for i, sc := range in {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%w: score %d: %s", ErrInvalid, i, fmt.Sprintf(format, a...))
		}
		if sc.ID == "" {
			sc.ID = ids.New("sco_", now)
		}
		if len(sc.ID) > store.MaxIDLen || len(sc.Target) > store.MaxIDLen || len(sc.Evaluator) > store.MaxIDLen {
			return nil, 0, bad("id, target and evaluator are at most %d bytes", store.MaxIDLen)
		}
		switch sc.EvaluatorKind {
		case eval.Human:
			sc.Evaluator = by.Name
		case eval.LLM, eval.Code:
			if sc.Evaluator == "" {
				return nil, 0, bad("an %s score names its evaluator", sc.EvaluatorKind)
			}
		default:
			return nil, 0, bad("evaluator_kind %q: human, llm or code", sc.EvaluatorKind)
		}
		if sc.Evaluator == "" {
			return nil, 0, bad("a human score needs a person")
		}
		switch sc.TargetKind {
		case eval.TargetCall, eval.TargetInstance, eval.TargetExperimentItem:
		default:
			return nil, 0, bad("target_kind %q: call, instance or experiment_item", sc.TargetKind)
		}
		if sc.Target == "" {
			return nil, 0, bad("a target is required")
		}
		if len(sc.Reasoning) > maxReasoning {
			return nil, 0, bad("reasoning over %d bytes", maxReasoning)
		}
		if sc.At.IsZero() {
			sc.At = now
		}
		if sc.At.Year() < 1970 || sc.At.After(now.Add(maxFuture)) {
			return nil, 0, bad("at %s is not a plausible time (at most 5 minutes ahead)", sc.At.Format(time.RFC3339))
		}
		sc.At = sc.At.UTC()
		if sc.CriterionVersion < 0 {
			return nil, 0, bad("criterion_version must be positive (0: the latest)")
		}
		if sc.CriterionVersion == 0 {
			n, ok := latest[sc.Criterion]
			if !ok {
				c, err := s.st.Criterion(ctx, sc.Criterion)
				if errors.Is(err, store.ErrNotFound) {
					return nil, 0, bad("no criterion %q", sc.Criterion)
				} else if err != nil {
					return nil, 0, err
				}
				n = c.LatestVersion
				latest[sc.Criterion] = n
			}
			sc.CriterionVersion = n
		}
		key := fmt.Sprintf("%s@%d", sc.Criterion, sc.CriterionVersion)
		d, ok := defs[key]
		if !ok {
			v, err := s.Version(ctx, sc.Criterion, sc.CriterionVersion)
			if errors.Is(err, store.ErrNotFound) {
				return nil, 0, bad("no criterion %s", key)
			} else if err != nil {
				return nil, 0, err
			}
			d = &v.Definition
			defs[key] = d
		}
		if err := d.Check(sc.Value); err != nil {
			return nil, 0, fmt.Errorf("score %d (%s): %w", i, key, err)
		}
		st := store.StoredScore{Score: sc}
		if pass, ok := d.Pass(sc.Value); ok {
			st.Pass = &pass
		}
		out = append(out, st)
	}
	n, err := s.st.PutScores(ctx, out)
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

// ListScores returns one page of scores, newest first.
func (s *Service) ListScores(ctx context.Context, q store.ScoreQuery) (store.ScorePage, error) {
	return s.st.ListScores(ctx, q)
}

// Diff says what changed in a definition from the version before.
type Diff struct {
	Question bool `json:"question"`
	Rubric   bool `json:"rubric"`
	Type     bool `json:"type"`
	Labels   bool `json:"labels"`
	// Scale: min, max or points changed.
	Scale bool `json:"scale"`
	// Pass: what counts as a pass changed (pass labels, pass_at).
	Pass bool `json:"pass"`
	// Summary says it in words, e.g. "type boolean → likert".
	Summary []string `json:"summary"`
}

func eqf(a, b *float64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// DiffOf compares two definitions.
func DiffOf(a, b *eval.Definition) Diff {
	d := Diff{
		Question: a.Question != b.Question,
		Rubric:   a.Rubric != b.Rubric,
		Type:     a.Type != b.Type,
		Labels:   !slices.Equal(a.Labels, b.Labels) || a.Ordered != b.Ordered,
		Scale:    !eqf(a.Min, b.Min) || !eqf(a.Max, b.Max) || a.Points != b.Points,
		Pass:     !slices.Equal(a.PassLabels, b.PassLabels) || !eqf(a.PassAt, b.PassAt),
		Summary:  []string{},
	}
	if d.Type {
		d.Summary = append(d.Summary, fmt.Sprintf("type %s → %s", a.Type, b.Type))
	}
	if d.Question {
		d.Summary = append(d.Summary, "question changed")
	}
	if d.Rubric {
		d.Summary = append(d.Summary, "rubric changed")
	}
	if d.Labels {
		d.Summary = append(d.Summary, fmt.Sprintf("labels [%s] → [%s]", strings.Join(a.Labels, ", "), strings.Join(b.Labels, ", ")))
	}
	if d.Scale {
		d.Summary = append(d.Summary, "scale changed")
	}
	if d.Pass {
		d.Summary = append(d.Summary, "pass threshold changed")
	}
	return d
}

// KindTotals are one evaluator kind's scores under one version.
type KindTotals struct {
	EvaluatorKind eval.EvaluatorKind `json:"evaluator_kind"`
	Count         int64              `json:"count"`
	Judged        int64              `json:"judged"`
	Passes        int64              `json:"passes"`
	// PassRate is Passes/Judged, nil when nothing was judged.
	PassRate *float64 `json:"pass_rate"`
	// Mean is the mean numeric value, nil when there is none.
	Mean *float64 `json:"mean"`
}

// HistoryVersion is one version in a criterion's history: who changed
// what and why, and the scores given under it, never mixed with another
// version's.
type HistoryVersion struct {
	Version
	// Diff is what changed from the version before (nil for version 1).
	Diff   *Diff                `json:"diff,omitempty"`
	Totals []KindTotals         `json:"totals"`
	Days   []store.ScoreSummary `json:"days"`
}

// History is the criteria-drift view of a criterion.
type History struct {
	Criterion store.Criterion  `json:"criterion"`
	Versions  []HistoryVersion `json:"versions"`
}

// History returns every version of a criterion with what changed and the
// scores given under it in [from, to) (zero: unbounded).
func (s *Service) History(ctx context.Context, name string, from, to time.Time) (History, error) {
	c, err := s.st.Criterion(ctx, name)
	if err != nil {
		return History{}, err
	}
	vs, err := s.Versions(ctx, name)
	if err != nil {
		return History{}, err
	}
	sum, err := s.st.SummarizeScores(ctx, name, from, to)
	if err != nil {
		return History{}, err
	}
	h := History{Criterion: c, Versions: make([]HistoryVersion, 0, len(vs))}
	for i, v := range vs {
		hv := HistoryVersion{Version: v, Totals: []KindTotals{}, Days: []store.ScoreSummary{}}
		if i > 0 {
			d := DiffOf(&vs[i-1].Definition, &v.Definition)
			hv.Diff = &d
		}
		type acc struct {
			KindTotals
			sum float64
			n   int64
		}
		by := map[eval.EvaluatorKind]*acc{}
		var kinds []eval.EvaluatorKind
		for _, r := range sum {
			if r.Version != v.Version {
				continue
			}
			hv.Days = append(hv.Days, r)
			a := by[r.EvaluatorKind]
			if a == nil {
				a = &acc{KindTotals: KindTotals{EvaluatorKind: r.EvaluatorKind}}
				by[r.EvaluatorKind] = a
				kinds = append(kinds, r.EvaluatorKind)
			}
			a.Count += r.Count
			a.Judged += r.Judged
			a.Passes += r.Passes
			if r.Mean != nil {
				// Means of days weighted by their counts: every score of
				// a numeric criterion has a number.
				a.sum += *r.Mean * float64(r.Count)
				a.n += r.Count
			}
		}
		for _, k := range kinds {
			a := by[k]
			if a.Judged > 0 {
				r := float64(a.Passes) / float64(a.Judged)
				a.PassRate = &r
			}
			if a.n > 0 {
				m := a.sum / float64(a.n)
				a.Mean = &m
			}
			hv.Totals = append(hv.Totals, a.KindTotals)
		}
		h.Versions = append(h.Versions, hv)
	}
	return h, nil
}

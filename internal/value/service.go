package value

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// ErrInvalid is wrapped when a definition or a KPI result is refused.
var ErrInvalid = errors.New("invalid")

// Store is what the service needs of the store.
type Store interface {
	store.UseCaseStore
	store.KPIStore
	Source
}

// Auditor records a change in the audit log (*audit.Log is one): action,
// the object's kind and id, and its state before (nil: created) and after.
// It reports its own failures; a change that is made stays made.
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// Service manages use cases and KPI results and builds reports.
type Service struct {
	St Store
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Audit, when set, records changes to definitions (KPI results are
	// data, not changes, and are not recorded).
	Audit Auditor
}

func (s *Service) record(ctx context.Context, action, name string, before *Stored, after Stored) {
	if s.Audit == nil {
		return
	}
	if before == nil {
		_ = s.Audit.Record(ctx, action, "use_case", name, nil, after)
		return
	}
	_ = s.Audit.Record(ctx, action, "use_case", name, *before, after)
}

// Stored is a use case definition with its revision.
type Stored struct {
	UseCase
	Revision  int       `json:"revision"`
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"`
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func decode(d store.UseCaseDoc) (Stored, error) {
	var uc UseCase
	if err := json.Unmarshal(d.Doc, &uc); err != nil {
		return Stored{}, fmt.Errorf("use case %s revision %d: %w", d.Name, d.Revision, err)
	}
	return Stored{UseCase: uc, Revision: d.Revision, ChangedAt: d.ChangedAt, ChangedBy: d.ChangedBy}, nil
}

// List returns every use case's latest definition.
func (s *Service) List(ctx context.Context) ([]Stored, error) {
	docs, err := s.St.UseCases(ctx)
	if err != nil {
		return nil, err
	}
	out := []Stored{}
	for _, d := range docs {
		st, err := decode(d)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// History returns every revision of a use case.
func (s *Service) History(ctx context.Context, name string) ([]Stored, error) {
	docs, err := s.St.UseCaseHistory(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []Stored
	for _, d := range docs {
		st, err := decode(d)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Get returns a use case's latest definition.
func (s *Service) Get(ctx context.Context, name string) (Stored, error) {
	h, err := s.History(ctx, name)
	if err != nil {
		return Stored{}, err
	}
	return h[len(h)-1], nil
}

// Put stores a new revision of a definition. A new use case starts its
// version log at its version; an existing one keeps its version and log
// (change them with NewVersion). ifRevision > 0 refuses the put unless it
// is the latest revision (store.ErrConflict).
func (s *Service) Put(ctx context.Context, uc UseCase, ifRevision int, by string) (Stored, error) {
	cur, err := s.Get(ctx, uc.Name)
	var before *Stored
	switch {
	case errors.Is(err, store.ErrNotFound):
		if uc.Version == "" {
			uc.Version = "1"
		}
		uc.Versions = []Version{{Version: uc.Version, From: s.now().UTC()}}
	case err != nil:
		return Stored{}, err
	default:
		if uc.Version != "" && uc.Version != cur.Version {
			return Stored{}, fmt.Errorf("%w: version is %s; change it with POST /api/v1/use-cases/%s/versions", ErrInvalid, cur.Version, uc.Name)
		}
		uc.Version, uc.Versions = cur.Version, cur.Versions
		if ifRevision == 0 {
			// The version log was read from cur: refuse to write over a
			// change made since (409), rather than lose it.
			ifRevision = cur.Revision
		}
		before = &cur
	}
	got, err := s.store(ctx, uc, ifRevision, by)
	if err != nil {
		return got, err
	}
	s.record(ctx, "use_case.put", uc.Name, before, got)
	return got, nil
}

func (s *Service) store(ctx context.Context, uc UseCase, ifRevision int, by string) (Stored, error) {
	if err := uc.Validate(); err != nil {
		return Stored{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	doc, err := json.Marshal(uc)
	if err != nil {
		return Stored{}, err
	}
	d, err := s.St.PutUseCase(ctx, store.UseCaseDoc{Name: uc.Name, Doc: doc, ChangedBy: by}, ifRevision)
	if err != nil {
		return Stored{}, err
	}
	return Stored{UseCase: uc, Revision: d.Revision, ChangedAt: d.ChangedAt, ChangedBy: d.ChangedBy}, nil
}

// NewVersion makes version the use case's current version from now on.
func (s *Service) NewVersion(ctx context.Context, name, version, note, by string) (Stored, error) {
	cur, err := s.Get(ctx, name)
	if err != nil {
		return Stored{}, err
	}
	if version == "" || slices.ContainsFunc(cur.Versions, func(v Version) bool { return v.Version == version }) {
		return Stored{}, fmt.Errorf("%w: version %q is empty or was used before", ErrInvalid, version)
	}
	uc := cur.UseCase
	uc.Version = version
	uc.Versions = append(slices.Clone(uc.Versions), Version{Version: version, From: s.now().UTC(), Note: note})
	got, err := s.store(ctx, uc, cur.Revision, by)
	if err != nil {
		return got, err
	}
	s.record(ctx, "use_case.new_version", name, &cur, got)
	return got, nil
}

// maxFuture bounds how far ahead a KPI result's time may be.
const maxFuture = 5 * time.Minute

// PutKPI records a KPI result for an instance: the KPI must be defined
// and the value fit its type. at defaults to now. A repeat of the value in
// force changes nothing.
func (s *Service) PutKPI(ctx context.Context, useCase, instance, kpi string, raw json.RawMessage, at time.Time, by string) (store.KPIResult, bool, error) {
	uc, err := s.Get(ctx, useCase)
	if err != nil {
		return store.KPIResult{}, false, err
	}
	k, ok := uc.KPI(kpi)
	if !ok {
		return store.KPIResult{}, false, fmt.Errorf("use case %s has no KPI %q: %w", useCase, kpi, store.ErrNotFound)
	}
	if instance == "" || len(instance) > store.MaxIDLen {
		return store.KPIResult{}, false, fmt.Errorf("%w: an instance id of 1 to %d bytes is required", ErrInvalid, store.MaxIDLen)
	}
	n, err := k.ParseResult(raw)
	if err != nil {
		return store.KPIResult{}, false, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := s.now()
	if at.IsZero() {
		at = now
	}
	if at.Year() < 1970 || at.Year() > 2200 {
		return store.KPIResult{}, false, fmt.Errorf("%w: at %s is not a plausible time", ErrInvalid, at.Format(time.RFC3339))
	}
	if at.After(now.Add(maxFuture)) {
		return store.KPIResult{}, false, fmt.Errorf("%w: at %s is more than 5 minutes in the future", ErrInvalid, at.Format(time.RFC3339))
	}
	return s.St.PutKPIResult(ctx, store.KPIResult{UseCase: useCase, Instance: instance, KPI: kpi, Nanos: n, At: at, RecordedBy: by})
}

// Report builds a use case's report from its latest definition.
func (s *Service) Report(ctx context.Context, name string, q ReportQuery) (UseCaseReport, error) {
	uc, err := s.Get(ctx, name)
	if err != nil {
		return UseCaseReport{}, err
	}
	return Build(ctx, s.St, uc.UseCase, q)
}

// Comparison puts two versions of a use case side by side.
type Comparison struct {
	UseCase string    `json:"use_case"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	A       string    `json:"a"`
	B       string    `json:"b"`
	// Threshold is the relative change (0.1: 10%) beyond which a change for
	// the worse is a regression.
	Threshold   float64  `json:"threshold"`
	FiguresA    Figures  `json:"figures_a"`
	FiguresB    Figures  `json:"figures_b"`
	Regressions []string `json:"regressions"`
}

// Compare reports versions a and b over the same range and flags what got
// worse from a to b by more than threshold.
func (s *Service) Compare(ctx context.Context, name, a, b string, from, to time.Time, threshold float64) (Comparison, error) {
	c := Comparison{UseCase: name, From: from.UTC(), To: to.UTC(), A: a, B: b, Threshold: threshold, Regressions: []string{}}
	if a == "" || b == "" {
		return c, fmt.Errorf("%w: versions a and b are required", store.ErrInvalidQuery)
	}
	ra, err := s.Report(ctx, name, ReportQuery{From: from, To: to, Version: a})
	if err != nil {
		return c, err
	}
	rb, err := s.Report(ctx, name, ReportQuery{From: from, To: to, Version: b})
	if err != nil {
		return c, err
	}
	c.FiguresA, c.FiguresB = ra.Figures, rb.Figures
	worse := func(what string, va, vb float64, higherIsBetter bool) {
		if va == 0 || math.IsNaN(va) || math.IsNaN(vb) {
			return
		}
		rel := (vb - va) / math.Abs(va)
		if higherIsBetter {
			rel = -rel
		}
		if rel > threshold {
			c.Regressions = append(c.Regressions, fmt.Sprintf("%s: %.6g in %s, %.6g in %s (%+.1f%% worse)", what, va, a, vb, b, rel*100))
		}
	}
	fa, fb := &c.FiguresA, &c.FiguresB
	if fa.CostPerInstance != nil && fb.CostPerInstance != nil {
		worse("cost per instance (USD)", dollars(fa.CostPerInstance.Mean), dollars(fb.CostPerInstance.Mean), false)
	}
	if fa.MeanE2EMs != nil && fb.MeanE2EMs != nil {
		worse("mean latency (ms)", *fa.MeanE2EMs, *fb.MeanE2EMs, false)
	}
	if fa.ValuePerDollar != nil && fb.ValuePerDollar != nil {
		worse("value per dollar", *fa.ValuePerDollar, *fb.ValuePerDollar, true)
	}
	if fb.ErrorRate > fa.ErrorRate+threshold/10 && fb.Calls > 0 {
		c.Regressions = append(c.Regressions, fmt.Sprintf("error rate: %.4f in %s, %.4f in %s", fa.ErrorRate, a, fb.ErrorRate, b))
	}
	for i, ka := range fa.KPIs {
		if i >= len(fb.KPIs) || fb.KPIs[i].Name != ka.Name {
			break // the definition changed between the two reports
		}
		kb := fb.KPIs[i]
		higher := ka.Direction == HigherIsBetter
		switch {
		case ka.Rate != nil && kb.Rate != nil:
			worse(ka.Name+" rate", *ka.Rate, *kb.Rate, higher)
		case ka.Mean != nil && kb.Mean != nil:
			worse(ka.Name+" mean", *ka.Mean, *kb.Mean, higher)
		}
		if ka.CostPerOutcome != nil && kb.CostPerOutcome != nil {
			worse("cost per "+ka.Name+" (USD)", dollars(*ka.CostPerOutcome), dollars(*kb.CostPerOutcome), false)
		}
	}
	return c, nil
}

func dollars(a store.Amount) float64 {
	d, f := a.Parts()
	return float64(d) + float64(f)/1e15
}

// Portfolio is every use case's figures over a range.
type Portfolio struct {
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	UseCases []PortfolioLine `json:"use_cases"`
	// GroupBy and Groups: with team, user or account, the cost, value and
	// value per dollar of each group across every use case (an instance
	// counts in the group of its first call).
	GroupBy        string           `json:"group_by,omitempty"`
	Groups         []PortfolioGroup `json:"groups,omitempty"`
	CostUSD        store.Amount     `json:"cost_usd"`
	ValueUSD       store.Amount     `json:"value_usd"`
	ValuePerDollar *float64         `json:"value_per_dollar"`
}

// PortfolioGroup is one team, user or account across use cases.
type PortfolioGroup struct {
	Key            string       `json:"key"`
	Calls          int64        `json:"calls"`
	CostUSD        store.Amount `json:"cost_usd"`
	ValueUSD       store.Amount `json:"value_usd"`
	MinutesSaved   float64      `json:"minutes_saved"`
	ValuePerDollar *float64     `json:"value_per_dollar"`
}

// PortfolioLine is one use case in a portfolio; Defined is false for use
// cases seen in calls but never defined (no KPIs, no value).
type PortfolioLine struct {
	UseCase string `json:"use_case"`
	Defined bool   `json:"defined"`
	Figures
}

// Portfolio reports every use case over [from, to), most expensive first.
// Calls without a use case appear under the empty name.
func (s *Service) Portfolio(ctx context.Context, from, to time.Time, groupBy string) (Portfolio, error) {
	p := Portfolio{From: from.UTC(), To: to.UTC(), GroupBy: groupBy, UseCases: []PortfolioLine{}}
	if from.IsZero() || to.IsZero() || !to.After(from) {
		return p, fmt.Errorf("%w: from and to are required, to after from", store.ErrInvalidQuery)
	}
	if groupBy != "" && groupBy != GroupTeam && groupBy != GroupUser && groupBy != GroupAccount {
		return p, fmt.Errorf("%w: the portfolio groups by team, user or account, not %q", store.ErrInvalidQuery, groupBy)
	}
	key, _ := groupKey(groupBy)
	groups := map[string]*PortfolioGroup{}
	group := func(k string) *PortfolioGroup {
		g := groups[k]
		if g == nil {
			g = &PortfolioGroup{Key: k}
			groups[k] = g
		}
		return g
	}
	defs, err := s.List(ctx)
	if err != nil {
		return p, err
	}
	rows, err := s.St.CostTotals(ctx, store.CostQuery{From: from, To: to, GroupBy: store.GroupUseCase, Limit: store.MaxLimit})
	if err != nil {
		return p, err
	}
	defined := map[string]bool{}
	for _, d := range defs {
		defined[d.Name] = true
		insts, kpis, err := load(ctx, s.St, d.Name, from, to, "")
		if err != nil {
			return p, err
		}
		p.UseCases = append(p.UseCases, PortfolioLine{UseCase: d.Name, Defined: true, Figures: figures(&d.UseCase, insts, kpis)})
		if key != nil {
			by := map[string][]store.InstanceTotal{}
			for _, it := range insts {
				by[key(it)] = append(by[key(it)], it)
			}
			for k, its := range by {
				f := figures(&d.UseCase, its, kpis)
				g := group(k)
				g.Calls += f.Calls
				g.CostUSD.AddAmount(f.CostUSD)
				g.ValueUSD.AddAmount(f.ValueUSD)
				g.MinutesSaved += f.MinutesSaved
			}
		}
	}
	if key != nil {
		// Use cases never defined: their cost by group, straight from the calls.
		rows, err := s.St.CostTotals(ctx, store.CostQuery{From: from, To: to, GroupBy: store.GroupUseCase, ThenBy: groupBy, Limit: store.MaxLimit})
		if err != nil {
			return p, err
		}
		for _, r := range rows {
			if !defined[r.Key] {
				g := group(r.Key2)
				g.Calls += r.Calls
				g.CostUSD.AddAmount(r.CostUSD)
			}
		}
		for _, g := range groups {
			if c := dollars(g.CostUSD); c > 0 {
				v := dollars(g.ValueUSD) / c
				g.ValuePerDollar = &v
			}
			p.Groups = append(p.Groups, *g)
		}
		slices.SortFunc(p.Groups, func(a, b PortfolioGroup) int {
			if c := b.CostUSD.Cmp(a.CostUSD); c != 0 {
				return c
			}
			return strings.Compare(a.Key, b.Key)
		})
	}
	for _, r := range rows {
		if defined[r.Key] {
			continue
		}
		p.UseCases = append(p.UseCases, PortfolioLine{UseCase: r.Key, Figures: Figures{Calls: r.Calls, CostUSD: r.CostUSD, UnpricedCalls: r.UnpricedCalls}})
	}
	for _, l := range p.UseCases {
		p.CostUSD.AddAmount(l.CostUSD)
		p.ValueUSD.AddAmount(l.ValueUSD)
	}
	slices.SortStableFunc(p.UseCases, func(a, b PortfolioLine) int { return b.CostUSD.Cmp(a.CostUSD) })
	if c := dollars(p.CostUSD); c > 0 {
		v := dollars(p.ValueUSD) / c
		p.ValuePerDollar = &v
	}
	return p, nil
}

package value

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// Source is what reports read from the store.
type Source interface {
	InstanceTotals(ctx context.Context, q store.InstanceQuery) ([]store.InstanceTotal, error)
	InstanceKPIs(ctx context.Context, q store.InstanceQuery) ([]store.KPIResult, error)
	CostTotals(ctx context.Context, q store.CostQuery) ([]store.CostTotal, error)
}

// Report dimensions.
const (
	GroupDay     = "day"
	GroupWeek    = "week" // keyed by the week's Monday (UTC)
	GroupVersion = "version"
	GroupTeam    = "team"
	GroupUser    = "user"
	GroupAccount = "account"
	GroupModel   = "model"
)

// ReportQuery selects a report's calls and grouping.
type ReportQuery struct {
	// From (inclusive) and To (exclusive) bound the calls; required.
	From, To time.Time
	// Version keeps only calls that carried it.
	Version string
	// GroupBy splits the report: day, week, version, team, user, account
	// (each instance belongs to the group of its first call) or model (the
	// calls' cost split by model; no KPI figures).
	GroupBy string
}

// UseCaseReport is what a use case's calls cost and what they achieved.
type UseCaseReport struct {
	UseCase string    `json:"use_case"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Version string    `json:"version,omitempty"`
	GroupBy string    `json:"group_by,omitempty"`
	Figures
	// Previous is the same report for the period of equal length just
	// before From, and Trend the changes from it.
	Previous *Figures `json:"previous,omitempty"`
	Trend    *Trend   `json:"trend,omitempty"`
	Groups   []Group  `json:"groups,omitempty"`
	// Costliest are the ten most expensive instances.
	Costliest []InstanceCost `json:"costliest_instances"`
}

// Group is one group of a report.
type Group struct {
	Key string `json:"key"`
	Figures
}

// InstanceCost is one instance's spend.
type InstanceCost struct {
	Instance string       `json:"instance"`
	First    time.Time    `json:"first_call"`
	Calls    int64        `json:"calls"`
	CostUSD  store.Amount `json:"cost_usd"`
}

// Figures are the numbers of a report or a group.
type Figures struct {
	Calls int64 `json:"calls"`
	// Instances have an instance id; calls without one count in Calls
	// and cost but in no instance.
	Instances            int64        `json:"instances"`
	CallsWithoutInstance int64        `json:"calls_without_instance"`
	CostUSD              store.Amount `json:"cost_usd"`
	// UnpricedCalls could not be priced: CostUSD is a lower bound then.
	UnpricedCalls int64   `json:"unpriced_calls"`
	ErrorRate     float64 `json:"error_rate"`
	// CostPerInstance is the distribution of the instances' costs.
	CostPerInstance *Distribution `json:"cost_per_instance,omitempty"`
	MeanE2EMs       *float64      `json:"mean_e2e_ms,omitempty"`
	MeanTTFTMs      *float64      `json:"mean_ttft_ms,omitempty"`
	KPIs            []KPIFigures  `json:"kpis,omitempty"`
	// ValueUSD and MinutesSaved sum the KPIs' value rules over the results;
	// ValuePerDollar is ValueUSD / CostUSD (null without cost).
	ValueUSD       store.Amount `json:"value_usd"`
	MinutesSaved   float64      `json:"minutes_saved"`
	ValuePerDollar *float64     `json:"value_per_dollar"`
}

// Distribution summarises amounts.
type Distribution struct {
	Mean store.Amount `json:"mean"`
	P50  store.Amount `json:"p50"`
	P95  store.Amount `json:"p95"`
	Max  store.Amount `json:"max"`
}

// KPIFigures are one KPI's results over a report's instances.
type KPIFigures struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	Unit      string   `json:"unit,omitempty"`
	Direction string   `json:"direction"`
	Goal      *float64 `json:"goal,omitempty"`
	// Results is the number of instances with a result; Coverage their
	// share of the instances.
	Results  int64   `json:"results"`
	Coverage float64 `json:"coverage"`
	// Sum of the results (true counts 1), exact; Mean over the results;
	// Rate, for boolean KPIs, the share of true results.
	Sum  string   `json:"sum"`
	Mean *float64 `json:"mean,omitempty"`
	Rate *float64 `json:"rate,omitempty"`
	// MeetsGoal compares Rate (boolean) or Mean with Goal by Direction.
	MeetsGoal *bool `json:"meets_goal,omitempty"`
	// CostPerOutcome is the report's cost divided by Sum, for boolean,
	// number and currency KPIs with a positive Sum: cost per resolved
	// case, cost per qualified lead.
	CostPerOutcome *store.Amount `json:"cost_per_outcome,omitempty"`
	ValueUSD       store.Amount  `json:"value_usd"`
	MinutesSaved   float64       `json:"minutes_saved"`
}

// Trend compares a report with the previous period: relative changes
// (0.1 is +10%), null when either side has no figure.
type Trend struct {
	Cost            *float64           `json:"cost"`
	CostPerInstance *float64           `json:"cost_per_instance"`
	ValuePerDollar  *float64           `json:"value_per_dollar"`
	CostPerOutcome  map[string]float64 `json:"cost_per_outcome,omitempty"`
}

// Build computes a use case's report.
func Build(ctx context.Context, src Source, uc UseCase, q ReportQuery) (UseCaseReport, error) {
	rep := UseCaseReport{UseCase: uc.Name, From: q.From.UTC(), To: q.To.UTC(), Version: q.Version, GroupBy: q.GroupBy, Costliest: []InstanceCost{}}
	if q.From.IsZero() || q.To.IsZero() || !q.To.After(q.From) {
		return rep, fmt.Errorf("%w: from and to are required, to after from", store.ErrInvalidQuery)
	}
	key, err := groupKey(q.GroupBy)
	if err != nil {
		return rep, err
	}
	insts, kpis, err := load(ctx, src, uc.Name, q.From, q.To, q.Version)
	if err != nil {
		return rep, err
	}
	rep.Figures = figures(&uc, insts, kpis)
	if key != nil {
		byKey := map[string][]store.InstanceTotal{}
		var keys []string
		for _, it := range insts {
			k := key(it)
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], it)
		}
		slices.Sort(keys)
		for _, k := range keys {
			rep.Groups = append(rep.Groups, Group{Key: k, Figures: figures(&uc, byKey[k], kpis)})
		}
	} else if q.GroupBy == GroupModel {
		if q.Version != "" {
			return rep, fmt.Errorf("%w: group_by=model cannot be combined with version", store.ErrInvalidQuery)
		}
		rows, err := src.CostTotals(ctx, store.CostQuery{From: q.From, To: q.To, UseCase: uc.Name, GroupBy: store.GroupModel, Limit: store.MaxLimit})
		if err != nil {
			return rep, err
		}
		for _, r := range rows {
			rep.Groups = append(rep.Groups, Group{Key: r.Key, Figures: Figures{Calls: r.Calls, CostUSD: r.CostUSD, UnpricedCalls: r.UnpricedCalls, ValuePerDollar: nil}})
		}
	}
	// Costliest instances.
	named := slices.DeleteFunc(slices.Clone(insts), func(it store.InstanceTotal) bool { return it.Instance == "" })
	slices.SortFunc(named, func(a, b store.InstanceTotal) int {
		return cmp.Or(b.CostUSD.Cmp(a.CostUSD), strings.Compare(a.Instance, b.Instance))
	})
	for _, it := range named[:min(10, len(named))] {
		rep.Costliest = append(rep.Costliest, InstanceCost{Instance: it.Instance, First: it.First, Calls: it.Calls, CostUSD: it.CostUSD})
	}
	// The previous period, for the trend.
	d := q.To.Sub(q.From)
	pinsts, pkpis, err := load(ctx, src, uc.Name, q.From.Add(-d), q.From, q.Version)
	if err != nil {
		return rep, err
	}
	if len(pinsts) > 0 {
		prev := figures(&uc, pinsts, pkpis)
		rep.Previous = &prev
		rep.Trend = trend(&rep.Figures, &prev)
	}
	return rep, nil
}

func load(ctx context.Context, src Source, name string, from, to time.Time, version string) ([]store.InstanceTotal, map[string]map[string]store.KPIResult, error) {
	q := store.InstanceQuery{UseCase: name, From: from, To: to, Version: version}
	insts, err := src.InstanceTotals(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	rs, err := src.InstanceKPIs(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	kpis := map[string]map[string]store.KPIResult{}
	for _, r := range rs {
		if kpis[r.Instance] == nil {
			kpis[r.Instance] = map[string]store.KPIResult{}
		}
		kpis[r.Instance][r.KPI] = r
	}
	return insts, kpis, nil
}

func groupKey(g string) (func(store.InstanceTotal) string, error) {
	switch g {
	case "", GroupModel:
		return nil, nil
	case GroupDay:
		return func(it store.InstanceTotal) string { return it.First.Format(time.DateOnly) }, nil
	case GroupWeek:
		return func(it store.InstanceTotal) string {
			d := it.First.Truncate(24 * time.Hour)
			off := (int(d.Weekday()) + 6) % 7 // days since Monday
			return d.AddDate(0, 0, -off).Format(time.DateOnly)
		}, nil
	case GroupVersion:
		return func(it store.InstanceTotal) string { return it.Version }, nil
	case GroupTeam:
		return func(it store.InstanceTotal) string { return it.Team }, nil
	case GroupUser:
		return func(it store.InstanceTotal) string { return it.User }, nil
	case GroupAccount:
		return func(it store.InstanceTotal) string { return it.Account }, nil
	}
	return nil, fmt.Errorf("%w: cannot group by %q (day, week, version, team, user, account, model)", store.ErrInvalidQuery, g)
}

// figures computes the numbers of a set of instances.
func figures(uc *UseCase, insts []store.InstanceTotal, kpis map[string]map[string]store.KPIResult) Figures {
	var f Figures
	var errs, e2eCalls, ttftCalls int64
	var e2e, ttft float64
	var costs []store.Amount
	for _, it := range insts {
		f.Calls += it.Calls
		f.CostUSD.AddAmount(it.CostUSD)
		f.UnpricedCalls += it.Unpriced
		errs += it.Errors
		e2e += it.E2EMsSum
		e2eCalls += it.Calls - it.Refused
		ttft += it.TTFTMsSum
		ttftCalls += it.TTFTCalls
		if it.Instance == "" {
			f.CallsWithoutInstance += it.Calls
			continue
		}
		f.Instances++
		costs = append(costs, it.CostUSD)
	}
	if f.Calls > 0 {
		f.ErrorRate = float64(errs) / float64(f.Calls)
	}
	if e2eCalls > 0 {
		m := e2e / float64(e2eCalls)
		f.MeanE2EMs = &m
	}
	if ttftCalls > 0 {
		m := ttft / float64(ttftCalls)
		f.MeanTTFTMs = &m
	}
	if len(costs) > 0 {
		f.CostPerInstance = distribution(costs)
	}
	value := new(big.Int) // 1e-18 USD
	for i := range uc.KPIs {
		k := &uc.KPIs[i]
		kf := KPIFigures{Name: k.Name, Type: k.Type, Unit: k.Unit, Direction: k.Direction, Goal: k.Goal}
		sum := new(big.Int) // in 1e-9 units; may pass an int64
		kval := new(big.Int)
		var minutes float64
		var trues int64
		for _, it := range insts {
			r, ok := kpis[it.Instance][k.Name]
			if !ok || it.Instance == "" {
				continue
			}
			kf.Results++
			sum.Add(sum, big.NewInt(r.Nanos))
			if r.Nanos != 0 {
				trues++
			}
			if rule := k.rule(r.At); rule != nil {
				v := new(big.Int).Mul(big.NewInt(r.Nanos), big.NewInt(int64(rule.USDPerUnit)))
				kval.Add(kval, v)
				minutes += float64(r.Nanos) / 1e9 * float64(rule.MinutesPerUnit) / 1e9
			}
		}
		kf.Sum = formatBigNanos(sum)
		if f.Instances > 0 {
			kf.Coverage = float64(kf.Results) / float64(f.Instances)
		}
		if kf.Results > 0 {
			sf, _ := new(big.Rat).SetFrac(sum, big.NewInt(1e9)).Float64()
			mean := sf / float64(kf.Results)
			kf.Mean = &mean
			measure := mean
			if k.Type == TypeBoolean {
				rate := float64(trues) / float64(kf.Results)
				kf.Rate, measure = &rate, rate
			}
			if k.Goal != nil {
				meets := measure >= *k.Goal
				if k.Direction == LowerIsBetter {
					meets = measure <= *k.Goal
				}
				kf.MeetsGoal = &meets
			}
		}
		if sum.Sign() > 0 && (k.Type == TypeBoolean || k.Type == TypeNumber || k.Type == TypeCurrency) {
			c := divide(f.CostUSD, new(big.Rat).SetFrac(sum, big.NewInt(1e9)))
			kf.CostPerOutcome = &c
		}
		kf.ValueUSD = amountOf(new(big.Int).Quo(kval, big.NewInt(1000)))
		kf.MinutesSaved = minutes
		value.Add(value, kval)
		f.MinutesSaved += minutes
		f.KPIs = append(f.KPIs, kf)
	}
	f.ValueUSD = amountOf(new(big.Int).Quo(value, big.NewInt(1000)))
	if femto := femtoOf(f.CostUSD); femto.Sign() > 0 {
		r, _ := new(big.Rat).SetFrac(femtoOf(f.ValueUSD), femto).Float64()
		f.ValuePerDollar = &r
	}
	return f
}

func distribution(costs []store.Amount) *Distribution {
	slices.SortFunc(costs, func(a, b store.Amount) int { return a.Cmp(b) })
	var sum store.Amount
	for _, c := range costs {
		sum.AddAmount(c)
	}
	rank := func(p float64) store.Amount { // nearest rank
		i := int(float64(len(costs))*p+0.999999999) - 1
		return costs[max(0, min(i, len(costs)-1))]
	}
	return &Distribution{Mean: divide(sum, big.NewRat(int64(len(costs)), 1)), P50: rank(0.5), P95: rank(0.95), Max: costs[len(costs)-1]}
}

func femtoOf(a store.Amount) *big.Int {
	d, f := a.Parts()
	n := new(big.Int).Mul(big.NewInt(d), big.NewInt(int64(pricing.USD)))
	return n.Add(n, big.NewInt(int64(f)))
}

func amountOf(femto *big.Int) store.Amount {
	var a store.Amount
	d, f := new(big.Int).QuoRem(femto, big.NewInt(int64(pricing.USD)), new(big.Int))
	if f.Sign() < 0 {
		f.Add(f, big.NewInt(int64(pricing.USD)))
		d.Sub(d, big.NewInt(1))
	}
	a.AddDollars(d.Int64())
	a.Add(pricing.Money(f.Int64()))
	return a
}

// divide returns a / by, rounded half to even to the femto-dollar.
func divide(a store.Amount, by *big.Rat) store.Amount {
	q := new(big.Rat).SetFrac(femtoOf(a), big.NewInt(1))
	q.Quo(q, by)
	n, r := new(big.Int).QuoRem(q.Num(), q.Denom(), new(big.Int))
	// Round half to even on the remainder.
	twice := new(big.Int).Mul(r, big.NewInt(2))
	if c := twice.CmpAbs(q.Denom()); c > 0 || c == 0 && n.Bit(0) == 1 {
		if r.Sign() >= 0 {
			n.Add(n, big.NewInt(1))
		} else {
			n.Sub(n, big.NewInt(1))
		}
	}
	return amountOf(n)
}

func trend(cur, prev *Figures) *Trend {
	t := &Trend{}
	rel := func(a, b *big.Int) *float64 {
		if b.Sign() == 0 {
			return nil
		}
		r, _ := new(big.Rat).SetFrac(new(big.Int).Sub(a, b), b).Float64()
		return &r
	}
	t.Cost = rel(femtoOf(cur.CostUSD), femtoOf(prev.CostUSD))
	if cur.CostPerInstance != nil && prev.CostPerInstance != nil {
		t.CostPerInstance = rel(femtoOf(cur.CostPerInstance.Mean), femtoOf(prev.CostPerInstance.Mean))
	}
	if cur.ValuePerDollar != nil && prev.ValuePerDollar != nil && *prev.ValuePerDollar != 0 {
		r := (*cur.ValuePerDollar - *prev.ValuePerDollar) / *prev.ValuePerDollar
		t.ValuePerDollar = &r
	}
	for i, k := range cur.KPIs {
		if i < len(prev.KPIs) && k.CostPerOutcome != nil && prev.KPIs[i].CostPerOutcome != nil {
			if r := rel(femtoOf(*k.CostPerOutcome), femtoOf(*prev.KPIs[i].CostPerOutcome)); r != nil {
				if t.CostPerOutcome == nil {
					t.CostPerOutcome = map[string]float64{}
				}
				t.CostPerOutcome[k.Name] = *r
			}
		}
	}
	return t
}

// formatBigNanos writes units of 1e-9 as a decimal without trailing zeros.
func formatBigNanos(n *big.Int) string {
	if n.IsInt64() {
		return FormatNanos(n.Int64())
	}
	r := new(big.Rat).SetFrac(n, big.NewInt(1e9))
	s := r.FloatString(9)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

package value

import (
	"math/big"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// PeriodFigures are what a use case's KPI results over a period are worth,
// counted by the results' own time (the day a ticket was resolved), from
// the per-day sums the store keeps: cheap over any period, unlike a
// Report, which follows each instance's calls. Cost per outcome divides
// the period's spend by the period's outcomes.
type PeriodFigures struct {
	KPIs         []PeriodKPI  `json:"kpis"`
	ValueUSD     store.Amount `json:"value_usd"`
	MinutesSaved float64      `json:"minutes_saved"`
	// ValuePerDollar is ValueUSD over the spend (nil without spend).
	ValuePerDollar *float64 `json:"value_per_dollar"`
}

// PeriodKPI is one KPI's results over a period.
type PeriodKPI struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Results int64  `json:"results"`
	// Sum of the results, exact (a true counts 1); Mean over them; Rate,
	// for boolean KPIs, the share of true results.
	Sum  string   `json:"sum"`
	Mean *float64 `json:"mean,omitempty"`
	Rate *float64 `json:"rate,omitempty"`
	// MeetsGoal compares Rate (boolean) or Mean with the goal.
	MeetsGoal *bool `json:"meets_goal,omitempty"`
	// CostPerOutcome is the spend divided by Sum, for boolean, number and
	// currency KPIs with a positive Sum.
	CostPerOutcome *store.Amount `json:"cost_per_outcome,omitempty"`
	ValueUSD       store.Amount  `json:"value_usd"`
	MinutesSaved   float64       `json:"minutes_saved"`
}

// Period sums days (the use case's KPI days of the period, any teams)
// with the value rule in force on each day, against spend.
func (u *UseCase) Period(days []store.KPIDay, spend store.Amount) PeriodFigures {
	var out PeriodFigures
	total := new(big.Int) // 1e-18 USD
	for i := range u.KPIs {
		k := &u.KPIs[i]
		pk := PeriodKPI{Name: k.Name, Type: k.Type}
		sum := new(big.Int) // 1e-9 units
		kval := new(big.Int)
		var minutes float64
		for _, d := range days {
			if d.KPI != k.Name || d.UseCase != "" && d.UseCase != u.Name {
				continue
			}
			pk.Results += d.Results
			n := new(big.Int).Mul(big.NewInt(d.Whole), big.NewInt(1e9))
			n.Add(n, big.NewInt(d.Nanos))
			sum.Add(sum, n)
			// The rule in force at the day's start applies to the day's
			// results: rules start on dates.
			if rule := k.rule(d.Day.Add(12 * time.Hour)); rule != nil {
				kval.Add(kval, new(big.Int).Mul(n, big.NewInt(int64(rule.USDPerUnit))))
				nf, _ := new(big.Rat).SetFrac(n, big.NewInt(1e9)).Float64()
				minutes += nf * float64(rule.MinutesPerUnit) / 1e9
			}
		}
		pk.Sum = formatBigNanos(sum)
		if pk.Results > 0 {
			sf, _ := new(big.Rat).SetFrac(sum, big.NewInt(1e9)).Float64()
			mean := sf / float64(pk.Results)
			pk.Mean = &mean
			measure := mean
			if k.Type == TypeBoolean {
				rate := mean
				pk.Rate = &rate
				measure = rate
			}
			if k.Goal != nil {
				meets := measure >= *k.Goal
				if k.Direction == LowerIsBetter {
					meets = measure <= *k.Goal
				}
				pk.MeetsGoal = &meets
			}
		}
		if sum.Sign() > 0 && (k.Type == TypeBoolean || k.Type == TypeNumber || k.Type == TypeCurrency) {
			c := divide(spend, new(big.Rat).SetFrac(sum, big.NewInt(1e9)))
			pk.CostPerOutcome = &c
		}
		pk.ValueUSD = amountOf(new(big.Int).Quo(kval, big.NewInt(1000)))
		pk.MinutesSaved = minutes
		total.Add(total, kval)
		out.MinutesSaved += minutes
		out.KPIs = append(out.KPIs, pk)
	}
	out.ValueUSD = amountOf(new(big.Int).Quo(total, big.NewInt(1000)))
	if femto := femtoOf(spend); femto.Sign() > 0 {
		r, _ := new(big.Rat).SetFrac(femtoOf(out.ValueUSD), femto).Float64()
		out.ValuePerDollar = &r
	}
	return out
}

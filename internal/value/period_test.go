package value

import (
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

func TestPeriod(t *testing.T) {
	d1 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	change := pricing.Date{Time: d1.AddDate(0, 0, 1)}
	goal := 0.6
	uc := UseCase{Name: "support", KPIs: []KPI{
		{Name: "resolved", Type: TypeBoolean, Goal: &goal, Direction: HigherIsBetter, Value: []ValueRule{
			{USDPerUnit: *pricing.Dec("4"), MinutesPerUnit: *pricing.Dec("6")},
			{From: &change, USDPerUnit: *pricing.Dec("5"), MinutesPerUnit: *pricing.Dec("6")},
		}},
		{Name: "csat", Type: TypeLikert5, Direction: HigherIsBetter},
	}}
	days := []store.KPIDay{
		{UseCase: "support", KPI: "resolved", Day: d1, Team: "cx", Results: 10, Whole: 7},
		{UseCase: "support", KPI: "resolved", Day: d1, Team: "ops", Results: 2, Whole: 1},
		{UseCase: "support", KPI: "resolved", Day: d1.AddDate(0, 0, 1), Team: "cx", Results: 4, Whole: 2},
		{UseCase: "support", KPI: "csat", Day: d1, Results: 3, Whole: 13},
		{UseCase: "other", KPI: "resolved", Day: d1, Results: 100, Whole: 100},
	}
	var spend store.Amount
	spend.AddDollars(5)
	p := uc.Period(days, spend)
	r := p.KPIs[0]
	// 8 resolved on day 1 at $4, 2 on day 2 at $5: $42 and 60 minutes.
	if r.Results != 16 || r.Sum != "10" || *r.Rate != 10.0/16 || !*r.MeetsGoal || r.ValueUSD.Format(2) != "42.00" || r.MinutesSaved != 60 {
		t.Errorf("resolved = %+v (rate %v)", r, *r.Rate)
	}
	if r.CostPerOutcome == nil || r.CostPerOutcome.Format(2) != "0.50" {
		t.Errorf("cost per resolved = %v", r.CostPerOutcome)
	}
	if c := p.KPIs[1]; c.Results != 3 || c.Mean == nil || *c.Mean != 13.0/3 || c.CostPerOutcome != nil || c.Rate != nil {
		t.Errorf("csat = %+v", c)
	}
	if p.ValueUSD.Format(2) != "42.00" || p.ValuePerDollar == nil || *p.ValuePerDollar != 8.4 {
		t.Errorf("value %s per dollar %v", p.ValueUSD.Format(2), p.ValuePerDollar)
	}
	if e := uc.Period(nil, store.Amount{}); e.ValuePerDollar != nil || e.KPIs[0].Results != 0 || e.KPIs[0].Rate != nil {
		t.Errorf("empty period = %+v", e)
	}
}

package value

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func supportCase() UseCase {
	return UseCase{
		Name: "support", Version: "2", BusinessOwner: "ops@acme", TechnicalOwner: "ml@acme",
		KPIs: []KPI{
			{Name: "resolved", Type: TypeBoolean, Goal: ptr(0.6), Direction: HigherIsBetter, Value: []ValueRule{
				{USDPerUnit: *pricing.Dec("4.20"), MinutesPerUnit: *pricing.Dec("6")},
				{From: pricing.DateOf(day("2026-11-10")), USDPerUnit: *pricing.Dec("4.50"), MinutesPerUnit: *pricing.Dec("6")},
			}},
			{Name: "csat", Type: TypeLikert5, Goal: ptr(4.0), Direction: HigherIsBetter},
		},
	}
}

// seed writes the calls and KPI results of TestReport.
func seed(t *testing.T) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := 0
	call := func(at string, inst, version, team, cost string) record.Record {
		n++
		tm, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		var m pricing.Money
		if err := json.Unmarshal([]byte(cost), &m); err != nil {
			t.Fatal(err)
		}
		return record.Record{ID: fmt.Sprintf("r%02d", n), ReceivedAt: tm, Endpoint: record.EndpointChatCompletions, Status: 200,
			Provider: "openai", Model: "gpt-4o-mini", E2EMs: 100, CostUSD: &m, Cost: &pricing.Cost{Total: m, EntryID: "e", Version: "v", Multiplier: 1_000_000},
			Attribution: record.Attribution{UseCase: "support", UseCaseInstance: inst, UseCaseVersion: version, Team: team}}
	}
	recs := []record.Record{
		call("2026-10-20T10:00:00Z", "t0", "1", "cx", "0.04"),
		call("2026-11-02T10:00:00Z", "t1", "1", "cx", "0.02"),
		call("2026-11-02T10:05:00Z", "t1", "1", "cx", "0.01"),
		call("2026-11-05T09:00:00Z", "t2", "1", "cx", "0.05"),
		call("2026-11-12T08:00:00Z", "t3", "2", "ml", "0.01"),
		call("2026-11-12T08:01:00Z", "t3", "2", "ml", "0.01"),
		call("2026-11-12T08:02:00Z", "t3", "2", "ml", "0.01"),
		call("2026-11-13T08:00:00Z", "t4", "2", "ml", "0.10"),
		call("2026-11-14T08:00:00Z", "", "2", "cx", "0.01"),
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		inst, kpi string
		nanos     int64
		at        string
	}{
		{"t0", "resolved", 1e9, "2026-10-21"},
		{"t1", "resolved", 1e9, "2026-11-03"}, {"t1", "csat", 5e9, "2026-11-03"},
		{"t2", "resolved", 0, "2026-11-06"}, {"t2", "csat", 3e9, "2026-11-06"},
		{"t3", "resolved", 1e9, "2026-11-12"}, {"t3", "csat", 4e9, "2026-11-12"},
	} {
		if _, _, err := st.PutKPIResult(ctx, store.KPIResult{UseCase: "support", Instance: r.inst, KPI: r.kpi, Nanos: r.nanos, At: day(r.at)}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestReport(t *testing.T) {
	st := seed(t)
	rep, err := Build(context.Background(), st, supportCase(), ReportQuery{From: day("2026-11-01"), To: day("2026-11-16"), GroupBy: GroupTeam})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Figures
	// 8 calls; t1 $0.03, t2 $0.05, t3 $0.03, t4 $0.10 and one call without
	// an instance $0.01: $0.22.
	if f.Calls != 8 || f.Instances != 4 || f.CallsWithoutInstance != 1 || f.CostUSD.String() != "0.220000" || f.ErrorRate != 0 || *f.MeanE2EMs != 100 {
		t.Errorf("totals: %+v", f)
	}
	// Instance costs sorted: 0.03 0.03 0.05 0.10: mean 0.0525, p50 (rank 2)
	// 0.03, p95 (rank 4) 0.10.
	if d := f.CostPerInstance; d.Mean.String() != "0.052500" || d.P50.String() != "0.030000" || d.P95.String() != "0.100000" || d.Max.String() != "0.100000" {
		t.Errorf("cost per instance: %+v", d)
	}
	res, csat := f.KPIs[0], f.KPIs[1]
	// resolved: 3 results (t1 true, t2 false, t3 true), rate 2/3 >= 0.6;
	// cost per resolved case 0.22 / 2 = 0.11; value 4.20 (t1, before the
	// Nov 10 rule) + 4.50 (t3) = 8.70; 12 minutes.
	if res.Results != 3 || res.Sum != "2" || *res.Rate != 2.0/3 || !*res.MeetsGoal || res.CostPerOutcome.String() != "0.110000" ||
		res.ValueUSD.String() != "8.700000" || res.MinutesSaved != 12 || res.Coverage != 0.75 {
		t.Errorf("resolved: %+v", res)
	}
	// csat: mean (5+3+4)/3 = 4, goal 4 met; no cost per outcome for likert.
	if csat.Results != 3 || *csat.Mean != 4 || !*csat.MeetsGoal || csat.CostPerOutcome != nil || csat.Rate != nil {
		t.Errorf("csat: %+v", csat)
	}
	// Value per dollar: 8.70 / 0.22 = 39.5454...
	if f.ValueUSD.String() != "8.700000" || *f.ValuePerDollar < 39.545 || *f.ValuePerDollar > 39.546 {
		t.Errorf("value: %v %v", f.ValueUSD, *f.ValuePerDollar)
	}
	// By team (of each instance's first call): cx has t1, t2 and the call
	// without an instance: $0.09, one resolved: $0.09 per case; ml has t3
	// and t4: $0.13, one resolved.
	if len(rep.Groups) != 2 || rep.Groups[0].Key != "cx" || rep.Groups[0].CostUSD.String() != "0.090000" || rep.Groups[0].KPIs[0].CostPerOutcome.String() != "0.090000" ||
		rep.Groups[1].Key != "ml" || rep.Groups[1].CostUSD.String() != "0.130000" || rep.Groups[1].KPIs[0].CostPerOutcome.String() != "0.130000" {
		t.Errorf("groups: %+v", rep.Groups)
	}
	// The costliest instance first.
	if rep.Costliest[0].Instance != "t4" || rep.Costliest[0].CostUSD.String() != "0.100000" || len(rep.Costliest) != 4 {
		t.Errorf("costliest: %+v", rep.Costliest)
	}
	// The previous 15 days hold t0: $0.04, one resolved: cost per case went
	// from 0.04 to 0.11: +175%.
	if rep.Previous == nil || rep.Previous.CostUSD.String() != "0.040000" || rep.Trend.CostPerOutcome["resolved"] != 1.75 {
		t.Errorf("trend: %+v %+v", rep.Previous, rep.Trend)
	}
	b, err := json.Marshal(rep)
	if err != nil || len(b) == 0 {
		t.Fatal(err)
	}
}

func TestReportGroups(t *testing.T) {
	st := seed(t)
	ctx := context.Background()
	q := ReportQuery{From: day("2026-11-01"), To: day("2026-11-16")}
	for _, tc := range []struct {
		group string
		keys  []string
	}{
		{GroupDay, []string{"2026-11-02", "2026-11-05", "2026-11-12", "2026-11-13", "2026-11-14"}},
		{GroupWeek, []string{"2026-11-02", "2026-11-09"}}, // Mondays
		{GroupVersion, []string{"1", "2"}},
		{GroupModel, []string{"gpt-4o-mini"}},
	} {
		q.GroupBy = tc.group
		rep, err := Build(ctx, st, supportCase(), q)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, g := range rep.Groups {
			keys = append(keys, g.Key)
		}
		if fmt.Sprint(keys) != fmt.Sprint(tc.keys) {
			t.Errorf("%s: keys %v, want %v", tc.group, keys, tc.keys)
		}
	}
	// Version 2 only: t3, t4 and the call without an instance: $0.14.
	rep, err := Build(ctx, st, supportCase(), ReportQuery{From: day("2026-11-01"), To: day("2026-11-16"), Version: "2"})
	if err != nil || rep.CostUSD.String() != "0.140000" || rep.Instances != 2 {
		t.Errorf("version 2: %+v %v", rep.Figures, err)
	}
	for _, bad := range []ReportQuery{{From: day("2026-11-01")}, {From: day("2026-11-01"), To: day("2026-11-02"), GroupBy: "colour"},
		{From: day("2026-11-01"), To: day("2026-11-02"), GroupBy: GroupModel, Version: "2"}} {
		if _, err := Build(ctx, st, supportCase(), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestPortfolioByTeam(t *testing.T) {
	st := seed(t)
	ctx := context.Background()
	m := pricing.USD
	other := record.Record{ID: "other", ReceivedAt: day("2026-11-04"), Endpoint: record.EndpointChatCompletions, Status: 200,
		CostUSD: &m, Cost: &pricing.Cost{Total: m, EntryID: "e", Version: "v", Multiplier: 1_000_000},
		Attribution: record.Attribution{UseCase: "never-defined", Team: "ml"}}
	if err := st.WriteRecords(ctx, []record.Record{other}); err != nil {
		t.Fatal(err)
	}
	s := &Service{St: st}
	if _, err := s.Put(ctx, supportCase(), 0, "t"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Portfolio(ctx, day("2026-11-01"), day("2026-11-16"), GroupTeam)
	if err != nil {
		t.Fatal(err)
	}
	// ml: t3 and t4 ($0.13) and $1 of a use case never defined; value: t3
	// resolved after the Nov 10 rule, $4.50. cx: t1, t2 and the call
	// without an instance ($0.09); t1 resolved on Nov 3, $4.20.
	if len(p.Groups) != 2 || p.Groups[0].Key != "ml" || p.Groups[0].CostUSD.String() != "1.130000" || p.Groups[0].ValueUSD.String() != "4.500000" ||
		p.Groups[1].Key != "cx" || p.Groups[1].CostUSD.String() != "0.090000" || p.Groups[1].ValueUSD.String() != "4.200000" {
		t.Errorf("groups: %+v", p.Groups)
	}
	if p.CostUSD.String() != "1.220000" || len(p.UseCases) != 2 || p.UseCases[0].UseCase != "never-defined" {
		t.Errorf("portfolio: %+v", p)
	}
	if _, err := s.Portfolio(ctx, day("2026-11-01"), day("2026-11-16"), "model"); err == nil {
		t.Error("group by model accepted")
	}
}

func TestValidateValueRules(t *testing.T) {
	uc := supportCase()
	if err := uc.Validate(); err != nil {
		t.Errorf("an undated first rule and a dated second: %v", err)
	}
	uc.KPIs[0].Value = []ValueRule{{From: pricing.DateOf(day("2026-11-10"))}, {From: pricing.DateOf(day("2026-11-01"))}}
	if err := uc.Validate(); err == nil {
		t.Error("rules out of order accepted")
	}
	uc.KPIs[0].Value = []ValueRule{{}, {}}
	if err := uc.Validate(); err == nil {
		t.Error("two undated rules accepted")
	}
}

func TestFormatBigNanos(t *testing.T) {
	big1 := new(big.Int).Mul(big.NewInt(5_000_000_000), big.NewInt(4_000_000_000)) // 2e19 nanos: beyond an int64
	for _, tc := range []struct {
		n    *big.Int
		want string
	}{
		{big.NewInt(2_500_000_000), "2.5"},
		{big.NewInt(-1), "-0.000000001"},
		{big1, "20000000000"},
		{new(big.Int).Add(big1, big.NewInt(5e8)), "20000000000.5"},
	} {
		if got := formatBigNanos(tc.n); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.n, got, tc.want)
		}
	}
}

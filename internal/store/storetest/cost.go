package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// Cost kinds of a record.
func priced(r record.Record, m pricing.Money) record.Record {
	r.CostUSD = ptrMoney(m)
	r.Cost = &pricing.Cost{Total: m, Output: m, EntryID: "test/" + r.Model, Version: "test", Multiplier: 1_000_000}
	return r
}

func unpriced(r record.Record, units pricing.UnitSet) record.Record {
	r.CostUSD = nil
	r.Cost = &pricing.Cost{Version: "test", Multiplier: 1_000_000, Unpriced: units}
	return r
}

// unreached is a call that never got to a provider: no cost at all.
func unreached(r record.Record) record.Record {
	r.CostUSD, r.Cost = nil, nil
	r.Status, r.ErrorKind = 502, "upstream_unavailable"
	return r
}

var costOpts = gocmp.Options{
	gocmp.Comparer(func(a, b store.Amount) bool { return a == b }),
	gocmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

func costTotals(t *testing.T, s Store, q store.CostQuery) []store.CostTotal {
	t.Helper()
	got, err := s.CostTotals(context.Background(), q)
	if err != nil {
		t.Fatalf("CostTotals(%+v): %v", q, err)
	}
	return got
}

func unpricedModels(t *testing.T, s Store, q store.CostQuery) []store.UnpricedModel {
	t.Helper()
	got, err := s.UnpricedModels(context.Background(), q)
	if err != nil {
		t.Fatalf("UnpricedModels(%+v): %v", q, err)
	}
	return got
}

// wantCostTotals is the reference CostTotals over recs.
func wantCostTotals(recs []record.Record, q store.CostQuery) []store.CostTotal {
	key := func(r record.Record, dim string) string {
		switch dim {
		case store.GroupProvider:
			return r.Provider
		case store.GroupModel:
			return r.Model
		case store.GroupUseCase:
			return r.UseCase
		case store.GroupTeam:
			return r.Team
		case store.GroupUser:
			return r.User
		case store.GroupAccount:
			return r.Account
		case store.GroupDay:
			return r.ReceivedAt.UTC().Format(time.DateOnly)
		}
		return ""
	}
	type k2 struct{ a, b string }
	groups := map[k2]*store.CostTotal{}
	for _, r := range recs {
		if (!q.From.IsZero() && r.ReceivedAt.Before(q.From)) || (!q.To.IsZero() && !r.ReceivedAt.Before(q.To)) {
			continue
		}
		if q.Provider != "" && r.Provider != q.Provider || q.Model != "" && r.Model != q.Model ||
			q.UseCase != "" && r.UseCase != q.UseCase || q.Team != "" && r.Team != q.Team ||
			q.User != "" && r.User != q.User || q.Account != "" && r.Account != q.Account ||
			q.UseCaseInstance != "" && r.UseCaseInstance != q.UseCaseInstance ||
			q.Application != "" && r.Application != q.Application || q.APIKeyID != "" && r.APIKeyID != q.APIKeyID {
			continue
		}
		k := k2{key(r, q.GroupBy), key(r, q.ThenBy)}
		g := groups[k]
		if g == nil {
			g = &store.CostTotal{Key: k.a, Key2: k.b}
			groups[k] = g
		}
		g.Calls++
		g.InputTokens += r.Usage.InputTokens
		g.OutputTokens += r.Usage.OutputTokens
		switch {
		case r.CostUSD != nil:
			g.PricedCalls++
			g.CostUSD.Add(*r.CostUSD)
		case r.Cost != nil:
			g.UnpricedCalls++
		}
	}
	var out []store.CostTotal
	for _, g := range groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b store.CostTotal) int {
		return cmp.Or(b.CostUSD.Cmp(a.CostUSD), strings.Compare(a.Key, b.Key), strings.Compare(a.Key2, b.Key2))
	})
	limit := q.Limit
	if limit == 0 {
		limit = store.DefaultLimit
	}
	return out[:min(len(out), limit, store.MaxLimit)]
}

var allGroups = []string{
	store.GroupNone, store.GroupProvider, store.GroupModel, store.GroupUseCase,
	store.GroupTeam, store.GroupUser, store.GroupAccount, store.GroupDay,
}

func testCostTotals(t *testing.T, s Store) {
	var recs []record.Record
	for i := range 240 {
		// Seven hours apart: the calls span ten UTC days.
		r := minimal(fmt.Sprintf("c%03d", i), base.Add(time.Duration(i)*time.Hour))
		r.Provider = []string{"openai", "anthropic", "azure"}[i%3]
		r.Model = fmt.Sprintf("m%d", i%4)
		r.UseCase = []string{"bot", "search", ""}[i/2%3]
		r.UseCaseInstance = fmt.Sprintf("i%d", i%11)
		r.Application, r.APIKeyID = []string{"", "bot", "crm"}[i%3], fmt.Sprintf("key_%d", i%4)
		r.Team = []string{"cx", "ml"}[i/3%2]
		r.User = fmt.Sprintf("u%d", i%5)
		r.Account = []string{"acme", "globex", "initech"}[i/5%3]
		if i%5 != 0 {
			r.Usage.InputTokens, r.Usage.OutputTokens = int64(i*1009%4000), int64(i*31%700)
		}
		switch {
		case i%5 == 0:
			r = unreached(r)
		case i%7 == 0:
			r = unpriced(r, pricing.UnitInput|pricing.UnitOutput)
		default:
			// Up to $3, with every femto-dollar digit in play.
			r = priced(r, pricing.Money(int64(i)*123_456_789_012_347%int64(3*pricing.USD)+1))
		}
		recs = append(recs, r)
	}
	recs = append(recs, priced(full("full"), 4_321_987_654_321_001)) // priced despite listing an unpriced unit
	write(t, s, recs...)

	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	day := func(d int) time.Time { return base.UTC().Truncate(24*time.Hour).AddDate(0, 0, d) }
	ranges := []struct{ from, to time.Time }{
		{time.Time{}, time.Time{}},
		{at(10), at(100)},
		{at(100), at(100)},
		{at(100), at(101)},
		{at(37).Add(time.Nanosecond), time.Time{}},
		{time.Time{}, at(50)},
		{at(500), time.Time{}},
		{at(10).In(time.FixedZone("X", -5*3600)), at(100).In(time.FixedZone("Y", 9*3600))},
		// Whole UTC days, which a store may answer from per-day sums.
		{day(1), day(5)},
		{time.Time{}, day(3)},
		{day(2), time.Time{}},
		{day(4), day(4)},
		{day(1).In(time.FixedZone("Z", 2*3600)), day(9)},
	}
	for _, rg := range ranges {
		for _, g := range allGroups {
			q := store.CostQuery{From: rg.from, To: rg.to, GroupBy: g, Limit: store.MaxLimit}
			if diff := gocmp.Diff(wantCostTotals(recs, q), costTotals(t, s, q), costOpts); diff != "" {
				t.Errorf("CostTotals(%+v) (-want +got):\n%s", q, diff)
			}
		}
	}
	for _, limit := range []int{0, 1, 2, 3} {
		q := store.CostQuery{GroupBy: store.GroupUser, Limit: limit}
		if diff := gocmp.Diff(wantCostTotals(recs, q), costTotals(t, s, q), costOpts); diff != "" {
			t.Errorf("CostTotals(%+v) (-want +got):\n%s", q, diff)
		}
	}
	// A second dimension, and filters.
	for _, q := range []store.CostQuery{
		{GroupBy: store.GroupDay, ThenBy: store.GroupModel},
		{GroupBy: store.GroupModel, ThenBy: store.GroupDay, Provider: "openai"},
		{GroupBy: store.GroupTeam, ThenBy: store.GroupUseCase, From: at(20), To: at(200)},
		{GroupBy: store.GroupProvider, UseCase: "bot", Team: "cx"},
		{GroupBy: store.GroupDay, Model: "m1", User: "u3", Account: "acme"},
		{Provider: "azure", Limit: 5},
		{GroupBy: store.GroupUser, Provider: "nosuch"},
		{UseCaseInstance: "i7", UseCase: "bot"},
		{GroupBy: store.GroupDay, UseCaseInstance: "i3", From: at(1)},
		{GroupBy: store.GroupModel, Application: "bot"},
		{APIKeyID: "key_2", From: at(10)},
	} {
		q.Limit = cmp.Or(q.Limit, store.MaxLimit)
		if diff := gocmp.Diff(wantCostTotals(recs, q), costTotals(t, s, q), costOpts); diff != "" {
			t.Errorf("CostTotals(%+v) (-want +got):\n%s", q, diff)
		}
	}
	// Rewriting records changes nothing: the first write wins.
	write(t, s, recs[:50]...)
	q := store.CostQuery{GroupBy: store.GroupModel}
	if diff := gocmp.Diff(wantCostTotals(recs, q), costTotals(t, s, q), costOpts); diff != "" {
		t.Errorf("after rewrite: CostTotals(%+v) (-want +got):\n%s", q, diff)
	}
}

func testCostTotalsExactBeyondInt64(t *testing.T, s Store) {
	// 3,000 calls of $5 and i femto-dollars: $15,000 and 4,498,500
	// femto-dollars, while an int64 of femto-dollars stops at $9,223.
	var recs []record.Record
	for i := range 3000 {
		r := minimal(fmt.Sprintf("x%04d", i), base.Add(time.Duration(i)*time.Second))
		r.Provider, r.Model, r.Team = "openai", "gpt-big", "cx"
		recs = append(recs, priced(r, 5*pricing.USD+pricing.Money(i)))
	}
	// Two calls at the largest Money there is, in their own team.
	for i := range 2 {
		r := minimal(fmt.Sprintf("max%d", i), base.Add(time.Duration(i)*time.Millisecond))
		r.Provider, r.Model, r.Team = "openai", "gpt-big", "max"
		recs = append(recs, priced(r, math.MaxInt64))
	}
	for b := 0; b < len(recs); b += 500 {
		write(t, s, recs[b:min(b+500, len(recs))]...)
	}
	got := costTotals(t, s, store.CostQuery{GroupBy: store.GroupTeam})
	want := []struct {
		key     string
		calls   int64
		dollars int64
		femto   pricing.Money
		text    string
	}{
		{"max", 2, 18446, 744_073_709_551_614, "18446.744073709551614"},
		{"cx", 3000, 15000, 4_498_500, "15000.000000004498500"},
	}
	if len(got) != len(want) {
		t.Fatalf("CostTotals by team = %+v, want %d groups", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		d, f := g.CostUSD.Parts()
		if g.Key != w.key || g.Calls != w.calls || g.PricedCalls != w.calls || g.UnpricedCalls != 0 || d != w.dollars || f != w.femto {
			t.Errorf("group %d = %+v ($%d + %d femto), want %s: %d calls, $%d + %d femto", i, g, d, f, w.key, w.calls, w.dollars, w.femto)
		}
		if s := g.CostUSD.Format(15); s != w.text {
			t.Errorf("group %s formats as %s, want %s", w.key, s, w.text)
		}
	}
	all := costTotals(t, s, store.CostQuery{})
	if len(all) != 1 || all[0].Calls != 3002 || all[0].CostUSD.Format(15) != "33446.744073714050114" {
		t.Errorf("CostTotals of everything = %+v, want 3002 calls costing $33446.744073714050114", all)
	}
	if diff := gocmp.Diff(wantCostTotals(recs, store.CostQuery{GroupBy: store.GroupDay}), costTotals(t, s, store.CostQuery{GroupBy: store.GroupDay}), costOpts); diff != "" {
		t.Errorf("CostTotals by day (-want +got):\n%s", diff)
	}
}

func testCostTotalsOrder(t *testing.T, s Store) {
	// Totals that differ by a femto-dollar across the micro-dollar
	// boundary: a store that sums or orders in parts must carry.
	n := 0
	call := func(team string, m pricing.Money) record.Record {
		n++
		r := minimal(fmt.Sprintf("o%02d", n), base.Add(time.Duration(n)*time.Second))
		r.Team = team
		return priced(r, m)
	}
	f := func(team string) record.Record {
		n++
		r := minimal(fmt.Sprintf("o%02d", n), base.Add(time.Duration(n)*time.Second))
		r.Team = team
		return r
	}
	write(t, s,
		call("b", 500_000_000), call("b", 500_000_000), // $0.000001, tied with a
		call("a", 1_000_000_000),
		call("c", 500_000_000), call("c", 500_000_001),
		call("d", 999_999_999), call("d", 999_999_999), call("d", 999_999_999),
		call("e", 2_999_999_998),
		unpriced(f("f"), pricing.UnitImages), unreached(f("f")),
		call("g", 0), // a free model: priced at $0
	)
	want := []string{"e", "d", "c", "a", "b", "f", "g"}
	keys := func(ts []store.CostTotal) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Key)
		}
		return out
	}
	if got := keys(costTotals(t, s, store.CostQuery{GroupBy: store.GroupTeam})); !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
	if got := keys(costTotals(t, s, store.CostQuery{GroupBy: store.GroupTeam, Limit: 3})); !slices.Equal(got, want[:3]) {
		t.Errorf("order with limit 3 = %q, want %q", got, want[:3])
	}
	got := costTotals(t, s, store.CostQuery{GroupBy: store.GroupTeam})
	if f, g := got[5], got[6]; f.Calls != 2 || f.PricedCalls != 0 || f.UnpricedCalls != 1 || f.CostUSD != (store.Amount{}) ||
		g.Calls != 1 || g.PricedCalls != 1 || g.UnpricedCalls != 0 || g.CostUSD != (store.Amount{}) {
		t.Errorf("groups f, g = %+v, %+v", f, g)
	}
	if d := got[1].CostUSD.Format(15); d != "0.000002999999997" {
		t.Errorf("group d costs %s, want 0.000002999999997", d)
	}
}

func testCostTotalsDays(t *testing.T, s Store) {
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	epoch := time.Unix(0, 0).UTC()
	recs := []record.Record{
		priced(minimal("before-midnight", day.Add(-time.Nanosecond)), 1),
		priced(minimal("midnight", day), 2),
		priced(minimal("next-to-last", day.Add(24*time.Hour-time.Nanosecond)), 4),
		// 01:00 on the 15th in Tokyo is 16:00 on the 14th in UTC.
		priced(minimal("tokyo", time.Date(2025, 3, 15, 1, 0, 0, 0, time.FixedZone("JST", 9*3600))), 8),
		priced(minimal("pre-epoch", epoch.Add(-time.Nanosecond)), 16),
		priced(minimal("epoch", epoch), 32),
		priced(minimal("long-ago", time.Date(1900, 1, 1, 12, 0, 0, 0, time.UTC)), 64),
	}
	write(t, s, recs...)
	got := costTotals(t, s, store.CostQuery{GroupBy: store.GroupDay})
	want := []store.CostTotal{
		{Key: "1900-01-01", Calls: 1, PricedCalls: 1},
		{Key: "1970-01-01", Calls: 1, PricedCalls: 1},
		{Key: "1969-12-31", Calls: 1, PricedCalls: 1},
		{Key: "2025-03-14", Calls: 3, PricedCalls: 3},
		{Key: "2025-03-13", Calls: 1, PricedCalls: 1},
	}
	for i, m := range []pricing.Money{64, 32, 16, 14, 1} {
		want[i].CostUSD.Add(m)
	}
	if diff := gocmp.Diff(want, got, costOpts); diff != "" {
		t.Errorf("CostTotals by day (-want +got):\n%s", diff)
	}
}

func testUnpricedModels(t *testing.T, s Store) {
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	call := func(id string, sec int, provider, model string) record.Record {
		r := minimal(id, at(sec))
		r.Provider, r.Model = provider, model
		return r
	}
	write(t, s,
		unpriced(call("n1", 10, "openai", "gpt-new"), pricing.UnitInput|pricing.UnitOutput),
		unpriced(call("n2", 5, "openai", "gpt-new"), pricing.UnitWebSearches),
		unpriced(call("n3", 30, "openai", "gpt-new"), pricing.UnitInput|pricing.UnitOutput),
		unpriced(call("n4", 20, "openai", "gpt-new"), pricing.UnitInput),
		unpriced(call("c1", 7, "anthropic", "claude-x"), 0),
		unpriced(call("c2", 8, "anthropic", "claude-x"), pricing.UnitCacheWrite1h),
		unpriced(call("z1", 9, "azure", "gpt-new"), pricing.UnitInput),
		unpriced(call("z2", 11, "azure", "gpt-new"), pricing.UnitInput),
		unpriced(call("late", 100, "openai", "gpt-later"), pricing.UnitImages),
		// Not unpriced: priced (even listing an unpriced unit) or never
		// sent to a provider.
		priced(call("p1", 12, "openai", "gpt-new"), 7),
		priced(call("p2", 13, "mistral", "mistral-x"), 0),
		func() record.Record {
			r := priced(call("p3", 14, "mistral", "mistral-y"), 1)
			r.Cost.Unpriced = pricing.UnitImages
			return r
		}(),
		unreached(call("u1", 15, "openai", "gpt-unreached")),
	)
	all := []store.UnpricedModel{
		{Provider: "openai", Model: "gpt-new", Calls: 4, FirstSeen: at(5), LastSeen: at(30),
			Units: pricing.UnitInput | pricing.UnitOutput | pricing.UnitWebSearches},
		{Provider: "anthropic", Model: "claude-x", Calls: 2, FirstSeen: at(7), LastSeen: at(8), Units: pricing.UnitCacheWrite1h},
		{Provider: "azure", Model: "gpt-new", Calls: 2, FirstSeen: at(9), LastSeen: at(11), Units: pricing.UnitInput},
		{Provider: "openai", Model: "gpt-later", Calls: 1, FirstSeen: at(100), LastSeen: at(100), Units: pricing.UnitImages},
	}
	cases := []struct {
		q    store.CostQuery
		want []store.UnpricedModel
	}{
		{store.CostQuery{}, all},
		{store.CostQuery{Limit: 2}, all[:2]},
		{store.CostQuery{From: at(8), To: at(30)}, []store.UnpricedModel{
			{Provider: "azure", Model: "gpt-new", Calls: 2, FirstSeen: at(9), LastSeen: at(11), Units: pricing.UnitInput},
			{Provider: "openai", Model: "gpt-new", Calls: 2, FirstSeen: at(10), LastSeen: at(20), Units: pricing.UnitInput | pricing.UnitOutput},
			{Provider: "anthropic", Model: "claude-x", Calls: 1, FirstSeen: at(8), LastSeen: at(8), Units: pricing.UnitCacheWrite1h},
		}},
		{store.CostQuery{From: at(7), To: at(8)}, []store.UnpricedModel{
			{Provider: "anthropic", Model: "claude-x", Calls: 1, FirstSeen: at(7), LastSeen: at(7)},
		}},
		{store.CostQuery{From: at(101)}, nil},
		{store.CostQuery{To: at(5)}, nil},
	}
	for _, c := range cases {
		got := unpricedModels(t, s, c.q)
		if diff := gocmp.Diff(c.want, got, costOpts); diff != "" {
			t.Errorf("UnpricedModels(%+v) (-want +got):\n%s", c.q, diff)
		}
		for _, m := range got {
			if m.FirstSeen.Location() != time.UTC || m.LastSeen.Location() != time.UTC {
				t.Errorf("UnpricedModels times are not in UTC: %+v", m)
			}
		}
	}
}

func testCostInvalidQuery(t *testing.T, s Store) {
	write(t, s, priced(minimal("a", base), 1), unpriced(minimal("b", base), pricing.UnitInput))
	bad := []store.CostQuery{
		{GroupBy: "bogus"},
		{GroupBy: "Team"},
		{GroupBy: "received_at"},
		{Limit: -1},
		{From: base.Add(time.Second), To: base},
		{From: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ThenBy: store.GroupModel},
		{GroupBy: store.GroupModel, ThenBy: store.GroupModel},
		{GroupBy: store.GroupModel, ThenBy: "bogus"},
	}
	for _, q := range bad {
		if _, err := s.CostTotals(context.Background(), q); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("CostTotals(%+v) error = %v, want ErrInvalidQuery", q, err)
		}
		if _, err := s.UnpricedModels(context.Background(), q); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("UnpricedModels(%+v) error = %v, want ErrInvalidQuery", q, err)
		}
	}
	// UnpricedModels always groups by provider and model.
	if _, err := s.UnpricedModels(context.Background(), store.CostQuery{GroupBy: store.GroupTeam}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("UnpricedModels(GroupBy team) error = %v, want ErrInvalidQuery", err)
	}
	if _, err := s.UnpricedModels(context.Background(), store.CostQuery{Team: "cx"}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("UnpricedModels(Team cx) error = %v, want ErrInvalidQuery", err)
	}
	// Limits beyond MaxLimit are clamped, not refused.
	for _, g := range allGroups {
		if got := costTotals(t, s, store.CostQuery{GroupBy: g, Limit: 1 << 30}); len(got) != 1 {
			t.Errorf("CostTotals(GroupBy %q) = %+v, want one group", g, got)
		}
	}
}

package costing

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/usage"
)

func TestAmortise(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	e := NewEngine(embedded(t), nil, nil)
	var recs []record.Record
	add := func(at time.Time, provider, model, team string, in, out int64) {
		r := record.Record{ID: fmt.Sprintf("r%02d", len(recs)), ReceivedAt: at, Endpoint: record.EndpointChatCompletions, Status: 200,
			Provider: provider, Model: model, Attribution: record.Attribution{Team: team}, Usage: usage.Usage{InputTokens: in, OutputTokens: out}}
		e.Price(&r, "azure")
		recs = append(recs, r)
	}
	nov := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	// Day 1: cx 3,000 tokens, ml 1,000 tokens on gpt-4o; a gpt-4o-mini call
	// and a call to another provider the commitment does not cover.
	add(nov(1, 9), "ptu", "gpt-4o", "cx", 2000, 1000)
	add(nov(1, 10), "ptu", "gpt-4o", "ml", 800, 200)
	add(nov(1, 11), "ptu", "gpt-4o-mini", "cx", 5000, 5000)
	add(nov(1, 12), "paygo", "gpt-4o", "cx", 5000, 5000)
	// Day 2: idle. Day 3: one ml call of 10 tokens, and a cx call at 23:00.
	add(nov(3, 1), "ptu", "gpt-4o", "ml", 7, 3)
	add(nov(3, 23), "ptu", "gpt-4o", "cx", 5, 5)
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	cm := pricing.Commitment{Name: "ptu-daily", Provider: "ptu", Models: []string{"GPT-4o"}, Fee: *pricing.Dec("240"), Period: "day",
		From: pricing.DateOf(nov(1, 0)), Until: pricing.DateOf(nov(4, 0))}
	c := Commitments{List: []pricing.Commitment{cm}, Cost: st}

	rep, err := c.Amortise(ctx, AmortiseQuery{From: nov(1, 0), To: nov(5, 0), GroupBy: store.GroupTeam})
	if err != nil {
		t.Fatal(err)
	}
	u := rep.Commitments[0]
	// Three days of $240 (the commitment ends on the 4th): $720. Day 1's
	// $240 splits 3,000:1,000 = $180 cx, $60 ml; day 2 is idle; day 3's
	// 10:10 tokens = $120 each. cx $300, ml $180, allocated $480.
	if u.Periods != 3 || u.FeeUSD.String() != "720.000000" || u.IdlePeriods != 1 || u.Calls != 4 ||
		u.AllocatedUSD.String() != "480.000000" || u.UnallocatedUSD.String() != "240.000000" {
		t.Errorf("use = %+v", u)
	}
	want := []struct{ key, usd string }{{"cx", "300.000000"}, {"ml", "180.000000"}}
	if len(u.Groups) != 2 {
		t.Fatalf("groups = %+v", u.Groups)
	}
	for i, w := range want {
		if g := u.Groups[i]; g.Key != w.key || g.AllocatedUSD.String() != w.usd {
			t.Errorf("group %d = %s $%s, want %s $%s", i, g.Key, g.AllocatedUSD, w.key, w.usd)
		}
	}
	if rep.FeeUSD.String() != "720.000000" || rep.AllocatedUSD.String() != "480.000000" {
		t.Errorf("report totals: %+v", rep)
	}

	// A range cutting day 3 before the cx call: day 3's fee counts whole,
	// but only the ml call's share (half) is allocated in the range.
	rep, err = c.Amortise(ctx, AmortiseQuery{From: nov(3, 0), To: nov(3, 12)})
	if err != nil {
		t.Fatal(err)
	}
	if u := rep.Commitments[0]; u.Periods != 1 || u.FeeUSD.String() != "240.000000" || u.AllocatedUSD.String() != "120.000000" || u.Calls != 1 {
		t.Errorf("cut range: %+v", u)
	}

	// Uneven shares round down to the femto-dollar: $1 over 3 equal calls.
	thirds := pricing.Commitment{Name: "thirds", Provider: "t", Fee: *pricing.Dec("1"), Period: "hour", From: pricing.DateOf(nov(10, 0))}
	var more []record.Record
	for i := range 3 {
		more = append(more, record.Record{ID: fmt.Sprintf("t%d", i), ReceivedAt: nov(10, 0).Add(time.Duration(i) * time.Minute), Endpoint: record.EndpointChatCompletions,
			Status: 200, Provider: "t", Model: "m", Attribution: record.Attribution{User: fmt.Sprintf("u%d", i)}, Usage: usage.Usage{InputTokens: 1}})
	}
	if err := st.WriteRecords(ctx, more); err != nil {
		t.Fatal(err)
	}
	rep, err = Commitments{List: []pricing.Commitment{thirds}, Cost: st}.Amortise(ctx, AmortiseQuery{From: nov(10, 0), To: nov(10, 1), GroupBy: store.GroupUser})
	if err != nil {
		t.Fatal(err)
	}
	if u := rep.Commitments[0]; u.AllocatedUSD.Format(15) != "0.999999999999999" || u.UnallocatedUSD.Format(15) != "0.000000000000001" || u.Groups[0].AllocatedUSD.Format(15) != "0.333333333333333" {
		t.Errorf("thirds: %+v", u)
	}

	for _, q := range []AmortiseQuery{{From: nov(1, 0)}, {From: nov(2, 0), To: nov(1, 0)}, {From: nov(1, 0), To: nov(2, 0), GroupBy: "colour"}} {
		if _, err := c.Amortise(ctx, q); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("%+v: %v", q, err)
		}
	}
	hourly := Commitments{List: []pricing.Commitment{{Name: "h", Provider: "ptu", Fee: *pricing.Dec("1"), Period: "hour", From: pricing.DateOf(nov(1, 0))}}, Cost: st}
	if _, err := hourly.Amortise(ctx, AmortiseQuery{From: nov(1, 0), To: nov(1, 0).AddDate(1, 0, 0)}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("a year of hours: %v", err)
	}
}

func TestOutputHistory(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var recs []record.Record
	for i := range 30 {
		r := record.Record{ID: fmt.Sprintf("h%02d", i), ReceivedAt: now.Add(-time.Duration(i) * time.Hour), Endpoint: record.EndpointChatCompletions,
			Status: 200, Provider: "p", Model: "gpt-4o-mini", Usage: usage.Usage{InputTokens: 10, OutputTokens: int64(100 + i*10)}}
		NewEngine(embedded(t), nil, nil).Price(&r, "openai")
		recs = append(recs, r)
	}
	// A call that never reached the provider and an old one: neither counts.
	recs = append(recs, record.Record{ID: "err", ReceivedAt: now, Endpoint: record.EndpointChatCompletions, Status: 502, Provider: "p", Model: "gpt-4o-mini"})
	old := record.Record{ID: "old", ReceivedAt: now.AddDate(0, 0, -30), Endpoint: record.EndpointChatCompletions, Status: 200, Provider: "p", Model: "gpt-4o-mini", Usage: usage.Usage{OutputTokens: 1_000_000}}
	NewEngine(embedded(t), nil, nil).Price(&old, "openai")
	recs = append(recs, old)
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	h := &OutputHistory{Cost: st, Now: func() time.Time { return now }}
	// Mean of 100, 110, ... 390 = 245.
	if n, calls, ok := h.TypicalOutput(ctx, "gpt-4o-mini"); !ok || n != 245 || calls != 30 {
		t.Errorf("typical = %d over %d calls, %v", n, calls, ok)
	}
	if _, _, ok := h.TypicalOutput(ctx, "gpt-5"); ok {
		t.Error("a model without history has a typical output")
	}
	h2 := &OutputHistory{Cost: st, Now: func() time.Time { return now }, MinCalls: 31}
	if _, calls, ok := h2.TypicalOutput(ctx, "gpt-4o-mini"); ok || calls != 30 {
		t.Errorf("below MinCalls: %d %v", calls, ok)
	}
}

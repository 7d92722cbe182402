package store

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
)

func amount(ms ...pricing.Money) Amount {
	var a Amount
	for _, m := range ms {
		a.Add(m)
	}
	return a
}

func TestAmount(t *testing.T) {
	f := func(a Amount, wantJSON, want6 string) {
		t.Helper()
		b, err := json.Marshal(a)
		if err != nil || string(b) != wantJSON {
			t.Errorf("Marshal(%#v) = %s, %v; want %s", a, b, err, wantJSON)
		}
		var back Amount
		if err := json.Unmarshal(b, &back); err != nil || back != a {
			t.Errorf("Unmarshal(%s) = %#v, %v; want %#v", b, back, err, a)
		}
		if s := a.String(); s != want6 {
			t.Errorf("String(%s) = %s, want %s", wantJSON, s, want6)
		}
	}
	f(Amount{}, "0", "0.000000")
	f(amount(1), "0.000000000000001", "0.000000")
	f(amount(225*pricing.Micro), "0.000225", "0.000225")
	f(amount(math.MaxInt64, math.MaxInt64), "18446.744073709551614", "18446.744074")
	f(amount(pricing.USD-500*pricing.Nano), "0.9999995", "1.000000") // rounds up into the dollars
	f(amount(pricing.USD-500*pricing.Nano, 2*pricing.USD), "2.9999995", "3.000000")
	f(amount(2_500_000*pricing.Pico), "0.0000025", "0.000002") // half to even
	f(amount(3_500_000*pricing.Pico), "0.0000035", "0.000004")
	f(amount(-1), "-0.000000000000001", "0.000000") // no "-0"
	f(amount(-pricing.USD/2), "-0.5", "-0.500000")
	f(amount(-3*pricing.USD-1), "-3.000000000000001", "-3.000000")
	f(amount(-math.MaxInt64, -math.MaxInt64), "-18446.744073709551614", "-18446.744074")
	f(amount(5*pricing.USD, -7*pricing.USD), "-2", "-2.000000")

	var a Amount
	a.AddMicro(math.MaxInt64) // $9.2 trillion
	a.Add(math.MaxInt64)
	if s := a.Format(15); s != "9223372046078.147843854775807" {
		t.Errorf("AddMicro(MaxInt64) + Add(MaxInt64) = %s", s)
	}
	var m Amount
	m.AddMicro(-1)
	if m != amount(-pricing.Micro) {
		t.Errorf("AddMicro(-1) = %#v, want %#v", m, amount(-pricing.Micro))
	}

	for _, bad := range []string{`""`, `"1"`, `1e3`, `1.0000000000000001`, `--1`, `+1`, `.5`, `1.2.3`, `99999999999999999999`} {
		if err := json.Unmarshal([]byte(bad), &a); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestAmountCmp(t *testing.T) {
	ordered := []Amount{amount(-pricing.USD - 1), amount(-pricing.USD), amount(-1), {}, amount(1),
		amount(pricing.USD - 1), amount(pricing.USD), amount(math.MaxInt64, 1)}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Cmp(b); got != want {
				t.Errorf("%s.Cmp(%s) = %d, want %d", a.Format(15), b.Format(15), got, want)
			}
		}
	}
}

func TestCostQueryPlan(t *testing.T) {
	for _, g := range []string{GroupNone, GroupProvider, GroupModel, GroupUseCase, GroupTeam, GroupUser, GroupAccount, GroupDay} {
		if _, err := (CostQuery{GroupBy: g}).Plan(); err != nil {
			t.Errorf("Plan(GroupBy %q): %v", g, err)
		}
	}
	now := time.Now()
	for _, q := range []CostQuery{{GroupBy: "team "}, {GroupBy: "use_case_instance"}, {Limit: -1}, {From: now, To: now.Add(-1)}} {
		if _, err := q.Plan(); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("Plan(%+v) error = %v, want ErrInvalidQuery", q, err)
		}
	}
	p, err := CostQuery{From: now, To: now, Limit: 5000}.Plan()
	if err != nil || p.Limit != MaxLimit || !p.HasFrom || !p.HasTo || p.From != now.UnixNano() {
		t.Errorf("Plan = %+v, %v", p, err)
	}
}

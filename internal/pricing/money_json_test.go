package pricing

import (
	"encoding/json"
	"testing"
)

func TestMoneyJSON(t *testing.T) {
	for _, tc := range []struct {
		m    Money
		want string
	}{
		{0, "0"}, {USD, "1"}, {225 * Micro, "0.000225"}, {37500 * Femto * 1000, "0.0000000375"},
		{1, "0.000000000000001"}, {-3 * Milli, "-0.003"}, {12*USD + 5*Milli, "12.005"},
	} {
		b, err := json.Marshal(tc.m)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%d) = %s, %v; want %s", tc.m, b, err, tc.want)
		}
		var back Money
		if err := json.Unmarshal(b, &back); err != nil || back != tc.m {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d", b, back, err, tc.m)
		}
	}
	for _, bad := range []string{`"1"`, `1e-3`, `0.0000000000000001`, `1.2.3`, `99999999`, `--1`, `9223.9`} {
		var m Money
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("Unmarshal(%s) accepted: %d", bad, m)
		}
	}
}

func TestUnitSetJSON(t *testing.T) {
	s := UnitInput | UnitOutput | UnitWebSearches
	b, _ := json.Marshal(s)
	var back UnitSet
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("round trip %s -> %v, %v", b, back, err)
	}
	if err := json.Unmarshal([]byte(`["bogus"]`), &back); err == nil {
		t.Error("unknown unit accepted")
	}
}

func FuzzMoneyJSON(f *testing.F) {
	f.Add(int64(225000000000))
	f.Add(int64(-1))
	f.Fuzz(func(t *testing.T, v int64) {
		if v == -1<<63 {
			return
		}
		m := Money(v)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back Money
		if err := json.Unmarshal(b, &back); err != nil || back != m {
			t.Fatalf("%d -> %s -> %d, %v", m, b, back, err)
		}
	})
}

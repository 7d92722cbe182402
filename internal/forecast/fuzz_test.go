package forecast

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

var fuzzZones = []string{
	"UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo",
	"America/Santiago",    // daylight saving skips midnight
	"Australia/Lord_Howe", // a 30-minute change
	"Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns",
}

// fuzzAmounts are the special amounts a fuzzed entry may pick.
var fuzzAmounts = []float64{0, 5e-324, 1e-9, 0.01, 1e9, 1e12, 1e12 + 1, -0.01, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64}

// fuzzDays decodes data as 4-byte entries: days before today (from -5,
// so some are after today), a kind and a 16-bit magnitude.
func fuzzDays(data []byte, now time.Time, loc *time.Location) (daily []Day, invalid bool) {
	y, m, d := now.In(loc).Date()
	for len(data) >= 4 {
		back := int(data[0]) - 5
		kind := data[1] % 8
		mag := float64(binary.LittleEndian.Uint16(data[2:4]))
		data = data[4:]
		var usd float64
		switch {
		case kind < 5:
			usd = mag / 100 * math.Pow(10, float64(kind)-2)
		case kind == 5:
			usd = fuzzAmounts[int(mag)%len(fuzzAmounts)]
		case kind == 6:
			usd = mag * 1e9
		}
		if !(usd >= 0 && usd <= maxDayUSD) {
			invalid = true
		}
		daily = append(daily, Day{Date: time.Date(y, m, d-back, 0, 0, 0, 0, loc), USD: usd})
	}
	return daily, invalid
}

func FuzzMonth(f *testing.F) {
	f.Add([]byte{}, int64(0), uint8(0), 100.0)
	f.Add([]byte{1, 0, 100, 0, 2, 0, 200, 0, 0, 0, 50, 0}, int64(86400*40), uint8(1), 10.0)
	f.Add([]byte{10, 1, 255, 255, 40, 2, 1, 0, 80, 5, 5, 0, 0, 0, 1, 0}, int64(-86400*200), uint8(4), 0.0)
	var weeks []byte
	for i := range 100 {
		weeks = append(weeks, byte(i), byte(i%3), byte(i*37), byte(i%7))
	}
	f.Add(weeks, int64(86400*250+3600*7), uint8(5), 1e6)
	f.Add(weeks, int64(86400*(365+248)+3600*12), uint8(4), math.NaN())

	f.Fuzz(func(t *testing.T, data []byte, offset int64, zone uint8, limit float64) {
		loc, err := time.LoadLocation(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		// now within about a century of 2026.
		const span = 100 * 365 * 86400
		now := time.Unix(1767225600+offset%span, 0).In(loc)
		daily, invalid := fuzzDays(data, now, loc)

		f, err := Month(daily, now, loc)
		if invalid != (err != nil) {
			t.Fatalf("invalid input %v, error %v", invalid, err)
		}
		if err != nil {
			return
		}
		checkInvariants(t, f, now, loc)
		likely, p := CrossesLimit(f, limit)
		if !(p >= 0 && p <= 1) || (likely && p < 0.5) {
			t.Errorf("CrossesLimit(%v) = %v, %v", limit, likely, p)
		}
	})
}

func FuzzSpike(f *testing.F) {
	f.Add([]byte{}, 10.0, 0.0, 0.0, 0.0, 0, uint8(0))
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(20)), 60.0, 3.0, 1.5, 1.0, 28, uint8(1))
	f.Add(make([]byte, 8*60), 5.0, -1.0, math.Inf(1), math.NaN(), -3, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, today, k, ratio, increase float64, days int, baseline uint8) {
		var history []float64
		for ; len(data) >= 8; data = data[8:] {
			history = append(history, math.Float64frombits(binary.LittleEndian.Uint64(data)))
		}
		opts := SpikeOptions{Days: days, Baseline: Baseline(baseline % 4), K: k, MinRatio: ratio, MinIncreaseUSD: increase}
		r, spike := Spike(history, today, opts)
		if r.Message == "" {
			t.Error("empty message")
		}
		if !valid(today) {
			if spike {
				t.Errorf("spike for invalid today %v", today)
			}
			return
		}
		for name, v := range map[string]float64{"Median": r.MedianUSD, "MAD": r.MADUSD, "Ratio": r.Ratio, "Score": r.Score, "Threshold": r.ThresholdUSD} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s = %v", name, v)
			}
		}
		if spike && today < r.ThresholdUSD*(1-1e-12) {
			t.Errorf("spike at %v under its threshold %v", today, r.ThresholdUSD)
		}
	})
}

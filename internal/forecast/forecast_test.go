package forecast

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, wherever the tests run
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load time zone %s: %v", name, err)
	}
	return loc
}

// process is a known generating process of daily spend.
type process struct {
	// mean is the expected full-day spend of the day starting at d
	// (midnight in the location) when the use case spends at all.
	mean func(d time.Time) float64
	// sigma is the log standard deviation of multiplicative lognormal
	// noise with mean 1.
	sigma float64
	// drop is the probability that a day has no spend, and so no entry.
	drop float64
}

// elapsedOf is the elapsed fraction of now's day in loc, computed
// independently of the package.
func elapsedOf(now time.Time, loc *time.Location) float64 {
	now = now.In(loc)
	y, m, d := now.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	end := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	return float64(now.Sub(start)) / float64(end.Sub(start))
}

// draw is one day's random spend.
func (p process) draw(rng *rand.Rand, d time.Time) float64 {
	if rng.Float64() < p.drop {
		return 0
	}
	return p.mean(d) * math.Exp(p.sigma*rng.NormFloat64()-p.sigma*p.sigma/2)
}

// sample returns n complete days before now plus today's spend so far
// (dates at midnight in loc, zero days left out), and the spend of the
// rest of the month: its expectation and one random draw (restOfToday +
// later days).
func (p process) sample(rng *rand.Rand, now time.Time, loc *time.Location, n int) (daily []Day, wantRest, drawnRest float64) {
	now = now.In(loc)
	y, m, d := now.Date()
	elapsed := elapsedOf(now, loc)
	for i := -n; ; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if i > 0 && day.Month() != m {
			break
		}
		v := p.draw(rng, day)
		switch {
		case i < 0:
			if v > 0 {
				daily = append(daily, Day{Date: day, USD: v})
			}
		case i == 0:
			if v > 0 {
				daily = append(daily, Day{Date: day, USD: v * elapsed})
			}
			wantRest += (1 - elapsed) * p.mean(day) * (1 - p.drop)
			drawnRest += (1 - elapsed) * v
		default:
			wantRest += p.mean(day) * (1 - p.drop)
			drawnRest += v
		}
	}
	return daily, wantRest, drawnRest
}

// checkInvariants checks what every forecast must satisfy.
func checkInvariants(t *testing.T, f Forecast, now time.Time, loc *time.Location) {
	t.Helper()
	finite := func(name string, v float64) {
		t.Helper()
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			t.Errorf("%s = %v, want a finite amount >= 0", name, v)
		}
	}
	finite("MonthToDateUSD", f.MonthToDateUSD)
	finite("ForecastRestUSD", f.ForecastRestUSD)
	finite("ForecastTotalUSD", f.ForecastTotalUSD)
	finite("Low", f.Low)
	finite("High", f.High)
	if !(f.MonthToDateUSD <= f.Low && f.Low <= f.ForecastTotalUSD && f.ForecastTotalUSD <= f.High) {
		t.Errorf("month to date %v, low %v, total %v, high %v: want them in this order", f.MonthToDateUSD, f.Low, f.ForecastTotalUSD, f.High)
	}
	if got, want := f.ForecastTotalUSD, f.MonthToDateUSD+f.ForecastRestUSD; math.Abs(got-want) > 1e-9*max(1, want) {
		t.Errorf("total = %v, want month to date + rest = %v", got, want)
	}
	var sum float64
	now = now.In(loc)
	y, m, d := now.Date()
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, loc).Day()
	if len(f.Daily) != last-d+1 {
		t.Errorf("len(Daily) = %d, want %d (today through the %d)", len(f.Daily), last-d+1, last)
	}
	for i, day := range f.Daily {
		finite("Daily USD", day.USD)
		if !(day.Low <= day.USD && day.USD <= day.High) || day.Low < 0 {
			t.Errorf("Daily[%d] = %+v, want 0 <= Low <= USD <= High", i, day)
		}
		wy, wm, wd := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC).Date()
		gy, gm, gd := day.Date.Date()
		py, pm, pd := day.Date.Add(-time.Nanosecond).Date()
		if gy != wy || gm != wm || gd != wd || day.Date.Location() != loc || (py == gy && pm == gm && pd == gd) {
			t.Errorf("Daily[%d].Date = %v, want the start of %d-%02d-%02d in %v", i, day.Date, wy, wm, wd, loc)
		}
		sum += day.USD
	}
	if math.Abs(sum-f.ForecastRestUSD) > 1e-9*max(1, sum) {
		t.Errorf("sum of Daily = %v, want ForecastRestUSD %v", sum, f.ForecastRestUSD)
	}
	if f.Method == "" {
		t.Error("Method is empty")
	}
}

var (
	weekdayPattern = func(weekday, weekend float64) func(time.Time) float64 {
		return func(d time.Time) float64 {
			if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
				return weekend
			}
			return weekday
		}
	}
	origin = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// daysSince counts calendar days from origin to d's date.
func daysSince(d time.Time) float64 {
	y, m, dd := d.Date()
	return float64(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Sub(origin) / (24 * time.Hour))
}

func TestMonthKnownProcesses(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	berlin := mustLoad(t, "Europe/Berlin")
	stepDay := time.Date(2026, 4, 28, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		p    process
		now  time.Time
		loc  *time.Location
		days int
		// tol is the largest relative error of ForecastRestUSD against
		// the process's expected rest of the month.
		tol float64
		// dayTol, if set, bounds the relative error of each later day.
		dayTol float64
		method string
	}{
		{
			name: "flat",
			p:    process{mean: func(time.Time) float64 { return 20 }, sigma: 0.1},
			now:  time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC), loc: time.UTC, days: 90,
			tol: 0.04, dayTol: 0.06, method: "level (weighted mean, all days equally)",
		},
		{
			name: "weekly pattern with weekend dips",
			p:    process{mean: weekdayPattern(30, 6), sigma: 0.1},
			now:  time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC), loc: time.UTC, days: 90,
			tol: 0.04, dayTol: 0.10,
		},
		{
			name: "linear growth",
			p:    process{mean: func(d time.Time) float64 { return 10 + 0.25*daysSince(d) }, sigma: 0.08},
			now:  time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC), loc: time.UTC, days: 90,
			tol: 0.06, method: "linear trend",
		},
		{
			name: "weekly pattern and growth",
			p: process{mean: func(d time.Time) float64 {
				return weekdayPattern(1, 0.4)(d) * (20 + 0.2*daysSince(d))
			}, sigma: 0.1},
			now: time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC), loc: time.UTC, days: 90,
			tol: 0.07,
		},
		{
			name: "sudden step 16 days ago",
			p: process{mean: func(d time.Time) float64 {
				if d.Before(stepDay) {
					return 10
				}
				return 40
			}, sigma: 0.1},
			now: time.Date(2026, 5, 14, 12, 0, 0, 0, time.UTC), loc: time.UTC, days: 90,
			tol: 0.08, method: "level shift",
		},
		{
			name: "missing days: no weekends and a tenth of weekdays",
			p:    process{mean: weekdayPattern(25, 0), sigma: 0.1, drop: 0.1},
			now:  time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC), loc: time.UTC, days: 90,
			tol: 0.10,
		},
		{
			name: "three weeks of history",
			p:    process{mean: weekdayPattern(30, 10), sigma: 0.1},
			now:  time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC), loc: time.UTC, days: 21,
			tol: 0.08,
		},
		{
			name: "one week of history",
			p:    process{mean: func(time.Time) float64 { return 5 }, sigma: 0.1},
			now:  time.Date(2026, 5, 8, 15, 0, 0, 0, time.UTC), loc: time.UTC, days: 7,
			tol: 0.10, method: "no trend",
		},
		{
			name: "five days of history falls back to the mean",
			p:    process{mean: func(time.Time) float64 { return 5 }, sigma: 0.1},
			now:  time.Date(2026, 5, 6, 15, 0, 0, 0, time.UTC), loc: time.UTC, days: 5,
			tol: 0.10, method: "mean of 5 day(s)",
		},
		{
			name: "last day of the month, partly spent",
			p:    process{mean: weekdayPattern(30, 6), sigma: 0.1},
			now:  time.Date(2026, 3, 31, 18, 0, 0, 0, berlin), loc: berlin, days: 90,
			tol: 0.08,
		},
		{
			name: "first day of the month",
			p:    process{mean: weekdayPattern(30, 6), sigma: 0.1},
			now:  time.Date(2026, 4, 1, 0, 30, 0, 0, berlin), loc: berlin, days: 90,
			tol: 0.05,
		},
		{
			name: "daylight saving change ahead in the month (New York, March)",
			p:    process{mean: weekdayPattern(30, 6), sigma: 0.1},
			now:  time.Date(2026, 3, 6, 20, 0, 0, 0, ny), loc: ny, days: 90,
			tol: 0.05, dayTol: 0.10,
		},
		{
			name: "daylight saving change in the history (New York, November)",
			p:    process{mean: weekdayPattern(30, 6), sigma: 0.1},
			now:  time.Date(2026, 11, 10, 23, 30, 0, 0, ny), loc: ny, days: 90,
			tol: 0.05, dayTol: 0.10,
		},
		{
			name: "daylight saving day itself (New York, November, 25 hours)",
			p:    process{mean: weekdayPattern(30, 6), sigma: 0.1},
			now:  time.Date(2026, 11, 1, 12, 0, 0, 0, ny), loc: ny, days: 90,
			tol: 0.05,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			daily, want, _ := tt.p.sample(rng, tt.now, tt.loc, tt.days)
			f, err := Month(daily, tt.now, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, f, tt.now, tt.loc)
			if f.DaysOfHistory != tt.days {
				t.Errorf("DaysOfHistory = %d, want %d", f.DaysOfHistory, tt.days)
			}
			if rel := (f.ForecastRestUSD - want) / want; math.Abs(rel) > tt.tol {
				t.Errorf("ForecastRestUSD = %.2f, want %.2f ± %.0f%% (off by %+.1f%%); method %q",
					f.ForecastRestUSD, want, 100*tt.tol, 100*rel, f.Method)
			}
			if tt.method != "" && !strings.Contains(f.Method, tt.method) {
				t.Errorf("Method = %q, want it to mention %q", f.Method, tt.method)
			}
			if tt.dayTol > 0 {
				for _, d := range f.Daily[1:] {
					w := tt.p.mean(d.Date) * (1 - tt.p.drop)
					if math.Abs(d.USD-w) > tt.dayTol*w {
						t.Errorf("forecast for %s (%s) = %.2f, want %.2f ± %.0f%%",
							d.Date.Format(time.DateOnly), d.Date.Weekday(), d.USD, w, 100*tt.dayTol)
					}
				}
			}
			t.Logf("rest %.2f (want %.2f), total %.2f [%.2f, %.2f]; %s",
				f.ForecastRestUSD, want, f.ForecastTotalUSD, f.Low, f.High, f.Method)
		})
	}
}

func TestMonthMissingWeekendsAreZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	now := time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC)
	p := process{mean: weekdayPattern(25, 0), sigma: 0.1}
	daily, _, _ := p.sample(rng, now, time.UTC, 90)
	for _, d := range daily {
		if wd := d.Date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Fatalf("sample has a weekend entry %v", d)
		}
	}
	f, err := Month(daily, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Daily[1:] {
		weekend := d.Date.Weekday() == time.Saturday || d.Date.Weekday() == time.Sunday
		if weekend && d.USD > 0.25 {
			t.Errorf("%s (%s): forecast %.2f, want about 0 for a day of the week without spend", d.Date.Format(time.DateOnly), d.Date.Weekday(), d.USD)
		}
		if !weekend && math.Abs(d.USD-25) > 2.5 {
			t.Errorf("%s (%s): forecast %.2f, want 25 ± 2.5", d.Date.Format(time.DateOnly), d.Date.Weekday(), d.USD)
		}
	}
}

// flatDays returns n days of exactly usd before now's date in loc, dated
// at midnight in loc.
func flatDays(now time.Time, loc *time.Location, n int, usd float64) []Day {
	y, m, d := now.In(loc).Date()
	var daily []Day
	for i := n; i >= 1; i-- {
		daily = append(daily, Day{Date: time.Date(y, m, d-i, 0, 0, 0, 0, loc), USD: usd})
	}
	return daily
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

func TestMonthTodayPartlySpent(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	ny := mustLoad(t, "America/New_York")
	santiago := mustLoad(t, "America/Santiago")
	tests := []struct {
		name          string
		now           time.Time
		loc           *time.Location
		todaySoFar    float64
		wantToday     float64 // forecast for the rest of today
		wantDays      int
		wantMonthDays float64 // days of the month before today, at $10
	}{
		{
			name: "last day of the month at 18:00",
			now:  time.Date(2026, 3, 31, 18, 0, 0, 0, berlin), loc: berlin,
			todaySoFar: 7.5, wantToday: 10 * 6.0 / 24, wantDays: 1, wantMonthDays: 30,
		},
		{
			name: "first day of the month at 00:30",
			now:  time.Date(2026, 4, 1, 0, 30, 0, 0, berlin), loc: berlin,
			todaySoFar: 0.2, wantToday: 10 * 23.5 / 24, wantDays: 30, wantMonthDays: 0,
		},
		{
			name: "midnight exactly",
			now:  time.Date(2026, 4, 10, 0, 0, 0, 0, berlin), loc: berlin,
			todaySoFar: 0, wantToday: 10, wantDays: 21, wantMonthDays: 9,
		},
		{
			name: "spring forward: noon is 11 of 23 hours in",
			now:  time.Date(2026, 3, 8, 12, 0, 0, 0, ny), loc: ny,
			todaySoFar: 4, wantToday: 10 * 12.0 / 23, wantDays: 24, wantMonthDays: 7,
		},
		{
			name: "fall back: noon is 13 of 25 hours in",
			now:  time.Date(2026, 11, 1, 12, 0, 0, 0, ny), loc: ny,
			todaySoFar: 4, wantToday: 10 * 12.0 / 25, wantDays: 30, wantMonthDays: 0,
		},
		{
			// Clocks go from 24:00 to 01:00: the day starts at 01:00 and
			// time.Date(..., 0, 0, 0, 0, santiago) is 23:00 the day before.
			name: "spring forward at midnight in Santiago: noon is 11 of 23 hours in",
			now:  time.Date(2026, 9, 6, 12, 0, 0, 0, santiago), loc: santiago,
			todaySoFar: 3, wantToday: 10 * 12.0 / 23, wantDays: 25, wantMonthDays: 5,
		},
		{
			name: "spring forward in Berlin: 23:30 UTC is already the next day",
			now:  time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC), loc: berlin,
			todaySoFar: 0.1, wantToday: 10 * 22.5 / 23, wantDays: 3, wantMonthDays: 28,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			daily := flatDays(tt.now, tt.loc, 60, 10)
			y, m, d := tt.now.In(tt.loc).Date()
			if tt.todaySoFar > 0 {
				daily = append(daily, Day{Date: time.Date(y, m, d, 0, 0, 0, 0, tt.loc), USD: tt.todaySoFar})
			}
			// A later entry is ignored.
			daily = append(daily, Day{Date: time.Date(y, m, d+1, 0, 0, 0, 0, tt.loc), USD: 1000})
			f, err := Month(daily, tt.now, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, f, tt.now, tt.loc)
			if len(f.Daily) != tt.wantDays {
				t.Fatalf("len(Daily) = %d, want %d", len(f.Daily), tt.wantDays)
			}
			near(t, "MonthToDateUSD", f.MonthToDateUSD, 10*tt.wantMonthDays+tt.todaySoFar)
			near(t, "Daily[0].USD", f.Daily[0].USD, min(tt.wantToday, 10))
			near(t, "ForecastRestUSD", f.ForecastRestUSD, min(tt.wantToday, 10)+10*float64(tt.wantDays-1))
			// Spend without noise leaves no error to simulate.
			near(t, "Low", f.Low, f.ForecastTotalUSD)
			near(t, "High", f.High, f.ForecastTotalUSD)
			if f.DaysOfHistory != 60 {
				t.Errorf("DaysOfHistory = %d, want 60", f.DaysOfHistory)
			}
		})
	}
}

func TestMonthInputForms(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	now := time.Date(2026, 3, 12, 16, 0, 0, 0, ny)
	rng := rand.New(rand.NewPCG(3, 4))
	daily, _, _ := process{mean: weekdayPattern(30, 6), sigma: 0.2}.sample(rng, now, ny, 60)
	want, err := Month(daily, now, ny)
	if err != nil {
		t.Fatal(err)
	}

	utcDates := make([]Day, len(daily))
	for i, d := range daily {
		y, m, dd := d.Date.Date()
		utcDates[i] = Day{Date: time.Date(y, m, dd, 0, 0, 0, 0, time.UTC), USD: d.USD}
	}
	shuffled := slices.Clone(daily)
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var split []Day
	for _, d := range daily {
		split = append(split, Day{d.Date, d.USD * 0.25}, Day{d.Date.Add(3 * time.Hour), d.USD * 0.75})
	}
	older := append(slices.Clone(daily), Day{Date: time.Date(2025, 6, 1, 0, 0, 0, 0, ny), USD: 0})
	for _, tt := range []struct {
		name  string
		daily []Day
		now   time.Time
	}{
		{"dates at midnight UTC", utcDates, now},
		{"shuffled", shuffled, now},
		{"each day in two entries", split, now},
		{"now in UTC", daily, now.UTC()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Month(tt.daily, tt.now, ny)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "ForecastTotalUSD", got.ForecastTotalUSD, want.ForecastTotalUSD)
			near(t, "MonthToDateUSD", got.MonthToDateUSD, want.MonthToDateUSD)
			near(t, "Low", got.Low, want.Low)
			near(t, "High", got.High, want.High)
			if got.DaysOfHistory != want.DaysOfHistory || got.Method != want.Method {
				t.Errorf("got %d days, %q; want %d days, %q", got.DaysOfHistory, got.Method, want.DaysOfHistory, want.Method)
			}
		})
	}
	t.Run("an entry older than 13 weeks caps the history", func(t *testing.T) {
		got, err := Month(older, now, ny)
		if err != nil {
			t.Fatal(err)
		}
		if got.DaysOfHistory != maxHistory {
			t.Errorf("DaysOfHistory = %d, want %d", got.DaysOfHistory, maxHistory)
		}
	})
}

func TestMonthStoppedUseCase(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	// Spend until 20 days ago, nothing since: the missing days are zeros.
	daily := flatDays(now.AddDate(0, 0, -20), time.UTC, 60, 50)
	f, err := Month(daily, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, f, now, time.UTC)
	if f.DaysOfHistory != 80 {
		t.Errorf("DaysOfHistory = %d, want 80", f.DaysOfHistory)
	}
	if f.ForecastRestUSD > 1 {
		t.Errorf("ForecastRestUSD = %v, want about 0 for a use case that stopped spending", f.ForecastRestUSD)
	}
}

func TestMonthFallback(t *testing.T) {
	now := time.Date(2026, 5, 20, 6, 0, 0, 0, time.UTC) // 12 days left, a quarter of today gone
	rest := 0.75 + 11
	tests := []struct {
		name      string
		daily     []Day
		wantMTD   float64
		wantRate  float64
		wantU     float64
		wantWords string
	}{
		{
			name:      "three days",
			daily:     []Day{{time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC), 10}, {time.Date(2026, 5, 18, 0, 0, 0, 0, time.UTC), 12}, {time.Date(2026, 5, 19, 0, 0, 0, 0, time.UTC), 14}},
			wantMTD:   36,
			wantRate:  12,
			wantU:     1 + 2.0/12,
			wantWords: "mean of 3 day(s)",
		},
		{
			name:      "a missing day in the three counts as zero",
			daily:     []Day{{time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC), 12}, {time.Date(2026, 5, 19, 0, 0, 0, 0, time.UTC), 12}},
			wantMTD:   24,
			wantRate:  8,
			wantU:     1 + math.Sqrt(48)/8,
			wantWords: "mean of 3 day(s)",
		},
		{
			name:      "one day",
			daily:     []Day{{time.Date(2026, 5, 19, 0, 0, 0, 0, time.UTC), 10}},
			wantMTD:   10,
			wantRate:  10,
			wantU:     2,
			wantWords: "mean of 1 day(s)",
		},
		{
			name:      "only today",
			daily:     []Day{{time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC), 3}},
			wantMTD:   3,
			wantRate:  12, // $3 in a quarter day
			wantU:     2,
			wantWords: "today's spend so far extrapolated",
		},
		{
			name:      "nothing",
			wantWords: "no spend recorded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Month(tt.daily, now, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, f, now, time.UTC)
			if !strings.Contains(f.Method, tt.wantWords) {
				t.Errorf("Method = %q, want it to contain %q", f.Method, tt.wantWords)
			}
			near(t, "MonthToDateUSD", f.MonthToDateUSD, tt.wantMTD)
			near(t, "ForecastRestUSD", f.ForecastRestUSD, tt.wantRate*rest)
			near(t, "Low", f.Low, tt.wantMTD+tt.wantRate*rest/(1+tt.wantU))
			near(t, "High", f.High, tt.wantMTD+tt.wantRate*rest*(1+tt.wantU))
		})
	}
}

func TestMonthErrors(t *testing.T) {
	now := time.Date(2026, 5, 20, 6, 0, 0, 0, time.UTC)
	d := time.Date(2026, 5, 19, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		daily []Day
		loc   *time.Location
		want  string
	}{
		{"nil location", nil, nil, "nil location"},
		{"negative", []Day{{d, -1}}, time.UTC, "day 2026-05-19: spend -1"},
		{"NaN", []Day{{d, math.NaN()}}, time.UTC, "spend NaN"},
		{"infinite", []Day{{d, math.Inf(1)}}, time.UTC, "spend +Inf"},
		{"too large", []Day{{d, 2e12}}, time.UTC, "spend 2e+12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Month(tt.daily, now, tt.loc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Month() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestMonthIntervalCoverage checks, over many seeded simulations of
// processes the model is meant for, that the 80% interval of the month
// total covers the realised total at least 70% of the time, and is not so
// wide that it nearly always does. The seed is fixed, so the test cannot
// flake; the margin below 80% leaves room for the model's approximations.
func TestMonthIntervalCoverage(t *testing.T) {
	runs := 400
	if testing.Short() {
		runs = 100
	}
	rng := rand.New(rand.NewPCG(2026, 5))
	zones := []*time.Location{time.UTC, mustLoad(t, "America/New_York"), mustLoad(t, "Asia/Tokyo")}
	covered := 0
	var absErr float64
	for range runs {
		level := 1 + rng.Float64()*200
		weekend := 1.0
		if rng.IntN(2) == 0 {
			weekend = 0.2 + 0.6*rng.Float64()
		}
		growth := 0.01 * (rng.Float64()*2 - 1) * float64(rng.IntN(2)) // ±1%/day, half of runs
		p := process{
			mean: func(d time.Time) float64 {
				return level * weekdayPattern(1, weekend)(d) * math.Exp(growth*daysSince(d))
			},
			sigma: 0.05 + 0.3*rng.Float64(),
			drop:  0.1 * rng.Float64() * float64(rng.IntN(2)),
		}
		loc := zones[rng.IntN(len(zones))]
		now := time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), 0, 0, loc)
		n := 14 + rng.IntN(77)
		daily, _, drawn := p.sample(rng, now, loc, n)
		f, err := Month(daily, now, loc)
		if err != nil {
			t.Fatal(err)
		}
		truth := f.MonthToDateUSD + drawn
		if f.Low <= truth && truth <= f.High {
			covered++
		}
		absErr += math.Abs(f.ForecastTotalUSD-truth) / truth
	}
	coverage := float64(covered) / float64(runs)
	t.Logf("80%% interval covered the month total in %d of %d runs (%.1f%%); mean absolute error %.1f%%",
		covered, runs, 100*coverage, 100*absErr/float64(runs))
	if coverage < 0.70 || coverage > 0.97 {
		t.Errorf("coverage = %.3f, want between 0.70 and 0.97", coverage)
	}
}

func TestMonthDeterministic(t *testing.T) {
	now := time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC)
	daily, _, _ := process{mean: weekdayPattern(30, 6), sigma: 0.3}.sample(rand.New(rand.NewPCG(1, 1)), now, time.UTC, 90)
	a, err := Month(daily, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Month(daily, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if a.Low != b.Low || a.High != b.High || a.ForecastTotalUSD != b.ForecastTotalUSD {
		t.Errorf("two runs differ: %+v and %+v", a, b)
	}
}

func TestCrossesLimit(t *testing.T) {
	f := Forecast{MonthToDateUSD: 50, ForecastRestUSD: 50, ForecastTotalUSD: 100, Low: 80, High: 130}
	tests := []struct {
		name       string
		f          Forecast
		limit      float64
		wantLikely bool
		wantP      float64
		tol        float64
	}{
		{"limit at the forecast", f, 100, false, 0.5, 1e-12},
		{"limit at the high end", f, 130, false, 0.10, 1e-9},
		{"limit at the low end", f, 80, true, 0.90, 1e-9},
		{"limit far above", f, 1000, false, 0, 1e-12},
		{"limit far below the total", f, 55, true, 1, 0.002},
		{"already spent past the limit", f, 40, true, 1, 0},
		{"no spread above", Forecast{ForecastTotalUSD: 100, Low: 90, High: 100}, 100.5, false, 0, 0},
		{"no spread below", Forecast{ForecastTotalUSD: 100, Low: 100, High: 110}, 99.5, true, 1, 0},
		{"negative limit", f, -1, false, 0, 0},
		{"NaN limit", f, math.NaN(), false, 0, 0},
		{"infinite limit", f, math.Inf(1), false, 0, 0},
		{"zero limit", Forecast{MonthToDateUSD: 1, ForecastTotalUSD: 10, Low: 5, High: 20}, 0, true, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			likely, p := CrossesLimit(tt.f, tt.limit)
			if likely != tt.wantLikely || math.Abs(p-tt.wantP) > tt.tol {
				t.Errorf("CrossesLimit(%v) = %v, %v; want %v, %v", tt.limit, likely, p, tt.wantLikely, tt.wantP)
			}
		})
	}
	t.Run("probability falls as the limit rises", func(t *testing.T) {
		prev := 1.0
		for limit := 50.0; limit <= 200; limit += 0.5 {
			_, p := CrossesLimit(f, limit)
			if p > prev || p < 0 || p > 1 {
				t.Fatalf("CrossesLimit(%v) probability %v after %v", limit, p, prev)
			}
			prev = p
		}
	})
}

func TestWeekdayFactorsShrink(t *testing.T) {
	// A clean weekly pattern over 12 weeks is kept; one noisy week is
	// pulled toward 1; no pattern gives factors of 1.
	pattern := [7]float64{0.3, 1.2, 1.2, 1.2, 1.2, 1.2, 0.7} // Sunday first
	norm := pattern
	normalise(&norm)
	build := func(weeks int, noise float64, pat [7]float64) []float64 {
		rng := rand.New(rand.NewPCG(9, uint64(weeks)))
		y := make([]float64, 7*weeks)
		for i := range y {
			y[i] = 100 * pat[i%7] * math.Exp(noise*rng.NormFloat64())
		}
		return y
	}
	clean := weekdayFactors(build(12, 0.02, pattern), 0)
	for w := range clean {
		if math.Abs(clean[w]-norm[w]) > 0.03 {
			t.Errorf("12 clean weeks: factor[%s] = %.3f, want %.3f", time.Weekday(w), clean[w], norm[w])
		}
	}
	short := weekdayFactors(build(1, 0.3, pattern), 0)
	if !(short[time.Sunday] > norm[time.Sunday]+0.05 && short[time.Sunday] < 1) {
		t.Errorf("one noisy week: Sunday factor %.3f, want shrunk from %.3f toward 1", short[time.Sunday], norm[time.Sunday])
	}
	flat := weekdayFactors(build(12, 0.2, [7]float64{1, 1, 1, 1, 1, 1, 1}), 0)
	for w := range flat {
		if math.Abs(flat[w]-1) > 0.05 {
			t.Errorf("no pattern: factor[%s] = %.3f, want 1 ± 0.05", time.Weekday(w), flat[w])
		}
	}
}

func TestCivilDay(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-400, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		y, m, dd := d.Date()
		got := civilDay(int64(y), int64(m), int64(dd))
		want := int64(math.Floor(float64(d.Unix()) / 86400))
		if got != want {
			t.Errorf("civilDay(%v) = %d, want %d", d, got, want)
		}
		if wd := weekday(got); time.Weekday(wd) != d.Weekday() {
			t.Errorf("weekday(%v) = %v, want %v", d, time.Weekday(wd), d.Weekday())
		}
	}
}

// TestMonthGolden pins the whole forecast of one realistic series (weekly
// pattern, a spike, missing days, a daylight-saving change ahead), rounded
// to the cent, so that a change to the model shows in review. Run with
// -update to rewrite testdata/month.golden.json.
func TestMonthGolden(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	now := time.Date(2026, 3, 20, 14, 30, 0, 0, berlin)
	rng := rand.New(rand.NewPCG(2026, 3))
	daily, _, _ := process{mean: weekdayPattern(40, 8), sigma: 0.2, drop: 0.05}.sample(rng, now, berlin, 90)
	daily[40].USD *= 12 // a runaway day

	f, err := Month(daily, now, berlin)
	if err != nil {
		t.Fatal(err)
	}
	cents := func(v float64) float64 { return math.Round(v*100) / 100 }
	type day struct {
		Date           string
		USD, Low, High float64
	}
	out := struct {
		MonthToDateUSD, ForecastRestUSD, ForecastTotalUSD, Low, High float64
		Method                                                       string
		DaysOfHistory                                                int
		Daily                                                        []day
	}{
		cents(f.MonthToDateUSD), cents(f.ForecastRestUSD), cents(f.ForecastTotalUSD), cents(f.Low), cents(f.High),
		f.Method, f.DaysOfHistory, nil,
	}
	for _, d := range f.Daily {
		out.Daily = append(out.Daily, day{d.Date.Format(time.RFC3339), cents(d.USD), cents(d.Low), cents(d.High)})
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "month.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("forecast differs from %s (run with -update if the change is intended):\n%s", path, got)
	}
}

// Package forecast projects a use case's spend to the end of the month and
// tells whether a day's spend is out of line with its own history. It holds
// pure functions over series the caller passes in: it never reads the
// store, keeps no state and uses only the standard library, so the alert,
// limits and API packages may import it freely. model.go documents the
// forecasting model and its assumptions; spike.go the spike rule.
package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Day is one day's recorded spend.
type Day struct {
	// Date names the day: the date of Date, read in Date's own location,
	// whose midnight is nearest (any instant from noon the day before to
	// just before noon names the day). Callers normally pass midnight in
	// the forecast's location; midnight UTC of the same calendar date
	// names the same day, and so does the 23:00 of the day before that
	// time.Date returns in zones where a daylight-saving change skips
	// midnight.
	Date time.Time `json:"date"`
	// USD is the day's spend: finite, at least 0 and at most $1e12. A day
	// absent from the series spent nothing.
	USD float64 `json:"usd"`
}

// DayForecast is the forecast spend of one day still to come.
type DayForecast struct {
	// Date is the start of the day in the forecast's location: midnight,
	// or the first instant after it where a daylight-saving change skips
	// midnight.
	Date time.Time `json:"date"`
	// USD is the spend expected for the part of the day not yet spent: for
	// today only the remaining fraction of the day, for later days all of it.
	USD float64 `json:"usd"`
	// Low and High bound the 80% interval of that spend (10th and 90th
	// percentile); Low <= USD <= High.
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Forecast is the projected spend of the current calendar month.
type Forecast struct {
	// MonthToDateUSD is the recorded spend from the first of the month
	// through now, today's spend so far included.
	MonthToDateUSD float64 `json:"month_to_date_usd"`
	// ForecastRestUSD is the spend expected for the rest of the month: the
	// remaining fraction of today plus every later day (the sum of Daily).
	ForecastRestUSD float64 `json:"forecast_rest_usd"`
	// ForecastTotalUSD is MonthToDateUSD + ForecastRestUSD.
	ForecastTotalUSD float64 `json:"forecast_total_usd"`
	// Low and High bound the 80% interval of the month total:
	// MonthToDateUSD <= Low <= ForecastTotalUSD <= High.
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	// Daily has one entry per day from today through the last day of the
	// month, in order.
	Daily []DayForecast `json:"daily"`
	// Method says in a sentence how the forecast was made, for display.
	Method string `json:"method"`
	// DaysOfHistory is the number of complete days (before today) the
	// model used: from the first day in the series, at most 91, to
	// yesterday, days without spend included.
	DaysOfHistory int `json:"days_of_history"`
}

const (
	// maxHistory is how many complete days before today the model looks
	// at: 13 weeks.
	maxHistory = 91
	// minHistory is the least number of complete days for the seasonal
	// model; below it Month falls back to a mean.
	minHistory = 7
	// maxDayUSD bounds one entry's spend so that every sum and square in
	// the model stays finite.
	maxDayUSD = 1e12
	// Quantiles of the 80% interval.
	qLow, qHigh = 0.10, 0.90
)

// Month forecasts the spend of the calendar month that contains now, with
// month and day boundaries in loc.
//
// daily is the use case's past daily spend in any order; several entries
// for the same day add up, days missing from it spent nothing, and entries
// after today are ignored. Entries of today hold today's spend so far: they
// count in MonthToDateUSD, and the forecast adds only the part of today not
// yet elapsed, that is the full-day forecast for today times the remaining
// fraction of the day (a 23- or 25-hour day on a daylight-saving change
// counts as one day). Spend is assumed to accrue evenly through the day.
//
// With at least 7 complete days of history Month multiplies weekday
// factors by a level or damped trend chosen by backtest, and takes the
// interval from simulated paths of its past errors (model.go describes
// the model and its assumptions). With fewer it projects the mean of
// those days (or, with none, today's spend so far extrapolated to a full
// day as if at least a quarter of it had passed) with a wide interval: from
// 1/(1+u) to (1+u) times the projected rest, u being 1 plus the days'
// coefficient of variation, or 2 with at most one day. Method says which.
//
// Month returns an error if loc is nil or an entry's spend is not a finite
// amount between 0 and $1e12. The result is deterministic: the
// simulation uses a fixed seed.
func Month(daily []Day, now time.Time, loc *time.Location) (Forecast, error) {
	if loc == nil {
		return Forecast{}, errors.New("forecast month: nil location")
	}
	now = now.In(loc)
	year, month, mday := now.Date()
	startToday := startOfDay(year, month, mday, loc)
	startTomorrow := startOfDay(year, month, mday+1, loc)
	elapsed := 0.0
	if length := startTomorrow.Sub(startToday); length > 0 {
		elapsed = float64(now.Sub(startToday)) / float64(length)
		elapsed = min(max(elapsed, 0), 1)
	}

	today := civilDay(int64(year), int64(month), int64(mday))
	firstOfMonth := today - int64(mday-1)
	first := today - maxHistory // day number of hist[0]
	hist := make([]float64, maxHistory)
	earliest := today
	var monthToDate, todayUSD float64
	for _, e := range daily {
		if !(e.USD >= 0 && e.USD <= maxDayUSD) {
			return Forecast{}, fmt.Errorf("forecast month: day %s: spend %v is not between 0 and %g",
				e.Date.Format(time.DateOnly), e.USD, float64(maxDayUSD))
		}
		y, m, d := e.Date.Add(12 * time.Hour).Date()
		day := civilDay(int64(y), int64(m), int64(d))
		if day > today {
			continue
		}
		earliest = min(earliest, day)
		if day >= firstOfMonth {
			monthToDate += e.USD
		}
		switch {
		case day == today:
			todayUSD += e.USD
		case day >= first:
			hist[day-first] += e.USD
		}
	}
	n := int(today - max(earliest, first))
	history := hist[maxHistory-n:]

	lastDay := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	rest := lastDay - mday + 1
	// share[h] is the part of day h (0 = today) still to be spent.
	share := make([]float64, rest)
	for h := range share {
		share[h] = 1
	}
	share[0] = 1 - elapsed

	f := Forecast{
		MonthToDateUSD: monthToDate,
		DaysOfHistory:  n,
		Daily:          make([]DayForecast, rest),
	}
	for h := range f.Daily {
		f.Daily[h].Date = startOfDay(year, month, mday+h, loc)
	}
	if n < minHistory {
		fallback(&f, history, todayUSD, elapsed, share)
	} else {
		wd0 := weekday(today - int64(n))
		m := fit(history, wd0)
		m.project(&f, weekday(today), share)
	}
	f.ForecastTotalUSD = f.MonthToDateUSD + f.ForecastRestUSD
	f.Low = min(f.Low, f.ForecastTotalUSD)
	f.High = max(f.High, f.ForecastTotalUSD)
	return f, nil
}

// fallback fills f for fewer than minHistory complete days: a flat daily
// rate with a multiplicative band [rate/(1+u), rate*(1+u)].
func fallback(f *Forecast, history []float64, todayUSD, elapsed float64, share []float64) {
	var rate, u float64
	switch n := len(history); {
	case n > 0:
		rate = mean(history)
		u = 2
		if n >= 2 {
			u = 1
			if rate > 0 {
				u += stddev(history, rate) / rate
			}
		}
		f.Method = fmt.Sprintf("mean of %d day(s) of history (fewer than %d, so no weekday pattern or trend); wide interval", n, minHistory)
	case todayUSD > 0:
		// Today's spend so far, extrapolated to a whole day; the first
		// hours are taken as a quarter day to avoid wild extrapolation.
		rate = todayUSD / max(elapsed, 0.25)
		u = 2
		f.Method = "no complete day of history: today's spend so far extrapolated to a full day; wide interval"
	default:
		f.Method = "no spend recorded: forecast 0"
	}
	var rest float64
	for h := range f.Daily {
		usd := rate * share[h]
		f.Daily[h].USD = usd
		f.Daily[h].Low = usd / (1 + u)
		f.Daily[h].High = usd * (1 + u)
		rest += usd
	}
	f.ForecastRestUSD = rest
	f.Low = f.MonthToDateUSD + rest/(1+u)
	f.High = f.MonthToDateUSD + rest*(1+u)
}

// CrossesLimit tells whether the month total f forecasts is likely to
// exceed limitUSD, and roughly how likely. It reads the forecast as a
// split normal distribution: centred on ForecastTotalUSD, with the spread
// below it set so that Low is the 10th percentile and the spread above it
// so that High is the 90th. Spend already recorded above the limit gives
// probability 1. likely is true when ForecastTotalUSD exceeds the limit
// (the probability is then above one half) or the month to date already
// does. A limit that is negative or not finite gives (false, 0).
func CrossesLimit(f Forecast, limitUSD float64) (likely bool, probability float64) {
	if !(limitUSD >= 0) || math.IsInf(limitUSD, 1) {
		return false, 0
	}
	if f.MonthToDateUSD > limitUSD {
		return true, 1
	}
	const z90 = 1.2815515655446004 // standard normal 90th percentile
	total := f.ForecastTotalUSD
	if math.IsNaN(total) {
		return false, 0
	}
	switch {
	case limitUSD >= total:
		sigma := (f.High - total) / z90
		if !(sigma > 0) {
			return false, 0
		}
		probability = 0.5 * math.Erfc((limitUSD-total)/(sigma*math.Sqrt2))
	default:
		sigma := (total - f.Low) / z90
		if !(sigma > 0) {
			return true, 1
		}
		probability = 1 - 0.5*math.Erfc((total-limitUSD)/(sigma*math.Sqrt2))
	}
	probability = min(max(probability, 0), 1)
	if math.IsNaN(probability) {
		probability = 0
	}
	return total > limitUSD, probability
}

// startOfDay returns the first instant of the given date (normalised like
// time.Date's) in loc: midnight, or, where a daylight-saving change skips
// midnight and time.Date gives 23:00 of the day before, the change.
func startOfDay(year int, month time.Month, day int, loc *time.Location) time.Time {
	year, month, day = time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Date()
	t := time.Date(year, month, day, 0, 0, 0, 0, loc)
	if y, m, d := t.Date(); y == year && m == month && d == day {
		return t
	}
	if _, end := t.ZoneBounds(); !end.IsZero() && end.After(t) {
		return end
	}
	return t
}

// civilDay returns the number of days from 1970-01-01 to the given date of
// the proleptic Gregorian calendar (Howard Hinnant's days_from_civil). It
// is independent of time zones and daylight saving.
func civilDay(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// weekday returns the weekday of a civilDay number.
func weekday(day int64) int {
	// 1970-01-01 was a Thursday.
	return int(((day % 7) + 7 + int64(time.Thursday)) % 7)
}

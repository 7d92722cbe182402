package forecast

import (
	"fmt"
	"math"
)

// Baseline selects the past days today's spend is compared with.
type Baseline int

const (
	// BaselineAuto compares with the same weekday when the window holds
	// at least 4 of them, and with all days otherwise.
	BaselineAuto Baseline = iota
	// BaselineSameWeekday compares with the days 7, 14, 21... days back.
	BaselineSameWeekday
	// BaselineAllDays compares with every day of the window.
	BaselineAllDays
)

const (
	// minSameWeekday is the number of same-weekday days BaselineAuto
	// needs.
	minSameWeekday = 4
	// nanoUSD is the least median a ratio is taken to.
	nanoUSD = 1e-9
)

func (b Baseline) String() string {
	switch b {
	case BaselineAuto:
		return "auto"
	case BaselineSameWeekday:
		return "same weekday"
	case BaselineAllDays:
		return "all days"
	}
	return fmt.Sprintf("Baseline(%d)", int(b))
}

// SpikeOptions tune Spike. A field left at zero (or set to a value that is
// not positive) takes its default; K and MinRatio are capped at 1e6.
type SpikeOptions struct {
	// Days is how many of the most recent days of history the baseline
	// draws from. Default 56 (8 weeks, so 8 same-weekday days).
	Days int
	// Baseline chooses same-weekday or all-day comparison. Default
	// BaselineAuto.
	Baseline Baseline
	// K is how many robust standard deviations (1.4826·MAD) above the
	// median today must be. Default 3.
	K float64
	// MinRatio is the least ratio of today to the median. Default 1.5.
	MinRatio float64
	// MinIncreaseUSD is the least increase of today over the median.
	// Default 1.
	MinIncreaseUSD float64
}

// Defaults of SpikeOptions.
const (
	DefaultSpikeDays           = 56
	DefaultSpikeK              = 3
	DefaultSpikeMinRatio       = 1.5
	DefaultSpikeMinIncreaseUSD = 1
)

// SpikeResult describes today's spend against its baseline.
type SpikeResult struct {
	// TodayUSD is the spend compared.
	TodayUSD float64
	// Baseline is the baseline used: BaselineSameWeekday or
	// BaselineAllDays.
	Baseline Baseline
	// Days is the number of past days in the baseline.
	Days int
	// MedianUSD and MADUSD are the baseline's median and median absolute
	// deviation from it.
	MedianUSD, MADUSD float64
	// Ratio is TodayUSD/MedianUSD, or 0 when the median is under a
	// billionth of a dollar.
	Ratio float64
	// Score is (TodayUSD - MedianUSD) / scale, with scale 1.4826·MADUSD
	// floored at 5% of the median and at one cent, so that a perfectly
	// regular history gives finite scores.
	Score float64
	// ThresholdUSD is the least spend that makes a spike, given the
	// baseline and options (a spike needs Score > K, and the ratio and
	// increase minimums).
	ThresholdUSD float64
	// Message says in a sentence what was found, for an alert or a log.
	Message string
}

// Spike compares today's spend with a robust baseline of past days and
// reports whether it is a spike: today > median + K·scale (see
// SpikeResult.Score), today >= MinRatio·median and today - median >=
// MinIncreaseUSD, all three.
//
// history is the daily spend of the days before today, oldest first and
// one entry per day with no gaps, so that history[len(history)-1] is
// yesterday and history[len(history)-7] the same weekday last week. Of it,
// the last opts.Days entries are used; entries that are not amounts
// between 0 and $1e12 (like Day.USD) are left out of the baseline. With no
// usable history, or an invalid today, there is no spike.
func Spike(history []float64, today float64, opts SpikeOptions) (SpikeResult, bool) {
	opts = opts.withDefaults()
	r := SpikeResult{TodayUSD: today}
	if !valid(today) {
		r.Message = fmt.Sprintf("spend today %v is not a valid amount", today)
		return r, false
	}
	window := history[max(len(history)-opts.Days, 0):]
	var same, all []float64
	for back := 1; back <= len(window); back++ {
		v := window[len(window)-back]
		if !valid(v) {
			continue
		}
		all = append(all, v)
		if back%7 == 0 {
			same = append(same, v)
		}
	}
	r.Baseline = opts.Baseline
	if r.Baseline != BaselineSameWeekday && r.Baseline != BaselineAllDays {
		r.Baseline = BaselineAllDays
		if len(same) >= minSameWeekday {
			r.Baseline = BaselineSameWeekday
		}
	}
	base := all
	what := fmt.Sprintf("the last %d days", len(all))
	if r.Baseline == BaselineSameWeekday {
		base = same
		what = fmt.Sprintf("the same weekday over the last %d weeks", len(same))
	}
	r.Days = len(base)
	if len(base) == 0 {
		r.Message = fmt.Sprintf("spend today %s: no history to compare with", usd(today))
		return r, false
	}

	r.MedianUSD = median(base)
	for i, v := range base {
		base[i] = math.Abs(v - r.MedianUSD)
	}
	r.MADUSD = median(base)
	scale := max(1.4826*r.MADUSD, 0.05*r.MedianUSD, 0.01)
	r.Score = (today - r.MedianUSD) / scale
	if r.MedianUSD >= nanoUSD {
		r.Ratio = today / r.MedianUSD
	}
	r.ThresholdUSD = max(r.MedianUSD+opts.K*scale, opts.MinRatio*r.MedianUSD, r.MedianUSD+opts.MinIncreaseUSD)

	spike := r.Score > opts.K &&
		today >= opts.MinRatio*r.MedianUSD &&
		today-r.MedianUSD >= opts.MinIncreaseUSD
	switch {
	case spike && r.Ratio > 0:
		r.Message = fmt.Sprintf("spend today %s is %.1fx the usual %s (median of %s): +%s, %.1f robust deviations above",
			usd(today), r.Ratio, usd(r.MedianUSD), what, usd(today-r.MedianUSD), r.Score)
	case spike:
		r.Message = fmt.Sprintf("spend today %s against a usual %s (median of %s): +%s",
			usd(today), usd(r.MedianUSD), what, usd(today-r.MedianUSD))
	default:
		r.Message = fmt.Sprintf("spend today %s is no spike: the usual is %s (median of %s) and a spike takes about %s",
			usd(today), usd(r.MedianUSD), what, usd(r.ThresholdUSD))
	}
	return r, spike
}

// valid reports whether v is an amount Spike accepts.
func valid(v float64) bool { return v >= 0 && v <= maxDayUSD }

// withDefaults fills in defaults and caps K and MinRatio at 1e6 and
// MinIncreaseUSD at $1e12, so that every threshold stays finite.
func (o SpikeOptions) withDefaults() SpikeOptions {
	if o.Days <= 0 {
		o.Days = DefaultSpikeDays
	}
	o.K = positive(o.K, DefaultSpikeK, 1e6)
	o.MinRatio = positive(o.MinRatio, DefaultSpikeMinRatio, 1e6)
	o.MinIncreaseUSD = positive(o.MinIncreaseUSD, DefaultSpikeMinIncreaseUSD, maxDayUSD)
	return o
}

// positive returns v if it is positive, def if it is not (or NaN), and at
// most limit.
func positive(v, def, limit float64) float64 {
	if !(v > 0) {
		return def
	}
	return min(v, limit)
}

// usd formats an amount in dollars, with cents, or with four decimals
// under a dollar.
func usd(v float64) string {
	if v != 0 && math.Abs(v) < 1 {
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

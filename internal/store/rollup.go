package store

import (
	"context"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/rollup"
)

// RollupReader answers charts and totals from the per-minute, per-hour and
// per-day summaries that the writer keeps next to the calls (in the same
// transaction, so they always agree with the stored calls and a re-priced
// call's cost moves its summary too).
type RollupReader interface {
	// Rollup returns the summaries of the calls received in [From, To)
	// that pass q's filters, one row per bucket of q.Step (all of the
	// range when Step is 0) and per group of q.GroupBy, ordered by bucket
	// then keys. The summaries are kept per minute, hour and UTC day: a
	// range or step that is not a whole number of the level it reads is
	// widened to it (From down, To up).
	Rollup(ctx context.Context, q RollupQuery) ([]RollupRow, error)
}

// Dimensions of RollupQuery.GroupBy.
const (
	RollupUseCase        = "use_case"
	RollupUseCaseVersion = "use_case_version"
	RollupUseCaseStep    = "use_case_step"
	RollupTeam           = "team"
	RollupProvider       = "provider"
	RollupModel          = "model"
	RollupRoute          = "route"
)

// RollupQuery selects and groups summaries.
type RollupQuery struct {
	// From (inclusive) and To (exclusive) bound the calls' received_at;
	// both are required.
	From, To time.Time
	// Step is the bucket width of the result: 0 for one bucket over the
	// whole range, else a whole number of minutes (under an hour), hours
	// (under a day) or days.
	Step time.Duration
	// GroupBy splits each bucket by these dimensions (Rollup constants).
	GroupBy []string
	// Filter keeps only the summaries whose dimensions equal the set
	// fields of Filter.
	Filter rollup.Key
	// Sketches asks for the latency sketches (they cost more to read).
	Sketches bool
}

// RollupRow is one bucket and group.
type RollupRow struct {
	// Bucket is the start of the row's bucket (From, widened, when Step
	// is 0).
	Bucket time.Time
	// Key holds the dimensions of GroupBy; the others are empty.
	Key rollup.Key
	rollup.Agg
}

// Cost returns the exact cost of the row's priced calls.
func (r *RollupRow) Cost() Amount {
	var a Amount
	a.AddDollars(r.CostDollars)
	a.Add(pricing.Money(r.CostFemto))
	return a
}

// Rollup levels, the widths summaries are kept at.
const (
	RollupMinute = time.Minute
	RollupHour   = time.Hour
	RollupDay    = 24 * time.Hour
)

// MaxRollupBuckets bounds the buckets one query may ask for.
const MaxRollupBuckets = 10_000

// RollupLevel checks q and returns the level a backend should read (the
// coarsest that divides both the step and the range's ends once widened)
// and the range widened to it. Errors wrap ErrInvalidQuery.
func RollupLevel(q RollupQuery) (level time.Duration, from, to time.Time, err error) {
	if q.From.IsZero() || q.To.IsZero() || !q.To.After(q.From) {
		return 0, time.Time{}, time.Time{}, fmt.Errorf("%w: a rollup needs a range with from before to", ErrInvalidQuery)
	}
	for _, g := range q.GroupBy {
		switch g {
		case RollupUseCase, RollupUseCaseVersion, RollupUseCaseStep, RollupTeam, RollupProvider, RollupModel, RollupRoute:
		default:
			return 0, time.Time{}, time.Time{}, fmt.Errorf("%w: cannot group rollups by %q", ErrInvalidQuery, g)
		}
	}
	step := q.Step
	switch {
	case step < 0:
		return 0, time.Time{}, time.Time{}, fmt.Errorf("%w: negative step", ErrInvalidQuery)
	case step == 0:
	case step < RollupHour && step%RollupMinute == 0,
		step < RollupDay && step%RollupHour == 0,
		step%RollupDay == 0:
	default:
		return 0, time.Time{}, time.Time{}, fmt.Errorf("%w: step %s is not a whole number of minutes, hours or days", ErrInvalidQuery, step)
	}
	from, to = q.From.UTC(), q.To.UTC()
	// The coarsest level that divides the step and both ends; ends that
	// none divides are widened to the finest level the step allows.
	for _, l := range []time.Duration{RollupDay, RollupHour, RollupMinute} {
		if step != 0 && step%l != 0 {
			continue
		}
		if from.Equal(from.Truncate(l)) && to.Equal(to.Truncate(l)) {
			level = l
			break
		}
	}
	if level == 0 {
		switch {
		case step == 0 || step%RollupHour != 0:
			level = RollupMinute
		case step%RollupDay != 0:
			level = RollupHour
		default:
			level = RollupDay
		}
	}
	// A range of days read per minute would read too much: above two days
	// with a step of 0 a coarser level is taken, widening the range.
	if step == 0 && level < RollupHour && to.Sub(from) > 48*time.Hour {
		level = RollupHour
	}
	from = from.Truncate(level)
	if t := to.Truncate(level); !t.Equal(to) {
		to = t.Add(level)
	}
	if step != 0 && to.Sub(from)/step > MaxRollupBuckets {
		return 0, time.Time{}, time.Time{}, fmt.Errorf("%w: %s in steps of %s is more than %d buckets", ErrInvalidQuery, to.Sub(from), step, MaxRollupBuckets)
	}
	return level, from, to, nil
}

// Package watch checks, every few minutes, what no single call shows:
// today's spend of a use case against its usual days (spend spikes), its
// cost per KPI outcome against the previous week, its error rate, and
// month-end spend forecasts against monthly limits. Findings are raised as
// alerts. It also answers spend forecasts for the API. The app runs it; it
// imports alert, forecast, limits, store and value.
package watch

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/value"
)

// Alert kind raised when a month's forecast spend crosses a monthly limit.
const KindForecastOverLimit = "forecast_over_limit"

// Rules tune the checks; zero values take the defaults.
type Rules struct {
	// Spike tunes spend-spike detection (forecast.SpikeOptions).
	Spike forecast.SpikeOptions
	// CostPerOutcomeRise is the relative rise of a KPI's cost per outcome
	// over the last 7 days against the 7 before that raises an alert
	// (default 0.25: +25%), with at least MinOutcomes outcomes in both.
	CostPerOutcomeRise float64
	MinOutcomes        float64
	// ErrorRate over the last hour raises an alert past it (default 0.05)
	// with at least MinCalls calls (default 20).
	ErrorRate float64
	MinCalls  int64
	// ForecastProbability is how likely the month's spend must be to pass
	// a monthly limit to warn (default 0.5).
	ForecastProbability float64
}

func (r Rules) withDefaults() Rules {
	if r.CostPerOutcomeRise <= 0 {
		r.CostPerOutcomeRise = 0.25
	}
	if r.MinOutcomes <= 0 {
		r.MinOutcomes = 5
	}
	if r.ErrorRate <= 0 {
		r.ErrorRate = 0.05
	}
	if r.MinCalls <= 0 {
		r.MinCalls = 20
	}
	if r.ForecastProbability <= 0 {
		r.ForecastProbability = 0.5
	}
	return r
}

// Raiser raises alerts; *alert.Engine is one.
type Raiser interface {
	Raise(ctx context.Context, a alert.Alert) (alert.Alert, bool, error)
}

// Watcher runs the checks.
type Watcher struct {
	Cost     store.CostReader
	UseCases *value.Service
	Limits   func() []limits.Limit
	Alerts   Raiser
	Rules    Rules
	Now      func() time.Time
	Log      *slog.Logger
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Run checks every interval until ctx is done.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("watch", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check runs every check once.
func (w *Watcher) Check(ctx context.Context) error {
	r := w.Rules.withDefaults()
	now := w.now().UTC()
	if err := w.spikes(ctx, now, r); err != nil {
		return err
	}
	if err := w.outcomes(ctx, now, r); err != nil {
		return err
	}
	return w.forecasts(ctx, now, r)
}

func (w *Watcher) raise(ctx context.Context, a alert.Alert) {
	if _, _, err := w.Alerts.Raise(ctx, a); err != nil {
		w.Log.Warn("raise alert", "kind", a.Kind, "err", err)
	}
}

// dailySpend returns the spend per UTC day of the calls q selects over
// the days days before today, oldest first, and today's, by q's GroupBy
// key (one key, "", when q groups by nothing but the day).
func dailySpend(ctx context.Context, cost store.CostReader, q store.CostQuery, now time.Time, days int) (map[string][]float64, map[string]float64, error) {
	today := now.Truncate(24 * time.Hour)
	q.From, q.To, q.Limit = today.AddDate(0, 0, -days), now.Add(time.Second), store.MaxLimit
	by := q.GroupBy
	if by == "" {
		q.GroupBy = store.GroupDay
	} else {
		q.ThenBy = store.GroupDay
	}
	hist, todays := map[string][]float64{}, map[string]float64{}
	for start := q.From; start.Before(q.To); start = start.AddDate(0, 0, 1) {
		cq := q
		cq.From, cq.To = start, minTime(start.AddDate(0, 0, 1), q.To)
		rows, err := cost.CostTotals(ctx, cq)
		if err != nil {
			return nil, nil, err
		}
		if len(rows) == store.MaxLimit {
			return nil, nil, fmt.Errorf("more than %d groups on %s: spikes are not checked", store.MaxLimit-1, start.Format(time.DateOnly))
		}
		for _, r := range rows {
			key, dayKey := r.Key, r.Key2
			if by == "" {
				key, dayKey = "", r.Key
			}
			d, err := time.Parse(time.DateOnly, dayKey)
			if err != nil {
				return nil, nil, err
			}
			if hist[key] == nil {
				hist[key] = make([]float64, days)
			}
			dollars, femto := r.CostUSD.Parts()
			usd := float64(dollars) + float64(femto)/1e15
			if i := int(today.Sub(d).Hours() / 24); i == 0 {
				todays[key] += usd
			} else if i >= 1 && i <= days {
				hist[key][days-i] += usd
			}
		}
	}
	return hist, todays, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// spikes compares each use case's spend today with its usual days.
func (w *Watcher) spikes(ctx context.Context, now time.Time, r Rules) error {
	days := r.Spike.Days
	if days <= 0 {
		days = forecast.DefaultSpikeDays
	}
	hist, today, err := dailySpend(ctx, w.Cost, store.CostQuery{GroupBy: store.GroupUseCase}, now, days)
	if err != nil {
		return fmt.Errorf("spend spikes: %w", err)
	}
	names := make([]string, 0, len(today))
	for uc := range today {
		names = append(names, uc)
	}
	sort.Strings(names)
	for _, uc := range names {
		h := hist[uc]
		if h == nil {
			h = make([]float64, days)
		}
		res, spike := forecast.Spike(h, today[uc], r.Spike)
		if !spike {
			continue
		}
		w.raise(ctx, alert.Alert{Kind: alert.KindSpendSpike, Severity: alert.SeverityWarning, Scope: map[string]string{"use_case": uc},
			Title: fmt.Sprintf("spend spike in %s", nameOr(uc)), Message: res.Message, Value: res.TodayUSD, Threshold: res.ThresholdUSD,
			DedupKey: "spike:" + uc + ":" + now.Format(time.DateOnly)})
	}
	return nil
}

func nameOr(uc string) string {
	if uc == "" {
		return "calls without a use case"
	}
	return "use case " + uc
}

// outcomes checks each defined use case's cost per outcome and error rate.
func (w *Watcher) outcomes(ctx context.Context, now time.Time, r Rules) error {
	if w.UseCases == nil {
		return nil
	}
	ucs, err := w.UseCases.List(ctx)
	if err != nil {
		return fmt.Errorf("cost per outcome: %w", err)
	}
	for _, uc := range ucs {
		// A week's lag: outcomes arrive days after the calls, so the last
		// 7 days would look worse than the complete week before them.
		rep, err := w.UseCases.Report(ctx, uc.Name, value.ReportQuery{From: now.AddDate(0, 0, -14), To: now.AddDate(0, 0, -7)})
		if err != nil {
			return fmt.Errorf("cost per outcome of %s: %w", uc.Name, err)
		}
		if rep.Trend != nil && rep.Previous != nil {
			for i, k := range rep.KPIs {
				rise, ok := rep.Trend.CostPerOutcome[k.Name]
				if !ok || rise <= r.CostPerOutcomeRise || i >= len(rep.Previous.KPIs) {
					continue
				}
				if outcomes(k.Sum) < r.MinOutcomes || outcomes(rep.Previous.KPIs[i].Sum) < r.MinOutcomes {
					continue
				}
				w.raise(ctx, alert.Alert{Kind: alert.KindCostPerOutcomeRise, Severity: alert.SeverityWarning,
					Scope: map[string]string{"use_case": uc.Name, "kpi": k.Name},
					Title: fmt.Sprintf("cost per %s of %s up %.0f%%", k.Name, uc.Name, rise*100),
					Message: fmt.Sprintf("cost per %s in the week ending 7 days ago is $%s, against $%s the week before", k.Name,
						k.CostPerOutcome.String(), rep.Previous.KPIs[i].CostPerOutcome.String()),
					Value: rise, Threshold: r.CostPerOutcomeRise, DedupKey: "cpo:" + uc.Name + ":" + k.Name + ":" + now.Format(time.DateOnly)})
			}
		}
		hour, err := w.UseCases.Report(ctx, uc.Name, value.ReportQuery{From: now.Add(-time.Hour), To: now})
		if err != nil {
			return fmt.Errorf("error rate of %s: %w", uc.Name, err)
		}
		if hour.Calls >= r.MinCalls && hour.ErrorRate > r.ErrorRate {
			w.raise(ctx, alert.Alert{Kind: alert.KindErrorRate, Severity: alert.SeverityCritical, Scope: map[string]string{"use_case": uc.Name},
				Title:   fmt.Sprintf("%s: %.1f%% of calls failed in the last hour", uc.Name, hour.ErrorRate*100),
				Message: fmt.Sprintf("%d calls, error rate %.3f above %.3f", hour.Calls, hour.ErrorRate, r.ErrorRate),
				Value:   hour.ErrorRate, Threshold: r.ErrorRate, DedupKey: "errors:" + uc.Name})
		}
	}
	return nil
}

func outcomes(sum string) float64 {
	var f float64
	fmt.Sscan(sum, &f)
	return f
}

// forecasts warns when the month's forecast spend of a monthly USD limit
// (without per) is likely to pass it.
func (w *Watcher) forecasts(ctx context.Context, now time.Time, r Rules) error {
	if w.Limits == nil {
		return nil
	}
	for _, l := range w.Limits() {
		if l.Window != limits.WindowMonth || l.USD == nil || l.Per != limits.PerNone {
			continue
		}
		f, err := w.Forecast(ctx, store.CostQuery{UseCase: l.Match.UseCase, Team: l.Match.Team, User: l.Match.User,
			Account: l.Match.Account, Provider: l.Match.Provider, Model: l.Match.Model}, l.TimeZone)
		if err != nil {
			return fmt.Errorf("forecast of limit %s: %w", l.Name, err)
		}
		capUSD := float64(*l.USD) / 1e9
		likely, p := forecast.CrossesLimit(f, capUSD)
		if !likely || p < r.ForecastProbability {
			continue
		}
		w.raise(ctx, alert.Alert{Rule: l.Name, Kind: KindForecastOverLimit, Severity: alert.SeverityWarning, Scope: map[string]string{"limit": l.Name},
			Title:   fmt.Sprintf("limit %s: this month's spend is forecast to pass it", l.Name),
			Message: fmt.Sprintf("forecast $%.2f (80%% interval $%.2f-$%.2f) against $%.2f; %.0f%% likely", f.ForecastTotalUSD, f.Low, f.High, capUSD, p*100),
			Value:   f.ForecastTotalUSD, Threshold: capUSD, DedupKey: "forecast:" + l.Name + ":" + now.Format("2006-01")})
	}
	return nil
}

// Forecast forecasts the rest of the current month's spend of the calls q
// selects (its filters), from up to 91 days of daily spend in the time
// zone tz (IANA name, default UTC).
func (w *Watcher) Forecast(ctx context.Context, q store.CostQuery, tz string) (forecast.Forecast, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return forecast.Forecast{}, fmt.Errorf("%w: time_zone %q: %v", store.ErrInvalidQuery, tz, err)
	}
	now := w.now()
	local := now.In(loc)
	start := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -91)
	var days []forecast.Day
	for d := start; d.Before(now); d = d.AddDate(0, 0, 1) { // local days
		cq := q
		cq.From, cq.To, cq.GroupBy, cq.ThenBy, cq.Limit = d, minTime(d.AddDate(0, 0, 1), now.Add(time.Second)), "", "", 1
		rows, err := w.Cost.CostTotals(ctx, cq)
		if err != nil {
			return forecast.Forecast{}, err
		}
		if len(rows) > 0 {
			dollars, femto := rows[0].CostUSD.Parts()
			days = append(days, forecast.Day{Date: d, USD: float64(dollars) + float64(femto)/1e15})
		}
	}
	return forecast.Month(days, now, loc)
}

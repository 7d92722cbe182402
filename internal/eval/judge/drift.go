package judge

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Drift settings: agreement over the last DriftWindow is compared with
// agreement over all time; a drop is alerted when the recent period has at
// least DriftMinItems double-scored items and either agreement fell by
// more than DriftDrop or a judge trusted over all time is no longer above
// its threshold recently.
const (
	DriftWindow   = 30 * 24 * time.Hour
	DriftMinItems = 20
	DriftDrop     = 0.1
)

// Period is a judge version's agreement with people over one period:
// kappa (or Pearson's r for numeric criteria) with its lower bound.
type Period struct {
	Agreement    *float64 `json:"agreement"`
	Lower        *float64 `json:"lower"`
	DoubleScored int      `json:"double_scored"`
	Trusted      bool     `json:"trusted"`
}

// Drift is one judge's latest version's agreement recently against all
// time. It is what the alert engine is fed: Alert says to raise one, with
// Reason as its message; Key is stable per judge version, for
// de-duplication.
type Drift struct {
	Key              string    `json:"key"`
	Judge            string    `json:"judge"`
	Version          int       `json:"version"`
	Criterion        string    `json:"criterion"`
	CriterionVersion int       `json:"criterion_version"`
	Method           string    `json:"method"`
	Since            time.Time `json:"since"`
	Recent           Period    `json:"recent"`
	AllTime          Period    `json:"all_time"`
	// Drop is all-time agreement minus recent agreement (null when either
	// is undefined).
	Drop   *float64 `json:"drop"`
	Alert  bool     `json:"alert"`
	Reason string   `json:"reason,omitempty"`
}

func periodOf(c Calibration) Period {
	p := Period{DoubleScored: c.DoubleScored, Trusted: c.Trust.Trusted, Lower: c.Trust.Bound}
	switch {
	case c.Agreement != nil:
		p.Agreement = c.Agreement.Kappa.Estimate
	case c.Correlation != nil:
		p.Agreement = c.Correlation.Pearson.Estimate
	}
	return p
}

// CheckDrift calibrates every judge's latest version over the last 30
// days (the judge's scores of that period against people's scores of the
// same targets) and over all time, and says which agreement dropped. It
// does not raise alerts itself: the caller feeds the result to the alert
// engine.
func (s *Service) CheckDrift(ctx context.Context) ([]Drift, error) {
	js, err := s.st.ListJudges(ctx, "")
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	since := now.Add(-DriftWindow)
	out := make([]Drift, 0, len(js))
	for _, j := range js {
		_, v, err := s.version(ctx, j.Name, 0)
		if err != nil {
			return nil, err
		}
		all, err := s.calibrate(ctx, j, v, time.Time{}, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("drift of %s: %w", v.Evaluator, err)
		}
		recent, err := s.calibrate(ctx, j, v, since, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("drift of %s: %w", v.Evaluator, err)
		}
		d := Drift{Key: "judge-drift:" + v.Evaluator, Judge: j.Name, Version: v.Version, Criterion: j.Criterion,
			CriterionVersion: v.Definition.CriterionVersion, Method: all.Method, Since: since, Recent: periodOf(recent), AllTime: periodOf(all)}
		d.Alert, d.Reason, d.Drop = driftVerdict(d.Recent, d.AllTime, recent.Trust.Threshold)
		out = append(out, d)
	}
	return out, nil
}

// driftVerdict decides whether a drop is alerted.
func driftVerdict(recent, all Period, threshold float64) (bool, string, *float64) {
	var drop *float64
	if recent.Agreement != nil && all.Agreement != nil {
		drop = num(*all.Agreement - *recent.Agreement)
	}
	if recent.DoubleScored < DriftMinItems {
		return false, fmt.Sprintf("%d double-scored items in the last 30 days, fewer than %d: not judged", recent.DoubleScored, DriftMinItems), drop
	}
	if drop != nil && *drop > DriftDrop {
		return true, fmt.Sprintf("agreement with people fell from %.3f (all time) to %.3f (last 30 days)", *all.Agreement, *recent.Agreement), drop
	}
	if all.Trusted && (recent.Lower == nil || math.IsNaN(*recent.Lower) || *recent.Lower <= threshold) {
		return true, fmt.Sprintf("trusted over all time, but the last 30 days' lower bound is not above %.2f", threshold), drop
	}
	return false, "", drop
}

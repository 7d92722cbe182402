package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/eval/judge"
	"github.com/weirhq/weir/internal/eval/review"
)

// extraRoutes are a package's management routes, served by h and guarded
// by the API like its own: the permission and team scope each names.
func extraRoutes(h http.Handler, rs []auth.Route) []api.ExtraRoute {
	out := make([]api.ExtraRoute, 0, len(rs))
	for _, rt := range rs {
		out = append(out, api.ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: rt.Permission, TeamScoped: rt.TeamScoped, Handler: h})
	}
	return out
}

// reviewSink queues calls (a judge's audit share, its disputes) and
// experiment outputs (an experiment's review rule) in a review queue, so
// that people keep measuring the judges and score what experiments made.
type reviewSink struct {
	r  *review.Service
	by string
}

var (
	_ judge.AuditSink       = reviewSink{}
	_ experiment.ReviewSink = reviewSink{}
)

func (s reviewSink) Enqueue(ctx context.Context, queue, targetKind, target string) error {
	var in review.ItemInput
	switch eval.TargetKind(targetKind) {
	case eval.TargetCall:
		in.Call = target
	case eval.TargetExperimentItem:
		in.ExperimentItem = target
	default:
		return fmt.Errorf("review: %s targets are not queued", targetKind)
	}
	_, err := s.r.AddItems(ctx, queue, []review.ItemInput{in}, s.by)
	return err
}

// reportRefresh is how often the dashboard recomputes the use case
// reports it keeps warm (each follows every run of its range).
const reportRefresh = 10 * time.Minute

// judgeDriftInterval is how often the judges' agreement with people is
// compared, recent against all time.
const judgeDriftInterval = time.Hour

// watchJudges raises an alert for every judge whose latest version agrees
// less with people lately (judge.Service.CheckDrift), every interval until
// ctx is done. The alert engine sends the same alert once per its window.
func watchJudges(ctx context.Context, j *judge.Service, alerts *alert.Engine, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		drifts, err := j.CheckDrift(ctx)
		if err != nil {
			log.Warn("judges: check agreement", "err", err)
			continue
		}
		for _, d := range drifts {
			if !d.Alert {
				continue
			}
			if _, _, err := alerts.Raise(ctx, judgeDriftAlert(d)); err != nil {
				log.Warn("judges: raise alert", "judge", d.Judge, "err", err)
			}
		}
	}
}

// judgeDriftAlert is the alert of a judge whose agreement dropped: the
// recent agreement against the all-time one, de-duplicated per judge
// version.
func judgeDriftAlert(d judge.Drift) alert.Alert {
	val := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	}
	return alert.Alert{
		Kind:      alert.KindJudgeAgreement,
		Severity:  alert.SeverityWarning,
		Scope:     map[string]string{"judge": d.Judge, "criterion": d.Criterion},
		Title:     fmt.Sprintf("Judge %s@%d agrees less with people on %s@%d", d.Judge, d.Version, d.Criterion, d.CriterionVersion),
		Message:   d.Reason,
		Value:     val(d.Recent.Agreement),
		Threshold: val(d.AllTime.Agreement),
		DedupKey:  d.Key,
		Fields: map[string]any{"method": d.Method, "since": d.Since, "recent_double_scored": d.Recent.DoubleScored,
			"all_time_double_scored": d.AllTime.DoubleScored, "recent_trusted": d.Recent.Trusted, "all_time_trusted": d.AllTime.Trusted},
	}
}

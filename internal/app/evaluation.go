package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/weirhq/weir/internal/alert"
	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/eval/judge"
	"github.com/weirhq/weir/internal/eval/review"
)

// datasetRoutes are the evaluation datasets' routes: reads need read,
// changes evals.write.
func datasetRoutes(s *dataset.Service) []api.ExtraRoute {
	h := s.Handler()
	out := make([]api.ExtraRoute, 0, len(dataset.Routes))
	for _, rt := range dataset.Routes {
		out = append(out, api.ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: rt.Permission, TeamScoped: rt.TeamScoped, Handler: h})
	}
	return out
}

// judgeRoutes are the LLM judges' routes and the criteria's pass rates:
// reads need read; creating judges, new versions and runs evals.write.
// None is team-scoped: judges and criteria belong to use cases, which
// span teams.
func judgeRoutes(s *judge.Service) []api.ExtraRoute {
	h := s.Handler()
	out := make([]api.ExtraRoute, 0, len(judge.Routes))
	for _, rt := range judge.Routes {
		out = append(out, api.ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: rt.Permission, Handler: h})
	}
	return out
}

// reviewRoutes are the human review queues' routes: creating queues and
// adding items need evals.write, reads read, and working the queue
// (next, renew, review, skip) review. None is team-scoped.
func reviewRoutes(s *review.Service) []api.ExtraRoute {
	h := s.Handler()
	out := make([]api.ExtraRoute, 0, len(review.Routes))
	for _, rt := range review.Routes {
		out = append(out, api.ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: rt.Permission, Handler: h})
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

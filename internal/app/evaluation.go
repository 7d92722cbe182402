package app

import (
	"context"
	"fmt"

	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/dataset"
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

// reviewSink queues a judge's audit share of calls in a review queue, so
// that people keep measuring the judge.
type reviewSink struct{ r *review.Service }

var _ judge.AuditSink = reviewSink{}

func (s reviewSink) Enqueue(ctx context.Context, queue, targetKind, target string) error {
	if targetKind != string(eval.TargetCall) {
		return fmt.Errorf("review: audits of %s targets are not queued", targetKind)
	}
	_, err := s.r.AddItems(ctx, queue, []review.ItemInput{{Call: target}}, "judge-audit")
	return err
}

package app

import (
	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/judge"
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

package app

import (
	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/eval/experiment"
)

// experimentRoutes are the experiments' management routes: reads need
// read; creating (starting) and cancelling need evals.write. None is
// team-scoped: an experiment's dataset and calls span teams.
func experimentRoutes(s *experiment.Service) []api.ExtraRoute {
	h := s.Handler()
	out := make([]api.ExtraRoute, 0, len(experiment.Routes))
	for _, rt := range experiment.Routes {
		out = append(out, api.ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: rt.Permission, TeamScoped: rt.TeamScoped, Handler: h})
	}
	return out
}

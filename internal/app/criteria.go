package app

import (
	"github.com/weirhq/weir/internal/api"
	"github.com/weirhq/weir/internal/eval/criteria"
)

// criteriaRoutes are the evaluation criteria's and scores' management
// routes: reads need read; changes, approvals and posted scores
// evals.write. None is team-scoped: criteria belong to use cases, which
// span teams.
func criteriaRoutes(s *criteria.Service) []api.ExtraRoute {
	h := s.Handler()
	out := make([]api.ExtraRoute, 0, len(criteria.Routes))
	for _, rt := range criteria.Routes {
		out = append(out, api.ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: rt.Permission, Handler: h})
	}
	return out
}

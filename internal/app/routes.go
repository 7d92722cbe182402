package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/gateway"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/resilience"
)

// Route defaults (docs/routing.md).
const (
	defaultAttempts    = 2
	defaultMaxAttempts = 5
	defaultBackoff     = 200 * time.Millisecond
	defaultMaxBackoff  = 5 * time.Second
)

// BuildRoutes turns the configured routes into the gateway's, each target
// with its own breaker and buckets in this process.
func BuildRoutes(cfg config.Config, ups []*gateway.Upstream) ([]*gateway.Route, error) {
	byName := map[string]*gateway.Upstream{}
	for _, u := range ups {
		byName[u.Name] = u
	}
	names := make([]string, 0, len(cfg.Routes))
	for n := range cfg.Routes {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*gateway.Route
	for _, name := range names {
		r := cfg.Routes[name]
		rt := &gateway.Route{
			Name: name, Attempts: r.Retry.Attempts, MaxAttempts: r.Retry.MaxAttempts,
			Backoff: r.Retry.Backoff.D(), MaxBackoff: r.Retry.MaxBackoff.D(), Queue: r.Queue.D(),
			FallbackOn: map[string]bool{}, Budget: resilience.NewRetryBudget(0.2, 10),
		}
		if rt.Attempts == 0 {
			rt.Attempts = defaultAttempts
		}
		if rt.MaxAttempts == 0 {
			rt.MaxAttempts = defaultMaxAttempts
		}
		if rt.Backoff == 0 {
			rt.Backoff = defaultBackoff
		}
		if rt.MaxBackoff == 0 {
			rt.MaxBackoff = defaultMaxBackoff
		}
		for _, f := range r.FallbackOn {
			rt.FallbackOn[f] = true
		}
		rt.Forbid, rt.Prompt = r.Params.Forbid, r.Prompt
		if h := r.Hedge; h != nil {
			rt.Hedge = &gateway.Hedge{After: h.After.D(), Percentile: h.Percentile, Min: h.Min.D()}
		}
		keys := make([]string, 0, len(r.Params.Force))
		for k := range r.Params.Force {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, err := json.Marshal(r.Params.Force[k])
			if err != nil {
				return nil, fmt.Errorf("routes.%s.params.force.%s: %w", name, k, err)
			}
			rt.Force = append(rt.Force, gateway.ForcedParam{Name: k, Value: v})
		}
		bc := resilience.BreakerConfig{Window: r.Breaker.Window.D(), MinRequests: r.Breaker.MinRequests,
			FailureRatio: r.Breaker.FailureRatio, SlowCall: r.Breaker.SlowCall.D(), OpenFor: r.Breaker.OpenFor.D()}
		for _, t := range r.Targets {
			u := byName[t.Provider]
			if u == nil {
				continue // config validation refuses this
			}
			rtt := &gateway.RouteTarget{Upstream: u, Model: t.Model, Priority: max(t.Priority, 1), Weight: 1,
				TTFT: first(t.Timeouts.TTFT.D(), r.Timeouts.TTFT.D()), Idle: first(t.Timeouts.Idle.D(), r.Timeouts.Idle.D()),
				Total: first(t.Timeouts.Total.D(), r.Timeouts.Total.D()), State: resilience.NewTarget(bc, t.RPM, t.TPM)}
			if t.Weight != nil {
				rtt.Weight = *t.Weight
			}
			rt.Targets = append(rt.Targets, rtt)
		}
		sort.SliceStable(rt.Targets, func(i, j int) bool { return rt.Targets[i].Priority < rt.Targets[j].Priority })
		out = append(out, rt)
	}
	return out, nil
}

func first(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

// routesHandler answers GET /api/v1/routes: every route's targets with
// their breakers (state and history) and rate-limit headroom.
func routesHandler(r *gateway.Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		states := r.RouteStates(time.Now())
		if name := req.URL.Query().Get("name"); name != "" {
			for _, s := range states {
				if s.Name == name {
					httpjson.Write(w, http.StatusOK, s)
					return
				}
			}
			httpjson.Error(w, http.StatusNotFound, "not_found", "no route "+strconv.Quote(name))
			return
		}
		httpjson.Write(w, http.StatusOK, struct {
			Routes []gateway.RouteState `json:"routes"`
		}{states})
	})
}

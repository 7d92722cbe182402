package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/buger/jsonparser"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/behaviour"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/resilience"
)

// TargetState is one route target's health and rate state: in memory in
// this process now (internal/resilience), shared across replicas later.
type TargetState interface {
	// Acquire admits a call estimated at tokens, or says why not and
	// until when; an admitted call must be ended with Done.
	Acquire(now time.Time, tokens int64) (bool, resilience.Refusal)
	Done(now time.Time, r resilience.Result)
	Snapshot(now time.Time) resilience.TargetSnapshot
}

// RetryBudget bounds retries to a share of calls.
type RetryBudget interface {
	Call(now time.Time)
	Retry(now time.Time) bool
}

// RouteTarget is one target of a route.
type RouteTarget struct {
	Upstream *Upstream
	Model    string
	Priority int
	Weight   int
	// TTFT, Idle and Total bound each attempt (0: not set here).
	TTFT, Idle, Total time.Duration
	State             TargetState
	// lat keeps recent latencies for hedging.
	lat latencyRing
}

// Route is a name callers use as their model, served by targets.
type Route struct {
	Name string
	// Targets are sorted by priority, best first.
	Targets []*RouteTarget
	// Attempts per target, and at most MaxAttempts per call.
	Attempts, MaxAttempts int
	Backoff, MaxBackoff   time.Duration
	// FallbackOn are error codes, kinds or statuses that move a call on
	// beyond the defaults.
	FallbackOn map[string]bool
	// Queue is how long a call may wait for a target to take it.
	Queue  time.Duration
	Budget RetryBudget
	// Force are top-level body fields set on every call (JSON values);
	// Forbid are fields a call may not set.
	Force  []ForcedParam
	Forbid []string
	// Prompt is rendered for calls that name no prompt themselves
	// (variables in x-weir-prompt-variables).
	Prompt string
	// Hedge, when set, hedges non-streamed calls.
	Hedge *Hedge
}

// ForcedParam is a body field a route sets.
type ForcedParam struct {
	Name  string
	Value []byte // JSON
}

// maxTargets bounds the targets of one route (their order is kept on the
// stack).
const maxTargets = 16

// order returns the targets to try, best priority first; within one
// priority a weighted random order (weight 0 last).
func (rt *Route) order(buf []*RouteTarget) []*RouteTarget {
	out := append(buf[:0], rt.Targets...)
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && out[j].Priority == out[i].Priority {
			j++
		}
		group := out[i:j]
		for k := 0; k < len(group)-1; k++ {
			total := 0
			for _, t := range group[k:] {
				total += t.Weight
			}
			if total == 0 {
				break
			}
			pick := rand.IntN(total)
			for m := k; m < len(group); m++ {
				if pick < group[m].Weight {
					group[k], group[m] = group[m], group[k]
					break
				}
				pick -= group[m].Weight
			}
		}
		i = j
	}
	return out
}

// errTTFT and errIdle cancel an attempt whose first token, or next chunk,
// is late.
var (
	errTTFT  = errors.New("no first token in time")
	errIdle  = errors.New("stream idle too long")
	errTotal = errors.New("attempt took too long")
)

// fallbackable reports whether a failed attempt may move on (to the same
// target again or the next one), and whether the same target may be
// retried.
func (rt *Route) fallbackable(e *apierror.Error) (move, retry bool) {
	switch e.Kind {
	case apierror.RateLimited, apierror.UpstreamUnavailable, apierror.UpstreamTimeout,
		apierror.UpstreamBadResponse, apierror.UpstreamOverloaded, apierror.UpstreamError:
		return true, true
	case apierror.Authentication, apierror.PermissionDenied, apierror.NotFound:
		// The provider refused Weir's key or does not know the target's
		// model: the caller did nothing wrong, another target may do.
		return true, false
	case apierror.ClientClosed, apierror.BudgetExceeded, apierror.Internal:
		return false, false
	}
	if rt.FallbackOn[e.Code] || rt.FallbackOn[e.Kind.String()] || e.Status != 0 && rt.FallbackOn[strconv.Itoa(e.Status)] {
		return true, false
	}
	return false, false
}

// targetFailure says whether an error counts against the target's breaker.
func targetFailure(e *apierror.Error) bool {
	switch e.Kind {
	case apierror.UpstreamUnavailable, apierror.UpstreamTimeout, apierror.UpstreamBadResponse,
		apierror.UpstreamOverloaded, apierror.UpstreamError:
		return true
	}
	return false
}

// runRoute serves a call through a route: targets in order, retries with
// backoff, fallbacks, waits for rate limits, every attempt recorded.
func (c *call) runRoute(rt *Route, env envelope, req *provider.Request, forceUsage bool, estTokens int64) error {
	var buf [maxTargets]*RouteTarget
	targets := rt.order(buf[:])
	now := time.Now()
	if rt.Budget != nil {
		rt.Budget.Call(now)
	}
	queueUntil := now.Add(rt.Queue)
	attempts := 0
	var last *apierror.Error
	if rt.Hedge != nil && !req.Stream && len(targets) > 1 {
		done, next, tried, hl, err := c.hedged(rt, targets, req, env, forceUsage, estTokens)
		if done {
			return err
		}
		attempts, last, targets = tried, hl, targets[next:]
	}
	for {
		var earliest time.Time
		var refused []string
		for _, t := range targets {
			for try := 0; try < rt.Attempts && attempts < rt.MaxAttempts; try++ {
				body, err := c.targetBody(t, env, forceUsage)
				if err != nil {
					return err // the caller's (a prompt that does not render): no target would do better
				}
				now := time.Now()
				ok, why := t.State.Acquire(now, estTokens)
				if !ok {
					refused = append(refused, t.Upstream.Name+"/"+t.Model+": "+why.Reason)
					if earliest.IsZero() || why.Until.Before(earliest) {
						earliest = why.Until
					}
					break
				}
				attempts++
				committed, err := c.attempt(t, req, body, estTokens)
				if err == nil || committed {
					return err
				}
				e := apierror.From(err)
				last = e
				move, retry := rt.fallbackable(e)
				at := &c.rec.Attempts[len(c.rec.Attempts)-1]
				if !move || c.r.Context().Err() != nil || attempts >= rt.MaxAttempts {
					return e
				}
				wait := resilience.Backoff(try+1, rt.Backoff, rt.MaxBackoff, nil)
				if e.RetryAfter > 0 {
					wait = e.RetryAfter
				}
				if retry && try+1 < rt.Attempts && wait <= rt.MaxBackoff && (rt.Budget == nil || rt.Budget.Retry(time.Now())) {
					at.Next, at.BackoffMs = "retry", ms(wait)
					if !sleep(c.r.Context(), wait) {
						return apierror.Wrap(apierror.ClientClosed, c.r.Context().Err(), "the caller went away while waiting to retry")
					}
					continue
				}
				at.Next = "fallback"
				break
			}
			if attempts >= rt.MaxAttempts {
				break
			}
		}
		if len(c.rec.Attempts) > 0 {
			c.rec.Attempts[len(c.rec.Attempts)-1].Next = ""
		}
		if last != nil {
			return last
		}
		// No target would take the call: wait for the first to free up,
		// within the route's queue time, else say when to come back.
		if wait := time.Until(earliest); !earliest.IsZero() && rt.Queue > 0 && earliest.Before(queueUntil) {
			if !sleep(c.r.Context(), wait) {
				return apierror.Wrap(apierror.ClientClosed, c.r.Context().Err(), "the caller went away while queued for a target")
			}
			continue
		}
		e := apierror.New(apierror.RateLimited, "route %s: no target can take the call now (%s)", rt.Name, strings.Join(refused, "; "))
		e.Code = "route_exhausted"
		if !earliest.IsZero() {
			e.RetryAfter = max(time.Until(earliest), time.Second)
		}
		return e
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// targetBody is the body for target t: the caller's, with its prompt
// rendered for t, t's model, usage asked for, and the route's forced
// parameters.
func (c *call) targetBody(t *RouteTarget, env envelope, forceUsage bool) ([]byte, error) {
	var err error
	if c.original != nil {
		if c.body, err = c.renderPrompt(c.original, t.Upstream.Name, t.Model); err != nil {
			return nil, err
		}
	}
	body, err := rewriteBody(c.body, env.Model != t.Model, t.Model, forceUsage)
	if err != nil {
		return nil, err
	}
	for _, f := range c.route.Force {
		if len(body) > 0 && len(c.body) > 0 && &body[0] == &c.body[0] {
			body = append([]byte(nil), body...) // never change the caller's body in place
		}
		if body, err = jsonparser.Set(body, f.Value, f.Name); err != nil {
			return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request body must be a JSON object")
		}
		switch f.Name {
		case "response_format", "output_config", "output_format":
			c.setJSONMode(behaviour.RequestMode(body, c.endpoint == record.EndpointMessages))
		}
	}
	return body, nil
}

// attempt tries one target. committed reports whether the caller has
// received bytes (then nothing can move the call elsewhere).
func (c *call) attempt(t *RouteTarget, req *provider.Request, body []byte, estTokens int64) (committed bool, err error) {
	target := Target{Upstream: t.Upstream, Model: t.Model}
	c.target = &target
	c.rec.Provider, c.rec.Model = t.Upstream.Name, t.Model
	r := *req
	r.Model, r.Body = t.Model, body
	ctx, cancel := context.WithCancelCause(c.r.Context())
	defer cancel(nil)
	var timers attemptTimers
	defer timers.stop()
	if t.Total > 0 {
		timers.total = time.AfterFunc(t.Total, func() { cancel(errTotal) })
	}
	if t.TTFT > 0 && r.Stream {
		timers.ttft = time.AfterFunc(t.TTFT, func() { cancel(errTTFT) })
	}
	start := time.Now()
	attempt := record.Attempt{Provider: t.Upstream.Name, Model: t.Model, StartMs: ms(c.meter.Since())}
	done := func(err error, hdr http.Header) error {
		var used int64
		if err == nil && c.hasUsage {
			used = c.usage.InputTokens + c.usage.OutputTokens
		}
		return c.settle(ctx, t, attempt, start, err, hdr, estTokens, used)
	}
	resp, err := c.dispatchCtx(ctx, t.Upstream, &r)
	if err != nil {
		return false, done(err, nil)
	}
	attempt.Status, attempt.ProviderRequestID = resp.Status, resp.RequestID
	c.rec.ProviderRequestID = resp.RequestID
	if resp.Stream == nil {
		c.upstreamOK = true
		err := c.relayBody(resp)
		if err == nil {
			t.lat.add(time.Since(start))
		}
		return true, done(err, resp.Header)
	}
	// Hold the stream's first events until its first token: until then
	// nothing has reached the caller and the call may still move on.
	pre, err := c.prime(resp)
	if err != nil {
		resp.Stream.Close()
		return false, done(err, resp.Header)
	}
	timers.stopTTFT()
	c.upstreamOK = true
	var idle func()
	if t.Idle > 0 {
		timers.idle = time.AfterFunc(t.Idle, func() { cancel(errIdle) })
		idle = func() { timers.idle.Reset(t.Idle) }
	}
	err = c.relayStream(resp, pre, idle)
	if err == nil && c.rec.ErrorKind != "" {
		// The provider's error event went to the caller as it was.
		attempt.ErrorKind = c.rec.ErrorKind
	}
	return true, done(err, resp.Header)
}

// settle records an ended attempt and reports it to its target's state.
func (c *call) settle(ctx context.Context, t *RouteTarget, attempt record.Attempt, start time.Time, err error, hdr http.Header, estTokens, used int64) error {
	var res resilience.Result
	res.Latency, res.Header, res.Estimated, res.Used = time.Since(start), hdr, estTokens, used
	attempt.DurationMs = ms(c.meter.Since()) - attempt.StartMs
	if err != nil {
		e := c.attemptError(ctx, err, t)
		attempt.ErrorKind, attempt.Error = e.Kind.String(), e.Message
		if attempt.Status == 0 {
			attempt.Status = upstreamStatus(e)
		}
		res.Failed = targetFailure(e)
		res.RateLimited = e.Kind == apierror.RateLimited
		res.RetryAfter = e.RetryAfter
		if res.Header == nil {
			res.Header = e.Header
		}
		err = e
	}
	c.rec.Attempts = append(c.rec.Attempts, attempt)
	t.State.Done(time.Now(), res)
	return err
}

type attemptTimers struct{ total, ttft, idle *time.Timer }

func (a *attemptTimers) stopTTFT() {
	if a.ttft != nil {
		a.ttft.Stop()
	}
}

func (a *attemptTimers) stop() {
	for _, t := range []*time.Timer{a.total, a.ttft, a.idle} {
		if t != nil {
			t.Stop()
		}
	}
}

// attemptError names why an attempt ended: a late first token or chunk,
// a too-long attempt, the caller leaving, or the provider's error.
func (c *call) attemptError(ctx context.Context, err error, t *RouteTarget) *apierror.Error {
	if c.r.Context().Err() != nil {
		return apierror.Wrap(apierror.ClientClosed, err, "the caller went away")
	}
	switch context.Cause(ctx) {
	case errTTFT:
		return apierror.Wrap(apierror.UpstreamTimeout, err, "%s/%s sent no token within %s", t.Upstream.Name, t.Model, t.TTFT)
	case errIdle:
		return apierror.Wrap(apierror.UpstreamTimeout, err, "%s/%s sent nothing for %s mid-stream", t.Upstream.Name, t.Model, t.Idle)
	case errTotal:
		return apierror.Wrap(apierror.UpstreamTimeout, err, "%s/%s did not finish within %s", t.Upstream.Name, t.Model, t.Total)
	}
	return apierror.From(err)
}

// maxPrimed bounds the events held before the first token.
const maxPrimed = 64

// prime reads a stream up to its first token (or its end), copying the
// events it holds. An error, or the provider's error event, before then
// fails the attempt with nothing sent.
func (c *call) prime(resp *provider.Response) ([]provider.Event, error) {
	var pre []provider.Event
	for {
		ev, err := resp.Stream.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return pre, nil
			}
			return nil, err
		}
		if ev.Err != nil {
			return nil, ev.Err
		}
		ev.Data = append([]byte(nil), ev.Data...)
		if ev.Usage != nil {
			u := *ev.Usage
			ev.Usage = &u
		}
		pre = append(pre, ev)
		if ev.Token || len(pre) >= maxPrimed {
			return pre, nil
		}
	}
}

// RouteState is a route's targets and their state, for the API.
type RouteState struct {
	Name    string             `json:"name"`
	Targets []RouteTargetState `json:"targets"`
}

// RouteTargetState is one target's state.
type RouteTargetState struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Priority int    `json:"priority"`
	Weight   int    `json:"weight"`
	resilience.TargetSnapshot
}

// RouteStates returns every route's state, by name.
func (r *Router) RouteStates(now time.Time) []RouteState {
	out := []RouteState{}
	for _, name := range r.routeOrder {
		rt := r.routes[name]
		s := RouteState{Name: name, Targets: []RouteTargetState{}}
		for _, t := range rt.Targets {
			s.Targets = append(s.Targets, RouteTargetState{Provider: t.Upstream.Name, Model: t.Model, Priority: t.Priority, Weight: t.Weight, TargetSnapshot: t.State.Snapshot(now)})
		}
		out = append(out, s)
	}
	return out
}

// Route returns the route named name, or nil.
func (r *Router) Route(name string) *Route { return r.routes[name] }

// SetRoutes installs routes (at construction, before serving).
func (r *Router) SetRoutes(routes []*Route) error {
	r.routes = map[string]*Route{}
	r.routeOrder = nil
	for _, rt := range routes {
		if len(rt.Targets) == 0 || len(rt.Targets) > maxTargets {
			return fmt.Errorf("route %s: 1 to %d targets", rt.Name, maxTargets)
		}
		if rt.Attempts < 1 {
			rt.Attempts = 1
		}
		if rt.MaxAttempts < 1 {
			rt.MaxAttempts = 1
		}
		r.routes[rt.Name] = rt
		r.routeOrder = append(r.routeOrder, rt.Name)
	}
	return nil
}

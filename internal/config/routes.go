package config

import (
	"fmt"
	"sort"
	"strings"
)

// Route is a name callers use as their model, served by targets: weighted
// among the healthy targets of the best priority, then down the priority
// list (docs/routing.md).
type Route struct {
	Targets []RouteTarget `yaml:"targets" json:"targets"`
	// Retry is how often a failing target is tried again before the next.
	Retry RetryPolicy `yaml:"retry" json:"retry"`
	// Timeouts apply to each attempt; a target may override them.
	Timeouts RouteTimeouts `yaml:"timeouts" json:"timeouts"`
	// FallbackOn are provider error codes (context_length_exceeded,
	// content_filter, ...) or statuses ("400") that move a call to the
	// next target, beyond the defaults (connection errors, timeouts, 429,
	// 5xx, 529, and the provider refusing Weir's key or model).
	FallbackOn []string `yaml:"fallback_on" json:"fallback_on,omitempty"`
	// Queue is how long a call waits when every target is at its rate
	// limit or its breaker is open, before it is answered 429 with
	// retry-after. Default 0: answer at once.
	Queue Duration `yaml:"queue" json:"queue,omitempty"`
	// Breaker tunes the targets' circuit breakers.
	Breaker BreakerPolicy `yaml:"breaker" json:"breaker"`
	// Params forces or forbids request parameters (top-level body fields).
	Params RouteParams `yaml:"params" json:"params"`
	// Prompt is a registered prompt (name, name@3, name@production)
	// rendered for calls that name none; their variables come in
	// x-weir-prompt-variables.
	Prompt string `yaml:"prompt" json:"prompt,omitempty"`
	// Hedge, when set, sends a second attempt of a non-streamed call to
	// the next target when the first is slow; the first answer wins.
	// Default off.
	Hedge *HedgePolicy `yaml:"hedge" json:"hedge,omitempty"`
}

// HedgePolicy says when a slow non-streamed call gets a second attempt.
type HedgePolicy struct {
	// After is the wait before the second attempt (required); with
	// Percentile, the longest wait.
	After Duration `yaml:"after" json:"after"`
	// Percentile (e.g. 95) waits for that percentile of the first
	// target's recent latencies instead, at least Min, once 20 are known.
	Percentile float64  `yaml:"percentile" json:"percentile,omitempty"`
	Min        Duration `yaml:"min" json:"min,omitempty"`
}

// RouteParams are request parameters a route sets or refuses.
type RouteParams struct {
	// Force sets these fields in every call's body, whatever the caller
	// sent (e.g. temperature: 0, max_tokens: 1024).
	Force map[string]any `yaml:"force" json:"force,omitempty"`
	// Forbid refuses a call that sets any of these fields (400).
	Forbid []string `yaml:"forbid" json:"forbid,omitempty"`
}

// RouteTarget is one provider and model behind a route.
type RouteTarget struct {
	Provider string `yaml:"provider" json:"provider"`
	Model    string `yaml:"model" json:"model"`
	// Priority: lower is tried first. Default 1.
	Priority int `yaml:"priority" json:"priority"`
	// Weight shares calls among targets of one priority. Default 1; 0
	// takes calls only when the others cannot.
	Weight *int `yaml:"weight" json:"weight,omitempty"`
	// RPM and TPM are the target's own rate limits (requests and tokens
	// per minute), kept with local buckets and the pre-call estimate.
	// Default 0: none beyond what the provider reports.
	RPM int64 `yaml:"rpm" json:"rpm,omitempty"`
	TPM int64 `yaml:"tpm" json:"tpm,omitempty"`
	// Timeouts override the route's for this target.
	Timeouts RouteTimeouts `yaml:"timeouts" json:"timeouts"`
}

// RetryPolicy bounds retries.
type RetryPolicy struct {
	// Attempts is how many times one target is tried before the next
	// (default 2: one retry).
	Attempts int `yaml:"attempts" json:"attempts,omitempty"`
	// MaxAttempts bounds the attempts of one call across targets
	// (default 5).
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts,omitempty"`
	// Backoff is the first retry's wait cap, doubled per retry up to
	// MaxBackoff, with full jitter (defaults 200ms and 5s). A retry-after
	// longer than MaxBackoff moves the call to the next target instead.
	Backoff    Duration `yaml:"backoff" json:"backoff,omitempty"`
	MaxBackoff Duration `yaml:"max_backoff" json:"max_backoff,omitempty"`
}

// RouteTimeouts bound one attempt.
type RouteTimeouts struct {
	// TTFT abandons an attempt whose first token has not come (streams;
	// before a byte reached the caller, so the call moves on). Default
	// none.
	TTFT Duration `yaml:"ttft" json:"ttft,omitempty"`
	// Idle bounds the gap between two chunks of a stream. Default: the
	// provider's stream_idle_timeout.
	Idle Duration `yaml:"idle" json:"idle,omitempty"`
	// Total bounds an attempt from start to end. Default: the provider's
	// upstream_timeout.
	Total Duration `yaml:"total" json:"total,omitempty"`
}

// BreakerPolicy tunes circuit breakers (defaults in docs/routing.md).
type BreakerPolicy struct {
	Window       Duration `yaml:"window" json:"window,omitempty"`
	MinRequests  int      `yaml:"min_requests" json:"min_requests,omitempty"`
	FailureRatio float64  `yaml:"failure_ratio" json:"failure_ratio,omitempty"`
	SlowCall     Duration `yaml:"slow_call" json:"slow_call,omitempty"`
	OpenFor      Duration `yaml:"open_for" json:"open_for,omitempty"`
}

// validateRoutes checks the routes against the providers (names).
func (c *Config) validateRoutes(names map[string]bool, bad func(key, format string, args ...any)) {
	routes := make([]string, 0, len(c.Routes))
	for n := range c.Routes {
		routes = append(routes, n)
	}
	sort.Strings(routes)
	for _, name := range routes {
		r := c.Routes[name]
		key := "routes." + name
		if name == "" || strings.ContainsAny(name, "/ \t") || len(name) > 128 {
			bad(key, "a route name has 1-128 characters and no '/' or spaces")
		}
		if _, ok := c.Models[name]; ok {
			bad(key, "%q is also under models:", name)
		}
		if len(r.Targets) == 0 {
			bad(key+".targets", "a route needs at least one target")
		}
		for i, t := range r.Targets {
			tk := fmt.Sprintf("%s.targets[%d]", key, i)
			if !names[t.Provider] {
				bad(tk+".provider", "provider %q is not configured", t.Provider)
			}
			if t.Model == "" {
				bad(tk+".model", "is required")
			}
			if t.Priority < 0 {
				bad(tk+".priority", "%d is negative", t.Priority)
			}
			if t.Weight != nil && (*t.Weight < 0 || *t.Weight > 1000) {
				bad(tk+".weight", "%d is not between 0 and 1000", *t.Weight)
			}
			if t.RPM < 0 || t.TPM < 0 {
				bad(tk, "rpm and tpm cannot be negative")
			}
			checkTimeouts(tk+".timeouts", t.Timeouts, bad)
		}
		checkTimeouts(key+".timeouts", r.Timeouts, bad)
		if r.Retry.Attempts < 0 || r.Retry.Attempts > 10 || r.Retry.MaxAttempts < 0 || r.Retry.MaxAttempts > 20 {
			bad(key+".retry", "attempts is 0-10 and max_attempts 0-20")
		}
		if r.Retry.Backoff.D() < 0 || r.Retry.MaxBackoff.D() < 0 || r.Queue.D() < 0 {
			bad(key, "backoff, max_backoff and queue cannot be negative")
		}
		if r.Breaker.FailureRatio < 0 || r.Breaker.FailureRatio > 1 || r.Breaker.MinRequests < 0 {
			bad(key+".breaker", "failure_ratio is between 0 and 1, min_requests not negative")
		}
		for k := range r.Params.Force {
			if k == "" || k == "model" || k == "stream" || k == "messages" {
				bad(key+".params.force", "%q cannot be forced (model, stream and messages are the call's own)", k)
			}
		}
		for _, k := range r.Params.Forbid {
			if k == "" || k == "model" || k == "messages" {
				bad(key+".params.forbid", "%q cannot be forbidden", k)
			}
			if _, ok := r.Params.Force[k]; ok {
				bad(key+".params", "%q is both forced and forbidden", k)
			}
		}
		if h := r.Hedge; h != nil && (h.After.D() <= 0 || h.Percentile < 0 || h.Percentile >= 100 || h.Min.D() < 0 || h.Min.D() > h.After.D()) {
			bad(key+".hedge", "after is required and positive, percentile between 0 and 100, min at most after")
		}
		for _, f := range r.FallbackOn {
			if f == "" || len(f) > 64 {
				bad(key+".fallback_on", "%q is not an error code or status", f)
			}
		}
	}
}

func checkTimeouts(key string, t RouteTimeouts, bad func(key, format string, args ...any)) {
	if t.TTFT.D() < 0 || t.Idle.D() < 0 || t.Total.D() < 0 {
		bad(key, "timeouts cannot be negative")
	}
}

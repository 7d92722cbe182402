package drift

import (
	"math"

	"github.com/weirhq/weir/internal/store"
)

// The behaviour signals watched for every scope (a use case on a model).
const (
	SignalOutputTokens    = "output_tokens"
	SignalReasoningTokens = "reasoning_tokens"
	SignalTTFT            = "ttft_ms"
	SignalOTPS            = "otps"
	SignalCost            = "cost_usd"
	SignalFinishReason    = "finish_reason"
	SignalRefusalRate     = "refusal_rate"
	SignalJSONInvalidRate = "json_invalid_rate"
	SignalToolCallRate    = "tool_call_rate"
	SignalErrorRate       = "error_rate"
	// SignalCanaryScore is a canary's evaluation scores (canary.go).
	SignalCanaryScore = "canary_score"
)

// The tests a signal is decided by.
const (
	TestKS          = "kolmogorov_smirnov"
	TestChiSquared  = "chi_squared"
	TestFisher      = "fisher_exact"
	TestMannWhitney = "mann_whitney"
)

type signalKind int

const (
	continuous signalKind = iota
	rate
	categorical
)

// signal is how one behaviour signal is read from a call.
type signal struct {
	name string
	kind signalKind
	// value reads a continuous signal; ok false leaves the call out.
	value func(c *store.CallSignal) (v float64, ok bool)
	// hit reads a rate: whether the call counts, and whether it is a hit.
	hit func(c *store.CallSignal) (hit, ok bool)
	// category reads a categorical signal.
	category func(c *store.CallSignal) (string, bool)
}

// toolFinish are the finish reasons of an answer that called a tool.
var toolFinish = map[string]bool{"tool_calls": true, "tool_use": true, "function_call": true}

func okValue(f func(c *store.CallSignal) (float64, bool)) func(c *store.CallSignal) (float64, bool) {
	return func(c *store.CallSignal) (float64, bool) {
		if !c.OK {
			return 0, false
		}
		v, ok := f(c)
		return v, ok && !math.IsNaN(v) && !math.IsInf(v, 0)
	}
}

func ptr(p *float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

// signals are the behaviour signals, in the order events list them.
var signals = []signal{
	{name: SignalOutputTokens, kind: continuous, value: okValue(func(c *store.CallSignal) (float64, bool) {
		return float64(c.OutputTokens), !toolFinish[c.FinishReason]
	})},
	{name: SignalReasoningTokens, kind: continuous, value: okValue(func(c *store.CallSignal) (float64, bool) {
		return float64(c.ReasoningTokens), true
	})},
	{name: SignalTTFT, kind: continuous, value: okValue(func(c *store.CallSignal) (float64, bool) { return ptr(c.TTFTMs) })},
	{name: SignalOTPS, kind: continuous, value: okValue(func(c *store.CallSignal) (float64, bool) { return ptr(c.OTPS) })},
	{name: SignalCost, kind: continuous, value: okValue(func(c *store.CallSignal) (float64, bool) { return ptr(c.CostUSD) })},
	{name: SignalFinishReason, kind: categorical, category: func(c *store.CallSignal) (string, bool) {
		if !c.OK {
			return "", false
		}
		if c.FinishReason == "" {
			return "(none)", true
		}
		return c.FinishReason, true
	}},
	{name: SignalRefusalRate, kind: rate, hit: func(c *store.CallSignal) (bool, bool) { return c.Refusal, c.OK }},
	{name: SignalJSONInvalidRate, kind: rate, hit: func(c *store.CallSignal) (bool, bool) {
		if !c.OK || c.JSONValid == nil {
			return false, false
		}
		return !*c.JSONValid, true
	}},
	{name: SignalToolCallRate, kind: rate, hit: func(c *store.CallSignal) (bool, bool) { return toolFinish[c.FinishReason], c.OK }},
	{name: SignalErrorRate, kind: rate, hit: func(c *store.CallSignal) (bool, bool) { return !c.OK, true }},
}

// Signals lists the names of the behaviour signals.
func Signals() []string {
	out := make([]string, len(signals))
	for i, s := range signals {
		out[i] = s.name
	}
	return out
}

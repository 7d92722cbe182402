// Package evaluator scores one model output without a human: the
// deterministic (code) evaluators — exact match, contains, regex, JSON
// validity and schema, numeric tolerance, length bounds, tool-call match,
// cost and latency thresholds — built by kind from a strict JSON config,
// and the strict parsing of an LLM judge's reply into a criterion's score
// (judge.go). It runs no model and stores nothing; experiments and the
// judge runner import it. It imports eval and pricing.
package evaluator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/weirhq/weir/internal/pricing"
)

// ErrConfig is wrapped when an evaluator's kind or config is refused.
var ErrConfig = errors.New("invalid evaluator config")

// ErrCannotEvaluate is wrapped when an input lacks what an evaluator
// needs (no expected output to compare with, no cost for an unpriced
// call): the item is not scored, rather than scored as a failure.
var ErrCannotEvaluate = errors.New("cannot evaluate")

// ToolCall is one tool call the model made.
type ToolCall struct {
	Name string `json:"name"`
	// Arguments is the call's arguments as JSON (an object, normally).
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// Input is what an evaluator looks at: one output of one item.
type Input struct {
	// Output is the model's reply text.
	Output    string     `json:"output"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// Expected is the item's expected output or reference answer as text
	// (a JSON expected value as its JSON text); nil when the item has none.
	Expected *string `json:"expected,omitempty"`
	// Cost is what the call cost; nil when unpriced or unknown.
	Cost *pricing.Money `json:"cost,omitempty"`
	// E2EMs is the call's end-to-end latency; TTFTMs its time to first
	// token, nil when not streamed.
	E2EMs  float64  `json:"e2e_ms"`
	TTFTMs *float64 `json:"ttft_ms,omitempty"`
}

// Result is one evaluation. Pass is set by every evaluator here; Score,
// when set, is a measurement (a length, a difference) for reports.
type Result struct {
	Pass        bool     `json:"pass"`
	Score       *float64 `json:"score,omitempty"`
	Explanation string   `json:"explanation"`
}

// Evaluator scores an input. Implementations are safe for concurrent use.
type Evaluator interface {
	Evaluate(ctx context.Context, in Input) (Result, error)
}

// maxConfig bounds an evaluator's config.
const maxConfig = 1 << 20

// builders is the registry of kinds.
var builders = map[string]func(json.RawMessage) (Evaluator, error){
	"exact_match":  build[exactMatch],
	"contains":     build[contains],
	"not_contains": buildNotContains,
	"regex":        build[regexEval],
	"json_valid":   build[jsonValid],
	"json_schema":  build[jsonSchema],
	"numeric":      build[numeric],
	"length":       build[length],
	"tool_call":    build[toolCallMatch],
	"cost":         build[costThreshold],
	"latency":      build[latencyThreshold],
}

// Kinds returns the evaluator kinds New knows, sorted.
func Kinds() []string {
	out := make([]string, 0, len(builders))
	for k := range builders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New builds the evaluator of a kind from its JSON config, decoded
// strictly: an unknown kind or field, a wrong type or a config that does
// not validate is an error wrapping ErrConfig. An empty config is {}.
func New(kind string, config json.RawMessage) (Evaluator, error) {
	b, ok := builders[kind]
	if !ok {
		return nil, fmt.Errorf("%w: unknown kind %q: want one of %s", ErrConfig, kind, strings.Join(Kinds(), ", "))
	}
	if len(bytes.TrimSpace(config)) == 0 {
		config = json.RawMessage(`{}`)
	}
	if len(config) > maxConfig {
		return nil, fmt.Errorf("%w: %s: the config is over %d bytes", ErrConfig, kind, maxConfig)
	}
	e, err := b(config)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return e, nil
}

// validator is a config that checks itself and prepares what it needs
// (compiled patterns and schemas) once.
type validator interface {
	validate() error
}

func build[T any, P interface {
	*T
	validator
	Evaluator
}](config json.RawMessage) (Evaluator, error) {
	p := P(new(T))
	if err := decodeStrict(config, p); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return p, nil
}

func buildNotContains(config json.RawMessage) (Evaluator, error) {
	e, err := build[contains](config)
	if err != nil {
		return nil, err
	}
	c := e.(*contains)
	c.negate = true
	return c, nil
}

// decodeStrict decodes exactly one JSON object into v, refusing unknown
// fields.
func decodeStrict(config json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: the config must be one JSON object", ErrConfig)
	}
	return nil
}

func pass(ok bool, format string, a ...any) Result {
	return Result{Pass: ok, Explanation: fmt.Sprintf(format, a...)}
}

// clip shortens s for an explanation.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func expectedOr(in Input, value *string, what string) (string, error) {
	if value != nil {
		return *value, nil
	}
	if in.Expected == nil {
		return "", fmt.Errorf("%w: %s: no value in the config and no expected output", ErrCannotEvaluate, what)
	}
	return *in.Expected, nil
}

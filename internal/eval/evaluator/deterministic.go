package evaluator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/weirhq/weir/internal/pricing"
)

// normalize applies the text normalisations a config asks for.
type normalize struct {
	// CaseInsensitive compares with Unicode case folding.
	CaseInsensitive bool `json:"case_insensitive,omitempty"`
	// NormalizeWhitespace trims the text and collapses runs of white space
	// to one space.
	NormalizeWhitespace bool `json:"normalize_whitespace,omitempty"`
}

func (n normalize) apply(s string) string {
	if n.NormalizeWhitespace {
		s = strings.Join(strings.Fields(s), " ")
	}
	if n.CaseInsensitive {
		s = strings.ToLower(s)
	}
	return s
}

// exactMatch passes when the output equals the expected text (the item's
// expected output, or Value).
type exactMatch struct {
	Value *string `json:"value,omitempty"`
	normalize
}

func (e *exactMatch) validate() error { return nil }

func (e *exactMatch) Evaluate(_ context.Context, in Input) (Result, error) {
	want, err := expectedOr(in, e.Value, "exact_match")
	if err != nil {
		return Result{}, err
	}
	if e.apply(in.Output) == e.apply(want) {
		return pass(true, "the output equals the expected text"), nil
	}
	return pass(false, "the output %q differs from the expected %q", clip(in.Output, 80), clip(want, 80)), nil
}

// contains passes when the output contains the values: all of them (Mode
// "all", the default) or any. As not_contains it passes when the output
// does not contain them: none of them (Mode "any", the default: any one
// fails it) or not all of them (Mode "all"). Without values, the item's
// expected output is the one value.
type contains struct {
	Values []string `json:"values,omitempty"`
	Mode   string   `json:"mode,omitempty"`
	normalize
	negate bool
}

func (c *contains) validate() error {
	switch c.Mode {
	case "", "any", "all":
	default:
		return fmt.Errorf("mode %q: want any or all", c.Mode)
	}
	if len(c.Values) > 1000 {
		return errors.New("at most 1,000 values")
	}
	for _, v := range c.Values {
		if v == "" {
			return errors.New("an empty value matches everything")
		}
	}
	return nil
}

func (c *contains) Evaluate(_ context.Context, in Input) (Result, error) {
	values := c.Values
	if len(values) == 0 {
		if in.Expected == nil || *in.Expected == "" {
			return Result{}, fmt.Errorf("%w: no values in the config and no expected output", ErrCannotEvaluate)
		}
		values = []string{*in.Expected}
	}
	out := c.apply(in.Output)
	var found, missing []string
	for _, v := range values {
		if strings.Contains(out, c.apply(v)) {
			found = append(found, v)
		} else {
			missing = append(missing, v)
		}
	}
	mode := c.Mode
	if !c.negate {
		if mode == "any" {
			if len(found) > 0 {
				return pass(true, "the output contains %q", clip(found[0], 80)), nil
			}
			return pass(false, "the output contains none of %d values", len(values)), nil
		}
		if len(missing) == 0 {
			return pass(true, "the output contains all %d values", len(values)), nil
		}
		return pass(false, "the output lacks %q", clip(missing[0], 80)), nil
	}
	if mode == "all" {
		if len(missing) > 0 {
			return pass(true, "the output lacks %q", clip(missing[0], 80)), nil
		}
		return pass(false, "the output contains all %d values", len(values)), nil
	}
	if len(found) == 0 {
		return pass(true, "the output contains none of %d values", len(values)), nil
	}
	return pass(false, "the output contains %q", clip(found[0], 80)), nil
}

// Limits of a regex evaluator's pattern.
const (
	maxPatternBytes = 4096
	maxPatternInsts = 20000
)

// regexEval passes when the output matches the RE2 pattern (or, with
// MustNotMatch, when it does not). The pattern is compiled once and its
// size is bounded.
type regexEval struct {
	Pattern         string `json:"pattern"`
	CaseInsensitive bool   `json:"case_insensitive,omitempty"`
	MustNotMatch    bool   `json:"must_not_match,omitempty"`
	re              *regexp.Regexp
}

func (r *regexEval) validate() error {
	if r.Pattern == "" {
		return errors.New("a pattern is required")
	}
	if len(r.Pattern) > maxPatternBytes {
		return fmt.Errorf("the pattern is over %d bytes", maxPatternBytes)
	}
	p := r.Pattern
	if r.CaseInsensitive {
		p = "(?i)" + p
	}
	re, err := compileBounded(p)
	if err != nil {
		return err
	}
	r.re = re
	return nil
}

// compileBounded compiles an RE2 pattern whose program is not too large
// (repetitions like (a{1000}){1000} expand).
func compileBounded(p string) (*regexp.Regexp, error) {
	parsed, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	if len(prog.Inst) > maxPatternInsts {
		return nil, fmt.Errorf("the pattern is too complex (%d instructions, at most %d)", len(prog.Inst), maxPatternInsts)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	return re, nil
}

func (r *regexEval) Evaluate(_ context.Context, in Input) (Result, error) {
	loc := r.re.FindStringIndex(in.Output)
	switch {
	case loc != nil && !r.MustNotMatch:
		return pass(true, "the output matches at %q", clip(in.Output[loc[0]:loc[1]], 80)), nil
	case loc != nil:
		return pass(false, "the output must not match but does at %q", clip(in.Output[loc[0]:loc[1]], 80)), nil
	case r.MustNotMatch:
		return pass(true, "the output does not match"), nil
	}
	return pass(false, "the output does not match %s", clip(r.Pattern, 80)), nil
}

// jsonOf returns the JSON text of an output: the output itself, or with
// AllowFence the content of a ``` fence around it.
func jsonOf(out string, allowFence bool) string {
	s := strings.TrimSpace(out)
	if !allowFence || !strings.HasPrefix(s, "```") {
		return s
	}
	body, ok := strings.CutPrefix(s, "```")
	if !ok {
		return s
	}
	nl := strings.IndexByte(body, '\n')
	if nl < 0 {
		return s
	}
	if lang := strings.TrimSpace(body[:nl]); lang != "" && !strings.EqualFold(lang, "json") {
		return s
	}
	body, ok = strings.CutSuffix(strings.TrimSpace(body[nl+1:]), "```")
	if !ok {
		return s
	}
	return strings.TrimSpace(body)
}

// parseJSON reads exactly one JSON value.
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if strings.TrimSpace(s[dec.InputOffset():]) != "" {
		return nil, errors.New("text after the JSON value")
	}
	return v, nil
}

// jsonValid passes when the output is one JSON value (of Type, when set:
// object, array, string, number, boolean or null).
type jsonValid struct {
	Type       string `json:"type,omitempty"`
	AllowFence bool   `json:"allow_fence,omitempty"`
}

func (j *jsonValid) validate() error {
	switch j.Type {
	case "", "object", "array", "string", "number", "boolean", "null":
		return nil
	}
	return fmt.Errorf("type %q: want object, array, string, number, boolean or null", j.Type)
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

func (j *jsonValid) Evaluate(_ context.Context, in Input) (Result, error) {
	v, err := parseJSON(jsonOf(in.Output, j.AllowFence))
	if err != nil {
		return pass(false, "the output is not JSON: %v", err), nil
	}
	if j.Type != "" && jsonType(v) != j.Type {
		return pass(false, "the output is a JSON %s, not a JSON %s", jsonType(v), j.Type), nil
	}
	return pass(true, "the output is a JSON %s", jsonType(v)), nil
}

// jsonSchema passes when the output is JSON valid under Schema. Schemas
// are compiled offline: a $ref to anything but the schema itself (or the
// meta-schemas the validator carries) is refused.
type jsonSchema struct {
	Schema     json.RawMessage `json:"schema"`
	AllowFence bool            `json:"allow_fence,omitempty"`
	compiled   *jsonschema.Schema
}

// offline refuses to load any schema by URL.
type offline struct{}

func (offline) Load(url string) (any, error) {
	return nil, fmt.Errorf("loading %s: schemas are not fetched; put every definition in the schema itself", url)
}

func (j *jsonSchema) validate() error {
	if len(j.Schema) == 0 || string(j.Schema) == "null" {
		return errors.New("a schema is required")
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(j.Schema)))
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(offline{})
	const loc = "weir:evaluator/schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	j.compiled = s
	return nil
}

func (j *jsonSchema) Evaluate(_ context.Context, in Input) (Result, error) {
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(jsonOf(in.Output, j.AllowFence)))
	if err != nil {
		return pass(false, "the output is not JSON: %v", err), nil
	}
	if err := j.compiled.Validate(v); err != nil {
		msg := err.Error()
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			msg = strings.ReplaceAll(strings.TrimSpace(fmt.Sprintf("%v", ve)), "\n", "; ")
		}
		return pass(false, "the output does not match the schema: %s", clip(msg, 300)), nil
	}
	return pass(true, "the output matches the schema"), nil
}

// numeric passes when the number in the output is within a tolerance of
// the expected number (Value, or the item's expected output): |got −
// want| ≤ AbsTol, or ≤ RelTol·|want|; with neither, the numbers must be
// equal. Pick chooses the number of an output holding several: "last"
// (default: answers tend to end with it), "first", or "only" (several is
// a failure).
type numeric struct {
	Value  *float64 `json:"value,omitempty"`
	AbsTol float64  `json:"abs_tol,omitempty"`
	RelTol float64  `json:"rel_tol,omitempty"`
	Pick   string   `json:"pick,omitempty"`
}

func (n *numeric) validate() error {
	if n.AbsTol < 0 || n.RelTol < 0 || math.IsNaN(n.AbsTol) || math.IsNaN(n.RelTol) {
		return errors.New("tolerances are 0 or more")
	}
	if n.Value != nil && (math.IsNaN(*n.Value) || math.IsInf(*n.Value, 0)) {
		return errors.New("value is not a number")
	}
	switch n.Pick {
	case "", "last", "first", "only":
		return nil
	}
	return fmt.Errorf("pick %q: want last, first or only", n.Pick)
}

func (n *numeric) Evaluate(_ context.Context, in Input) (Result, error) {
	var want float64
	if n.Value != nil {
		want = *n.Value
	} else {
		if in.Expected == nil {
			return Result{}, fmt.Errorf("%w: no value in the config and no expected output", ErrCannotEvaluate)
		}
		nums := ExtractNumbers(*in.Expected)
		if len(nums) != 1 {
			return Result{}, fmt.Errorf("%w: the expected output %q holds %d numbers, want 1", ErrCannotEvaluate, clip(*in.Expected, 80), len(nums))
		}
		want = nums[0]
	}
	nums := ExtractNumbers(in.Output)
	if len(nums) == 0 {
		return pass(false, "the output holds no number"), nil
	}
	got := nums[len(nums)-1]
	switch n.Pick {
	case "first":
		got = nums[0]
	case "only":
		if len(nums) > 1 {
			return pass(false, "the output holds %d numbers, want one", len(nums)), nil
		}
	}
	diff := math.Abs(got - want)
	r := Result{Score: &diff}
	r.Pass = diff == 0 || diff <= n.AbsTol || diff <= n.RelTol*math.Abs(want)
	r.Explanation = fmt.Sprintf("got %s, want %s (difference %s)", fmtNum(got), fmtNum(want), fmtNum(diff))
	return r, nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

var numberRE = regexp.MustCompile(`[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?`)

// ExtractNumbers returns the numbers written in s, in order: an optional
// sign (including U+2212), digits with optional thousands commas
// ("1,234"), a decimal part and an exponent. "3.5%" is 3.5; a number
// glued to letters ("gpt4", "v2") is not one.
func ExtractNumbers(s string) []float64 {
	var out []float64
	for _, loc := range numberRE.FindAllStringIndex(s, -1) {
		tok := s[loc[0]:loc[1]]
		if !strings.ContainsAny(tok, "0123456789") {
			continue
		}
		if loc[0] > 0 {
			if r, _ := utf8.DecodeLastRuneInString(s[:loc[0]]); unicode.IsLetter(r) || r == '_' {
				continue
			}
		}
		if loc[1] < len(s) {
			if r, _ := utf8.DecodeRuneInString(s[loc[1]:]); unicode.IsLetter(r) && r != 'e' && r != 'E' || r == '_' {
				continue
			}
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, ",", ""), "−", "-")
		// A mantissa without digits before the exponent (".e5") is not a
		// number; strconv tells.
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// length passes when the output's length is within [Min, Max], counted in
// Unit: "chars" (Unicode code points, the default) or "words" (runs of
// non-space).
type length struct {
	Min  *int   `json:"min,omitempty"`
	Max  *int   `json:"max,omitempty"`
	Unit string `json:"unit,omitempty"`
}

func (l *length) validate() error {
	if l.Min == nil && l.Max == nil {
		return errors.New("give min, max or both")
	}
	if l.Min != nil && *l.Min < 0 || l.Max != nil && *l.Max < 0 {
		return errors.New("min and max are 0 or more")
	}
	if l.Min != nil && l.Max != nil && *l.Min > *l.Max {
		return errors.New("min is above max")
	}
	switch l.Unit {
	case "", "chars", "words":
		return nil
	}
	return fmt.Errorf("unit %q: want chars or words", l.Unit)
}

func (l *length) Evaluate(_ context.Context, in Input) (Result, error) {
	unit := "characters"
	n := utf8.RuneCountInString(in.Output)
	if l.Unit == "words" {
		unit, n = "words", len(strings.Fields(in.Output))
	}
	f := float64(n)
	r := Result{Score: &f, Pass: true, Explanation: fmt.Sprintf("%d %s", n, unit)}
	if l.Min != nil && n < *l.Min {
		r.Pass, r.Explanation = false, fmt.Sprintf("%d %s, fewer than %d", n, unit, *l.Min)
	}
	if l.Max != nil && n > *l.Max {
		r.Pass, r.Explanation = false, fmt.Sprintf("%d %s, more than %d", n, unit, *l.Max)
	}
	return r, nil
}

// toolCallMatch passes when every expected call was made: a call of the
// same name whose arguments contain the expected arguments (objects match
// by subset, recursively; arrays and scalars exactly), each made call
// matching one expected call at most. Ordered requires the expected calls
// in that order; Exclusive refuses calls beyond the expected ones. Without
// Calls, the item's expected output is read as a JSON array of calls.
type toolCallMatch struct {
	Calls     []ToolCall `json:"calls,omitempty"`
	Ordered   bool       `json:"ordered,omitempty"`
	Exclusive bool       `json:"exclusive,omitempty"`
	want      []expectedCall
}

type expectedCall struct {
	name string
	args any // nil: any arguments
}

func parseCalls(calls []ToolCall) ([]expectedCall, error) {
	var out []expectedCall
	for i, c := range calls {
		if c.Name == "" {
			return nil, fmt.Errorf("calls[%d]: a name is required", i)
		}
		ec := expectedCall{name: c.Name}
		if len(c.Arguments) > 0 {
			v, err := parseJSON(string(c.Arguments))
			if err != nil {
				return nil, fmt.Errorf("calls[%d].arguments: %w", i, err)
			}
			if _, ok := v.(map[string]any); !ok && v != nil {
				return nil, fmt.Errorf("calls[%d].arguments: want a JSON object", i)
			}
			ec.args = v
		}
		out = append(out, ec)
	}
	return out, nil
}

func (t *toolCallMatch) validate() error {
	if len(t.Calls) > 128 {
		return errors.New("at most 128 calls")
	}
	w, err := parseCalls(t.Calls)
	t.want = w
	return err
}

// subset reports whether got holds want: objects by key, recursively;
// numbers by value; everything else exactly.
func subset(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !subset(wv, gv) {
				return false
			}
		}
		return true
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return false
		}
		a, err1 := w.Float64()
		b, err2 := g.Float64()
		return err1 == nil && err2 == nil && a == b || w == g
	}
	return reflect.DeepEqual(normalizeNumbers(want), normalizeNumbers(got))
}

func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeNumbers(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeNumbers(e)
		}
		return out
	}
	return v
}

func (t *toolCallMatch) Evaluate(_ context.Context, in Input) (Result, error) {
	want := t.want
	if len(t.Calls) == 0 {
		if in.Expected == nil {
			return Result{}, fmt.Errorf("%w: no calls in the config and no expected output", ErrCannotEvaluate)
		}
		var calls []ToolCall
		if err := json.Unmarshal([]byte(*in.Expected), &calls); err != nil {
			return Result{}, fmt.Errorf("%w: the expected output is not a JSON array of tool calls: %v", ErrCannotEvaluate, err)
		}
		w, err := parseCalls(calls)
		if err != nil {
			return Result{}, fmt.Errorf("%w: the expected output: %v", ErrCannotEvaluate, err)
		}
		want = w
	}
	got := make([]any, len(in.ToolCalls))
	for i, c := range in.ToolCalls {
		if len(c.Arguments) == 0 {
			got[i] = map[string]any{}
			continue
		}
		v, err := parseJSON(string(c.Arguments))
		if err != nil {
			got[i] = err // matches no expected arguments
			continue
		}
		got[i] = v
	}
	used := make([]bool, len(in.ToolCalls))
	next := 0
	for _, w := range want {
		found := -1
		start := 0
		if t.Ordered {
			start = next
		}
		for i := start; i < len(in.ToolCalls); i++ {
			if used[i] || in.ToolCalls[i].Name != w.name {
				continue
			}
			if w.args != nil {
				if _, isErr := got[i].(error); isErr || !subset(w.args, got[i]) {
					continue
				}
			}
			found = i
			break
		}
		if found < 0 {
			return pass(false, "no call of %s with the expected arguments (%d calls made)", w.name, len(in.ToolCalls)), nil
		}
		used[found] = true
		next = found + 1
	}
	if t.Exclusive {
		for i, u := range used {
			if !u {
				return pass(false, "an unexpected call of %s", in.ToolCalls[i].Name), nil
			}
		}
	}
	return pass(true, "all %d expected calls were made", len(want)), nil
}

// costThreshold passes when the call cost at most MaxUSD (a decimal
// number of dollars, exact to the femto-dollar). An unpriced call cannot
// be evaluated.
type costThreshold struct {
	MaxUSD *pricing.Money `json:"max_usd"`
}

func (c *costThreshold) validate() error {
	if c.MaxUSD == nil || *c.MaxUSD < 0 {
		return errors.New("max_usd, 0 or more, is required")
	}
	return nil
}

func (c *costThreshold) Evaluate(_ context.Context, in Input) (Result, error) {
	if in.Cost == nil {
		return Result{}, fmt.Errorf("%w: the call has no cost (unpriced)", ErrCannotEvaluate)
	}
	d := in.Cost.Dollars()
	r := Result{Score: &d, Pass: *in.Cost <= *c.MaxUSD}
	r.Explanation = fmt.Sprintf("cost $%s, at most $%s", in.Cost.String(), c.MaxUSD.String())
	if !r.Pass {
		r.Explanation = fmt.Sprintf("cost $%s, above $%s", in.Cost.String(), c.MaxUSD.String())
	}
	return r, nil
}

// latencyThreshold passes when the end-to-end latency is at most
// MaxE2EMs and the time to first token at most MaxTTFTMs (each when set).
// A call without a time to first token cannot be evaluated on it.
type latencyThreshold struct {
	MaxE2EMs  *float64 `json:"max_e2e_ms,omitempty"`
	MaxTTFTMs *float64 `json:"max_ttft_ms,omitempty"`
}

func (l *latencyThreshold) validate() error {
	if l.MaxE2EMs == nil && l.MaxTTFTMs == nil {
		return errors.New("give max_e2e_ms, max_ttft_ms or both")
	}
	if l.MaxE2EMs != nil && !(*l.MaxE2EMs > 0) || l.MaxTTFTMs != nil && !(*l.MaxTTFTMs > 0) {
		return errors.New("thresholds are above 0")
	}
	return nil
}

func (l *latencyThreshold) Evaluate(_ context.Context, in Input) (Result, error) {
	var parts []string
	ok := true
	if l.MaxE2EMs != nil {
		parts = append(parts, fmt.Sprintf("e2e %s ms (max %s)", fmtNum(in.E2EMs), fmtNum(*l.MaxE2EMs)))
		ok = ok && in.E2EMs <= *l.MaxE2EMs
	}
	if l.MaxTTFTMs != nil {
		if in.TTFTMs == nil {
			return Result{}, fmt.Errorf("%w: the call has no time to first token (not streamed)", ErrCannotEvaluate)
		}
		parts = append(parts, fmt.Sprintf("ttft %s ms (max %s)", fmtNum(*in.TTFTMs), fmtNum(*l.MaxTTFTMs)))
		ok = ok && *in.TTFTMs <= *l.MaxTTFTMs
	}
	return pass(ok, "%s", strings.Join(parts, ", ")), nil
}

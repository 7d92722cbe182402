package evaluator

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/pricing"
)

func str(s string) *string               { return &s }
func fl(f float64) *float64              { return &f }
func usd(m pricing.Money) *pricing.Money { return &m }

func TestEvaluators(t *testing.T) {
	for _, tc := range []struct {
		name, kind, config string
		in                 Input
		pass               bool
		err                error // ErrCannotEvaluate
	}{
		{"exact equal", "exact_match", `{}`, Input{Output: "Paris", Expected: str("Paris")}, true, nil},
		{"exact differs by case", "exact_match", `{}`, Input{Output: "paris", Expected: str("Paris")}, false, nil},
		{"exact case-insensitive", "exact_match", `{"case_insensitive":true}`, Input{Output: "PARİS", Expected: str("Paris")}, true, nil}, // Go lowers İ to i
		{"exact case-insensitive ascii", "exact_match", `{"case_insensitive":true}`, Input{Output: "PARIS", Expected: str("paris")}, true, nil},
		{"exact whitespace", "exact_match", `{"normalize_whitespace":true}`, Input{Output: " New\n York  ", Expected: str("New York")}, true, nil},
		{"exact whitespace off", "exact_match", `{}`, Input{Output: "Paris\n", Expected: str("Paris")}, false, nil},
		{"exact value beats expected", "exact_match", `{"value":"yes"}`, Input{Output: "yes", Expected: str("no")}, true, nil},
		{"exact empty output equals empty value", "exact_match", `{"value":""}`, Input{Output: ""}, true, nil},
		{"exact without expected", "exact_match", `{}`, Input{Output: "x"}, false, ErrCannotEvaluate},
		{"contains all", "contains", `{"values":["refund","7 days"]}`, Input{Output: "A refund within 7 days."}, true, nil},
		{"contains all, one missing", "contains", `{"values":["refund","7 days"]}`, Input{Output: "A refund."}, false, nil},
		{"contains any", "contains", `{"values":["refund","credit"],"mode":"any"}`, Input{Output: "store credit"}, true, nil},
		{"contains any none", "contains", `{"values":["refund","credit"],"mode":"any"}`, Input{Output: "no"}, false, nil},
		{"contains case", "contains", `{"values":["REFUND"],"case_insensitive":true}`, Input{Output: "refund"}, true, nil},
		{"contains expected", "contains", `{}`, Input{Output: "the answer is 42.", Expected: str("42")}, true, nil},
		{"contains no values no expected", "contains", `{}`, Input{Output: "x"}, false, ErrCannotEvaluate},
		{"not contains none", "not_contains", `{"values":["sorry","apologi"]}`, Input{Output: "Here you go."}, true, nil},
		{"not contains one", "not_contains", `{"values":["sorry","apologi"]}`, Input{Output: "Sorry, here."}, true, nil}, // case-sensitive
		{"not contains one ci", "not_contains", `{"values":["sorry","apologi"],"case_insensitive":true}`, Input{Output: "Sorry, here."}, false, nil},
		{"not contains all mode, one present", "not_contains", `{"values":["a1","b2"],"mode":"all"}`, Input{Output: "a1"}, true, nil},
		{"not contains all mode, all present", "not_contains", `{"values":["a1","b2"],"mode":"all"}`, Input{Output: "a1 b2"}, false, nil},
		{"regex match", "regex", `{"pattern":"^ORD-\\d{6}$"}`, Input{Output: "ORD-123456"}, true, nil},
		{"regex no match", "regex", `{"pattern":"^ORD-\\d{6}$"}`, Input{Output: "ORD-12345"}, false, nil},
		{"regex ci", "regex", `{"pattern":"hello","case_insensitive":true}`, Input{Output: "HeLLo"}, true, nil},
		{"regex must not match", "regex", `{"pattern":"\\b(?:password|ssn)\\b","must_not_match":true}`, Input{Output: "your password is"}, false, nil},
		{"regex must not match ok", "regex", `{"pattern":"\\bssn\\b","must_not_match":true}`, Input{Output: "fine"}, true, nil},
		{"json object", "json_valid", `{"type":"object"}`, Input{Output: ` {"a":1} `}, true, nil},
		{"json wrong type", "json_valid", `{"type":"object"}`, Input{Output: `[1]`}, false, nil},
		{"json two values", "json_valid", `{}`, Input{Output: `{} {}`}, false, nil},
		{"json trailing garbage", "json_valid", `{}`, Input{Output: `{"a":1} and more`}, false, nil},
		{"json fenced refused", "json_valid", `{}`, Input{Output: "```json\n{}\n```"}, false, nil},
		{"json fenced allowed", "json_valid", `{"allow_fence":true}`, Input{Output: "```json\n{\"a\":1}\n```"}, true, nil},
		{"json fenced bare", "json_valid", `{"allow_fence":true}`, Input{Output: "```\n[1,2]\n```"}, true, nil},
		{"json fenced other language", "json_valid", `{"allow_fence":true}`, Input{Output: "```python\n{}\n```"}, false, nil},
		{"json empty", "json_valid", `{}`, Input{Output: ""}, false, nil},
		{"json null", "json_valid", `{"type":"null"}`, Input{Output: "null"}, true, nil},
		{"schema ok", "json_schema", `{"schema":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0}}}}`, Input{Output: `{"name":"Ada","age":36}`}, true, nil},
		{"schema missing field", "json_schema", `{"schema":{"type":"object","required":["name"]}}`, Input{Output: `{"age":36}`}, false, nil},
		{"schema wrong type", "json_schema", `{"schema":{"type":"object","properties":{"age":{"type":"integer"}}}}`, Input{Output: `{"age":"x"}`}, false, nil},
		{"schema not json", "json_schema", `{"schema":{"type":"object"}}`, Input{Output: `{age}`}, false, nil},
		{"schema local ref", "json_schema", `{"schema":{"$defs":{"n":{"type":"number"}},"type":"array","items":{"$ref":"#/$defs/n"}}}`, Input{Output: `[1,2.5]`}, true, nil},
		{"schema local ref fails", "json_schema", `{"schema":{"$defs":{"n":{"type":"number"}},"type":"array","items":{"$ref":"#/$defs/n"}}}`, Input{Output: `[1,"2"]`}, false, nil},
		{"numeric exact", "numeric", `{}`, Input{Output: "The total is 1,234.50 dollars.", Expected: str("1234.5")}, true, nil},
		{"numeric abs", "numeric", `{"abs_tol":0.01}`, Input{Output: "3.141", Expected: str("3.14159")}, true, nil},
		{"numeric abs outside", "numeric", `{"abs_tol":0.0001}`, Input{Output: "3.141", Expected: str("3.14159")}, false, nil},
		{"numeric rel", "numeric", `{"rel_tol":0.05}`, Input{Output: "about 104", Expected: str("100")}, true, nil},
		{"numeric rel outside", "numeric", `{"rel_tol":0.05}`, Input{Output: "about 106", Expected: str("100")}, false, nil},
		{"numeric last", "numeric", `{"value":42}`, Input{Output: "6 times 7 is 42"}, true, nil},
		{"numeric first", "numeric", `{"value":6,"pick":"first"}`, Input{Output: "6 times 7 is 42"}, true, nil},
		{"numeric only refuses several", "numeric", `{"value":42,"pick":"only"}`, Input{Output: "6 times 7 is 42"}, false, nil},
		{"numeric negative", "numeric", `{"value":-3}`, Input{Output: "−3"}, true, nil},
		{"numeric none", "numeric", `{"value":1}`, Input{Output: "none"}, false, nil},
		{"numeric expected not a number", "numeric", `{}`, Input{Output: "1", Expected: str("one")}, false, ErrCannotEvaluate},
		{"numeric expected two numbers", "numeric", `{}`, Input{Output: "1", Expected: str("1 or 2")}, false, ErrCannotEvaluate},
		{"length chars", "length", `{"max":5}`, Input{Output: "héllo"}, true, nil},
		{"length chars over", "length", `{"max":4}`, Input{Output: "héllo"}, false, nil},
		{"length words", "length", `{"min":2,"max":3,"unit":"words"}`, Input{Output: " one  two\nthree "}, true, nil},
		{"length words under", "length", `{"min":2,"unit":"words"}`, Input{Output: "one"}, false, nil},
		{"length empty", "length", `{"min":0,"max":0}`, Input{Output: ""}, true, nil},
		{"tool match", "tool_call", `{"calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}`,
			Input{ToolCalls: []ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris","unit":"c"}`)}}}, true, nil},
		{"tool wrong args", "tool_call", `{"calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}`,
			Input{ToolCalls: []ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Lyon"}`)}}}, false, nil},
		{"tool numbers by value", "tool_call", `{"calls":[{"name":"f","arguments":{"n":1.0,"xs":[1,2]}}]}`,
			Input{ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{"n":1,"xs":[1.0,2]}`)}}}, true, nil},
		{"tool array exact", "tool_call", `{"calls":[{"name":"f","arguments":{"xs":[1]}}]}`,
			Input{ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{"xs":[1,2]}`)}}}, false, nil},
		{"tool nested subset", "tool_call", `{"calls":[{"name":"f","arguments":{"o":{"a":1}}}]}`,
			Input{ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{"o":{"a":1,"b":2}}`)}}}, true, nil},
		{"tool bad args json", "tool_call", `{"calls":[{"name":"f","arguments":{"a":1}}]}`,
			Input{ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{"a":1`)}}}, false, nil},
		{"tool name only", "tool_call", `{"calls":[{"name":"f"}]}`, Input{ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{"x":1}`)}}}, true, nil},
		{"tool missing", "tool_call", `{"calls":[{"name":"f"}]}`, Input{Output: "no tools"}, false, nil},
		{"tool used once", "tool_call", `{"calls":[{"name":"f"},{"name":"f"}]}`, Input{ToolCalls: []ToolCall{{Name: "f"}}}, false, nil},
		{"tool extra allowed", "tool_call", `{"calls":[{"name":"f"}]}`, Input{ToolCalls: []ToolCall{{Name: "g"}, {Name: "f"}}}, true, nil},
		{"tool extra exclusive", "tool_call", `{"calls":[{"name":"f"}],"exclusive":true}`, Input{ToolCalls: []ToolCall{{Name: "g"}, {Name: "f"}}}, false, nil},
		{"tool ordered", "tool_call", `{"calls":[{"name":"a"},{"name":"b"}],"ordered":true}`, Input{ToolCalls: []ToolCall{{Name: "b"}, {Name: "a"}}}, false, nil},
		{"tool unordered", "tool_call", `{"calls":[{"name":"a"},{"name":"b"}]}`, Input{ToolCalls: []ToolCall{{Name: "b"}, {Name: "a"}}}, true, nil},
		{"tool from expected", "tool_call", `{}`, Input{ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(`{"a":1}`)}}, Expected: str(`[{"name":"f","arguments":{"a":1}}]`)}, true, nil},
		{"tool expected not calls", "tool_call", `{}`, Input{Expected: str(`hello`)}, false, ErrCannotEvaluate},
		{"cost under", "cost", `{"max_usd":0.01}`, Input{Cost: usd(pricing.Milli * 9)}, true, nil},
		{"cost equal", "cost", `{"max_usd":0.01}`, Input{Cost: usd(pricing.Milli * 10)}, true, nil},
		{"cost over by a femto", "cost", `{"max_usd":0.01}`, Input{Cost: usd(pricing.Milli*10 + 1)}, false, nil},
		{"cost unpriced", "cost", `{"max_usd":0.01}`, Input{}, false, ErrCannotEvaluate},
		{"latency ok", "latency", `{"max_e2e_ms":1000,"max_ttft_ms":200}`, Input{E2EMs: 900, TTFTMs: fl(150)}, true, nil},
		{"latency e2e over", "latency", `{"max_e2e_ms":1000}`, Input{E2EMs: 1000.5}, false, nil},
		{"latency ttft over", "latency", `{"max_ttft_ms":200}`, Input{E2EMs: 10, TTFTMs: fl(201)}, false, nil},
		{"latency no ttft", "latency", `{"max_ttft_ms":200}`, Input{E2EMs: 10}, false, ErrCannotEvaluate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.kind, json.RawMessage(tc.config))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			r, err := e.Evaluate(context.Background(), tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Pass != tc.pass || r.Explanation == "" {
				t.Errorf("pass = %v (%s), want %v", r.Pass, r.Explanation, tc.pass)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct{ kind, config, want string }{
		{"nope", `{}`, "unknown kind"},
		{"exact_match", `{"valu":"x"}`, "unknown field"},
		{"exact_match", `{} {}`, "one JSON object"},
		{"exact_match", `[]`, "cannot unmarshal"},
		{"contains", `{"values":[""]}`, "empty value"},
		{"contains", `{"mode":"some"}`, "mode"},
		{"not_contains", `{"values":"x"}`, "cannot unmarshal"},
		{"regex", `{}`, "pattern is required"},
		{"regex", `{"pattern":"(?<=a)b"}`, "pattern"}, // look-behind is not RE2
		{"regex", `{"pattern":"((a{100}){100}){100}"}`, "pattern"},
		{"regex", `{"pattern":"` + strings.Repeat("a", 5000) + `"}`, "over 4096"},
		{"json_valid", `{"type":"integer"}`, "type"},
		{"json_schema", `{}`, "schema is required"},
		{"json_schema", `{"schema":{"$ref":"https://example.com/s.json"}}`, "schema"},
		{"json_schema", `{"schema":{"$ref":"file:///etc/passwd"}}`, "schema"},
		{"json_schema", `{"schema":{"type":"nope"}}`, "schema"},
		{"numeric", `{"abs_tol":-1}`, "tolerances"},
		{"numeric", `{"pick":"middle"}`, "pick"},
		{"length", `{}`, "min, max"},
		{"length", `{"min":5,"max":2}`, "above max"},
		{"length", `{"max":2,"unit":"lines"}`, "unit"},
		{"tool_call", `{"calls":[{"arguments":{}}]}`, "name is required"},
		{"tool_call", `{"calls":[{"name":"f","arguments":[1]}]}`, "object"},
		{"cost", `{}`, "max_usd"},
		{"cost", `{"max_usd":"0.01"}`, "money"},
		{"cost", `{"max_usd":0.0000000000000001}`, "money"},
		{"latency", `{}`, "max_e2e_ms"},
		{"latency", `{"max_e2e_ms":0}`, "above 0"},
	} {
		_, err := New(tc.kind, json.RawMessage(tc.config))
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s, %s) = %v, want ErrConfig mentioning %q", tc.kind, clip(tc.config, 60), err, tc.want)
		}
	}
	if _, err := New("length", nil); !errors.Is(err, ErrConfig) {
		t.Errorf("empty config of length: %v", err)
	}
	if _, err := New("json_valid", nil); err != nil {
		t.Errorf("empty config of json_valid: %v", err)
	}
	if !slices.IsSorted(Kinds()) || len(Kinds()) != 11 {
		t.Errorf("Kinds() = %v", Kinds())
	}
}

func TestExtractNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []float64
	}{
		{"42", []float64{42}},
		{"The answer is 42.", []float64{42}},
		{"1,234,567.89 and -0.5", []float64{1234567.89, -0.5}},
		{"3.5% of 2e3", []float64{3.5, 2000}},
		{"gpt4 v2 x_1", nil},
		{"−7 °C", []float64{-7}},
		{".5", []float64{0.5}},
		{"+3", []float64{3}},
		{"1e999", nil},
		{"", nil},
		{"a.b", nil},
		{"12,5", []float64{12, 5}},
	} {
		got := ExtractNumbers(tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ExtractNumbers(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	e, err := New("regex", json.RawMessage(`{"pattern":"a+b"}`))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for range 8 {
		go func() {
			r, _ := e.Evaluate(context.Background(), Input{Output: "xaab"})
			done <- r.Pass
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("no match")
		}
	}
}

func FuzzNew(f *testing.F) {
	for _, k := range Kinds() {
		f.Add(k, `{}`)
	}
	f.Add("regex", `{"pattern":"a(b|c)*"}`)
	f.Add("json_schema", `{"schema":{"type":"object","properties":{"a":{"$ref":"#"}}}}`)
	f.Add("tool_call", `{"calls":[{"name":"f","arguments":{"a":[1,{"b":null}]}}]}`)
	f.Add("numeric", `{"value":1e308,"rel_tol":1e308}`)
	f.Fuzz(func(t *testing.T, kind, config string) {
		e, err := New(kind, json.RawMessage(config))
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New error %v does not wrap ErrConfig", err)
			}
			return
		}
		exp := config
		_, err = e.Evaluate(context.Background(), Input{Output: config, Expected: &exp, ToolCalls: []ToolCall{{Name: "f", Arguments: json.RawMessage(config)}}, Cost: usd(1), TTFTMs: fl(1)})
		if err != nil && !errors.Is(err, ErrCannotEvaluate) {
			t.Fatalf("Evaluate: %v", err)
		}
	})
}

func FuzzExtractNumbers(f *testing.F) {
	for _, s := range []string{"42", "1,234.5", "-1e-3", "−2", "v2 3x", ".5.5", "1,23,456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, n := range ExtractNumbers(s) {
			if math.IsNaN(n) || math.IsInf(n, 0) {
				t.Fatalf("ExtractNumbers(%q) gave %v", s, n)
			}
		}
	})
}

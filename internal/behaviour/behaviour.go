// Package behaviour decides what a call's answer did: whether the model
// refused, and whether an answer the caller asked to be JSON is JSON. The
// gateway feeds it the answer's content (streamed text, or the response
// body in the caller's protocol) and the request's JSON mode, and records
// the verdict; drift detection counts the verdicts over time. It holds
// pure logic and imports no other Weir package; any package may import it.
package behaviour

import (
	"bytes"
	"encoding/json"

	"github.com/buger/jsonparser"
)

// MaxContent is the most answer content kept to check JSON validity
// (1 MiB): a longer answer gets no json_valid verdict rather than an
// unbounded buffer per call.
const MaxContent = 1 << 20

// PrefixBytes is the content kept when the request did not ask for JSON:
// the refusal heuristic reads only the answer's first 200 bytes (after
// leading white space), and this much lives inside the call, allocation
// free.
const PrefixBytes = 256

// JSONMode is what a request asked the answer's format to be.
type JSONMode uint8

// JSON modes.
const (
	// JSONNone: no JSON asked for (no response_format, or type text).
	JSONNone JSONMode = iota
	// JSONObject: OpenAI response_format json_object; the answer must be
	// a JSON object.
	JSONObject
	// JSONSchema: OpenAI response_format json_schema, Anthropic
	// output_config.format (or the beta output_format) json_schema; the
	// answer must be JSON (the schema itself is not checked).
	JSONSchema
)

// Limit is the content a call must keep for its checks in mode m.
func (m JSONMode) Limit() int {
	if m == JSONNone {
		return PrefixBytes
	}
	return MaxContent
}

// Answer is what the checks need to know about an answer besides its
// content.
type Answer struct {
	// Refused is set when the provider itself reported a refusal
	// (OpenAI message.refusal or a streamed delta.refusal, Anthropic
	// stop_reason "refusal").
	Refused bool
	// ToolCall is set when the answer is a tool call (finish reason
	// tool_calls, tool_use or function_call, or tool calls in the body).
	ToolCall bool
}

// Verdict is what the record says about an answer.
type Verdict struct {
	// Refusal: the model refused.
	Refusal bool
	// JSONChecked says the answer was checked for JSON (the request asked
	// for JSON, and the answer was neither a failure, a tool call, a
	// refusal nor longer than MaxContent); JSONValid is the result.
	JSONChecked bool
	JSONValid   bool
}

// Judge decides a verdict from the answer, its content and the request's
// JSON mode. failed says the call ended in an error (then no JSON
// verdict: the answer may be cut short).
func Judge(a Answer, content *Text, mode JSONMode, failed bool) Verdict {
	var v Verdict
	if a.ToolCall {
		return v
	}
	v.Refusal = a.Refused || IsRefusal(content.Bytes())
	if mode == JSONNone || failed || v.Refusal || content.Over() {
		return v
	}
	v.JSONChecked, v.JSONValid = true, ValidJSON(content.Bytes(), mode)
	return v
}

// ToolFinish reports whether a finish or stop reason says the answer is a
// tool call.
func ToolFinish(reason string) bool {
	switch reason {
	case "tool_calls", "tool_use", "function_call":
		return true
	}
	return false
}

// RefusalFinish reports whether a finish or stop reason is a provider's
// refusal (Anthropic's stop_reason "refusal"). OpenAI's content_filter is
// not one: it is the provider's filter, not the model, and stays visible
// as the finish reason.
func RefusalFinish(reason string) bool { return reason == "refusal" }

// ValidJSON reports whether content, trimmed of white space, is valid
// JSON, and for JSONObject a JSON object. A fenced block (```json ...)
// is not JSON: a caller parsing the answer would fail too.
func ValidJSON(content []byte, mode JSONMode) bool {
	content = bytes.TrimSpace(content)
	if len(content) == 0 {
		return false
	}
	if mode == JSONObject && content[0] != '{' {
		return false
	}
	return json.Valid(content)
}

// Text collects an answer's content up to a limit, without allocating for
// short limits (PrefixBytes). The zero Text keeps PrefixBytes; a Text must
// not be copied after first use.
type Text struct {
	// Limit is the most bytes kept; 0 means PrefixBytes.
	Limit int
	b     []byte
	over  bool
	small [PrefixBytes]byte
}

func (t *Text) room() int {
	if t.b == nil {
		t.b = t.small[:0]
	}
	l := t.Limit
	if l <= 0 {
		l = PrefixBytes
	}
	return l - len(t.b)
}

// Add appends s, up to the limit.
func (t *Text) Add(s string) {
	if s == "" || t.over {
		return
	}
	room := t.room()
	if len(s) > room {
		s, t.over = s[:max(room, 0)], true
	}
	t.b = append(t.b, s...)
}

// addRaw appends the content of a JSON string (raw, between its quotes,
// still escaped), up to the limit.
func (t *Text) addRaw(raw []byte) {
	if len(raw) == 0 || t.over {
		return
	}
	room := t.room()
	if room <= 0 {
		t.over = true
		return
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		if len(raw) > room {
			raw, t.over = raw[:room], true
		}
		t.b = append(t.b, raw...)
		return
	}
	if bytes.Contains(raw, []byte(`\ud`)) || bytes.Contains(raw, []byte(`\uD`)) {
		// A \uD... escape may be half of a surrogate pair, which
		// jsonparser and encoding/json decode differently when it is
		// lone: take encoding/json's reading (U+FFFD), the slow way.
		t.addSlow(raw)
		return
	}
	// Unescaped text is never longer than its escaped form, so a cut of
	// room bytes of raw fits; a cut inside an escape (at most 12 bytes:
	// a surrogate pair) is backed off until it parses.
	cut := raw
	if len(cut) > room {
		cut, t.over = raw[:room], true
	}
	if cap(t.b)-len(t.b) < len(cut) {
		nb := make([]byte, len(t.b), len(t.b)+len(cut))
		copy(nb, t.b)
		t.b = nb
	}
	for back := 0; back <= 12 && back < len(cut); back++ {
		c := cut[:len(cut)-back]
		u, err := jsonparser.Unescape(c, t.b[len(t.b):cap(t.b)])
		if err == nil {
			if len(u) > 0 && &u[0] != &t.b[len(t.b):cap(t.b)][0] {
				t.b = append(t.b, u...)
			} else {
				t.b = t.b[:len(t.b)+len(u)]
			}
			return
		}
		if !t.over {
			break
		}
	}
}

// addSlow appends the content of the JSON string raw as encoding/json
// reads it, up to the limit; nothing when raw is not a JSON string's.
func (t *Text) addSlow(raw []byte) {
	var str string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	if json.Unmarshal(q, &str) == nil {
		t.Add(str)
	}
}

// Bytes returns the content kept. It aliases the Text's buffer.
func (t *Text) Bytes() []byte { return t.b }

// String returns the content kept.
func (t *Text) String() string { return string(t.b) }

// Over reports whether the content was longer than the limit.
func (t *Text) Over() bool { return t.over }

package behaviour

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOpenAIAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body, content string
		want                Answer
		err                 bool
	}{
		{"content", `{"choices":[{"index":0,"message":{"role":"assistant","content":"Hello \"you\"","refusal":null},"finish_reason":"stop"}]}`, `Hello "you"`, Answer{}, false},
		{"refusal", `{"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`, ``, Answer{Refused: true}, false},
		{"tool call", `{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`, ``, Answer{ToolCall: true}, false},
		{"tool calls with finish stop", `{"choices":[{"message":{"content":"","tool_calls":[{"id":"1"}]},"finish_reason":"stop"}]}`, ``, Answer{ToolCall: true}, false},
		{"empty tool calls", `{"choices":[{"message":{"content":"x","tool_calls":[ ]},"finish_reason":"stop"}]}`, `x`, Answer{}, false},
		{"only first choice", `{"choices":[{"message":{"content":"a"}},{"message":{"content":"b"}}]}`, `a`, Answer{}, false},
		{"no choices", `{"error":{"message":"x"}}`, ``, Answer{}, false},
		{"choice not an object", `{"choices":[3]}`, ``, Answer{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := Text{Limit: MaxContent}
			got, err := OpenAIAnswer([]byte(tc.body), &tx)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got != tc.want || tx.String() != tc.content {
				t.Errorf("got %+v content %q, want %+v %q", got, tx.String(), tc.want, tc.content)
			}
		})
	}
}

func TestAnthropicAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body, content string
		want                Answer
		err                 bool
	}{
		{"text blocks", `{"type":"message","content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"Hel"},{"type":"text","text":"lo\n"}],"stop_reason":"end_turn"}`, "Hello\n", Answer{}, false},
		{"refusal", `{"type":"message","content":[],"stop_reason":"refusal"}`, ``, Answer{Refused: true}, false},
		{"tool use", `{"content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"tool_use"}`, `Let me look.`, Answer{ToolCall: true}, false},
		{"not an object", `[1]`, ``, Answer{}, true},
		{"broken", `{"content":[{"type":"text","text":"a`, ``, Answer{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := Text{Limit: MaxContent}
			got, err := AnthropicAnswer([]byte(tc.body), &tx)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got != tc.want || tx.String() != tc.content {
				t.Errorf("got %+v content %q, want %+v %q", got, tx.String(), tc.want, tc.content)
			}
		})
	}
}

// FuzzOpenAIAnswer checks that the extractor never panics, keeps to its
// limit, and agrees with encoding/json on the content of valid bodies.
func FuzzOpenAIAnswer(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"message":{"content":"Hello \"you\" \u00e9\ud83d\ude00","refusal":null},"finish_reason":"stop"}]}`,
		`{"choices":[{"message":{"refusal":"no"}}]}`,
		`{"choices":[{"message":{"tool_calls":[{}]},"finish_reason":"tool_calls"}]}`,
		`{"choices":[]}`, `{}`, `[]`, `{"choices":[{"message":{"content":"a\`,
	} {
		f.Add([]byte(s), 600)
	}
	f.Fuzz(func(t *testing.T, body []byte, limit int) {
		limit = 1 + abs(limit)%2048
		tx := Text{Limit: limit}
		_, err := OpenAIAnswer(body, &tx)
		if len(tx.Bytes()) > limit {
			t.Fatalf("kept %d bytes, limit %d", len(tx.Bytes()), limit)
		}
		var v struct {
			Choices []struct {
				Message struct {
					Content *string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err != nil || json.Unmarshal(body, &v) != nil || len(v.Choices) == 0 || v.Choices[0].Message.Content == nil {
			return
		}
		want := *v.Choices[0].Message.Content
		if !utf8.Valid(body) || hasDupKeys(body) {
			return // encoding/json replaces invalid UTF-8; duplicate keys differ in which wins
		}
		got := tx.String()
		if tx.Over() {
			if !strings.HasPrefix(want, got) {
				t.Fatalf("cut content %q is not a prefix of %q", got, want)
			}
		} else if got != want {
			t.Fatalf("content %q, encoding/json says %q", got, want)
		}
	})
}

// FuzzAnthropicAnswer checks the same for Messages bodies.
func FuzzAnthropicAnswer(f *testing.F) {
	for _, s := range []string{
		`{"content":[{"type":"text","text":"Hel\"lo"},{"type":"text","text":" \u00e9"}],"stop_reason":"end_turn"}`,
		`{"content":[],"stop_reason":"refusal"}`,
		`{"content":[{"type":"tool_use","input":{}}],"stop_reason":"tool_use"}`,
		`{}`, `[]`, `{"content":[{"type":"text","text":"a\`,
	} {
		f.Add([]byte(s), 600)
	}
	f.Fuzz(func(t *testing.T, body []byte, limit int) {
		limit = 1 + abs(limit)%2048
		tx := Text{Limit: limit}
		_, err := AnthropicAnswer(body, &tx)
		if len(tx.Bytes()) > limit {
			t.Fatalf("kept %d bytes, limit %d", len(tx.Bytes()), limit)
		}
		var v struct {
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		}
		if err != nil || json.Unmarshal(body, &v) != nil || hasDupKeys(body) {
			return
		}
		var want strings.Builder
		for _, b := range v.Content {
			if b.Type == "text" {
				want.WriteString(b.Text)
			}
		}
		if !utf8.Valid(body) {
			return
		}
		got := tx.String()
		if tx.Over() {
			if !strings.HasPrefix(want.String(), got) {
				t.Fatalf("cut content %q is not a prefix of %q", got, want.String())
			}
		} else if got != want.String() {
			t.Fatalf("content %q, encoding/json says %q", got, want.String())
		}
	})
}

// FuzzChunkRefusal checks ChunkRefusal against a parse of the chunk.
func FuzzChunkRefusal(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"delta":{"refusal":"no"}}]}`,
		`{"choices":[{"delta":{"refusal":null,"content":"x"}}]}`,
		`{"choices":[{"delta":{"content":"\"refusal\":\"x\""}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := ChunkRefusal(data)
		var v struct {
			Choices []struct {
				Delta map[string]json.RawMessage `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal(data, &v) != nil || hasDupKeys(data) || !onlyChoicesDelta(data) {
			return
		}
		want := false
		for _, c := range v.Choices {
			var s string
			if json.Unmarshal(c.Delta["refusal"], &s) == nil && s != "" {
				want = true
			}
		}
		if got != want {
			t.Fatalf("ChunkRefusal(%s) = %v, parse says %v", data, got, want)
		}
	})
}

// onlyChoicesDelta reports whether data's only "refusal" keys can be
// delta keys: the fuzz oracle reads no other place.
func onlyChoicesDelta(data []byte) bool {
	var v map[string]json.RawMessage
	if json.Unmarshal(data, &v) != nil {
		return false
	}
	for k, raw := range v {
		if k != "choices" && strings.Contains(string(raw), `"refusal"`) || k == "refusal" {
			return false
		}
	}
	var cs []map[string]json.RawMessage
	if json.Unmarshal(v["choices"], &cs) != nil {
		return !strings.Contains(string(v["choices"]), `"refusal"`)
	}
	for _, c := range cs {
		for k, raw := range c {
			if k != "delta" && strings.Contains(string(raw), `"refusal"`) || k == "refusal" {
				return false
			}
		}
		var d map[string]json.RawMessage
		if json.Unmarshal(c["delta"], &d) != nil {
			if strings.Contains(string(c["delta"]), `"refusal"`) {
				return false
			}
			continue
		}
		for k, raw := range d {
			if k != "refusal" && strings.Contains(string(raw), `"refusal"`) {
				return false
			}
		}
	}
	return true
}

func FuzzIsRefusal(f *testing.F) {
	f.Add([]byte("I'm sorry, but I can't help with that."))
	f.Add([]byte("\xff\xfe I can’t"))
	f.Fuzz(func(t *testing.T, s []byte) {
		IsRefusal(s) // must not panic
		// Only the first 200 bytes count.
		if len(s) > refusalWindow+utf8.UTFMax && IsRefusal(s) != IsRefusal(s[:refusalWindow+utf8.UTFMax]) {
			t.Fatalf("IsRefusal depends on bytes after the window: %q", s)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// hasDupKeys reports whether a JSON document repeats a key in an object,
// or has a key that encoding/json (case-insensitive) would take for
// another: then the oracle and the extractor rightly differ.
func hasDupKeys(b []byte) bool {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return false
				}
				ks := k.(string)
				if seen[strings.ToLower(ks)] || ks != strings.ToLower(ks) {
					return true
				}
				seen[strings.ToLower(ks)] = true
				if walk() {
					return true
				}
			}
			dec.Token()
		case json.Delim('['):
			for dec.More() {
				if walk() {
					return true
				}
			}
			dec.Token()
		}
		return false
	}
	return walk()
}

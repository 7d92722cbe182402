package behaviour

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/buger/jsonparser"
)

// OpenAIAnswer reads a chat.completion body (the caller's protocol, not
// the provider's): choices[0].message.content goes to t, and the answer
// says whether message.refusal is set or the choice is a tool call. A body
// without choices is an empty answer, not an error.
func OpenAIAnswer(body []byte, t *Text) (Answer, error) {
	var a Answer
	// Find choices and its first element without Get's "[0]", which
	// scans every choice to its end before this scans the first again.
	choices, vt, _, err := jsonparser.Get(body, "choices")
	if errors.Is(err, jsonparser.KeyPathNotFoundError) || err == nil && vt != jsonparser.Array {
		return a, nil
	}
	if err != nil {
		return a, fmt.Errorf("read choices: %w", err)
	}
	choice := choices[skipSpace(choices, 1):]
	if len(choice) == 0 || choice[0] == ']' {
		return a, nil
	}
	if choice[0] != '{' {
		return a, errors.New("choices[0] is not an object")
	}
	err = jsonparser.ObjectEach(choice, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
		switch string(k) {
		case "finish_reason":
			if vt == jsonparser.String && toolFinish(v) {
				a.ToolCall = true
			}
		case "message":
			if vt != jsonparser.Object {
				return nil
			}
			return jsonparser.ObjectEach(v, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
				switch string(k) {
				case "content":
					if vt == jsonparser.String {
						t.addRaw(v)
					}
				case "refusal":
					if vt == jsonparser.String && len(v) > 0 {
						a.Refused = true
					}
				case "tool_calls":
					if vt == jsonparser.Array && len(bytes.TrimSpace(v[1:len(v)-1])) > 0 {
						a.ToolCall = true
					}
				case "function_call":
					if vt == jsonparser.Object {
						a.ToolCall = true
					}
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("read choices[0]: %w", err)
	}
	return a, nil
}

// AnthropicAnswer reads a Messages body: the text of its content blocks
// of type text, concatenated, goes to t, and the answer says whether
// stop_reason is "refusal" or the answer holds a tool_use block.
func AnthropicAnswer(body []byte, t *Text) (Answer, error) {
	var a Answer
	err := jsonparser.ObjectEach(body, func(k, v []byte, vt jsonparser.ValueType, _ int) error {
		switch string(k) {
		case "stop_reason":
			if vt == jsonparser.String {
				a.Refused = a.Refused || string(v) == "refusal"
				a.ToolCall = a.ToolCall || toolFinish(v)
			}
		case "content":
			if vt != jsonparser.Array {
				return nil
			}
			var berr error
			_, err := jsonparser.ArrayEach(v, func(block []byte, bt jsonparser.ValueType, _ int, _ error) {
				if bt != jsonparser.Object || berr != nil {
					return
				}
				typ, err := jsonparser.GetString(block, "type")
				if err != nil {
					return
				}
				switch typ {
				case "text":
					text, tt, _, err := jsonparser.Get(block, "text")
					if err == nil && tt == jsonparser.String {
						t.addRaw(text)
					}
				case "tool_use", "server_tool_use":
					a.ToolCall = true
				}
			})
			if err == nil {
				err = berr
			}
			return err
		}
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("read message: %w", err)
	}
	return a, nil
}

// toolFinish is ToolFinish for bytes, without converting them.
func toolFinish(b []byte) bool {
	switch string(b) {
	case "tool_calls", "tool_use", "function_call":
		return true
	}
	return false
}

// refusalKey is searched without its opening quote: JSON chunks are full
// of quotes, and a search led by one stops at each.
var refusalKey = []byte(`refusal"`)

// ChunkRefusal reports whether an OpenAI stream chunk (its SSE framing
// included) carries a non-empty delta.refusal. It looks for the key
// rather than parsing the chunk: a "refusal" key inside content is
// escaped (\"refusal\") and cannot match, and the usual
// "refusal":null is not a refusal.
func ChunkRefusal(data []byte) bool {
	for {
		i := bytes.Index(data, refusalKey)
		if i < 0 {
			return false
		}
		quoted := i > 0 && data[i-1] == '"'
		data = data[i+len(refusalKey):]
		if !quoted {
			continue
		}
		j := skipSpace(data, 0)
		if j >= len(data) || data[j] != ':' {
			continue
		}
		j = skipSpace(data, j+1)
		if j+1 < len(data) && data[j] == '"' && data[j+1] != '"' {
			return true
		}
	}
}

// refusalChunks is how many completion chunks of a stream StreamRefusal
// reads: an OpenAI message carries content or a refusal, and a refusal
// starts at the first completion chunk; reading every chunk would cost
// ~60 ns each.
const refusalChunks = 4

// StreamRefusal watches the first completion chunks of an OpenAI stream
// for a delta.refusal. The zero value is ready to use.
type StreamRefusal struct {
	seen    int
	refused bool
}

// Chunk reads one completion chunk.
func (s *StreamRefusal) Chunk(data []byte) {
	if s.refused || s.seen >= refusalChunks || len(data) == 0 {
		return
	}
	s.seen++
	s.refused = ChunkRefusal(data)
}

// Refused reports whether a chunk carried a refusal.
func (s *StreamRefusal) Refused() bool { return s.refused }

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// OpenAIMode is the JSON mode an OpenAI response_format value (raw JSON,
// nil when absent) asks for.
func OpenAIMode(responseFormat []byte) JSONMode {
	if len(responseFormat) == 0 {
		return JSONNone
	}
	typ, err := jsonparser.GetString(responseFormat, "type")
	if err != nil {
		return JSONNone
	}
	switch typ {
	case "json_object":
		return JSONObject
	case "json_schema":
		return JSONSchema
	}
	return JSONNone
}

// AnthropicMode is the JSON mode an Anthropic request asks for, from its
// output_config (format.type, structured outputs) and the earlier beta
// output_format (type); either is raw JSON, nil when absent.
func AnthropicMode(outputConfig, outputFormat []byte) JSONMode {
	if len(outputConfig) > 0 {
		if typ, err := jsonparser.GetString(outputConfig, "format", "type"); err == nil && typ == "json_schema" {
			return JSONSchema
		}
	}
	if len(outputFormat) > 0 {
		if typ, err := jsonparser.GetString(outputFormat, "type"); err == nil && typ == "json_schema" {
			return JSONSchema
		}
	}
	return JSONNone
}

// RequestMode reads the JSON mode of a whole request body, for a body
// changed after its envelope was read (a prompt's or a route's
// response_format).
func RequestMode(body []byte, anthropic bool) JSONMode {
	get := func(key string) []byte {
		v, vt, _, err := jsonparser.Get(body, key)
		if err != nil || vt != jsonparser.Object {
			return nil
		}
		return v
	}
	if anthropic {
		return AnthropicMode(get("output_config"), get("output_format"))
	}
	return OpenAIMode(get("response_format"))
}

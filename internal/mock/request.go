package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Request decoding for both protocols. Decoding is lenient about unknown
// fields, as gateways add their own, and strict about the types and
// required fields the providers check.

// mediaTokens is the prompt cost of one non-text part (image, audio, file).
const mediaTokens = 85

// size measures prompt text.
type size struct {
	runes int // characters of text
	media int // non-text parts
}

func (s *size) add(o size) { s.runes += o.runes; s.media += o.media }

// tokens is the token cost of a message body: ceil(runes/4) plus
// mediaTokens per media part.
func (s size) tokens() int { return (s.runes+3)/4 + s.media*mediaTokens }

// content is a message's content: null, a string, or an array of parts.
type content struct {
	size
	set bool // present and not null
}

var errContentType = errors.New("content must be a string or an array of content parts")

// UnmarshalJSON measures the content without keeping it.
func (c *content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return errContentType
	}
	switch b[0] {
	case 'n':
		*c = content{}
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = content{size: size{runes: utf8.RuneCountInString(s)}, set: true}
		return nil
	case '[':
		var parts []part
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		*c = content{set: true}
		for i := range parts {
			c.add(parts[i].size())
		}
		return nil
	}
	return errContentType
}

// part is one content part of either protocol.
type part struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	Refusal  string          `json:"refusal"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
	Content  *content        `json:"content"` // tool_result
}

func (p *part) size() size {
	var s size
	switch p.Type {
	case "image", "image_url", "input_audio", "document", "file", "input_image", "input_file":
		s.media++
	}
	s.runes += utf8.RuneCountInString(p.Text) + utf8.RuneCountInString(p.Thinking) +
		utf8.RuneCountInString(p.Refusal) + utf8.RuneCountInString(p.Name) + len(p.Input)
	if p.Content != nil {
		s.add(p.Content.size)
	}
	return s
}

// promptTokens applies the token-count rule: 3 for the reply's priming, plus
// per message 3 and its body's tokens, plus ceil(bytes/4) per tool
// definition.
func promptTokens(messages []size, tools []json.RawMessage) int {
	n := 3
	for _, m := range messages {
		n += 3 + m.tokens()
	}
	for _, t := range tools {
		n += (len(t) + 3) / 4
	}
	return n
}

// chatRequest is an OpenAI chat completions request.
type chatRequest struct {
	Model         *string       `json:"model"`
	Messages      []chatMessage `json:"messages"`
	Stream        *bool         `json:"stream"`
	StreamOptions *struct {
		IncludeUsage *bool `json:"include_usage"`
	} `json:"stream_options"`
	N                   *int            `json:"n"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`

	messagesSet bool
}

type chatMessage struct {
	Role      *string `json:"role"`
	Content   content `json:"content"`
	Name      string  `json:"name"`
	ToolCalls []struct {
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	FunctionCall *struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function_call"`
}

type chatTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"function"`
	raw json.RawMessage
}

func (t *chatTool) UnmarshalJSON(b []byte) error {
	type plain chatTool
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = chatTool(p)
	t.raw = b
	return nil
}

// reqError is a request the provider would reject with 400.
type reqError struct {
	msg, param, code string
}

func (e *reqError) Error() string { return e.msg }

// decodeError turns a JSON decoding error into the provider's wording.
func decodeError(err error, anthropic bool) *reqError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if anthropic {
			return &reqError{msg: fmt.Sprintf("%s: Input should be %s", field, kindName(te.Type, true))}
		}
		return &reqError{
			msg:   fmt.Sprintf("Invalid type for '%s': expected %s, but got %s instead.", field, kindName(te.Type, false), article(te.Value)),
			param: field, code: "invalid_type",
		}
	}
	if errors.Is(err, errContentType) {
		if anthropic {
			return &reqError{msg: "messages: content: Input should be a valid string or a valid list"}
		}
		return &reqError{msg: "Invalid type for 'messages.content': expected one of a string or array of objects.", param: "messages", code: "invalid_type"}
	}
	if anthropic {
		return &reqError{msg: "There was an error parsing the body of your request: the body is not valid JSON."}
	}
	return &reqError{msg: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please visit https://help.openai.com/.)"}
}

func kindName(t reflect.Type, anthropic bool) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		if anthropic {
			return "a valid integer"
		}
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.String:
		if anthropic {
			return "a valid string"
		}
		return "a string"
	case reflect.Bool:
		if anthropic {
			return "a valid boolean"
		}
		return "a boolean"
	case reflect.Slice:
		if anthropic {
			return "a valid list"
		}
		return "an array"
	}
	if anthropic {
		return "a valid dictionary"
	}
	return "an object"
}

func article(jsonType string) string {
	switch jsonType {
	case "array", "object", "number", "bool":
		if jsonType == "bool" {
			jsonType = "boolean"
		}
		if jsonType[0] == 'a' || jsonType[0] == 'o' {
			return "an " + jsonType
		}
		return "a " + jsonType
	case "string":
		return "a string"
	}
	if strings.HasPrefix(jsonType, "number") {
		return "a number"
	}
	return jsonType
}

// toolChoice is the outcome of a request's tools and tool choice.
type toolChoice struct {
	call   bool   // the request allows tool calls
	forced bool   // the request requires one
	name   string // the tool to call
	params []byte // its parameters schema
}

var chatRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

// validate checks the request as OpenAI does, in OpenAI's words.
func (r *chatRequest) validate() *reqError {
	if r.Model == nil || *r.Model == "" {
		return &reqError{msg: "you must provide a model parameter"}
	}
	if !r.messagesSet {
		return &reqError{msg: "Missing required parameter: 'messages'.", param: "messages", code: "missing_required_parameter"}
	}
	if len(r.Messages) == 0 {
		return &reqError{msg: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", param: "messages", code: "empty_array"}
	}
	for i, m := range r.Messages {
		if m.Role == nil {
			return &reqError{msg: fmt.Sprintf("Missing required parameter: 'messages[%d].role'.", i), param: fmt.Sprintf("messages[%d].role", i), code: "missing_required_parameter"}
		}
		if !chatRoles[*m.Role] {
			return &reqError{msg: fmt.Sprintf("Invalid value: '%.40s'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", *m.Role),
				param: fmt.Sprintf("messages[%d].role", i), code: "invalid_value"}
		}
		if !m.Content.set && !(*m.Role == "assistant" && (len(m.ToolCalls) > 0 || m.FunctionCall != nil)) {
			return &reqError{msg: fmt.Sprintf("Missing required parameter: 'messages[%d].content'.", i), param: fmt.Sprintf("messages[%d].content", i), code: "missing_required_parameter"}
		}
	}
	if r.N != nil && (*r.N < 1 || *r.N > 128) {
		return intRange("n", *r.N, 1, 128)
	}
	if r.MaxTokens != nil && *r.MaxTokens < 1 {
		return intRange("max_tokens", *r.MaxTokens, 1, 0)
	}
	if r.MaxCompletionTokens != nil && *r.MaxCompletionTokens < 1 {
		return intRange("max_completion_tokens", *r.MaxCompletionTokens, 1, 0)
	}
	if r.StreamOptions != nil && !r.stream() {
		return &reqError{msg: "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param: "stream_options", code: "invalid_value"}
	}
	for i, t := range r.Tools {
		if t.Function == nil || t.Function.Name == "" {
			return &reqError{msg: fmt.Sprintf("Missing required parameter: 'tools[%d].function.name'.", i), param: fmt.Sprintf("tools[%d].function.name", i), code: "missing_required_parameter"}
		}
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text", "json_object":
		case "json_schema":
			if rf.JSONSchema == nil {
				return &reqError{msg: "Missing required parameter: 'response_format.json_schema'.", param: "response_format.json_schema", code: "missing_required_parameter"}
			}
		default:
			return &reqError{msg: fmt.Sprintf("Invalid value: '%.40s'. Supported values are: 'text', 'json_object', and 'json_schema'.", rf.Type), param: "response_format.type", code: "invalid_value"}
		}
	}
	if _, err := r.toolChoice(); err != nil {
		return err
	}
	return nil
}

func intRange(param string, v, min, max int) *reqError {
	if v < min {
		return &reqError{msg: fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= %d, but got %d instead.", param, min, v), param: param, code: "integer_below_min_value"}
	}
	return &reqError{msg: fmt.Sprintf("Invalid '%s': integer above maximum value. Expected a value <= %d, but got %d instead.", param, max, v), param: param, code: "integer_above_max_value"}
}

func (r *chatRequest) stream() bool { return r.Stream != nil && *r.Stream }

func (r *chatRequest) includeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage != nil && *r.StreamOptions.IncludeUsage
}

func (r *chatRequest) choices() int {
	if r.N == nil {
		return 1
	}
	return *r.N
}

// maxOutput is the output token limit, 0 for none.
func (r *chatRequest) maxOutput() int {
	if r.MaxCompletionTokens != nil {
		return *r.MaxCompletionTokens
	}
	if r.MaxTokens != nil {
		return *r.MaxTokens
	}
	return 0
}

func (r *chatRequest) toolChoice() (toolChoice, *reqError) {
	if len(r.Tools) == 0 {
		return toolChoice{}, nil
	}
	tc := toolChoice{call: true, name: r.Tools[0].Function.Name, params: r.Tools[0].Function.Parameters}
	raw := bytes.TrimSpace(r.ToolChoice)
	if len(raw) == 0 || string(raw) == "null" {
		return tc, nil
	}
	if raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		switch s {
		case "none":
			return toolChoice{}, nil
		case "auto":
			return tc, nil
		case "required":
			tc.forced = true
			return tc, nil
		}
		return toolChoice{}, &reqError{msg: fmt.Sprintf("Invalid value: '%.40s'. Supported values are: 'none', 'auto', and 'required'.", s), param: "tool_choice", code: "invalid_value"}
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return toolChoice{}, &reqError{msg: "Invalid type for 'tool_choice': expected one of a string or an object.", param: "tool_choice", code: "invalid_type"}
	}
	if obj.Type != "function" {
		return tc, nil // allowed_tools and later forms: behave as auto
	}
	for _, t := range r.Tools {
		if t.Function.Name == obj.Function.Name {
			return toolChoice{call: true, forced: true, name: t.Function.Name, params: t.Function.Parameters}, nil
		}
	}
	return toolChoice{}, &reqError{msg: fmt.Sprintf("Invalid value for 'tool_choice': tool '%.60s' not found in 'tools'.", obj.Function.Name), param: "tool_choice", code: "invalid_value"}
}

// promptTokens counts the request's prompt by the token-count rule.
func (r *chatRequest) promptTokens() int {
	var buf [16]size
	sizes := buf[:0]
	for i := range r.Messages {
		m := &r.Messages[i]
		s := m.Content.size
		s.runes += utf8.RuneCountInString(m.Name)
		for _, tc := range m.ToolCalls {
			s.runes += utf8.RuneCountInString(tc.Function.Name) + utf8.RuneCountInString(tc.Function.Arguments)
		}
		if m.FunctionCall != nil {
			s.runes += utf8.RuneCountInString(m.FunctionCall.Name) + utf8.RuneCountInString(m.FunctionCall.Arguments)
		}
		sizes = append(sizes, s)
	}
	var tools []json.RawMessage
	if len(r.Tools) > 0 {
		tools = make([]json.RawMessage, len(r.Tools))
		for i := range r.Tools {
			tools[i] = r.Tools[i].raw
		}
	}
	return promptTokens(sizes, tools)
}

// parseChat decodes and validates a chat completions request.
func parseChat(body []byte) (*chatRequest, *reqError) {
	r := &chatRequest{}
	if err := json.Unmarshal(body, r); err != nil {
		return nil, decodeError(err, false)
	}
	r.messagesSet = r.Messages != nil // [] decodes to an empty, non-nil slice
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// embeddingRequest is an OpenAI embeddings request.
type embeddingRequest struct {
	Model          *string         `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat *string         `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`

	inputs [][]byte // each input as its canonical bytes, for hashing
	tokens []int    // each input's token count
}

func parseEmbedding(body []byte) (*embeddingRequest, *reqError) {
	r := &embeddingRequest{}
	if err := json.Unmarshal(body, r); err != nil {
		return nil, decodeError(err, false)
	}
	if r.Model == nil || *r.Model == "" {
		return nil, &reqError{msg: "you must provide a model parameter"}
	}
	raw := bytes.TrimSpace(r.Input)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, &reqError{msg: "'input' is a required property", param: "input", code: "missing_required_parameter"}
	}
	bad := &reqError{msg: "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", param: "input", code: "invalid_value"}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return nil, bad
		}
		r.add(s)
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || len(items) == 0 || len(items) > 2048 {
			return nil, bad
		}
		// An array of integers is one tokenised input; otherwise every item
		// is a string or an array of integers.
		var ints []int
		if json.Unmarshal(raw, &ints) == nil {
			r.addTokens(raw, len(ints))
			break
		}
		for _, it := range items {
			var s string
			if json.Unmarshal(it, &s) == nil {
				if s == "" {
					return nil, bad
				}
				r.add(s)
				continue
			}
			if json.Unmarshal(it, &ints) != nil || len(ints) == 0 {
				return nil, bad
			}
			r.addTokens(it, len(ints))
		}
	default:
		return nil, bad
	}
	if r.EncodingFormat != nil && *r.EncodingFormat != "float" && *r.EncodingFormat != "base64" {
		return nil, &reqError{msg: fmt.Sprintf("Invalid value: '%.40s'. Supported values are: 'float' and 'base64'.", *r.EncodingFormat), param: "encoding_format", code: "invalid_value"}
	}
	if r.Dimensions != nil && *r.Dimensions < 1 {
		return nil, intRange("dimensions", *r.Dimensions, 1, 0)
	}
	return r, nil
}

func (r *embeddingRequest) add(s string) {
	r.inputs = append(r.inputs, []byte(s))
	n := (utf8.RuneCountInString(s) + 3) / 4
	if n < 1 {
		n = 1
	}
	r.tokens = append(r.tokens, n)
}

func (r *embeddingRequest) addTokens(raw []byte, n int) {
	r.inputs = append(r.inputs, raw)
	r.tokens = append(r.tokens, n)
}

func (r *embeddingRequest) base64() bool {
	return r.EncodingFormat != nil && *r.EncodingFormat == "base64"
}

// messagesRequest is an Anthropic Messages request.
type messagesRequest struct {
	Model      *string        `json:"model"`
	Messages   *[]anthMessage `json:"messages"`
	System     *content       `json:"system"`
	MaxTokens  *int           `json:"max_tokens"`
	Stream     *bool          `json:"stream"`
	Tools      []anthTool     `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
	Thinking *struct {
		Type         string `json:"type"`
		BudgetTokens *int   `json:"budget_tokens"`
	} `json:"thinking"`
}

type anthMessage struct {
	Role    *string `json:"role"`
	Content content `json:"content"`
}

type anthTool struct {
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	InputSchema json.RawMessage `json:"input_schema"`
	raw         json.RawMessage
}

func (t *anthTool) UnmarshalJSON(b []byte) error {
	type plain anthTool
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = anthTool(p)
	t.raw = b
	return nil
}

// parseMessages decodes and validates a Messages request; count_tokens
// requests have no max_tokens.
func parseMessages(body []byte, requireMax bool) (*messagesRequest, *reqError) {
	r := &messagesRequest{}
	if err := json.Unmarshal(body, r); err != nil {
		return nil, decodeError(err, true)
	}
	if err := r.validate(requireMax); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *messagesRequest) validate(requireMax bool) *reqError {
	if r.Model == nil || *r.Model == "" {
		return &reqError{msg: "model: Field required"}
	}
	if r.MaxTokens == nil && requireMax {
		return &reqError{msg: "max_tokens: Field required"}
	}
	if r.MaxTokens != nil && *r.MaxTokens < 1 {
		return &reqError{msg: "max_tokens: Input should be greater than or equal to 1"}
	}
	if r.Messages == nil {
		return &reqError{msg: "messages: Field required"}
	}
	if len(*r.Messages) == 0 {
		return &reqError{msg: "messages: at least one message is required"}
	}
	for i, m := range *r.Messages {
		if m.Role == nil {
			return &reqError{msg: fmt.Sprintf("messages.%d.role: Field required", i)}
		}
		if *m.Role != "user" && *m.Role != "assistant" {
			return &reqError{msg: fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)}
		}
		if !m.Content.set {
			return &reqError{msg: fmt.Sprintf("messages.%d.content: Field required", i)}
		}
	}
	if t := r.Thinking; t != nil {
		switch t.Type {
		case "enabled":
			if t.BudgetTokens == nil {
				return &reqError{msg: "thinking.enabled.budget_tokens: Field required"}
			}
			if *t.BudgetTokens < 1024 {
				return &reqError{msg: "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"}
			}
			if r.MaxTokens != nil && *t.BudgetTokens >= *r.MaxTokens {
				return &reqError{msg: "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"}
			}
		case "disabled", "adaptive":
		default:
			return &reqError{msg: "thinking: Input tag '" + limit(t.Type, 40) + "' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'"}
		}
	}
	for i, t := range r.Tools {
		if t.Name == "" {
			return &reqError{msg: fmt.Sprintf("tools.%d.name: Field required", i)}
		}
	}
	if tc := r.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto", "any", "none":
		case "tool":
			if r.findTool(tc.Name) < 0 {
				return &reqError{msg: fmt.Sprintf("Tool '%s' not found in provided tools", limit(tc.Name, 60))}
			}
		default:
			return &reqError{msg: "tool_choice: Input tag '" + limit(tc.Type, 40) + "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"}
		}
	}
	return nil
}

func limit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func (r *messagesRequest) findTool(name string) int {
	for i, t := range r.Tools {
		if t.Name == name {
			return i
		}
	}
	return -1
}

func (r *messagesRequest) stream() bool { return r.Stream != nil && *r.Stream }

// thinking reports whether the request enables thinking and its budget
// (0 for none).
func (r *messagesRequest) thinking() (bool, int) {
	if r.Thinking == nil {
		return false, 0
	}
	switch r.Thinking.Type {
	case "enabled":
		return true, *r.Thinking.BudgetTokens
	case "adaptive":
		return true, 0
	}
	return false, 0
}

func (r *messagesRequest) toolChoice() toolChoice {
	if len(r.Tools) == 0 {
		return toolChoice{}
	}
	tc := toolChoice{call: true, name: r.Tools[0].Name, params: r.Tools[0].InputSchema}
	if c := r.ToolChoice; c != nil {
		switch c.Type {
		case "none":
			return toolChoice{}
		case "any":
			tc.forced = true
		case "tool":
			t := r.Tools[r.findTool(c.Name)]
			tc = toolChoice{call: true, forced: true, name: t.Name, params: t.InputSchema}
		}
	}
	return tc
}

func (r *messagesRequest) promptTokens() int {
	var buf [16]size
	sizes := buf[:0]
	if r.System != nil && r.System.set {
		sizes = append(sizes, r.System.size)
	}
	for _, m := range *r.Messages {
		sizes = append(sizes, m.Content.size)
	}
	var tools []json.RawMessage
	if len(r.Tools) > 0 {
		tools = make([]json.RawMessage, len(r.Tools))
		for i := range r.Tools {
			tools[i] = r.Tools[i].raw
		}
	}
	return promptTokens(sizes, tools)
}

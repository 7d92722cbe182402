package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/weirhq/weir/internal/apierror"
)

// DefaultMaxTokens is the max_tokens sent when an OpenAI caller sets neither
// max_tokens nor max_completion_tokens: Anthropic requires the field.
const DefaultMaxTokens = 4096

// thinkingBudgets maps reasoning_effort to budget_tokens for models that
// take the manual thinking form (Claude 4.5 and earlier, and servers that are
// not Claude). Anthropic's minimum budget is 1024.
var thinkingBudgets = map[string]int64{
	"minimal": 1024,
	"low":     2048,
	"medium":  8192,
	"high":    16384,
	"xhigh":   32768,
}

// adaptiveEffort maps reasoning_effort to output_config.effort for models
// that take adaptive thinking (Claude 4.6 and later).
var adaptiveEffort = map[string]string{
	"minimal": "low",
	"low":     "low",
	"medium":  "medium",
	"high":    "high",
	"xhigh":   "xhigh",
}

// jsonObjectInstruction is added to the system prompt for response_format
// json_object and json_schema: the classic Messages API has no JSON mode.
const jsonObjectInstruction = "Respond with a single valid JSON object and nothing else: no Markdown code fences, no text before or after it."

// chatRequest is an OpenAI chat completions request, as far as the
// translation reads it.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int64          `json:"top_k"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	User                string          `json:"user"`
	SafetyIdentifier    string          `json:"safety_identifier"`
	N                   *int64          `json:"n"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Schema      json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	ReasoningEffort string `json:"reasoning_effort"`

	// Fields that cannot be honoured and change what the caller gets back.
	LogitBias        map[string]json.RawMessage `json:"logit_bias"`
	Logprobs         *bool                      `json:"logprobs"`
	TopLogprobs      *int64                     `json:"top_logprobs"`
	Audio            json.RawMessage            `json:"audio"`
	Modalities       []string                   `json:"modalities"`
	WebSearchOptions json.RawMessage            `json:"web_search_options"`
	Functions        json.RawMessage            `json:"functions"`
	FunctionCall     json.RawMessage            `json:"function_call"`
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []chatToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type chatToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
	File *struct {
		FileData string `json:"file_data"`
		FileID   string `json:"file_id"`
	} `json:"file"`
	// CacheControl is not OpenAI's but Anthropic's; callers who know they
	// reach Claude may set it on a part and it is passed on.
	CacheControl json.RawMessage `json:"cache_control"`
}

// messagesRequest is the Anthropic Messages request the translation builds.
type messagesRequest struct {
	Model         string        `json:"model"`
	MaxTokens     int64         `json:"max_tokens"`
	System        any           `json:"system,omitempty"`
	Messages      []turn        `json:"messages"`
	Metadata      *metadata     `json:"metadata,omitempty"`
	StopSequences []string      `json:"stop_sequences,omitempty"`
	Stream        bool          `json:"stream,omitempty"`
	Temperature   *float64      `json:"temperature,omitempty"`
	TopP          *float64      `json:"top_p,omitempty"`
	TopK          *int64        `json:"top_k,omitempty"`
	Tools         []tool        `json:"tools,omitempty"`
	ToolChoice    *toolChoice   `json:"tool_choice,omitempty"`
	Thinking      *thinking     `json:"thinking,omitempty"`
	OutputConfig  *outputConfig `json:"output_config,omitempty"`
}

type turn struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

type block struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	Source       *source         `json:"source,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      []block         `json:"content,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type source struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int64  `json:"budget_tokens,omitempty"`
}

type outputConfig struct {
	Effort string `json:"effort"`
}

// invalid is an invalid_request error naming the offending parameter.
func invalid(param, format string, args ...any) *apierror.Error {
	e := apierror.New(apierror.InvalidRequest, format, args...)
	e.Param = param
	return e
}

// TranslateRequest turns an OpenAI chat completions request body into an
// Anthropic Messages request body. model, when set, replaces the body's
// model; stream sets the stream flag. Requests that ask for something
// Anthropic cannot do, and whose answer would be wrong without it, fail
// with an invalid_request *apierror.Error.
func TranslateRequest(body []byte, model string, stream bool) ([]byte, error) {
	var in chatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, invalid(te.Field, "invalid type for '%s': expected %s", te.Field, te.Type)
		}
		return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request body is not a valid chat completions request")
	}
	if err := rejectUnsupported(&in); err != nil {
		return nil, err
	}
	out := messagesRequest{Model: in.Model, Stream: stream, Temperature: in.Temperature, TopP: in.TopP, TopK: in.TopK}
	if model != "" {
		out.Model = model
	}
	var system []block
	for i := range in.Messages {
		if err := addMessage(&out, &system, &in.Messages[i], i); err != nil {
			return nil, err
		}
	}
	if in.ResponseFormat != nil {
		switch in.ResponseFormat.Type {
		case "", "text":
		case "json_object":
			system = append(system, block{Type: "text", Text: jsonObjectInstruction})
		case "json_schema":
			instr := jsonObjectInstruction
			if s := in.ResponseFormat.JSONSchema; s != nil && isJSONValue(s.Schema) {
				var buf bytes.Buffer
				if err := json.Compact(&buf, s.Schema); err != nil {
					return nil, invalid("response_format.json_schema.schema", "response_format.json_schema.schema is not valid JSON")
				}
				instr += " The object must conform to this JSON Schema"
				if s.Name != "" {
					instr += " (" + s.Name + ")"
				}
				instr += ": " + buf.String()
				if s.Description != "" {
					instr += "\nSchema description: " + s.Description
				}
			}
			system = append(system, block{Type: "text", Text: instr})
		default:
			return nil, invalid("response_format.type", "response_format type %q is not supported for Anthropic models", in.ResponseFormat.Type)
		}
	}
	out.System = systemValue(system)
	if out.Messages == nil {
		out.Messages = []turn{} // let Anthropic say what is missing
	}

	switch {
	case in.MaxCompletionTokens != nil:
		out.MaxTokens = *in.MaxCompletionTokens
	case in.MaxTokens != nil:
		out.MaxTokens = *in.MaxTokens
	}
	param := "max_tokens"
	if in.MaxCompletionTokens != nil {
		param = "max_completion_tokens"
	}
	if (in.MaxCompletionTokens != nil || in.MaxTokens != nil) && out.MaxTokens < 1 {
		return nil, invalid(param, "%s must be at least 1", param)
	}
	if err := setReasoning(&out, in.ReasoningEffort, param); err != nil {
		return nil, err
	}
	if out.MaxTokens == 0 {
		out.MaxTokens = DefaultMaxTokens
	}

	if isJSONValue(in.Stop) {
		var one string
		var many []string
		switch {
		case json.Unmarshal(in.Stop, &one) == nil:
			many = []string{one}
		case json.Unmarshal(in.Stop, &many) == nil:
		default:
			return nil, invalid("stop", "stop must be a string or an array of strings")
		}
		for _, s := range many {
			if s != "" {
				out.StopSequences = append(out.StopSequences, s)
			}
		}
	}
	if id := in.User; id != "" || in.SafetyIdentifier != "" {
		if in.SafetyIdentifier != "" {
			id = in.SafetyIdentifier
		}
		out.Metadata = &metadata{UserID: id}
	}
	if err := setTools(&out, &in); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request could not be translated for Anthropic")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// rejectUnsupported fails requests for features whose absence the caller
// would not notice until it broke them: several choices, log probabilities,
// token bans, audio, web search and the legacy functions API.
func rejectUnsupported(in *chatRequest) error {
	switch {
	case in.N != nil && *in.N != 1:
		return invalid("n", "n=%d is not supported for Anthropic models: they return one choice per request", *in.N)
	case len(in.LogitBias) > 0:
		return invalid("logit_bias", "logit_bias is not supported for Anthropic models")
	case in.Logprobs != nil && *in.Logprobs, in.TopLogprobs != nil && *in.TopLogprobs > 0:
		return invalid("logprobs", "logprobs are not supported for Anthropic models")
	case isJSONValue(in.Audio):
		return invalid("audio", "audio output is not supported for Anthropic models")
	case isJSONValue(in.WebSearchOptions):
		return invalid("web_search_options", "web_search_options is not supported for Anthropic models through chat completions")
	case isJSONValue(in.Functions), isJSONValue(in.FunctionCall):
		return invalid("functions", "the legacy functions and function_call fields are not supported: use tools and tool_choice")
	}
	for _, m := range in.Modalities {
		if m != "text" {
			return invalid("modalities", "output modality %q is not supported for Anthropic models", m)
		}
	}
	return nil
}

// appendTurn adds blocks to the conversation, merging them into the last
// turn when it has the same role: Anthropic requires alternating roles.
func appendTurn(out *messagesRequest, role string, blocks []block) {
	if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
		out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
		return
	}
	if blocks == nil {
		blocks = []block{}
	}
	out.Messages = append(out.Messages, turn{Role: role, Content: blocks})
}

func addMessage(out *messagesRequest, system *[]block, m *chatMessage, i int) error {
	param := fmt.Sprintf("messages[%d]", i)
	switch m.Role {
	case "system", "developer":
		// Anthropic has one system prompt: every system message joins it, in
		// order, wherever it stood in the conversation.
		blocks, err := contentBlocks(m.Content, param, false)
		if err != nil {
			return err
		}
		*system = append(*system, blocks...)
	case "user":
		blocks, err := contentBlocks(m.Content, param, true)
		if err != nil {
			return err
		}
		appendTurn(out, "user", blocks)
	case "assistant":
		blocks, err := contentBlocks(m.Content, param, false)
		if err != nil {
			return err
		}
		for j, tc := range m.ToolCalls {
			tparam := fmt.Sprintf("%s.tool_calls[%d]", param, j)
			if tc.Type != "" && tc.Type != "function" {
				return invalid(tparam+".type", "tool call type %q is not supported for Anthropic models", tc.Type)
			}
			if tc.ID == "" || tc.Function.Name == "" {
				return invalid(tparam, "%s needs an id and a function name", tparam)
			}
			input, err := toolInput(tc.Function.Arguments)
			if err != nil {
				return invalid(tparam+".function.arguments", "%s.function.arguments must be a JSON object", tparam)
			}
			blocks = append(blocks, block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
		}
		appendTurn(out, "assistant", blocks)
	case "tool":
		if m.ToolCallID == "" {
			return invalid(param+".tool_call_id", "%s is a tool message without tool_call_id", param)
		}
		content, err := contentBlocks(m.Content, param, true)
		if err != nil {
			return err
		}
		appendTurn(out, "user", []block{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: content}})
	case "function":
		return invalid(param+".role", "the legacy function role is not supported: use tool messages")
	default:
		return invalid(param+".role", "%s has unknown role %q", param, m.Role)
	}
	return nil
}

// toolInput parses tool call arguments, which must be a JSON object (an
// empty string means no arguments).
func toolInput(args string) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace([]byte(args))
	if len(trimmed) == 0 {
		return json.RawMessage("{}"), nil
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, errors.New("arguments are not a JSON object")
	}
	return json.RawMessage(trimmed), nil
}

// contentBlocks translates a message's content: a string, null or an array
// of parts. Images and files are allowed only where media is (user and tool
// messages). Empty text is dropped: Anthropic rejects empty text blocks.
func contentBlocks(raw json.RawMessage, param string, media bool) ([]block, error) {
	if !isJSONValue(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid(param+".content", "%s.content is not a valid string", param)
		}
		if s == "" {
			return nil, nil
		}
		return []block{{Type: "text", Text: s}}, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, invalid(param+".content", "%s.content must be a string or an array of content parts", param)
	}
	blocks := make([]block, 0, len(parts))
	for j, p := range parts {
		pparam := fmt.Sprintf("%s.content[%d]", param, j)
		var b block
		switch p.Type {
		case "text":
			if p.Text == "" {
				continue
			}
			b = block{Type: "text", Text: p.Text}
		case "refusal":
			if p.Refusal == "" {
				continue
			}
			b = block{Type: "text", Text: p.Refusal}
		case "image_url":
			if !media {
				return nil, invalid(pparam, "%s: images are only allowed in user and tool messages", pparam)
			}
			if p.ImageURL == nil {
				return nil, invalid(pparam+".image_url", "%s has no image_url", pparam)
			}
			src, err := imageSource(p.ImageURL.URL)
			if err != nil {
				return nil, invalid(pparam+".image_url.url", "%s: %v", pparam, err)
			}
			b = block{Type: "image", Source: src}
		case "file":
			if !media {
				return nil, invalid(pparam, "%s: files are only allowed in user and tool messages", pparam)
			}
			if p.File == nil || p.File.FileData == "" {
				return nil, invalid(pparam+".file", "%s: only inline file_data is supported for Anthropic models, not file_id", pparam)
			}
			mt, data, ok := parseDataURL(p.File.FileData)
			if !ok {
				return nil, invalid(pparam+".file.file_data", "%s: file_data must be a base64 data: URL", pparam)
			}
			b = block{Type: "document", Source: &source{Type: "base64", MediaType: mt, Data: data}}
		case "input_audio":
			return nil, invalid(pparam, "%s: audio input is not supported for Anthropic models", pparam)
		default:
			return nil, invalid(pparam+".type", "%s has unsupported content part type %q", pparam, p.Type)
		}
		if isJSONValue(p.CacheControl) {
			b.CacheControl = p.CacheControl
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// imageSource turns an image_url into an Anthropic image source: data: URLs
// become base64 sources, http(s) URLs url sources.
func imageSource(u string) (*source, error) {
	if strings.HasPrefix(u, "data:") {
		mt, data, ok := parseDataURL(u)
		if !ok {
			return nil, errors.New("a data: image URL must be base64-encoded (data:image/png;base64,...)")
		}
		return &source{Type: "base64", MediaType: mt, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &source{Type: "url", URL: u}, nil
	}
	return nil, errors.New("the image URL must be an http(s) or base64 data: URL")
}

// parseDataURL splits data:MEDIA;base64,DATA.
func parseDataURL(u string) (mediaType, data string, ok bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return "", "", false
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", false
	}
	mediaType, ok = strings.CutSuffix(meta, ";base64")
	if !ok || mediaType == "" || data == "" {
		return "", "", false
	}
	return mediaType, data, true
}

// systemValue is the system prompt: a plain string when no block carries
// cache_control, else the text blocks themselves.
func systemValue(blocks []block) any {
	if len(blocks) == 0 {
		return nil
	}
	texts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		if b.CacheControl != nil || b.Type != "text" {
			return blocks
		}
		texts = append(texts, b.Text)
	}
	return strings.Join(texts, "\n\n")
}

// setReasoning maps reasoning_effort. Claude 4.6 and later take adaptive
// thinking with output_config.effort (newer models reject budget_tokens);
// older models and other servers take thinking.budget_tokens, which must be
// below max_tokens. Without an explicit max_tokens the budget is added to
// DefaultMaxTokens so the answer keeps its room.
func setReasoning(out *messagesRequest, effort, maxParam string) error {
	if effort == "" || effort == "none" {
		return nil
	}
	budget, ok := thinkingBudgets[effort]
	if !ok {
		return invalid("reasoning_effort", "reasoning_effort %q is not one of none, minimal, low, medium, high, xhigh", effort)
	}
	if usesAdaptiveThinking(out.Model) {
		out.Thinking = &thinking{Type: "adaptive"}
		out.OutputConfig = &outputConfig{Effort: adaptiveEffort[effort]}
		if out.MaxTokens == 0 {
			out.MaxTokens = DefaultMaxTokens + budget
		}
		return nil
	}
	switch {
	case out.MaxTokens == 0:
		out.MaxTokens = DefaultMaxTokens + budget
	case out.MaxTokens <= budget:
		// The caller's cap wins: think with half of it, if that is enough.
		budget = out.MaxTokens / 2
		if budget < 1024 {
			return invalid(maxParam, "%s must be at least 2048 to use reasoning_effort with this model (the thinking budget is at least 1024 tokens and part of it)", maxParam)
		}
	}
	out.Thinking = &thinking{Type: "enabled", BudgetTokens: budget}
	return nil
}

// usesAdaptiveThinking reports whether model is a Claude model of version
// 4.6 or later, or a Claude model whose id carries no version (the newest
// families, which only take adaptive thinking).
func usesAdaptiveThinking(model string) bool {
	m := strings.ToLower(model)
	i := strings.Index(m, "claude")
	if i < 0 {
		return false
	}
	major, minor, ok := claudeVersion(m[i:])
	if !ok {
		return true
	}
	return major > 4 || major == 4 && minor >= 6
}

// claudeVersion reads the version from ids such as claude-sonnet-4-5-20250929,
// claude-3-7-sonnet-20250219, claude-opus-4-20250514 or claude-2.1: the first
// one- or two-digit number, and the next one if it follows directly.
func claudeVersion(id string) (major, minor int, ok bool) {
	fields := strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '.' || r == '@' || r == ':' })
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || len(f) > 2 {
			continue
		}
		if i+1 < len(fields) {
			if m, err := strconv.Atoi(fields[i+1]); err == nil && len(fields[i+1]) <= 2 {
				minor = m
			}
		}
		return n, minor, true
	}
	return 0, 0, false
}

// setTools translates tools, tool_choice and parallel_tool_calls.
func setTools(out *messagesRequest, in *chatRequest) error {
	for i, t := range in.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "" && t.Type != "function" {
			return invalid(param+".type", "tool type %q is not supported for Anthropic models", t.Type)
		}
		if t.Function == nil || t.Function.Name == "" {
			return invalid(param+".function.name", "%s needs a function name", param)
		}
		schema := t.Function.Parameters
		if !isJSONValue(schema) {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		} else if !json.Valid(schema) || bytes.TrimSpace(schema)[0] != '{' {
			return invalid(param+".function.parameters", "%s.function.parameters must be a JSON Schema object", param)
		}
		out.Tools = append(out.Tools, tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	if len(out.Tools) == 0 {
		// Without tools there is nothing to choose: tool_choice and
		// parallel_tool_calls are moot, and Anthropic rejects a lone
		// tool_choice.
		return nil
	}
	if isJSONValue(in.ToolChoice) {
		var s string
		var obj struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		switch {
		case json.Unmarshal(in.ToolChoice, &s) == nil:
			switch s {
			case "auto":
				out.ToolChoice = &toolChoice{Type: "auto"}
			case "none":
				out.ToolChoice = &toolChoice{Type: "none"}
			case "required":
				out.ToolChoice = &toolChoice{Type: "any"}
			default:
				return invalid("tool_choice", "tool_choice %q is not one of auto, none, required", s)
			}
		case json.Unmarshal(in.ToolChoice, &obj) == nil && obj.Type == "function" && obj.Function.Name != "":
			out.ToolChoice = &toolChoice{Type: "tool", Name: obj.Function.Name}
		default:
			return invalid("tool_choice", "tool_choice must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}")
		}
	}
	if in.ParallelToolCalls != nil && !*in.ParallelToolCalls {
		if out.ToolChoice == nil {
			out.ToolChoice = &toolChoice{Type: "auto"}
		}
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}
	return nil
}

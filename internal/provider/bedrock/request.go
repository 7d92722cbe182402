package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weirhq/weir/internal/apierror"
)

// DefaultMaxTokens is the maxTokens sent when an OpenAI caller sets neither
// max_tokens nor max_completion_tokens: Claude on Bedrock requires one, and
// the models that do not simply use it as their cap.
const DefaultMaxTokens = 4096

// thinkingBudgets maps reasoning_effort to Claude's thinking budget_tokens,
// sent in additionalModelRequestFields (Bedrock passes it to the model).
var thinkingBudgets = map[string]int64{
	"minimal": 1024,
	"low":     2048,
	"medium":  8192,
	"high":    16384,
	"xhigh":   32768,
}

// jsonObjectInstruction is added to the system prompt for response_format
// json_object and json_schema: Converse has no JSON mode.
const jsonObjectInstruction = "Respond with a single valid JSON object and nothing else: no Markdown code fences, no text before or after it."

// chatRequest is an OpenAI chat completions request, as far as the
// translation reads it.
type chatRequest struct {
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int64          `json:"top_k"`
	Stop                json.RawMessage `json:"stop"`
	N                   *int64          `json:"n"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
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
		Filename string `json:"filename"`
	} `json:"file"`
	// CacheControl is Anthropic's marker; on Bedrock it becomes a
	// cachePoint block after the part.
	CacheControl json.RawMessage `json:"cache_control"`
}

// converseRequest is the body of POST /model/{modelId}/converse and
// /converse-stream. The model id travels in the path.
type converseRequest struct {
	Messages                     []message        `json:"messages"`
	System                       []block          `json:"system,omitempty"`
	InferenceConfig              *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig                   *toolConfig      `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields map[string]any   `json:"additionalModelRequestFields,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is a Converse ContentBlock (and SystemContentBlock): exactly one
// field is set.
type block struct {
	Text             *string           `json:"text,omitempty"`
	Image            *media            `json:"image,omitempty"`
	Document         *media            `json:"document,omitempty"`
	ToolUse          *toolUse          `json:"toolUse,omitempty"`
	ToolResult       *toolResult       `json:"toolResult,omitempty"`
	ReasoningContent *reasoningContent `json:"reasoningContent,omitempty"`
	CachePoint       *cachePoint       `json:"cachePoint,omitempty"`
}

type media struct {
	Format string `json:"format"`
	Name   string `json:"name,omitempty"`
	Source struct {
		Bytes string `json:"bytes"`
	} `json:"source"`
}

type toolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResult struct {
	ToolUseID string  `json:"toolUseId"`
	Content   []block `json:"content"`
}

type reasoningContent struct {
	ReasoningText *struct {
		Text      string `json:"text"`
		Signature string `json:"signature,omitempty"`
	} `json:"reasoningText,omitempty"`
	RedactedContent string `json:"redactedContent,omitempty"`
}

type cachePoint struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

type inferenceConfig struct {
	MaxTokens     int64    `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []toolSpecWrap `json:"tools"`
	ToolChoice map[string]any `json:"toolChoice,omitempty"`
}

type toolSpecWrap struct {
	ToolSpec toolSpec `json:"toolSpec"`
}

type toolSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	InputSchema struct {
		JSON json.RawMessage `json:"json"`
	} `json:"inputSchema"`
}

func textBlock(s string) block { return block{Text: &s} }

// invalid is an invalid_request error naming the offending parameter.
func invalid(param, format string, args ...any) *apierror.Error {
	e := apierror.New(apierror.InvalidRequest, format, args...)
	e.Param = param
	return e
}

func isJSONValue(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// TranslateRequest turns an OpenAI chat completions request body into a
// Converse request body for model (which travels in the URL path, not the
// body). Requests that ask for something Converse cannot do, and whose
// answer would be wrong without it, fail with an invalid_request
// *apierror.Error.
func TranslateRequest(body []byte, model string) ([]byte, error) {
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
	var out converseRequest
	for i := range in.Messages {
		if err := addMessage(&out, &in.Messages[i], i); err != nil {
			return nil, err
		}
	}
	if out.Messages == nil {
		out.Messages = []message{} // let Bedrock say what is missing
	}
	if err := responseFormat(&out, &in); err != nil {
		return nil, err
	}

	ic := &inferenceConfig{Temperature: in.Temperature, TopP: in.TopP}
	param := "max_tokens"
	switch {
	case in.MaxCompletionTokens != nil:
		ic.MaxTokens, param = *in.MaxCompletionTokens, "max_completion_tokens"
	case in.MaxTokens != nil:
		ic.MaxTokens = *in.MaxTokens
	}
	if (in.MaxCompletionTokens != nil || in.MaxTokens != nil) && ic.MaxTokens < 1 {
		return nil, invalid(param, "%s must be at least 1", param)
	}
	if err := setReasoning(&out, ic, in.ReasoningEffort, model, param); err != nil {
		return nil, err
	}
	if ic.MaxTokens == 0 {
		ic.MaxTokens = DefaultMaxTokens
	}
	stops, err := stopSequences(in.Stop)
	if err != nil {
		return nil, err
	}
	ic.StopSequences = stops
	out.InferenceConfig = ic
	if in.TopK != nil {
		setField(&out, "top_k", *in.TopK)
	}
	if err := setTools(&out, &in); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request could not be translated for Bedrock")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func setField(out *converseRequest, k string, v any) {
	if out.AdditionalModelRequestFields == nil {
		out.AdditionalModelRequestFields = map[string]any{}
	}
	out.AdditionalModelRequestFields[k] = v
}

// rejectUnsupported fails requests for features Converse does not have.
func rejectUnsupported(in *chatRequest) error {
	switch {
	case in.N != nil && *in.N != 1:
		return invalid("n", "n=%d is not supported for Bedrock models: Converse returns one choice per request", *in.N)
	case len(in.LogitBias) > 0:
		return invalid("logit_bias", "logit_bias is not supported for Bedrock models")
	case in.Logprobs != nil && *in.Logprobs, in.TopLogprobs != nil && *in.TopLogprobs > 0:
		return invalid("logprobs", "logprobs are not supported for Bedrock models")
	case isJSONValue(in.Audio):
		return invalid("audio", "audio output is not supported for Bedrock models")
	case isJSONValue(in.WebSearchOptions):
		return invalid("web_search_options", "web_search_options is not supported for Bedrock models")
	case isJSONValue(in.Functions), isJSONValue(in.FunctionCall):
		return invalid("functions", "the legacy functions and function_call fields are not supported: use tools and tool_choice")
	}
	for _, m := range in.Modalities {
		if m != "text" {
			return invalid("modalities", "output modality %q is not supported for Bedrock models", m)
		}
	}
	return nil
}

// appendTurn adds blocks to the conversation, merging them into the last
// turn when it has the same role: Converse requires alternating roles.
func appendTurn(out *converseRequest, role string, blocks []block) {
	if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
		out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
		return
	}
	if blocks == nil {
		blocks = []block{}
	}
	out.Messages = append(out.Messages, message{Role: role, Content: blocks})
}

func addMessage(out *converseRequest, m *chatMessage, i int) error {
	param := fmt.Sprintf("messages[%d]", i)
	switch m.Role {
	case "system", "developer":
		// Converse takes the system prompt apart: every system message joins
		// it, in order, wherever it stood in the conversation.
		blocks, err := contentBlocks(m.Content, param, false)
		if err != nil {
			return err
		}
		out.System = append(out.System, blocks...)
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
				return invalid(tparam+".type", "tool call type %q is not supported for Bedrock models", tc.Type)
			}
			if tc.ID == "" || tc.Function.Name == "" {
				return invalid(tparam, "%s needs an id and a function name", tparam)
			}
			input, err := toolInput(tc.Function.Arguments)
			if err != nil {
				return invalid(tparam+".function.arguments", "%s.function.arguments must be a JSON object", tparam)
			}
			blocks = append(blocks, block{ToolUse: &toolUse{ToolUseID: tc.ID, Name: tc.Function.Name, Input: input}})
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
		var kept []block
		for _, b := range content {
			if b.CachePoint == nil && b.Document == nil { // a tool result holds text, images and JSON
				kept = append(kept, b)
			}
		}
		if len(kept) == 0 {
			kept = []block{textBlock("")}
		}
		appendTurn(out, "user", []block{{ToolResult: &toolResult{ToolUseID: m.ToolCallID, Content: kept}}})
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
// of parts. Images and documents are allowed only where media is (user and
// tool messages). Empty text is dropped: Converse rejects blank text blocks.
func contentBlocks(raw json.RawMessage, param string, allowMedia bool) ([]block, error) {
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
		return []block{textBlock(s)}, nil
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
			b = textBlock(p.Text)
		case "refusal":
			if p.Refusal == "" {
				continue
			}
			b = textBlock(p.Refusal)
		case "image_url":
			if !allowMedia {
				return nil, invalid(pparam, "%s: images are only allowed in user and tool messages", pparam)
			}
			if p.ImageURL == nil {
				return nil, invalid(pparam+".image_url", "%s has no image_url", pparam)
			}
			mt, data, ok := parseDataURL(p.ImageURL.URL)
			format, known := imageFormats[mt]
			if !ok || !known {
				return nil, invalid(pparam+".image_url.url", "%s: Bedrock takes images inline only, as a base64 data: URL of a png, jpeg, gif or webp image", pparam)
			}
			b = block{Image: &media{Format: format}}
			b.Image.Source.Bytes = data
		case "file":
			if !allowMedia {
				return nil, invalid(pparam, "%s: files are only allowed in user and tool messages", pparam)
			}
			if p.File == nil || p.File.FileData == "" {
				return nil, invalid(pparam+".file", "%s: only inline file_data is supported for Bedrock models, not file_id", pparam)
			}
			mt, data, ok := parseDataURL(p.File.FileData)
			format, known := documentFormats[mt]
			if !ok || !known {
				return nil, invalid(pparam+".file.file_data", "%s: file_data must be a base64 data: URL of a pdf, csv, doc, docx, xls, xlsx, html, txt or md document", pparam)
			}
			b = block{Document: &media{Format: format, Name: documentName(p.File.Filename, j)}}
			b.Document.Source.Bytes = data
		case "input_audio":
			return nil, invalid(pparam, "%s: audio input is not supported for Bedrock models", pparam)
		default:
			return nil, invalid(pparam+".type", "%s has unsupported content part type %q", pparam, p.Type)
		}
		blocks = append(blocks, b)
		if isJSONValue(p.CacheControl) {
			var cc struct {
				TTL string `json:"ttl"`
			}
			json.Unmarshal(p.CacheControl, &cc) // a malformed marker still marks
			if cc.TTL != "5m" && cc.TTL != "1h" {
				cc.TTL = ""
			}
			blocks = append(blocks, block{CachePoint: &cachePoint{Type: "default", TTL: cc.TTL}})
		}
	}
	return blocks, nil
}

var imageFormats = map[string]string{
	"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
}

var documentFormats = map[string]string{
	"application/pdf": "pdf", "text/csv": "csv", "application/msword": "doc",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
	"application/vnd.ms-excel": "xls",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
	"text/html": "html", "text/plain": "txt", "text/markdown": "md",
}

// documentName is a document's name as Converse accepts it: letters,
// digits, single spaces, hyphens, parentheses and brackets.
func documentName(filename string, j int) string {
	if i := strings.LastIndexByte(filename, '.'); i > 0 {
		filename = filename[:i]
	}
	var b strings.Builder
	space := false
	for _, r := range filename {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("-()[]", r):
			b.WriteRune(r)
			space = false
		case !space && b.Len() > 0:
			b.WriteByte(' ')
			space = true
		}
	}
	name := strings.TrimSpace(b.String())
	if name == "" {
		name = fmt.Sprintf("document %d", j+1)
	}
	return name
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
	return strings.ToLower(mediaType), data, true
}

func responseFormat(out *converseRequest, in *chatRequest) error {
	if in.ResponseFormat == nil {
		return nil
	}
	switch in.ResponseFormat.Type {
	case "", "text":
	case "json_object":
		out.System = append(out.System, textBlock(jsonObjectInstruction))
	case "json_schema":
		instr := jsonObjectInstruction
		if s := in.ResponseFormat.JSONSchema; s != nil && isJSONValue(s.Schema) {
			var buf bytes.Buffer
			if err := json.Compact(&buf, s.Schema); err != nil {
				return invalid("response_format.json_schema.schema", "response_format.json_schema.schema is not valid JSON")
			}
			instr += " The object must conform to this JSON Schema"
			if s.Name != "" {
				instr += " (" + s.Name + ")"
			}
			instr += ": " + buf.String()
		}
		out.System = append(out.System, textBlock(instr))
	default:
		return invalid("response_format.type", "response_format type %q is not supported for Bedrock models", in.ResponseFormat.Type)
	}
	return nil
}

func stopSequences(raw json.RawMessage) ([]string, error) {
	if !isJSONValue(raw) {
		return nil, nil
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(raw, &one) == nil:
		many = []string{one}
	case json.Unmarshal(raw, &many) == nil:
	default:
		return nil, invalid("stop", "stop must be a string or an array of strings")
	}
	var out []string
	for _, s := range many {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// setReasoning maps reasoning_effort to the model family's own field in
// additionalModelRequestFields, which Bedrock passes to the model: Claude's
// thinking (budget_tokens below maxTokens, no temperature or top_p), Nova's
// reasoningConfig, the OpenAI open-weight models' reasoning_effort. Families
// with no reasoning switch refuse it; an unknown family (a custom model, an
// application inference profile ARN) is taken for Claude.
func setReasoning(out *converseRequest, ic *inferenceConfig, effort, model, maxParam string) error {
	if effort == "" || effort == "none" {
		return nil
	}
	budget, ok := thinkingBudgets[effort]
	if !ok {
		return invalid("reasoning_effort", "reasoning_effort %q is not one of none, minimal, low, medium, high, xhigh", effort)
	}
	switch family(model) {
	case "amazon", "openai":
		level := map[string]string{"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}[effort]
		if family(model) == "openai" {
			setField(out, "reasoning_effort", level)
		} else {
			setField(out, "reasoningConfig", map[string]any{"type": "enabled", "maxReasoningEffort": level})
		}
		return nil
	case "meta", "mistral", "cohere", "ai21", "deepseek", "qwen", "writer":
		return invalid("reasoning_effort", "reasoning_effort is not supported for model %q on Bedrock", model)
	}
	switch {
	case ic.MaxTokens == 0:
		ic.MaxTokens = DefaultMaxTokens + budget
	case ic.MaxTokens <= budget:
		budget = ic.MaxTokens / 2
		if budget < 1024 {
			return invalid(maxParam, "%s must be at least 2048 to use reasoning_effort with this model (the thinking budget is at least 1024 tokens and part of it)", maxParam)
		}
	}
	ic.Temperature, ic.TopP = nil, nil
	setField(out, "thinking", map[string]any{"type": "enabled", "budget_tokens": budget})
	return nil
}

// family is the vendor part of a Bedrock model id, past any geographic or
// global inference-profile prefix: "anthropic" for
// us.anthropic.claude-sonnet-4-5-20250929-v1:0, "" when the id has none.
func family(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 { // an ARN
		m = m[i+1:]
	}
	parts := strings.Split(m, ".")
	for _, p := range parts[:max(len(parts)-1, 0)] {
		switch p {
		case "anthropic", "amazon", "meta", "mistral", "cohere", "ai21", "openai", "deepseek", "qwen", "writer":
			return p
		}
	}
	return ""
}

// setTools translates tools and tool_choice. Converse has no "none" choice:
// the tools are then left out, unless the conversation already holds tool
// calls (Bedrock requires the tool config then), when the model is told in
// the system prompt.
func setTools(out *converseRequest, in *chatRequest) error {
	var tools []toolSpecWrap
	for i, t := range in.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "" && t.Type != "function" {
			return invalid(param+".type", "tool type %q is not supported for Bedrock models", t.Type)
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
		ts := toolSpec{Name: t.Function.Name, Description: t.Function.Description}
		ts.InputSchema.JSON = schema
		tools = append(tools, toolSpecWrap{ToolSpec: ts})
	}
	if len(tools) == 0 {
		return nil
	}
	tc := &toolConfig{Tools: tools}
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
				tc.ToolChoice = map[string]any{"auto": struct{}{}}
			case "none":
				if !hasToolHistory(out) {
					return nil
				}
				out.System = append(out.System, textBlock("Do not call any tool in this answer."))
			case "required":
				tc.ToolChoice = map[string]any{"any": struct{}{}}
			default:
				return invalid("tool_choice", "tool_choice %q is not one of auto, none, required", s)
			}
		case json.Unmarshal(in.ToolChoice, &obj) == nil && obj.Type == "function" && obj.Function.Name != "":
			tc.ToolChoice = map[string]any{"tool": map[string]string{"name": obj.Function.Name}}
		default:
			return invalid("tool_choice", "tool_choice must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}")
		}
	}
	out.ToolConfig = tc
	return nil
}

func hasToolHistory(out *converseRequest) bool {
	for _, m := range out.Messages {
		for _, b := range m.Content {
			if b.ToolUse != nil || b.ToolResult != nil {
				return true
			}
		}
	}
	return false
}

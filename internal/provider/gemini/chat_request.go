package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/weirhq/weir/internal/apierror"
)

// thinkingBudgets maps reasoning_effort to thinkingConfig.thinkingBudget for
// the Gemini 2.x models (the budgets Google's own OpenAI compatibility layer
// uses for low, medium and high).
var thinkingBudgets = map[string]int64{
	"none":    0,
	"minimal": 512,
	"low":     1024,
	"medium":  8192,
	"high":    24576,
	"xhigh":   24576,
}

// thinkingLevels maps reasoning_effort to thinkingConfig.thinkingLevel for
// Gemini 3 and later, which take a level instead of a budget and cannot
// stop thinking altogether.
var thinkingLevels = map[string]string{
	"none":    "minimal",
	"minimal": "minimal",
	"low":     "low",
	"medium":  "medium",
	"high":    "high",
	"xhigh":   "high",
}

// thoughtMarker separates a tool call id from the thought signature Gemini
// attached to the call. Gemini 3 rejects a conversation whose function calls
// lack their signatures, and an OpenAI client keeps nothing but the id, so
// the signature travels inside it (as LiteLLM does).
const thoughtMarker = "__thought__"

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
	N                   *int64          `json:"n"`
	Seed                *int64          `json:"seed"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	Stop                json.RawMessage `json:"stop"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
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
	Name       string          `json:"name"`
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
	InputAudio *struct {
		Data   string `json:"data"`
		Format string `json:"format"`
	} `json:"input_audio"`
	File *struct {
		FileData string `json:"file_data"`
		FileID   string `json:"file_id"`
	} `json:"file"`
}

// generateRequest is the Gemini GenerateContentRequest the translation
// builds.
type generateRequest struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Tools             []toolGroup       `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

type part struct {
	Text             string            `json:"text,omitempty"`
	Thought          bool              `json:"thought,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FileData         *fileData         `json:"fileData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
}

type blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type fileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type functionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type functionResponse struct {
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type toolGroup struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations"`
}

type functionDeclaration struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig functionCallingConfig `json:"functionCallingConfig"`
}

type functionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type generationConfig struct {
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	TopK               *int64          `json:"topK,omitempty"`
	CandidateCount     *int64          `json:"candidateCount,omitempty"`
	MaxOutputTokens    *int64          `json:"maxOutputTokens,omitempty"`
	StopSequences      []string        `json:"stopSequences,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	ResponseMimeType   string          `json:"responseMimeType,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ThinkingConfig     *thinkingConfig `json:"thinkingConfig,omitempty"`
}

func (g *generationConfig) empty() bool {
	return g.Temperature == nil && g.TopP == nil && g.TopK == nil && g.CandidateCount == nil &&
		g.MaxOutputTokens == nil && g.StopSequences == nil && g.Seed == nil && g.PresencePenalty == nil &&
		g.FrequencyPenalty == nil && g.ResponseMimeType == "" && g.ResponseJSONSchema == nil && g.ThinkingConfig == nil
}

type thinkingConfig struct {
	IncludeThoughts bool   `json:"includeThoughts,omitempty"`
	ThinkingBudget  *int64 `json:"thinkingBudget,omitempty"`
	ThinkingLevel   string `json:"thinkingLevel,omitempty"`
}

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
// Gemini GenerateContentRequest body for model (the model goes in the URL,
// not the body). Requests that ask for something Gemini cannot do through
// this translation fail with an invalid_request *apierror.Error.
func TranslateRequest(body []byte, model string) ([]byte, error) {
	var in chatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, invalid(te.Field, "invalid type for '%s': expected %s", te.Field, te.Type)
		}
		return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request body is not a valid chat completions request")
	}
	if model == "" {
		model = in.Model
	}
	if err := rejectUnsupported(&in); err != nil {
		return nil, err
	}
	var out generateRequest
	var system []part
	names := map[string]string{} // tool call id -> function name
	for i := range in.Messages {
		if err := addMessage(&out, &system, names, &in.Messages[i], i); err != nil {
			return nil, err
		}
	}
	if len(out.Contents) == 0 {
		return nil, invalid("messages", "messages must contain at least one user, assistant or tool message")
	}
	if len(system) > 0 {
		out.SystemInstruction = &content{Parts: system}
	}
	gc := &generationConfig{Temperature: in.Temperature, TopP: in.TopP, TopK: in.TopK, Seed: in.Seed,
		PresencePenalty: in.PresencePenalty, FrequencyPenalty: in.FrequencyPenalty}
	if in.N != nil && *in.N != 1 {
		if *in.N < 1 || *in.N > 8 {
			return nil, invalid("n", "n must be between 1 and 8 for Gemini models")
		}
		gc.CandidateCount = in.N
	}
	switch {
	case in.MaxCompletionTokens != nil:
		gc.MaxOutputTokens = in.MaxCompletionTokens
	case in.MaxTokens != nil:
		gc.MaxOutputTokens = in.MaxTokens
	}
	if gc.MaxOutputTokens != nil && *gc.MaxOutputTokens < 1 {
		param := "max_tokens"
		if in.MaxCompletionTokens != nil {
			param = "max_completion_tokens"
		}
		return nil, invalid(param, "%s must be at least 1", param)
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
				gc.StopSequences = append(gc.StopSequences, s)
			}
		}
	}
	if rf := in.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if s := rf.JSONSchema; s != nil && isJSONValue(s.Schema) {
				if !isObject(s.Schema) {
					return nil, invalid("response_format.json_schema.schema", "response_format.json_schema.schema must be a JSON Schema object")
				}
				gc.ResponseJSONSchema = s.Schema
			}
		default:
			return nil, invalid("response_format.type", "response_format type %q is not supported for Gemini models", rf.Type)
		}
	}
	if err := setReasoning(gc, in.ReasoningEffort, model); err != nil {
		return nil, err
	}
	if !gc.empty() {
		out.GenerationConfig = gc
	}
	if err := setTools(&out, &in); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request could not be translated for Gemini")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{' && json.Valid(t)
}

// rejectUnsupported fails requests for features whose absence the caller
// would not notice until it broke them.
func rejectUnsupported(in *chatRequest) error {
	switch {
	case len(in.LogitBias) > 0:
		return invalid("logit_bias", "logit_bias is not supported for Gemini models")
	case in.Logprobs != nil && *in.Logprobs, in.TopLogprobs != nil && *in.TopLogprobs > 0:
		return invalid("logprobs", "logprobs are not supported for Gemini models through chat completions")
	case isJSONValue(in.Audio):
		return invalid("audio", "audio output is not supported for Gemini models through chat completions")
	case isJSONValue(in.WebSearchOptions):
		return invalid("web_search_options", "web_search_options is not supported for Gemini models through chat completions")
	case isJSONValue(in.Functions), isJSONValue(in.FunctionCall):
		return invalid("functions", "the legacy functions and function_call fields are not supported: use tools and tool_choice")
	}
	for _, m := range in.Modalities {
		if m != "text" {
			return invalid("modalities", "output modality %q is not supported for Gemini models through chat completions", m)
		}
	}
	return nil
}

// appendTurn adds parts to the conversation, merging them into the last
// turn when it has the same role (parallel function responses must share
// one turn).
func appendTurn(out *generateRequest, role string, parts []part) {
	if len(parts) == 0 {
		return
	}
	if n := len(out.Contents); n > 0 && out.Contents[n-1].Role == role {
		out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, parts...)
		return
	}
	out.Contents = append(out.Contents, content{Role: role, Parts: parts})
}

func addMessage(out *generateRequest, system *[]part, names map[string]string, m *chatMessage, i int) error {
	param := fmt.Sprintf("messages[%d]", i)
	switch m.Role {
	case "system", "developer":
		parts, err := contentParts(m.Content, param, false)
		if err != nil {
			return err
		}
		*system = append(*system, parts...)
	case "user":
		parts, err := contentParts(m.Content, param, true)
		if err != nil {
			return err
		}
		appendTurn(out, "user", parts)
	case "assistant":
		parts, err := contentParts(m.Content, param, false)
		if err != nil {
			return err
		}
		for j, tc := range m.ToolCalls {
			tparam := fmt.Sprintf("%s.tool_calls[%d]", param, j)
			if tc.Type != "" && tc.Type != "function" {
				return invalid(tparam+".type", "tool call type %q is not supported for Gemini models", tc.Type)
			}
			if tc.Function.Name == "" {
				return invalid(tparam+".function.name", "%s needs a function name", tparam)
			}
			args, err := toolArgs(tc.Function.Arguments)
			if err != nil {
				return invalid(tparam+".function.arguments", "%s.function.arguments must be a JSON object", tparam)
			}
			_, sig, _ := strings.Cut(tc.ID, thoughtMarker)
			names[tc.ID] = tc.Function.Name
			parts = append(parts, part{FunctionCall: &functionCall{Name: tc.Function.Name, Args: args}, ThoughtSignature: sig})
		}
		appendTurn(out, "model", parts)
	case "tool":
		name := names[m.ToolCallID]
		if name == "" {
			name = m.Name
		}
		if name == "" {
			return invalid(param+".tool_call_id", "%s answers tool call %q, which no earlier assistant message made: Gemini needs the function's name", param, m.ToolCallID)
		}
		resp, err := toolResponse(m.Content, param)
		if err != nil {
			return err
		}
		appendTurn(out, "user", []part{{FunctionResponse: &functionResponse{Name: name, Response: resp}}})
	case "function":
		return invalid(param+".role", "the legacy function role is not supported: use tool messages")
	default:
		return invalid(param+".role", "%s has unknown role %q", param, m.Role)
	}
	return nil
}

// toolArgs parses tool call arguments, which must be a JSON object (an
// empty string means none).
func toolArgs(args string) (json.RawMessage, error) {
	t := bytes.TrimSpace([]byte(args))
	if len(t) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !isObject(t) {
		return nil, errors.New("arguments are not a JSON object")
	}
	return json.RawMessage(t), nil
}

// toolResponse is a tool message's content as a functionResponse response,
// which must be an object: a JSON object result is passed as it is,
// anything else as {"content": text}.
func toolResponse(raw json.RawMessage, param string) (json.RawMessage, error) {
	parts, err := contentParts(raw, param, false)
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	for _, p := range parts {
		text.WriteString(p.Text)
	}
	s := strings.TrimSpace(text.String())
	if isObject(json.RawMessage(s)) {
		return json.RawMessage(s), nil
	}
	b, _ := json.Marshal(map[string]string{"content": text.String()})
	return b, nil
}

// contentParts translates a message's content: a string, null or an array
// of parts. Media are allowed only in user messages.
func contentParts(raw json.RawMessage, param string, media bool) ([]part, error) {
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
		return []part{{Text: s}}, nil
	}
	var cps []contentPart
	if err := json.Unmarshal(raw, &cps); err != nil {
		return nil, invalid(param+".content", "%s.content must be a string or an array of content parts", param)
	}
	parts := make([]part, 0, len(cps))
	for j, p := range cps {
		pparam := fmt.Sprintf("%s.content[%d]", param, j)
		if !media && p.Type != "text" && p.Type != "refusal" {
			return nil, invalid(pparam+".type", "%s: only text is allowed in this message", pparam)
		}
		switch p.Type {
		case "text":
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case "refusal":
			if p.Refusal != "" {
				parts = append(parts, part{Text: p.Refusal})
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, invalid(pparam+".image_url", "%s has no image_url", pparam)
			}
			pt, err := mediaPart(p.ImageURL.URL, "image/jpeg")
			if err != nil {
				return nil, invalid(pparam+".image_url.url", "%s: %v", pparam, err)
			}
			parts = append(parts, pt)
		case "input_audio":
			if p.InputAudio == nil || p.InputAudio.Data == "" {
				return nil, invalid(pparam+".input_audio", "%s has no input_audio data", pparam)
			}
			mt := "audio/" + p.InputAudio.Format
			if p.InputAudio.Format == "" || p.InputAudio.Format == "mp3" {
				mt = "audio/mp3"
			}
			parts = append(parts, part{InlineData: &blob{MimeType: mt, Data: p.InputAudio.Data}})
		case "file":
			if p.File == nil || p.File.FileData == "" {
				return nil, invalid(pparam+".file", "%s: only inline file_data is supported for Gemini models, not file_id", pparam)
			}
			pt, err := mediaPart(p.File.FileData, "")
			if err != nil || pt.InlineData == nil {
				return nil, invalid(pparam+".file.file_data", "%s: file_data must be a base64 data: URL", pparam)
			}
			parts = append(parts, pt)
		default:
			return nil, invalid(pparam+".type", "%s has unsupported content part type %q", pparam, p.Type)
		}
	}
	return parts, nil
}

// mediaPart turns a URL into a part: a base64 data: URL into inline data,
// an http(s) or gs:// URL into file data whose type is guessed from the
// extension (def when unknown).
func mediaPart(u, def string) (part, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, b64 := strings.CutSuffix(meta, ";base64")
		if !ok || !b64 || mt == "" || data == "" {
			return part{}, errors.New("a data: URL must be base64-encoded (data:image/png;base64,...)")
		}
		return part{InlineData: &blob{MimeType: mt, Data: data}}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "gs://") {
		mt := mimeTypes[strings.ToLower(path.Ext(strings.SplitN(u, "?", 2)[0]))]
		if mt == "" {
			mt = def
		}
		return part{FileData: &fileData{MimeType: mt, FileURI: u}}, nil
	}
	return part{}, errors.New("the URL must be an http(s), gs:// or base64 data: URL")
}

var mimeTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
	".gif": "image/gif", ".heic": "image/heic", ".heif": "image/heif", ".pdf": "application/pdf",
	".mp3": "audio/mp3", ".wav": "audio/wav", ".mp4": "video/mp4",
}

// setReasoning maps reasoning_effort to thinkingConfig: a level for Gemini 3
// and later, a budget for the 2.x models (2.5 Pro cannot stop thinking, so
// "none" gives it its smallest budget, 128). Thoughts are included (as
// reasoning_content) whenever the caller asked for reasoning.
func setReasoning(gc *generationConfig, effort, model string) error {
	if effort == "" {
		return nil
	}
	budget, ok := thinkingBudgets[effort]
	if !ok {
		return invalid("reasoning_effort", "reasoning_effort %q is not one of none, minimal, low, medium, high, xhigh", effort)
	}
	tc := &thinkingConfig{IncludeThoughts: effort != "none"}
	m := strings.ToLower(strings.TrimPrefix(model, "models/"))
	if usesThinkingLevel(m) {
		tc.ThinkingLevel = thinkingLevels[effort]
	} else {
		if budget == 0 && strings.Contains(m, "pro") {
			budget = 128
		}
		tc.ThinkingBudget = &budget
	}
	gc.ThinkingConfig = tc
	return nil
}

// usesThinkingLevel reports whether a model id names Gemini 3 or later.
func usesThinkingLevel(m string) bool {
	rest, ok := strings.CutPrefix(m, "gemini-")
	if !ok || rest == "" {
		return false
	}
	return rest[0] >= '3' && rest[0] <= '9'
}

// setTools translates tools and tool_choice. The parameters are passed as
// parametersJsonSchema, which takes JSON Schema as OpenAI callers write it.
// parallel_tool_calls has no Gemini equivalent and is ignored.
func setTools(out *generateRequest, in *chatRequest) error {
	var decls []functionDeclaration
	for i, t := range in.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "" && t.Type != "function" {
			return invalid(param+".type", "tool type %q is not supported for Gemini models", t.Type)
		}
		if t.Function == nil || t.Function.Name == "" {
			return invalid(param+".function.name", "%s needs a function name", param)
		}
		d := functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if isJSONValue(t.Function.Parameters) {
			if !isObject(t.Function.Parameters) {
				return invalid(param+".function.parameters", "%s.function.parameters must be a JSON Schema object", param)
			}
			d.ParametersJSONSchema = t.Function.Parameters
		}
		decls = append(decls, d)
	}
	if len(decls) == 0 {
		return nil
	}
	out.Tools = []toolGroup{{FunctionDeclarations: decls}}
	if !isJSONValue(in.ToolChoice) {
		return nil
	}
	var s string
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	fc := functionCallingConfig{}
	switch {
	case json.Unmarshal(in.ToolChoice, &s) == nil:
		switch s {
		case "auto":
			fc.Mode = "AUTO"
		case "none":
			fc.Mode = "NONE"
		case "required":
			fc.Mode = "ANY"
		default:
			return invalid("tool_choice", "tool_choice %q is not one of auto, none, required", s)
		}
	case json.Unmarshal(in.ToolChoice, &obj) == nil && obj.Type == "function" && obj.Function.Name != "":
		fc.Mode, fc.AllowedFunctionNames = "ANY", []string{obj.Function.Name}
	default:
		return invalid("tool_choice", "tool_choice must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}")
	}
	out.ToolConfig = &toolConfig{FunctionCallingConfig: fc}
	return nil
}

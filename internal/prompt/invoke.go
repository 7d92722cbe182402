package prompt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// How a call names a prompt: the header pair, or the "weir" field of the
// body, which the official SDKs send through extra_body (Python),
// extraBody / a spread object (TypeScript) or option.WithJSONSet (Go):
//
//	x-weir-prompt: support-reply@production
//	x-weir-prompt-variables: {"question": "Where is my order?"}
//
//	{"model": "support-chat", "messages": [...],
//	 "weir": {"prompt": "support-reply@production", "variables": {"question": "..."}}}
const (
	HeaderPrompt    = "X-Weir-Prompt"
	HeaderVariables = "X-Weir-Prompt-Variables"
	// BodyField is the body's extension field. It is removed from the body
	// before the call goes upstream, whether or not it names a prompt.
	BodyField = "weir"
)

// maxVariablesBytes bounds the variables header.
const maxVariablesBytes = 64 << 10

// Invocation is a call's prompt reference and variables.
type Invocation struct {
	Ref       string
	Variables map[string]any
}

// Surface is the API a call's body is written for.
type Surface int

const (
	// OpenAIChat is /v1/chat/completions.
	OpenAIChat Surface = iota
	// AnthropicMessages is /v1/messages.
	AnthropicMessages
)

// ParseInvocation reads the prompt reference of a call from its headers or
// its body's "weir" field, and returns the body without that field (the
// body unchanged when it has none). ok is false when the call names no
// prompt. Naming a prompt in both places, variables without a prompt, a
// malformed reference, variables that are not a JSON object, a body that
// is not a JSON object or has a key twice, and a "weir" field with other
// keys than prompt and variables are errors wrapping ErrInvalid.
func ParseInvocation(body []byte, h http.Header) (inv Invocation, rest []byte, ok bool, err error) {
	hRef := strings.TrimSpace(h.Get(HeaderPrompt))
	hVars := h.Get(HeaderVariables)
	rest = body
	if hRef == "" && hVars == "" && !bytes.Contains(body, []byte(`"`+BodyField+`"`)) {
		return inv, body, false, nil // the common case, without parsing
	}
	fields, err := splitObject(body)
	if err != nil {
		return inv, body, false, err
	}
	bodyHas := false
	if i := fields.index(BodyField); i >= 0 {
		var ext struct {
			Prompt    *string         `json:"prompt"`
			Variables json.RawMessage `json:"variables"`
		}
		raw := fields[i].value
		fields = append(fields[:i:i], fields[i+1:]...)
		rest = fields.encode()
		if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ext); err != nil {
				return inv, rest, false, fmt.Errorf("%w: the %q field must be {\"prompt\": \"name[@version|label]\", \"variables\": {...}}: %w", ErrInvalid, BodyField, err)
			}
			if ext.Prompt == nil && len(ext.Variables) > 0 {
				return inv, rest, false, fmt.Errorf("%w: %s.variables without %s.prompt", ErrInvalid, BodyField, BodyField)
			}
			if ext.Prompt != nil {
				bodyHas = true
				inv.Ref = strings.TrimSpace(*ext.Prompt)
				if inv.Variables, err = decodeVariables(ext.Variables); err != nil {
					return inv, rest, false, fmt.Errorf("%w: %s.variables: %w", ErrInvalid, BodyField, err)
				}
			}
		}
	}
	if hRef != "" || hVars != "" {
		if bodyHas {
			return inv, rest, false, fmt.Errorf("%w: the prompt is named both in the %s header and the body's %q field: use one", ErrInvalid, HeaderPrompt, BodyField)
		}
		if hRef == "" {
			return inv, rest, false, fmt.Errorf("%w: %s without %s", ErrInvalid, HeaderVariables, HeaderPrompt)
		}
		if len(hVars) > maxVariablesBytes {
			return inv, rest, false, fmt.Errorf("%w: %s is over %d bytes", ErrInvalid, HeaderVariables, maxVariablesBytes)
		}
		inv.Ref = hRef
		if inv.Variables, err = decodeVariables([]byte(hVars)); err != nil {
			return inv, rest, false, fmt.Errorf("%w: %s: %w", ErrInvalid, HeaderVariables, err)
		}
	} else if !bodyHas {
		return inv, rest, false, nil
	}
	if _, err := ParseRef(inv.Ref); err != nil {
		return inv, rest, false, fmt.Errorf("prompt reference %q: %w", clip(inv.Ref, 140), err)
	}
	return inv, rest, true, nil
}

// decodeVariables decodes a JSON object of variables (empty or null: none),
// numbers kept as written.
func decodeVariables(b []byte) (map[string]any, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, errors.New("must be a JSON object of variable names to values")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("must be one JSON object")
	}
	return m, nil
}

// field is one top-level key of a JSON object and its value as written.
type field struct {
	key   string
	value json.RawMessage
}

type fields []field

func (fs fields) index(key string) int {
	for i, f := range fs {
		if f.key == key {
			return i
		}
	}
	return -1
}

// set replaces key's value or appends it.
func (fs *fields) set(key string, v json.RawMessage) {
	if i := fs.index(key); i >= 0 {
		(*fs)[i].value = v
		return
	}
	*fs = append(*fs, field{key, v})
}

func (fs fields) has(key string) bool {
	i := fs.index(key)
	return i >= 0 && !bytes.Equal(bytes.TrimSpace(fs[i].value), []byte("null"))
}

// splitObject splits a JSON object into its keys and values, in order and
// as written. A key given twice is an error: two parsers could read
// different values.
func splitObject(body []byte) (fields, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%w: the body is not a JSON object", ErrInvalid)
	}
	var out fields
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: the body is not valid JSON: %w", ErrInvalid, err)
		}
		key, _ := t.(string)
		if seen[key] {
			return nil, fmt.Errorf("%w: the body has the key %q twice", ErrInvalid, clip(key, 64))
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: the body is not valid JSON: %w", ErrInvalid, err)
		}
		out = append(out, field{key, v})
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, fmt.Errorf("%w: the body is not valid JSON", ErrInvalid)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: the body has data after its JSON object", ErrInvalid)
	}
	return out, nil
}

func (fs fields) encode() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func marshal(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings, numbers and raw JSON from validated versions
	return bytes.TrimRight(b.Bytes(), "\n")
}

// Apply puts a rendered prompt into a call's body for its surface. The
// rendered messages come first, then the caller's own messages. On the
// Anthropic surface the system and developer messages become the system
// prompt, before the caller's own. The prompt's parameters (temperature,
// top_p, max_tokens), tools and response_format are set only where the
// body has none: the caller's values win (a route may force its own later).
// Tools are translated to Anthropic's form there; a response_format cannot
// be, and is an error wrapping ErrInvalid.
func Apply(s Surface, body []byte, r Rendered) ([]byte, error) {
	fs, err := splitObject(body)
	if err != nil {
		return nil, err
	}
	var own []json.RawMessage
	if fs.has("messages") {
		if err := json.Unmarshal(fs[fs.index("messages")].value, &own); err != nil {
			return nil, fmt.Errorf("%w: messages must be an array", ErrInvalid)
		}
	}
	setDefault := func(key string, v json.RawMessage) {
		if !fs.has(key) && len(v) > 0 {
			fs.set(key, v)
		}
	}
	if r.Params.Temperature != nil {
		setDefault("temperature", marshal(*r.Params.Temperature))
	}
	if r.Params.TopP != nil {
		setDefault("top_p", marshal(*r.Params.TopP))
	}
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	var msgs []json.RawMessage
	switch s {
	case OpenAIChat:
		for _, m := range r.Messages {
			msgs = append(msgs, marshal(msg(m)))
		}
		if r.Params.MaxTokens != nil && !fs.has("max_completion_tokens") {
			setDefault("max_tokens", marshal(*r.Params.MaxTokens))
		}
		setDefault("tools", r.Tools)
		setDefault("response_format", r.ResponseFormat)
	case AnthropicMessages:
		var system []string
		for _, m := range r.Messages {
			if m.Role == "system" || m.Role == "developer" {
				system = append(system, m.Content)
				continue
			}
			msgs = append(msgs, marshal(msg(m)))
		}
		if len(system) > 0 {
			sys := strings.Join(system, "\n\n")
			switch {
			case !fs.has("system"):
				fs.set("system", marshal(sys))
			default:
				v := fs[fs.index("system")].value
				var str string
				var blocks []json.RawMessage
				if json.Unmarshal(v, &str) == nil {
					fs.set("system", marshal(sys+"\n\n"+str))
				} else if json.Unmarshal(v, &blocks) == nil {
					blocks = append([]json.RawMessage{marshal(struct {
						Type string `json:"type"`
						Text string `json:"text"`
					}{"text", sys})}, blocks...)
					fs.set("system", marshal(blocks))
				} else {
					return nil, fmt.Errorf("%w: system must be a string or an array of content blocks", ErrInvalid)
				}
			}
		}
		if r.Params.MaxTokens != nil {
			setDefault("max_tokens", marshal(*r.Params.MaxTokens))
		}
		if len(r.Tools) > 0 && !fs.has("tools") {
			tools, err := anthropicTools(r.Tools)
			if err != nil {
				return nil, fmt.Errorf("prompt %s@%d: %w", r.Name, r.Version, err)
			}
			fs.set("tools", tools)
		}
		if len(r.ResponseFormat) > 0 {
			return nil, fmt.Errorf("%w: prompt %s@%d has a response_format, which the Anthropic messages API does not take: call it through /v1/chat/completions", ErrInvalid, r.Name, r.Version)
		}
	default:
		return nil, fmt.Errorf("%w: unknown surface %d", ErrInvalid, s)
	}
	fs.set("messages", marshal(append(msgs, own...)))
	return fs.encode(), nil
}

// anthropicTools translates OpenAI function tools to Anthropic tools.
func anthropicTools(raw json.RawMessage) (json.RawMessage, error) {
	var in []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Parameters  json.RawMessage `json:"parameters,omitempty"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("%w: tools: %w", ErrInvalid, err)
	}
	type tool struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	out := make([]tool, len(in))
	for i, t := range in {
		if t.Type != "function" || t.Function.Name == "" {
			return nil, fmt.Errorf("%w: tools[%d]: only function tools translate to the Anthropic messages API", ErrInvalid, i)
		}
		schema := t.Function.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out[i] = tool{t.Function.Name, t.Function.Description, schema}
	}
	return marshal(out), nil
}

// Prepare is the gateway's hook: it reads a call's prompt reference,
// renders the prompt for target and returns the body to send on (without
// the "weir" field) and what was rendered, nil when the call names no
// prompt. Call it once per target: the variant depends on the target's
// provider and model.
func (r *Registry) Prepare(ctx context.Context, s Surface, body []byte, h http.Header, target Target) ([]byte, *Rendered, error) {
	inv, rest, ok, err := ParseInvocation(body, h)
	if err != nil || !ok {
		return rest, nil, err
	}
	out, err := r.Render(ctx, inv.Ref, target, inv.Variables)
	if err != nil {
		return rest, nil, err
	}
	b, err := Apply(s, rest, out)
	if err != nil {
		return rest, nil, err
	}
	return b, &out, nil
}

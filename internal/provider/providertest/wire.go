package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/weirhq/weir/internal/sse"
	"github.com/weirhq/weir/internal/usage"
)

// Request bodies, as the gateway hands them to an adapter: the OpenAI ones
// always ask for stream usage (the gateway adds stream_options.include_usage
// on the caller's behalf; Request.IncludeUsage says whether the caller
// asked).

const prompt = "Say something about rivers."

// weatherTool is the one function tool of the tool cases.
var weatherTool = map[string]any{
	"type": "function",
	"function": map[string]any{
		"name":        "get_weather",
		"description": "Current weather in a city.",
		"parameters": map[string]any{
			"type":       "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}},
			"required":   []string{"city"},
		},
	},
}

// chatBody is an OpenAI chat completions request; extra fields are merged
// in.
func chatBody(model string, stream bool, extra map[string]any) []byte {
	b := map[string]any{
		"model":    model,
		"messages": []any{map[string]any{"role": "user", "content": prompt}},
	}
	if stream {
		b["stream"] = true
		b["stream_options"] = map[string]any{"include_usage": true}
	}
	for k, v := range extra {
		b[k] = v
	}
	return mustJSON(b)
}

// messagesBody is an Anthropic Messages request.
func messagesBody(model string, stream bool) []byte {
	b := map[string]any{
		"model":      model,
		"max_tokens": 256,
		"messages":   []any{map[string]any{"role": "user", "content": prompt}},
	}
	if stream {
		b["stream"] = true
	}
	return mustJSON(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// The OpenAI shapes, decoded strictly enough to catch what a client would
// choke on: a field of the wrong JSON type is a decode error, a required
// field that is missing is a nil pointer.

type oaUsage struct {
	PromptTokens        *int64 `json:"prompt_tokens"`
	CompletionTokens    *int64 `json:"completion_tokens"`
	TotalTokens         *int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

type oaToolCall struct {
	Index    *int    `json:"index"`
	ID       *string `json:"id"`
	Type     *string `json:"type"`
	Function *struct {
		Name      *string `json:"name"`
		Arguments *string `json:"arguments"`
	} `json:"function"`
}

type oaMessage struct {
	Role             *string      `json:"role"`
	Content          *string      `json:"content"`
	ReasoningContent *string      `json:"reasoning_content"`
	Refusal          *string      `json:"refusal"`
	ToolCalls        []oaToolCall `json:"tool_calls"`
}

type oaCompletion struct {
	ID      *string `json:"id"`
	Object  *string `json:"object"`
	Created *int64  `json:"created"`
	Model   *string `json:"model"`
	Choices []struct {
		Index        *int       `json:"index"`
		Message      *oaMessage `json:"message"`
		FinishReason *string    `json:"finish_reason"`
	} `json:"choices"`
	Usage *oaUsage `json:"usage"`
}

type oaChunk struct {
	ID      *string `json:"id"`
	Object  *string `json:"object"`
	Created *int64  `json:"created"`
	Model   *string `json:"model"`
	Choices *[]struct {
		Index        *int       `json:"index"`
		Delta        *oaMessage `json:"delta"`
		FinishReason *string    `json:"finish_reason"`
	} `json:"choices"`
	Usage *oaUsage `json:"usage"`
}

type oaEmbeddings struct {
	Object *string `json:"object"`
	Model  *string `json:"model"`
	Data   []struct {
		Object    *string   `json:"object"`
		Index     *int      `json:"index"`
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
	Usage *oaUsage `json:"usage"`
}

// checkUsage checks an OpenAI usage object against the normalised usage it
// must express: prompt_tokens counts cached tokens, completion_tokens
// reasoning ones.
func (u *oaUsage) check(want usage.Usage) error {
	if u.PromptTokens == nil || u.CompletionTokens == nil || u.TotalTokens == nil {
		return fmt.Errorf("usage lacks prompt_tokens, completion_tokens or total_tokens")
	}
	var cached, reasoning int64
	if u.PromptTokensDetails != nil {
		cached = u.PromptTokensDetails.CachedTokens
	}
	if u.CompletionTokensDetails != nil {
		reasoning = u.CompletionTokensDetails.ReasoningTokens
	}
	got := fmt.Sprintf("prompt %d, completion %d, total %d, cached %d, reasoning %d",
		*u.PromptTokens, *u.CompletionTokens, *u.TotalTokens, cached, reasoning)
	exp := fmt.Sprintf("prompt %d, completion %d, total %d, cached %d, reasoning %d",
		want.InputTokens, want.OutputTokens, want.Total(), want.CacheReadTokens, want.ReasoningTokens)
	if got != exp {
		return fmt.Errorf("usage is %s, want %s", got, exp)
	}
	return nil
}

// decodeCompletion decodes and checks a chat.completion body.
func decodeCompletion(body []byte) (*oaCompletion, error) {
	var c oaCompletion
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("not a chat.completion: %w", err)
	}
	switch {
	case c.ID == nil || *c.ID == "":
		return nil, fmt.Errorf("chat.completion has no id")
	case c.Object == nil || *c.Object != "chat.completion":
		return nil, fmt.Errorf("object is %v, want chat.completion", str(c.Object))
	case c.Created == nil:
		return nil, fmt.Errorf("chat.completion has no created")
	case c.Model == nil || *c.Model == "":
		return nil, fmt.Errorf("chat.completion has no model")
	case len(c.Choices) == 0:
		return nil, fmt.Errorf("chat.completion has no choices")
	}
	for i, ch := range c.Choices {
		switch {
		case ch.Index == nil || *ch.Index != i:
			return nil, fmt.Errorf("choice %d: index is missing or wrong", i)
		case ch.Message == nil:
			return nil, fmt.Errorf("choice %d: no message", i)
		case ch.Message.Role == nil || *ch.Message.Role != "assistant":
			return nil, fmt.Errorf("choice %d: role is %v, want assistant", i, str(ch.Message.Role))
		case ch.FinishReason == nil || *ch.FinishReason == "":
			return nil, fmt.Errorf("choice %d: no finish_reason", i)
		}
		if err := checkToolCalls(ch.Message.ToolCalls, false); err != nil {
			return nil, fmt.Errorf("choice %d: %w", i, err)
		}
	}
	return &c, nil
}

func checkToolCalls(tcs []oaToolCall, chunk bool) error {
	for j, tc := range tcs {
		if chunk {
			if tc.Index == nil {
				return fmt.Errorf("tool call delta %d has no index", j)
			}
			continue
		}
		switch {
		case tc.ID == nil || *tc.ID == "":
			return fmt.Errorf("tool call %d has no id", j)
		case tc.Type == nil || *tc.Type != "function":
			return fmt.Errorf("tool call %d: type is %v, want function", j, str(tc.Type))
		case tc.Function == nil || tc.Function.Name == nil || tc.Function.Arguments == nil:
			return fmt.Errorf("tool call %d lacks function name or arguments", j)
		}
	}
	return nil
}

// frame parses data as exactly one whole SSE frame.
func frame(data []byte) (sse.Event, error) {
	if !bytes.HasSuffix(data, []byte("\n\n")) && !bytes.HasSuffix(data, []byte("\r\n\r\n")) {
		return sse.Event{}, fmt.Errorf("not a whole SSE frame (no blank-line terminator): %.200q", data)
	}
	r := sse.NewReader(bytes.NewReader(data))
	ev, err := r.Next()
	if err != nil {
		return sse.Event{}, fmt.Errorf("not an SSE frame: %v: %.200q", err, data)
	}
	ev.Data = append([]byte(nil), ev.Data...)
	if ev.Data == nil {
		return sse.Event{}, fmt.Errorf("SSE frame has no data field: %.200q", data)
	}
	if _, err := r.Next(); err != io.EOF {
		return sse.Event{}, fmt.Errorf("more than one SSE frame in one event: %.200q", data)
	}
	return ev, nil
}

// decodeChunk decodes and checks the data of a chat.completion.chunk.
func decodeChunk(data []byte) (*oaChunk, error) {
	var c oaChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("not a chat.completion.chunk: %w: %.200s", err, data)
	}
	switch {
	case c.ID == nil:
		return nil, fmt.Errorf("chunk has no id: %.200s", data)
	case c.Object == nil || *c.Object != "chat.completion.chunk":
		return nil, fmt.Errorf("object is %v, want chat.completion.chunk: %.200s", str(c.Object), data)
	case c.Created == nil:
		return nil, fmt.Errorf("chunk has no created: %.200s", data)
	case c.Model == nil:
		return nil, fmt.Errorf("chunk has no model: %.200s", data)
	case c.Choices == nil:
		return nil, fmt.Errorf("chunk has no choices array: %.200s", data)
	}
	for i, ch := range *c.Choices {
		switch {
		case ch.Index == nil:
			return nil, fmt.Errorf("choice %d has no index: %.200s", i, data)
		case ch.Delta == nil:
			return nil, fmt.Errorf("choice %d has no delta: %.200s", i, data)
		}
		if err := checkToolCalls(ch.Delta.ToolCalls, true); err != nil {
			return nil, fmt.Errorf("choice %d: %w: %.200s", i, err, data)
		}
	}
	return &c, nil
}

// accumulator rebuilds choice 0 of a streamed completion from its chunks,
// as a client library does.
type accumulator struct {
	content, reasoning strings.Builder
	tools              map[int]*accTool
	finish             string
	model              string
}

type accTool struct{ id, name, args string }

func (a *accumulator) add(c *oaChunk) {
	if c.Model != nil && *c.Model != "" {
		a.model = *c.Model
	}
	for _, ch := range *c.Choices {
		if *ch.Index != 0 {
			continue
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			a.finish = *ch.FinishReason
		}
		d := ch.Delta
		if d.Content != nil {
			a.content.WriteString(*d.Content)
		}
		if d.ReasoningContent != nil {
			a.reasoning.WriteString(*d.ReasoningContent)
		}
		for _, tc := range d.ToolCalls {
			if a.tools == nil {
				a.tools = map[int]*accTool{}
			}
			t := a.tools[*tc.Index]
			if t == nil {
				t = &accTool{}
				a.tools[*tc.Index] = t
			}
			if tc.ID != nil && *tc.ID != "" {
				t.id = *tc.ID
			}
			if tc.Function != nil {
				if tc.Function.Name != nil && *tc.Function.Name != "" {
					t.name = *tc.Function.Name
				}
				if tc.Function.Arguments != nil {
					t.args += *tc.Function.Arguments
				}
			}
		}
	}
}

func str(p *string) any {
	if p == nil {
		return "missing"
	}
	return fmt.Sprintf("%q", *p)
}

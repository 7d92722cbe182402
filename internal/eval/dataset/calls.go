package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weirhq/weir/internal/record"
)

// ErrNoBody is wrapped when a call cannot become an item: recorded with
// x-weir-no-log (no body kept), interrupted, truncated, or not a chat call.
var ErrNoBody = errors.New("call not usable")

// ItemFromCall makes an item of a recorded call: its request's messages
// (OpenAI chat completions, or Anthropic messages converted to the OpenAI
// shape) as the input and, with withExpected, its response text as the
// expected output. The item's metadata names the call's model, provider
// and use case.
func ItemFromCall(r record.Record, withExpected bool) (Item, error) {
	fail := func(format string, a ...any) (Item, error) {
		return Item{}, fmt.Errorf("call %s: %w: %s", r.ID, ErrNoBody, fmt.Sprintf(format, a...))
	}
	if r.Request == "" {
		return fail("no request body was recorded (x-weir-no-log, or an interrupted call)")
	}
	if r.Truncated {
		return fail("its bodies were truncated when recorded")
	}
	var (
		msgs json.RawMessage
		err  error
	)
	switch r.Endpoint {
	case record.EndpointChatCompletions:
		msgs, err = openAIMessages(r.Request)
	case record.EndpointMessages:
		msgs, err = anthropicMessages(r.Request)
	default:
		return fail("a %s call has no chat messages", r.Endpoint)
	}
	if err != nil {
		return fail("%v", err)
	}
	it := Item{Messages: msgs, SourceCall: r.ID}
	if withExpected {
		if r.Status < 200 || r.Status > 299 || r.ErrorKind != "" {
			return fail("the call failed (status %d), so its response is no expected output", r.Status)
		}
		text, err := responseText(r)
		if err != nil {
			return fail("%v", err)
		}
		it.Expected, _ = json.Marshal(text)
	}
	meta := map[string]string{"model": r.Model, "provider": r.Provider}
	if r.UseCase != "" {
		meta["use_case"] = r.UseCase
	}
	it.Metadata, _ = json.Marshal(meta)
	if err := it.Validate(); err != nil {
		return fail("%v", err)
	}
	return it, nil
}

func openAIMessages(body string) (json.RawMessage, error) {
	var req struct {
		Messages json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		return nil, fmt.Errorf("the request is not an OpenAI chat request: %w", err)
	}
	if len(req.Messages) == 0 {
		return nil, errors.New("the request has no messages")
	}
	return req.Messages, nil
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

// anthropicText reads content that is a string or text blocks.
func anthropicText(raw json.RawMessage) (string, []anthropicBlock, error) {
	if len(raw) == 0 {
		return "", nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil, nil
	}
	var blocks []anthropicBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", nil, fmt.Errorf("content: %w", err)
	}
	return "", blocks, nil
}

type oaiToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type oaiMessage struct {
	Role       string        `json:"role"`
	Content    *string       `json:"content"`
	ToolCalls  []oaiToolCall `json:"tool_calls,omitempty"`
	ToolCallID string        `json:"tool_call_id,omitempty"`
}

// anthropicMessages converts an Anthropic messages request to OpenAI-style
// messages: the system prompt first, text blocks joined, tool_use blocks
// as tool calls and tool_result blocks as tool messages. Images and
// documents are refused: an item holds text.
func anthropicMessages(body string) (json.RawMessage, error) {
	var req struct {
		System   json.RawMessage `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		return nil, fmt.Errorf("the request is not an Anthropic messages request: %w", err)
	}
	if len(req.Messages) == 0 {
		return nil, errors.New("the request has no messages")
	}
	var out []oaiMessage
	text := func(s string) *string { return &s }
	if len(req.System) > 0 && string(req.System) != "null" {
		s, blocks, err := anthropicText(req.System)
		if err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		for _, b := range blocks {
			if b.Type != "text" {
				return nil, fmt.Errorf("system: a %s block", b.Type)
			}
			s += b.Text
		}
		out = append(out, oaiMessage{Role: "system", Content: text(s)})
	}
	for i, m := range req.Messages {
		s, blocks, err := anthropicText(m.Content)
		if err != nil {
			return nil, fmt.Errorf("messages[%d]: %w", i, err)
		}
		if blocks == nil {
			out = append(out, oaiMessage{Role: m.Role, Content: text(s)})
			continue
		}
		msg := oaiMessage{Role: m.Role}
		var texts []string
		for _, b := range blocks {
			switch b.Type {
			case "text":
				texts = append(texts, b.Text)
			case "tool_use":
				tc := oaiToolCall{ID: b.ID, Type: "function"}
				tc.Function.Name, tc.Function.Arguments = b.Name, string(b.Input)
				msg.ToolCalls = append(msg.ToolCalls, tc)
			case "tool_result":
				rs, rblocks, err := anthropicText(b.Content)
				if err != nil {
					return nil, fmt.Errorf("messages[%d] tool_result: %w", i, err)
				}
				for _, rb := range rblocks {
					if rb.Type != "text" {
						return nil, fmt.Errorf("messages[%d] tool_result: a %s block", i, rb.Type)
					}
					rs += rb.Text
				}
				out = append(out, oaiMessage{Role: "tool", ToolCallID: b.ToolUseID, Content: text(rs)})
			case "thinking", "redacted_thinking":
				// The model's own reasoning of an earlier turn: not input.
			default:
				return nil, fmt.Errorf("messages[%d]: a %s block (items hold text)", i, b.Type)
			}
		}
		if len(texts) > 0 || len(msg.ToolCalls) > 0 {
			if len(texts) > 0 || m.Role != "assistant" {
				msg.Content = text(strings.Join(texts, "\n"))
			}
			out = append(out, msg)
		}
	}
	return json.Marshal(out)
}

// responseText is the text of a call's response: a non-streamed body's
// message content (OpenAI or Anthropic), or a stream's recorded text.
func responseText(r record.Record) (string, error) {
	if r.Response == "" {
		return "", errors.New("no response body was recorded")
	}
	if r.Stream {
		return r.Response, nil
	}
	switch r.Endpoint {
	case record.EndpointChatCompletions:
		var resp struct {
			Choices []struct {
				Message struct {
					Content *string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(r.Response), &resp); err != nil || len(resp.Choices) == 0 {
			return "", errors.New("the response is not an OpenAI chat completion")
		}
		if resp.Choices[0].Message.Content == nil {
			return "", errors.New("the response has no text (tool calls only)")
		}
		return *resp.Choices[0].Message.Content, nil
	default:
		var resp struct {
			Content []anthropicBlock `json:"content"`
		}
		if err := json.Unmarshal([]byte(r.Response), &resp); err != nil {
			return "", errors.New("the response is not an Anthropic message")
		}
		var texts []string
		for _, b := range resp.Content {
			if b.Type == "text" {
				texts = append(texts, b.Text)
			}
		}
		if len(texts) == 0 {
			return "", errors.New("the response has no text")
		}
		return strings.Join(texts, ""), nil
	}
}

// Package tokencount counts tokens locally, with the o200k tokenizer that
// ships inside the binary, for providers that report no usage. Counts it
// produces are marked estimated. The gateway imports it.
package tokencount

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// Counter counts tokens. The vocabulary loads on first use; a Counter is
// safe for concurrent use.
type Counter struct {
	once  sync.Once
	codec tokenizer.Codec
	err   error
}

// New returns a Counter; the vocabulary is loaded lazily.
func New() *Counter { return &Counter{} }

func (c *Counter) load() error {
	c.once.Do(func() {
		c.codec, c.err = tokenizer.Get(tokenizer.O200kBase)
		if c.err != nil {
			c.err = fmt.Errorf("load o200k tokenizer: %w", c.err)
		}
	})
	return c.err
}

// Count is the number of tokens in text.
func (c *Counter) Count(text string) (int, error) {
	if text == "" {
		return 0, nil
	}
	if err := c.load(); err != nil {
		return 0, err
	}
	n, err := c.codec.Count(text)
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

// Per-message framing overhead of chat formats, as OpenAI documents for its
// chat models: every message costs 3 tokens more than its content, and every
// reply is primed with 3 more.
const (
	perMessage = 3
	perReply   = 3
)

type part struct {
	Type string `json:"type"`
	Text string `json:"text"`
	// Anthropic tool_result content and thinking blocks.
	Content  json.RawMessage `json:"content"`
	Thinking string          `json:"thinking"`
	Input    json.RawMessage `json:"input"`
	Name     string          `json:"name"`
}

// contentText flattens a content field that is a string or a list of parts.
func contentText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []part
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var out string
	for _, p := range parts {
		out += p.Text + p.Thinking + p.Name
		if len(p.Input) > 0 {
			out += string(p.Input)
		}
		if len(p.Content) > 0 {
			out += contentText(p.Content)
		}
	}
	return out
}

// ChatInput estimates the prompt tokens of an OpenAI chat completions
// request body.
func (c *Counter) ChatInput(body []byte) (int, error) {
	var req struct {
		Messages []struct {
			Role      string          `json:"role"`
			Name      string          `json:"name"`
			Content   json.RawMessage `json:"content"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		} `json:"messages"`
		Tools json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, fmt.Errorf("decode chat request: %w", err)
	}
	total := perReply
	for _, m := range req.Messages {
		n, err := c.Count(m.Role + m.Name + contentText(m.Content) + string(m.ToolCalls))
		if err != nil {
			return 0, err
		}
		total += perMessage + n
	}
	if len(req.Tools) > 0 && string(req.Tools) != "null" {
		n, err := c.Count(string(req.Tools))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// MessagesInput estimates the prompt tokens of an Anthropic Messages
// request body.
func (c *Counter) MessagesInput(body []byte) (int, error) {
	var req struct {
		System   json.RawMessage `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		Tools json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, fmt.Errorf("decode messages request: %w", err)
	}
	text := contentText(req.System)
	total := perReply
	for _, m := range req.Messages {
		text += contentText(m.Content)
		total += perMessage
	}
	if len(req.Tools) > 0 && string(req.Tools) != "null" {
		text += string(req.Tools)
	}
	n, err := c.Count(text)
	if err != nil {
		return 0, err
	}
	return total + n, nil
}

// EmbeddingsInput estimates the tokens of an OpenAI embeddings request:
// a string, a list of strings, or token arrays (counted as given).
func (c *Counter) EmbeddingsInput(body []byte) (int, error) {
	var req struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, fmt.Errorf("decode embeddings request: %w", err)
	}
	var s string
	if json.Unmarshal(req.Input, &s) == nil {
		return c.Count(s)
	}
	var list []string
	if json.Unmarshal(req.Input, &list) == nil {
		total := 0
		for _, s := range list {
			n, err := c.Count(s)
			if err != nil {
				return 0, err
			}
			total += n
		}
		return total, nil
	}
	var tokens []int
	if json.Unmarshal(req.Input, &tokens) == nil {
		return len(tokens), nil
	}
	var batches [][]int
	if json.Unmarshal(req.Input, &batches) == nil {
		total := 0
		for _, b := range batches {
			total += len(b)
		}
		return total, nil
	}
	return 0, fmt.Errorf("embeddings input is neither text nor tokens")
}

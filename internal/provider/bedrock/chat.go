package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/usage"
)

// now is the clock for the "created" field; tests replace it.
var now = time.Now

// ChatCompletion serves an OpenAI chat completions request through Converse
// (or ConverseStream), translating the request and the answer. Converse
// names no model in its answers: the model reported, and the one in the
// chat.completion body, is the id sent (req.Model), so that pricing sees
// the inference profile's region prefix.
func (p *Provider) ChatCompletion(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	body, err := TranslateRequest(req.Body, req.Model)
	if err != nil {
		return nil, err
	}
	op := "converse"
	if req.Stream {
		op = "converse-stream"
	}
	resp, cancel, err := p.call(ctx, req.Model, op, body, req)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Status: resp.StatusCode, Header: relayHeader(resp.Header), RequestID: resp.Header.Get("x-amzn-requestid")}
	if req.Stream {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, eventStreamType) {
			raw, _ := upstream.ReadBody(ctx, resp, req.Wait)
			cancel(nil)
			return nil, apierror.New(apierror.UpstreamBadResponse, "the provider answered a streaming request with %q instead of an event stream: %.200s", ct, raw)
		}
		rd := upstream.NewBodyReader(resp.Body, req.Wait, p.idle, cancel)
		out.Stream = newChatStream(ctx, rd, req.Model, out.RequestID, req.IncludeUsage)
		return out, nil
	}
	defer cancel(nil)
	raw, err := upstream.ReadBody(ctx, resp, req.Wait)
	if err != nil {
		return nil, err
	}
	c, err := parseConverse(raw)
	if err != nil {
		return nil, err
	}
	if c.Usage != nil {
		out.Usage, out.HasUsage = c.Usage.normalise(), true
	}
	id := responseID(out.RequestID)
	out.Body = translateConverse(c, id, req.Model, out.Usage, now())
	out.ResponseModel, out.FinishReason, out.Text = req.Model, FinishReason(c.StopReason), c.text()
	return out, nil
}

// eventStreamType is the content type of a ConverseStream answer.
const eventStreamType = "application/vnd.amazon.eventstream"

// responseID is the chat.completion id: AWS's request id, which finds the
// call in CloudTrail and AWS support.
func responseID(requestID string) string {
	if requestID == "" {
		return "chatcmpl-bedrock"
	}
	return "chatcmpl-" + requestID
}

// FinishReason maps a Converse stopReason to an OpenAI finish_reason.
func FinishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "guardrail_intervened", "content_filtered":
		return "content_filter"
	default: // end_turn, stop_sequence
		return "stop"
	}
}

// converseResponse is the part of a Converse answer the adapter reads.
type converseResponse struct {
	Output struct {
		Message *struct {
			Role    string          `json:"role"`
			Content []responseBlock `json:"content"`
		} `json:"message"`
	} `json:"output"`
	StopReason string      `json:"stopReason"`
	Usage      *TokenUsage `json:"usage"`
}

type responseBlock struct {
	Text    *string `json:"text"`
	ToolUse *struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	} `json:"toolUse"`
	ReasoningContent *struct {
		ReasoningText *struct {
			Text string `json:"text"`
		} `json:"reasoningText"`
	} `json:"reasoningContent"`
}

// TokenUsage is Bedrock's usage object (Converse's usage, ConverseStream's
// metadata.usage). inputTokens excludes the tokens read from and written to
// the prompt cache; outputTokens includes reasoning.
type TokenUsage struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	TotalTokens           int64 `json:"totalTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
	CacheDetails          []struct {
		TTL         string `json:"ttl"`
		InputTokens int64  `json:"inputTokens"`
	} `json:"cacheDetails"`
}

// normalise maps Bedrock usage into Weir's taxonomy: the input counts cache
// reads and writes too; the one-hour writes come from cacheDetails.
func (t *TokenUsage) normalise() usage.Usage {
	u := usage.Usage{
		InputTokens:      t.InputTokens + t.CacheReadInputTokens + t.CacheWriteInputTokens,
		CacheReadTokens:  t.CacheReadInputTokens,
		CacheWriteTokens: t.CacheWriteInputTokens,
		OutputTokens:     t.OutputTokens,
	}
	for _, d := range t.CacheDetails {
		if d.TTL == "1h" {
			u.CacheWrite1hTokens += d.InputTokens
		}
	}
	u.CacheWrite1hTokens = min(u.CacheWrite1hTokens, u.CacheWriteTokens)
	return u
}

// NormaliseUsage parses a Bedrock usage object and normalises it.
func NormaliseUsage(raw []byte) (usage.Usage, error) {
	var t TokenUsage
	if err := json.Unmarshal(raw, &t); err != nil {
		return usage.Usage{}, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a malformed usage object")
	}
	return t.normalise(), nil
}

func parseConverse(body []byte) (*converseResponse, error) {
	var c converseResponse
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider returned a response that is not valid Converse JSON")
	}
	if c.Output.Message == nil {
		return nil, apierror.New(apierror.UpstreamBadResponse, "the provider returned a Converse response without output.message")
	}
	return &c, nil
}

// text is the generated text of every block, for token estimation.
func (c *converseResponse) text() string {
	var b strings.Builder
	for _, bl := range c.Output.Message.Content {
		switch {
		case bl.Text != nil:
			b.WriteString(*bl.Text)
		case bl.ReasoningContent != nil && bl.ReasoningContent.ReasoningText != nil:
			b.WriteString(bl.ReasoningContent.ReasoningText.Text)
		case bl.ToolUse != nil:
			b.WriteString(bl.ToolUse.Name)
			b.Write(bl.ToolUse.Input)
		}
	}
	return b.String()
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             *chatUsage   `json:"usage,omitempty"`
	SystemFingerprint *string      `json:"system_fingerprint"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatOutMessage `json:"message"`
	FinishReason string         `json:"finish_reason"`
	Logprobs     *struct{}      `json:"logprobs"`
}

type chatOutMessage struct {
	Role             string        `json:"role"`
	Content          *string       `json:"content"`
	ReasoningContent string        `json:"reasoning_content,omitempty"`
	ToolCalls        []outToolCall `json:"tool_calls,omitempty"`
	Refusal          *string       `json:"refusal"`
}

type outToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// openAIUsage renders normalised usage the OpenAI way: prompt_tokens counts
// cached and cache-written tokens too, cached_tokens the cache reads.
func openAIUsage(u usage.Usage) *chatUsage {
	c := &chatUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.Total()}
	c.PromptTokensDetails.CachedTokens = u.CacheReadTokens
	return c
}

// TranslateResponse turns a Converse response body into an OpenAI
// chat.completion body with the given id and model; created is t.
func TranslateResponse(body []byte, id, model string, t time.Time) ([]byte, error) {
	c, err := parseConverse(body)
	if err != nil {
		return nil, err
	}
	var u usage.Usage
	if c.Usage != nil {
		u = c.Usage.normalise()
	}
	return translateConverse(c, id, model, u, t), nil
}

func translateConverse(c *converseResponse, id, model string, u usage.Usage, t time.Time) []byte {
	msg := chatOutMessage{Role: "assistant"}
	var text, reasoning strings.Builder
	for _, b := range c.Output.Message.Content {
		switch {
		case b.Text != nil:
			text.WriteString(*b.Text)
		case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
			reasoning.WriteString(b.ReasoningContent.ReasoningText.Text)
		case b.ToolUse != nil:
			tc := outToolCall{ID: b.ToolUse.ToolUseID, Type: "function"}
			tc.Function.Name = b.ToolUse.Name
			tc.Function.Arguments = "{}"
			if isJSONValue(b.ToolUse.Input) {
				var buf bytes.Buffer
				if json.Compact(&buf, b.ToolUse.Input) == nil {
					tc.Function.Arguments = buf.String()
				}
			}
			msg.ToolCalls = append(msg.ToolCalls, tc)
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = reasoning.String()
	out := chatCompletion{
		ID: id, Object: "chat.completion", Created: t.Unix(), Model: model,
		Choices: []chatChoice{{Message: msg, FinishReason: FinishReason(c.StopReason)}},
		Usage:   openAIUsage(u),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(&out) // cannot fail: plain structs of strings and numbers
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

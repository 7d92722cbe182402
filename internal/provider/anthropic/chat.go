package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/weirhq/weir/internal/jsonenc"
	"io"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/sse"
	"github.com/weirhq/weir/internal/usage"
)

// now is the clock for the "created" field; tests replace it.
var now = time.Now

// ChatCompletion serves an OpenAI chat completions request by translating it
// to POST /v1/messages and the answer back (see TranslateRequest,
// TranslateResponse and the chat stream).
func (p *Provider) ChatCompletion(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	body, err := TranslateRequest(req.Body, req.Model, req.Stream)
	if err != nil {
		return nil, err
	}
	resp, cancel, err := p.call(ctx, "/v1/messages", body, req)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Status: resp.StatusCode, Header: upstream.RelayHeader(resp.Header), RequestID: resp.Header.Get("request-id")}
	if req.Stream {
		rd, err := p.openStream(ctx, resp, cancel, req)
		if err != nil {
			return nil, err
		}
		out.Stream = newChatStream(ctx, rd, req.IncludeUsage)
		return out, nil
	}
	defer cancel(nil)
	raw, err := upstream.ReadBody(ctx, resp, req.Wait)
	if err != nil {
		return nil, err
	}
	m, err := parseMessage(raw)
	if err != nil {
		return nil, err
	}
	if out.Usage, out.HasUsage, err = m.usage(); err != nil {
		return nil, err
	}
	out.Body = translateMessage(m, out.Usage, now())
	out.ResponseModel, out.FinishReason, out.Text = m.Model, FinishReason(m.StopReason), m.text()
	out.ServiceTier = serviceTier(m.Usage)
	return out, nil
}

// FinishReason maps an Anthropic stop_reason to an OpenAI finish_reason.
func FinishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	default: // end_turn, stop_sequence, pause_turn
		return "stop"
	}
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

// TranslateResponse turns an Anthropic Messages response body into an OpenAI
// chat.completion body. The id stays Anthropic's message id (msg_...), so
// the answer can be found in Anthropic's console; created is t.
func TranslateResponse(body []byte, t time.Time) ([]byte, error) {
	m, err := parseMessage(body)
	if err != nil {
		return nil, err
	}
	u, _, err := m.usage()
	if err != nil {
		return nil, err
	}
	return translateMessage(m, u, t), nil
}

func translateMessage(m *message, u usage.Usage, t time.Time) []byte {
	msg := chatOutMessage{Role: "assistant"}
	var text, reasoning strings.Builder
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			reasoning.WriteString(b.Thinking)
		case "tool_use":
			tc := outToolCall{ID: b.ID, Type: "function"}
			tc.Function.Name = b.Name
			tc.Function.Arguments = "{}"
			if isJSONValue(b.Input) {
				var buf bytes.Buffer
				if json.Compact(&buf, b.Input) == nil {
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
	c := chatCompletion{
		ID: m.ID, Object: "chat.completion", Created: t.Unix(), Model: m.Model,
		Choices: []chatChoice{{Message: msg, FinishReason: FinishReason(m.StopReason)}},
		Usage:   openAIUsage(u),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(&c) // cannot fail: plain structs of strings and numbers
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// chatStream translates an Anthropic stream into OpenAI chat.completion.chunk
// events as it reads it.
type chatStream struct {
	closed       bool // Close was called: Next fails at once
	ctx          context.Context
	body         io.ReadCloser
	r            *sse.Reader
	includeUsage bool
	created      int64

	acc     usage.Anthropic
	ev      streamEvent
	prefix  []byte // data: {"id":...,"choices":[
	buf     []byte
	scratch []byte
	tools   []int // content block index -> tool call index, -1 if not a tool
	ntools  int
	pending []provider.Event
	done    bool
}

func newChatStream(ctx context.Context, body io.ReadCloser, includeUsage bool) *chatStream {
	return &chatStream{ctx: ctx, body: body, r: sse.NewReader(body), includeUsage: includeUsage, created: now().Unix()}
}

// doneEvent ends an OpenAI stream.
var doneEvent = []byte("data: [DONE]\n\n")

func (s *chatStream) Next() (provider.Event, error) {
	if s.closed {
		return provider.Event{}, provider.ErrStreamClosed
	}
	for {
		if len(s.pending) > 0 {
			ev := s.pending[0]
			s.pending = s.pending[1:]
			return ev, nil
		}
		if s.done {
			return provider.Event{}, io.EOF
		}
		ev, err := nextEvent(s.ctx, s.r)
		if err == io.EOF {
			return provider.Event{}, errNoStop()
		}
		if err != nil {
			return provider.Event{}, err
		}
		out, err := s.translate(&ev)
		if err != nil {
			return provider.Event{}, err
		}
		if out.Drop && out.Usage == nil && !out.Done {
			continue // ping, block stops, signatures: nothing to tell
		}
		return out, nil
	}
}

func (s *chatStream) Close() error {
	s.closed = true
	return s.body.Close()
}

// setPrefix prepares the opening of every chunk of the stream.
func (s *chatStream) setPrefix(id, model string) {
	b := append(s.prefix[:0], `data: {"id":`...)
	b = jsonenc.AppendString(b, id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = appendInt(b, s.created)
	b = append(b, `,"model":`...)
	b = jsonenc.AppendString(b, model)
	s.prefix = append(b, `,"choices":[`...)
}

// chunk starts a chunk with one choice whose delta follows.
func (s *chatStream) chunk() []byte {
	if len(s.prefix) == 0 {
		s.setPrefix("", "")
	}
	b := append(s.buf[:0], s.prefix...)
	return append(b, `{"index":0,"delta":{`...)
}

// endChunk closes a chunk started by chunk.
func (s *chatStream) endChunk(b []byte, finish string) []byte {
	b = append(b, `},"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = jsonenc.AppendString(b, finish)
	}
	b = append(b, "}]}\n\n"...)
	s.buf = b
	return b
}

func (s *chatStream) translate(ev *sse.Event) (provider.Event, error) {
	drop := provider.Event{Drop: true}
	typ, err := eventType(ev)
	if err != nil {
		return drop, err
	}
	switch typ {
	case "ping", "content_block_stop":
		return drop, nil
	case "content_block_delta":
		kind, text, index, err := readDelta(ev.Data, &s.ev, &s.scratch)
		if err != nil || kind == deltaOther || text == "" {
			return drop, err
		}
		out := provider.Event{Token: true, Completion: kind != deltaThinking, Text: text}
		b := s.chunk()
		switch kind {
		case deltaText:
			b = append(b, `"content":`...)
			b = jsonenc.AppendString(b, text)
		case deltaThinking:
			b = append(b, `"reasoning_content":`...)
			b = jsonenc.AppendString(b, text)
		case deltaJSON:
			idx := s.toolIndex(index)
			if idx < 0 {
				return drop, nil
			}
			b = append(b, `"tool_calls":[{"index":`...)
			b = appendInt(b, int64(idx))
			b = append(b, `,"function":{"arguments":`...)
			b = jsonenc.AppendString(b, text)
			b = append(b, "}}]"...)
		}
		out.Data = s.endChunk(b, "")
		return out, nil
	case "content_block_start":
		if err := s.ev.decode(ev.Data); err != nil {
			return drop, err
		}
		cb := s.ev.ContentBlock
		if cb == nil {
			return drop, nil
		}
		b := s.chunk()
		var out provider.Event
		switch cb.Type {
		case "tool_use":
			idx := s.ntools
			s.ntools++
			s.setToolIndex(s.ev.Index, idx)
			b = append(b, `"tool_calls":[{"index":`...)
			b = appendInt(b, int64(idx))
			b = append(b, `,"id":`...)
			b = jsonenc.AppendString(b, cb.ID)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = jsonenc.AppendString(b, cb.Name)
			b = append(b, `,"arguments":""}}]`...)
			out = provider.Event{Token: true, Completion: true, Text: cb.Name}
		case "text":
			if cb.Text == "" {
				return drop, nil
			}
			b = append(b, `"content":`...)
			b = jsonenc.AppendString(b, cb.Text)
			out = provider.Event{Token: true, Completion: true, Text: cb.Text}
		default: // thinking, redacted_thinking, server tools
			return drop, nil
		}
		out.Data = s.endChunk(b, "")
		return out, nil
	case "message_start":
		if err := s.ev.decode(ev.Data); err != nil {
			return drop, err
		}
		var out provider.Event
		if m := s.ev.Message; m != nil {
			s.setPrefix(m.ID, m.Model)
			out.ResponseModel = m.Model
			if out.Usage, err = mergeUsage(&s.acc, m.Usage); err != nil {
				return drop, err
			}
			out.ServiceTier = serviceTier(m.Usage)
		}
		b := append(s.chunk(), `"role":"assistant","content":""`...)
		out.Data = s.endChunk(b, "")
		return out, nil
	case "message_delta":
		if err := s.ev.decode(ev.Data); err != nil {
			return drop, err
		}
		var out provider.Event
		if out.Usage, err = mergeUsage(&s.acc, s.ev.Usage); err != nil {
			return drop, err
		}
		out.ServiceTier = serviceTier(s.ev.Usage)
		if s.ev.Delta.StopReason == "" {
			out.Drop = true
			return out, nil
		}
		out.FinishReason = FinishReason(s.ev.Delta.StopReason)
		out.Data = s.endChunk(s.chunk(), out.FinishReason)
		return out, nil
	case "message_stop":
		s.done = true
		u := s.acc.Usage()
		usageEv := provider.Event{Usage: &u, Drop: !s.includeUsage}
		if s.includeUsage {
			if len(s.prefix) == 0 {
				s.setPrefix("", "")
			}
			b := append(s.buf[:0], s.prefix...)
			b = append(b, `],"usage":`...)
			raw, _ := json.Marshal(openAIUsage(u))
			b = append(b, raw...)
			b = append(b, "}\n\n"...)
			s.buf = b
			usageEv.Data = b
		}
		s.pending = append(s.pending[:0], provider.Event{Data: doneEvent, Done: true})
		return usageEv, nil
	case "error":
		if err := s.ev.decode(ev.Data); err != nil {
			return drop, err
		}
		e := s.ev.Error
		if e == nil {
			e = &errorObject{}
		}
		return drop, streamError(e)
	}
	return drop, nil
}

func (s *chatStream) toolIndex(block int) int {
	if block < 0 || block >= len(s.tools) {
		return -1
	}
	return s.tools[block]
}

// maxBlocks bounds the block index a stream may use, so a hostile index
// cannot make the table grow without limit.
const maxBlocks = 1 << 12

func (s *chatStream) setToolIndex(block, tool int) {
	if block < 0 || block >= maxBlocks {
		return
	}
	for len(s.tools) <= block {
		s.tools = append(s.tools, -1)
	}
	s.tools[block] = tool
}

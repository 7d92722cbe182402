package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/jsonenc"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/usage"
)

// A ConverseStream answer is a sequence of AWS event-stream messages
// (application/vnd.amazon.eventstream): a binary prelude (total and header
// lengths, CRC32), typed headers (:message-type, :event-type,
// :exception-type, :content-type), a JSON payload and a CRC32 of the whole
// message. The SDK's eventstream decoder checks the lengths and both CRCs;
// this file reads the events: messageStart, contentBlockStart,
// contentBlockDelta, contentBlockStop, messageStop, metadata, and the
// exceptions AWS sends in their place.

// Message is one decoded event-stream message, reduced to what the
// translation reads.
type Message struct {
	// MessageType is "event", "exception" or "error".
	MessageType string
	// EventType names an event (messageStart...); for an exception it is
	// the exception type (throttlingException...); for an error, the error
	// code.
	EventType string
	// Payload is the JSON payload (for an error, its :error-message).
	Payload []byte
}

// Decoder reads event-stream messages from r.
type Decoder struct {
	r   countingReader
	dec *eventstream.Decoder
	buf []byte
}

// countingReader counts the bytes read, so that an end of input inside a
// message is told apart from one between messages.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewDecoder returns a decoder of the messages r carries.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: countingReader{r: r}, dec: eventstream.NewDecoder()}
}

// Next returns the next message: io.EOF at a clean end between messages,
// io.ErrUnexpectedEOF when the input ends inside one, and an error naming
// the fault (a length over the limits, a CRC mismatch, a malformed header)
// otherwise. The Payload is valid until the next call.
func (d *Decoder) Next() (Message, error) {
	start := d.r.n
	m, err := d.dec.Decode(&d.r, d.buf[:0])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if d.r.n == start {
				return Message{}, io.EOF
			}
			return Message{}, fmt.Errorf("event stream message: %w", io.ErrUnexpectedEOF)
		}
		return Message{}, fmt.Errorf("event stream message: %w", err)
	}
	d.buf = m.Payload[:0]
	out := Message{Payload: m.Payload}
	out.MessageType = headerString(m.Headers, ":message-type")
	switch out.MessageType {
	case "exception":
		out.EventType = headerString(m.Headers, ":exception-type")
	case "error":
		out.EventType = headerString(m.Headers, ":error-code")
		out.Payload = []byte(headerString(m.Headers, ":error-message"))
	default:
		out.EventType = headerString(m.Headers, ":event-type")
	}
	return out, nil
}

func headerString(h eventstream.Headers, name string) string {
	v := h.Get(name)
	if v == nil {
		return ""
	}
	if s, ok := v.(eventstream.StringValue); ok {
		return string(s)
	}
	return v.String()
}

// streamEvent is the payload of any ConverseStream event; one value is
// reused for every event of a stream.
type streamEvent struct {
	Role              string `json:"role"`
	ContentBlockIndex int    `json:"contentBlockIndex"`
	Start             *struct {
		ToolUse *struct {
			ToolUseID string `json:"toolUseId"`
			Name      string `json:"name"`
		} `json:"toolUse"`
	} `json:"start"`
	Delta *struct {
		Text    *string `json:"text"`
		ToolUse *struct {
			Input string `json:"input"`
		} `json:"toolUse"`
		ReasoningContent *struct {
			Text string `json:"text"`
		} `json:"reasoningContent"`
	} `json:"delta"`
	StopReason string      `json:"stopReason"`
	Usage      *TokenUsage `json:"usage"`
	Message    string      `json:"message"`
	MessageU   string      `json:"Message"`
}

// exceptionKinds maps the exceptions ConverseStream sends mid-stream to
// their HTTP status, as its API reference documents them.
var exceptionStatus = map[string]int{
	"internalServerException":     500,
	"modelStreamErrorException":   424,
	"validationException":         400,
	"throttlingException":         429,
	"serviceUnavailableException": 503,
}

// streamError turns an exception message into the gateway error of the
// matching kind.
func streamError(typ string, payload []byte) *apierror.Error {
	var e streamEvent
	json.Unmarshal(payload, &e) // a payload that is not JSON still reports the exception
	msg := e.Message
	if msg == "" {
		msg = e.MessageU
	}
	if msg == "" {
		msg = "the provider reported an error mid-stream (" + typ + ")"
	}
	name := typ
	if name != "" {
		name = string(name[0]-'a'+'A') + name[1:] // throttlingException -> ThrottlingException
		if typ[0] < 'a' || typ[0] > 'z' {
			name = typ
		}
	}
	kind, ok := kindOf(name)
	if !ok {
		kind = apierror.UpstreamError
	}
	return &apierror.Error{Kind: kind, Message: msg, Status: exceptionStatus[typ], Code: name,
		Err: fmt.Errorf("bedrock stream exception %q", typ)}
}

// chatStream translates a ConverseStream answer into OpenAI
// chat.completion.chunk events as it reads it.
type chatStream struct {
	closed       bool
	body         io.ReadCloser
	dec          *Decoder
	ctx          context.Context
	includeUsage bool
	created      int64
	model, id    string

	ev      streamEvent
	prefix  []byte
	buf     []byte
	tools   map[int]int // content block index -> tool call index
	ntools  int
	stopped bool // messageStop seen
	finish  string
	pending []provider.Event
	done    bool
}

// newChatStream reads body (an upstream.BodyReader, whose reads the idle
// timeout bounds and whose Close cancels the request of ctx).
func newChatStream(ctx context.Context, body io.ReadCloser, model, requestID string, includeUsage bool) *chatStream {
	s := &chatStream{body: body, dec: NewDecoder(body), ctx: ctx, includeUsage: includeUsage,
		created: now().Unix(), model: model, id: responseID(requestID), tools: map[int]int{}}
	b := append([]byte(nil), `data: {"id":`...)
	b = jsonenc.AppendString(b, s.id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, s.created, 10)
	b = append(b, `,"model":`...)
	b = jsonenc.AppendString(b, model)
	s.prefix = append(b, `,"choices":[`...)
	return s
}

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
		m, err := s.dec.Next()
		if err == io.EOF {
			if !s.stopped {
				return provider.Event{}, apierror.New(apierror.UpstreamBadResponse, "the provider's stream ended before messageStop")
			}
			// No metadata event: end without usage.
			s.done = true
			s.pending = append(s.pending[:0], provider.Event{Data: doneEvent, Done: true})
			continue
		}
		if err != nil {
			return provider.Event{}, s.readError(err)
		}
		out, err := s.translate(&m)
		if err != nil {
			return provider.Event{}, err
		}
		if out.Drop && out.Usage == nil && !out.Done && out.FinishReason == "" {
			continue
		}
		return out, nil
	}
}

// readError classifies a failure to read the next message: the body's
// failures (a stall, the caller gone) by their cause, framing faults as a
// bad response.
func (s *chatStream) readError(err error) error {
	var ae *apierror.Error
	if errors.As(err, &ae) {
		return ae
	}
	var ce eventstream.ChecksumError
	var le eventstream.LengthError
	switch {
	case errors.As(err, &ce), errors.As(err, &le):
		return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider's event stream is corrupt")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		e := upstream.Classify(s.ctx, err)
		if e.Kind == apierror.UpstreamBadResponse || e.Kind == apierror.UpstreamUnavailable {
			return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider's stream was cut mid-message")
		}
		return e
	}
	e := upstream.Classify(s.ctx, err)
	if e.Kind == apierror.UpstreamUnavailable {
		return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider's event stream is malformed")
	}
	return e
}

func (s *chatStream) Close() error {
	s.closed = true
	return s.body.Close()
}

func (s *chatStream) chunk() []byte {
	b := append(s.buf[:0], s.prefix...)
	return append(b, `{"index":0,"delta":{`...)
}

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

func badEvent(typ string, err error) error {
	return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider sent a %s event that is not valid JSON", typ)
}

func (s *chatStream) translate(m *Message) (provider.Event, error) {
	drop := provider.Event{Drop: true}
	switch m.MessageType {
	case "exception", "error":
		return drop, streamError(m.EventType, m.Payload)
	case "event", "":
	default:
		return drop, nil
	}
	s.ev = streamEvent{}
	if len(m.Payload) > 0 {
		if err := json.Unmarshal(m.Payload, &s.ev); err != nil {
			return drop, badEvent(m.EventType, err)
		}
	}
	switch m.EventType {
	case "messageStart":
		b := append(s.chunk(), `"role":"assistant","content":""`...)
		return provider.Event{Data: s.endChunk(b, ""), ResponseModel: s.model}, nil
	case "contentBlockStart":
		if s.ev.Start == nil || s.ev.Start.ToolUse == nil {
			return drop, nil
		}
		tu := s.ev.Start.ToolUse
		idx := s.ntools
		s.ntools++
		if len(s.tools) < maxBlocks {
			s.tools[s.ev.ContentBlockIndex] = idx
		}
		b := append(s.chunk(), `"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(idx), 10)
		b = append(b, `,"id":`...)
		b = jsonenc.AppendString(b, tu.ToolUseID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = jsonenc.AppendString(b, tu.Name)
		b = append(b, `,"arguments":""}}]`...)
		return provider.Event{Data: s.endChunk(b, ""), Token: true, Completion: true, Text: tu.Name}, nil
	case "contentBlockDelta":
		d := s.ev.Delta
		if d == nil {
			return drop, nil
		}
		b := s.chunk()
		var out provider.Event
		switch {
		case d.Text != nil:
			if *d.Text == "" {
				return drop, nil
			}
			b = append(b, `"content":`...)
			b = jsonenc.AppendString(b, *d.Text)
			out = provider.Event{Token: true, Completion: true, Text: *d.Text}
		case d.ToolUse != nil:
			idx, ok := s.tools[s.ev.ContentBlockIndex]
			if !ok || d.ToolUse.Input == "" {
				return drop, nil
			}
			b = append(b, `"tool_calls":[{"index":`...)
			b = strconv.AppendInt(b, int64(idx), 10)
			b = append(b, `,"function":{"arguments":`...)
			b = jsonenc.AppendString(b, d.ToolUse.Input)
			b = append(b, "}}]"...)
			out = provider.Event{Token: true, Completion: true, Text: d.ToolUse.Input}
		case d.ReasoningContent != nil && d.ReasoningContent.Text != "":
			b = append(b, `"reasoning_content":`...)
			b = jsonenc.AppendString(b, d.ReasoningContent.Text)
			out = provider.Event{Token: true, Text: d.ReasoningContent.Text}
		default: // a reasoning signature or redacted reasoning
			return drop, nil
		}
		out.Data = s.endChunk(b, "")
		return out, nil
	case "messageStop":
		s.stopped = true
		s.finish = FinishReason(s.ev.StopReason)
		return provider.Event{Data: s.endChunk(s.chunk(), s.finish), FinishReason: s.finish}, nil
	case "metadata":
		if s.ev.Usage == nil {
			return drop, nil
		}
		u := s.ev.Usage.normalise()
		if !s.stopped {
			// Usage before messageStop: keep it, the stream is not over.
			return provider.Event{Drop: true, Usage: &u}, nil
		}
		s.done = true
		out := provider.Event{Usage: &u, Drop: !s.includeUsage}
		if s.includeUsage {
			out.Data = s.usageChunk(u)
		}
		s.pending = append(s.pending[:0], provider.Event{Data: doneEvent, Done: true})
		return out, nil
	}
	return drop, nil // contentBlockStop and events added later
}

func (s *chatStream) usageChunk(u usage.Usage) []byte {
	b := append(s.buf[:0], s.prefix...)
	b = append(b, `],"usage":`...)
	raw, _ := json.Marshal(openAIUsage(u))
	b = append(b, raw...)
	b = append(b, "}\n\n"...)
	s.buf = b
	return b
}

// maxBlocks bounds the tool table, so a hostile stream cannot grow it
// without limit.
const maxBlocks = 1 << 12

package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/jsonenc"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/sse"
	"github.com/weirhq/weir/internal/usage"
)

// doneEvent ends an OpenAI stream.
var doneEvent = []byte("data: [DONE]\n\n")

// maxCandidates bounds the candidate index a stream may use.
const maxCandidates = 8

// chatStream translates a streamGenerateContent (alt=sse) stream into
// OpenAI chat.completion.chunk events. Every Gemini chunk is a whole
// GenerateContentResponse holding the next parts of each candidate; the
// last one carries finishReason and the final usageMetadata; the stream
// then simply ends, with no terminal event.
type chatStream struct {
	closed       bool
	ctx          context.Context
	body         io.ReadCloser
	r            *sse.Reader
	includeUsage bool
	created      int64
	model        string // asked for, until modelVersion says otherwise

	started  bool
	prefix   []byte // data: {"id":...,"choices":[
	buf      []byte
	chunk    response
	usage    *usageMetadata
	tools    [maxCandidates]int  // tool calls so far, per candidate
	finished [maxCandidates]bool // finishReason seen, per candidate
	nfinish  int
	pending  []provider.Event
	done     bool
}

func newChatStream(ctx context.Context, body io.ReadCloser, model string, includeUsage bool) *chatStream {
	return &chatStream{ctx: ctx, body: body, r: sse.NewReader(body), includeUsage: includeUsage,
		created: now().Unix(), model: strings.TrimPrefix(model, "models/")}
}

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
		ev, err := s.r.Next()
		if err == io.EOF {
			if s.nfinish == 0 {
				return provider.Event{}, apierror.New(apierror.UpstreamBadResponse, "the provider's stream ended before a finishReason")
			}
			s.finish()
			continue
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider's stream was cut mid-event")
			}
			return provider.Event{}, upstream.Classify(s.ctx, err)
		}
		if len(bytes.TrimSpace(ev.Data)) == 0 {
			continue // comments and keep-alives
		}
		if err := s.translate(ev.Data); err != nil {
			return provider.Event{}, err
		}
	}
}

func (s *chatStream) Close() error {
	s.closed = true
	return s.body.Close()
}

// decodeChunk reads one stream chunk into r, which is reset first.
func decodeChunk(data []byte, r *response) error {
	*r = response{}
	if err := json.Unmarshal(data, r); err != nil {
		return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider sent a stream chunk that is not valid JSON")
	}
	return nil
}

// setPrefix prepares the opening of every chunk of the stream.
func (s *chatStream) setPrefix(id string) {
	b := append(s.prefix[:0], `data: {"id":`...)
	b = jsonenc.AppendString(b, id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = appendInt(b, s.created)
	b = append(b, `,"model":`...)
	b = jsonenc.AppendString(b, s.model)
	s.prefix = append(b, `,"choices":[`...)
}

// emit queues one chunk for choice index whose delta is delta (the inside
// of the delta object) and whose finish_reason is finish.
func (s *chatStream) emit(ev provider.Event, index int, delta []byte, finish string) {
	b := append(s.buf[:0], s.prefix...)
	b = append(b, `{"index":`...)
	b = appendInt(b, int64(index))
	b = append(b, `,"delta":{`...)
	b = append(b, delta...)
	b = append(b, `},"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = jsonenc.AppendString(b, finish)
	}
	b = append(b, "}]}\n\n"...)
	ev.Data = bytes.Clone(b) // several events may be pending at once
	s.buf = b
	s.pending = append(s.pending, ev)
}

// translate turns one Gemini chunk into pending OpenAI chunks.
func (s *chatStream) translate(data []byte) error {
	r := &s.chunk
	if err := decodeChunk(data, r); err != nil {
		return err
	}
	if r.Error != nil {
		return streamError(r.Error)
	}
	if r.UsageMetadata != nil {
		s.usage = r.UsageMetadata
	}
	if !s.started {
		s.started = true
		if r.ModelVersion != "" {
			s.model = r.ModelVersion
		}
		id := r.ResponseID
		if id == "" {
			id = "chatcmpl-" + strings.TrimPrefix(newCallID(), "call_")
		}
		s.setPrefix(id)
		s.emit(provider.Event{ResponseModel: s.model}, 0, []byte(`"role":"assistant","content":""`), "")
	}
	var d []byte
	for i := range r.Candidates {
		c := &r.Candidates[i]
		if c.Index < 0 || c.Index >= maxCandidates {
			continue
		}
		if c.Content != nil {
			for j := range c.Content.Parts {
				pt := &c.Content.Parts[j]
				switch {
				case pt.FunctionCall != nil:
					tc := toolCall(pt.FunctionCall, pt.ThoughtSignature)
					d = append(d[:0], `"tool_calls":[{"index":`...)
					d = appendInt(d, int64(s.tools[c.Index]))
					d = append(d, `,"id":`...)
					d = jsonenc.AppendString(d, tc.ID)
					d = append(d, `,"type":"function","function":{"name":`...)
					d = jsonenc.AppendString(d, tc.Function.Name)
					d = append(d, `,"arguments":`...)
					d = jsonenc.AppendString(d, tc.Function.Arguments)
					d = append(d, "}}]"...)
					s.tools[c.Index]++
					s.emit(provider.Event{Token: true, Completion: true, Text: tc.Function.Name + tc.Function.Arguments}, c.Index, d, "")
				case pt.Text == "":
					// a bare thought signature, or an empty part
				case pt.Thought:
					d = append(d[:0], `"reasoning_content":`...)
					d = jsonenc.AppendString(d, pt.Text)
					s.emit(provider.Event{Token: true, Text: pt.Text}, c.Index, d, "")
				default:
					d = append(d[:0], `"content":`...)
					d = jsonenc.AppendString(d, pt.Text)
					s.emit(provider.Event{Token: true, Completion: true, Text: pt.Text}, c.Index, d, "")
				}
			}
		}
		if c.FinishReason != "" && !s.finished[c.Index] {
			s.finished[c.Index] = true
			s.nfinish++
			fr := FinishReason(c.FinishReason, s.tools[c.Index] > 0)
			s.emit(provider.Event{FinishReason: fr}, c.Index, nil, fr)
		}
	}
	if len(r.Candidates) == 0 && r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" && s.nfinish == 0 {
		s.finished[0] = true
		s.nfinish++
		s.emit(provider.Event{FinishReason: "content_filter"}, 0, nil, "content_filter")
	}
	return nil
}

// finish queues the usage chunk (dropped unless the caller asked for it)
// and [DONE] after a clean end.
func (s *chatStream) finish() {
	s.done = true
	var u *usage.Usage
	if s.usage != nil {
		n := s.usage.normalise()
		u = &n
	}
	if u != nil {
		ev := provider.Event{Usage: u, Drop: !s.includeUsage}
		if s.includeUsage {
			b := append(s.buf[:0], s.prefix...)
			b = append(b, `],"usage":`...)
			raw, _ := json.Marshal(openAIUsage(*u))
			b = append(b, raw...)
			b = append(b, "}\n\n"...)
			ev.Data = bytes.Clone(b)
		}
		s.pending = append(s.pending, ev)
	}
	s.pending = append(s.pending, provider.Event{Data: doneEvent, Done: true})
}

package anthropic

import (
	"context"
	"encoding/json"
	"github.com/buger/jsonparser"
	"io"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/upstream"
	"github.com/weirhq/weir/internal/sse"
	"github.com/weirhq/weir/internal/usage"
)

// streamEvent is the part of an Anthropic stream event either stream looks
// at. One value is reused for every event of a stream; reset clears it.
type streamEvent struct {
	Type    string `json:"type"`
	Index   int    `json:"index"`
	Message *struct {
		ID    string          `json:"id"`
		Model string          `json:"model"`
		Usage json.RawMessage `json:"usage"`
	} `json:"message"`
	ContentBlock *struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
		Text string `json:"text"`
	} `json:"content_block"`
	Delta struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		Thinking    string `json:"thinking"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage json.RawMessage `json:"usage"`
	Error *errorObject    `json:"error"`
}

func (e *streamEvent) reset() { *e = streamEvent{} }

// eventType is the event's type: the SSE event line when present (Anthropic
// always sends one), else the "type" field of the data.
func eventType(ev *sse.Event) (string, error) {
	if ev.Type != "" {
		return ev.Type, nil
	}
	var t struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(ev.Data, &t); err != nil {
		return "", badEvent(err)
	}
	return t.Type, nil
}

func badEvent(err error) error {
	return apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider sent a stream event that is not valid JSON")
}

// decode fills e from data, which must be a JSON object.
func (e *streamEvent) decode(data []byte) error {
	e.reset()
	if err := json.Unmarshal(data, e); err != nil {
		return badEvent(err)
	}
	return nil
}

// nextEvent reads the next event that carries data, mapping the reader's
// failures: a clean end is io.EOF, anything else an *apierror.Error.
func nextEvent(ctx context.Context, r *sse.Reader) (sse.Event, error) {
	for {
		ev, err := r.Next()
		if err != nil {
			if err == io.EOF {
				return ev, io.EOF
			}
			if err == io.ErrUnexpectedEOF {
				err = apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider's stream was cut mid-event")
			}
			return ev, upstream.Classify(ctx, err)
		}
		if ev.Data != nil { // skip comments and keep-alives
			return ev, nil
		}
	}
}

// errNoStop is returned when a stream ends before message_stop.
func errNoStop() error {
	return apierror.New(apierror.UpstreamBadResponse, "stream ended before message_stop")
}

// messagesStream relays an Anthropic stream byte for byte, reading usage,
// model, stop reason and token timing on the way.
type messagesStream struct {
	closed bool // Close was called: Next fails at once
	ctx    context.Context
	body   io.ReadCloser
	r      *sse.Reader
	acc    usage.Anthropic
	ev     streamEvent
	// scratch is reused to unescape delta text.
	scratch []byte
	// done is set by message_stop; errored by an error event, after which
	// Anthropic ends the stream without message_stop.
	done, errored bool
}

func (s *messagesStream) Next() (provider.Event, error) {
	if s.closed {
		return provider.Event{}, provider.ErrStreamClosed
	}
	if s.done {
		return provider.Event{}, io.EOF
	}
	ev, err := nextEvent(s.ctx, s.r)
	if err == io.EOF {
		if s.errored {
			return provider.Event{}, io.EOF
		}
		return provider.Event{}, errNoStop()
	}
	if err != nil {
		return provider.Event{}, err
	}
	return s.parse(&ev)
}

func (s *messagesStream) parse(ev *sse.Event) (provider.Event, error) {
	out := provider.Event{Data: ev.Raw}
	typ, err := eventType(ev)
	if err != nil {
		return out, err
	}
	switch typ {
	case "ping", "content_block_stop":
		return out, nil
	case "content_block_delta":
		kind, text, _, err := readDelta(ev.Data, &s.ev, &s.scratch)
		if err != nil || kind == deltaOther || text == "" {
			return out, err
		}
		out.Token, out.Text = true, text
		out.Completion = kind != deltaThinking
		return out, nil
	case "content_block_start":
		if err := s.ev.decode(ev.Data); err != nil {
			return out, err
		}
		if b := s.ev.ContentBlock; b != nil && b.Type == "tool_use" {
			// The tool's name is generated: the call has begun.
			out.Token, out.Completion, out.Text = true, true, b.Name
		}
		return out, nil
	case "message_start":
		if err := s.ev.decode(ev.Data); err != nil {
			return out, err
		}
		if m := s.ev.Message; m != nil {
			out.ResponseModel = m.Model
			if out.Usage, err = mergeUsage(&s.acc, m.Usage); err != nil {
				return out, err
			}
			out.ServiceTier = serviceTier(m.Usage)
		}
		return out, nil
	case "message_delta":
		if err := s.ev.decode(ev.Data); err != nil {
			return out, err
		}
		out.FinishReason = s.ev.Delta.StopReason
		out.Usage, err = mergeUsage(&s.acc, s.ev.Usage)
		out.ServiceTier = serviceTier(s.ev.Usage)
		return out, err
	case "message_stop":
		s.done = true
		out.Done = true
		return out, nil
	case "error":
		if err := s.ev.decode(ev.Data); err != nil {
			return out, err
		}
		s.errored = true
		e := s.ev.Error
		if e == nil {
			e = &errorObject{Type: "api_error"}
		}
		out.Err = streamError(e)
		return out, nil
	}
	return out, nil
}

// serviceTier reads usage.service_tier ("standard", "priority", "batch").
func serviceTier(usageRaw json.RawMessage) string {
	if !isJSONValue(usageRaw) {
		return ""
	}
	t, _ := jsonparser.GetString(usageRaw, "service_tier")
	return t
}

// mergeUsage folds a usage object into acc and returns the cumulative usage,
// or nil when raw carries none.
func mergeUsage(acc *usage.Anthropic, raw json.RawMessage) (*usage.Usage, error) {
	if !isJSONValue(raw) {
		return nil, nil
	}
	if err := acc.Merge(raw); err != nil {
		return nil, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider sent a malformed usage object")
	}
	u := acc.Usage()
	return &u, nil
}

func (s *messagesStream) Close() error {
	s.closed = true
	return s.body.Close()
}

package mock

import (
	"encoding/json"
	"github.com/weirhq/weir/internal/jsonenc"
	"net/http"
	"strconv"
	"strings"
)

// The Anthropic surface: messages, token counting and the model list.

// messagesAnswer is a planned message.
type messagesAnswer struct {
	p         *compiled
	model     string
	choice    choicePlan
	thinking  bool
	prompt    tokens
	withUsage bool
	d         draws
	fail      *Failure
}

func stopReason(c *choicePlan) string {
	switch {
	case c.truncated:
		return "max_tokens"
	case c.tool:
		return "tool_use"
	}
	return "end_turn"
}

// stopReason is the Messages API's stop_reason: "refusal" for a refusal
// that the profile ends as Claude's streaming classifiers do and that
// max_tokens did not cut first, otherwise stopReason's.
func (a *messagesAnswer) stopReason() string {
	if a.choice.refusal && !a.choice.truncated && a.p.RefusalStopReason {
		return "refusal"
	}
	return stopReason(&a.choice)
}

func (x *exchange) messages(body []byte) {
	req, rerr := parseMessages(body, true)
	if rerr != nil {
		x.fail(&apiError{status: 400, msg: rerr.msg})
		return
	}
	m := x.s.models[*req.Model]
	if m == nil {
		x.notFound(*req.Model)
		return
	}
	x.model = m
	p := x.s.profile(m)
	if p.Type == TypeEmbedding {
		x.fail(&apiError{status: 400, msg: "model: " + limit(m.name, 200) + " does not support the Messages API"})
		return
	}
	thinking, budget := req.thinking()
	reasoning := 0
	if thinking {
		reasoning = p.ReasoningTokens
		if budget > 0 {
			reasoning = min(reasoning, budget)
		}
	}
	in := planInput{
		seed: x.requestSeed(body), choices: 1, maxOut: *req.MaxTokens,
		reasoning: reasoning, tools: req.toolChoice(), anthropic: true,
	}
	a := &messagesAnswer{p: p, model: *req.Model, choice: buildChoices(&p.Profile, in)[0], thinking: thinking}
	if p.ResponseModel != "" {
		a.model = p.ResponseModel
	}
	a.prompt = promptFigures(&p.Profile, req.promptTokens())
	a.withUsage = p.Usage != UsageNever
	if !x.admit(p, a.prompt.openAIPrompt()+in.maxOut) {
		return
	}
	stream := req.stream()
	var ok bool
	if a.d, a.fail, ok = x.start(m, p, stream); !ok {
		return
	}
	if a.d.shape.on() {
		in.shape = a.d.shape
		a.choice = buildChoices(&p.Profile, in)[0]
	}
	if stream {
		x.messagesStream(a)
	} else {
		x.messagesResponse(a)
	}
}

func appendAnthropicUsage(b []byte, t tokens, output int, full bool) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(t.input), 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, int64(t.cacheWrite), 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, int64(t.cacheRead), 10)
	if full {
		b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
		b = strconv.AppendInt(b, int64(t.cacheWrite-t.cacheWrite1h), 10)
		b = append(b, `,"ephemeral_1h_input_tokens":`...)
		b = strconv.AppendInt(b, int64(t.cacheWrite1h), 10)
		b = append(b, '}')
	}
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(output), 10)
	if full {
		b = append(b, `,"service_tier":"standard"`...)
	}
	return append(b, '}')
}

func (x *exchange) messageID() []byte {
	return appendID([]byte("msg_01"), x.idSeed(3), 22)
}

func (c *choicePlan) signature() []byte {
	b := make([]byte, 0, 64)
	return append(appendID(b, c.seed^0x51, 60), "=="...)
}

// messageHead appends a message object up to its content.
func (x *exchange) messageHead(b []byte, a *messagesAnswer) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, x.messageID()...)
	b = append(b, `","type":"message","role":"assistant","model":`...)
	return jsonenc.AppendString(b, a.model)
}

func (x *exchange) messagesResponse(a *messagesAnswer) {
	c := &a.choice
	var pc pacer
	pc.init(&a.p.Profile, a.d.jitter, x.t0, x.s.done)
	pc.first(0)
	if n := c.reasoning + c.units; n > 1 {
		pc.delay(n - 1)
	}
	ok := pc.wait(x.ctx)
	pc.stop()
	if !ok {
		x.out.gone = true
		return
	}

	b := make([]byte, 0, 512+8*(c.units+c.reasoning))
	b = x.messageHead(b, a)
	b = append(b, `,"content":[`...)
	blocks := 0
	if a.thinking && c.reasoning > 0 {
		b = append(b, `{"type":"thinking","thinking":"`...)
		if a.p.ReasoningVisible {
			b = appendWords(b, c.reasoningSeed(), c.reasoning)
		}
		b = append(b, `","signature":"`...)
		b = append(b, c.signature()...)
		b = append(b, `"}`...)
		blocks++
	}
	if c.units > 0 || (c.tool && !c.truncated) {
		if blocks > 0 {
			b = append(b, ',')
		}
		if c.tool {
			b = append(b, `{"type":"tool_use","id":"`...)
			b = append(b, c.toolID...)
			b = append(b, `","name":`...)
			b = jsonenc.AppendString(b, c.toolName)
			b = append(b, `,"input":`...)
			args := string(c.appendText(nil))
			if c.truncated || !json.Valid([]byte(args)) {
				args = "{}"
			}
			b = append(b, args...)
			b = append(b, '}')
		} else {
			b = append(b, `{"type":"text","text":"`...)
			b = appendJSONText(b, c)
			b = append(b, `"}`...)
		}
	}
	b = append(b, `],"stop_reason":"`...)
	b = append(b, a.stopReason()...)
	b = append(b, `","stop_sequence":null`...)
	if a.withUsage {
		b = append(b, `,"usage":`...)
		b = appendAnthropicUsage(b, a.prompt, c.output(), true)
	}
	b = append(b, "}\n"...)
	x.out.in, x.out.outTokens = a.prompt.openAIPrompt(), c.output()
	x.finishNonStream(a.p, a.d, b)
}

// messagesStream sends a message as events.
func (x *exchange) messagesStream(a *messagesAnswer) {
	c := &a.choice
	var pc pacer
	pc.init(&a.p.Profile, a.d.jitter, x.t0, x.s.done)
	defer pc.stop()
	cutAt := x.cutsAt(a.p, a.d)
	hang := x.hangsInStream(a.p, a.d)
	failAt := -1
	if a.fail != nil {
		failAt = a.fail.AfterChunks
	}
	if !x.startStream() {
		return
	}
	if cutAt == 0 {
		x.abort()
	}
	pc.first(0)
	if !pc.wait(x.ctx) {
		x.out.gone = true
		return
	}

	b := make([]byte, 0, 512)
	event := func(typ string) {
		b = append(b[:0], "event: "...)
		b = append(b, typ...)
		b = append(b, "\ndata: "...)
	}
	send := func() bool {
		b = append(b, "\n\n"...)
		return x.send(b)
	}

	event("message_start")
	b = append(b, `{"type":"message_start","message":`...)
	b = x.messageHead(b, a)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null`...)
	if a.withUsage {
		b = append(b, `,"usage":`...)
		b = appendAnthropicUsage(b, a.prompt, 1, true)
	}
	b = append(b, "}}"...)
	if !send() {
		return
	}

	pinged := false
	ping := func() bool {
		if pinged {
			return true
		}
		pinged = true
		event("ping")
		b = append(b, `{"type":"ping"}`...)
		return send()
	}
	index := 0
	blockStart := func() {
		event("content_block_start")
		b = append(b, `{"type":"content_block_start","index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
		b = append(b, `,"content_block":`...)
	}
	delta := func(typ string) {
		event("content_block_delta")
		b = append(b, `{"type":"content_block_delta","index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
		b = append(b, `,"delta":{"type":"`...)
		b = append(b, typ...)
		b = append(b, `",`...)
	}
	blockStop := func() bool {
		event("content_block_stop")
		b = append(b, `{"type":"content_block_stop","index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
		b = append(b, '}')
		index++
		return send()
	}
	sent, due := 0, false
	// token paces and sends one token event; false ends the stream.
	token := func() bool {
		if due {
			pc.delay(1)
			if !pc.wait(x.ctx) {
				x.out.gone = true
				return false
			}
		}
		due = true
		if !send() {
			return false
		}
		sent++
		switch {
		case sent == cutAt:
			x.abort()
		case sent == failAt:
			x.send(x.streamError(a.fail))
			return false
		case hang && sent == 1:
			x.waitGone()
			return false
		}
		return true
	}

	if a.thinking && c.reasoning > 0 {
		blockStart()
		b = append(b, `{"type":"thinking","thinking":"","signature":""}}`...)
		if !send() || !ping() {
			return
		}
		if a.p.ReasoningVisible {
			seed := c.reasoningSeed()
			for i := 0; i < c.reasoning; i++ {
				delta("thinking_delta")
				b = append(b, `"thinking":`...)
				b = append(b, quotedWord(seed, i)...)
				b = append(b, "}}"...)
				if !token() {
					return
				}
			}
		} else {
			pc.delay(c.reasoning)
			if !pc.wait(x.ctx) {
				x.out.gone = true
				return
			}
			due = false
		}
		delta("signature_delta")
		b = append(b, `"signature":"`...)
		b = append(b, c.signature()...)
		b = append(b, `"}}`...)
		if !send() || !blockStop() {
			return
		}
	}
	if c.units > 0 {
		blockStart()
		if c.tool {
			b = append(b, `{"type":"tool_use","id":"`...)
			b = append(b, c.toolID...)
			b = append(b, `","name":`...)
			b = jsonenc.AppendString(b, c.toolName)
			b = append(b, `,"input":{}}}`...)
		} else {
			b = append(b, `{"type":"text","text":""}}`...)
		}
		if !send() || !ping() {
			return
		}
		for i := 0; i < c.units; i++ {
			if c.tool {
				delta("input_json_delta")
				b = append(b, `"partial_json":`...)
			} else {
				delta("text_delta")
				b = append(b, `"text":`...)
			}
			b = c.unit(b, i)
			b = append(b, "}}"...)
			if !token() {
				return
			}
		}
		if !blockStop() {
			return
		}
	}
	if !ping() {
		return
	}
	if hang {
		x.waitGone()
		return
	}
	if a.fail != nil {
		x.send(x.streamError(a.fail))
		return
	}
	if cutAt > 0 {
		x.abort()
	}
	event("message_delta")
	b = append(b, `{"type":"message_delta","delta":{"stop_reason":"`...)
	b = append(b, a.stopReason()...)
	b = append(b, `","stop_sequence":null}`...)
	if a.withUsage {
		b = append(b, `,"usage":`...)
		b = appendAnthropicUsage(b, a.prompt, c.output(), false)
	}
	b = append(b, '}')
	if !send() {
		return
	}
	event("message_stop")
	b = append(b, `{"type":"message_stop"}`...)
	if send() {
		x.out.in, x.out.outTokens = a.prompt.openAIPrompt(), c.output()
	}
}

// countTokens answers POST /v1/messages/count_tokens with the prompt count
// of the token-count rule.
func (x *exchange) countTokens(body []byte) {
	req, rerr := parseMessages(body, false)
	if rerr != nil {
		x.fail(&apiError{status: 400, msg: rerr.msg})
		return
	}
	m := x.s.models[*req.Model]
	if m == nil {
		x.notFound(*req.Model)
		return
	}
	x.model = m
	p := x.s.profile(m)
	n := promptFigures(&p.Profile, req.promptTokens()).input
	b := append([]byte(`{"input_tokens":`), strconv.Itoa(n)...)
	x.commonHeaders()
	x.writeBody(http.StatusOK, append(b, "}\n"...))
}

// The model lists never change, so they are built once.

const modelsCreated = 1735689600 // 2025-01-01T00:00:00Z

func (s *Server) buildModelLists() {
	s.openAIOne = make(map[string][]byte, len(s.names))
	s.anthropicOne = make(map[string][]byte, len(s.names))
	oa := []byte(`{"object":"list","data":[`)
	an := []byte(`{"data":[`)
	for i, name := range s.names {
		o := append([]byte(`{"id":`), jsonenc.AppendString(nil, name)...)
		o = append(o, `,"object":"model","created":`...)
		o = strconv.AppendInt(o, modelsCreated, 10)
		o = append(o, `,"owned_by":"system"}`...)
		a := append([]byte(`{"type":"model","id":`), jsonenc.AppendString(nil, name)...)
		a = append(a, `,"display_name":`...)
		a = jsonenc.AppendString(a, displayName(name))
		a = append(a, `,"created_at":"2025-01-01T00:00:00Z"}`...)
		s.openAIOne[name], s.anthropicOne[name] = append(o, '\n'), append(a, '\n')
		if i > 0 {
			oa, an = append(oa, ','), append(an, ',')
		}
		oa, an = append(oa, o...), append(an, a...)
	}
	oa = append(oa, "]}\n"...)
	an = append(an, `],"has_more":false,"first_id":`...)
	if len(s.names) > 0 {
		an = jsonenc.AppendString(an, s.names[0])
		an = append(an, `,"last_id":`...)
		an = jsonenc.AppendString(an, s.names[len(s.names)-1])
	} else {
		an = append(an, `null,"last_id":null`...)
	}
	an = append(an, "}\n"...)
	s.openAIList, s.anthropicList = oa, an
}

// displayName turns "claude-sonnet-4-5" into "Claude Sonnet 4.5".
func displayName(id string) string {
	parts := strings.Split(id, "-")
	out := make([]string, 0, len(parts))
	for i, p := range parts {
		if p == "" {
			continue
		}
		isNum := p[0] >= '0' && p[0] <= '9'
		if isNum && i > 0 && len(out) > 0 {
			last := out[len(out)-1]
			if last[0] >= '0' && last[0] <= '9' && len(p) <= 2 {
				out[len(out)-1] = last + "." + p
				continue
			}
		}
		if !isNum {
			p = strings.ToUpper(p[:1]) + p[1:]
		}
		out = append(out, p)
	}
	return strings.Join(out, " ")
}

func (x *exchange) listModels() {
	x.commonHeaders()
	if x.anthropic {
		x.writeBody(http.StatusOK, x.s.anthropicList)
	} else {
		x.writeBody(http.StatusOK, x.s.openAIList)
	}
}

func (x *exchange) getModel(id string) {
	one := x.s.openAIOne
	if x.anthropic {
		one = x.s.anthropicOne
	}
	b, ok := one[id]
	if !ok {
		x.notFound(id)
		return
	}
	x.commonHeaders()
	x.writeBody(http.StatusOK, b)
}

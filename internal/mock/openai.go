package mock

import (
	"encoding/base64"
	"encoding/binary"
	"github.com/weirhq/weir/internal/jsonenc"
	"math"
	"net/http"
	"strconv"
)

// The OpenAI surface: chat completions, embeddings and the model list.

// openAIUsage appends an OpenAI usage object.
func appendOpenAIUsage(b []byte, t tokens, completion, reasoning int) []byte {
	prompt := t.openAIPrompt()
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completion), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completion), 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(t.cacheRead), 10)
	b = append(b, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, int64(reasoning), 10)
	return append(b, `,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

// chatAnswer is a planned chat completion.
type chatAnswer struct {
	p         *compiled
	model     string // as reported
	choices   []choicePlan
	prompt    tokens
	withUsage bool // send usage
	nullUsage bool // stream chunks carry "usage":null (include_usage)
	// structured is set for response_format json_schema, whose refusals
	// OpenAI reports in the refusal field rather than the content.
	structured bool
	d          draws
	fail       *Failure // in-stream failure, if any
}

func (a *chatAnswer) output() (completion, reasoning int) {
	for i := range a.choices {
		completion += a.choices[i].output()
		reasoning += a.choices[i].reasoning
	}
	return completion, reasoning
}

func finishReason(c *choicePlan) string {
	switch {
	case c.truncated:
		return "length"
	case c.tool:
		return "tool_calls"
	}
	return "stop"
}

func (x *exchange) chat(body []byte) {
	req, rerr := parseChat(body)
	if rerr != nil {
		x.fail(&apiError{status: 400, msg: rerr.msg, param: rerr.param, code: rerr.code})
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
		x.fail(&apiError{status: 404, msg: "This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean to use v1/completions?", param: "model"})
		return
	}
	tc, _ := req.toolChoice()
	in := planInput{
		seed: x.requestSeed(body), choices: req.choices(), maxOut: req.maxOutput(),
		reasoning: p.ReasoningTokens, tools: tc,
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "text" {
		in.format = rf.Type
		if rf.JSONSchema != nil {
			in.schema = rf.JSONSchema.Schema
		}
	}
	a := &chatAnswer{p: p, model: *req.Model, choices: buildChoices(&p.Profile, in)}
	if p.ResponseModel != "" {
		a.model = p.ResponseModel
	}
	a.prompt = promptFigures(&p.Profile, req.promptTokens())
	stream := req.stream()
	switch p.Usage {
	case UsageAlways:
		a.withUsage = true
	case UsageNever:
	default:
		a.withUsage = !stream || req.includeUsage()
	}
	a.nullUsage = stream && req.includeUsage() && p.Usage != UsageNever
	completion, _ := a.output()
	cost := a.prompt.openAIPrompt() + completion
	if in.maxOut > 0 {
		cost = a.prompt.openAIPrompt() + in.maxOut*in.choices
	}
	if !x.admit(p, cost) {
		return
	}
	var ok bool
	if a.d, a.fail, ok = x.start(m, p, stream); !ok {
		return
	}
	if a.d.shape.on() {
		// Planned again with what the behaviour knobs drew; the rate
		// limit above admitted the plan without them.
		in.shape = a.d.shape
		a.choices = buildChoices(&p.Profile, in)
	}
	a.structured = in.format == "json_schema"
	if stream {
		x.chatStream(a)
	} else {
		x.chatResponse(a)
	}
}

// chatHead appends the fields every chat object starts with.
func (x *exchange) chatHead(b []byte, a *chatAnswer, object string) []byte {
	b = append(b, `{"id":"chatcmpl-`...)
	b = appendID(b, x.idSeed(2), 29)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, x.s.Now().Unix(), 10)
	b = append(b, `,"model":`...)
	return jsonenc.AppendString(b, a.model)
}

func (x *exchange) chatResponse(a *chatAnswer) {
	var pc pacer
	pc.init(&a.p.Profile, a.d.jitter, x.t0, x.s.done)
	hidden, units := 0, 0
	for i := range a.choices {
		c := &a.choices[i]
		if a.p.ReasoningVisible {
			units = max(units, c.reasoning+c.units)
		} else {
			hidden, units = max(hidden, c.reasoning), max(units, c.units)
		}
	}
	pc.first(hidden)
	if units > 1 {
		pc.delay(units - 1)
	}
	ok := pc.wait(x.ctx)
	pc.stop()
	if !ok {
		x.out.gone = true
		return
	}

	b := make([]byte, 0, 512+64*units*len(a.choices))
	b = x.chatHead(b, a, "chat.completion")
	b = append(b, `,"choices":[`...)
	for i := range a.choices {
		c := &a.choices[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"message":{"role":"assistant","content":`...)
		inRefusal := c.refusal && a.structured
		if c.tool || inRefusal {
			b = append(b, "null"...)
		} else {
			b = append(b, '"')
			b = appendJSONText(b, c)
			b = append(b, '"')
		}
		if a.p.ReasoningVisible && c.reasoning > 0 {
			b = append(b, `,"reasoning_content":"`...)
			b = appendWords(b, c.reasoningSeed(), c.reasoning)
			b = append(b, '"')
		}
		if c.tool {
			b = append(b, `,"tool_calls":[{"id":"`...)
			b = append(b, c.toolID...)
			b = append(b, `","type":"function","function":{"name":`...)
			b = jsonenc.AppendString(b, c.toolName)
			b = append(b, `,"arguments":"`...)
			b = appendJSONText(b, c)
			b = append(b, `"}}]`...)
		}
		if inRefusal {
			b = append(b, `,"refusal":"`...)
			b = appendJSONText(b, c)
			b = append(b, `","annotations":[]},"logprobs":null,"finish_reason":"`...)
		} else {
			b = append(b, `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"`...)
		}
		b = append(b, finishReason(c)...)
		b = append(b, `"}`...)
	}
	b = append(b, ']')
	completion, reasoning := a.output()
	if a.withUsage {
		b = append(b, `,"usage":`...)
		b = appendOpenAIUsage(b, a.prompt, completion, reasoning)
	}
	b = append(b, `,"service_tier":"default","system_fingerprint":"`...)
	b = append(b, a.p.fingerprint...)
	b = append(b, "\"}\n"...)

	x.out.in, x.out.outTokens = a.prompt.openAIPrompt(), completion
	x.finishNonStream(a.p, a.d, b)
}

// appendJSONText appends the choice's content units as the inside of a
// JSON string.
func appendJSONText(b []byte, c *choicePlan) []byte {
	if c.frags == nil {
		return appendWords(b, c.seed, c.units) // words need no escaping
	}
	for _, f := range c.frags[:c.units] {
		q := jsonenc.AppendString(b, f)
		// Drop the quotes appendJSONString added around f.
		copy(q[len(b):], q[len(b)+1:len(q)-1])
		b = q[:len(q)-2]
	}
	return b
}

// finishNonStream writes a complete body, unless the profile cuts or
// hangs it: a cut sends the headers and half the body, then closes the
// connection; a hang at "stream" sends the headers and waits.
func (x *exchange) finishNonStream(p *compiled, d draws, b []byte) {
	x.commonHeaders()
	if x.hangsInStream(p, d) {
		h := x.w.Header()
		h["Content-Type"] = ctJSON
		x.w.WriteHeader(http.StatusOK)
		x.out.status = http.StatusOK
		x.flush()
		x.out.in, x.out.outTokens = 0, 0
		x.waitGone()
		return
	}
	if x.cutsAt(p, d) >= 0 {
		h := x.w.Header()
		h["Content-Type"] = ctJSON
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
		x.w.WriteHeader(http.StatusOK)
		x.out.status = http.StatusOK
		x.w.Write(b[:len(b)/2])
		x.out.in, x.out.outTokens = 0, 0
		x.abort()
	}
	x.writeBody(http.StatusOK, b)
}

// chatStream sends a chat completion as chunks.
func (x *exchange) chatStream(a *chatAnswer) {
	var pc pacer
	pc.init(&a.p.Profile, a.d.jitter, x.t0, x.s.done)
	defer pc.stop()
	visible := a.p.ReasoningVisible
	hidden, steps := 0, 0
	for i := range a.choices {
		c := &a.choices[i]
		if visible {
			steps = max(steps, c.reasoning+c.units)
		} else {
			hidden, steps = max(hidden, c.reasoning), max(steps, c.units)
		}
	}
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
	pc.first(hidden)
	if !pc.wait(x.ctx) {
		x.out.gone = true
		return
	}

	// The part before the choice and after it, the same in every chunk.
	pre := make([]byte, 0, 256)
	pre = append(pre, "data: "...)
	pre = x.chatHead(pre, a, "chat.completion.chunk")
	pre = append(pre, `,"service_tier":"default","system_fingerprint":"`...)
	pre = append(pre, a.p.fingerprint...)
	pre = append(pre, `","choices":[`...)
	post := "]}\n\n"
	if a.nullUsage {
		post = `],"usage":null}` + "\n\n"
	}
	b := make([]byte, 0, 512)
	chunk := func(c int) {
		b = append(b[:0], pre...)
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(c), 10)
		b = append(b, `,"delta":{`...)
	}
	end := func(finish string) bool {
		b = append(b, `},"logprobs":null,"finish_reason":`...)
		if finish == "" {
			b = append(b, "null"...)
		} else {
			b = append(b, '"')
			b = append(b, finish...)
			b = append(b, '"')
		}
		b = append(b, '}')
		b = append(b, post...)
		return x.send(b)
	}

	for c := range a.choices {
		cp := &a.choices[c]
		chunk(c)
		if cp.tool {
			b = append(b, `"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"`...)
			b = append(b, cp.toolID...)
			b = append(b, `","type":"function","function":{"name":`...)
			b = jsonenc.AppendString(b, cp.toolName)
			b = append(b, `,"arguments":""}}],"refusal":null`...)
		} else if cp.refusal && a.structured {
			b = append(b, `"role":"assistant","content":null,"refusal":""`...)
		} else {
			b = append(b, `"role":"assistant","content":"","refusal":null`...)
		}
		if !end("") {
			return
		}
	}

	sent := 0
	for i := 0; i < steps; i++ {
		if i > 0 {
			pc.delay(1)
			if !pc.wait(x.ctx) {
				x.out.gone = true
				return
			}
		}
		for c := range a.choices {
			cp := &a.choices[c]
			r := 0
			if visible {
				r = cp.reasoning
			}
			if i >= r+cp.units {
				continue
			}
			chunk(c)
			switch {
			case i < r:
				b = append(b, `"reasoning_content":`...)
				b = append(b, quotedWord(cp.reasoningSeed(), i)...)
			case cp.tool:
				b = append(b, `"tool_calls":[{"index":0,"function":{"arguments":`...)
				b = cp.unit(b, i-r)
				b = append(b, "}}]"...)
			case cp.refusal && a.structured:
				b = append(b, `"refusal":`...)
				b = cp.unit(b, i-r)
			default:
				b = append(b, `"content":`...)
				b = cp.unit(b, i-r)
			}
			if !end("") {
				return
			}
			sent++
			if sent == cutAt {
				x.abort()
			}
			if sent == failAt {
				x.streamFailure(a.fail)
				return
			}
			if hang && sent == 1 {
				x.waitGone()
				return
			}
		}
	}
	if hang {
		x.waitGone()
		return
	}
	if a.fail != nil {
		x.streamFailure(a.fail)
		return
	}
	if cutAt > 0 {
		x.abort()
	}
	for c := range a.choices {
		chunk(c)
		if !end(finishReason(&a.choices[c])) {
			return
		}
	}
	completion, reasoning := a.output()
	if a.withUsage {
		b = append(b[:0], pre...)
		b = append(b, `],"usage":`...)
		b = appendOpenAIUsage(b, a.prompt, completion, reasoning)
		b = append(b, "}\n\n"...)
		if !x.send(b) {
			return
		}
	}
	if x.send(doneEvent) {
		x.out.in, x.out.outTokens = a.prompt.openAIPrompt(), completion
	}
}

var doneEvent = []byte("data: [DONE]\n\n")

// streamFailure ends an OpenAI stream with an error chunk, then [DONE], as
// vLLM and LiteLLM do (some servers just close the stream instead).
func (x *exchange) streamFailure(f *Failure) {
	if x.send(x.streamError(f)) {
		x.send(doneEvent)
	}
}

// embeddings answers POST /v1/embeddings.
func (x *exchange) embeddings(body []byte) {
	req, rerr := parseEmbedding(body)
	if rerr != nil {
		x.fail(&apiError{status: 400, msg: rerr.msg, param: rerr.param, code: rerr.code})
		return
	}
	m := x.s.models[*req.Model]
	if m == nil {
		x.notFound(*req.Model)
		return
	}
	x.model = m
	p := x.s.profile(m)
	if p.Type != TypeEmbedding {
		x.fail(&apiError{status: 400, msg: "This model does not support embeddings.", param: "model", code: "invalid_model"})
		return
	}
	native := p.Dimensions
	if native == 0 {
		native = 1536
	}
	dims := native
	if req.Dimensions != nil {
		if *req.Dimensions > native {
			x.fail(&apiError{status: 400, msg: "This model does not support specifying dimensions greater than " + strconv.Itoa(native) + ".", param: "dimensions", code: "invalid_value"})
			return
		}
		dims = *req.Dimensions
	}
	total := 0
	for _, n := range req.tokens {
		total += n
	}
	if p.InputTokens > 0 {
		total = p.InputTokens
	}
	if !x.admit(p, total) {
		return
	}
	d := m.draw(nil)
	if f := pickFailure(p.Failures, d.fail); f != nil {
		x.injected(f)
		return
	}
	if x.hangHeaders(p, d) {
		return
	}
	var pc pacer
	pc.init(&p.Profile, d.jitter, x.t0, x.s.done)
	pc.first(0)
	ok := pc.wait(x.ctx)
	pc.stop()
	if !ok {
		x.out.gone = true
		return
	}

	b64 := req.base64()
	per := dims * 12
	if b64 {
		per = dims*4*4/3 + 8
	}
	b := make([]byte, 0, 128+len(req.inputs)*(per+64))
	b = append(b, `{"object":"list","data":[`...)
	vec := make([]float32, dims)
	var raw []byte
	if b64 {
		raw = make([]byte, dims*4)
	}
	for i, in := range req.inputs {
		if i > 0 {
			b = append(b, ',')
		}
		embed(vec, mix(x.s.seed^fnv64(0, in)))
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		if b64 {
			for j, f := range vec {
				binary.LittleEndian.PutUint32(raw[j*4:], math.Float32bits(f))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for j, f := range vec {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	name := *req.Model
	if p.ResponseModel != "" {
		name = p.ResponseModel
	}
	b = jsonenc.AppendString(b, name)
	if p.Usage != UsageNever {
		b = append(b, `,"usage":{"prompt_tokens":`...)
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, '}')
	}
	b = append(b, "}\n"...)
	x.out.in = total
	x.finishNonStream(p, d, b)
}

// embed fills v with a deterministic unit vector.
func embed(v []float32, seed uint64) {
	var sum float64
	for i := range v {
		seed = mix(seed + uint64(i))
		f := float64(int64(seed>>11)-(1<<52)) / (1 << 52)
		v[i] = float32(f)
		sum += f * f
	}
	if sum == 0 {
		return
	}
	inv := 1 / math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}

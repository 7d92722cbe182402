package mock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/weirhq/weir/internal/jsonenc"
)

// The Bedrock surface: POST /model/{modelId}/converse and
// /model/{modelId}/converse-stream, the Converse API, answered in JSON and in
// the AWS event-stream binary framing. Requests authenticate with a Bedrock
// API key (Authorization: Bearer KEY) or a SigV4 signature, which is
// checked: the secret access key of every access key id is the server's
// API key, the service is "bedrock", and any region is accepted.

// bedrockError is a Bedrock error answer: the type goes in the
// x-amzn-ErrorType header, the message in the body.
type bedrockError struct {
	status     int
	typ, msg   string
	retryAfter time.Duration
}

// bedrockDefaults are Bedrock's error type and text for a status.
func bedrockDefaults(status int) (typ, msg string) {
	switch status {
	case 400:
		return "ValidationException", "Malformed input request, please reformat your input and try again."
	case 401, 403:
		return "AccessDeniedException", "You don't have access to the model with the specified model ID."
	case 404:
		return "ResourceNotFoundException", "The requested resource could not be found."
	case 408, 504:
		return "ModelTimeoutException", "Model has timed out in processing the request. Try your request again."
	case 424:
		return "ModelErrorException", "The model returned an error."
	case 429:
		return "ThrottlingException", "Too many requests, please wait before trying again."
	case 503, 529:
		return "ServiceUnavailableException", "Bedrock is unable to process your request."
	}
	return "InternalServerException", "The server encountered an internal error while processing the request."
}

func (x *exchange) bedrockRequestID() string {
	id := appendHex(nil, x.idSeed(1), 32)
	return string(id[0:8]) + "-" + string(id[8:12]) + "-" + string(id[12:16]) + "-" + string(id[16:20]) + "-" + string(id[20:32])
}

func (x *exchange) bedrockHeaders() {
	x.w.Header()["X-Amzn-Requestid"] = []string{x.bedrockRequestID()}
}

func (x *exchange) bedrockFail(e *bedrockError) {
	typ, msg := bedrockDefaults(e.status)
	status := e.status
	if status == 529 {
		status = 503 // Bedrock has no 529: capacity is 503 ServiceUnavailableException
	}
	if e.typ != "" {
		typ = e.typ
	}
	if e.msg != "" {
		msg = e.msg
	}
	x.bedrockHeaders()
	h := x.w.Header()
	h["X-Amzn-Errortype"] = []string{typ + ":http://internal.amazon.com/coral/com.amazon.bedrock/"}
	if e.retryAfter > 0 {
		h["Retry-After"] = []string{strconv.FormatInt(int64((e.retryAfter+time.Second-1)/time.Second), 10)}
	}
	b := append([]byte(`{"message":`), jsonenc.AppendString(nil, msg)...)
	x.writeBody(status, append(b, "}\n"...))
}

// bedrockModelPath splits /model/{modelId}/{operation}; the id is one
// escaped path segment.
func bedrockModelPath(r *http.Request) (model, op string, ok bool) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/model/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", "", false
	}
	model, err := url.PathUnescape(rest[:i])
	if err != nil {
		return "", "", false
	}
	return model, rest[i+1:], true
}

// bedrock serves a Converse or ConverseStream request.
func (x *exchange) bedrock() {
	model, op, ok := bedrockModelPath(x.r)
	if !ok || (op != "converse" && op != "converse-stream") {
		x.bedrockFail(&bedrockError{status: 404, typ: "UnknownOperationException", msg: "Unknown operation " + limit(x.r.URL.Path, 200)})
		return
	}
	if x.r.Method != http.MethodPost {
		x.w.Header().Set("Allow", http.MethodPost)
		x.bedrockFail(&bedrockError{status: 405, typ: "UnknownOperationException", msg: "Invalid method for URL"})
		return
	}
	body, ok := x.body()
	if !ok {
		return
	}
	if !x.bedrockAuthorize(body) {
		return
	}
	req, msg := parseConverse(body)
	if msg != "" {
		x.bedrockFail(&bedrockError{status: 400, msg: msg})
		return
	}
	m := x.s.models[model]
	if m == nil {
		x.bedrockFail(&bedrockError{status: 404, msg: "The provided model identifier is invalid."})
		return
	}
	x.model = m
	p := x.s.profile(m)
	if p.Type == TypeEmbedding {
		x.bedrockFail(&bedrockError{status: 400, msg: "This action doesn't support the model that you provided. Try again with a supported text or chat model."})
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
	in := planInput{seed: x.requestSeed(body), choices: 1, maxOut: req.maxTokens(), reasoning: reasoning, tools: req.toolChoice(), anthropic: true}
	a := &messagesAnswer{p: p, model: model, choice: buildChoices(&p.Profile, in)[0], thinking: thinking}
	a.prompt = promptFigures(&p.Profile, req.promptTokens())
	a.withUsage = p.Usage != UsageNever
	if p.RPM > 0 || p.TPM > 0 {
		st, ok := m.admit(&p.Profile, x.s.Now(), a.prompt.openAIPrompt()+in.maxOut)
		if !ok {
			e := st.error(m.name, true, a.prompt.openAIPrompt()+in.maxOut)
			x.bedrockFail(&bedrockError{status: 429, retryAfter: e.retryAfter})
			return
		}
	}
	stream := op == "converse-stream"
	a.d = m.draw(p)
	if f := pickFailure(p.Failures, a.d.fail); f != nil {
		if !stream || f.AfterChunks == 0 {
			x.bedrockFail(&bedrockError{status: f.Status, retryAfter: f.RetryAfter})
			return
		}
		a.fail = f
	}
	if x.hangHeaders(p, a.d) {
		return
	}
	if a.d.shape.on() {
		in.shape = a.d.shape
		a.choice = buildChoices(&p.Profile, in)[0]
	}
	if stream {
		x.converseStream(a)
	} else {
		x.converseResponse(a)
	}
}

// bedrockAuthorize checks a bearer API key or a SigV4 signature.
func (x *exchange) bedrockAuthorize(body []byte) bool {
	key := x.s.apiKey
	if key == "" {
		return true
	}
	auth := x.r.Header.Get("Authorization")
	if k, ok := strings.CutPrefix(auth, "Bearer "); ok {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			return true
		}
		x.bedrockFail(&bedrockError{status: 403, typ: "UnrecognizedClientException", msg: "The security token included in the request is invalid."})
		return false
	}
	if auth == "" {
		x.bedrockFail(&bedrockError{status: 403, typ: "MissingAuthenticationTokenException", msg: "Missing Authentication Token"})
		return false
	}
	if msg := verifySigV4(x.r, body, key); msg != "" {
		typ := "InvalidSignatureException"
		if strings.HasPrefix(msg, "Authorization header requires") {
			typ = "IncompleteSignatureException"
		}
		x.bedrockFail(&bedrockError{status: 403, typ: typ, msg: msg})
		return false
	}
	return true
}

// sigV4 is a parsed SigV4 Authorization header.
type sigV4 struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// parseSigV4 reads "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=HEX".
func parseSigV4(auth string) (sigV4, bool) {
	var s sigV4
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return s, false
	}
	for _, f := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return s, false
		}
		switch k {
		case "Credential":
			parts := strings.Split(v, "/")
			if len(parts) != 5 || parts[4] != "aws4_request" {
				return s, false
			}
			s.accessKey, s.date, s.region, s.service = parts[0], parts[1], parts[2], parts[3]
		case "SignedHeaders":
			s.signedHeaders = strings.Split(v, ";")
		case "Signature":
			s.signature = v
		}
	}
	return s, s.accessKey != "" && len(s.signedHeaders) > 0 && s.signature != ""
}

// verifySigV4 checks the request's signature with secret as the secret
// access key, signing the same canonical request again; "" means valid.
func verifySigV4(r *http.Request, body []byte, secret string) string {
	s, ok := parseSigV4(r.Header.Get("Authorization"))
	if !ok {
		return "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (AWS4-HMAC-SHA256)."
	}
	if s.service != "bedrock" {
		return "Credential should be scoped to correct service: 'bedrock'."
	}
	t, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || t.Format("20060102") != s.date {
		return "Signature not yet current or X-Amz-Date missing."
	}
	if d := time.Since(t); d > 15*time.Minute || d < -15*time.Minute {
		return "Signature expired: the request time is more than 15 minutes from the server's."
	}
	clone, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return "The request signature we calculated does not match the signature you provided."
	}
	clone.Host = r.Host
	clone.ContentLength = r.ContentLength
	for _, h := range s.signedHeaders {
		if h == "host" || h == "content-length" {
			continue
		}
		clone.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.accessKey, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, clone, hex.EncodeToString(sum[:]), s.service, s.region, t); err != nil {
		return "The request signature we calculated does not match the signature you provided."
	}
	want, _ := parseSigV4(clone.Header.Get("Authorization"))
	if subtle.ConstantTimeCompare([]byte(want.signature), []byte(s.signature)) != 1 {
		return "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
	}
	return ""
}

// converseRequest is a Converse request as far as the simulator reads it.
type converseRequest struct {
	Messages []struct {
		Role    string            `json:"role"`
		Content []json.RawMessage `json:"content"`
	} `json:"messages"`
	System          []json.RawMessage `json:"system"`
	InferenceConfig *struct {
		MaxTokens *int `json:"maxTokens"`
	} `json:"inferenceConfig"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec *struct {
				Name        string `json:"name"`
				InputSchema struct {
					JSON json.RawMessage `json:"json"`
				} `json:"inputSchema"`
			} `json:"toolSpec"`
		} `json:"tools"`
		ToolChoice *struct {
			Auto *struct{} `json:"auto"`
			Any  *struct{} `json:"any"`
			Tool *struct {
				Name string `json:"name"`
			} `json:"tool"`
		} `json:"toolChoice"`
	} `json:"toolConfig"`
	AdditionalModelRequestFields *struct {
		Thinking *struct {
			Type         string `json:"type"`
			BudgetTokens int    `json:"budget_tokens"`
		} `json:"thinking"`
	} `json:"additionalModelRequestFields"`
}

// parseConverse decodes and validates a Converse request, answering with
// Bedrock's ValidationException texts.
func parseConverse(body []byte) (*converseRequest, string) {
	var r converseRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, "Malformed input request: " + limit(err.Error(), 200) + ", please reformat your input and try again."
	}
	if len(r.Messages) == 0 {
		return nil, "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	if r.Messages[0].Role != "user" {
		return nil, "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	for i, m := range r.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return nil, "1 validation error detected: Value '" + limit(m.Role, 50) + "' at 'messages." + strconv.Itoa(i+1) + ".member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
		}
		if i > 0 && r.Messages[i-1].Role == m.Role {
			return nil, "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
		}
		if len(m.Content) == 0 {
			return nil, "The content field in the Message object at messages." + strconv.Itoa(i) + " is empty. Add a ContentBlock object to the content field and try again."
		}
	}
	if r.InferenceConfig != nil && r.InferenceConfig.MaxTokens != nil && *r.InferenceConfig.MaxTokens < 1 {
		return nil, "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
	}
	if tc := r.ToolConfig; tc != nil {
		if len(tc.Tools) == 0 {
			return nil, "The toolConfig field must be defined when using toolUse and toolResult content blocks."
		}
		for _, t := range tc.Tools {
			if t.ToolSpec == nil || t.ToolSpec.Name == "" {
				return nil, "The provided request is not valid: every tool needs a toolSpec with a name."
			}
		}
		if c := tc.ToolChoice; c != nil && c.Tool != nil && r.findTool(c.Tool.Name) < 0 {
			return nil, "The tool " + limit(c.Tool.Name, 64) + " specified in toolChoice is not in the toolConfig tools."
		}
	}
	return &r, ""
}

func (r *converseRequest) findTool(name string) int {
	for i, t := range r.ToolConfig.Tools {
		if t.ToolSpec != nil && t.ToolSpec.Name == name {
			return i
		}
	}
	return -1
}

func (r *converseRequest) maxTokens() int {
	if r.InferenceConfig != nil && r.InferenceConfig.MaxTokens != nil {
		return *r.InferenceConfig.MaxTokens
	}
	return 0
}

func (r *converseRequest) thinking() (bool, int) {
	if f := r.AdditionalModelRequestFields; f != nil && f.Thinking != nil && f.Thinking.Type == "enabled" {
		return true, f.Thinking.BudgetTokens
	}
	return false, 0
}

func (r *converseRequest) toolChoice() toolChoice {
	tc := r.ToolConfig
	if tc == nil || len(tc.Tools) == 0 {
		return toolChoice{}
	}
	t := tc.Tools[0].ToolSpec
	out := toolChoice{call: true, name: t.Name, params: t.InputSchema.JSON}
	if c := tc.ToolChoice; c != nil {
		switch {
		case c.Any != nil:
			out.forced = true
		case c.Tool != nil:
			t := tc.Tools[r.findTool(c.Tool.Name)].ToolSpec
			out = toolChoice{call: true, forced: true, name: t.Name, params: t.InputSchema.JSON}
		}
	}
	return out
}

// promptTokens applies the token-count rule to the text of the prompt's
// blocks (their JSON, a fair stand-in) and the tool specs.
func (r *converseRequest) promptTokens() int {
	n := 0
	for _, b := range r.System {
		n += len(b)
	}
	for _, m := range r.Messages {
		for _, b := range m.Content {
			n += len(b)
		}
	}
	sizes := []size{{runes: n}}
	var tools []json.RawMessage
	if r.ToolConfig != nil {
		for _, t := range r.ToolConfig.Tools {
			raw, _ := json.Marshal(t)
			tools = append(tools, raw)
		}
	}
	return promptTokens(sizes, tools)
}

func bedrockStopReason(c *choicePlan) string { return stopReason(c) }

// appendBedrockUsage appends a TokenUsage object: inputTokens excludes the
// cache, cacheDetails splits the writes by TTL.
func appendBedrockUsage(b []byte, t tokens, output int) []byte {
	b = append(b, `{"inputTokens":`...)
	b = strconv.AppendInt(b, int64(t.input), 10)
	b = append(b, `,"outputTokens":`...)
	b = strconv.AppendInt(b, int64(output), 10)
	b = append(b, `,"totalTokens":`...)
	b = strconv.AppendInt(b, int64(t.input+t.cacheRead+t.cacheWrite+output), 10)
	if t.cacheRead > 0 || t.cacheWrite > 0 {
		b = append(b, `,"cacheReadInputTokens":`...)
		b = strconv.AppendInt(b, int64(t.cacheRead), 10)
		b = append(b, `,"cacheWriteInputTokens":`...)
		b = strconv.AppendInt(b, int64(t.cacheWrite), 10)
	}
	if t.cacheWrite > 0 {
		b = append(b, `,"cacheDetails":[`...)
		if t.cacheWrite1h > 0 {
			b = append(b, `{"ttl":"1h","inputTokens":`...)
			b = strconv.AppendInt(b, int64(t.cacheWrite1h), 10)
			b = append(b, `},`...)
		}
		b = append(b, `{"ttl":"5m","inputTokens":`...)
		b = strconv.AppendInt(b, int64(t.cacheWrite-t.cacheWrite1h), 10)
		b = append(b, `}]`...)
	}
	return append(b, '}')
}

func (x *exchange) converseResponse(a *messagesAnswer) {
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
	b = append(b, `{"output":{"message":{"role":"assistant","content":[`...)
	blocks := 0
	if a.thinking && c.reasoning > 0 {
		b = append(b, `{"reasoningContent":{"reasoningText":{"text":"`...)
		if a.p.ReasoningVisible {
			b = appendWords(b, c.reasoningSeed(), c.reasoning)
		}
		b = append(b, `","signature":"`...)
		b = append(b, c.signature()...)
		b = append(b, `"}}}`...)
		blocks++
	}
	if c.units > 0 || (c.tool && !c.truncated) {
		if blocks > 0 {
			b = append(b, ',')
		}
		if c.tool {
			b = append(b, `{"toolUse":{"toolUseId":"`...)
			b = append(b, c.toolID...)
			b = append(b, `","name":`...)
			b = jsonenc.AppendString(b, c.toolName)
			b = append(b, `,"input":`...)
			args := string(c.appendText(nil))
			if c.truncated || !json.Valid([]byte(args)) {
				args = "{}"
			}
			b = append(b, args...)
			b = append(b, "}}"...)
		} else {
			b = append(b, `{"text":"`...)
			b = appendJSONText(b, c)
			b = append(b, `"}`...)
		}
	}
	b = append(b, `]}},"stopReason":"`...)
	b = append(b, bedrockStopReason(c)...)
	b = append(b, '"')
	if a.withUsage {
		b = append(b, `,"usage":`...)
		b = appendBedrockUsage(b, a.prompt, c.output())
	}
	b = append(b, `,"metrics":{"latencyMs":`...)
	b = strconv.AppendInt(b, time.Since(x.t0).Milliseconds(), 10)
	b = append(b, "}}\n"...)
	x.out.in, x.out.outTokens = a.prompt.openAIPrompt(), c.output()

	x.bedrockHeaders()
	p, d := a.p, a.d
	if x.hangsInStream(p, d) {
		x.w.Header()["Content-Type"] = ctJSON
		x.w.WriteHeader(http.StatusOK)
		x.out.status = http.StatusOK
		x.flush()
		x.out.in, x.out.outTokens = 0, 0
		x.waitGone()
		return
	}
	if x.cutsAt(p, d) >= 0 {
		x.w.Header()["Content-Type"] = ctJSON
		x.w.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
		x.w.WriteHeader(http.StatusOK)
		x.out.status = http.StatusOK
		x.w.Write(b[:len(b)/2])
		x.out.in, x.out.outTokens = 0, 0
		x.abort()
	}
	x.writeBody(http.StatusOK, b)
}

var ctEventStream = []string{"application/vnd.amazon.eventstream"}

// eventWriter frames events in the AWS event-stream encoding.
type eventWriter struct {
	enc *eventstream.Encoder
	buf bytes.Buffer
	pad uint64
}

// event frames one event (or exception) whose JSON payload is payload.
func (w *eventWriter) frame(messageType, name string, payload []byte) []byte {
	var h eventstream.Headers
	h.Set(":message-type", eventstream.StringValue(messageType))
	if messageType == "exception" {
		h.Set(":exception-type", eventstream.StringValue(name))
	} else {
		h.Set(":event-type", eventstream.StringValue(name))
	}
	h.Set(":content-type", eventstream.StringValue("application/json"))
	w.buf.Reset()
	w.enc.Encode(&w.buf, eventstream.Message{Headers: h, Payload: payload}) // cannot fail: bounded sizes
	return w.buf.Bytes()
}

// padded ends an event payload with Bedrock's "p" padding field, which
// hides the length of the text.
func (w *eventWriter) padded(b []byte) []byte {
	w.pad++
	n := int(w.pad%20) + 1
	b = append(b, `,"p":"`...)
	b = append(b, "abcdefghijklmnopqrstuvwxyz"[:n]...)
	return append(b, `"}`...)
}

// converseStream sends the answer as ConverseStream events.
func (x *exchange) converseStream(a *messagesAnswer) {
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
	h := x.w.Header()
	h["Content-Type"] = ctEventStream
	x.bedrockHeaders()
	x.w.WriteHeader(http.StatusOK)
	x.out.status = http.StatusOK
	x.out.stream = true
	if !x.send(nil) {
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
	w := &eventWriter{enc: eventstream.NewEncoder()}
	var p []byte
	emit := func(name string) bool {
		return x.send(w.frame("event", name, p))
	}
	exception := func() {
		typ, msg := bedrockDefaults(a.fail.Status)
		name := strings.ToLower(typ[:1]) + typ[1:]
		x.send(w.frame("exception", name, append(jsonenc.AppendString([]byte(`{"message":`), msg), '}')))
	}
	p = w.padded(append(p[:0], `{"role":"assistant"`...))
	if !emit("messageStart") {
		return
	}
	sent, due := 0, false
	token := func() bool {
		if due {
			pc.delay(1)
			if !pc.wait(x.ctx) {
				x.out.gone = true
				return false
			}
		}
		due = true
		if !emit("contentBlockDelta") {
			return false
		}
		sent++
		switch {
		case sent == cutAt:
			x.abort()
		case sent == failAt:
			exception()
			return false
		case hang && sent == 1:
			x.waitGone()
			return false
		}
		return true
	}
	index := 0
	delta := func() {
		p = append(p[:0], `{"contentBlockIndex":`...)
		p = strconv.AppendInt(p, int64(index), 10)
		p = append(p, `,"delta":`...)
	}
	blockStop := func() bool {
		p = append(p[:0], `{"contentBlockIndex":`...)
		p = strconv.AppendInt(p, int64(index), 10)
		p = w.padded(p)
		index++
		return emit("contentBlockStop")
	}
	if a.thinking && c.reasoning > 0 {
		if a.p.ReasoningVisible {
			seed := c.reasoningSeed()
			for i := 0; i < c.reasoning; i++ {
				delta()
				p = append(p, `{"reasoningContent":{"text":`...)
				p = append(p, quotedWord(seed, i)...)
				p = w.padded(append(p, "}}"...))
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
		delta()
		p = append(p, `{"reasoningContent":{"signature":"`...)
		p = append(p, c.signature()...)
		p = w.padded(append(p, `"}}`...))
		if !emit("contentBlockDelta") || !blockStop() {
			return
		}
	}
	if c.units > 0 {
		if c.tool {
			p = append(p[:0], `{"contentBlockIndex":`...)
			p = strconv.AppendInt(p, int64(index), 10)
			p = append(p, `,"start":{"toolUse":{"toolUseId":"`...)
			p = append(p, c.toolID...)
			p = append(p, `","name":`...)
			p = jsonenc.AppendString(p, c.toolName)
			p = w.padded(append(p, "}}"...))
			if !emit("contentBlockStart") {
				return
			}
		}
		for i := 0; i < c.units; i++ {
			delta()
			if c.tool {
				p = append(p, `{"toolUse":{"input":`...)
				p = c.unit(p, i)
				p = append(p, "}}"...)
			} else {
				p = append(p, `{"text":`...)
				p = c.unit(p, i)
				p = append(p, '}')
			}
			p = w.padded(p)
			if !token() {
				return
			}
		}
		if !blockStop() {
			return
		}
	}
	if hang {
		x.waitGone()
		return
	}
	if a.fail != nil {
		exception()
		return
	}
	if cutAt > 0 {
		x.abort()
	}
	p = append(p[:0], `{"stopReason":"`...)
	p = append(p, bedrockStopReason(c)...)
	p = w.padded(append(p, '"'))
	if !emit("messageStop") {
		return
	}
	if a.withUsage {
		p = append(p[:0], `{"usage":`...)
		p = appendBedrockUsage(p, a.prompt, c.output())
		p = append(p, `,"metrics":{"latencyMs":`...)
		p = strconv.AppendInt(p, time.Since(x.t0).Milliseconds(), 10)
		p = w.padded(append(p, '}'))
		if !emit("metadata") {
			return
		}
	}
	x.out.in, x.out.outTokens = a.prompt.openAIPrompt(), c.output()
}

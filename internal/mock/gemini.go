package mock

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weirhq/weir/internal/jsonenc"
)

// The Gemini surface, as the Gemini API of Google AI Studio serves it
// (POST /v1beta/models/M:generateContent, :streamGenerateContent?alt=sse,
// :batchEmbedContents, :embedContent, GET /v1beta/models) and as Vertex AI
// does (POST /v1/projects/P/locations/L/publishers/google/models/M:method).
// Errors are Google's: {"error":{"code","message","status","details"}}.

// geminiRoute serves path if it is a Gemini or Vertex AI path, and reports
// whether it was.
func (x *exchange) geminiRoute(path string) bool {
	vertex := false
	rest, ok := strings.CutPrefix(path, "/v1beta/models")
	if !ok {
		rest, ok = strings.CutPrefix(path, "/v1/projects/")
		if !ok {
			return false
		}
		_, after, found := strings.Cut(rest, "/publishers/google/models")
		if !found {
			return false
		}
		rest, vertex = after, true
	}
	if rest == "" && !vertex {
		if x.geminiMethod(http.MethodGet) && x.geminiAuthorize(false) {
			x.geminiListModels()
		}
		return true
	}
	name, method, ok := strings.Cut(strings.TrimPrefix(rest, "/"), ":")
	if !ok || name == "" {
		x.geminiFail(http.StatusNotFound, "NOT_FOUND", "Method not found.", nil)
		return true
	}
	if !x.geminiMethod(http.MethodPost) || !x.geminiAuthorize(vertex) {
		return true
	}
	body, ok := x.geminiBody()
	if !ok {
		return true
	}
	switch method {
	case "generateContent":
		x.generateContent(name, body, false)
	case "streamGenerateContent":
		x.generateContent(name, body, true)
	case "embedContent", "batchEmbedContents":
		x.embedContent(name, body, method == "batchEmbedContents")
	default:
		x.geminiFail(http.StatusNotFound, "NOT_FOUND", "Method not found.", nil)
	}
	return true
}

func (x *exchange) geminiMethod(m string) bool {
	if x.r.Method == m {
		return true
	}
	x.w.Header().Set("Allow", m)
	x.geminiFail(http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "Method "+x.r.Method+" is not allowed.", nil)
	return false
}

// geminiAuthorize checks the key as Google does: the Gemini API takes
// x-goog-api-key (or ?key=) and answers a wrong one with 400
// API_KEY_INVALID; Vertex AI takes an OAuth bearer token.
func (x *exchange) geminiAuthorize(vertex bool) bool {
	key := x.s.apiKey
	if key == "" {
		return true
	}
	if vertex {
		got, ok := strings.CutPrefix(x.r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1 {
			x.geminiFail(http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.", nil)
			return false
		}
		return true
	}
	got := x.r.Header.Get("x-goog-api-key")
	if got == "" {
		got = x.r.URL.Query().Get("key")
	}
	switch {
	case got == "":
		x.geminiFail(http.StatusForbidden, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", nil)
	case subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1:
		x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
			[]byte(`[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]`))
	default:
		return true
	}
	return false
}

func (x *exchange) geminiBody() ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(x.r.Body, maxBody+1))
	if err != nil {
		x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", nil)
		return nil, false
	}
	if len(b) > maxBody {
		x.geminiFail(http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT", "Request payload size exceeds the limit.", nil)
		return nil, false
	}
	return b, true
}

// geminiStatus is Google's canonical status and text for an HTTP status.
func geminiStatus(status int) (name, msg string) {
	switch status {
	case 400, 413:
		return "INVALID_ARGUMENT", "Request contains an invalid argument."
	case 401:
		return "UNAUTHENTICATED", "Request had invalid authentication credentials."
	case 403:
		return "PERMISSION_DENIED", "The caller does not have permission."
	case 404:
		return "NOT_FOUND", "Requested entity was not found."
	case 408, 504:
		return "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."
	case 429:
		return "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
	case 503, 529:
		return "UNAVAILABLE", "The model is overloaded. Please try again later."
	}
	return "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
}

// geminiError appends a Google error object.
func geminiError(b []byte, status int, name, msg string, details []byte) []byte {
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"message":`...)
	b = jsonenc.AppendString(b, msg)
	b = append(b, `,"status":`...)
	b = jsonenc.AppendString(b, name)
	if details != nil {
		b = append(b, `,"details":`...)
		b = append(b, details...)
	}
	return append(b, "}}"...)
}

func (x *exchange) geminiFail(status int, name, msg string, details []byte) {
	x.w.Header()["X-Request-Id"] = []string{x.requestID()}
	x.writeBody(status, append(geminiError(nil, status, name, msg, details), '\n'))
}

// geminiInjected answers with an injected failure; a 429 carries its
// retry delay as a RetryInfo detail, as Google sends it.
func (x *exchange) geminiInjected(f *Failure) {
	name, msg := geminiStatus(f.Status)
	x.geminiFail(f.Status, name, msg, retryInfo(f.RetryAfter))
}

func retryInfo(d time.Duration) []byte {
	if d <= 0 {
		return nil
	}
	b := []byte(`[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"`)
	b = strconv.AppendInt(b, int64((d+time.Second-1)/time.Second), 10)
	return append(b, `s"}]`...)
}

// geminiStart is start with Google's error answers.
func (x *exchange) geminiStart(m *model, p *compiled, stream bool) (d draws, fail *Failure, ok bool) {
	d = m.draw(p)
	if f := pickFailure(p.Failures, d.fail); f != nil {
		if !stream || f.AfterChunks == 0 {
			x.geminiInjected(f)
			return d, nil, false
		}
		fail = f
	}
	if x.hangHeaders(p, d) {
		return d, nil, false
	}
	return d, fail, true
}

// geminiAdmit applies the model's RPM and TPM limits.
func (x *exchange) geminiAdmit(p *compiled, cost int) bool {
	if p.RPM <= 0 && p.TPM <= 0 {
		return true
	}
	st, ok := x.model.admit(&p.Profile, x.s.Now(), cost)
	if ok {
		return true
	}
	name, msg := geminiStatus(http.StatusTooManyRequests)
	x.geminiFail(http.StatusTooManyRequests, name, msg, retryInfo(st.reset))
	return false
}

func (x *exchange) geminiModel(name string) *model {
	m := x.s.models[name]
	if m == nil {
		x.geminiFail(http.StatusNotFound, "NOT_FOUND", "models/"+limit(name, 200)+" is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", nil)
	}
	return m
}

// gemRequest is a GenerateContentRequest, as far as the simulator reads it.
type gemRequest struct {
	Contents []struct {
		Role  string    `json:"role"`
		Parts []gemPart `json:"parts"`
	} `json:"contents"`
	SystemInstruction *struct {
		Parts []gemPart `json:"parts"`
	} `json:"systemInstruction"`
	Tools []struct {
		FunctionDeclarations []struct {
			Name                 string          `json:"name"`
			Parameters           json.RawMessage `json:"parameters"`
			ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig *struct {
		MaxOutputTokens    *int            `json:"maxOutputTokens"`
		CandidateCount     *int            `json:"candidateCount"`
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		ThinkingConfig     *struct {
			IncludeThoughts bool   `json:"includeThoughts"`
			ThinkingBudget  *int   `json:"thinkingBudget"`
			ThinkingLevel   string `json:"thinkingLevel"`
		} `json:"thinkingConfig"`
	} `json:"generationConfig"`
}

type gemPart struct {
	Text             string          `json:"text"`
	InlineData       json.RawMessage `json:"inlineData"`
	FileData         json.RawMessage `json:"fileData"`
	FunctionCall     json.RawMessage `json:"functionCall"`
	FunctionResponse json.RawMessage `json:"functionResponse"`
}

func (p *gemPart) size() size {
	s := size{runes: utf8.RuneCountInString(p.Text) + len(p.FunctionCall) + len(p.FunctionResponse)}
	if p.InlineData != nil || p.FileData != nil {
		s.media++
	}
	return s
}

// promptTokens counts the request by the token-count rule.
func (r *gemRequest) promptTokens() int {
	var msgs []size
	if si := r.SystemInstruction; si != nil {
		var s size
		for i := range si.Parts {
			s.add(si.Parts[i].size())
		}
		msgs = append(msgs, s)
	}
	for _, c := range r.Contents {
		var s size
		for i := range c.Parts {
			s.add(c.Parts[i].size())
		}
		msgs = append(msgs, s)
	}
	var tools []json.RawMessage
	for _, t := range r.Tools {
		for _, f := range t.FunctionDeclarations {
			tools = append(tools, f.ParametersJSONSchema, f.Parameters)
		}
	}
	return promptTokens(msgs, tools)
}

// toolChoice is the tool the model may call, if any.
func (r *gemRequest) toolChoice() toolChoice {
	var tc toolChoice
	mode, allowed := "AUTO", []string(nil)
	if r.ToolConfig != nil && r.ToolConfig.FunctionCallingConfig.Mode != "" {
		mode, allowed = r.ToolConfig.FunctionCallingConfig.Mode, r.ToolConfig.FunctionCallingConfig.AllowedFunctionNames
	}
	if mode == "NONE" {
		return tc
	}
	for _, t := range r.Tools {
		for _, f := range t.FunctionDeclarations {
			if len(allowed) > 0 && !contains(allowed, f.Name) {
				continue
			}
			params := f.ParametersJSONSchema
			if params == nil {
				params = f.Parameters
			}
			return toolChoice{call: true, forced: mode == "ANY", name: f.Name, params: params}
		}
	}
	return tc
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// gemAnswer is a planned GenerateContentResponse.
type gemAnswer struct {
	p         *compiled
	model     string
	choices   []choicePlan
	thoughts  bool // thought summaries are included
	prompt    tokens
	withUsage bool
	d         draws
	fail      *Failure
	id        []byte
}

func (x *exchange) generateContent(name string, body []byte, stream bool) {
	var req gemRequest
	if err := json.Unmarshal(body, &req); err != nil {
		x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+limit(err.Error(), 200), nil)
		return
	}
	if len(req.Contents) == 0 {
		x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n", nil)
		return
	}
	m := x.geminiModel(name)
	if m == nil {
		return
	}
	x.model = m
	p := x.s.profile(m)
	if p.Type == TypeEmbedding {
		x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "models/"+limit(name, 200)+" is not supported for generateContent.", nil)
		return
	}
	in := planInput{seed: x.requestSeed(body), choices: 1, reasoning: p.ReasoningTokens, tools: req.toolChoice()}
	thoughts := false
	if gc := req.GenerationConfig; gc != nil {
		if gc.CandidateCount != nil {
			if *gc.CandidateCount < 1 || *gc.CandidateCount > 8 {
				x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "* GenerateContentRequest.generation_config.candidate_count: must be between 1 and 8\n", nil)
				return
			}
			in.choices = *gc.CandidateCount
		}
		if gc.MaxOutputTokens != nil {
			in.maxOut = max(*gc.MaxOutputTokens, 0)
		}
		if gc.ResponseMimeType == "application/json" {
			in.format = "json_object"
			if s := gc.ResponseJSONSchema; s != nil {
				in.format, in.schema = "json_schema", s
			} else if s := gc.ResponseSchema; s != nil {
				in.format, in.schema = "json_schema", s
			}
		}
		if tc := gc.ThinkingConfig; tc != nil {
			thoughts = tc.IncludeThoughts
			if tc.ThinkingBudget != nil && *tc.ThinkingBudget >= 0 {
				in.reasoning = min(in.reasoning, *tc.ThinkingBudget)
			}
		}
	}
	a := &gemAnswer{p: p, model: name, choices: buildChoices(&p.Profile, in), thoughts: thoughts && p.ReasoningVisible}
	if p.ResponseModel != "" {
		a.model = p.ResponseModel
	}
	a.prompt = promptFigures(&p.Profile, req.promptTokens())
	a.withUsage = p.Usage != UsageNever
	a.id = appendID(nil, x.idSeed(4), 22)
	if !x.geminiAdmit(p, a.prompt.openAIPrompt()+in.maxOut) {
		return
	}
	var ok bool
	if a.d, a.fail, ok = x.geminiStart(m, p, stream); !ok {
		return
	}
	if a.d.shape.on() {
		in.shape = a.d.shape
		a.choices = buildChoices(&p.Profile, in)
	}
	if stream {
		x.geminiStream(a)
	} else {
		x.geminiResponse(a)
	}
}

// geminiFinish is a candidate's finishReason.
func geminiFinish(c *choicePlan) string {
	if c.truncated {
		return "MAX_TOKENS"
	}
	return "STOP"
}

func (a *gemAnswer) output() (candidates, thoughts int) {
	for i := range a.choices {
		candidates += a.choices[i].units
		thoughts += a.choices[i].reasoning
	}
	return candidates, thoughts
}

// appendUsage appends usageMetadata: promptTokenCount includes the cached
// tokens (cache writes have no figure of their own), candidatesTokenCount
// excludes the thoughts.
func (a *gemAnswer) appendUsage(b []byte, final bool) []byte {
	prompt := a.prompt.openAIPrompt()
	b = append(b, `"usageMetadata":{"promptTokenCount":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	total := prompt
	if final {
		cand, thoughts := a.output()
		b = append(b, `,"candidatesTokenCount":`...)
		b = strconv.AppendInt(b, int64(cand), 10)
		if thoughts > 0 {
			b = append(b, `,"thoughtsTokenCount":`...)
			b = strconv.AppendInt(b, int64(thoughts), 10)
		}
		total += cand + thoughts
	}
	if a.prompt.cacheRead > 0 {
		b = append(b, `,"cachedContentTokenCount":`...)
		b = strconv.AppendInt(b, int64(a.prompt.cacheRead), 10)
	}
	b = append(b, `,"totalTokenCount":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"promptTokensDetails":[{"modality":"TEXT","tokenCount":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	return append(b, `}]}`...)
}

// appendTail appends the fields that end every response object.
func (a *gemAnswer) appendTail(b []byte, usage, final bool) []byte {
	if usage && a.withUsage {
		b = append(b, ',')
		b = a.appendUsage(b, final)
	}
	b = append(b, `,"modelVersion":`...)
	b = jsonenc.AppendString(b, a.model)
	b = append(b, `,"responseId":"`...)
	b = append(b, a.id...)
	return append(b, `"}`...)
}

// appendCall appends a functionCall part with its arguments whole (Gemini
// never streams arguments), and a thought signature when the model thought.
func appendCall(b []byte, c *choicePlan) []byte {
	b = append(b, `{"functionCall":{"name":`...)
	b = jsonenc.AppendString(b, c.toolName)
	b = append(b, `,"args":`...)
	args := c.appendText(nil)
	if c.truncated || !json.Valid(args) {
		args = []byte("{}")
	}
	b = append(b, args...)
	b = append(b, '}')
	if c.reasoning > 0 {
		b = append(b, `,"thoughtSignature":"`...)
		b = append(b, c.signature()...)
		b = append(b, '"')
	}
	return append(b, '}')
}

func (x *exchange) geminiResponse(a *gemAnswer) {
	var pc pacer
	pc.init(&a.p.Profile, a.d.jitter, x.t0, x.s.done)
	pc.first(0)
	units := 0
	for i := range a.choices {
		units = max(units, a.choices[i].reasoning+a.choices[i].units)
	}
	if units > 1 {
		pc.delay(units - 1)
	}
	ok := pc.wait(x.ctx)
	pc.stop()
	if !ok {
		x.out.gone = true
		return
	}
	b := make([]byte, 0, 512+8*units*len(a.choices))
	b = append(b, `{"candidates":[`...)
	for i := range a.choices {
		c := &a.choices[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"content":{"parts":[`...)
		n := 0
		if a.thoughts && c.reasoning > 0 {
			b = append(b, `{"text":"`...)
			b = appendWords(b, c.reasoningSeed(), c.reasoning)
			b = append(b, `","thought":true}`...)
			n++
		}
		if c.tool && !c.truncated {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendCall(b, c)
			n++
		} else if c.units > 0 {
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"text":"`...)
			b = appendJSONText(b, c)
			b = append(b, `"}`...)
			n++
		}
		b = append(b, `],"role":"model"},"finishReason":"`...)
		b = append(b, geminiFinish(c)...)
		b = append(b, `","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = a.appendTail(b, true, true)
	b = append(b, '\n')
	cand, thoughts := a.output()
	x.out.in, x.out.outTokens = a.prompt.openAIPrompt(), cand+thoughts
	x.w.Header()["X-Request-Id"] = []string{x.requestID()}
	x.finishNonStream(a.p, a.d, b)
}

// geminiStream sends the answer as server-sent events, one chunk per token
// (a function call comes whole in one chunk), the last one with the
// finishReason and the final usage. The stream then ends without a
// terminator, as Google's does.
func (x *exchange) geminiStream(a *gemAnswer) {
	var pc pacer
	pc.init(&a.p.Profile, a.d.jitter, x.t0, x.s.done)
	defer pc.stop()
	hidden, steps := 0, 0
	for i := range a.choices {
		c := &a.choices[i]
		units := c.units
		if c.tool {
			units = min(units, 1)
		}
		if a.thoughts {
			steps = max(steps, c.reasoning+units)
		} else {
			hidden, steps = max(hidden, c.reasoning), max(steps, units)
		}
	}
	cutAt := x.cutsAt(a.p, a.d)
	hang := x.hangsInStream(a.p, a.d)
	failAt := -1
	if a.fail != nil {
		failAt = a.fail.AfterChunks
	}
	x.w.Header()["X-Request-Id"] = []string{x.requestID()}
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
	b := make([]byte, 0, 512)
	fail := func() {
		name, msg := geminiStatus(a.fail.Status)
		b = append(b[:0], "data: "...)
		b = geminiError(b, a.fail.Status, name, msg, nil)
		x.send(append(b, "\r\n\r\n"...))
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
		b = append(b[:0], `data: {"candidates":[`...)
		n := 0
		for ci := range a.choices {
			c := &a.choices[ci]
			r := 0
			if a.thoughts {
				r = c.reasoning
			}
			units := c.units
			if c.tool {
				units = min(units, 1)
			}
			if i >= r+units {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, `{"content":{"parts":[`...)
			switch {
			case i < r:
				b = append(b, `{"text":`...)
				b = append(b, quotedWord(c.reasoningSeed(), i)...)
				b = append(b, `,"thought":true}`...)
			case c.tool:
				b = appendCall(b, c)
			default:
				b = append(b, `{"text":`...)
				b = c.unit(b, i-r)
				b = append(b, '}')
			}
			b = append(b, `],"role":"model"},"index":`...)
			b = strconv.AppendInt(b, int64(ci), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
		b = a.appendTail(b, true, false)
		if !x.send(append(b, "\r\n\r\n"...)) {
			return
		}
		sent++
		switch {
		case sent == cutAt:
			x.abort()
		case sent == failAt:
			fail()
			return
		case hang && sent == 1:
			x.waitGone()
			return
		}
	}
	if hang {
		x.waitGone()
		return
	}
	if a.fail != nil {
		fail()
		return
	}
	if cutAt > 0 {
		x.abort()
	}
	b = append(b[:0], `data: {"candidates":[`...)
	for ci := range a.choices {
		if ci > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"`...)
		b = append(b, geminiFinish(&a.choices[ci])...)
		b = append(b, `","index":`...)
		b = strconv.AppendInt(b, int64(ci), 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	b = a.appendTail(b, true, true)
	if x.send(append(b, "\r\n\r\n"...)) {
		cand, thoughts := a.output()
		x.out.in, x.out.outTokens = a.prompt.openAIPrompt(), cand+thoughts
	}
}

// embedContent answers embedContent (one content) and batchEmbedContents
// (requests[]), with usageMetadata.promptTokenCount.
func (x *exchange) embedContent(name string, body []byte, batch bool) {
	type one struct {
		Content *struct {
			Parts []gemPart `json:"parts"`
		} `json:"content"`
		OutputDimensionality *int `json:"outputDimensionality"`
	}
	var reqs []one
	if batch {
		var r struct {
			Requests []one `json:"requests"`
		}
		if err := json.Unmarshal(body, &r); err != nil || len(r.Requests) == 0 {
			x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: requests is not specified\n", nil)
			return
		}
		reqs = r.Requests
	} else {
		var r one
		if err := json.Unmarshal(body, &r); err != nil {
			x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", nil)
			return
		}
		reqs = []one{r}
	}
	m := x.geminiModel(name)
	if m == nil {
		return
	}
	x.model = m
	p := x.s.profile(m)
	if p.Type != TypeEmbedding {
		x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "models/"+limit(name, 200)+" is not supported for embedContent.", nil)
		return
	}
	native := p.Dimensions
	if native == 0 {
		native = 3072
	}
	texts := make([][]byte, len(reqs))
	dims := make([]int, len(reqs))
	total := 0
	for i, r := range reqs {
		if r.Content == nil || len(r.Content.Parts) == 0 {
			x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "* EmbedContentRequest.content: contents is not specified\n", nil)
			return
		}
		var s size
		for j := range r.Content.Parts {
			texts[i] = append(texts[i], r.Content.Parts[j].Text...)
			s.add(r.Content.Parts[j].size())
		}
		total += s.tokens()
		dims[i] = native
		if d := r.OutputDimensionality; d != nil {
			if *d < 1 || *d > native {
				x.geminiFail(http.StatusBadRequest, "INVALID_ARGUMENT", "output_dimensionality must be between 1 and "+strconv.Itoa(native)+".", nil)
				return
			}
			dims[i] = *d
		}
	}
	if p.InputTokens > 0 {
		total = p.InputTokens
	}
	if !x.geminiAdmit(p, total) {
		return
	}
	d := m.draw(nil)
	if f := pickFailure(p.Failures, d.fail); f != nil {
		x.geminiInjected(f)
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
	b := make([]byte, 0, 128+len(reqs)*native*12)
	if batch {
		b = append(b, `{"embeddings":[`...)
	} else {
		b = append(b, `{"embedding":`...)
	}
	for i := range reqs {
		if i > 0 {
			b = append(b, ',')
		}
		vec := make([]float32, dims[i])
		embed(vec, mix(x.s.seed^fnv64(0, texts[i])))
		b = append(b, `{"values":[`...)
		for j, f := range vec {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
		}
		b = append(b, "]}"...)
	}
	if batch {
		b = append(b, ']')
	}
	if p.Usage != UsageNever {
		b = append(b, `,"usageMetadata":{"promptTokenCount":`...)
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, '}')
	}
	b = append(b, "}\n"...)
	x.out.in = total
	x.w.Header()["X-Request-Id"] = []string{x.requestID()}
	x.finishNonStream(p, d, b)
}

// geminiListModels answers GET /v1beta/models.
func (x *exchange) geminiListModels() {
	b := []byte(`{"models":[`)
	for i, name := range x.s.names {
		if i > 0 {
			b = append(b, ',')
		}
		p := x.s.models[name].prof
		methods := `["generateContent","streamGenerateContent","countTokens"]`
		if p.Type == TypeEmbedding {
			methods = `["embedContent","batchEmbedContents"]`
		}
		b = append(b, `{"name":`...)
		b = jsonenc.AppendString(b, "models/"+name)
		b = append(b, `,"displayName":`...)
		b = jsonenc.AppendString(b, displayName(name))
		b = append(b, `,"supportedGenerationMethods":`...)
		b = append(b, methods...)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	x.w.Header()["X-Request-Id"] = []string{x.requestID()}
	x.writeBody(http.StatusOK, bytes.Clone(b))
}

package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/buger/jsonparser"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/behaviour"
	"github.com/weirhq/weir/internal/measure"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/usage"
)

// maxEstimateText bounds the generated text kept for token estimation.
const maxEstimateText = 4 << 20

// call is one request in flight.
type call struct {
	g        *Gateway
	w        http.ResponseWriter
	r        *http.Request
	proto    protocol
	endpoint string
	rec      *record.Record
	meter    *measure.Meter
	wait     provider.WaitTimer

	body       []byte
	target     *Target
	status     int
	streaming  bool // the stream's 200 header was sent
	usage      usage.Usage
	hasUsage   bool
	upstreamOK bool // the provider accepted the call
	text       strings.Builder
	transcript []byte
	truncated  bool
	// cost and costUSD back the record's Cost and CostUSD: pricing a call
	// allocates nothing beyond the call itself.
	cost    pricing.Cost
	costUSD pricing.Money
	// ticket is the call's admission against limits, settled at the end.
	ticket Settler
	// route is the route the call names, if any; original is the
	// caller's body, rendered again for each target when it names a
	// prompt (the prompt's variant depends on the target).
	route    *Route
	original []byte
	// extraCost is what attempts other than the one that answered were
	// billed (a hedge's loser that answered too).
	extraCost pricing.Money
	// jsonMode is the answer format the request asked for. answer keeps
	// a stream's completion content (no reasoning), capped at what the
	// checks need; answerBody is a non-streamed answer; refused watches
	// a stream for a delta.refusal. finish decides the record's refusal
	// and json_valid from them (judge); jsonValid backs rec.JSONValid.
	jsonMode   behaviour.JSONMode
	answer     behaviour.Text
	answerBody []byte
	refused    behaviour.StreamRefusal
	jsonValid  bool
}

// setJSONMode sets the answer format the call's request asks for.
func (c *call) setJSONMode(m behaviour.JSONMode) {
	c.jsonMode = m
	c.answer.Limit = m.Limit()
}

// renderPrompt renders the prompt a call names, if any, for a target.
func (c *call) renderPrompt(body []byte, provider, model string) ([]byte, error) {
	if c.g.opt.Prompts == nil {
		return body, nil
	}
	var def string
	if c.route != nil {
		def = c.route.Prompt
	}
	out, info, err := c.g.opt.Prompts.Prepare(c.r.Context(), c.proto == protoAnthropic, body, c.r.Header, provider, model, def)
	if err != nil {
		return body, err
	}
	if info.Name != "" {
		c.rec.Prompt, c.rec.PromptVersion, c.rec.PromptVariant = info.Name, info.Version, info.Variant
		// The prompt may have set the response format.
		c.setJSONMode(behaviour.RequestMode(out, c.endpoint == record.EndpointMessages))
	}
	return out, nil
}

func (g *Gateway) handle(endpoint string, p protocol) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		g.inflight.Add(1)
		defer g.inflight.Done()
		c := &call{
			g: g, w: w, r: r, proto: p, endpoint: endpoint,
			meter: measure.Start(start),
			rec: &record.Record{
				ID: newID(start), ReceivedAt: start.UTC(), Endpoint: endpoint,
				Attempts: []record.Attempt{},
			},
		}
		w.Header().Set(HeaderRequestID, c.rec.ID)
		defer func() {
			// A bug must not lose the record or kill the connection silently.
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				g.log.Error("panic serving call", "id", c.rec.ID, "panic", p, "stack", string(debug.Stack()))
				c.fail(apierror.Wrap(apierror.Internal, fmt.Errorf("panic: %v", p), "internal error"))
				c.finish()
			}
		}()
		if err := c.run(); err != nil {
			c.fail(err)
		}
		c.finish()
	}
}

// envelope is the part of a request body the gateway reads itself.
type envelope struct {
	Model               string `json:"model"`
	Stream              bool   `json:"stream"`
	MaxTokens           int64  `json:"max_tokens"`
	MaxCompletionTokens int64  `json:"max_completion_tokens"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	// The answer format asked for: response_format (chat completions),
	// output_config.format or the beta output_format (messages). Raw, so
	// that an odd value is the provider's to reject, not the envelope's.
	ResponseFormat json.RawMessage `json:"response_format"`
	OutputConfig   json.RawMessage `json:"output_config"`
	OutputFormat   json.RawMessage `json:"output_format"`
}

// jsonMode is the answer format env asks for on endpoint.
func (env *envelope) jsonMode(endpoint string) behaviour.JSONMode {
	switch endpoint {
	case record.EndpointChatCompletions:
		return behaviour.OpenAIMode(env.ResponseFormat)
	case record.EndpointMessages:
		return behaviour.AnthropicMode(env.OutputConfig, env.OutputFormat)
	}
	return behaviour.JSONNone
}

func parseEnvelope(body []byte) (envelope, error) {
	var env envelope
	if len(body) == 0 {
		return env, apierror.New(apierror.InvalidRequest, "the request body is empty: send a JSON object")
	}
	if err := json.Unmarshal(body, &env); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			e := apierror.New(apierror.InvalidRequest, "invalid type for '%s': expected %s", te.Field, te.Type)
			e.Param = te.Field
			return env, e
		}
		return env, apierror.Wrap(apierror.InvalidRequest, err, "the request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return env, nil
}

func (c *call) run() error {
	g := c.g
	id, ok := g.authenticate(c.r)
	if !ok {
		return &apierror.Error{Kind: apierror.Authentication, Code: "invalid_api_key",
			Message: "missing or invalid Weir API key: send it as Authorization: Bearer <key> or x-api-key"}
	}
	attr, err := parseAttribution(c.r.Header)
	if id != nil {
		// The key's application decides these, whatever the headers say.
		attr.Team, attr.Application, attr.APIKeyID = id.Team, id.Application, id.KeyID
	}
	c.rec.Attribution = attr
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, g.opt.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierror.New(apierror.RequestTooLarge, "the request body exceeds the limit of %d bytes", mbe.Limit)
		}
		if c.r.Context().Err() != nil {
			return apierror.Wrap(apierror.ClientClosed, err, "the caller went away while sending the request")
		}
		return apierror.Wrap(apierror.InvalidRequest, err, "could not read the request body")
	}
	c.body = body
	env, err := parseEnvelope(body)
	if err != nil {
		return err
	}
	stream := env.Stream && c.endpoint != record.EndpointEmbeddings
	c.rec.RequestedModel = env.Model
	c.rec.Stream = stream
	c.setJSONMode(env.jsonMode(c.endpoint))
	if rt := g.opt.Router.Route(env.Model); rt != nil {
		return c.serveRoute(rt, env, id, stream)
	}
	target, err := g.opt.Router.Resolve(env.Model)
	if err != nil {
		return err
	}
	c.rec.Provider, c.rec.Model = target.Upstream.Name, target.Model
	c.target = &target
	if id != nil && id.Allows != nil && !id.Allows(env.Model, target.Upstream.Name+"/"+target.Model) {
		return apierror.New(apierror.PermissionDenied, "application %q may not call model %q", id.Application, env.Model)
	}
	if c.body, err = c.renderPrompt(c.body, target.Upstream.Name, target.Model); err != nil {
		return err
	}
	req := &provider.Request{
		Model: target.Model, Stream: stream, Header: c.r.Header, Wait: &c.wait,
		IncludeUsage: env.StreamOptions != nil && env.StreamOptions.IncludeUsage,
	}
	if key := c.r.Header.Get(HeaderProviderKey); key != "" {
		if !target.Upstream.AllowCallerKey {
			return apierror.New(apierror.PermissionDenied, "provider %q does not accept caller keys (x-weir-provider-key); set allow_caller_key for it in the config", target.Upstream.Name)
		}
		req.APIKey = key
	}
	if g.opt.Limiter != nil {
		t, err := g.opt.Limiter.Admit(c.r.Context(), c.rec, c.preEstimate(env))
		if err != nil {
			return err
		}
		c.ticket = t
	}
	forceUsage := stream && c.endpoint == record.EndpointChatCompletions && !req.IncludeUsage
	if req.Body, err = rewriteBody(c.body, env.Model != target.Model, target.Model, forceUsage); err != nil {
		return err
	}
	// The begin entry stays small (no body): it only has to say the call
	// was accepted, by whom, for what. The body is kept for the finish.
	if err := g.opt.Recorder.Begin(c.rec); err != nil {
		g.log.Error("journal begin", "id", c.rec.ID, "err", err)
	}

	var resp *provider.Response
	attempt := record.Attempt{Provider: target.Upstream.Name, Model: target.Model, StartMs: ms(c.meter.Since())}
	resp, err = c.dispatchCtx(c.r.Context(), target.Upstream, req)
	if err != nil {
		ae := apierror.From(err)
		attempt.DurationMs = ms(c.meter.Since()) - attempt.StartMs
		attempt.Status = upstreamStatus(ae)
		attempt.ErrorKind, attempt.Error = ae.Kind.String(), ae.Message
		c.rec.Attempts = append(c.rec.Attempts, attempt)
		return ae
	}
	c.upstreamOK = true
	attempt.Status = resp.Status
	attempt.ProviderRequestID = resp.RequestID
	c.rec.ProviderRequestID = resp.RequestID
	if resp.Stream != nil {
		err = c.relayStream(resp, nil, nil)
	} else {
		err = c.relayBody(resp)
	}
	attempt.DurationMs = ms(c.meter.Since()) - attempt.StartMs
	if err != nil {
		ae := apierror.From(err)
		attempt.ErrorKind, attempt.Error = ae.Kind.String(), ae.Message
	}
	c.rec.Attempts = append(c.rec.Attempts, attempt)
	return err
}

func upstreamStatus(e *apierror.Error) int {
	if e.Status != 0 {
		return e.Status
	}
	return 0
}

func (c *call) dispatchCtx(ctx context.Context, u *Upstream, req *provider.Request) (*provider.Response, error) {
	switch c.endpoint {
	case record.EndpointChatCompletions:
		if p, ok := u.Adapter.(provider.ChatCompleter); ok {
			return p.ChatCompletion(ctx, req)
		}
	case record.EndpointMessages:
		if p, ok := u.Adapter.(provider.Messenger); ok {
			return p.Messages(ctx, req)
		}
		return nil, apierror.New(apierror.InvalidRequest, "provider %q (type %s) does not serve the Anthropic Messages API: call it through /v1/chat/completions", u.Name, u.Type)
	case record.EndpointEmbeddings:
		if p, ok := u.Adapter.(provider.Embedder); ok {
			return p.Embeddings(ctx, req)
		}
	}
	return nil, apierror.New(apierror.InvalidRequest, "provider %q (type %s) does not serve %s", u.Name, u.Type, c.endpoint)
}

// rewriteBody sets the upstream model and, for streams whose caller did not
// ask for usage, stream_options.include_usage, leaving every other byte as
// the caller sent it: only the changed values are spliced in.
func rewriteBody(body []byte, setModel bool, model string, forceUsage bool) ([]byte, error) {
	if !setModel && !forceUsage {
		return body, nil
	}
	out := body
	var err error
	if setModel {
		m, _ := json.Marshal(model)
		if out, err = jsonparser.Set(out, m, "model"); err != nil {
			return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request body must be a JSON object")
		}
	}
	if forceUsage {
		if _, vt, _, err := jsonparser.Get(out, "stream_options"); err == nil && vt == jsonparser.Null {
			out = jsonparser.Delete(out, "stream_options")
		} else if err == nil && vt != jsonparser.Object {
			e := apierror.New(apierror.InvalidRequest, "invalid type for 'stream_options': expected an object")
			e.Param = "stream_options"
			return nil, e
		}
		if out, err = jsonparser.Set(out, []byte("true"), "stream_options", "include_usage"); err != nil {
			return nil, apierror.Wrap(apierror.InvalidRequest, err, "the request body must be a JSON object")
		}
	}
	// body passed json.Unmarshal in parseEnvelope, and splicing a valid
	// value into a valid document keeps it valid (FuzzRewriteBody).
	return out, nil
}

func (c *call) relayBody(resp *provider.Response) error {
	h := c.w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	c.status = resp.Status
	c.w.WriteHeader(resp.Status)
	c.rec.ResponseModel = resp.ResponseModel
	c.rec.SystemFingerprint = resp.SystemFingerprint
	c.rec.FinishReason = resp.FinishReason
	c.rec.ServiceTier = resp.ServiceTier
	c.usage, c.hasUsage = resp.Usage, resp.HasUsage
	c.addText(resp.Text)
	c.answerBody = resp.Body
	c.keepResponse(resp.Body)
	if _, err := c.w.Write(resp.Body); err != nil {
		return apierror.Wrap(apierror.ClientClosed, err, "the caller went away before the response was written")
	}
	return nil
}

// relayStream relays a stream to the caller: first the events pre held
// back (route.go's prime), then the rest; idle, when set, is called on each
// event (a route's idle watchdog).
func (c *call) relayStream(resp *provider.Response, pre []provider.Event, idle func()) error {
	defer resp.Stream.Close()
	h := c.w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.status = http.StatusOK
	c.w.WriteHeader(http.StatusOK)
	c.streaming = true
	rc := http.NewResponseController(c.w)
	if err := rc.Flush(); err != nil {
		return apierror.Wrap(apierror.ClientClosed, err, "the caller went away")
	}
	var streamErr *apierror.Error
	for {
		var ev provider.Event
		var err error
		if len(pre) > 0 {
			ev, pre = pre[0], pre[1:]
		} else {
			ev, err = resp.Stream.Next()
		}
		if err == io.EOF {
			break
		}
		if idle != nil {
			idle()
		}
		if err != nil {
			if streamErr != nil {
				break // after the provider's error: the caller has left, or the stream broke
			}
			return err
		}
		if ev.ResponseModel != "" && c.rec.ResponseModel == "" {
			c.rec.ResponseModel = ev.ResponseModel
		}
		if ev.SystemFingerprint != "" {
			c.rec.SystemFingerprint = ev.SystemFingerprint
		}
		if ev.FinishReason != "" {
			c.rec.FinishReason = ev.FinishReason
		}
		if ev.ServiceTier != "" {
			c.rec.ServiceTier = ev.ServiceTier
		}
		if ev.Usage != nil {
			c.usage, c.hasUsage = *ev.Usage, true
		}
		if ev.Err != nil && streamErr == nil {
			streamErr = ev.Err
		}
		c.addText(ev.Text)
		if ev.Completion {
			c.answer.Add(ev.Text)
			if c.endpoint == record.EndpointChatCompletions {
				c.refused.Chunk(ev.Data)
			}
		}
		if ev.Drop || len(ev.Data) == 0 {
			continue
		}
		werr := func() error {
			if _, err := c.w.Write(ev.Data); err != nil {
				return err
			}
			return rc.Flush()
		}()
		if werr != nil {
			if streamErr != nil {
				// The caller left after the provider's error reached it
				// (an SDK stops at an error event): the call failed with
				// the provider's error, not the caller's leaving.
				break
			}
			return apierror.Wrap(apierror.ClientClosed, werr, "the caller went away mid-stream")
		}
		if ev.Token {
			c.meter.Token(ev.Completion)
		}
		c.rec.Chunks++
	}
	if streamErr != nil {
		// The provider reported the error in its own protocol and it was
		// relayed as is; record it without writing a second error event.
		c.rec.ErrorKind, c.rec.ErrorMessage = streamErr.Kind.String(), streamErr.Message
	}
	return nil
}

// fail answers the caller with e in its protocol, or ends a started stream
// with an error event, and records the failure.
func (c *call) fail(err error) {
	e := apierror.From(err)
	c.rec.ErrorKind, c.rec.ErrorMessage = e.Kind.String(), e.Message
	clientGone := e.Kind == apierror.ClientClosed || c.r.Context().Err() != nil
	if clientGone {
		e.Kind = apierror.ClientClosed
		c.rec.ErrorKind = e.Kind.String()
	}
	switch {
	case c.streaming:
		if !clientGone {
			ev := streamErrorEvent(c.proto, e, c.rec.ID)
			if _, werr := c.w.Write(ev); werr == nil {
				http.NewResponseController(c.w).Flush()
			}
		}
	case clientGone:
		if c.status == 0 {
			c.status = 499
		}
	case c.status != 0:
		// The body was already under way; nothing more can be said.
	default:
		body := errorBody(c.proto, e, c.rec.ID)
		c.status = writeError(c.w, c.proto, e, c.rec.ID)
		c.keepResponse(body)
	}
	lvl := c.g.log.Info
	if e.Kind == apierror.Internal || e.Kind.Retryable() || e.Kind == apierror.UpstreamError {
		lvl = c.g.log.Warn
	}
	args := []any{"id", c.rec.ID, "kind", e.Kind.String(), "status", c.status, "msg", e.Message}
	if e.Err != nil {
		args = append(args, "cause", e.Err)
	}
	lvl("call failed", args...)
}

// finish completes the record and hands it over.
func (c *call) finish() {
	rec := c.rec
	if c.body != nil && rec.Request == "" {
		c.keepRequest(c.body)
	}
	e2e := c.meter.Since()
	rec.Status = c.status
	if c.upstreamOK && !c.hasUsage {
		c.estimate()
	}
	rec.Usage = c.usage
	if c.upstreamOK && c.g.opt.Pricer != nil && c.target != nil {
		cost, err := c.g.opt.Pricer.Cost(rec, c.target.Upstream.PriceAs)
		if err != nil {
			// Impossible usage or a cost beyond Money: the call reached
			// the provider, so it is recorded unpriced, not as if it had not.
			c.g.log.Warn("price call", "id", rec.ID, "provider", c.target.Upstream.PriceAs, "model", rec.Model, "err", err)
			cost.Unpriced |= pricing.UnitInput | pricing.UnitOutput
		}
		c.cost = cost
		rec.Cost = &c.cost
		if m, ok := cost.Amount(); ok {
			c.costUSD = m + c.extraCost
			rec.CostUSD = &c.costUSD
		}
	}
	if c.ticket != nil {
		var spent pricing.Money
		if rec.CostUSD != nil {
			spent = *rec.CostUSD
		}
		c.ticket.Settle(spent, rec.Usage.InputTokens+rec.Usage.OutputTokens)
	}
	res := c.meter.Finish(e2e, c.wait.Total(), c.usage.OutputTokens, rec.Stream)
	rec.TTFTMs, rec.TTFCTMs, rec.TPOTMs, rec.OTPS, rec.ITLMs = res.TTFTMs, res.TTFCTMs, res.TPOTMs, res.OTPS, res.ITL
	rec.E2EMs, rec.UpstreamMs, rec.OverheadMs = res.E2EMs, res.UpstreamMs, res.OverheadMs
	rec.Truncated = c.truncated
	if rec.Stream && c.streaming {
		// A stream's record keeps the text the model generated, in order
		// (reasoning, content, tool names and arguments), not the SSE
		// transcript: ~40 times smaller, and what a reader wants.
		c.keepResponse([]byte(c.text.String()))
	}
	if len(c.transcript) > 0 {
		rec.Response = string(c.transcript)
	}
	c.judge()
	if err := c.g.opt.Recorder.Finish(rec); err != nil {
		c.g.log.Error("journal finish", "id", rec.ID, "err", err)
	}
	if c.g.opt.Observer != nil {
		c.g.opt.Observer.Observe(rec)
	}
	if c.g.log.Enabled(c.r.Context(), slog.LevelDebug) {
		c.g.log.Debug("call", "id", rec.ID, "endpoint", rec.Endpoint, "provider", rec.Provider, "model", rec.Model,
			"status", rec.Status, "error_kind", rec.ErrorKind, "stream", rec.Stream, "e2e_ms", rec.E2EMs,
			"overhead_ms", rec.OverheadMs, "input_tokens", rec.Usage.InputTokens, "output_tokens", rec.Usage.OutputTokens,
			"use_case", rec.UseCase)
	}
}

// judge decides the record's refusal and json_valid from the answer the
// caller got (internal/behaviour).
func (c *call) judge() {
	rec := c.rec
	if !c.upstreamOK || c.endpoint == record.EndpointEmbeddings || behaviour.ToolFinish(rec.FinishReason) {
		return // no answer, or a tool call: neither refusal nor JSON
	}
	var a behaviour.Answer
	switch {
	case rec.Stream:
		a.Refused = c.refused.Refused()
	case c.answerBody != nil:
		var err error
		if c.endpoint == record.EndpointMessages {
			a, err = behaviour.AnthropicAnswer(c.answerBody, &c.answer)
		} else {
			a, err = behaviour.OpenAIAnswer(c.answerBody, &c.answer)
		}
		if err != nil {
			c.g.log.Debug("read answer", "id", rec.ID, "err", err)
			return
		}
	default:
		return
	}
	a.Refused = a.Refused || behaviour.RefusalFinish(rec.FinishReason) ||
		// The Anthropic adapter reports stop_reason "refusal" as
		// content_filter on the OpenAI surface, and nothing else.
		rec.FinishReason == "content_filter" && c.target != nil && c.target.Upstream.Type == "anthropic"
	a.ToolCall = a.ToolCall || behaviour.ToolFinish(rec.FinishReason)
	v := behaviour.Judge(a, &c.answer, c.jsonMode, rec.ErrorKind != "")
	rec.Refusal = v.Refusal
	if v.JSONChecked {
		c.jsonValid = v.JSONValid
		rec.JSONValid = &c.jsonValid
	}
}

// estimate counts tokens locally when the provider reported no usage.
func (c *call) estimate() {
	tc := c.g.opt.Counter
	if tc == nil {
		return
	}
	var in int
	var err error
	switch c.endpoint {
	case record.EndpointChatCompletions:
		in, err = tc.ChatInput(c.body)
	case record.EndpointMessages:
		in, err = tc.MessagesInput(c.body)
	case record.EndpointEmbeddings:
		in, err = tc.EmbeddingsInput(c.body)
	}
	if err != nil {
		c.g.log.Warn("estimate input tokens", "id", c.rec.ID, "err", err)
	}
	out, err := tc.Count(c.text.String())
	if err != nil {
		c.g.log.Warn("estimate output tokens", "id", c.rec.ID, "err", err)
	}
	c.usage = usage.Usage{InputTokens: int64(in), OutputTokens: int64(out), Estimated: true}
}

// defaultEstimateOutput is the output a pre-call estimate assumes when
// the request sets no max_tokens.
const defaultEstimateOutput = 512

// preEstimate returns the call's pre-call estimate for limits: the prompt
// counted with the local tokenizer, the output bounded by max_tokens (else
// 512 tokens; none for embeddings), priced like the call will be.
func (c *call) preEstimate(env envelope) func() (pricing.Money, int64) {
	return func() (pricing.Money, int64) {
		var in int
		if tc := c.g.opt.Counter; tc != nil {
			var err error
			switch c.endpoint {
			case record.EndpointChatCompletions:
				in, err = tc.ChatInput(c.body)
			case record.EndpointMessages:
				in, err = tc.MessagesInput(c.body)
			case record.EndpointEmbeddings:
				in, err = tc.EmbeddingsInput(c.body)
			}
			if err != nil {
				c.g.log.Debug("estimate for limits", "id", c.rec.ID, "err", err)
			}
		}
		out := max(env.MaxCompletionTokens, env.MaxTokens)
		if out <= 0 {
			out = defaultEstimateOutput
		}
		if c.endpoint == record.EndpointEmbeddings {
			out = 0
		}
		var cost pricing.Money
		if c.g.opt.Pricer != nil && c.target != nil {
			rec := *c.rec
			rec.Usage = usage.Usage{InputTokens: int64(in), OutputTokens: out, Estimated: true}
			if cst, err := c.g.opt.Pricer.Cost(&rec, c.target.Upstream.PriceAs); err == nil {
				if m, ok := cst.Amount(); ok {
					cost = m
				}
			}
		}
		return cost, int64(in) + out
	}
}

func (c *call) addText(s string) {
	if s != "" && c.text.Len() < maxEstimateText {
		c.text.WriteString(s)
	}
}

func (c *call) keepRequest(body []byte) {
	if c.rec.NoLog {
		return
	}
	limit := c.g.opt.MaxLoggedBodyBytes
	if len(body) > limit {
		body = body[:limit]
		c.truncated = true
	}
	if len(body) > 0 {
		c.rec.Request = string(body)
	}
}

func (c *call) keepResponse(b []byte) {
	if c.rec.NoLog || c.truncated && len(c.transcript) >= c.g.opt.MaxLoggedBodyBytes {
		return
	}
	room := c.g.opt.MaxLoggedBodyBytes - len(c.transcript)
	if room <= 0 {
		c.truncated = len(b) > 0
		return
	}
	if len(b) > room {
		b = b[:room]
		c.truncated = true
	}
	c.transcript = append(c.transcript, b...)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// serveRoute serves a call whose model names a route.
func (c *call) serveRoute(rt *Route, env envelope, id *Identity, stream bool) error {
	c.rec.Route, c.route = rt.Name, rt
	c.original = c.body
	for _, f := range rt.Forbid {
		if _, _, _, err := jsonparser.Get(c.body, f); err == nil {
			e := apierror.New(apierror.InvalidRequest, "route %s does not allow the parameter '%s'", rt.Name, f)
			e.Param, e.Code = f, "forbidden_parameter"
			return e
		}
	}
	first := rt.Targets[0]
	c.rec.Provider, c.rec.Model = first.Upstream.Name, first.Model
	c.target = &Target{Upstream: first.Upstream, Model: first.Model}
	if id != nil && id.Allows != nil && !id.Allows(env.Model, "") {
		return apierror.New(apierror.PermissionDenied, "application %q may not call route %q", id.Application, env.Model)
	}
	if c.r.Header.Get(HeaderProviderKey) != "" {
		return apierror.New(apierror.PermissionDenied, "route %q does not take caller keys (x-weir-provider-key): call a provider's model directly", rt.Name)
	}
	req := &provider.Request{
		Stream: stream, Header: c.r.Header, Wait: &c.wait,
		IncludeUsage: env.StreamOptions != nil && env.StreamOptions.IncludeUsage,
	}
	if c.g.opt.Limiter != nil {
		t, err := c.g.opt.Limiter.Admit(c.r.Context(), c.rec, c.preEstimate(env))
		if err != nil {
			return err
		}
		c.ticket = t
	}
	forceUsage := stream && c.endpoint == record.EndpointChatCompletions && !req.IncludeUsage
	if err := c.g.opt.Recorder.Begin(c.rec); err != nil {
		c.g.log.Error("journal begin", "id", c.rec.ID, "err", err)
	}
	return c.runRoute(rt, env, req, forceUsage, roughTokens(len(c.body), env))
}

// roughTokens is a rate-limit estimate that costs nothing: four bytes of
// request per token, plus the output bound (max_tokens, else 512).
func roughTokens(bodyLen int, env envelope) int64 {
	out := env.MaxCompletionTokens
	if out == 0 {
		out = env.MaxTokens
	}
	if out == 0 {
		out = defaultEstimateOutput
	}
	return int64(bodyLen/4) + out
}

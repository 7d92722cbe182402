// Package mock is Weir's provider simulator: a real HTTP server speaking
// the OpenAI (chat completions, embeddings, models) and Anthropic (messages,
// models) wire formats, with a timing and failure profile per model. It
// backs `weir mock`, `weir demo`, the end-to-end tests that drive the
// gateway with the official SDKs, and the load benchmarks. Output is
// deterministic for a given seed and request (for a given seed and request
// order when a profile sets the behaviour knobs: length jitter, refusals,
// broken JSON), and the usage it reports always matches the chunks it sent
// (docs/simulator.md has the rules).
// Only cmd/weir and tests import it; it imports nothing of Weir's but sse
// in tests.
package mock

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody bounds a request body.
const maxBody = 32 << 20

// Server simulates the providers. Create it with New; it is an
// http.Handler.
type Server struct {
	log    *slog.Logger
	seed   uint64
	apiKey string
	models map[string]*model
	names  []string // sorted

	clock atomic.Pointer[func() time.Time]
	start atomic.Int64 // unix nanoseconds on the clock; SwitchAfter counts from it
	n     atomic.Uint64

	done      chan struct{}
	closeOnce sync.Once

	openAIList, anthropicList []byte
	openAIOne, anthropicOne   map[string][]byte

	unknown modelStats
	mu      sync.Mutex // guards unknown
}

// compiled is a profile with its switch chain resolved.
type compiled struct {
	Profile
	next        *compiled
	fingerprint string
	refusal     []string // RefusalText (or the default) as word tokens
}

// model is one simulated model and its mutable state.
type model struct {
	name string
	prof *compiled

	mu    sync.Mutex // guards the fields below
	rng   rngState
	win   window
	stats modelStats
}

// New returns a server for cfg. Call cfg.Validate first: New does not
// reject a bad configuration, it just behaves oddly. A nil log discards.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		log: log, seed: uint64(cfg.Seed), apiKey: cfg.APIKey,
		models: make(map[string]*model, len(cfg.Models)),
		done:   make(chan struct{}),
	}
	for name, p := range cfg.Models {
		m := &model{name: name, prof: compile(name, p)}
		m.rng.seed(mix(s.seed ^ fnv64s(0, name)))
		s.models[name] = m
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	now := time.Now
	s.clock.Store(&now)
	s.start.Store(now().UnixNano())
	s.buildModelLists()
	return s
}

func compile(name string, p Profile) *compiled {
	c := &compiled{Profile: p}
	c.fingerprint = string(appendHex([]byte("fp_"), fnv64s(0, name), 10))
	if p.RefusalRate > 0 {
		text := p.RefusalText
		if text == "" {
			text = DefaultRefusalText
		}
		c.refusal = splitWords(text)
	}
	if p.Switch != nil {
		c.next = compile(name+"/switch", *p.Switch)
		c.next.fingerprint = c.fingerprint[:len(c.fingerprint)-2] + c.next.fingerprint[len(c.next.fingerprint)-2:]
	}
	return c
}

// SetClock replaces the clock used for profile switches, rate-limit
// windows and timestamps in answers, and restarts the count of
// SwitchAfter. Latencies are always real time. Call it before serving, or
// make now safe for concurrent use.
func (s *Server) SetClock(now func() time.Time) {
	s.clock.Store(&now)
	s.start.Store(now().UnixNano())
}

// Now is the server's current time on its clock.
func (s *Server) Now() time.Time { return (*s.clock.Load())() }

// Close ends every stream and hang in progress; later requests still get
// answers. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// profile is the model's profile in force now.
func (s *Server) profile(m *model) *compiled {
	c := m.prof
	if c.next == nil {
		return c
	}
	now := s.Now()
	start := time.Unix(0, s.start.Load())
	for c.next != nil {
		if (c.SwitchAfter > 0 && now.Sub(start) >= c.SwitchAfter) || (!c.SwitchAt.IsZero() && !now.Before(c.SwitchAt)) {
			c = c.next
			continue
		}
		break
	}
	return c
}

// rngState is a PCG-like generator: draws per request for failures,
// cuts, hangs and jitter, in request order.
type rngState struct{ x uint64 }

func (r *rngState) seed(x uint64) { r.x = x }

func (r *rngState) next() uint64 {
	r.x += 0x9e3779b97f4a7c15
	return mix(r.x)
}

// draws are one request's random numbers.
type draws struct {
	fail, cut, hang float64
	jitter          uint64
	shape           shape
}

// shape is what the behaviour knobs (output_tokens_jitter, refusal_rate,
// invalid_json_rate) drew for one request. Its zero value changes nothing.
type shape struct {
	lenJitter int      // OutputTokensJitter in force
	lenSeed   uint64   // the per-choice length offsets derive from it
	refusal   []string // the refusal's word tokens when the model refuses
	badJSON   bool     // a JSON answer is to be broken
}

// on reports whether the shape changes the answer's plan.
func (sh *shape) on() bool { return sh.lenJitter > 0 || sh.refusal != nil || sh.badJSON }

// length is choice c's content token count for a profile of n tokens.
func (sh *shape) length(n, c int) int {
	if sh.lenJitter <= 0 {
		return n
	}
	span := uint64(2*sh.lenJitter + 1)
	k := n + int(mix(sh.lenSeed+uint64(c)*0x632be59bd9b4e019)%span) - sh.lenJitter
	switch {
	case k >= 1:
		return k
	case n > 0:
		return 1 // a model that answers keeps answering something
	}
	return 0
}

func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// draw takes a request's random numbers from the model's generator. The
// failure, cut, hang and latency draws always come first, in that order;
// each behaviour knob set in p adds one draw after them, so profiles
// without the knobs see the sequence they always saw. A nil p (embeddings)
// draws no knobs.
func (m *model) draw(p *compiled) draws {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := draws{fail: unit(m.rng.next()), cut: unit(m.rng.next()), hang: unit(m.rng.next()), jitter: m.rng.next()}
	if p == nil {
		return d
	}
	if p.OutputTokensJitter > 0 {
		d.shape.lenJitter, d.shape.lenSeed = p.OutputTokensJitter, m.rng.next()
	}
	if p.RefusalRate > 0 && unit(m.rng.next()) < p.RefusalRate {
		d.shape.refusal = p.refusal
	}
	if p.InvalidJSONRate > 0 && unit(m.rng.next()) < p.InvalidJSONRate {
		d.shape.badJSON = true
	}
	return d
}

func pickFailure(fs []Failure, u float64) *Failure {
	acc := 0.0
	for i := range fs {
		acc += fs[i].Rate
		if fs[i].Rate > 0 && u < acc {
			return &fs[i]
		}
	}
	return nil
}

// exchange is one request in progress.
type exchange struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	ctx       context.Context
	t0        time.Time
	k         uint64 // request number
	anthropic bool
	model     *model
	limits    *limitState
	out       outcome
	rc        *http.ResponseController
}

// outcome is what stats record of a request.
type outcome struct {
	status          int
	stream          bool
	cut, hung, gone bool
	in, outTokens   int
}

var (
	ctJSON = []string{"application/json"}
	ctSSE  = []string{"text/event-stream; charset=utf-8"}
	noCach = []string{"no-cache"}
	oaVer  = []string{"2020-10-01"}
)

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{s: s, w: w, r: r, ctx: r.Context(), t0: time.Now(), k: s.n.Add(1)}
	defer x.record()
	path := r.URL.Path
	switch path {
	case "/v1/chat/completions", "/v1/embeddings":
		if x.method(http.MethodPost) && x.authorize() {
			if body, ok := x.body(); ok {
				if path == "/v1/embeddings" {
					x.embeddings(body)
				} else {
					x.chat(body)
				}
			}
		}
	case "/v1/messages", "/v1/messages/count_tokens":
		x.anthropic = true
		if x.method(http.MethodPost) && x.authorize() {
			if body, ok := x.body(); ok {
				if path == "/v1/messages" {
					x.messages(body)
				} else {
					x.countTokens(body)
				}
			}
		}
	case "/v1/models":
		x.anthropic = r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != ""
		if x.method(http.MethodGet) && x.authorize() {
			x.listModels()
		}
	case "/mock/stats":
		if x.method(http.MethodGet) {
			x.writeJSON(http.StatusOK, s.Stats())
		}
	default:
		if strings.HasPrefix(path, "/model/") { // Bedrock: bedrock.go
			x.bedrock()
			return
		}
		if strings.HasPrefix(path, azurePrefix) {
			x.serveAzure(path)
			return
		}
		if x.geminiRoute(path) { // Gemini API and Vertex AI: gemini.go
			return
		}
		x.anthropic = r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != ""
		if id, ok := strings.CutPrefix(path, "/v1/models/"); ok && id != "" {
			if x.method(http.MethodGet) && x.authorize() {
				x.getModel(id)
			}
			return
		}
		x.fail(&apiError{status: http.StatusNotFound, msg: "Invalid URL (" + r.Method + " " + limit(path, 200) + ")"})
	}
}

func (x *exchange) method(m string) bool {
	if x.r.Method == m {
		return true
	}
	x.w.Header().Set("Allow", m)
	x.fail(&apiError{status: http.StatusMethodNotAllowed, msg: "Invalid method for URL (" + x.r.Method + " " + limit(x.r.URL.Path, 200) + ")"})
	return false
}

// authorize checks the API key as the protocol's provider does.
func (x *exchange) authorize() bool {
	key := x.s.apiKey
	if key == "" {
		return true
	}
	if x.anthropic {
		// Anthropic takes x-api-key, and a bearer token as its newer SDKs
		// send it.
		got := x.r.Header.Get("x-api-key")
		if got == "" {
			got, _ = strings.CutPrefix(x.r.Header.Get("Authorization"), "Bearer ")
		}
		switch {
		case got == "":
			x.fail(&apiError{status: 401, msg: "x-api-key header is required"})
		case subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1:
			x.fail(&apiError{status: 401, msg: "invalid x-api-key"})
		default:
			return true
		}
		return false
	}
	auth := x.r.Header.Get("Authorization")
	got, ok := strings.CutPrefix(auth, "Bearer ")
	switch {
	case !ok || got == "":
		x.fail(&apiError{status: 401, msg: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys."})
	case subtle.ConstantTimeCompare([]byte(got), []byte(key)) != 1:
		x.fail(&apiError{status: 401, msg: "Incorrect API key provided: " + maskKey(got) + ". You can find your API key at https://platform.openai.com/account/api-keys.", code: "invalid_api_key"})
	default:
		return true
	}
	return false
}

func maskKey(k string) string {
	if len(k) <= 8 {
		return "***"
	}
	return k[:3] + "*****" + k[len(k)-4:]
}

// body reads the request body, answering 400 or 413 itself on failure.
func (x *exchange) body() ([]byte, bool) {
	var (
		b   []byte
		err error
	)
	if n := x.r.ContentLength; n > 0 && n <= maxBody {
		b = make([]byte, n)
		_, err = io.ReadFull(x.r.Body, b)
	} else {
		b, err = io.ReadAll(io.LimitReader(x.r.Body, maxBody+1))
		if err == nil && len(b) > maxBody {
			x.fail(&apiError{status: http.StatusRequestEntityTooLarge, msg: "Request exceeds the maximum allowed number of bytes."})
			return nil, false
		}
	}
	if err != nil {
		x.fail(&apiError{status: http.StatusBadRequest, msg: "could not read the request body"})
		return nil, false
	}
	return b, true
}

// requestSeed ties the generated text to the server's seed and the request.
func (x *exchange) requestSeed(body []byte) uint64 { return mix(x.s.seed ^ fnv64(0, body)) }

// idSeed ties ids to the server's seed and the request's number.
func (x *exchange) idSeed(salt uint64) uint64 {
	return mix(x.s.seed ^ (x.k * 0xd1b54a32d192ed03) ^ salt)
}

func (x *exchange) requestID() string {
	if x.anthropic {
		return string(appendID([]byte("req_011C"), x.idSeed(1), 20))
	}
	return string(appendHex([]byte("req_"), x.idSeed(1), 32))
}

// commonHeaders sets the request id, processing time and rate-limit state.
func (x *exchange) commonHeaders() {
	h := x.w.Header()
	if x.anthropic {
		h["Request-Id"] = []string{x.requestID()}
	} else {
		h["X-Request-Id"] = []string{x.requestID()}
		h["Openai-Version"] = oaVer
		h["Openai-Processing-Ms"] = []string{strconv.FormatInt(time.Since(x.t0).Milliseconds(), 10)}
	}
	if x.limits != nil {
		x.limits.headers(h, x.anthropic)
	}
}

func (x *exchange) writeJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		x.fail(&apiError{status: 500, msg: "internal error"})
		return
	}
	x.writeBody(status, append(b, '\n'))
}

func (x *exchange) writeBody(status int, b []byte) {
	h := x.w.Header()
	h["Content-Type"] = ctJSON
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	x.w.WriteHeader(status)
	x.out.status = status
	x.w.Write(b)
}

// waitGone blocks until the client or the server gives up.
func (x *exchange) waitGone() {
	x.out.hung = true
	select {
	case <-x.ctx.Done():
	case <-x.s.done:
	}
}

// abort closes the connection without finishing the response.
func (x *exchange) abort() {
	x.out.cut = true
	x.flush()
	panic(http.ErrAbortHandler)
}

func (x *exchange) flush() bool {
	if x.rc == nil {
		x.rc = http.NewResponseController(x.w)
	}
	if err := x.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	return true
}

// send writes and flushes one chunk; false means the client is gone.
func (x *exchange) send(b []byte) bool {
	if _, err := x.w.Write(b); err != nil {
		x.out.gone = true
		return false
	}
	if !x.flush() {
		x.out.gone = true
		return false
	}
	return true
}

// startStream sends the headers of an event stream.
func (x *exchange) startStream() bool {
	h := x.w.Header()
	h["Content-Type"] = ctSSE
	h["Cache-Control"] = noCach
	x.commonHeaders()
	x.w.WriteHeader(http.StatusOK)
	x.out.status = http.StatusOK
	x.out.stream = true
	return x.send(nil)
}

// admit applies the model's RPM and TPM limits, answering 429 itself.
func (x *exchange) admit(p *compiled, cost int) bool {
	if p.RPM <= 0 && p.TPM <= 0 {
		return true
	}
	st, ok := x.model.admit(&p.Profile, x.s.Now(), cost)
	x.limits = &st
	if ok {
		return true
	}
	x.fail(st.error(x.model.name, x.anthropic, cost))
	return false
}

// injected answers with an injected failure.
func (x *exchange) injected(f *Failure) {
	x.fail(&apiError{status: f.Status, retryAfter: f.RetryAfter, injected: true, model: x.model.name})
}

// hangHeaders reports whether the request hangs before the headers, and
// hangs it.
// start draws this request's random choices and plays the failures that
// happen before any answer: an injected error status, or headers that never
// come. ok is false when the request was answered (or left hanging); fail is
// the failure to deliver inside the stream, if any.
func (x *exchange) start(m *model, p *compiled, stream bool) (d draws, fail *Failure, ok bool) {
	d = m.draw(p)
	if f := pickFailure(p.Failures, d.fail); f != nil {
		if !stream || f.AfterChunks == 0 {
			x.injected(f)
			return d, nil, false
		}
		fail = f
	}
	if x.hangHeaders(p, d) {
		return d, nil, false
	}
	return d, fail, true
}

func (x *exchange) hangHeaders(p *compiled, d draws) bool {
	if d.hang < p.HangRate && (p.HangAt == "" || p.HangAt == HangHeaders) {
		x.waitGone()
		return true
	}
	return false
}

func (x *exchange) hangsInStream(p *compiled, d draws) bool {
	return d.hang < p.HangRate && p.HangAt == HangStream
}

func (x *exchange) cutsAt(p *compiled, d draws) int {
	if d.cut < p.CutRate {
		return p.CutAfter
	}
	return -1
}

// notFound answers a request for an unknown model.
func (x *exchange) notFound(name string) {
	if x.anthropic {
		x.fail(&apiError{status: 404, msg: "model: " + limit(name, 200)})
		return
	}
	x.fail(&apiError{status: 404, msg: "The model `" + limit(name, 200) + "` does not exist or you do not have access to it.", code: "model_not_found"})
}

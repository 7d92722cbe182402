// Package gateway is Weir's HTTP front for model calls: the OpenAI-compatible
// surface (/v1/chat/completions, /v1/embeddings, /v1/models) and the
// Anthropic-compatible one (/v1/messages). It authenticates and attributes
// each call, resolves its model to a provider, relays the answer (flushing
// every stream event as it arrives), measures it and hands the record to the
// recorder. Only the app imports it.
package gateway

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
)

// Recorder journals calls: Begin when a call is accepted, Finish with the
// complete record. Neither may wait for the store.
type Recorder interface {
	Begin(rec *record.Record) error
	Finish(rec *record.Record) error
}

// Observer receives every finished record, e.g. to update metrics.
type Observer interface {
	Observe(rec *record.Record)
}

// TokenCounter estimates token counts when a provider reports none.
type TokenCounter interface {
	Count(text string) (int, error)
	ChatInput(body []byte) (int, error)
	MessagesInput(body []byte) (int, error)
	EmbeddingsInput(body []byte) (int, error)
}

// Pricer prices a finished call from the record's provider, model, time
// and usage; priceAs is the catalog provider of the call's provider. It
// runs once per call on the hot path and must not allocate.
type Pricer interface {
	Cost(rec *record.Record, priceAs string) (pricing.Cost, error)
}

// Limiter admits calls against spend and token limits before they reach
// a provider. estimate gives the call's pre-call cost and tokens and is
// called only when a limit applies. A refused call gets an error of kind
// BudgetExceeded; an admitted one a Settler (nil when no limit applies)
// that the gateway settles with the call's real cost when it ends.
type Limiter interface {
	Admit(ctx context.Context, rec *record.Record, estimate func() (pricing.Money, int64)) (Settler, error)
}

// Settler ends an admitted call.
type Settler interface {
	Settle(cost pricing.Money, tokens int64)
}

// Identity is what an application's key says about its calls; the
// caller's headers cannot change it.
type Identity struct {
	KeyID, Application, Team string
	// Allows reports whether the key may call the model as requested or
	// as routed (provider/model).
	Allows func(requested, routed string) bool
}

// KeyResolver knows the applications' keys.
type KeyResolver interface {
	// Active reports whether any key is in force (the gateway then
	// requires one).
	Active() bool
	Resolve(secret string) (Identity, bool)
}

// Prompter renders a call's prompt reference (x-weir-prompt, or the
// body's "weir" field) into its body for one target; the app adapts the
// prompt registry to it. It returns the body unchanged and a zero
// PromptInfo when the call names no prompt; errors are *apierror.Error
// (the caller's fault: 400, never retried elsewhere).
type Prompter interface {
	// Prepare renders the call's prompt, or defaultRef (a route's prompt)
	// when the call names none.
	Prepare(ctx context.Context, anthropic bool, body []byte, h http.Header, provider, model, defaultRef string) ([]byte, PromptInfo, error)
}

// PromptInfo is the prompt version a call was rendered from.
type PromptInfo struct {
	Name    string
	Version int
	Variant string
}

// Options configure a Gateway.
type Options struct {
	Router   *Router
	Recorder Recorder
	Observer Observer
	Counter  TokenCounter
	Pricer   Pricer
	Limiter  Limiter
	Keys     KeyResolver
	// Prompts renders calls that name a registered prompt; nil: calls
	// cannot name one (the fields pass through to the provider).
	Prompts Prompter
	Log     *slog.Logger
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// MaxLoggedBodyBytes bounds the bodies kept in a record; 0 keeps none.
	MaxLoggedBodyBytes int
	// APIKeys, when non-empty, are the keys a caller must present.
	APIKeys []string
	// ModelListTimeout bounds asking a provider for its models.
	ModelListTimeout time.Duration
}

// Gateway serves the model-call surfaces.
type Gateway struct {
	opt      Options
	log      *slog.Logger
	models   modelCache
	inflight sync.WaitGroup
}

// Wait blocks until every call in flight has finished and handed its record
// to the recorder, or ctx is done. The app calls it after stopping the
// listener, before closing the recorder.
func (g *Gateway) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { g.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("calls still in flight: %w", ctx.Err())
	}
}

// New returns a Gateway.
func New(opt Options) *Gateway {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.ModelListTimeout == 0 {
		opt.ModelListTimeout = 5 * time.Second
	}
	return &Gateway{opt: opt, log: opt.Log, models: modelCache{entries: map[string]modelEntry{}}}
}

// Register adds the gateway's routes to mux.
func (g *Gateway) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/chat/completions", g.handle(record.EndpointChatCompletions, protoOpenAI))
	mux.HandleFunc("POST /v1/embeddings", g.handle(record.EndpointEmbeddings, protoOpenAI))
	mux.HandleFunc("POST /v1/messages", g.handle(record.EndpointMessages, protoAnthropic))
	mux.HandleFunc("GET /v1/models", g.listModels)
	mux.HandleFunc("GET /v1/models/{model...}", g.getModel)
	mux.HandleFunc("/v1/", g.unknownRoute)
}

// known are the gateway's paths and their methods, for errors on the rest.
var known = map[string]string{
	"/v1/chat/completions": http.MethodPost, "/v1/embeddings": http.MethodPost,
	"/v1/messages": http.MethodPost, "/v1/models": http.MethodGet,
}

// unknownRoute answers any other /v1/ request in the caller's protocol:
// 405 for a known path with the wrong method, 404 otherwise.
func (g *Gateway) unknownRoute(w http.ResponseWriter, r *http.Request) {
	proto := protoOpenAI
	if isAnthropicCaller(r) || strings.HasPrefix(r.URL.Path, "/v1/messages") {
		proto = protoAnthropic
	}
	if m, ok := known[r.URL.Path]; ok {
		w.Header().Set("Allow", m)
		e := &apierror.Error{Kind: apierror.InvalidRequest, Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Message: fmt.Sprintf("%s %s is not supported: use %s", r.Method, r.URL.Path, m)}
		writeError(w, proto, e, "")
		return
	}
	e := &apierror.Error{Kind: apierror.NotFound, Code: "unknown_url",
		Message: fmt.Sprintf("Weir does not serve %s %s (it serves POST /v1/chat/completions, POST /v1/embeddings, POST /v1/messages and GET /v1/models)", r.Method, r.URL.Path)}
	writeError(w, proto, e, "")
}

// authenticate checks the caller's gateway key, when keys are configured.
// authenticate checks the caller's key: a configured gateway key, or an
// application's key, whose identity it returns. With neither configured
// the gateway is open.
func (g *Gateway) authenticate(r *http.Request) (*Identity, bool) {
	keys := g.opt.Keys != nil && g.opt.Keys.Active()
	if len(g.opt.APIKeys) == 0 && !keys {
		return nil, true
	}
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			key = strings.TrimSpace(a[7:])
		}
	}
	if key == "" {
		return nil, false
	}
	if keys {
		if id, ok := g.opt.Keys.Resolve(key); ok {
			return &id, true
		}
	}
	ok := 0
	for _, k := range g.opt.APIKeys {
		ok |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
	}
	return nil, ok == 1
}

// newID returns a time-sortable id: "req_" and 26 base32 characters.
func newID(t time.Time) string { return ids.New("req_", t) }

// modelCache keeps provider model lists for a while.
type modelCache struct {
	mu      sync.Mutex
	entries map[string]modelEntry
}

type modelEntry struct {
	ids     []string
	created []int64
	at      time.Time
}

func (c *modelCache) get(name string) (modelEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	if !ok || time.Since(e.at) > 5*time.Minute {
		return modelEntry{}, false
	}
	return e, true
}

func (c *modelCache) put(name string, e modelEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.at = time.Now()
	c.entries[name] = e
}

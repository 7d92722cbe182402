package gateway

import (
	"sort"
	"strings"

	"github.com/weirhq/weir/internal/apierror"
)

// Upstream is one configured provider as the gateway uses it.
type Upstream struct {
	Name string
	// Type is the adapter type (openai, anthropic, ...), for inference of
	// bare model names.
	Type string
	// Adapter implements some of provider.ChatCompleter, Messenger,
	// Embedder and ModelLister.
	Adapter any
	// Models the provider is configured to serve.
	Models []string
	// AllowCallerKey lets callers pass their own key in x-weir-provider-key.
	AllowCallerKey bool
	// PriceAs is the vendor whose prices apply (openai, anthropic, groq...),
	// empty when the provider's calls cannot be priced (a self-hosted server).
	PriceAs string
}

// Target is where one call goes.
type Target struct {
	Upstream *Upstream
	// Model is the upstream model id.
	Model string
}

// Router resolves the model a caller asked for to a provider and model.
type Router struct {
	upstreams map[string]*Upstream
	order     []string
	aliases   map[string]string
	// byModel maps a bare model name to the providers that list it.
	byModel map[string][]string
	// routes are names served by several targets (route.go).
	routes     map[string]*Route
	routeOrder []string
}

// NewRouter returns a router over ups; aliases map bare names to
// "provider/model".
func NewRouter(ups []*Upstream, aliases map[string]string) *Router {
	r := &Router{upstreams: map[string]*Upstream{}, aliases: aliases, byModel: map[string][]string{}}
	for _, u := range ups {
		r.upstreams[u.Name] = u
		r.order = append(r.order, u.Name)
		for _, m := range u.Models {
			r.byModel[m] = append(r.byModel[m], u.Name)
		}
	}
	return r
}

// Upstreams lists the providers in configuration order.
func (r *Router) Upstreams() []*Upstream {
	out := make([]*Upstream, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.upstreams[n])
	}
	return out
}

// Aliases returns the configured bare names, sorted.
func (r *Router) Aliases() []string {
	out := make([]string, 0, len(r.aliases))
	for a := range r.aliases {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Resolve finds the target for model, in this order: a configured alias;
// "provider/model" naming a configured provider; a bare name exactly one
// provider lists; a bare name whose vendor prefix (gpt-, o3, claude-, ...)
// identifies a configured provider; the only provider when there is one.
func (r *Router) Resolve(model string) (Target, error) {
	if model == "" {
		return Target{}, &apierror.Error{Kind: apierror.InvalidRequest, Message: "you must provide a model parameter", Param: "model", Code: "missing_model"}
	}
	if t, ok := r.aliases[model]; ok {
		prov, m, _ := strings.Cut(t, "/")
		if u := r.upstreams[prov]; u != nil {
			return Target{Upstream: u, Model: m}, nil
		}
	}
	if prov, m, ok := strings.Cut(model, "/"); ok && m != "" {
		if u := r.upstreams[prov]; u != nil {
			return Target{Upstream: u, Model: m}, nil
		}
	}
	if provs := r.byModel[model]; len(provs) == 1 {
		return Target{Upstream: r.upstreams[provs[0]], Model: model}, nil
	} else if len(provs) > 1 {
		return Target{}, notFound(model, "is served by several providers (%s): address it as provider/model", strings.Join(provs, ", "))
	}
	if u := r.byVendor(model); u != nil {
		return Target{Upstream: u, Model: model}, nil
	}
	if len(r.order) == 1 {
		return Target{Upstream: r.upstreams[r.order[0]], Model: model}, nil
	}
	if len(r.order) == 0 {
		return Target{}, notFound(model, "cannot be served: no provider is configured (set OPENAI_API_KEY or ANTHROPIC_API_KEY, or pass --config)")
	}
	return Target{}, notFound(model, "is not known: address it as provider/model with one of the providers %s, or map it under models: in the config", strings.Join(r.order, ", "))
}

func notFound(model, format string, args ...any) *apierror.Error {
	e := apierror.New(apierror.NotFound, "The model `%s` "+format, append([]any{model}, args...)...)
	e.Code = "model_not_found"
	e.Param = "model"
	return e
}

// vendorPrefixes infer the provider type of a bare model name.
var vendorPrefixes = []struct{ prefix, typ, name string }{
	{"claude-", "anthropic", "anthropic"},
	{"gemini-", "gemini", "gemini"},
	{"gpt-", "openai", "openai"},
	{"chatgpt-", "openai", "openai"},
	{"o1", "openai", "openai"},
	{"o3", "openai", "openai"},
	{"o4", "openai", "openai"},
	{"text-embedding-", "openai", "openai"},
	{"omni-moderation", "openai", "openai"},
}

func (r *Router) byVendor(model string) *Upstream {
	for _, v := range vendorPrefixes {
		if !strings.HasPrefix(model, v.prefix) {
			continue
		}
		if u := r.upstreams[v.name]; u != nil {
			return u
		}
		var only *Upstream
		for _, n := range r.order {
			if u := r.upstreams[n]; u.Type == v.typ && v.typ == "anthropic" {
				if only != nil {
					return nil
				}
				only = u
			}
		}
		return only
	}
	return nil
}

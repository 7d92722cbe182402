package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
)

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// models lists every model a caller can address: each provider's configured
// models (or, when none are configured, the provider's own list, cached for
// five minutes) as "provider/model", and the configured aliases.
func (g *Gateway) modelList(ctx context.Context) []modelObject {
	var out []modelObject
	for _, u := range g.opt.Router.Upstreams() {
		ids, created := u.Models, []int64(nil)
		if len(ids) == 0 {
			ids, created = g.upstreamModels(ctx, u)
		}
		for i, id := range ids {
			m := modelObject{ID: u.Name + "/" + id, Object: "model", OwnedBy: u.Name}
			if i < len(created) {
				m.Created = created[i]
			}
			out = append(out, m)
		}
	}
	for _, a := range g.opt.Router.Aliases() {
		out = append(out, modelObject{ID: a, Object: "model", OwnedBy: "weir"})
	}
	return out
}

func (g *Gateway) upstreamModels(ctx context.Context, u *Upstream) ([]string, []int64) {
	if e, ok := g.models.get(u.Name); ok {
		return e.ids, e.created
	}
	lister, ok := u.Adapter.(provider.ModelLister)
	if !ok {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, g.opt.ModelListTimeout)
	defer cancel()
	list, err := lister.ListModels(ctx)
	if err != nil {
		g.log.Warn("list provider models", "provider", u.Name, "err", err)
		return nil, nil
	}
	var e modelEntry
	for _, m := range list {
		e.ids = append(e.ids, m.ID)
		e.created = append(e.created, m.Created)
	}
	g.models.put(u.Name, e)
	return e.ids, e.created
}

func isAnthropicCaller(r *http.Request) bool {
	return r.Header.Get("Anthropic-Version") != ""
}

func (g *Gateway) listModels(w http.ResponseWriter, r *http.Request) {
	proto := protoOpenAI
	if isAnthropicCaller(r) {
		proto = protoAnthropic
	}
	if _, ok := g.authenticate(r); !ok {
		writeError(w, proto, &apierror.Error{Kind: apierror.Authentication, Code: "invalid_api_key", Message: "missing or invalid Weir API key"}, "")
		return
	}
	ms := g.modelList(r.Context())
	w.Header().Set("Content-Type", "application/json")
	if proto == protoAnthropic {
		type anthropicModel struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
			CreatedAt   string `json:"created_at"`
		}
		list := struct {
			Data    []anthropicModel `json:"data"`
			HasMore bool             `json:"has_more"`
			FirstID *string          `json:"first_id"`
			LastID  *string          `json:"last_id"`
		}{Data: []anthropicModel{}}
		for _, m := range ms {
			list.Data = append(list.Data, anthropicModel{Type: "model", ID: m.ID, DisplayName: m.ID,
				CreatedAt: time.Unix(m.Created, 0).UTC().Format(time.RFC3339)})
		}
		if n := len(list.Data); n > 0 {
			list.FirstID, list.LastID = &list.Data[0].ID, &list.Data[n-1].ID
		}
		json.NewEncoder(w).Encode(list)
		return
	}
	if ms == nil {
		ms = []modelObject{}
	}
	json.NewEncoder(w).Encode(struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{"list", ms})
}

func (g *Gateway) getModel(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.authenticate(r); !ok {
		writeError(w, protoOpenAI, &apierror.Error{Kind: apierror.Authentication, Code: "invalid_api_key", Message: "missing or invalid Weir API key"}, "")
		return
	}
	id := r.PathValue("model")
	t, err := g.opt.Router.Resolve(id)
	if err != nil {
		writeError(w, protoOpenAI, apierror.From(err), "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(modelObject{ID: id, Object: "model", OwnedBy: t.Upstream.Name})
}

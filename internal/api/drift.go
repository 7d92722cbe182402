package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

var driftParams = map[string]bool{"provider": true, "model": true, "use_case": true, "from": true, "to": true}

// driftQuery reads the filters of the drift routes; use_case narrows to
// the models the use case called in the range (from the rollups).
func (a *API) driftQuery(w http.ResponseWriter, r *http.Request) (store.IdentityQuery, map[[2]string]bool, bool) {
	v := r.URL.Query()
	for k := range v {
		if !driftParams[k] {
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown parameter %q", k))
			return store.IdentityQuery{}, nil, false
		}
	}
	q := store.IdentityQuery{Provider: v.Get("provider"), Model: v.Get("model")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := parseTime(s)
			if err != nil {
				writeErr(w, http.StatusBadRequest, "invalid_query", p.name+": "+err.Error())
				return q, nil, false
			}
			*p.dst = t
		}
	}
	uc := v.Get("use_case")
	if uc == "" {
		return q, nil, true
	}
	if a.opt.Rollups == nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", "use_case needs the rollups, which this server does not keep")
		return q, nil, false
	}
	from, to := q.From, q.To
	if to.IsZero() {
		to = time.Now()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -90)
	}
	rows, err := a.opt.Rollups.Rollup(r.Context(), store.RollupQuery{From: from, To: to, GroupBy: []string{store.RollupProvider, store.RollupModel},
		Filter: rollup.Key{UseCase: uc, Provider: q.Provider, Model: q.Model}})
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return q, nil, false
	}
	models := map[[2]string]bool{}
	for _, row := range rows {
		models[[2]string{row.Key.Provider, row.Key.Model}] = true
	}
	return q, models, true
}

// driftEvents answers GET /api/v1/drift/events: the changes of model
// identity (a new model version or system fingerprint behind a model's
// name), oldest first.
func (a *API) driftEvents(w http.ResponseWriter, r *http.Request) {
	q, models, ok := a.driftQuery(w, r)
	if !ok {
		return
	}
	// Every identity of the models (an event needs the one before it),
	// then the events in the range.
	ids, err := a.opt.Identities.ModelIdentities(r.Context(), store.IdentityQuery{Provider: q.Provider, Model: q.Model})
	if err != nil {
		a.log.Error("drift events", "err", err)
		writeErr(w, http.StatusInternalServerError, "internal", "could not read the model identities")
		return
	}
	events := []drift.Event{}
	for _, e := range drift.IdentityEvents(ids) {
		if !q.From.IsZero() && e.At.Before(q.From) || !q.To.IsZero() && !e.At.Before(q.To) {
			continue
		}
		if models != nil && !models[[2]string{e.Provider, e.Model}] {
			continue
		}
		events = append(events, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
}

// driftIdentities answers GET /api/v1/drift/identities: every identity
// each model answered as in the range.
func (a *API) driftIdentities(w http.ResponseWriter, r *http.Request) {
	q, models, ok := a.driftQuery(w, r)
	if !ok {
		return
	}
	ids, err := a.opt.Identities.ModelIdentities(r.Context(), q)
	if err != nil {
		a.log.Error("drift identities", "err", err)
		writeErr(w, http.StatusInternalServerError, "internal", "could not read the model identities")
		return
	}
	out := []store.ModelIdentity{}
	for _, id := range ids {
		if models == nil || models[[2]string{id.Provider, id.Model}] {
			out = append(out, id)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"identities": out})
}

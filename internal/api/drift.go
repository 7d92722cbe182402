package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/drift"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

var driftParams = map[string]bool{"provider": true, "model": true, "use_case": true, "from": true, "to": true, "kind": true, "signal": true}

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
// name) and the behaviour drift the monitor found, oldest first.
func (a *API) driftEvents(w http.ResponseWriter, r *http.Request) {
	q, models, ok := a.driftQuery(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	kind, signal := v.Get("kind"), v.Get("signal")
	switch kind {
	case "", drift.KindModelIdentity, drift.KindBehaviour:
	default:
		writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("kind %q is not %s or %s", kind, drift.KindModelIdentity, drift.KindBehaviour))
		return
	}
	events := []drift.Event{}
	stored := map[string]drift.Event{}
	if a.opt.DriftEvents != nil {
		list, err := a.opt.DriftEvents.DriftEvents(r.Context(), store.DriftEventQuery{Signal: signal, UseCase: v.Get("use_case"),
			Provider: q.Provider, Model: q.Model, From: q.From, To: q.To, Limit: 10_000})
		if err != nil {
			a.log.Error("drift events", "err", err)
			writeErr(w, http.StatusInternalServerError, "internal", "could not read the drift events")
			return
		}
		for _, se := range list {
			var e drift.Event
			if err := json.Unmarshal(se.Event, &e); err != nil {
				a.log.Error("drift event", "id", se.ID, "err", err)
				continue
			}
			if e.Kind == drift.KindModelIdentity {
				stored[e.ID] = e // completes the one computed below
				continue
			}
			if kind == "" || kind == e.Kind {
				events = append(events, e)
			}
		}
	}
	if kind != drift.KindBehaviour && (signal == "" || signal == drift.SignalModelIdentity) {
		// Every identity of the models (an event needs the one before it),
		// then the events in the range.
		ids, err := a.opt.Identities.ModelIdentities(r.Context(), store.IdentityQuery{Provider: q.Provider, Model: q.Model})
		if err != nil {
			a.log.Error("drift events", "err", err)
			writeErr(w, http.StatusInternalServerError, "internal", "could not read the model identities")
			return
		}
		for _, e := range drift.IdentityEvents(ids) {
			if !q.From.IsZero() && e.At.Before(q.From) || !q.To.IsZero() && !e.At.Before(q.To) {
				continue
			}
			if models != nil && !models[[2]string{e.Provider, e.Model}] {
				continue
			}
			e.ID = drift.IdentityEventID(e)
			if s, ok := stored[e.ID]; ok {
				e.DetectedAt, e.Summary = s.DetectedAt, s.Summary
			}
			events = append(events, e)
		}
	}
	slices.SortStableFunc(events, func(x, y drift.Event) int {
		return cmp.Or(x.At.Compare(y.At), strings.Compare(x.ID, y.ID))
	})
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

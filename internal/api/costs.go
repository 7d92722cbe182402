package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/weirhq/weir/internal/store"
)

// costQuery reads from, to, limit and (when allowed) group_by, then_by and
// the filters.
func costQuery(r *http.Request, grouped bool) (store.CostQuery, error) {
	var q store.CostQuery
	v := r.URL.Query()
	filters := map[string]*string{
		"provider": &q.Provider, "model": &q.Model, "use_case": &q.UseCase,
		"team": &q.Team, "user": &q.User, "account": &q.Account,
	}
	for k, vals := range v {
		if len(vals) > 1 {
			return q, fmt.Errorf("parameter %q given %d times", k, len(vals))
		}
		switch {
		case k == "from" || k == "to" || k == "limit":
		case grouped && (k == "group_by" || k == "then_by"):
		case grouped && filters[k] != nil:
			*filters[k] = vals[0]
		default:
			return q, fmt.Errorf("unknown parameter %q", k)
		}
	}
	var err error
	if s := v.Get("from"); s != "" {
		if q.From, err = parseTime(s); err != nil {
			return q, fmt.Errorf("from: %w", err)
		}
	}
	if s := v.Get("to"); s != "" {
		if q.To, err = parseTime(s); err != nil {
			return q, fmt.Errorf("to: %w", err)
		}
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil {
			return q, fmt.Errorf("limit: %q is not an integer", s)
		}
	}
	q.GroupBy, q.ThenBy = v.Get("group_by"), v.Get("then_by")
	return q, nil
}

func (a *API) costError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, store.ErrInvalidQuery) {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	a.log.Error(what, "err", err)
	writeErr(w, http.StatusInternalServerError, "internal", "could not read "+what)
}

// unpriced lists the models calls went to that could not be priced: the
// catalog lacks them (or a unit they used), so their cost_usd is null.
func (a *API) unpriced(w http.ResponseWriter, r *http.Request) {
	q, err := costQuery(r, false)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	if !forceTeam(w, r, &q.Team) {
		return
	}
	models, err := a.opt.Costs.UnpricedModels(r.Context(), q)
	if err != nil {
		a.costError(w, "unpriced models", err)
		return
	}
	if models == nil {
		models = []store.UnpricedModel{}
	}
	writeJSON(w, http.StatusOK, struct {
		Models []store.UnpricedModel `json:"models"`
	}{models})
}

// costTotals sums exact costs over a range, grouped by one dimension.
func (a *API) costTotals(w http.ResponseWriter, r *http.Request) {
	q, err := costQuery(r, true)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	if !forceTeam(w, r, &q.Team) {
		return
	}
	// One row more than asked for says whether the answer is cut; at
	// MaxLimit a full page may be cut.
	p, err := q.Plan()
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	limit := p.Limit
	q.Limit = min(limit+1, store.MaxLimit)
	totals, err := a.opt.Costs.CostTotals(r.Context(), q)
	if err != nil {
		a.costError(w, "cost totals", err)
		return
	}
	truncated := len(totals) > limit || len(totals) == store.MaxLimit
	if len(totals) > limit {
		totals = totals[:limit]
	}
	if totals == nil {
		totals = []store.CostTotal{}
	}
	writeJSON(w, http.StatusOK, struct {
		GroupBy   string            `json:"group_by"`
		ThenBy    string            `json:"then_by,omitempty"`
		Totals    []store.CostTotal `json:"totals"`
		Truncated bool              `json:"truncated"`
	}{q.GroupBy, q.ThenBy, totals, truncated})
}

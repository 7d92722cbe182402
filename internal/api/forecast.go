package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/weirhq/weir/internal/forecast"
	"github.com/weirhq/weir/internal/store"
)

// Forecaster forecasts the current month's spend; *watch.Watcher is one.
type Forecaster interface {
	Forecast(ctx context.Context, q store.CostQuery, tz string) (forecast.Forecast, error)
}

// forecast answers GET /api/v1/forecast: the month's spend so far and its
// forecast to the end of the month, for the calls the filters select.
func (a *API) forecast(w http.ResponseWriter, r *http.Request) {
	var q store.CostQuery
	v := r.URL.Query()
	filters := map[string]*string{"provider": &q.Provider, "model": &q.Model, "use_case": &q.UseCase,
		"team": &q.Team, "user": &q.User, "account": &q.Account}
	for k, vals := range v {
		switch {
		case len(vals) > 1:
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("parameter %q given %d times", k, len(vals)))
			return
		case filters[k] != nil:
			*filters[k] = vals[0]
		case k != "time_zone":
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown parameter %q", k))
			return
		}
	}
	f, err := a.opt.Forecaster.Forecast(r.Context(), q, v.Get("time_zone"))
	if err != nil {
		a.costError(w, "forecast", err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

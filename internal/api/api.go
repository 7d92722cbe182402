// Package api is Weir's management API under /api/v1: reading the recorded
// calls back, and the running configuration (redacted). Errors are JSON
// objects {"error":{"code","message"}}. docs/openapi.yaml describes every
// route. Only the app imports it.
package api

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// Options configure the API.
type Options struct {
	Requests store.RequestReader
	// Costs answers GET /api/v1/costs and /api/v1/costs/unpriced.
	Costs store.CostReader
	// Config returns the redacted running configuration.
	Config func() any
	// Quoter prices calls for POST /api/v1/cost/quote.
	Quoter Quoter
	// Catalog returns the catalog in force, listed by GET /api/v1/prices.
	Catalog func() *pricing.Catalog
	// Prices manages API price entries and re-pricing; nil disables those
	// routes.
	Prices PriceManager
	// PriceAs maps a configured provider to its catalog provider, for
	// re-pricing calls recorded before costs named it.
	PriceAs func(provider string) string
	// History gives estimates each model's typical output; nil uses the
	// default.
	History OutputHistory
	// UseCases serves /api/v1/use-cases and /api/v1/portfolio; nil
	// disables them.
	UseCases UseCases
	// Access serves /api/v1/applications and /api/v1/keys; nil disables
	// them.
	Access Access
	// Limits serves /api/v1/limits; nil disables it.
	Limits Limits
	// Forecaster answers GET /api/v1/forecast; nil disables it.
	Forecaster Forecaster
	// Alerts answers GET /api/v1/alerts; nil disables it.
	Alerts http.Handler
	// Ingest answers POST /api/v1/ingest (calls made without the gateway);
	// nil disables it.
	Ingest http.Handler
	// Reconciler answers POST /api/v1/costs/reconcile; nil disables it.
	Reconciler Reconciler
	// Commitments answers GET /api/v1/costs/commitments; nil disables it.
	Commitments CommitmentReporter
	// Counter counts prompt tokens for POST /api/v1/cost/estimate.
	Counter TokenCounter
	// APIKeys, when non-empty, are the keys a client must present.
	APIKeys []string
	Log     *slog.Logger
}

// API serves /api/v1.
type API struct {
	opt Options
	log *slog.Logger
}

// New returns an API.
func New(opt Options) *API {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &API{opt: opt, log: opt.Log}
}

// Register adds the API's routes to mux. A path served for other methods
// answers 405 with Allow; an unknown path under /api/ answers 404, both in
// the API's error shape.
func (a *API) Register(mux *http.ServeMux) {
	allowed := map[string][]string{} // path pattern -> methods
	handle := func(method, path string, h http.HandlerFunc) {
		mux.Handle(method+" "+path, a.auth(h))
		allowed[path] = append(allowed[path], method)
	}
	handle("GET", "/api/v1/requests", a.listRequests)
	handle("GET", "/api/v1/requests/{id}", a.getRequest)
	handle("GET", "/api/v1/config", a.getConfig)
	handle("POST", "/api/v1/cost/quote", a.quote)
	handle("GET", "/api/v1/prices", a.listPrices)
	handle("POST", "/api/v1/cost/estimate", a.estimate)
	if a.opt.Costs != nil {
		handle("GET", "/api/v1/costs", a.costTotals)
		handle("GET", "/api/v1/costs/unpriced", a.unpriced)
	}
	if a.opt.Prices != nil {
		handle("GET", "/api/v1/prices/custom", a.listCustomPrices)
		handle("PUT", "/api/v1/prices/custom/{id...}", a.putCustomPrice)
		handle("DELETE", "/api/v1/prices/custom/{id...}", a.deleteCustomPrice)
		handle("GET", "/api/v1/prices/custom/{id...}", a.customPriceHistory)
		handle("POST", "/api/v1/costs/reprice", a.reprice)
		handle("GET", "/api/v1/costs/revisions", a.revisions)
	}
	if a.opt.UseCases != nil {
		handle("GET", "/api/v1/use-cases", a.listUseCases)
		handle("GET", "/api/v1/use-cases/{name}", a.getUseCase)
		handle("PUT", "/api/v1/use-cases/{name}", a.putUseCase)
		handle("GET", "/api/v1/use-cases/{name}/history", a.useCaseHistory)
		handle("POST", "/api/v1/use-cases/{name}/versions", a.newUseCaseVersion)
		handle("PUT", "/api/v1/use-cases/{name}/instances/{instance}/kpis/{kpi}", a.putKPI)
		handle("GET", "/api/v1/use-cases/{name}/report", a.useCaseReport)
		handle("GET", "/api/v1/use-cases/{name}/compare", a.compareVersions)
		handle("GET", "/api/v1/portfolio", a.portfolio)
	}
	if a.opt.Reconciler != nil {
		handle("POST", "/api/v1/costs/reconcile", a.reconcileCosts)
	}
	if a.opt.Access != nil {
		handle("GET", "/api/v1/applications", a.listApplications)
		handle("PUT", "/api/v1/applications/{name}", a.putApplication)
		handle("POST", "/api/v1/applications/{name}/keys", a.createKey)
		handle("DELETE", "/api/v1/keys/{id}", a.revokeKey)
	}
	if a.opt.Limits != nil {
		handle("GET", "/api/v1/limits", a.listLimits)
		handle("GET", "/api/v1/limits/{name}", a.getLimit)
		handle("PUT", "/api/v1/limits/{name}", a.putLimit)
		handle("DELETE", "/api/v1/limits/{name}", a.deleteLimit)
		handle("POST", "/api/v1/limits/{name}/reset", a.resetLimit)
	}
	if a.opt.Forecaster != nil {
		handle("GET", "/api/v1/forecast", a.forecast)
	}
	if a.opt.Alerts != nil {
		handle("GET", "/api/v1/alerts", a.opt.Alerts.ServeHTTP)
	}
	if a.opt.Ingest != nil {
		handle("POST", "/api/v1/ingest", a.opt.Ingest.ServeHTTP)
	}
	if a.opt.Commitments != nil {
		handle("GET", "/api/v1/costs/commitments", a.commitments)
	}
	paths := http.NewServeMux()
	for path, methods := range allowed {
		allow := strings.Join(methods, ", ")
		paths.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeErr(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s %s is not supported: use %s", r.Method, r.URL.Path, allow))
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if h, pattern := paths.Handler(r); pattern != "" {
			h.ServeHTTP(w, r)
			return
		}
		writeErr(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
}

func (a *API) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(a.opt.APIKeys) > 0 {
			key := r.Header.Get("X-Api-Key")
			if h := r.Header.Get("Authorization"); key == "" && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
				key = strings.TrimSpace(h[7:])
			}
			ok := 0
			for _, k := range a.opt.APIKeys {
				ok |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
			}
			if key == "" || ok == 0 {
				writeErr(w, http.StatusUnauthorized, "unauthenticated", "missing or invalid API key: send Authorization: Bearer <key> or x-api-key")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	httpjson.Error(w, status, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

func (a *API) getRequest(w http.ResponseWriter, r *http.Request) {
	rec, err := a.opt.Requests.GetRequest(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "not_found", fmt.Sprintf("no request %q is recorded (records reach the store about 50 ms after the call ends)", r.PathValue("id")))
		return
	}
	if err != nil {
		a.log.Error("get request", "err", err)
		writeErr(w, http.StatusInternalServerError, "internal", "could not read the request")
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// parseTime accepts RFC 3339 or Unix seconds.
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(s) && math.Abs(s) < 1e11 {
		return time.Unix(0, int64(s*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339, YYYY-MM-DD nor Unix seconds", v)
}

var listParams = map[string]bool{
	"use_case": true, "use_case_instance": true, "team": true, "user": true, "account": true,
	"provider": true, "model": true, "status": true, "error_kind": true, "from": true, "to": true,
	"limit": true, "cursor": true,
}

func (a *API) listRequests(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	for k := range v {
		if !listParams[k] {
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown parameter %q", k))
			return
		}
	}
	q := store.RequestQuery{
		UseCase: v.Get("use_case"), UseCaseInstance: v.Get("use_case_instance"), Team: v.Get("team"),
		User: v.Get("user"), Account: v.Get("account"), Provider: v.Get("provider"), Model: v.Get("model"),
		ErrorKind: v.Get("error_kind"), Cursor: v.Get("cursor"),
	}
	var err error
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			if *p.dst, err = parseTime(s); err != nil {
				writeErr(w, http.StatusBadRequest, "invalid_query", p.name+": "+err.Error())
				return
			}
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"status", &q.Status}, {"limit", &q.Limit}} {
		if s := v.Get(p.name); s != "" {
			if *p.dst, err = strconv.Atoi(s); err != nil {
				writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("%s: %q is not an integer", p.name, s))
				return
			}
		}
	}
	page, err := a.opt.Requests.ListRequests(r.Context(), q)
	if errors.Is(err, store.ErrInvalidQuery) {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	if err != nil {
		a.log.Error("list requests", "err", err)
		writeErr(w, http.StatusInternalServerError, "internal", "could not list requests")
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) getConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.opt.Config())
}

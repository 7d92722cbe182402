// Package api is Weir's management API under /api/v1: reading the recorded
// calls back, and the running configuration (redacted). Errors are JSON
// objects {"error":{"code","message"}}. docs/openapi.yaml describes every
// route. Only the app imports it.
package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	// Catalog is listed by GET /api/v1/prices.
	Catalog *pricing.Catalog
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

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/requests", a.auth(http.HandlerFunc(a.listRequests)))
	mux.Handle("GET /api/v1/requests/{id}", a.auth(http.HandlerFunc(a.getRequest)))
	mux.Handle("GET /api/v1/config", a.auth(http.HandlerFunc(a.getConfig)))
	mux.Handle("POST /api/v1/cost/quote", a.auth(http.HandlerFunc(a.quote)))
	mux.Handle("GET /api/v1/prices", a.auth(http.HandlerFunc(a.listPrices)))
	mux.Handle("POST /api/v1/cost/estimate", a.auth(http.HandlerFunc(a.estimate)))
	if a.opt.Costs != nil {
		mux.Handle("GET /api/v1/costs", a.auth(http.HandlerFunc(a.costTotals)))
		mux.Handle("GET /api/v1/costs/unpriced", a.auth(http.HandlerFunc(a.unpriced)))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/api/v1/requests" || p == "/api/v1/config" || p == "/api/v1/prices" || p == "/api/v1/costs" || p == "/api/v1/costs/unpriced" || strings.HasPrefix(p, "/api/v1/requests/") && !strings.Contains(p[len("/api/v1/requests/"):], "/") {
			w.Header().Set("Allow", "GET")
			writeErr(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s %s is not supported: use GET", r.Method, p))
			return
		}
		writeErr(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", r.Method, p))
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

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

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
	if s, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(s) && math.Abs(s) < 1e11 {
		return time.Unix(0, int64(s*1e9)), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix seconds", v)
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

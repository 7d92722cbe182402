// Package api is Weir's management API under /api/v1: reading the recorded
// calls back, and the running configuration (redacted). Errors are JSON
// objects {"error":{"code","message"}}. docs/openapi.yaml describes every
// route. Only the app imports it.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// Options configure the API.
type Options struct {
	Requests store.RequestReader
	// Costs answers GET /api/v1/costs and /api/v1/costs/unpriced.
	Costs store.CostReader
	// Rollups answer GET /api/v1/stats (nil leaves it out).
	Rollups store.RollupReader
	// Identities answer GET /api/v1/drift/events and /identities (nil
	// leaves them out).
	Identities store.IdentityReader
	// DriftEvents adds the stored behaviour drift events to GET
	// /api/v1/drift/events (nil: identity changes only).
	DriftEvents store.DriftEventStore
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
	// Credentials serves /api/v1/providers/{name}/credential; nil disables it.
	Credentials http.Handler
	// Ingest answers POST /api/v1/ingest (calls made without the gateway);
	// nil disables it.
	Ingest http.Handler
	// Reconciler answers POST /api/v1/costs/reconcile; nil disables it.
	Reconciler Reconciler
	// Commitments answers GET /api/v1/costs/commitments; nil disables it.
	Commitments CommitmentReporter
	// Counter counts prompt tokens for POST /api/v1/cost/estimate.
	Counter TokenCounter
	// People authenticates requests and serves sign-in, people and
	// tokens; nil lets every request in as admin (tests only).
	People People
	// Extra are routes served by other packages under the same
	// authentication.
	Extra []ExtraRoute
	Log   *slog.Logger
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

// scope says what a route does for a principal limited to one team.
type scope int

const (
	// teamAny: the route reads no call data (prices, definitions, one's
	// own session); a team-scoped principal uses it unchanged.
	teamAny scope = iota
	// teamFiltered: the handler limits what it reads to the team.
	teamFiltered
	// teamRefused: the route reads or changes what spans teams; a
	// team-scoped principal gets 403.
	teamRefused
)

// route is one management route and what it requires.
type route struct {
	method, path string
	perm         auth.Permission
	scope        scope
	h            http.HandlerFunc
}

// Routes lists every management route with the permission it requires,
// for the role x route table in docs and tests.
func (a *API) Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range a.routes() {
		out = append(out, RouteInfo{Method: rt.method, Path: rt.path, Permission: rt.perm, TeamScoped: rt.scope != teamRefused})
	}
	return out
}

// RouteInfo describes a route for Routes.
type RouteInfo struct {
	Method, Path string
	// Permission is "" for a public route (sign-in).
	Permission auth.Permission
	// TeamScoped: a team-scoped principal may use it.
	TeamScoped bool
}

func (a *API) routes() []route {
	var rs []route
	handle := func(method, path string, perm auth.Permission, sc scope, h http.HandlerFunc) {
		rs = append(rs, route{method, path, perm, sc, h})
	}
	R, Q := auth.Read, auth.Quote
	handle("GET", "/api/v1/requests", R, teamFiltered, a.listRequests)
	handle("GET", "/api/v1/requests/{id}", R, teamFiltered, a.getRequest)
	handle("GET", "/api/v1/config", auth.ReadConfig, teamRefused, a.getConfig)
	handle("POST", "/api/v1/cost/quote", Q, teamAny, a.quote)
	handle("GET", "/api/v1/prices", R, teamAny, a.listPrices)
	handle("POST", "/api/v1/cost/estimate", Q, teamAny, a.estimate)
	if a.opt.Rollups != nil {
		handle("GET", "/api/v1/stats", R, teamFiltered, a.stats)
	}
	if a.opt.Identities != nil {
		handle("GET", "/api/v1/drift/events", R, teamAny, a.driftEvents)
		handle("GET", "/api/v1/drift/identities", R, teamAny, a.driftIdentities)
	}
	if a.opt.Costs != nil {
		handle("GET", "/api/v1/costs", R, teamFiltered, a.costTotals)
		handle("GET", "/api/v1/costs/unpriced", R, teamFiltered, a.unpriced)
	}
	if a.opt.Prices != nil {
		handle("GET", "/api/v1/prices/custom", R, teamAny, a.listCustomPrices)
		handle("PUT", "/api/v1/prices/custom/{id...}", auth.WriteCosts, teamRefused, a.putCustomPrice)
		handle("DELETE", "/api/v1/prices/custom/{id...}", auth.WriteCosts, teamRefused, a.deleteCustomPrice)
		handle("GET", "/api/v1/prices/custom/{id...}", R, teamAny, a.customPriceHistory)
		handle("POST", "/api/v1/costs/reprice", auth.WriteCosts, teamRefused, a.reprice)
		handle("GET", "/api/v1/costs/revisions", R, teamRefused, a.revisions)
	}
	if a.opt.UseCases != nil {
		handle("GET", "/api/v1/use-cases", R, teamAny, a.listUseCases)
		handle("GET", "/api/v1/use-cases/{name}", R, teamAny, a.getUseCase)
		handle("PUT", "/api/v1/use-cases/{name}", auth.WriteUseCases, teamAny, a.putUseCase)
		handle("GET", "/api/v1/use-cases/{name}/history", R, teamAny, a.useCaseHistory)
		handle("POST", "/api/v1/use-cases/{name}/versions", auth.WriteUseCases, teamAny, a.newUseCaseVersion)
		handle("PUT", "/api/v1/use-cases/{name}/instances/{instance}/kpis/{kpi}", auth.WriteKPIs, teamAny, a.putKPI)
		handle("GET", "/api/v1/use-cases/{name}/report", R, teamRefused, a.useCaseReport)
		handle("GET", "/api/v1/use-cases/{name}/compare", R, teamRefused, a.compareVersions)
		handle("GET", "/api/v1/portfolio", R, teamRefused, a.portfolio)
	}
	if a.opt.Reconciler != nil {
		handle("POST", "/api/v1/costs/reconcile", auth.WriteCosts, teamRefused, a.reconcileCosts)
	}
	if a.opt.Access != nil {
		handle("GET", "/api/v1/applications", R, teamFiltered, a.listApplications)
		handle("PUT", "/api/v1/applications/{name}", auth.WriteAccess, teamRefused, a.putApplication)
		handle("POST", "/api/v1/applications/{name}/keys", auth.WriteAccess, teamRefused, a.createKey)
		handle("DELETE", "/api/v1/keys/{id}", auth.WriteAccess, teamRefused, a.revokeKey)
	}
	if a.opt.Limits != nil {
		handle("GET", "/api/v1/limits", R, teamFiltered, a.listLimits)
		handle("GET", "/api/v1/limits/{name}", R, teamFiltered, a.getLimit)
		handle("PUT", "/api/v1/limits/{name}", auth.WriteLimits, teamRefused, a.putLimit)
		handle("DELETE", "/api/v1/limits/{name}", auth.WriteLimits, teamRefused, a.deleteLimit)
		handle("POST", "/api/v1/limits/{name}/reset", auth.WriteLimits, teamRefused, a.resetLimit)
	}
	if a.opt.Forecaster != nil {
		handle("GET", "/api/v1/forecast", R, teamRefused, a.forecast)
	}
	if a.opt.Alerts != nil {
		handle("GET", "/api/v1/alerts", R, teamRefused, a.opt.Alerts.ServeHTTP)
	}
	if a.opt.Ingest != nil {
		handle("POST", "/api/v1/ingest", auth.Ingest, teamRefused, a.opt.Ingest.ServeHTTP)
	}
	if a.opt.Commitments != nil {
		handle("GET", "/api/v1/costs/commitments", R, teamRefused, a.commitments)
	}
	if a.opt.Credentials != nil {
		handle("GET", "/api/v1/providers/{name}/credential", auth.ReadConfig, teamRefused, a.opt.Credentials.ServeHTTP)
		handle("PUT", "/api/v1/providers/{name}/credential", auth.WriteCredentials, teamRefused, a.opt.Credentials.ServeHTTP)
		handle("DELETE", "/api/v1/providers/{name}/credential", auth.WriteCredentials, teamRefused, a.opt.Credentials.ServeHTTP)
	}
	if a.opt.People != nil {
		handle("POST", "/api/v1/login", "", teamAny, a.login)
		handle("POST", "/api/v1/logout", "", teamAny, a.logout)
		handle("GET", "/api/v1/me", auth.Self, teamAny, a.me)
		handle("POST", "/api/v1/me/password", auth.Self, teamAny, a.changePassword)
		handle("GET", "/api/v1/people", auth.ReadPeople, teamAny, a.listPeople)
		handle("GET", "/api/v1/people/{name}", auth.ReadPeople, teamAny, a.getPerson)
		handle("PUT", "/api/v1/people/{name}", auth.ManagePeople, teamRefused, a.putPerson)
		handle("DELETE", "/api/v1/people/{name}", auth.ManagePeople, teamRefused, a.deletePerson)
		handle("POST", "/api/v1/people/{name}/password", auth.ManagePeople, teamRefused, a.resetPassword)
		handle("GET", "/api/v1/tokens", auth.Self, teamAny, a.listTokens)
		handle("POST", "/api/v1/tokens", auth.Self, teamAny, a.createToken)
		handle("DELETE", "/api/v1/tokens/{id}", auth.Self, teamAny, a.revokeToken)
	}
	for _, x := range a.opt.Extra {
		handle(x.Method, x.Path, x.Permission, map[bool]scope{true: teamAny, false: teamRefused}[x.TeamScoped], x.Handler.ServeHTTP)
	}
	return rs
}

// ExtraRoute is a route served by another package (audit log, provider
// credentials, single sign-on) under the API's authentication.
type ExtraRoute struct {
	Method, Path string
	// Permission is "" for a public route.
	Permission auth.Permission
	// TeamScoped: a team-scoped principal may use it.
	TeamScoped bool
	Handler    http.Handler
}

// Register adds the API's routes to mux. A path served for other methods
// answers 405 with Allow; an unknown path under /api/ answers 404, both in
// the API's error shape. Unsafe requests from browsers of another origin
// are refused (403) before anything else.
func (a *API) Register(mux *http.ServeMux) {
	allowed := map[string][]string{} // path pattern -> methods
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusForbidden, "cross_origin", "a cross-origin request from a browser was refused")
	}))
	for _, rt := range a.routes() {
		mux.Handle(rt.method+" "+rt.path, cop.Handler(a.guard(rt)))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
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

// guard authenticates and authorises a request for rt, and puts the
// principal (and the audit actor) into its context.
func (a *API) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.perm == "" {
			rt.h(w, r)
			return
		}
		p := auth.Principal{Kind: "anonymous", Role: auth.Admin}
		if a.opt.People != nil {
			var (
				secret string
				err    error
			)
			p, secret, err = a.opt.People.Authenticate(r)
			if errors.Is(err, auth.ErrUnauthenticated) {
				writeErr(w, http.StatusUnauthorized, "unauthenticated", err.Error())
				return
			}
			if err != nil {
				a.log.Error("authenticate", "err", err)
				writeErr(w, http.StatusInternalServerError, "internal", "could not check the credentials")
				return
			}
			if p.Session && unsafeMethod(r.Method) && !auth.CheckCSRF(secret, r.Header.Get("X-CSRF-Token")) {
				writeErr(w, http.StatusForbidden, "csrf", "a change made with the session cookie needs the session's X-CSRF-Token header (from POST /api/v1/login or GET /api/v1/me)")
				return
			}
		}
		if p.MustChangePassword && rt.perm != auth.Self {
			writeErr(w, http.StatusForbidden, "password_change_required", "change the one-time password first: POST /api/v1/me/password")
			return
		}
		if !p.Role.Can(rt.perm) {
			writeErr(w, http.StatusForbidden, "forbidden", fmt.Sprintf("role %s may not %s %s (needs %s)", p.Role, r.Method, rt.path, rt.perm))
			return
		}
		if p.Team != "" && rt.scope == teamRefused {
			writeErr(w, http.StatusForbidden, "team_scoped", fmt.Sprintf("%s %s spans teams: a principal limited to team %s may not use it", r.Method, rt.path, p.Team))
			return
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		ctx = audit.WithActor(ctx, audit.Actor{Kind: p.Kind, Name: p.Name(), Role: string(p.Role)})
		rt.h(w, r.WithContext(ctx))
	})
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// principal is the request's principal (set by guard).
func principal(r *http.Request) auth.Principal {
	p, _ := auth.PrincipalFrom(r.Context())
	return p
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	httpjson.Error(w, status, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

func (a *API) getRequest(w http.ResponseWriter, r *http.Request) {
	rec, err := a.opt.Requests.GetRequest(r.Context(), r.PathValue("id"))
	if t := teamOf(r); err == nil && t != "" && rec.Team != t {
		err = store.ErrNotFound // another team's call does not exist for this principal
	}
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
	"limit": true, "cursor": true, "tag": true,
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
		ErrorKind: v.Get("error_kind"), Tag: v.Get("tag"), Cursor: v.Get("cursor"),
	}
	if !forceTeam(w, r, &q.Team) {
		return
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

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/value"
)

// UseCases manages use cases, KPI results and their reports;
// *value.Service is one.
type UseCases interface {
	List(ctx context.Context) ([]value.Stored, error)
	Get(ctx context.Context, name string) (value.Stored, error)
	History(ctx context.Context, name string) ([]value.Stored, error)
	Put(ctx context.Context, uc value.UseCase, ifRevision int, by string) (value.Stored, error)
	NewVersion(ctx context.Context, name, version, note, by string) (value.Stored, error)
	PutKPI(ctx context.Context, useCase, instance, kpi string, raw json.RawMessage, at time.Time, by string) (store.KPIResult, bool, error)
	Report(ctx context.Context, name string, q value.ReportQuery) (value.UseCaseReport, error)
	Compare(ctx context.Context, name, a, b string, from, to time.Time, threshold float64) (value.Comparison, error)
	Portfolio(ctx context.Context, from, to time.Time, groupBy string) (value.Portfolio, error)
}

func (a *API) useCaseError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, value.ErrInvalid):
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		a.priceError(w, what, err)
	}
}

func (a *API) listUseCases(w http.ResponseWriter, r *http.Request) {
	ucs, err := a.opt.UseCases.List(r.Context())
	if err != nil {
		a.useCaseError(w, "list use cases", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		UseCases []value.Stored `json:"use_cases"`
	}{ucs})
}

func (a *API) getUseCase(w http.ResponseWriter, r *http.Request) {
	uc, err := a.opt.UseCases.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		a.useCaseError(w, "read use case", err)
		return
	}
	writeJSON(w, http.StatusOK, uc)
}

func (a *API) useCaseHistory(w http.ResponseWriter, r *http.Request) {
	h, err := a.opt.UseCases.History(r.Context(), r.PathValue("name"))
	if err != nil {
		a.useCaseError(w, "read use case history", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Revisions []value.Stored `json:"revisions"`
	}{h})
}

// putUseCase creates or replaces a definition. If-Match: <revision>
// refuses the change unless that is the latest revision (409).
func (a *API) putUseCase(w http.ResponseWriter, r *http.Request) {
	var uc value.UseCase
	if !decodeBody(w, r, &uc) {
		return
	}
	name := r.PathValue("name")
	if uc.Name == "" {
		uc.Name = name
	}
	if uc.Name != name {
		writeErr(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("name %q differs from the path's %q", uc.Name, name))
		return
	}
	ifRev := 0
	if m := r.Header.Get("If-Match"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 {
			writeErr(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("If-Match %q: want a revision number", m))
			return
		}
		ifRev = n
	}
	if !a.mayChangeUseCase(w, r, name, &uc) {
		return
	}
	got, err := a.opt.UseCases.Put(r.Context(), uc, ifRev, actor(r))
	if err != nil {
		a.useCaseError(w, "store use case", err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

// NewVersionRequest is the body of POST /api/v1/use-cases/{name}/versions.
type NewVersionRequest struct {
	Version string `json:"version"`
	Note    string `json:"note,omitempty"`
}

func (a *API) newUseCaseVersion(w http.ResponseWriter, r *http.Request) {
	var req NewVersionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !a.mayChangeUseCase(w, r, r.PathValue("name"), nil) {
		return
	}
	got, err := a.opt.UseCases.NewVersion(r.Context(), r.PathValue("name"), req.Version, req.Note, actor(r))
	if err != nil {
		a.useCaseError(w, "add use case version", err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

// KPIRequest is the body of PUT .../instances/{instance}/kpis/{kpi}.
type KPIRequest struct {
	Value json.RawMessage `json:"value"`
	At    string          `json:"at,omitempty"`
}

func (a *API) putKPI(w http.ResponseWriter, r *http.Request) {
	var req KPIRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !a.mayChangeUseCase(w, r, r.PathValue("name"), nil) {
		return
	}
	if len(req.Value) == 0 {
		writeErr(w, http.StatusBadRequest, "invalid_request", "value is required")
		return
	}
	var at time.Time
	if req.At != "" {
		var err error
		if at, err = parseTime(req.At); err != nil {
			writeErr(w, http.StatusBadRequest, "invalid_request", "at: "+err.Error())
			return
		}
	}
	res, changed, err := a.opt.UseCases.PutKPI(r.Context(), r.PathValue("name"), r.PathValue("instance"), r.PathValue("kpi"), req.Value, at, actor(r))
	if err != nil {
		a.useCaseError(w, "record KPI result", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		store.KPIResult
		Value   json.Number `json:"value"`
		Changed bool        `json:"changed"`
	}{res, json.Number(value.FormatNanos(res.Nanos)), changed})
}

// rangeParams reads from and to (both required) and checks for unknown
// parameters.
func rangeParams(r *http.Request, allowed ...string) (from, to time.Time, err error) {
	v := r.URL.Query()
	for k, vals := range v {
		if len(vals) > 1 {
			return from, to, fmt.Errorf("parameter %q given %d times", k, len(vals))
		}
		if k != "from" && k != "to" && !containsString(allowed, k) {
			return from, to, fmt.Errorf("unknown parameter %q", k)
		}
	}
	if from, err = parseTime(v.Get("from")); err != nil {
		return from, to, fmt.Errorf("from: %w", err)
	}
	if to, err = parseTime(v.Get("to")); err != nil {
		return from, to, fmt.Errorf("to: %w", err)
	}
	return from, to, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (a *API) useCaseReport(w http.ResponseWriter, r *http.Request) {
	from, to, err := rangeParams(r, "version", "group_by")
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	v := r.URL.Query()
	rep, err := a.opt.UseCases.Report(r.Context(), r.PathValue("name"), value.ReportQuery{From: from, To: to, Version: v.Get("version"), GroupBy: v.Get("group_by")})
	if err != nil {
		a.useCaseError(w, "build report", err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (a *API) compareVersions(w http.ResponseWriter, r *http.Request) {
	from, to, err := rangeParams(r, "a", "b", "threshold")
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	v := r.URL.Query()
	threshold := 0.1
	if s := v.Get("threshold"); s != "" {
		if threshold, err = strconv.ParseFloat(s, 64); err != nil || !(threshold >= 0 && threshold <= 10) {
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("threshold %q: want a relative change between 0 and 10 (0.1 is 10%%)", s))
			return
		}
	}
	c, err := a.opt.UseCases.Compare(r.Context(), r.PathValue("name"), v.Get("a"), v.Get("b"), from, to, threshold)
	if err != nil {
		a.useCaseError(w, "compare versions", err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (a *API) portfolio(w http.ResponseWriter, r *http.Request) {
	from, to, err := rangeParams(r, "group_by")
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
		return
	}
	p, err := a.opt.UseCases.Portfolio(r.Context(), from, to, r.URL.Query().Get("group_by"))
	if err != nil {
		a.useCaseError(w, "build portfolio", err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// mayChangeUseCase checks that the principal may change use case name
// (and, for a definition, that its owners are people in Weir): an owner
// only the use cases they own, and creates only use cases naming them as
// an owner.
func (a *API) mayChangeUseCase(w http.ResponseWriter, r *http.Request, name string, def *value.UseCase) bool {
	ctx := r.Context()
	if def != nil && a.opt.People != nil {
		for _, o := range []struct{ field, name string }{{"business_owner", def.BusinessOwner}, {"technical_owner", def.TechnicalOwner}} {
			if o.name == "" {
				continue
			}
			if _, err := a.opt.People.Person(ctx, o.name); errors.Is(err, store.ErrNotFound) {
				if ps, err := a.opt.People.People(ctx); err == nil && len(ps) == 0 {
					continue // nobody signs in yet: owners are names only
				}
				writeErr(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("%s %q is not a person in Weir: add them first (PUT /api/v1/people/{name})", o.field, o.name))
				return false
			} else if err != nil {
				a.useCaseError(w, "read person", err)
				return false
			}
		}
	}
	p := principal(r)
	if p.Role != auth.Owner {
		return true
	}
	owns := func(uc value.UseCase) bool {
		return p.Person != "" && (uc.BusinessOwner == p.Person || uc.TechnicalOwner == p.Person)
	}
	cur, err := a.opt.UseCases.Get(ctx, name)
	switch {
	case err == nil:
		if !owns(cur.UseCase) {
			writeErr(w, http.StatusForbidden, "forbidden", fmt.Sprintf("%s owns neither side of use case %s (owners: %q and %q)", p.Person, name, cur.BusinessOwner, cur.TechnicalOwner))
			return false
		}
	case errors.Is(err, store.ErrNotFound):
		if def == nil {
			a.useCaseError(w, "read use case", err)
			return false
		}
		if !owns(*def) {
			writeErr(w, http.StatusForbidden, "forbidden", fmt.Sprintf("an owner creates use cases they own: name %s as business_owner or technical_owner", p.Person))
			return false
		}
	default:
		a.useCaseError(w, "read use case", err)
		return false
	}
	return true
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/reconcile"
	"github.com/weirhq/weir/internal/store"
)

// PriceManager manages the price entries kept through the API and
// re-prices stored calls.
type PriceManager interface {
	Entries(ctx context.Context) ([]store.StoredPriceEntry, error)
	History(ctx context.Context, id string) ([]store.StoredPriceEntry, error)
	Put(ctx context.Context, provider string, e pricing.Entry, by string) (store.StoredPriceEntry, error)
	Delete(ctx context.Context, id, by string) (store.StoredPriceEntry, error)
	Reprice(ctx context.Context, opt costing.RepriceOptions) (costing.RepriceResult, error)
	Revisions(ctx context.Context, q store.RevisionQuery) ([]store.CostRevision, error)
}

// CommitmentReporter amortises committed capacity over the calls that used
// it.
type CommitmentReporter interface {
	Amortise(ctx context.Context, q costing.AmortiseQuery) (costing.CommitmentReport, error)
}

// Reconciler compares a provider's usage or billing export with the costs
// Weir recorded.
type Reconciler interface {
	Reconcile(ctx context.Context, vendor string, export io.Reader, from, to time.Time, tolerancePct float64) (reconcile.Report, error)
}

// maxExport bounds the export a reconciliation reads.
const maxExport = 256 << 20

// reconcileCosts answers POST /api/v1/costs/reconcile: the body is the
// provider's export as downloaded (JSON or CSV).
func (a *API) reconcileCosts(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	for k := range v {
		switch k {
		case "provider", "from", "to", "tolerance":
		default:
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown parameter %q (provider, from, to, tolerance)", k))
			return
		}
	}
	var from, to time.Time
	var err error
	if s := v.Get("from"); s != "" {
		if from, err = parseTime(s); err != nil {
			writeErr(w, http.StatusBadRequest, "invalid_query", "from: "+err.Error())
			return
		}
	}
	if s := v.Get("to"); s != "" {
		if to, err = parseTime(s); err != nil {
			writeErr(w, http.StatusBadRequest, "invalid_query", "to: "+err.Error())
			return
		}
	}
	tol := -1.0 // the default
	if s := v.Get("tolerance"); s != "" {
		if tol, err = strconv.ParseFloat(s, 64); err != nil || !(tol >= 0 && tol <= 100) {
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("tolerance: %q is not a percentage between 0 and 100", s))
			return
		}
	}
	body := http.MaxBytesReader(w, r.Body, maxExport)
	rep, err := a.opt.Reconciler.Reconcile(r.Context(), v.Get("provider"), body, from, to, tol)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeErr(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the export is larger than %d bytes", maxExport))
			return
		}
		a.priceError(w, "reconcile costs", err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/plain") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rep.WriteText(w)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// maxChangeBody bounds the JSON bodies of price changes and re-pricing.
const maxChangeBody = 1 << 20

// actor names who made a change until people sign in (the access issue):
// the X-Weir-Actor header, else "api".
// actor names who makes a change: the authenticated principal.
func actor(r *http.Request) string {
	if p, ok := auth.PrincipalFrom(r.Context()); ok {
		return p.Name()
	}
	return "api"
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxChangeBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeErr(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", maxChangeBody))
			return false
		}
		writeErr(w, http.StatusBadRequest, "invalid_request", "malformed JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		writeErr(w, http.StatusBadRequest, "invalid_request", "one JSON object expected")
		return false
	}
	return true
}

func (a *API) priceError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, costing.ErrInvalidPrice):
		writeErr(w, http.StatusBadRequest, "invalid_price", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrInvalidQuery):
		writeErr(w, http.StatusBadRequest, "invalid_query", err.Error())
	case errors.Is(err, store.ErrConflict):
		writeErr(w, http.StatusConflict, "conflict", err.Error())
	default:
		a.log.Error(what, "err", err)
		writeErr(w, http.StatusInternalServerError, "internal", "could not "+what)
	}
}

func (a *API) listCustomPrices(w http.ResponseWriter, r *http.Request) {
	es, err := a.opt.Prices.Entries(r.Context())
	if err != nil {
		a.priceError(w, "list price entries", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Entries []store.StoredPriceEntry `json:"entries"`
	}{es})
}

func (a *API) customPriceHistory(w http.ResponseWriter, r *http.Request) {
	hist, err := a.opt.Prices.History(r.Context(), r.PathValue("id"))
	if err != nil {
		a.priceError(w, "read price entry history", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Versions []store.StoredPriceEntry `json:"versions"`
	}{hist})
}

// PutPriceRequest is the body of PUT /api/v1/prices/custom/{id}.
type PutPriceRequest struct {
	Provider string        `json:"provider"`
	Entry    pricing.Entry `json:"entry"`
}

func (a *API) putCustomPrice(w http.ResponseWriter, r *http.Request) {
	var req PutPriceRequest
	if !decodeBody(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	if req.Entry.ID == "" {
		req.Entry.ID = id
	}
	if req.Entry.ID != id {
		writeErr(w, http.StatusBadRequest, "invalid_price", fmt.Sprintf("entry.id %q differs from the path's %q", req.Entry.ID, id))
		return
	}
	if req.Provider == "" {
		writeErr(w, http.StatusBadRequest, "invalid_price", "provider is required")
		return
	}
	got, err := a.opt.Prices.Put(r.Context(), req.Provider, req.Entry, actor(r))
	if err != nil {
		a.priceError(w, "store price entry", err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

func (a *API) deleteCustomPrice(w http.ResponseWriter, r *http.Request) {
	got, err := a.opt.Prices.Delete(r.Context(), r.PathValue("id"), actor(r))
	if err != nil {
		a.priceError(w, "delete price entry", err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

// RepriceRequest is the body of POST /api/v1/costs/reprice.
type RepriceRequest struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Provider string `json:"provider,omitempty"`
	Model    string `json:"model,omitempty"`
	Reason   string `json:"reason"`
	DryRun   bool   `json:"dry_run,omitempty"`
}

func (a *API) reprice(w http.ResponseWriter, r *http.Request) {
	var req RepriceRequest
	if !decodeBody(w, r, &req) {
		return
	}
	opt := costing.RepriceOptions{Provider: req.Provider, Model: req.Model, Reason: req.Reason, DryRun: req.DryRun, PriceAs: a.opt.PriceAs}
	var err error
	if opt.From, err = parseTime(req.From); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", "from: "+err.Error())
		return
	}
	if opt.To, err = parseTime(req.To); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", "to: "+err.Error())
		return
	}
	res, err := a.opt.Prices.Reprice(r.Context(), opt)
	if err != nil {
		if res.Stored > 0 {
			err = fmt.Errorf("%d revisions of run %s were stored before the error; run again, runs are idempotent: %w", res.Stored, res.RunID, err)
		}
		a.priceError(w, "re-price calls", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) revisions(w http.ResponseWriter, r *http.Request) {
	var q store.RevisionQuery
	for k, vals := range r.URL.Query() {
		switch k {
		case "run_id":
			q.RunID = vals[0]
		case "request_id":
			q.RequestID = vals[0]
		case "limit":
			n, err := strconv.Atoi(vals[0])
			if err != nil {
				writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("limit: %q is not an integer", vals[0]))
				return
			}
			q.Limit = n
		default:
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown parameter %q (run_id, request_id, limit)", k))
			return
		}
	}
	revs, err := a.opt.Prices.Revisions(r.Context(), q)
	if err != nil {
		a.priceError(w, "list cost revisions", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Revisions []store.CostRevision `json:"revisions"`
	}{revs})
}

func (a *API) commitments(w http.ResponseWriter, r *http.Request) {
	var q costing.AmortiseQuery
	v := r.URL.Query()
	for k := range v {
		if k != "from" && k != "to" && k != "group_by" {
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown parameter %q (from, to, group_by)", k))
			return
		}
	}
	var err error
	if q.From, err = parseTime(v.Get("from")); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", "from: "+err.Error())
		return
	}
	if q.To, err = parseTime(v.Get("to")); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_query", "to: "+err.Error())
		return
	}
	q.GroupBy = v.Get("group_by")
	rep, err := a.opt.Commitments.Amortise(r.Context(), q)
	if err != nil {
		a.priceError(w, "amortise commitments", err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/usage"
)

// Quoter prices a call; *pricing.Catalog is one.
type Quoter interface {
	Price(q pricing.Query) (pricing.Cost, error)
}

// QuoteRequest is the body of POST /api/v1/cost/quote.
type QuoteRequest struct {
	Provider    string        `json:"provider"`
	Model       string        `json:"model"`
	Usage       usage.Usage   `json:"usage"`
	At          *time.Time    `json:"at,omitempty"`
	Batch       bool          `json:"batch,omitempty"`
	ServiceTier string        `json:"service_tier,omitempty"`
	Units       pricing.Units `json:"units,omitempty"`
}

// QuoteResponse is its answer: the same figures a recorded call gets.
type QuoteResponse struct {
	CostUSD *pricing.Money `json:"cost_usd"`
	Cost    pricing.Cost   `json:"cost"`
}

// Quote prices req with q: the arithmetic behind every recorded cost, for
// anyone to check. cmd/weir's "cost quote" uses it too.
func Quote(q Quoter, req QuoteRequest) (QuoteResponse, error) {
	if req.Provider == "" || req.Model == "" {
		return QuoteResponse{}, errors.New("provider and model are required")
	}
	query := pricing.Query{
		Provider: req.Provider, Model: req.Model, Usage: req.Usage,
		Batch: req.Batch, ServiceTier: req.ServiceTier, Units: req.Units,
	}
	if req.At != nil {
		query.At = *req.At
	} else {
		query.At = time.Now()
	}
	cost, err := q.Price(query)
	if err != nil {
		return QuoteResponse{}, err
	}
	out := QuoteResponse{Cost: cost}
	if m, ok := cost.Amount(); ok {
		out.CostUSD = &m
	}
	return out, nil
}

func (a *API) quote(w http.ResponseWriter, r *http.Request) {
	var req QuoteRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", "the body must be a JSON object {provider, model, usage, at, batch, service_tier, units}: "+strings.TrimPrefix(err.Error(), "json: "))
		return
	}
	resp, err := Quote(a.opt.Quoter, req)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("cannot price this call: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

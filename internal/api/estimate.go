package api

import (
	"context"
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

// TokenCounter counts a request's prompt tokens; *tokencount.Counter is one.
type TokenCounter interface {
	ChatInput(body []byte) (int, error)
	MessagesInput(body []byte) (int, error)
	EmbeddingsInput(body []byte) (int, error)
}

// DefaultTypicalOutput is the output length assumed for the typical
// estimate when the model has too little history.
const DefaultTypicalOutput = 512

// OutputHistory knows a model's typical output length from recorded calls;
// *costing.OutputHistory is one.
type OutputHistory interface {
	TypicalOutput(ctx context.Context, model string) (tokens, calls int64, ok bool)
}

// EstimateRequest is the body of POST /api/v1/cost/estimate: a call before
// it is made.
type EstimateRequest struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Endpoint is chat.completions (default), messages or embeddings: the
	// protocol of Request.
	Endpoint string          `json:"endpoint,omitempty"`
	Request  json.RawMessage `json:"request"`
	At       *time.Time      `json:"at,omitempty"`
}

// Estimate is the answer: the prompt counted with the o200k tokenizer, and
// the cost with no output, with a typical output, and with the most output
// the request allows.
type Estimate struct {
	InputTokens int64 `json:"input_tokens"`
	// MaxOutputTokens is the request's max_tokens / max_completion_tokens,
	// 0 when it sets none (then CostUSDMax is null: unbounded).
	MaxOutputTokens int64 `json:"max_output_tokens"`
	// TypicalOutputTokens is the model's mean output over its recorded
	// calls of the last 7 days (TypicalFrom "history", with HistoryCalls),
	// or DefaultTypicalOutput ("default") with too little history; capped
	// by MaxOutputTokens.
	TypicalOutputTokens int64          `json:"typical_output_tokens"`
	TypicalFrom         string         `json:"typical_from"`
	HistoryCalls        int64          `json:"history_calls,omitempty"`
	CostUSDMin          *pricing.Money `json:"cost_usd_min"`
	CostUSDTypical      *pricing.Money `json:"cost_usd_typical"`
	CostUSDMax          *pricing.Money `json:"cost_usd_max"`
	CatalogVersion      string         `json:"catalog_version"`
	// Unpriced lists what the catalog has no price for (all costs null).
	Unpriced pricing.UnitSet `json:"unpriced_units,omitempty"`
}

// EstimateCost estimates a call before it is made. hist may be nil.
func EstimateCost(ctx context.Context, q Quoter, tc TokenCounter, hist OutputHistory, req EstimateRequest) (Estimate, error) {
	var est Estimate
	if req.Provider == "" || req.Model == "" || len(req.Request) == 0 {
		return est, errors.New("provider, model and request are required")
	}
	var in int
	var err error
	switch req.Endpoint {
	case "", "chat.completions":
		in, err = tc.ChatInput(req.Request)
	case "messages":
		in, err = tc.MessagesInput(req.Request)
	case "embeddings":
		in, err = tc.EmbeddingsInput(req.Request)
	default:
		return est, fmt.Errorf("endpoint %q: want chat.completions, messages or embeddings", req.Endpoint)
	}
	if err != nil {
		return est, err
	}
	est.InputTokens = int64(in)
	if req.Endpoint != "embeddings" {
		var limits struct {
			MaxTokens           *int64 `json:"max_tokens"`
			MaxCompletionTokens *int64 `json:"max_completion_tokens"`
		}
		if err := json.Unmarshal(req.Request, &limits); err != nil {
			return est, fmt.Errorf("request: %w", err)
		}
		for _, m := range []*int64{limits.MaxCompletionTokens, limits.MaxTokens} {
			if m != nil && *m > 0 {
				est.MaxOutputTokens = *m
				break
			}
		}
		est.TypicalOutputTokens, est.TypicalFrom = DefaultTypicalOutput, "default"
		if hist != nil {
			if n, calls, ok := hist.TypicalOutput(ctx, req.Model); ok {
				est.TypicalOutputTokens, est.TypicalFrom, est.HistoryCalls = n, "history", calls
			}
		}
		if est.MaxOutputTokens > 0 && est.MaxOutputTokens < est.TypicalOutputTokens {
			est.TypicalOutputTokens = est.MaxOutputTokens
		}
	}
	at := time.Now()
	if req.At != nil {
		at = *req.At
	}
	price := func(out int64) (*pricing.Money, error) {
		c, err := q.Price(pricing.Query{Provider: req.Provider, Model: req.Model, At: at, Usage: usage.Usage{InputTokens: est.InputTokens, OutputTokens: out, Estimated: true}})
		if err != nil {
			return nil, err
		}
		est.CatalogVersion, est.Unpriced = c.Version, c.Unpriced
		if m, ok := c.Amount(); ok {
			return &m, nil
		}
		return nil, nil
	}
	if est.CostUSDMin, err = price(0); err != nil {
		return est, err
	}
	if est.CostUSDTypical, err = price(est.TypicalOutputTokens); err != nil {
		return est, err
	}
	if est.MaxOutputTokens > 0 || req.Endpoint == "embeddings" {
		if est.CostUSDMax, err = price(est.MaxOutputTokens); err != nil {
			return est, err
		}
	}
	return est, nil
}

func (a *API) estimate(w http.ResponseWriter, r *http.Request) {
	var req EstimateRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 32<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", "the body must be a JSON object {provider, model, endpoint, request, at}: "+strings.TrimPrefix(err.Error(), "json: "))
		return
	}
	est, err := EstimateCost(r.Context(), a.opt.Quoter, a.opt.Counter, a.opt.History, req)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("cannot estimate this call: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, est)
}

// Package ingest records calls that did not pass through the gateway (a
// vendor SDK called directly, a batch job): POST /api/v1/ingest takes one
// event or a batch, validates each, prices it as the gateway prices its
// calls and stores it as a record.Record. Ingested records have IDs starting
// with "ing_", derived from the event's provider and id, so sending an event
// again stores nothing new. The handler does no authentication: the app
// wraps it. Only the app imports ingest.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// Limits of a request.
const (
	// MaxEvents bounds the events of one batch.
	MaxEvents = 1000
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes = 8 << 20
)

// Store keeps ingested records; *sqlite.Store is one.
type Store interface {
	store.Writer
	// GetRequest returns the record with the given ID, or an error wrapping
	// store.ErrNotFound.
	GetRequest(ctx context.Context, id string) (record.Record, error)
}

// Pricer prices a record as the catalog provider priceAs;
// *costing.Engine is one.
type Pricer interface {
	Cost(rec *record.Record, priceAs string) (pricing.Cost, error)
}

// Options configure an Ingester.
type Options struct {
	// Store keeps the records. Required.
	Store Store
	// Pricer prices them; nil leaves every record unpriced.
	Pricer Pricer
	// PriceAs maps a configured provider name to its catalog provider (""
	// when its calls are not priced). A provider it does not know but that
	// is a price-catalog vendor is priced as itself. nil maps nothing.
	PriceAs func(provider string) string
	// Providers are the configured provider names. An event's provider
	// must be one of them, a name PriceAs maps, or a price-catalog vendor.
	Providers []string
	// Now is the clock that refuses events from the future; nil is
	// time.Now.
	Now func() time.Time
	// MaxLoggedBodyBytes bounds the request and response text kept in each
	// record, as gateway.max_logged_body_bytes does; 0 keeps none.
	MaxLoggedBodyBytes int
	// Observe, when set, is called with each record stored (not with
	// duplicates), after it is stored.
	Observe func(*record.Record)
	Log     *slog.Logger
}

// Ingester serves POST /api/v1/ingest. It is safe for concurrent use.
type Ingester struct {
	opt       Options
	log       *slog.Logger
	providers map[string]bool
	// mu makes checking which records exist and writing the new ones one
	// step, so that concurrent requests carrying the same event report it
	// stored once.
	mu sync.Mutex
}

// New returns an Ingester.
func New(opt Options) *Ingester {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	i := &Ingester{opt: opt, log: opt.Log, providers: map[string]bool{}}
	for _, p := range opt.Providers {
		i.providers[p] = true
	}
	return i
}

// resolve returns the catalog provider of an event's provider and whether
// the provider is one Weir knows.
func (i *Ingester) resolve(provider string) (priceAs string, known bool) {
	if i.opt.PriceAs != nil {
		priceAs = i.opt.PriceAs(provider)
	}
	switch {
	case i.providers[provider]:
		if i.opt.PriceAs == nil && isVendor(provider) {
			priceAs = provider
		}
		return priceAs, true
	case priceAs != "":
		return priceAs, true
	case isVendor(provider):
		return provider, true
	}
	return "", false
}

// Statuses of a Result.
const (
	StatusStored    = "stored"
	StatusDuplicate = "duplicate"
	StatusRejected  = "rejected"
)

// Result is what became of one event.
type Result struct {
	// Index is the event's position in the body (0 for a single event).
	Index int `json:"index"`
	// ID is the record's ID; absent when the event was rejected.
	ID     string `json:"id,omitempty"`
	Status string `json:"status"`
	// Error says why the event was rejected.
	Error string `json:"error,omitempty"`
}

// Response is the answer to POST /api/v1/ingest.
type Response struct {
	Results    []Result `json:"results"`
	Stored     int      `json:"stored"`
	Duplicates int      `json:"duplicates"`
	Rejected   int      `json:"rejected"`
}

// item is one event of a request: valid, or why not.
type item struct {
	ev  event
	err error
}

// bodyError is a request whose body as a whole cannot be taken.
type bodyError string

func (e bodyError) Error() string { return string(e) }

// parse splits a body into its events, validated: one event object, or
// {"events": [...]}. single says the body was one event. An error is a
// body that cannot be taken at all.
func (i *Ingester) parse(body []byte, now time.Time) (items []item, single bool, err error) {
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
		return nil, false, bodyError(`empty body: send one event or {"events": [...]}`)
	case !json.Valid(body):
		var v any
		err := json.Unmarshal(body, &v)
		return nil, false, bodyError("malformed JSON body: " + trimJSON(err))
	case body[0] != '{':
		return nil, false, bodyError(`the body must be a JSON object: one event or {"events": [...]}`)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, false, bodyError("malformed JSON body: " + trimJSON(err))
	}
	raws := []json.RawMessage{body}
	if evs, ok := top["events"]; ok {
		for k := range top {
			if k != "events" {
				return nil, false, bodyError(fmt.Sprintf(`unknown field %q: a batch is {"events": [...]} alone`, k))
			}
		}
		raws = nil
		if err := json.Unmarshal(evs, &raws); err != nil || raws == nil {
			return nil, false, bodyError("events: must be an array of event objects")
		}
		switch {
		case len(raws) == 0:
			return nil, false, bodyError("events: empty, send at least one event")
		case len(raws) > MaxEvents:
			return nil, false, bodyError(fmt.Sprintf("events: %d events, at most %d per request", len(raws), MaxEvents))
		}
	} else {
		single = true
	}
	items = make([]item, len(raws))
	for k, raw := range raws {
		ev, err := decodeEvent(raw)
		if err != nil {
			items[k].err = err
			continue
		}
		items[k].ev, items[k].err = i.build(&ev, now)
	}
	return items, single, nil
}

func trimJSON(err error) string {
	if err == nil {
		return "invalid JSON"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// commit stores the valid events that are not stored yet and reports what
// became of each.
func (i *Ingester) commit(ctx context.Context, items []item) (Response, error) {
	resp, fresh, err := i.write(ctx, items)
	if err != nil {
		return Response{}, err
	}
	if i.opt.Observe != nil {
		for k := range fresh {
			i.opt.Observe(&fresh[k])
		}
	}
	return resp, nil
}

// write is commit's critical section: it looks up which records exist and
// writes the others, returning them.
func (i *Ingester) write(ctx context.Context, items []item) (Response, []record.Record, error) {
	resp := Response{Results: make([]Result, len(items))}
	i.mu.Lock()
	defer i.mu.Unlock()
	seen := make(map[string]bool, len(items))
	var fresh []record.Record
	var freshAt []int
	for k := range items {
		it := &items[k]
		res := &resp.Results[k]
		res.Index = k
		if it.err != nil {
			res.Status, res.Error = StatusRejected, it.err.Error()
			resp.Rejected++
			continue
		}
		rec := &it.ev.rec
		res.ID = rec.ID
		if seen[rec.ID] {
			res.Status = StatusDuplicate
			resp.Duplicates++
			continue
		}
		seen[rec.ID] = true
		_, err := i.opt.Store.GetRequest(ctx, rec.ID)
		switch {
		case err == nil:
			res.Status = StatusDuplicate
			resp.Duplicates++
			continue
		case !errors.Is(err, store.ErrNotFound):
			return Response{}, nil, fmt.Errorf("look up %s: %w", rec.ID, err)
		}
		i.price(&it.ev)
		fresh = append(fresh, *rec)
		freshAt = append(freshAt, k)
	}
	if err := i.opt.Store.WriteRecords(ctx, fresh); err != nil {
		return Response{}, nil, err
	}
	for _, k := range freshAt {
		resp.Results[k].Status = StatusStored
	}
	resp.Stored = len(fresh)
	return resp, fresh, nil
}

// price sets the record's cost as the gateway does for the calls it
// relays.
func (i *Ingester) price(ev *event) {
	if i.opt.Pricer == nil || !ev.price {
		return
	}
	rec := &ev.rec
	cost, err := i.opt.Pricer.Cost(rec, ev.priceAs)
	if err != nil {
		i.log.Warn("price ingested call", "id", rec.ID, "provider", ev.priceAs, "model", rec.Model, "err", err)
		return
	}
	rec.Cost = &cost
	if m, ok := cost.Amount(); ok {
		rec.CostUSD = &m
	}
}

// ServeHTTP answers POST /api/v1/ingest.
func (i *Ingester) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErr(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s %s is not supported: use POST", r.Method, r.URL.Path))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeErr(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes: send at most %d events per request", MaxBodyBytes, MaxEvents))
			return
		}
		writeErr(w, http.StatusBadRequest, "invalid_request", "could not read the body: "+err.Error())
		return
	}
	items, single, err := i.parse(body, i.opt.Now())
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if single && items[0].err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", items[0].err.Error())
		return
	}
	resp, err := i.commit(r.Context(), items)
	if err != nil {
		i.log.Error("ingest", "events", len(items), "err", err)
		writeErr(w, http.StatusInternalServerError, "internal", "could not store the events")
		return
	}
	i.log.Debug("ingest", "events", len(items), "stored", resp.Stored, "duplicates", resp.Duplicates, "rejected", resp.Rejected)
	writeJSON(w, http.StatusOK, resp)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	httpjson.Error(w, status, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

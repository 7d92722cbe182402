package ingest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// FuzzIngest feeds arbitrary bodies to the parser and to the handler with a
// real store: nothing panics, every accepted event is a record the store
// takes, parsing is deterministic, and the handler never fails with 500.
func FuzzIngest(f *testing.F) {
	f.Add(ev(nil))
	f.Add(ev(map[string]any{"stream": true, "ttft_ms": 1, "ttfct_ms": 2, "e2e_ms": 3, "tags": []string{"a"}, "properties": map[string]int{"a": 1}}))
	f.Add(ev(map[string]any{"usage": nil, "openai_usage": map[string]any{"prompt_tokens": 10, "prompt_tokens_details": map[string]int{"cached_tokens": 4}}}))
	f.Add(ev(map[string]any{"usage": nil, "anthropic_usage": map[string]any{"input_tokens": 1, "cache_creation": map[string]int{"ephemeral_1h_input_tokens": 3}}}))
	f.Add(ev(map[string]any{"status": 503, "usage": nil, "request": "é", "response": []int{1}}))
	f.Add(ev(map[string]any{"received_at": "1677-09-21T00:12:43.145224192Z"}))
	f.Add(batchBody([]string{ev(nil), `{"id": 1}`, `null`, ev(map[string]any{"provider": "local"})}))
	f.Add(`{"events": []}`)
	f.Add(`{"id": "\u0000", "received_at": "2026-01-01T00:00:00+25:00"}`)
	f.Add(`[]`)

	fx := newFixture(f, func(o *Options) { o.MaxLoggedBodyBytes, o.Observe = 64, nil })
	f.Fuzz(func(t *testing.T, body string) {
		items, single, err := fx.ing.parse([]byte(body), now)
		if err != nil {
			if items != nil {
				t.Fatalf("items with a body error: %v", err)
			}
		} else {
			if len(items) == 0 || len(items) > MaxEvents || single && len(items) != 1 {
				t.Fatalf("%d items (single %v)", len(items), single)
			}
			again, _, _ := fx.ing.parse([]byte(body), now)
			for k := range items {
				it := &items[k]
				if it.err != nil {
					if it.err.Error() == "" || again[k].err == nil || again[k].err.Error() != it.err.Error() {
						t.Fatalf("event %d: reasons %v, then %v", k, it.err, again[k].err)
					}
					continue
				}
				rec := &it.ev.rec
				if err := store.CheckRecord(rec); err != nil {
					t.Fatalf("event %d accepted but the store refuses it: %v", k, err)
				}
				if rec.ID != RecordID(rec.Provider, rec.ProviderRequestID) {
					t.Fatalf("event %d: id %s, want %s", k, rec.ID, RecordID(rec.Provider, rec.ProviderRequestID))
				}
				if len(rec.Request) > 64 || len(rec.Response) > 64 {
					t.Fatalf("event %d: bodies of %d and %d bytes, limit 64", k, len(rec.Request), len(rec.Response))
				}
				if rec.TTFTMs != nil && *rec.TTFTMs > rec.E2EMs || rec.E2EMs < 0 || rec.Usage.InputTokens < 0 {
					t.Fatalf("event %d: impossible record %+v", k, rec)
				}
				if d := cmp.Diff(*rec, again[k].ev.rec); d != "" {
					t.Fatalf("event %d parsed twice differs:\n%s", k, d)
				}
				// Validation applies the catalog's rules: a valid usage
				// prices, unless its cost overflows.
				if _, err := fx.eng.Cost(rec, it.ev.priceAs); err != nil && !errors.Is(err, pricing.ErrOverflow) {
					t.Fatalf("event %d: usage %+v: %v", k, rec.Usage, err)
				}
				fx.ing.price(&it.ev)
				if _, err := json.Marshal(rec); err != nil {
					t.Fatalf("event %d: %v", k, err)
				}
			}
		}

		w := httptest.NewRecorder()
		fx.ing.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/ingest", strings.NewReader(body)))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

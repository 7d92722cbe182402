package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
	"github.com/weirhq/weir/internal/usage"
)

var (
	_ Store  = (*sqlite.Store)(nil)
	_ Pricer = (*costing.Engine)(nil)
)

// now is the injected clock of every test.
var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	ing   *Ingester
	store *sqlite.Store
	eng   *costing.Engine
	mu    sync.Mutex
	seen  []string // IDs passed to Observe
}

func newFixture(t testing.TB, mod func(*Options)) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, eng: costing.NewEngine(cat, nil, nil)}
	opt := Options{
		Store:  st,
		Pricer: f.eng,
		// As app.PriceAsOf: the configured providers and their catalog
		// provider; "local" is self-hosted, unpriced.
		PriceAs:            func(p string) string { return map[string]string{"oai-eu": "azure", "claude": "anthropic"}[p] },
		Providers:          []string{"oai-eu", "claude", "local"},
		Now:                func() time.Time { return now },
		MaxLoggedBodyBytes: 1 << 20,
		Observe: func(rec *record.Record) {
			f.mu.Lock()
			f.seen = append(f.seen, rec.ID)
			f.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&opt)
	}
	f.ing = New(opt)
	return f
}

// post sends body and decodes the answer into a Response or, for an error
// status, returns the error message.
func (f *fixture) post(t testing.TB, body string) (int, Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	f.ing.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/ingest", strings.NewReader(body)))
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var resp Response
	if w.Code != http.StatusOK {
		var e httpjson.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("status %d with body %s: not the error shape", w.Code, w.Body)
		}
		return w.Code, resp, e.Error.Code + ": " + e.Error.Message
	}
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return w.Code, resp, ""
}

func (f *fixture) get(t testing.TB, id string) record.Record {
	t.Helper()
	rec, err := f.store.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// all returns every stored record, bodies included, by ID.
func (f *fixture) all(t testing.TB) map[string]record.Record {
	t.Helper()
	page, err := f.store.ListRequests(context.Background(), store.RequestQuery{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]record.Record{}
	for _, r := range page.Requests {
		out[r.ID] = f.get(t, r.ID)
	}
	return out
}

// ev returns a valid event as a JSON object, with fields overridden (a nil
// value deletes the field).
func ev(over map[string]any) string {
	m := map[string]any{
		"id":          "chatcmpl-1",
		"received_at": "2026-11-01T11:00:00Z",
		"provider":    "openai",
		"model":       "gpt-4o-mini",
		"usage":       map[string]any{"input_tokens": 1000, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 500, "reasoning_tokens": 0},
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestSingleEvent(t *testing.T) {
	f := newFixture(t, nil)
	body := `{
		"id": "chatcmpl-abc", "received_at": "2026-11-01T13:00:00+02:00", "provider": "openai",
		"model": "gpt-4o-mini", "response_model": "gpt-4o-mini-2024-07-18", "stream": true,
		"finish_reason": "stop", "service_tier": "default",
		"openai_usage": {"prompt_tokens": 1200, "completion_tokens": 201, "total_tokens": 1401,
			"prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 0}},
		"ttft_ms": 250, "ttfct_ms": 250, "e2e_ms": 2250,
		"use_case": " support-triage ", "user": "u_42", "tags": ["batch", " nightly "], "properties": {"region": "eu"},
		"request": {"model": "gpt-4o-mini", "messages": []}, "response": "Hello"
	}`
	code, resp, msg := f.post(t, body)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, msg)
	}
	id := RecordID("openai", "chatcmpl-abc")
	want := Response{Results: []Result{{Index: 0, ID: id, Status: StatusStored}}, Stored: 1}
	if d := cmp.Diff(want, resp); d != "" {
		t.Fatalf("response (-want +got):\n%s", d)
	}
	got := f.get(t, id)
	if got.Cost == nil || got.CostUSD == nil {
		t.Fatalf("not priced: cost %+v", got.Cost)
	}
	got.Cost, got.CostUSD = nil, nil // TestPricing checks them
	wantRec := record.Record{
		ID: id, ReceivedAt: time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC), Endpoint: "chat.completions",
		Provider: "openai", RequestedModel: "gpt-4o-mini", Model: "gpt-4o-mini", ResponseModel: "gpt-4o-mini-2024-07-18",
		ProviderRequestID: "chatcmpl-abc", Status: 200, FinishReason: "stop", ServiceTier: "default", Stream: true,
		TTFTMs: ptr(250), TTFCTMs: ptr(250), TPOTMs: ptr(10), OTPS: ptr(100.5), E2EMs: 2250, UpstreamMs: 2250,
		Usage: usage.Usage{InputTokens: 1200, CacheReadTokens: 1024, OutputTokens: 201},
		Attribution: record.Attribution{
			UseCase: "support-triage", User: "u_42", Tags: []string{"batch", "nightly"},
			Properties: json.RawMessage(`{"region":"eu"}`),
		},
		Attempts: []record.Attempt{},
		Request:  `{"model": "gpt-4o-mini", "messages": []}`,
		Response: "Hello",
	}
	if d := cmp.Diff(wantRec, got); d != "" {
		t.Errorf("record (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(id, IDPrefix) || len(id) != len(IDPrefix)+26 {
		t.Errorf("id %q: want %s and 26 characters", id, IDPrefix)
	}
	if !slices.Equal(f.seen, []string{id}) {
		t.Errorf("observed %v, want [%s]", f.seen, id)
	}
}

func TestValidation(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name string
		body string
		want string // part of the reason
	}{
		{"no id", ev(map[string]any{"id": nil}), "id is required"},
		{"empty id", ev(map[string]any{"id": ""}), "id is required"},
		{"long id", ev(map[string]any{"id": strings.Repeat("x", 257)}), "id: 257 bytes, at most 256"},
		{"control character in id", ev(map[string]any{"id": "a\nb"}), "id: contains a control character"},
		{"spaces around model", ev(map[string]any{"model": " gpt-4o "}), `model: " gpt-4o " has leading or trailing spaces`},
		{"no received_at", ev(map[string]any{"received_at": nil}), "received_at is required"},
		{"bad received_at", ev(map[string]any{"received_at": "yesterday"}), `received_at: "yesterday" is not an RFC 3339 time`},
		{"received_at without zone", ev(map[string]any{"received_at": "2026-11-01T11:00:00"}), "is not an RFC 3339 time"},
		{"received_at a number", ev(map[string]any{"received_at": 1767225600}), "received_at: a JSON number where a string is expected"},
		{"future", ev(map[string]any{"received_at": "2026-11-01T12:06:00Z"}), "received_at: 2026-11-01T12:06:00Z is 6m0s in the future, more than the 5m0s allowed"},
		{"before the store's range", ev(map[string]any{"received_at": "1600-01-01T00:00:00Z"}), "received_at: 1600-01-01T00:00:00Z is before 1677-09-21"},
		{"no provider", ev(map[string]any{"provider": nil}), "provider is required"},
		{"unknown provider", ev(map[string]any{"provider": "acme"}), `provider: "acme" is neither a configured provider nor a price-catalog vendor (openai, anthropic,`},
		{"no model", ev(map[string]any{"model": nil}), "model is required"},
		{"bad endpoint", ev(map[string]any{"endpoint": "completions"}), `endpoint: "completions" is not chat.completions, messages or embeddings`},
		{"status 0", ev(map[string]any{"status": 0}), "status: 0 is not an HTTP status (100 to 599)"},
		{"status 600", ev(map[string]any{"status": 600}), "status: 600 is not an HTTP status"},
		{"status a string", ev(map[string]any{"status": "200"}), "status: a JSON string where an integer is expected"},
		{"status fractional", ev(map[string]any{"status": 200.5}), "status: a JSON number 200.5 where an integer is expected"},
		{"bad error_kind", ev(map[string]any{"status": 500, "error_kind": "oops"}), `error_kind: "oops" is not one of internal, invalid_request,`},
		{"long error_message", ev(map[string]any{"status": 500, "error_message": strings.Repeat("e", 5000)}), "error_message: 5000 bytes, at most 4096"},
		{"no usage", ev(map[string]any{"usage": nil}), "usage is required for a successful call: send usage, openai_usage or anthropic_usage"},
		{"null usage", ev(map[string]any{"usage": json.RawMessage("null")}), "usage is required for a successful call"},
		{"two usages", ev(map[string]any{"openai_usage": map[string]any{"prompt_tokens": 1}}), "send one of usage, openai_usage and anthropic_usage, not usage and openai_usage"},
		{"unknown usage field", ev(map[string]any{"usage": map[string]any{"prompt_tokens": 5}}), `malformed event: unknown field "prompt_tokens" (usage takes Weir's taxonomy; send the provider's own usage object as openai_usage)`},
		{"negative usage", ev(map[string]any{"usage": map[string]any{"input_tokens": -1}}), "usage: input_tokens is negative (-1)"},
		{"huge usage", ev(map[string]any{"usage": map[string]any{"output_tokens": int64(2_000_000_000_000)}}), "usage: output_tokens is 2000000000000, at most 1000000000000"},
		{"cache larger than input", ev(map[string]any{"usage": map[string]any{"input_tokens": 10, "cache_read_tokens": 8, "cache_write_tokens": 8}}), "usage: cache_read_tokens + cache_write_tokens + input_audio_tokens + input_image_tokens (16) exceed input_tokens (10)"},
		{"1h writes larger than writes", ev(map[string]any{"usage": map[string]any{"input_tokens": 10, "cache_write_tokens": 2, "cache_write_1h_tokens": 3}}), "usage: cache_write_1h_tokens (3) exceed cache_write_tokens (2)"},
		{"reasoning larger than output", ev(map[string]any{"usage": map[string]any{"output_tokens": 10, "reasoning_tokens": 11}}), "usage: reasoning_tokens + output_audio_tokens + output_image_tokens (11) exceed output_tokens (10)"},
		{"openai_usage not an object", ev(map[string]any{"usage": nil, "openai_usage": []int{1}}), "openai_usage: must be the provider's usage object"},
		{"openai_usage bad type", ev(map[string]any{"usage": nil, "openai_usage": map[string]any{"prompt_tokens": "9"}}), "openai_usage: prompt_tokens: a JSON string where an integer is expected"},
		{"openai_usage impossible", ev(map[string]any{"usage": nil, "openai_usage": map[string]any{"prompt_tokens": 10, "prompt_tokens_details": map[string]any{"cached_tokens": 20}}}), "openai_usage: cache_read_tokens + "},
		{"anthropic_usage negative", ev(map[string]any{"usage": nil, "anthropic_usage": map[string]any{"input_tokens": 10, "output_tokens": -2}}), "anthropic_usage: output_tokens is negative (-2)"},
		{"negative e2e", ev(map[string]any{"e2e_ms": -1}), "e2e_ms: -1, must not be negative"},
		{"ttft without stream", ev(map[string]any{"ttft_ms": 10, "e2e_ms": 20}), "ttft_ms: applies to streams only (stream is false)"},
		{"ttft without e2e", ev(map[string]any{"stream": true, "ttft_ms": 10}), "e2e_ms is required with ttft_ms and ttfct_ms"},
		{"ttfct without ttft", ev(map[string]any{"stream": true, "ttfct_ms": 10, "e2e_ms": 20}), "ttfct_ms needs ttft_ms"},
		{"ttft after e2e", ev(map[string]any{"stream": true, "ttft_ms": 30, "e2e_ms": 20}), "ttft_ms (30) is after e2e_ms (20)"},
		{"ttft after ttfct", ev(map[string]any{"stream": true, "ttft_ms": 15, "ttfct_ms": 10, "e2e_ms": 20}), "ttft_ms (15) is after ttfct_ms (10)"},
		{"ttfct after e2e", ev(map[string]any{"stream": true, "ttft_ms": 5, "ttfct_ms": 25, "e2e_ms": 20}), "ttfct_ms (25) is after e2e_ms (20)"},
		{"long use_case", ev(map[string]any{"use_case": strings.Repeat("u", 300)}), "use_case: 300 bytes, at most 256"},
		{"control character in team", ev(map[string]any{"team": "a\tb"}), "team: contains a control character"},
		{"too many tags", ev(map[string]any{"tags": slices.Repeat([]string{"t"}, 33)}), "tags: 33 tags, at most 32"},
		{"empty tag", ev(map[string]any{"tags": []string{"a", " "}}), "tags[1]: empty"},
		{"comma in tag", ev(map[string]any{"tags": []string{"a,b"}}), "tags[0]: contains a comma"},
		{"long tag", ev(map[string]any{"tags": []string{strings.Repeat("t", 65)}}), "tags[0]: 65 bytes, at most 64"},
		{"properties not an object", ev(map[string]any{"properties": []int{1}}), `properties: must be a JSON object such as {"region":"eu"}`},
		{"properties too large", ev(map[string]any{"properties": map[string]string{"k": strings.Repeat("v", 9000)}}), "properties: 9008 bytes, at most 8192"},
		{"unknown field", ev(map[string]any{"modle": "x"}), `malformed event: unknown field "modle"`},
		{"no_log a string", ev(map[string]any{"no_log": "yes"}), "no_log: a JSON string where true or false is expected"},
		{"several problems", ev(map[string]any{"id": nil, "model": nil}), "id is required; model is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, msg := f.post(t, c.body)
			if code != http.StatusBadRequest || !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, "invalid_request: ") {
				t.Errorf("got %d %q, want 400 invalid_request containing %q", code, msg, c.want)
			}
		})
	}
	if got := f.all(t); len(got) != 0 {
		t.Errorf("%d records stored from rejected events", len(got))
	}
}

func TestValidEdgeCases(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name  string
		body  string
		check func(t *testing.T, rec record.Record)
	}{
		{"five minutes ahead is accepted", ev(map[string]any{"id": "a", "received_at": "2026-11-01T12:05:00Z"}), nil},
		{"very old is accepted", ev(map[string]any{"id": "b", "received_at": "1999-12-31T23:59:59.123456789Z"}), func(t *testing.T, rec record.Record) {
			if want := time.Date(1999, 12, 31, 23, 59, 59, 123456789, time.UTC); !rec.ReceivedAt.Equal(want) {
				t.Errorf("received_at %v, want %v", rec.ReceivedAt, want)
			}
		}},
		{"failed call without usage", ev(map[string]any{"id": "c", "status": 429, "usage": nil, "error_message": "slow down"}), func(t *testing.T, rec record.Record) {
			if rec.Status != 429 || rec.ErrorKind != "rate_limited" || rec.ErrorMessage != "slow down" || rec.Cost != nil || rec.CostUSD != nil {
				t.Errorf("status %d, error_kind %q, message %q, cost %+v: want 429 rate_limited, unpriced", rec.Status, rec.ErrorKind, rec.ErrorMessage, rec.Cost)
			}
		}},
		{"failed call with usage is priced", ev(map[string]any{"id": "d", "status": 500, "error_kind": "upstream_error"}), func(t *testing.T, rec record.Record) {
			if rec.ErrorKind != "upstream_error" || rec.CostUSD == nil {
				t.Errorf("error_kind %q, cost_usd %v: want upstream_error, priced", rec.ErrorKind, rec.CostUSD)
			}
		}},
		{"broken stream keeps 200", ev(map[string]any{"id": "e", "stream": true, "error_kind": "client_closed"}), func(t *testing.T, rec record.Record) {
			if rec.Status != 200 || rec.ErrorKind != "client_closed" {
				t.Errorf("status %d error_kind %q", rec.Status, rec.ErrorKind)
			}
		}},
		{"empty optional strings are absent", ev(map[string]any{"id": "f", "use_case": "", "response_model": "", "endpoint": "", "tags": []string{}, "properties": nil}), func(t *testing.T, rec record.Record) {
			if rec.UseCase != "" || rec.Endpoint != "chat.completions" || rec.Tags != nil || rec.Properties != nil {
				t.Errorf("use_case %q endpoint %q tags %v properties %s", rec.UseCase, rec.Endpoint, rec.Tags, rec.Properties)
			}
		}},
		{"embeddings with zero output", ev(map[string]any{"id": "g", "endpoint": "embeddings", "model": "text-embedding-3-small", "e2e_ms": 80, "openai_usage": map[string]any{"prompt_tokens": 8, "total_tokens": 8}, "usage": nil}), func(t *testing.T, rec record.Record) {
			if rec.Endpoint != "embeddings" || rec.Usage.InputTokens != 8 || rec.OTPS != nil || rec.E2EMs != 80 || rec.UpstreamMs != 80 || rec.OverheadMs != 0 {
				t.Errorf("endpoint %q usage %+v otps %v e2e %v upstream %v", rec.Endpoint, rec.Usage, rec.OTPS, rec.E2EMs, rec.UpstreamMs)
			}
		}},
		{"non-stream throughput", ev(map[string]any{"id": "h", "e2e_ms": 2000}), func(t *testing.T, rec record.Record) {
			if rec.OTPS == nil || *rec.OTPS != 250 || rec.TPOTMs != nil || rec.TTFTMs != nil {
				t.Errorf("otps %v tpot %v ttft %v: want 250 (500 tokens in 2 s)", rec.OTPS, rec.TPOTMs, rec.TTFTMs)
			}
		}},
		{"stream with reasoning first", ev(map[string]any{"id": "i", "stream": true, "ttft_ms": 100, "ttfct_ms": 900, "e2e_ms": 1100}), func(t *testing.T, rec record.Record) {
			if *rec.TTFTMs != 100 || *rec.TTFCTMs != 900 || *rec.TPOTMs != 1000.0/499 || *rec.OTPS != 500 {
				t.Errorf("ttft %v ttfct %v tpot %v otps %v", *rec.TTFTMs, *rec.TTFCTMs, *rec.TPOTMs, *rec.OTPS)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, resp, msg := f.post(t, c.body)
			if code != http.StatusOK || resp.Stored != 1 {
				t.Fatalf("got %d %q %+v, want stored", code, msg, resp)
			}
			rec := f.get(t, resp.Results[0].ID)
			if err := store.CheckRecord(&rec); err != nil {
				t.Error(err)
			}
			if c.check != nil {
				c.check(t, rec)
			}
		})
	}
}

func TestRawUsage(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name, field, raw string
		want             usage.Usage
	}{
		{"openai cached and reasoning", "openai_usage",
			`{"prompt_tokens": 2000, "completion_tokens": 800, "total_tokens": 2800,
			  "prompt_tokens_details": {"cached_tokens": 1536, "audio_tokens": 0},
			  "completion_tokens_details": {"reasoning_tokens": 640, "audio_tokens": 0, "accepted_prediction_tokens": 0}}`,
			usage.Usage{InputTokens: 2000, CacheReadTokens: 1536, OutputTokens: 800, ReasoningTokens: 640}},
		{"openai audio", "openai_usage",
			`{"prompt_tokens": 300, "completion_tokens": 200, "prompt_tokens_details": {"audio_tokens": 100}, "completion_tokens_details": {"audio_tokens": 150}}`,
			usage.Usage{InputTokens: 300, InputAudioTokens: 100, OutputTokens: 200, OutputAudioTokens: 150}},
		{"deepseek cache hits", "openai_usage",
			`{"prompt_tokens": 900, "completion_tokens": 10, "prompt_cache_hit_tokens": 512, "prompt_cache_miss_tokens": 388}`,
			usage.Usage{InputTokens: 900, CacheReadTokens: 512, OutputTokens: 10}},
		{"anthropic cache reads and writes", "anthropic_usage",
			`{"input_tokens": 50, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 10000, "output_tokens": 400,
			  "cache_creation": {"ephemeral_5m_input_tokens": 1500, "ephemeral_1h_input_tokens": 500}, "service_tier": "standard"}`,
			usage.Usage{InputTokens: 12050, CacheReadTokens: 10000, CacheWriteTokens: 2000, CacheWrite1hTokens: 500, OutputTokens: 400}},
		{"anthropic without cache", "anthropic_usage", `{"input_tokens": 12, "output_tokens": 3}`,
			usage.Usage{InputTokens: 12, OutputTokens: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			provider, model := "openai", "o3-mini"
			if c.field == "anthropic_usage" {
				provider, model = "anthropic", "claude-sonnet-4-5"
			}
			body := ev(map[string]any{"id": c.name, "provider": provider, "model": model, "usage": nil, c.field: json.RawMessage(c.raw)})
			code, resp, msg := f.post(t, body)
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, msg)
			}
			rec := f.get(t, resp.Results[0].ID)
			if d := cmp.Diff(c.want, rec.Usage); d != "" {
				t.Errorf("usage (-want +got):\n%s", d)
			}
		})
	}
}

// TestPricing checks that an ingested call costs what the costing engine
// says, priced as the catalog provider PriceAs resolves.
func TestPricing(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name, provider, model, priceAs string
		over                           map[string]any
		priced                         bool
	}{
		{"vendor as itself", "openai", "gpt-4o", "openai", nil, true},
		{"dated response model", "openai", "gpt-4o-mini", "openai", map[string]any{"response_model": "gpt-4o-mini-2024-07-18"}, true},
		{"flex tier", "openai", "gpt-4o", "openai", map[string]any{"service_tier": "flex"}, true},
		{"batch", "anthropic", "claude-sonnet-4-5", "anthropic", map[string]any{"service_tier": "batch"}, true},
		{"configured provider priced as its vendor", "claude", "claude-sonnet-4-5", "anthropic",
			map[string]any{"usage": nil, "anthropic_usage": map[string]any{"input_tokens": 10, "cache_read_input_tokens": 4000, "cache_creation_input_tokens": 1000, "output_tokens": 700}}, true},
		{"configured azure deployment", "oai-eu", "gpt-4o", "azure", nil, true},
		{"self-hosted provider is unpriced", "local", "llama-3.1-8b-instruct", "", nil, false},
		{"unknown model is unpriced", "openai", "gpt-nonexistent", "openai", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			over := map[string]any{"id": c.name, "provider": c.provider, "model": c.model}
			for k, v := range c.over {
				over[k] = v
			}
			code, resp, msg := f.post(t, ev(over))
			if code != http.StatusOK {
				t.Fatalf("%d %s", code, msg)
			}
			got := f.get(t, resp.Results[0].ID)
			bare := got
			bare.Cost, bare.CostUSD = nil, nil
			want, err := f.eng.Cost(&bare, c.priceAs)
			if err != nil {
				t.Fatal(err)
			}
			if got.Cost == nil {
				t.Fatal("no cost recorded")
			}
			if d := cmp.Diff(want, *got.Cost); d != "" {
				t.Errorf("cost (-engine +recorded):\n%s", d)
			}
			amount, ok := want.Amount()
			switch {
			case ok != c.priced:
				t.Errorf("priced %v, want %v (cost %+v)", ok, c.priced, want)
			case ok && (got.CostUSD == nil || *got.CostUSD != amount):
				t.Errorf("cost_usd %v, want %v", got.CostUSD, amount)
			case !ok && got.CostUSD != nil:
				t.Errorf("cost_usd %v for an unpriced call, want null", *got.CostUSD)
			}
		})
	}
}

func TestNoPricer(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Pricer = nil })
	_, resp, _ := f.post(t, ev(nil))
	if rec := f.get(t, resp.Results[0].ID); rec.Cost != nil || rec.CostUSD != nil {
		t.Errorf("cost %+v without a pricer", rec.Cost)
	}
}

func TestBatch(t *testing.T) {
	f := newFixture(t, nil)
	body := `{"events": [` + strings.Join([]string{
		ev(map[string]any{"id": "one"}),
		ev(map[string]any{"id": "two", "model": nil}),
		`42`,
		ev(map[string]any{"id": "three", "provider": "anthropic", "model": "claude-haiku-4-5"}),
		ev(map[string]any{"id": "one"}),
		ev(map[string]any{"id": "four", "received_at": "2027-01-01T00:00:00Z"}),
		ev(map[string]any{"id": "one", "provider": "azure"}),
	}, ",") + `]}`
	code, resp, msg := f.post(t, body)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, msg)
	}
	want := Response{
		Results: []Result{
			{Index: 0, ID: RecordID("openai", "one"), Status: StatusStored},
			{Index: 1, Status: StatusRejected, Error: "model is required"},
			{Index: 2, Status: StatusRejected, Error: "event: a JSON number where an object is expected"},
			{Index: 3, ID: RecordID("anthropic", "three"), Status: StatusStored},
			{Index: 4, ID: RecordID("openai", "one"), Status: StatusDuplicate},
			{Index: 5, Status: StatusRejected, Error: "received_at: 2027-01-01T00:00:00Z is 1452h0m0s in the future, more than the 5m0s allowed (is the sender's clock right?)"},
			{Index: 6, ID: RecordID("azure", "one"), Status: StatusStored},
		},
		Stored: 3, Duplicates: 1, Rejected: 3,
	}
	if d := cmp.Diff(want, resp); d != "" {
		t.Errorf("response (-want +got):\n%s", d)
	}
	if got := f.all(t); len(got) != 3 {
		t.Errorf("%d records stored, want 3", len(got))
	}
	if len(f.seen) != 3 {
		t.Errorf("observed %d records, want 3", len(f.seen))
	}

	// A batch of only rejected events is still answered 200.
	code, resp, _ = f.post(t, `{"events": [{"id": "x"}]}`)
	if code != http.StatusOK || resp.Rejected != 1 || resp.Results[0].Status != StatusRejected {
		t.Errorf("all rejected: %d %+v", code, resp)
	}
}

func TestIdempotency(t *testing.T) {
	f := newFixture(t, nil)
	body := ev(map[string]any{"id": "resp_1", "request": "hi", "response": "hello"})
	_, first, _ := f.post(t, body)
	before := f.all(t)
	// The same event again, and one changed under the same id: the first
	// write wins.
	for _, b := range []string{body, ev(map[string]any{"id": "resp_1", "model": "gpt-4o", "request": "changed"})} {
		code, resp, msg := f.post(t, b)
		want := Response{Results: []Result{{ID: first.Results[0].ID, Status: StatusDuplicate}}, Duplicates: 1}
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, msg)
		}
		if d := cmp.Diff(want, resp); d != "" {
			t.Errorf("resent (-want +got):\n%s", d)
		}
	}
	if d := cmp.Diff(before, f.all(t)); d != "" {
		t.Errorf("records changed (-before +after):\n%s", d)
	}
	if len(f.seen) != 1 {
		t.Errorf("observed %d times, want once", len(f.seen))
	}
	// The same id from another provider is another call.
	_, resp, _ := f.post(t, ev(map[string]any{"id": "resp_1", "provider": "azure"}))
	if resp.Stored != 1 {
		t.Errorf("same id, other provider: %+v, want stored", resp)
	}
}

// TestConcurrentDuplicates sends the same event from many goroutines: one
// is stored, the rest are duplicates.
func TestConcurrentDuplicates(t *testing.T) {
	f := newFixture(t, nil)
	body := ev(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := 0
	for range 8 {
		wg.Go(func() {
			_, resp, _ := f.post(t, body)
			mu.Lock()
			stored += resp.Stored
			mu.Unlock()
		})
	}
	wg.Wait()
	if stored != 1 {
		t.Errorf("stored %d times, want once", stored)
	}
}

func TestNoLog(t *testing.T) {
	f := newFixture(t, nil)
	_, resp, _ := f.post(t, ev(map[string]any{"no_log": true, "request": map[string]any{"secret": 1}, "response": "secret"}))
	rec := f.get(t, resp.Results[0].ID)
	if rec.Request != "" || rec.Response != "" || !rec.NoLog || rec.Truncated {
		t.Errorf("no_log: request %q response %q no_log %v truncated %v", rec.Request, rec.Response, rec.NoLog, rec.Truncated)
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxLoggedBodyBytes = 10 })
	_, resp, _ := f.post(t, ev(map[string]any{"id": "a", "request": "héééééééé", "response": "short"}))
	rec := f.get(t, resp.Results[0].ID)
	// 10 bytes would split an é: the cut falls before it.
	if rec.Request != "héééé" || rec.Response != "short" || !rec.Truncated {
		t.Errorf("request %q response %q truncated %v", rec.Request, rec.Response, rec.Truncated)
	}

	f = newFixture(t, func(o *Options) { o.MaxLoggedBodyBytes = 0 })
	_, resp, _ = f.post(t, ev(map[string]any{"id": "b", "request": "x"}))
	if rec := f.get(t, resp.Results[0].ID); rec.Request != "" || !rec.Truncated {
		t.Errorf("limit 0: request %q truncated %v", rec.Request, rec.Truncated)
	}
}

func TestBadBodies(t *testing.T) {
	f := newFixture(t, nil)
	many := `{"events": [` + strings.Repeat(ev(nil)+",", MaxEvents) + ev(nil) + `]}`
	for _, c := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"empty", "", 400, "invalid_request: empty body"},
		{"not JSON", "{", 400, "invalid_request: malformed JSON body: unexpected end of JSON input"},
		{"trailing data", ev(nil) + " {}", 400, "invalid_request: malformed JSON body: invalid character '{' after top-level value"},
		{"array", "[" + ev(nil) + "]", 400, `invalid_request: the body must be a JSON object: one event or {"events": [...]}`},
		{"events not an array", `{"events": {}}`, 400, "invalid_request: events: must be an array of event objects"},
		{"events null", `{"events": null}`, 400, "invalid_request: events: must be an array"},
		{"no events", `{"events": []}`, 400, "invalid_request: events: empty"},
		{"batch with another field", `{"events": [], "id": "x"}`, 400, `invalid_request: unknown field "id": a batch is {"events": [...]} alone`},
		{"too many events", many, 400, "invalid_request: events: 1001 events, at most 1000 per request"},
		{"too large", `{"events": [` + ev(map[string]any{"request": strings.Repeat("x", MaxBodyBytes)}) + `]}`, 413, "too_large: the body is larger than 8388608 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, msg := f.post(t, c.body)
			if code != c.code || !strings.HasPrefix(msg, c.want) {
				t.Errorf("got %d %q, want %d %q", code, msg, c.code, c.want)
			}
		})
	}

	w := httptest.NewRecorder()
	f.ing.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/ingest", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// failingStore fails every call.
type failingStore struct{}

func (failingStore) WriteRecords(context.Context, []record.Record) error {
	return fmt.Errorf("disk full")
}

func (failingStore) GetRequest(context.Context, string) (record.Record, error) {
	return record.Record{}, fmt.Errorf("get: %w", store.ErrNotFound)
}

func TestStoreFailure(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Store = failingStore{} })
	code, _, msg := f.post(t, ev(nil))
	if code != http.StatusInternalServerError || msg != "internal: could not store the events" {
		t.Errorf("got %d %q", code, msg)
	}
	if len(f.seen) != 0 {
		t.Errorf("observed %v after a failed write", f.seen)
	}
}

func TestResolve(t *testing.T) {
	for _, c := range []struct {
		name      string
		opt       Options
		provider  string
		wantAs    string
		wantKnown bool
	}{
		{"vendor without options", Options{}, "mistral", "mistral", true},
		{"unknown without options", Options{}, "acme", "", false},
		{"configured, priced", Options{Providers: []string{"p"}, PriceAs: func(string) string { return "groq" }}, "p", "groq", true},
		{"configured, unpriced", Options{Providers: []string{"p"}, PriceAs: func(string) string { return "" }}, "p", "", true},
		{"configured vendor name priced as none", Options{Providers: []string{"openai"}, PriceAs: func(string) string { return "" }}, "openai", "", true},
		{"configured vendor name, no PriceAs", Options{Providers: []string{"openai"}}, "openai", "openai", true},
		{"PriceAs alone knows it", Options{PriceAs: func(string) string { return "xai" }}, "grok", "xai", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			as, known := New(c.opt).resolve(c.provider)
			if as != c.wantAs || known != c.wantKnown {
				t.Errorf("resolve(%q) = %q, %v; want %q, %v", c.provider, as, known, c.wantAs, c.wantKnown)
			}
		})
	}
}

func TestVendorsAreTheCatalogs(t *testing.T) {
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range cat.Sheets() {
		want = append(want, s.Provider)
	}
	got := slices.Clone(vendors)
	slices.Sort(got)
	slices.Sort(want)
	if d := cmp.Diff(slices.Compact(want), got); d != "" {
		t.Errorf("vendors differ from the catalog's providers (-catalog +vendors):\n%s", d)
	}
}

func TestRecordID(t *testing.T) {
	a, b := RecordID("openai", "x"), RecordID("openai", "x")
	if a != b {
		t.Errorf("not deterministic: %s, %s", a, b)
	}
	// The separator keeps ("ab", "c") and ("a", "bc") apart.
	if RecordID("ab", "c") == RecordID("a", "bc") {
		t.Error("provider and id run together")
	}
	if len(a) != 30 || !strings.HasPrefix(a, "ing_") || strings.ContainsAny(a[4:], "ilou=") {
		t.Errorf("id %q: want ing_ and 26 lowercase base32 characters", a)
	}
}

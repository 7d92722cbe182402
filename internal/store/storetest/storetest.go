// Package storetest is the conformance suite every store backend must pass:
// call Run from the backend's tests with a function that opens an empty
// store. It is backend-agnostic and imported only by tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/usage"
)

// Store is everything a backend provides.
type Store interface {
	store.Writer
	store.RequestReader
	store.CostReader
	store.CostReviser
	store.PriceEntryStore
	store.UseCaseStore
	store.KPIStore
	store.InstanceReader
	store.LimitStore
	store.AccessStore
	store.PeopleStore
	store.AuditStore
	store.CredentialStore
	store.PromptStore
	store.RollupReader
	store.KPIDayReader
	store.IdentityReader
	store.CallSignalReader
	store.DriftEventStore
	store.CriterionStore
	store.CriterionVersionReader
	store.CriterionChangeStore
	store.ScoreStore
	store.DatasetStore
	store.ExperimentStore
	store.JudgeStore
	store.JudgeRunStore
	store.ReviewStore
	io.Closer
}

// Run runs the conformance suite. open must return a new, empty store; Run
// closes it when the test ends.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"NilAndZeroPointers", testNilAndZeroPointers},
		{"ListOmitsBodies", testListOmitsBodies},
		{"NotFound", testNotFound},
		{"IdempotentAcrossBatches", testIdempotentAcrossBatches},
		{"IdempotentWithinBatch", testIdempotentWithinBatch},
		{"BatchIsAtomic", testBatchIsAtomic},
		{"EmptyBatch", testEmptyBatch},
		{"Filters", testFilters},
		{"TimeRange", testTimeRange},
		{"Order", testOrder},
		{"Pagination", testPagination},
		{"PaginationUnderInserts", testPaginationUnderInserts},
		{"Limits", testLimits},
		{"InvalidQuery", testInvalidQuery},
		{"ConcurrentWriters", testConcurrentWriters},
		{"LargeBodies", testLargeBodies},
		{"Unicode", testUnicode},
		{"CostTotals", testCostTotals},
		{"CostTotalsExactBeyondInt64", testCostTotalsExactBeyondInt64},
		{"CostTotalsOrder", testCostTotalsOrder},
		{"CostTotalsDays", testCostTotalsDays},
		{"UnpricedModels", testUnpricedModels},
		{"CostInvalidQuery", testCostInvalidQuery},
		{"ReviseCosts", testReviseCosts},
		{"ReviseCostsAtomic", testReviseCostsAtomic},
		{"PriceEntries", testPriceEntries},
		{"UseCases", testUseCases},
		{"KPIResults", testKPIResults},
		{"KPIIdempotentProperty", testKPIIdempotentProperty},
		{"InstanceTotals", testInstanceTotals},
		{"LimitDocs", testLimitDocs},
		{"Access", testAccess},
		{"People", testPeople},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"AuditFilters", testAuditFilters},
		{"AuditPagination", testAuditPagination},
		{"Credentials", testCredentials},
		{"Prompts", testPrompts},
		{"PromptVersionsConcurrent", testPromptVersionsConcurrent},
		{"Rollups", testRollups},
		{"RollupsRevised", testRollupsRevised},
		{"RollupsInvalid", testRollupsInvalid},
		{"RollupsConcurrent", testRollupsConcurrent},
		{"RollupsLargeCost", testRollupsLargeCost},
		{"KPIDays", testKPIDays},
		{"TagFilter", testTagFilter},
		{"ModelIdentities", testModelIdentities},
		{"CallSignals", testCallSignals},
		{"DriftEvents", testDriftEvents},
		{"Criteria", testCriteria},
		{"CriterionChanges", testCriterionChanges},
		{"Scores", testScores},
		{"CriteriaConcurrent", testCriteriaConcurrent},
		{"Datasets", func(t *testing.T, s Store) { testDatasets(t, s) }},
		{"DatasetsLarge", func(t *testing.T, s Store) { testDatasetsLarge(t, s) }},
		{"DatasetsConcurrent", func(t *testing.T, s Store) { testDatasetsConcurrent(t, s) }},
		{"Experiments", func(t *testing.T, s Store) { testExperiments(t, s) }},
		{"ExperimentsConcurrent", func(t *testing.T, s Store) { testExperimentsConcurrent(t, s) }},
		{"Judges", func(t *testing.T, s Store) { testJudges(t, s) }},
		{"JudgeVersionsConcurrent", func(t *testing.T, s Store) { testJudgeVersionsConcurrent(t, s) }},
		{"ReviewQueues", testReviewQueues},
		{"ReviewLocks", testReviewLocks},
		{"ReviewConcurrent", testReviewConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.f(t, s)
		})
	}
}

// base is a fixed instant with a non-zero nanosecond part, so that stores
// that lose precision fail.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func ptr[T any](v T) *T { return &v }

// full returns a record with every field set.
func full(id string) record.Record {
	return record.Record{
		ID:                id,
		ReceivedAt:        base.In(time.FixedZone("CET", 3600)),
		Endpoint:          record.EndpointChatCompletions,
		Provider:          "openai-main",
		RequestedModel:    "gpt-4o",
		Model:             "gpt-4o-2024-08-06",
		ResponseModel:     "gpt-4o-2024-08-06",
		SystemFingerprint: "fp_abc123",
		ProviderRequestID: "chatcmpl-123",
		Status:            200,
		ErrorKind:         "upstream_bad_response",
		ErrorMessage:      "stream broke after 12 chunks",
		FinishReason:      "stop",
		Stream:            true,
		Chunks:            12,
		TTFTMs:            ptr(123.25),
		TTFCTMs:           ptr(130.5),
		ITLMs:             &record.ITL{Mean: 21.5, P50: 20, P95: 40.125, Max: 90, Count: 11},
		TPOTMs:            ptr(22.75),
		OTPS:              ptr(44.0),
		E2EMs:             812.5,
		UpstreamMs:        800.25,
		OverheadMs:        12.25,
		Usage: usage.Usage{
			InputTokens: 1200, CacheReadTokens: 1000, CacheWriteTokens: 100, CacheWrite1hTokens: 50,
			OutputTokens: 300, ReasoningTokens: 200, InputAudioTokens: 7, OutputAudioTokens: 9, Estimated: true,
		},
		CostUSD: ptrMoney(4_321_987_654_321_001), // $4.321987654321001: every femto-dollar must survive
		Cost: &pricing.Cost{
			Total: 4_321_987_654_321_001, Input: 1_000_000_000_000_001, CacheRead: 321_987_654_321_000, Output: 3 * pricing.USD,
			EntryID: "openai/gpt-4o@2024-08-06", Version: "2026-11-27.1", TierAbove: 200000, Multiplier: 500000,
			Negotiated: true, Estimated: true, Unpriced: pricing.UnitWebSearches,
		},
		Attribution: record.Attribution{
			UseCase: "support-bot", UseCaseInstance: "ticket-42", UseCaseVersion: "v3", UseCaseStep: "draft",
			User: "u-1", Account: "acme", Team: "cx",
			Tags:       []string{"beta", "eu", "beta"},
			Properties: json.RawMessage(`{"region":"eu-west-1","tier":2,"nested":{"a":[1,2,3],"b":null}}`),
			NoLog:      false,
		},
		Attempts: []record.Attempt{
			{Provider: "openai-main", Model: "gpt-4o", StartMs: 0.5, DurationMs: 100, Status: 503, ErrorKind: "upstream_unavailable", Error: "overloaded", ProviderRequestID: "req-a"},
			{Provider: "openai-backup", Model: "gpt-4o-2024-08-06", StartMs: 101, DurationMs: 700, Status: 200, ProviderRequestID: "chatcmpl-123"},
		},
		Request:   `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}`,
		Response:  "data: {\"choices\":[]}\n\ndata: [DONE]\n\n",
		Truncated: true,
	}
}

// minimal returns a record with only what every record has.
func minimal(id string, at time.Time) record.Record {
	return record.Record{ID: id, ReceivedAt: at, Endpoint: record.EndpointMessages, Status: 200}
}

// opts compares records as a store must return them: times by instant,
// properties by JSON value, nil and empty slices alike.
var opts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b json.RawMessage) bool {
		if len(a) == 0 || len(b) == 0 {
			return len(a) == len(b)
		}
		var va, vb any
		if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
			return false
		}
		return cmp.Equal(va, vb)
	}),
	cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().Type() != reflect.TypeFor[json.RawMessage]()
	}, cmpopts.EquateEmpty()),
}

func write(t *testing.T, s Store, recs ...record.Record) {
	t.Helper()
	if err := s.WriteRecords(context.Background(), recs); err != nil {
		t.Fatalf("WriteRecords(%d records): %v", len(recs), err)
	}
}

func get(t *testing.T, s Store, id string) record.Record {
	t.Helper()
	got, err := s.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatalf("GetRequest(%q): %v", id, err)
	}
	return got
}

func list(t *testing.T, s Store, q store.RequestQuery) store.RequestPage {
	t.Helper()
	p, err := s.ListRequests(context.Background(), q)
	if err != nil {
		t.Fatalf("ListRequests(%+v): %v", q, err)
	}
	return p
}

// listAll follows cursors to the end and returns the IDs in order.
func listAll(t *testing.T, s Store, q store.RequestQuery) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("pagination does not end")
		}
		p := list(t, s, q)
		for _, r := range p.Requests {
			ids = append(ids, r.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		if len(p.Requests) == 0 {
			t.Fatalf("empty page with next cursor %q", p.NextCursor)
		}
		q.Cursor = p.NextCursor
	}
}

func noBodies(r record.Record) record.Record {
	r.Request, r.Response = "", ""
	return r
}

func testRoundTrip(t *testing.T, s Store) {
	want := full("req-full")
	write(t, s, want)
	got := get(t, s, want.ID)
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("GetRequest mismatch (-want +got):\n%s", diff)
	}
	if got.ReceivedAt.Location() != time.UTC {
		t.Errorf("ReceivedAt location = %v, want UTC", got.ReceivedAt.Location())
	}
	// Tags keep their order and duplicates.
	if !slices.Equal(got.Tags, want.Tags) {
		t.Errorf("Tags = %q, want %q", got.Tags, want.Tags)
	}
	p := list(t, s, store.RequestQuery{})
	if len(p.Requests) != 1 {
		t.Fatalf("ListRequests returned %d records, want 1", len(p.Requests))
	}
	if diff := cmp.Diff(noBodies(want), p.Requests[0], opts); diff != "" {
		t.Errorf("ListRequests mismatch (-want +got):\n%s", diff)
	}
}

func testNilAndZeroPointers(t *testing.T, s Store) {
	nils := minimal("req-nil", base)
	zeros := minimal("req-zero", base.Add(time.Nanosecond))
	zeros.TTFTMs, zeros.TTFCTMs, zeros.TPOTMs, zeros.OTPS = ptr(0.0), ptr(0.0), ptr(0.0), ptr(0.0)
	zeros.ITLMs = &record.ITL{}
	zeros.Attempts = []record.Attempt{{}}
	write(t, s, nils, zeros)

	got := get(t, s, nils.ID)
	if got.TTFTMs != nil || got.TTFCTMs != nil || got.ITLMs != nil || got.TPOTMs != nil || got.OTPS != nil {
		t.Errorf("nil pointers came back set: %+v", got)
	}
	if diff := cmp.Diff(nils, got, opts); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	got = get(t, s, zeros.ID)
	if got.TTFTMs == nil || got.TTFCTMs == nil || got.ITLMs == nil || got.TPOTMs == nil || got.OTPS == nil {
		t.Errorf("zero pointers came back nil: %+v", got)
	}
	if diff := cmp.Diff(zeros, got, opts); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func testListOmitsBodies(t *testing.T, s Store) {
	r := minimal("req-bodies", base)
	r.Request, r.Response, r.Truncated = "request body", "response body", true
	write(t, s, r)
	p := list(t, s, store.RequestQuery{})
	if len(p.Requests) != 1 {
		t.Fatalf("got %d records, want 1", len(p.Requests))
	}
	if got := p.Requests[0]; got.Request != "" || got.Response != "" || !got.Truncated {
		t.Errorf("listed record has Request=%q Response=%q Truncated=%v, want no bodies and Truncated", got.Request, got.Response, got.Truncated)
	}
	if got := get(t, s, r.ID); got.Request != r.Request || got.Response != r.Response {
		t.Errorf("GetRequest bodies = %q, %q; want %q, %q", got.Request, got.Response, r.Request, r.Response)
	}
}

func testNotFound(t *testing.T, s Store) {
	_, err := s.GetRequest(context.Background(), "nope")
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRequest(missing) error = %v, want ErrNotFound", err)
	}
	write(t, s, minimal("a", base))
	if _, err := s.GetRequest(context.Background(), "A"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRequest(%q) error = %v, want ErrNotFound (IDs are case-sensitive)", "A", err)
	}
}

func testIdempotentAcrossBatches(t *testing.T, s Store) {
	first := minimal("dup", base)
	first.Model = "first"
	second := first
	second.Model = "second"
	second.ReceivedAt = base.Add(time.Hour)
	write(t, s, first)
	write(t, s, second, minimal("other", base))
	write(t, s, second)
	if got := get(t, s, "dup"); got.Model != "first" || !got.ReceivedAt.Equal(base) {
		t.Errorf("after rewrite, record has Model %q ReceivedAt %v; want the first write kept", got.Model, got.ReceivedAt)
	}
	if ids := listAll(t, s, store.RequestQuery{}); !slices.Equal(ids, []string{"other", "dup"}) && !slices.Equal(ids, []string{"dup", "other"}) {
		t.Errorf("listed IDs = %q, want dup and other once each", ids)
	}
	if ids := listAll(t, s, store.RequestQuery{Model: "second"}); len(ids) != 0 {
		t.Errorf("second write is visible: %q", ids)
	}
}

func testIdempotentWithinBatch(t *testing.T, s Store) {
	first := minimal("dup", base)
	first.Model = "first"
	second := first
	second.Model = "second"
	write(t, s, first, second, first, minimal("x", base))
	if got := get(t, s, "dup"); got.Model != "first" {
		t.Errorf("Model = %q, want the first in the batch", got.Model)
	}
	if ids := listAll(t, s, store.RequestQuery{}); len(ids) != 2 {
		t.Errorf("listed IDs = %q, want 2 records", ids)
	}
}

func testBatchIsAtomic(t *testing.T, s Store) {
	bad := minimal("", base) // no ID: every store rejects it
	err := s.WriteRecords(context.Background(), []record.Record{minimal("good", base), bad})
	if err == nil {
		t.Fatal("WriteRecords with an ID-less record succeeded, want an error")
	}
	if _, err := s.GetRequest(context.Background(), "good"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a failed batch, GetRequest(good) error = %v, want ErrNotFound", err)
	}
}

func testEmptyBatch(t *testing.T, s Store) {
	write(t, s)
	if p := list(t, s, store.RequestQuery{}); len(p.Requests) != 0 || p.NextCursor != "" {
		t.Errorf("empty store listed %+v", p)
	}
}

func testFilters(t *testing.T, s Store) {
	var recs []record.Record
	for i := range 64 {
		r := minimal(fmt.Sprintf("r%02d", i), base.Add(time.Duration(i)*time.Second))
		r.UseCase = []string{"bot", "search"}[i%2]
		r.UseCaseInstance = []string{"i1", "i2", ""}[i%3]
		r.Team = []string{"cx", "ml"}[i/2%2]
		r.User = fmt.Sprintf("u%d", i%4)
		r.Account = []string{"acme", "globex"}[i/4%2]
		r.Provider = []string{"openai", "anthropic"}[i/8%2]
		r.Model = []string{"m1", "m2"}[i/16%2]
		r.Status = []int{200, 429, 500, 200}[i%4]
		if i%5 == 0 {
			r.ErrorKind = "interrupted"
			r.Status = 0
		}
		recs = append(recs, r)
	}
	write(t, s, recs...)

	match := func(q store.RequestQuery, keep func(r record.Record) bool) {
		t.Helper()
		var want []string
		for i := len(recs) - 1; i >= 0; i-- {
			if keep(recs[i]) {
				want = append(want, recs[i].ID)
			}
		}
		q.Limit = 7
		got := listAll(t, s, q)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListRequests(%+v) IDs (-want +got):\n%s", q, diff)
		}
	}
	match(store.RequestQuery{}, func(r record.Record) bool { return true })
	match(store.RequestQuery{UseCase: "bot"}, func(r record.Record) bool { return r.UseCase == "bot" })
	match(store.RequestQuery{UseCaseInstance: "i2"}, func(r record.Record) bool { return r.UseCaseInstance == "i2" })
	match(store.RequestQuery{UseCase: "search", UseCaseInstance: "i1"}, func(r record.Record) bool { return r.UseCase == "search" && r.UseCaseInstance == "i1" })
	match(store.RequestQuery{Team: "ml"}, func(r record.Record) bool { return r.Team == "ml" })
	match(store.RequestQuery{User: "u3"}, func(r record.Record) bool { return r.User == "u3" })
	match(store.RequestQuery{Account: "globex"}, func(r record.Record) bool { return r.Account == "globex" })
	match(store.RequestQuery{Provider: "anthropic"}, func(r record.Record) bool { return r.Provider == "anthropic" })
	match(store.RequestQuery{Model: "m2"}, func(r record.Record) bool { return r.Model == "m2" })
	match(store.RequestQuery{Status: 429}, func(r record.Record) bool { return r.Status == 429 })
	match(store.RequestQuery{ErrorKind: "interrupted"}, func(r record.Record) bool { return r.ErrorKind == "interrupted" })
	match(store.RequestQuery{Team: "cx", Account: "acme", Provider: "openai", Model: "m1", Status: 200},
		func(r record.Record) bool {
			return r.Team == "cx" && r.Account == "acme" && r.Provider == "openai" && r.Model == "m1" && r.Status == 200
		})
	match(store.RequestQuery{UseCase: "nobody"}, func(r record.Record) bool { return false })
	match(store.RequestQuery{UseCase: "BOT"}, func(r record.Record) bool { return false }) // exact, case-sensitive
	match(store.RequestQuery{User: "u%"}, func(r record.Record) bool { return false })     // no pattern matching
	match(store.RequestQuery{Team: "ml", From: base.Add(10 * time.Second), To: base.Add(40 * time.Second)},
		func(r record.Record) bool {
			return r.Team == "ml" && !r.ReceivedAt.Before(base.Add(10*time.Second)) && r.ReceivedAt.Before(base.Add(40*time.Second))
		})
}

func testTimeRange(t *testing.T, s Store) {
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Nanosecond) }
	for i := range 5 {
		write(t, s, minimal(fmt.Sprintf("t%d", i), at(i)))
	}
	cases := []struct {
		from, to time.Time
		want     []string
	}{
		{time.Time{}, time.Time{}, []string{"t4", "t3", "t2", "t1", "t0"}},
		{at(1), at(3), []string{"t2", "t1"}}, // From inclusive, To exclusive
		{at(1), time.Time{}, []string{"t4", "t3", "t2", "t1"}},
		{time.Time{}, at(1), []string{"t0"}},
		{at(2), at(2), nil},
		{at(2), at(3), []string{"t2"}},
		{at(5), time.Time{}, nil},
		{time.Time{}, at(0), nil},
		// Bounds in another zone mean the same instants.
		{at(1).In(time.FixedZone("X", -7*3600)), at(3).In(time.FixedZone("Y", 5*3600)), []string{"t2", "t1"}},
	}
	for _, c := range cases {
		got := listAll(t, s, store.RequestQuery{From: c.from, To: c.to})
		if diff := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("From %v To %v (-want +got):\n%s", c.from, c.to, diff)
		}
	}
}

func testOrder(t *testing.T, s Store) {
	// Same instant: ID descending breaks the tie. Written out of order.
	write(t, s, minimal("b", base), minimal("a", base.Add(time.Nanosecond)), minimal("c", base), minimal("z", base.Add(-time.Hour)))
	write(t, s, minimal("d", base))
	want := []string{"a", "d", "c", "b", "z"}
	if got := listAll(t, s, store.RequestQuery{}); !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
	if got := listAll(t, s, store.RequestQuery{Limit: 1}); !slices.Equal(got, want) {
		t.Errorf("order one per page = %q, want %q", got, want)
	}
}

// wantOrder returns the IDs of recs in list order.
func wantOrder(recs []record.Record) []string {
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b record.Record) int {
		if c := b.ReceivedAt.Compare(a.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

func testPagination(t *testing.T, s Store) {
	var recs []record.Record
	for i := range 257 {
		// Runs of equal timestamps, so that pages break inside ties.
		recs = append(recs, minimal(fmt.Sprintf("p%03d", (i*37)%257), base.Add(time.Duration(i/5)*time.Millisecond)))
	}
	for b := 0; b < len(recs); b += 60 {
		write(t, s, recs[b:min(b+60, len(recs))]...)
	}
	want := wantOrder(recs)
	for _, limit := range []int{1, 2, 5, 7, 50, 256, 257, 258, 1000} {
		if got := listAll(t, s, store.RequestQuery{Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("limit %d: got %d IDs, want %d in order; diff (-want +got):\n%s", limit, len(got), len(want), cmp.Diff(want, got))
		}
	}
	// A page of exactly the remaining records may or may not carry a
	// cursor, but following it must end with an empty page.
	p := list(t, s, store.RequestQuery{Limit: 257})
	if len(p.Requests) != 257 {
		t.Fatalf("got %d records, want 257", len(p.Requests))
	}
	if p.NextCursor != "" {
		if p2 := list(t, s, store.RequestQuery{Limit: 257, Cursor: p.NextCursor}); len(p2.Requests) != 0 || p2.NextCursor != "" {
			t.Errorf("page after the last = %d records, cursor %q", len(p2.Requests), p2.NextCursor)
		}
	}
}

func testPaginationUnderInserts(t *testing.T, s Store) {
	var recs []record.Record
	for i := range 100 {
		recs = append(recs, minimal(fmt.Sprintf("old%03d", i), base.Add(time.Duration(i)*time.Second)))
	}
	write(t, s, recs...)
	want := wantOrder(recs)

	q := store.RequestQuery{Limit: 9}
	var got []string
	for n := 0; ; n++ {
		p := list(t, s, q)
		for _, r := range p.Requests {
			got = append(got, r.ID)
		}
		// Between pages, newer records arrive, including one at the same
		// instant as the newest old record.
		write(t, s, minimal(fmt.Sprintf("new%03d", n), base.Add(time.Hour+time.Duration(n)*time.Second)),
			minimal(fmt.Sprintf("tie%03d", n), recs[len(recs)-1].ReceivedAt))
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("pagination under inserts (-want +got):\n%s", cmp.Diff(want, got))
	}
}

func testLimits(t *testing.T, s Store) {
	var recs []record.Record
	for i := range store.MaxLimit + 1 {
		recs = append(recs, minimal(fmt.Sprintf("l%04d", i), base.Add(time.Duration(i)*time.Microsecond)))
	}
	write(t, s, recs...)
	for _, c := range []struct{ limit, want int }{{0, store.DefaultLimit}, {1, 1}, {store.MaxLimit, store.MaxLimit}, {store.MaxLimit + 1, store.MaxLimit}, {1 << 30, store.MaxLimit}} {
		p := list(t, s, store.RequestQuery{Limit: c.limit})
		if len(p.Requests) != c.want {
			t.Errorf("Limit %d returned %d records, want %d", c.limit, len(p.Requests), c.want)
		}
		if p.NextCursor == "" {
			t.Errorf("Limit %d: no next cursor with more records left", c.limit)
		}
	}
}

func testInvalidQuery(t *testing.T, s Store) {
	write(t, s, minimal("a", base), minimal("b", base.Add(time.Second)))
	good := list(t, s, store.RequestQuery{Limit: 1}).NextCursor
	if good == "" {
		t.Fatal("no cursor")
	}
	bad := []store.RequestQuery{
		{Cursor: "!!!"},
		{Cursor: "e30"},                        // base64 of "{}"
		{Cursor: good + "="},                   // padding where there is none
		{Cursor: good[:len(good)-len(good)/2]}, // truncated
		{Cursor: "AQ"},                         // version byte only
		{Cursor: "Ag" + good[2:]},              // unknown version
		{Limit: -1},
		{From: base.Add(time.Second), To: base},
	}
	for _, q := range bad {
		_, err := s.ListRequests(context.Background(), q)
		if !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("ListRequests(%+v) error = %v, want ErrInvalidQuery", q, err)
		}
	}
}

func testConcurrentWriters(t *testing.T, s Store) {
	const writers, batches, size = 8, 25, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				var recs []record.Record
				for i := range size {
					// Writers overlap: each ID is written by two writers.
					n := ((w/2)*batches+b)*size + i
					r := minimal(fmt.Sprintf("c%05d", n), base.Add(time.Duration(n)*time.Millisecond))
					r.Team = fmt.Sprintf("w%d", w)
					recs = append(recs, r)
				}
				if err := s.WriteRecords(context.Background(), recs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Read while writing.
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(done)
		for range 20 {
			if _, err := s.ListRequests(context.Background(), store.RequestQuery{Limit: 100}); err != nil {
				readErr = err
				return
			}
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for err := range errs {
		t.Errorf("concurrent WriteRecords: %v", err)
	}
	if readErr != nil {
		t.Errorf("ListRequests during writes: %v", readErr)
	}
	got := listAll(t, s, store.RequestQuery{Limit: store.MaxLimit})
	if want := writers / 2 * batches * size; len(got) != want {
		t.Errorf("got %d records, want %d", len(got), want)
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("duplicate %s", id)
		}
		seen[id] = true
	}
}

func testLargeBodies(t *testing.T, s Store) {
	r := minimal("big", base)
	r.Request = strings.Repeat(`{"role":"user","content":"lorem ipsum \"quoted\" \\ back"}`, 8<<20/56)
	r.Response = strings.Repeat("data: x\n\n", 4<<20/9)
	write(t, s, r, minimal("small", base))
	got := get(t, s, "big")
	if got.Request != r.Request || got.Response != r.Response {
		t.Errorf("large bodies changed: request %d bytes (want %d), response %d bytes (want %d)",
			len(got.Request), len(r.Request), len(got.Response), len(r.Response))
	}
}

func testUnicode(t *testing.T, s Store) {
	r := full("réq-日本語-🙂")
	r.UseCase = "支援-бот"
	r.Team = "équipe"
	r.User = "ユーザー"
	r.Tags = []string{"😀", "עברית", "e\u0301"}
	r.Properties = json.RawMessage(`{"名前":"值","emoji":"🚀","esc":"\u00e9\n\t\"","rtl":"مرحبا"}`)
	r.Request = "prompt: 你好, мир, 🙂 \u2028 \u00e9 e\u0301 \t tab \"quote\" <html>&amp;"
	r.Response = "réponse 🙂\r\n"
	r.ErrorMessage = "ошибка: ‮reversed‬"
	write(t, s, r)
	got := get(t, s, r.ID)
	if diff := cmp.Diff(r, got, opts); diff != "" {
		t.Errorf("unicode round trip (-want +got):\n%s", diff)
	}
	if ids := listAll(t, s, store.RequestQuery{UseCase: "支援-бот", Team: "équipe", User: "ユーザー"}); !slices.Equal(ids, []string{r.ID}) {
		t.Errorf("filter on unicode values = %q, want %q", ids, []string{r.ID})
	}
	if ids := listAll(t, s, store.RequestQuery{Limit: 1}); !slices.Equal(ids, []string{r.ID}) {
		t.Errorf("list = %q", ids)
	}
}

func ptrMoney(v pricing.Money) *pricing.Money { return &v }

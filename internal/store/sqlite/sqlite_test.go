package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/storetest"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) })
}

func schemaVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrateOldDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")

	// A database written by a Weir that knew only the first migration.
	rec := record.Record{ID: "old", ReceivedAt: time.Unix(1700000000, 5), Endpoint: record.EndpointEmbeddings, Status: 200, Request: "body"}
	writeV1(t, path, rec)

	// The current Weir, with one more migration than the old one knew.
	next := append(migrations[:len(migrations):len(migrations)], migration{
		len(migrations) + 1, "test column", `ALTER TABLE requests ADD COLUMN test_extra TEXT NOT NULL DEFAULT 'x'`,
	})
	s, err := open(ctx, path, Options{BusyTimeout: time.Second, MaxReaders: 1}, next)
	if err != nil {
		t.Fatalf("open old database: %v", err)
	}
	got, err := s.GetRequest(ctx, "old")
	if err != nil || got.Request != "body" || got.ReceivedAt.UnixNano() != rec.ReceivedAt.UnixNano() {
		t.Errorf("GetRequest(old) = %+v, %v; want the old record", got, err)
	}
	var extra string
	if err := s.r.QueryRow(`SELECT test_extra FROM requests WHERE id = 'old'`).Scan(&extra); err != nil || extra != "x" {
		t.Errorf("migrated column = %q, %v", extra, err)
	}
	s.Close()
	if v := schemaVersion(t, path); v != len(next) {
		t.Errorf("schema version = %d, want %d", v, len(next))
	}

	// Reopening applies nothing twice.
	s, err = open(ctx, path, Options{BusyTimeout: time.Second, MaxReaders: 1}, next)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.Close()

	// A Weir that knows fewer migrations than the database refuses it.
	if _, err := Open(ctx, path, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open newer database: error = %v, want a 'newer' error", err)
	}
}

// writeV1 writes recs as a Weir that knew only the first migration did,
// creating the database at path at version 1 if needed.
func writeV1(t *testing.T, path string, recs ...record.Record) {
	t.Helper()
	ctx := context.Background()
	old, err := open(ctx, path, Options{BusyTimeout: time.Second, MaxReaders: 1}, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	for i := range recs {
		rec := &recs[i]
		doc, err := marshalDoc(rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.w.ExecContext(ctx, `INSERT INTO requests
			(id, received_at, endpoint, use_case, use_case_instance, team, user, account,
			 provider, model, status, error_kind, stream, record, request, response)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.ID, rec.ReceivedAt.UnixNano(), rec.Endpoint, rec.UseCase, rec.UseCaseInstance,
			rec.Team, rec.User, rec.Account, rec.Provider, rec.Model, rec.Status, rec.ErrorKind,
			rec.Stream, doc, rec.Request, rec.Response,
		); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrateFailureIsAtomic(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")
	bad := append(migrations[:len(migrations):len(migrations)], migration{
		len(migrations) + 1, "broken", `CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;`,
	})
	if _, err := open(ctx, path, Options{BusyTimeout: time.Second, MaxReaders: 1}, bad); err == nil {
		t.Fatal("broken migration succeeded")
	}
	if v := schemaVersion(t, path); v != len(migrations) {
		t.Errorf("schema version = %d, want %d", v, len(migrations))
	}
	db, _ := sql.Open("sqlite", "file:"+path)
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("table from failed migration exists (%d, %v)", n, err)
	}
}

// TestListUsesIndex explains the exact SQL the store runs for each filter:
// every list must use its index and need no sort.
func TestListUsesIndex(t *testing.T) {
	s := openTest(t)
	defer s.Close()
	after := store.Key{ReceivedAt: 1, ID: "a"}
	for _, c := range []struct {
		q     store.RequestQuery
		index string
	}{
		{store.RequestQuery{Team: "x"}, "requests_team"},
		{store.RequestQuery{UseCase: "x"}, "requests_use_case"},
		{store.RequestQuery{UseCase: "x", Cursor: after.Cursor()}, "requests_use_case"},
		{store.RequestQuery{Provider: "x", Cursor: after.Cursor()}, "requests_provider"},
		{store.RequestQuery{}, "requests_received"},
		{store.RequestQuery{UseCaseInstance: "x"}, "requests_instance"},
		{store.RequestQuery{User: "x"}, "requests_user"},
		{store.RequestQuery{Account: "x"}, "requests_account"},
		{store.RequestQuery{ErrorKind: "x"}, "requests_error_kind"},
		{store.RequestQuery{Model: "x"}, "requests_model"},
		{store.RequestQuery{Status: 500}, "requests_status"},
		{store.RequestQuery{Tag: "x", Cursor: after.Cursor()}, "SEARCH t USING PRIMARY KEY (tag=?"},
		{store.RequestQuery{Tag: "x", Team: "y"}, "SEARCH t USING PRIMARY KEY (tag=?"},
	} {
		p, err := c.q.Plan()
		if err != nil {
			t.Fatal(err)
		}
		query, args := listQuery(c.q, p)
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, c.index) || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want index %s without a sort", query, got, c.index)
		}
	}
}

func benchRecords(n, offset int) []record.Record {
	recs := make([]record.Record, n)
	ttft := 120.5
	for i := range recs {
		recs[i] = record.Record{
			ID: fmt.Sprintf("bench-%09d", offset+i), ReceivedAt: time.Unix(1700000000, int64(offset+i)),
			Endpoint: record.EndpointChatCompletions, Provider: "openai", RequestedModel: "gpt-4o", Model: "gpt-4o",
			Status: 200, Stream: true, TTFTMs: &ttft, E2EMs: 800,
			Attribution: record.Attribution{UseCase: "bot", Team: "cx", User: "u1", Tags: []string{"a", "b"}},
			Attempts:    []record.Attempt{{Provider: "openai", Model: "gpt-4o", DurationMs: 800, Status: 200}},
			Request:     strings.Repeat("x", 2048), Response: strings.Repeat("y", 1024),
		}
	}
	return recs
}

// BenchmarkWriteBatch writes batches of 256 typical records (3 KiB of bodies).
func BenchmarkWriteBatch(b *testing.B) {
	s := openTest(b)
	defer s.Close()
	const size = 256
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		recs := benchRecords(size, n)
		n += size
		b.StartTimer()
		if err := s.WriteRecords(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}

func BenchmarkListRequests(b *testing.B) {
	s := openTest(b)
	defer s.Close()
	ctx := context.Background()
	for i := range 40 {
		if err := s.WriteRecords(ctx, benchRecords(250, i*250)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ListRequests(ctx, store.RequestQuery{Team: "cx", Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
}

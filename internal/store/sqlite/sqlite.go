// Package sqlite is Weir's embedded default store: one SQLite file in WAL
// mode through modernc.org/sqlite (pure Go, no cgo). It implements the store
// interfaces and passes storetest. Only the app wiring and tests import it.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// BusyTimeout is how long a connection waits for a lock held by another
	// process before failing. Default 5s.
	BusyTimeout time.Duration
	// MaxReaders is the size of the read connection pool. Default
	// max(4, GOMAXPROCS).
	MaxReaders int
}

// Store is a SQLite store. Writes go through one connection, so they never
// contend with each other; reads go through a pool and, thanks to WAL, run
// concurrently with writes.
type Store struct {
	w *sql.DB // exactly one connection
	r *sql.DB // query_only pool
}

var (
	_ store.Writer        = (*Store)(nil)
	_ store.RequestReader = (*Store)(nil)
	_ store.CostReader    = (*Store)(nil)
)

// Open opens (creating if needed) the database at path and migrates its
// schema to the latest version. path is a file name, not a URI.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.MaxReaders <= 0 {
		opts.MaxReaders = max(4, runtime.GOMAXPROCS(0))
	}
	return open(ctx, path, opts, migrations)
}

func open(ctx context.Context, path string, opts Options, migs []migration) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, errors.New("open sqlite store: need a file path (readers and the writer share the file)")
	}
	name := "file:" + uriEscaper.Replace(path)
	busy := fmt.Sprintf("_busy_timeout=%d", opts.BusyTimeout.Milliseconds())

	w, err := sql.Open("sqlite", name+"?"+busy+"&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_foreign_keys=1")
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w, migs); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if len(migs) >= rollupMigration {
		if err := (&Store{w: w}).backfillRollups(ctx); err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
		}
	}

	r, err := sql.Open("sqlite", name+"?"+busy+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.MaxReaders)
	r.SetMaxIdleConns(opts.MaxReaders)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return &Store{w: w, r: r}, nil
}

// uriEscaper escapes the characters SQLite URIs give a meaning to.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// Close closes the database. The WAL is checkpointed by SQLite when the last
// connection closes.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

const insertSQL = `INSERT INTO requests
	(id, received_at, endpoint, use_case, use_case_instance, team, user, account,
	 provider, model, status, error_kind, stream, record, request, response,
	 cost_femto, unpriced_units, input_tokens, output_tokens, use_case_version, e2e_ms, ttft_ms,
	 application, api_key_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT(id) DO NOTHING`

// WriteRecords stores recs in one transaction with one prepared statement.
// Records whose ID is already stored are skipped.
func (s *Store) WriteRecords(ctx context.Context, recs []record.Record) error {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		if err := store.CheckRecord(&recs[i]); err != nil {
			return fmt.Errorf("write records: %w", err)
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write records: begin: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertSQL)
	if err != nil {
		return fmt.Errorf("write records: prepare: %w", err)
	}
	defer stmt.Close()
	rollups := newRollupBatch()
	for i := range recs {
		rec := &recs[i]
		doc, err := marshalDoc(rec)
		if err != nil {
			return fmt.Errorf("write records: encode %s: %w", rec.ID, err)
		}
		costFemto, unpriced, err := costColumns(rec)
		if err != nil {
			return fmt.Errorf("write records: encode %s: %w", rec.ID, err)
		}
		tin, tout := tokenColumns(rec)
		res, err := stmt.ExecContext(ctx,
			rec.ID, rec.ReceivedAt.UnixNano(), rec.Endpoint, rec.UseCase, rec.UseCaseInstance,
			rec.Team, rec.User, rec.Account, rec.Provider, rec.Model, rec.Status, rec.ErrorKind,
			rec.Stream, doc, rec.Request, rec.Response, costFemto, unpriced, tin, tout,
			rec.UseCaseVersion, rec.E2EMs, rec.TTFTMs, rec.Application, rec.APIKeyID,
		)
		if err != nil {
			return fmt.Errorf("write records: insert %s: %w", rec.ID, err)
		}
		// Only a call inserted now is summarised: a duplicate is skipped
		// by the insert and must not count twice.
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("write records: insert %s: %w", rec.ID, err)
		} else if n == 1 {
			rollups.add(rec, costFemto, unpriced)
			if err := insertTags(ctx, tx, rec); err != nil {
				return fmt.Errorf("write records: tags of %s: %w", rec.ID, err)
			}
		}
	}
	if err := rollups.flush(ctx, tx); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write records: commit: %w", err)
	}
	return nil
}

// marshalDoc encodes the record without its bodies, which have their own
// columns so that lists need not read them.
func marshalDoc(rec *record.Record) ([]byte, error) {
	r := *rec
	r.Request, r.Response = "", ""
	return json.Marshal(&r)
}

func unmarshalDoc(doc []byte, receivedAt int64, rec *record.Record) error {
	if err := json.Unmarshal(doc, rec); err != nil {
		return err
	}
	rec.ReceivedAt = time.Unix(0, receivedAt).UTC()
	return nil
}

// GetRequest returns the record with the given ID, bodies included.
func (s *Store) GetRequest(ctx context.Context, id string) (record.Record, error) {
	var (
		rec         record.Record
		at          int64
		doc         []byte
		reqB, respB sql.NullString
	)
	err := s.r.QueryRowContext(ctx,
		`SELECT received_at, record, request, response FROM requests WHERE id = ?`, id,
	).Scan(&at, &doc, &reqB, &respB)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, fmt.Errorf("get request %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return rec, fmt.Errorf("get request %s: %w", id, err)
	}
	if err := unmarshalDoc(doc, at, &rec); err != nil {
		return rec, fmt.Errorf("get request %s: decode: %w", id, err)
	}
	rec.Request, rec.Response = reqB.String, respB.String
	return rec, nil
}

// ListRequests returns one page of records, newest first, without their
// request and response bodies (GetRequest has them).
// listQuery is the SQL of one list page.
func listQuery(q store.RequestQuery, p store.Plan) (string, []any) {
	var (
		where []string
		args  []any
	)
	// With a tag the page is read from request_tags in list order, each
	// call looked up by id: a rare tag is found without walking the calls.
	r, k := "", "" // column prefixes of the calls and of the list key
	if q.Tag != "" {
		r, k = "r.", "t."
		where = append(where, "t.tag = ?")
		args = append(args, q.Tag)
	}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, r+col+" = ?")
			args = append(args, v)
		}
	}
	eq("use_case", q.UseCase)
	eq("use_case_instance", q.UseCaseInstance)
	eq("team", q.Team)
	eq("user", q.User)
	eq("account", q.Account)
	eq("provider", q.Provider)
	eq("model", q.Model)
	eq("error_kind", q.ErrorKind)
	if q.Status != 0 {
		where = append(where, r+"status = ?")
		args = append(args, q.Status)
	}
	if p.HasFrom {
		where = append(where, k+"received_at >= ?")
		args = append(args, p.From)
	}
	if p.HasTo {
		where = append(where, k+"received_at < ?")
		args = append(args, p.To)
	}
	if p.After != nil {
		where = append(where, "("+k+"received_at, "+k+"id) < (?, ?)")
		args = append(args, p.After.ReceivedAt, p.After.ID)
	}
	var b strings.Builder
	if q.Tag != "" {
		b.WriteString("SELECT r.received_at, r.record FROM request_tags t JOIN requests r ON r.id = t.id")
	} else {
		b.WriteString("SELECT received_at, record FROM requests")
	}
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY " + k + "received_at DESC, " + k + "id DESC LIMIT ?")
	args = append(args, p.Limit+1)
	return b.String(), args
}

func (s *Store) ListRequests(ctx context.Context, q store.RequestQuery) (store.RequestPage, error) {
	var page store.RequestPage
	p, err := q.Plan()
	if err != nil {
		return page, fmt.Errorf("list requests: %w", err)
	}
	query, args := listQuery(q, p)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return page, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	page.Requests = make([]record.Record, 0, min(p.Limit, 64))
	more := false
	for rows.Next() {
		if len(page.Requests) == p.Limit {
			more = true
			break
		}
		var (
			at  int64
			doc []byte
		)
		if err := rows.Scan(&at, &doc); err != nil {
			return page, fmt.Errorf("list requests: %w", err)
		}
		page.Requests = append(page.Requests, record.Record{})
		if err := unmarshalDoc(doc, at, &page.Requests[len(page.Requests)-1]); err != nil {
			return page, fmt.Errorf("list requests: decode: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list requests: %w", err)
	}
	if more {
		page.NextCursor = store.KeyOf(&page.Requests[len(page.Requests)-1]).Cursor()
	}
	return page, nil
}

// Writer returns the store's single writing connection, for components
// that keep their own tables in the same database (alerts). Their writes
// queue with the store's.
func (s *Store) Writer() *sql.DB { return s.w }

// insertTags indexes the call's tags (each once) for ListRequests.
func insertTags(ctx context.Context, tx *sql.Tx, rec *record.Record) error {
	seen := map[string]bool{}
	for _, t := range rec.Tags {
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO request_tags (tag, received_at, id) VALUES (?, ?, ?)`,
			t, rec.ReceivedAt.UnixNano(), rec.ID); err != nil {
			return err
		}
	}
	return nil
}

// Package store defines how Weir keeps call records: small interfaces split
// by consumer (the recorder writes, the API reads), the query types they
// share, and the cursor encoding every backend uses. Backends live in
// subpackages (sqlite, the embedded default) and must pass the conformance
// suite in storetest. Any package may import store; it imports only record
// and pricing.
package store

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/weirhq/weir/internal/record"
)

// ErrNotFound is wrapped by readers when the asked-for item does not exist.
var ErrNotFound = errors.New("not found")

// ErrInvalidQuery is wrapped by readers when a query cannot be run as given:
// a malformed cursor, a negative limit, a time range that ends before it
// starts.
var ErrInvalidQuery = errors.New("invalid query")

// Writer stores call records.
type Writer interface {
	// WriteRecords stores one batch atomically: all of it or none of it.
	// It is idempotent by record ID: a record whose ID is already stored,
	// or that appeared earlier in the same batch, is skipped, never
	// duplicated or overwritten; the first write wins.
	WriteRecords(ctx context.Context, recs []record.Record) error
}

// RequestReader reads call records back.
type RequestReader interface {
	// GetRequest returns the record with the given ID, or an error wrapping
	// ErrNotFound.
	GetRequest(ctx context.Context, id string) (record.Record, error)
	// ListRequests returns one page of records matching q, newest first by
	// (received_at, id).
	ListRequests(ctx context.Context, q RequestQuery) (RequestPage, error)
}

// Limits of RequestQuery.Limit.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// RequestQuery selects records. Empty strings and zero values do not filter.
type RequestQuery struct {
	UseCase         string
	UseCaseInstance string
	Team            string
	User            string
	Account         string
	Provider        string
	// Model matches the model as sent upstream (record.Record.Model).
	Model string
	// ErrorKind matches record.Record.ErrorKind, e.g. "interrupted".
	ErrorKind string
	// Tag keeps the calls that carry this tag (x-weir-tags).
	Tag string
	// Status matches the HTTP status returned to the caller; 0 does not
	// filter.
	Status int
	// From (inclusive) and To (exclusive) bound received_at.
	From, To time.Time
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit
	// (larger values are clamped), negative is invalid.
	Limit int
	// Cursor is RequestPage.NextCursor of the previous page, or empty for
	// the first page.
	Cursor string
}

// RequestPage is one page of a list.
type RequestPage struct {
	Requests []record.Record `json:"requests"`
	// NextCursor is set when more records may follow; pass it as
	// RequestQuery.Cursor to get them.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Key is a position in list order: records are sorted newest first by
// (ReceivedAt, ID), both descending.
type Key struct {
	// ReceivedAt is in Unix nanoseconds.
	ReceivedAt int64
	ID         string
}

// KeyOf returns the list position of rec.
func KeyOf(rec *record.Record) Key {
	return Key{ReceivedAt: rec.ReceivedAt.UnixNano(), ID: rec.ID}
}

// Cursor encodes k as an opaque cursor: URL-safe base64 of a version byte,
// the big-endian nanoseconds and the ID.
func (k Key) Cursor() string {
	b := make([]byte, 0, 9+len(k.ID))
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(k.ReceivedAt))
	b = append(b, k.ID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

const cursorVersion = 1

// ParseCursor decodes a cursor made by Key.Cursor. Errors wrap
// ErrInvalidQuery.
func ParseCursor(s string) (Key, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 10 || b[0] != cursorVersion || !utf8.Valid(b[9:]) {
		return Key{}, fmt.Errorf("%w: malformed cursor", ErrInvalidQuery)
	}
	return Key{ReceivedAt: int64(binary.BigEndian.Uint64(b[1:9])), ID: string(b[9:])}, nil
}

// Plan is a validated RequestQuery in the form backends need.
type Plan struct {
	// Limit is the effective page size.
	Limit int
	// After is the cursor position, nil on the first page; the page holds
	// records strictly after it in list order.
	After *Key
	// From and To are the received_at bounds in Unix nanoseconds; HasFrom
	// and HasTo say whether they apply.
	From, To       int64
	HasFrom, HasTo bool
}

// Plan validates q and returns its effective limit, cursor and time bounds.
// Errors wrap ErrInvalidQuery.
func (q RequestQuery) Plan() (Plan, error) {
	var p Plan
	switch {
	case q.Limit < 0:
		return p, fmt.Errorf("%w: negative limit %d", ErrInvalidQuery, q.Limit)
	case q.Limit == 0:
		p.Limit = DefaultLimit
	case q.Limit > MaxLimit:
		p.Limit = MaxLimit
	default:
		p.Limit = q.Limit
	}
	if !q.From.IsZero() {
		n, ok := unixNano(q.From)
		if !ok {
			return p, fmt.Errorf("%w: from %v out of range", ErrInvalidQuery, q.From)
		}
		p.From, p.HasFrom = n, true
	}
	if !q.To.IsZero() {
		n, ok := unixNano(q.To)
		if !ok {
			return p, fmt.Errorf("%w: to %v out of range", ErrInvalidQuery, q.To)
		}
		p.To, p.HasTo = n, true
	}
	if p.HasFrom && p.HasTo && p.To < p.From {
		return p, fmt.Errorf("%w: to %v is before from %v", ErrInvalidQuery, q.To, q.From)
	}
	if q.Cursor != "" {
		k, err := ParseCursor(q.Cursor)
		if err != nil {
			return p, err
		}
		p.After = &k
	}
	return p, nil
}

// Range of time.Time.UnixNano: about the years 1678 to 2262.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func unixNano(t time.Time) (int64, bool) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, false
	}
	return t.UnixNano(), true
}

// MaxIDLen is the longest record ID a store accepts, in bytes.
const MaxIDLen = 256

// CheckRecord reports why rec cannot be stored, or nil. Writers reject a
// batch holding such a record; the recorder checks before journaling so that
// it never holds a record no store accepts.
func CheckRecord(rec *record.Record) error {
	switch {
	case rec.ID == "":
		return errors.New("record has no id")
	case len(rec.ID) > MaxIDLen:
		return fmt.Errorf("record id longer than %d bytes", MaxIDLen)
	case !utf8.ValidString(rec.ID):
		return fmt.Errorf("record id %q is not valid UTF-8", rec.ID)
	case rec.ReceivedAt.IsZero():
		return fmt.Errorf("record %s has no received_at", rec.ID)
	case len(rec.Properties) > 0 && !json.Valid(rec.Properties):
		return fmt.Errorf("record %s: properties are not valid JSON", rec.ID)
	}
	if _, ok := unixNano(rec.ReceivedAt); !ok {
		return fmt.Errorf("record %s: received_at %v out of range", rec.ID, rec.ReceivedAt)
	}
	return nil
}

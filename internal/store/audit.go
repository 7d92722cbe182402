package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// AuditStore keeps the audit log of changes to keys, limits, prices, use
// cases and people. It is append-only: there is no way to change or remove
// an entry through it.
type AuditStore interface {
	// AppendAudit stores e (CheckAuditEntry must accept it). An ID that is
	// already stored is an error, never an overwrite.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns one page of entries matching q, newest first by
	// (At, ID).
	ListAudit(ctx context.Context, q AuditQuery) (AuditPage, error)
}

// AuditEntry is one change: who made it, when, to what, and the object's
// state before (null: created) and after (null: deleted), as JSON.
type AuditEntry struct {
	ID    string     `json:"id"`
	At    time.Time  `json:"at"`
	Actor AuditActor `json:"actor"`
	// Action is object kind and verb: "limit.put", "key.revoke".
	Action     string `json:"action"`
	ObjectKind string `json:"object_kind"`
	ObjectID   string `json:"object_id"`
	// Before and After are JSON documents; empty is null.
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
	// RequestID is the management API request that made the change, when
	// known.
	RequestID string `json:"request_id,omitempty"`
}

// AuditActor is who made a change (audit.Actor, as stored).
type AuditActor struct {
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// AuditQuery selects audit entries. Empty strings and zero times do not
// filter.
type AuditQuery struct {
	// From (inclusive) and To (exclusive) bound At.
	From, To time.Time
	// ObjectKind, ObjectID and Action match exactly; Actor matches the
	// actor's name.
	ObjectKind, ObjectID, Actor, Action string
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit
	// (larger values are clamped), negative is invalid.
	Limit int
	// Cursor is AuditPage.NextCursor of the previous page, or empty.
	Cursor string
}

// Plan validates q and returns its effective limit, cursor and time
// bounds, in the same form as RequestQuery's (Key.ReceivedAt is At).
// Errors wrap ErrInvalidQuery.
func (q AuditQuery) Plan() (Plan, error) {
	return RequestQuery{From: q.From, To: q.To, Limit: q.Limit, Cursor: q.Cursor}.Plan()
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Entries []AuditEntry `json:"entries"`
	// NextCursor is set when more entries may follow.
	NextCursor string `json:"next_cursor,omitempty"`
}

// AuditKeyOf returns the list position of e.
func AuditKeyOf(e *AuditEntry) Key {
	return Key{ReceivedAt: e.At.UnixNano(), ID: e.ID}
}

// MaxAuditDoc is the largest Before or After document a store accepts, in
// bytes.
const MaxAuditDoc = 4 << 20

// CheckAuditEntry reports why e cannot be stored, or nil.
func CheckAuditEntry(e *AuditEntry) error {
	switch {
	case e.ID == "" || len(e.ID) > MaxIDLen || !utf8.ValidString(e.ID):
		return fmt.Errorf("audit entry id %q: 1 to %d bytes of UTF-8 required", e.ID, MaxIDLen)
	case e.At.IsZero():
		return fmt.Errorf("audit entry %s has no time", e.ID)
	case e.Action == "" || e.ObjectKind == "" || e.Actor.Kind == "":
		return fmt.Errorf("audit entry %s: action, object kind and actor kind are required", e.ID)
	}
	if _, ok := unixNano(e.At); !ok {
		return fmt.Errorf("audit entry %s: time %v out of range", e.ID, e.At)
	}
	for _, d := range []json.RawMessage{e.Before, e.After} {
		if len(d) > MaxAuditDoc {
			return fmt.Errorf("audit entry %s: document over %d bytes", e.ID, MaxAuditDoc)
		}
		if len(d) > 0 && !json.Valid(d) {
			return fmt.Errorf("audit entry %s: before or after is not valid JSON", e.ID)
		}
	}
	return nil
}

package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/store"
)

// Store is what the audit log needs of the store.
type Store interface {
	store.AuditStore
}

// Options configure a Log. The zero value is ready to use.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives the entries that could not be written, at error level
	// (default: discarded).
	Log *slog.Logger
	// WriteTimeout bounds one entry's write (default 5s). The write does
	// not stop when the change's request does.
	WriteTimeout time.Duration
}

// Log records changes into the audit log. A nil *Log records nothing.
type Log struct {
	st       Store
	now      func() time.Time
	log      *slog.Logger
	timeout  time.Duration
	failures atomic.Int64
}

// New returns a Log writing to st.
func New(st Store, opt Options) *Log {
	l := &Log{st: st, now: opt.Now, log: opt.Log, timeout: opt.WriteTimeout}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.timeout <= 0 {
		l.timeout = 5 * time.Second
	}
	return l
}

// Record writes one entry: action (object kind and verb, "limit.put") on
// the object kind/id by the actor ctx carries, with the object's state
// before (nil: created) and after (nil: deleted). before and after are
// marshalled to JSON and redacted (see Redact); pass the object's public
// view, never one holding secrets. A failure is logged at error level,
// counted in Failures and returned: callers whose change is already made
// keep it (see the package documentation).
func (l *Log) Record(ctx context.Context, action, objectKind, objectID string, before, after any) error {
	if l == nil {
		return nil
	}
	a := ActorFrom(ctx)
	err := l.record(ctx, a, action, objectKind, objectID, before, after)
	if err != nil {
		l.failures.Add(1)
		l.log.Error("audit entry not written: the change was made but is missing from the audit log",
			"action", action, "object_kind", objectKind, "object_id", objectID,
			"actor_kind", a.Kind, "actor_name", a.Name, "err", err)
	}
	return err
}

func (l *Log) record(ctx context.Context, a Actor, action, objectKind, objectID string, before, after any) error {
	b, err := Redact(before)
	if err != nil {
		return fmt.Errorf("audit %s %s: encode before: %w", action, objectID, err)
	}
	af, err := Redact(after)
	if err != nil {
		return fmt.Errorf("audit %s %s: encode after: %w", action, objectID, err)
	}
	at := l.now().UTC()
	e := store.AuditEntry{
		ID: ids.New("aud_", at), At: at,
		Actor:  store.AuditActor{Kind: a.Kind, Name: a.Name, Role: a.Role},
		Action: action, ObjectKind: objectKind, ObjectID: objectID,
		Before: b, After: af, RequestID: RequestIDFrom(ctx),
	}
	// The change is made: its entry is written even when the request that
	// made it has gone.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	defer cancel()
	if err := l.st.AppendAudit(wctx, e); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, objectID, err)
	}
	return nil
}

// Failures is the number of entries that could not be written since the
// Log was made.
func (l *Log) Failures() int64 {
	if l == nil {
		return 0
	}
	return l.failures.Load()
}

// Redact marshals v to JSON (nil, a nil pointer and JSON null give nil;
// a json.RawMessage is taken as it is) and replaces with "[redacted]"
// every value whose field name says it is a secret (secret, password,
// hash, token, credentials, api_key... see sensitiveName) and every string
// that looks like one (a Weir key or management token, a provider API key,
// an argon2 hash). It is the last line of defence: callers pass public
// views of their objects.
func Redact(v any) (json.RawMessage, error) {
	var raw []byte
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		raw = x
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("redact: data after the JSON value")
	}
	if doc == nil {
		return nil, nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(redactValue(doc)); err != nil {
		return nil, err
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}

// Redacted replaces a secret in a stored document.
const Redacted = "[redacted]"

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if sensitiveName(k) && e != nil && e != "" {
				x[k] = Redacted
			} else {
				x[k] = redactValue(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = redactValue(e)
		}
	case string:
		if secretLooking(x) {
			return Redacted
		}
	}
	return v
}

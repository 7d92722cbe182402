package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/store"
)

var _ store.AuditStore = (*Store)(nil)

// nullDoc stores an empty document (and JSON null) as SQL NULL.
func nullDoc(d []byte) any {
	if len(d) == 0 || string(d) == "null" {
		return nil
	}
	return string(d)
}

// AppendAudit stores an audit entry. The table refuses updates and
// deletes (triggers of migration 8).
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if err := store.CheckAuditEntry(&e); err != nil {
		return fmt.Errorf("append audit: %w: %w", store.ErrInvalidQuery, err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO audit_log
		(id, at, actor_kind, actor_name, actor_role, action, object_kind, object_id, before, after, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.At.UnixNano(), e.Actor.Kind, e.Actor.Name, e.Actor.Role, e.Action, e.ObjectKind, e.ObjectID,
		nullDoc(e.Before), nullDoc(e.After), e.RequestID); err != nil {
		return fmt.Errorf("append audit %s: %w", e.ID, err)
	}
	return nil
}

// ListAudit returns one page of the audit log, newest first.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error) {
	page := store.AuditPage{Entries: []store.AuditEntry{}}
	p, err := q.Plan()
	if err != nil {
		return page, fmt.Errorf("list audit: %w", err)
	}
	var (
		where []string
		args  []any
	)
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("object_kind", q.ObjectKind)
	eq("object_id", q.ObjectID)
	eq("actor_name", q.Actor)
	eq("action", q.Action)
	if p.HasFrom {
		where = append(where, "at >= ?")
		args = append(args, p.From)
	}
	if p.HasTo {
		where = append(where, "at < ?")
		args = append(args, p.To)
	}
	if p.After != nil {
		where = append(where, "(at, id) < (?, ?)")
		args = append(args, p.After.ReceivedAt, p.After.ID)
	}
	var b strings.Builder
	b.WriteString(`SELECT id, at, actor_kind, actor_name, actor_role, action, object_kind, object_id, before, after, request_id FROM audit_log`)
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY at DESC, id DESC LIMIT ?")
	args = append(args, p.Limit+1)
	rows, err := s.r.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return page, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	more := false
	for rows.Next() {
		if len(page.Entries) == p.Limit {
			more = true
			break
		}
		var (
			e             store.AuditEntry
			at            int64
			before, after sql.NullString
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor.Kind, &e.Actor.Name, &e.Actor.Role, &e.Action, &e.ObjectKind, &e.ObjectID, &before, &after, &e.RequestID); err != nil {
			return page, fmt.Errorf("list audit: %w", err)
		}
		e.At = time.Unix(0, at).UTC()
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if after.Valid {
			e.After = []byte(after.String)
		}
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list audit: %w", err)
	}
	if more {
		page.NextCursor = store.AuditKeyOf(&page.Entries[len(page.Entries)-1]).Cursor()
	}
	return page, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// PutLimit appends a revision of a limit (a deletion when d.Doc is nil).
func (s *Store) PutLimit(ctx context.Context, d store.LimitDoc) (store.LimitDoc, error) {
	if d.Name == "" {
		return d, fmt.Errorf("put limit: %w: a name is required", store.ErrInvalidQuery)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("put limit %s: %w", d.Name, err)
	}
	defer tx.Rollback()
	var (
		last sql.NullInt64
		live sql.NullBool
	)
	if err := tx.QueryRowContext(ctx, `SELECT MAX(revision), (SELECT doc IS NOT NULL FROM limits WHERE name = ?1 ORDER BY revision DESC LIMIT 1)
		FROM limits WHERE name = ?1`, d.Name).Scan(&last, &live); err != nil {
		return d, fmt.Errorf("put limit %s: %w", d.Name, err)
	}
	var doc any
	if d.Doc == nil {
		if !live.Bool {
			return d, fmt.Errorf("limit %s: %w", d.Name, store.ErrNotFound)
		}
	} else {
		doc = string(d.Doc)
	}
	d.Revision, d.ChangedAt = int(last.Int64)+1, time.Now().UTC()
	if _, err := tx.ExecContext(ctx, `INSERT INTO limits (name, revision, doc, changed_at, changed_by) VALUES (?, ?, ?, ?, ?)`,
		d.Name, d.Revision, doc, d.ChangedAt.UnixNano(), d.ChangedBy); err != nil {
		return d, fmt.Errorf("put limit %s: %w", d.Name, err)
	}
	return d, tx.Commit()
}

// Limits returns the limits in force.
func (s *Store) Limits(ctx context.Context) ([]store.LimitDoc, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, revision, doc, changed_at, changed_by FROM limits l
		WHERE doc IS NOT NULL AND revision = (SELECT MAX(revision) FROM limits m WHERE m.name = l.name) ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	defer rows.Close()
	out := []store.LimitDoc{}
	for rows.Next() {
		var (
			d   store.LimitDoc
			doc string
			at  int64
		)
		if err := rows.Scan(&d.Name, &d.Revision, &doc, &at, &d.ChangedBy); err != nil {
			return nil, fmt.Errorf("limits: %w", err)
		}
		d.Doc, d.ChangedAt = []byte(doc), time.Unix(0, at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// ResetLimit records a reset.
func (s *Store) ResetLimit(ctx context.Context, r store.LimitReset) error {
	if r.Name == "" || r.At.IsZero() {
		return fmt.Errorf("reset limit: %w: a name and a time are required", store.ErrInvalidQuery)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO limit_resets (name, reset_at, reset_by, note) VALUES (?, ?, ?, ?)`,
		r.Name, r.At.UnixNano(), r.By, r.Note); err != nil {
		return fmt.Errorf("reset limit %s: %w", r.Name, err)
	}
	return nil
}

// LimitResets returns a limit's resets, oldest first.
func (s *Store) LimitResets(ctx context.Context, name string) ([]store.LimitReset, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, reset_at, reset_by, note FROM limit_resets WHERE name = ? ORDER BY reset_at, seq`, name)
	if err != nil {
		return nil, fmt.Errorf("limit resets: %w", err)
	}
	defer rows.Close()
	out := []store.LimitReset{}
	for rows.Next() {
		var (
			r  store.LimitReset
			at int64
		)
		if err := rows.Scan(&r.Name, &at, &r.By, &r.Note); err != nil {
			return nil, fmt.Errorf("limit resets: %w", err)
		}
		r.At = time.Unix(0, at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

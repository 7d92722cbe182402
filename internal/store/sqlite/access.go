package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// PutApplication creates or replaces an application.
func (s *Store) PutApplication(ctx context.Context, a store.ApplicationDoc) (store.ApplicationDoc, error) {
	if a.Name == "" || len(a.Doc) == 0 {
		return a, fmt.Errorf("put application: %w: a name and a document are required", store.ErrInvalidQuery)
	}
	a.ChangedAt = time.Now().UTC()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO applications (name, doc, changed_at, changed_by) VALUES (?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
		a.Name, string(a.Doc), a.ChangedAt.UnixNano(), a.ChangedBy); err != nil {
		return a, fmt.Errorf("put application %s: %w", a.Name, err)
	}
	return a, nil
}

// Applications returns every application.
func (s *Store) Applications(ctx context.Context) ([]store.ApplicationDoc, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, doc, changed_at, changed_by FROM applications ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("applications: %w", err)
	}
	defer rows.Close()
	out := []store.ApplicationDoc{}
	for rows.Next() {
		var (
			a   store.ApplicationDoc
			doc string
			at  int64
		)
		if err := rows.Scan(&a.Name, &doc, &at, &a.ChangedBy); err != nil {
			return nil, fmt.Errorf("applications: %w", err)
		}
		a.Doc, a.ChangedAt = []byte(doc), time.Unix(0, at).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

// AddKey stores a key of an existing application.
func (s *Store) AddKey(ctx context.Context, k store.StoredKey) error {
	if k.ID == "" || k.App == "" || len(k.Hash) == 0 {
		return fmt.Errorf("add key: %w: id, application and hash are required", store.ErrInvalidQuery)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM applications WHERE name = ?`, k.App).Scan(&n); err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("application %s: %w", k.App, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, app, prefix, hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.App, k.Prefix, k.Hash, k.CreatedAt.UnixNano(), k.CreatedBy, nullTime(k.ExpiresAt)); err != nil {
		return fmt.Errorf("add key: %w", err)
	}
	return tx.Commit()
}

// Keys returns every key.
func (s *Store) Keys(ctx context.Context) ([]store.StoredKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, app, prefix, hash, created_at, created_by, expires_at, revoked_at FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer rows.Close()
	out := []store.StoredKey{}
	for rows.Next() {
		var (
			k                store.StoredKey
			created          int64
			expires, revoked sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.App, &k.Prefix, &k.Hash, &created, &k.CreatedBy, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		k.CreatedAt = time.Unix(0, created).UTC()
		if expires.Valid {
			t := time.Unix(0, expires.Int64).UTC()
			k.ExpiresAt = &t
		}
		if revoked.Valid {
			t := time.Unix(0, revoked.Int64).UTC()
			k.RevokedAt = &t
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey marks a key revoked.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, at.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("key %s: %w", id, store.ErrNotFound)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

var _ store.PromptStore = (*Store)(nil)

// AppendPromptVersion stores the next version of a prompt or partial.
func (s *Store) AppendPromptVersion(ctx context.Context, v store.PromptVersion) (store.PromptVersion, error) {
	if v.Kind == "" || v.Name == "" || len(v.Doc) == 0 {
		return v, fmt.Errorf("append prompt version: %w: kind, name and doc are required", store.ErrInvalidQuery)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}
	v.CreatedAt = v.CreatedAt.UTC()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return v, fmt.Errorf("append %s %s: %w", v.Kind, v.Name, err)
	}
	defer tx.Rollback()
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM prompt_versions WHERE kind = ? AND name = ?`, v.Kind, v.Name).Scan(&last); err != nil {
		return v, fmt.Errorf("append %s %s: %w", v.Kind, v.Name, err)
	}
	v.Version = int(last.Int64) + 1
	if _, err := tx.ExecContext(ctx, `INSERT INTO prompt_versions (kind, name, version, doc, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		v.Kind, v.Name, v.Version, string(v.Doc), v.CreatedAt.UnixNano(), v.CreatedBy); err != nil {
		return v, fmt.Errorf("append %s %s: %w", v.Kind, v.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return v, fmt.Errorf("append %s %s: %w", v.Kind, v.Name, err)
	}
	return v, nil
}

// PromptVersion returns one version, or the latest when version is 0.
func (s *Store) PromptVersion(ctx context.Context, kind, name string, version int) (store.PromptVersion, error) {
	q := `SELECT kind, name, version, doc, created_at, created_by FROM prompt_versions WHERE kind = ? AND name = ? AND version = ?`
	args := []any{kind, name, version}
	if version == 0 {
		q = `SELECT kind, name, version, doc, created_at, created_by FROM prompt_versions WHERE kind = ? AND name = ? ORDER BY version DESC LIMIT 1`
		args = args[:2]
	}
	v, err := scanPromptVersion(s.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%s %s version %d: %w", kind, name, version, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("%s %s version %d: %w", kind, name, version, err)
	}
	return v, nil
}

func scanPromptVersion(row interface{ Scan(...any) error }) (store.PromptVersion, error) {
	var (
		v   store.PromptVersion
		doc string
		at  int64
	)
	if err := row.Scan(&v.Kind, &v.Name, &v.Version, &doc, &at, &v.CreatedBy); err != nil {
		return v, err
	}
	v.Doc, v.CreatedAt = []byte(doc), time.Unix(0, at).UTC()
	return v, nil
}

// PromptVersions returns every version of a name, oldest first.
func (s *Store) PromptVersions(ctx context.Context, kind, name string) ([]store.PromptVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, name, version, doc, created_at, created_by FROM prompt_versions WHERE kind = ? AND name = ? ORDER BY version`, kind, name)
	if err != nil {
		return nil, fmt.Errorf("%s %s versions: %w", kind, name, err)
	}
	defer rows.Close()
	var out []store.PromptVersion
	for rows.Next() {
		v, err := scanPromptVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("%s %s versions: %w", kind, name, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s %s versions: %w", kind, name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s %s: %w", kind, name, store.ErrNotFound)
	}
	return out, nil
}

// ListPrompts returns every name of a kind with its latest version.
func (s *Store) ListPrompts(ctx context.Context, kind string) ([]store.PromptSummary, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, version, created_at FROM prompt_versions p
		WHERE kind = ?1 AND version = (SELECT MAX(version) FROM prompt_versions m WHERE m.kind = ?1 AND m.name = p.name) ORDER BY name`, kind)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	defer rows.Close()
	out := []store.PromptSummary{}
	for rows.Next() {
		p := store.PromptSummary{Kind: kind}
		var at int64
		if err := rows.Scan(&p.Name, &p.LatestVersion, &at); err != nil {
			return nil, fmt.Errorf("list %ss: %w", kind, err)
		}
		p.UpdatedAt = time.Unix(0, at).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetPromptLabel moves a label, keeping the move.
func (s *Store) SetPromptLabel(ctx context.Context, c store.PromptLabel) (store.PromptLabel, error) {
	if c.Kind == "" || c.Name == "" || c.Label == "" || c.Version <= 0 {
		return c, fmt.Errorf("set label: %w: kind, name, label and a positive version are required", store.ErrInvalidQuery)
	}
	if c.ChangedAt.IsZero() {
		c.ChangedAt = time.Now()
	}
	c.ChangedAt = c.ChangedAt.UTC()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("set label %s of %s %s: %w", c.Label, c.Kind, c.Name, err)
	}
	defer tx.Rollback()
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM prompt_versions WHERE kind = ? AND name = ? AND version = ?)`, c.Kind, c.Name, c.Version).Scan(&exists); err != nil {
		return c, fmt.Errorf("set label %s of %s %s: %w", c.Label, c.Kind, c.Name, err)
	}
	if !exists {
		return c, fmt.Errorf("%s %s version %d: %w", c.Kind, c.Name, c.Version, store.ErrNotFound)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO prompt_labels (kind, name, label, version, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?)`,
		c.Kind, c.Name, c.Label, c.Version, c.ChangedAt.UnixNano(), c.ChangedBy)
	if err != nil {
		return c, fmt.Errorf("set label %s of %s %s: %w", c.Label, c.Kind, c.Name, err)
	}
	if c.Seq, err = res.LastInsertId(); err != nil {
		return c, fmt.Errorf("set label %s of %s %s: %w", c.Label, c.Kind, c.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return c, fmt.Errorf("set label %s of %s %s: %w", c.Label, c.Kind, c.Name, err)
	}
	return c, nil
}

// PromptLabels returns the labels in force of a name.
func (s *Store) PromptLabels(ctx context.Context, kind, name string) ([]store.PromptLabel, error) {
	return s.promptLabels(ctx, `SELECT seq, kind, name, label, version, changed_at, changed_by FROM prompt_labels l
		WHERE kind = ?1 AND name = ?2 AND seq = (SELECT MAX(seq) FROM prompt_labels m WHERE m.kind = ?1 AND m.name = ?2 AND m.label = l.label)
		ORDER BY label`, kind, name)
}

// PromptLabelHistory returns every label move of a name, oldest first.
func (s *Store) PromptLabelHistory(ctx context.Context, kind, name string) ([]store.PromptLabel, error) {
	return s.promptLabels(ctx, `SELECT seq, kind, name, label, version, changed_at, changed_by FROM prompt_labels
		WHERE kind = ?1 AND name = ?2 ORDER BY seq`, kind, name)
}

func (s *Store) promptLabels(ctx context.Context, q, kind, name string) ([]store.PromptLabel, error) {
	rows, err := s.r.QueryContext(ctx, q, kind, name)
	if err != nil {
		return nil, fmt.Errorf("labels of %s %s: %w", kind, name, err)
	}
	defer rows.Close()
	out := []store.PromptLabel{}
	for rows.Next() {
		var (
			l  store.PromptLabel
			at int64
		)
		if err := rows.Scan(&l.Seq, &l.Kind, &l.Name, &l.Label, &l.Version, &at, &l.ChangedBy); err != nil {
			return nil, fmt.Errorf("labels of %s %s: %w", kind, name, err)
		}
		l.ChangedAt = time.Unix(0, at).UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

var _ store.ExperimentStore = (*Store)(nil)

// experimentsMigration makes the experiments and their results; a result
// row is replaced when its item and variant run again.
const experimentsMigration = `
CREATE TABLE experiments (
	name        TEXT    NOT NULL PRIMARY KEY,
	spec        TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	error       TEXT    NOT NULL,
	total       INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	created_by  TEXT    NOT NULL,
	started_at  INTEGER NOT NULL,
	finished_at INTEGER NOT NULL
);
CREATE INDEX experiments_created ON experiments (created_at DESC, name);
CREATE TABLE experiment_results (
	experiment TEXT    NOT NULL REFERENCES experiments (name),
	item       TEXT    NOT NULL,
	variant    TEXT    NOT NULL,
	doc        TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (experiment, item, variant)
) WITHOUT ROWID;
`

const experimentColumns = `e.name, e.spec, e.status, e.error, e.total, e.created_at, e.created_by, e.started_at, e.finished_at,
	(SELECT COUNT(*) FROM experiment_results r WHERE r.experiment = e.name)`

func unixOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func nanosOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func scanExperiment(row interface{ Scan(...any) error }) (store.Experiment, error) {
	var (
		e                store.Experiment
		spec             string
		created, st, fin int64
	)
	if err := row.Scan(&e.Name, &spec, &e.Status, &e.Error, &e.Total, &created, &e.CreatedBy, &st, &fin, &e.Done); err != nil {
		return e, err
	}
	e.Spec = []byte(spec)
	e.CreatedAt = time.Unix(0, created).UTC()
	e.StartedAt, e.FinishedAt = unixOrZero(st), unixOrZero(fin)
	return e, nil
}

// CreateExperiment stores a new experiment.
func (s *Store) CreateExperiment(ctx context.Context, e store.Experiment) (store.Experiment, error) {
	if e.Name == "" || len(e.Spec) == 0 {
		return e, fmt.Errorf("create experiment: %w: a name and a spec are required", store.ErrInvalidQuery)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	e.CreatedAt = e.CreatedAt.UTC()
	if e.Status == "" {
		e.Status = store.ExperimentPending
	}
	e.Done = 0
	res, err := s.w.ExecContext(ctx, `INSERT INTO experiments (name, spec, status, error, total, created_at, created_by, started_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		e.Name, string(e.Spec), e.Status, e.Error, e.Total, e.CreatedAt.UnixNano(), e.CreatedBy, nanosOrZero(e.StartedAt), nanosOrZero(e.FinishedAt))
	if err != nil {
		return e, fmt.Errorf("create experiment %s: %w", e.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return e, fmt.Errorf("create experiment %s: it exists: %w", e.Name, store.ErrConflict)
	}
	return e, nil
}

// Experiment returns one experiment.
func (s *Store) Experiment(ctx context.Context, name string) (store.Experiment, error) {
	e, err := scanExperiment(s.r.QueryRowContext(ctx, `SELECT `+experimentColumns+` FROM experiments e WHERE e.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("experiment %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("experiment %s: %w", name, err)
	}
	return e, nil
}

// ListExperiments returns the experiments, newest first.
func (s *Store) ListExperiments(ctx context.Context) ([]store.Experiment, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+experimentColumns+` FROM experiments e ORDER BY e.created_at DESC, e.name`)
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	defer rows.Close()
	out := []store.Experiment{}
	for rows.Next() {
		e, err := scanExperiment(rows)
		if err != nil {
			return nil, fmt.Errorf("list experiments: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	return out, nil
}

// SetExperimentStatus changes an experiment's status.
func (s *Store) SetExperimentStatus(ctx context.Context, name, status, errText string, started, finished time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE experiments SET status = ?, error = ?,
		started_at = CASE WHEN ? = 0 THEN started_at ELSE ? END,
		finished_at = CASE WHEN ? = 0 THEN finished_at ELSE ? END WHERE name = ?`,
		status, errText, nanosOrZero(started), nanosOrZero(started), nanosOrZero(finished), nanosOrZero(finished), name)
	if err != nil {
		return fmt.Errorf("set experiment %s status: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set experiment %s status: %w", name, store.ErrNotFound)
	}
	return nil
}

// PutExperimentResult stores (or replaces) one result.
func (s *Store) PutExperimentResult(ctx context.Context, r store.ExperimentResult) error {
	if r.Item == "" || r.Variant == "" || len(r.Doc) == 0 {
		return fmt.Errorf("put experiment result: %w: item, variant and doc are required", store.ErrInvalidQuery)
	}
	if r.At.IsZero() {
		r.At = time.Now()
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO experiment_results (experiment, item, variant, doc, at)
		SELECT name, ?, ?, ?, ? FROM experiments WHERE name = ?
		ON CONFLICT (experiment, item, variant) DO UPDATE SET doc = excluded.doc, at = excluded.at`,
		r.Item, r.Variant, string(r.Doc), r.At.UnixNano(), r.Experiment)
	if err != nil {
		return fmt.Errorf("put experiment %s result: %w", r.Experiment, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("put experiment %s result: %w", r.Experiment, store.ErrNotFound)
	}
	return nil
}

// ExperimentResults returns an experiment's results by item and variant.
func (s *Store) ExperimentResults(ctx context.Context, name string) ([]store.ExperimentResult, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT item, variant, doc, at FROM experiment_results WHERE experiment = ? ORDER BY item, variant`, name)
	if err != nil {
		return nil, fmt.Errorf("experiment %s results: %w", name, err)
	}
	defer rows.Close()
	out := []store.ExperimentResult{}
	for rows.Next() {
		var (
			r   = store.ExperimentResult{Experiment: name}
			doc string
			at  int64
		)
		if err := rows.Scan(&r.Item, &r.Variant, &doc, &at); err != nil {
			return nil, fmt.Errorf("experiment %s results: %w", name, err)
		}
		r.Doc, r.At = []byte(doc), time.Unix(0, at).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("experiment %s results: %w", name, err)
	}
	return out, nil
}

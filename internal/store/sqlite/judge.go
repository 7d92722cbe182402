package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

var (
	_ store.JudgeStore    = (*Store)(nil)
	_ store.JudgeRunStore = (*Store)(nil)
)

// judgesSchema is the migration of the LLM judges, their immutable
// versions and their runs.
const judgesSchema = `
CREATE TABLE judges (
	name       TEXT    NOT NULL PRIMARY KEY,
	criterion  TEXT    NOT NULL,
	created_at INTEGER NOT NULL, -- Unix nanoseconds
	created_by TEXT    NOT NULL
);
CREATE INDEX judges_criterion ON judges (criterion, name);
CREATE TABLE judge_versions (
	judge      TEXT    NOT NULL REFERENCES judges (name),
	version    INTEGER NOT NULL,
	definition TEXT    NOT NULL, -- judge.Definition as JSON
	created_at INTEGER NOT NULL,
	created_by TEXT    NOT NULL,
	PRIMARY KEY (judge, version)
);
CREATE TRIGGER judge_versions_no_update BEFORE UPDATE ON judge_versions
BEGIN SELECT RAISE(ABORT, 'judge versions are immutable'); END;
CREATE TRIGGER judge_versions_no_delete BEFORE DELETE ON judge_versions
BEGIN SELECT RAISE(ABORT, 'judge versions are immutable'); END;
CREATE TABLE judge_runs (
	id         TEXT    NOT NULL PRIMARY KEY,
	judge      TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	doc        TEXT    NOT NULL, -- the run's report as JSON
	created_at INTEGER NOT NULL,
	created_by TEXT    NOT NULL
);
CREATE INDEX judge_runs_judge ON judge_runs (judge, created_at);
`

const judgeCols = `j.name, j.criterion, j.created_at, j.created_by,
	COALESCE((SELECT MAX(version) FROM judge_versions v WHERE v.judge = j.name), 0)`

func scanJudge(row interface{ Scan(...any) error }) (store.Judge, error) {
	var (
		j  store.Judge
		at int64
	)
	if err := row.Scan(&j.Name, &j.Criterion, &at, &j.CreatedBy, &j.LatestVersion); err != nil {
		return j, err
	}
	j.CreatedAt = time.Unix(0, at).UTC()
	return j, nil
}

func getJudge(ctx context.Context, q criteriaQuerier, name string) (store.Judge, error) {
	j, err := scanJudge(q.QueryRowContext(ctx, `SELECT `+judgeCols+` FROM judges j WHERE j.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return j, fmt.Errorf("judge %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return j, fmt.Errorf("judge %s: %w", name, err)
	}
	return j, nil
}

func insertJudgeVersion(ctx context.Context, tx *sql.Tx, v *store.JudgeVersion, version int) error {
	if len(v.Definition) == 0 {
		return fmt.Errorf("%w: a judge version needs a definition", store.ErrInvalidQuery)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}
	v.CreatedAt = v.CreatedAt.UTC()
	v.Version = version
	_, err := tx.ExecContext(ctx, `INSERT INTO judge_versions (judge, version, definition, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
		v.Judge, v.Version, string(v.Definition), v.CreatedAt.UnixNano(), v.CreatedBy)
	return err
}

// CreateJudge stores a new judge with its first version.
func (s *Store) CreateJudge(ctx context.Context, j store.Judge, v store.JudgeVersion) (store.Judge, store.JudgeVersion, error) {
	if j.Name == "" || j.Criterion == "" {
		return j, v, fmt.Errorf("create judge: %w: name and criterion are required", store.ErrInvalidQuery)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = v.CreatedAt
	}
	v.Judge = j.Name
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return j, v, fmt.Errorf("create judge %s: %w", j.Name, err)
	}
	defer tx.Rollback()
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM judges WHERE name = ?)`, j.Name).Scan(&exists); err != nil {
		return j, v, fmt.Errorf("create judge %s: %w", j.Name, err)
	}
	if exists {
		return j, v, fmt.Errorf("create judge %s: it exists: %w", j.Name, store.ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO judges (name, criterion, created_at, created_by) VALUES (?, ?, ?, ?)`,
		j.Name, j.Criterion, j.CreatedAt.UnixNano(), j.CreatedBy); err != nil {
		return j, v, fmt.Errorf("create judge %s: %w", j.Name, err)
	}
	if err := insertJudgeVersion(ctx, tx, &v, 1); err != nil {
		return j, v, fmt.Errorf("create judge %s: %w", j.Name, err)
	}
	got, err := getJudge(ctx, tx, j.Name)
	if err != nil {
		return j, v, err
	}
	if err := tx.Commit(); err != nil {
		return j, v, fmt.Errorf("create judge %s: %w", j.Name, err)
	}
	return got, v, nil
}

// AddJudgeVersion appends the next version on top of base.
func (s *Store) AddJudgeVersion(ctx context.Context, v store.JudgeVersion, base int) (store.JudgeVersion, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return v, fmt.Errorf("add judge version %s: %w", v.Judge, err)
	}
	defer tx.Rollback()
	cur, err := getJudge(ctx, tx, v.Judge)
	if err != nil {
		return v, err
	}
	if cur.LatestVersion != base {
		return v, fmt.Errorf("add judge version %s: version %d is the latest, not %d: %w", v.Judge, cur.LatestVersion, base, store.ErrConflict)
	}
	if err := insertJudgeVersion(ctx, tx, &v, base+1); err != nil {
		return v, fmt.Errorf("add judge version %s: %w", v.Judge, err)
	}
	if err := tx.Commit(); err != nil {
		return v, fmt.Errorf("add judge version %s: %w", v.Judge, err)
	}
	return v, nil
}

// Judge returns one judge's header.
func (s *Store) Judge(ctx context.Context, name string) (store.Judge, error) {
	return getJudge(ctx, s.r, name)
}

// ListJudges returns the judges, of one criterion when criterion is set.
func (s *Store) ListJudges(ctx context.Context, criterion string) ([]store.Judge, error) {
	q, args := `SELECT `+judgeCols+` FROM judges j ORDER BY j.name`, []any{}
	if criterion != "" {
		q, args = `SELECT `+judgeCols+` FROM judges j WHERE j.criterion = ? ORDER BY j.name`, []any{criterion}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list judges: %w", err)
	}
	defer rows.Close()
	out := []store.Judge{}
	for rows.Next() {
		j, err := scanJudge(rows)
		if err != nil {
			return nil, fmt.Errorf("list judges: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list judges: %w", err)
	}
	return out, nil
}

const judgeVersionCols = `judge, version, definition, created_at, created_by`

func scanJudgeVersion(row interface{ Scan(...any) error }) (store.JudgeVersion, error) {
	var (
		v   store.JudgeVersion
		def string
		at  int64
	)
	if err := row.Scan(&v.Judge, &v.Version, &def, &at, &v.CreatedBy); err != nil {
		return v, err
	}
	v.Definition, v.CreatedAt = []byte(def), time.Unix(0, at).UTC()
	return v, nil
}

// JudgeVersion returns one version, the latest when version is 0.
func (s *Store) JudgeVersion(ctx context.Context, name string, version int) (store.JudgeVersion, error) {
	q, args := `SELECT `+judgeVersionCols+` FROM judge_versions WHERE judge = ? AND version = ?`, []any{name, version}
	if version == 0 {
		q, args = `SELECT `+judgeVersionCols+` FROM judge_versions WHERE judge = ? ORDER BY version DESC LIMIT 1`, []any{name}
	}
	v, err := scanJudgeVersion(s.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("judge %s version %d: %w", name, version, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("judge %s version %d: %w", name, version, err)
	}
	return v, nil
}

// JudgeVersions returns every version of a judge, oldest first.
func (s *Store) JudgeVersions(ctx context.Context, name string) ([]store.JudgeVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+judgeVersionCols+` FROM judge_versions WHERE judge = ? ORDER BY version`, name)
	if err != nil {
		return nil, fmt.Errorf("judge %s versions: %w", name, err)
	}
	defer rows.Close()
	var out []store.JudgeVersion
	for rows.Next() {
		v, err := scanJudgeVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("judge %s versions: %w", name, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("judge %s versions: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("judge %s versions: %w", name, store.ErrNotFound)
	}
	return out, nil
}

// PutJudgeRun stores a run.
func (s *Store) PutJudgeRun(ctx context.Context, r store.JudgeRun) error {
	if r.ID == "" || r.Judge == "" || len(r.Doc) == 0 {
		return fmt.Errorf("put judge run: %w: id, judge and doc are required", store.ErrInvalidQuery)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO judge_runs (id, judge, version, doc, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, r.ID, r.Judge, r.Version, string(r.Doc), r.CreatedAt.UTC().UnixNano(), r.CreatedBy)
	if err != nil {
		return fmt.Errorf("put judge run %s: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("put judge run %s: it exists: %w", r.ID, store.ErrConflict)
	}
	return nil
}

// JudgeRun returns one run of a judge.
func (s *Store) JudgeRun(ctx context.Context, judge, id string) (store.JudgeRun, error) {
	var (
		r   store.JudgeRun
		doc string
		at  int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, judge, version, doc, created_at, created_by FROM judge_runs WHERE judge = ? AND id = ?`, judge, id).
		Scan(&r.ID, &r.Judge, &r.Version, &doc, &at, &r.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("judge %s run %s: %w", judge, id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("judge %s run %s: %w", judge, id, err)
	}
	r.Doc, r.CreatedAt = []byte(doc), time.Unix(0, at).UTC()
	return r, nil
}

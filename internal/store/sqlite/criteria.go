package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/store"
)

var (
	_ store.CriterionStore         = (*Store)(nil)
	_ store.CriterionVersionReader = (*Store)(nil)
	_ store.CriterionChangeStore   = (*Store)(nil)
	_ store.ScoreStore             = (*Store)(nil)
)

// criteriaSchema is the migration of the criteria, their versions, their
// proposed changes and the scores given under them.
const criteriaSchema = `
-- Evaluation criteria: the header (use case, owners, approval) changes in
-- place; the definitions are immutable versions.
CREATE TABLE criteria (
	name              TEXT    NOT NULL PRIMARY KEY,
	use_case          TEXT    NOT NULL,
	business_owner    TEXT    NOT NULL,
	technical_owner   TEXT    NOT NULL,
	requires_approval INTEGER NOT NULL,
	created_at        INTEGER NOT NULL, -- Unix nanoseconds
	changed_at        INTEGER NOT NULL,
	changed_by        TEXT    NOT NULL
);
CREATE INDEX criteria_use_case ON criteria (use_case, name);
CREATE TABLE criterion_versions (
	criterion  TEXT    NOT NULL REFERENCES criteria (name),
	version    INTEGER NOT NULL,
	definition TEXT    NOT NULL, -- eval.Definition as JSON
	author     TEXT    NOT NULL,
	reason     TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (criterion, version)
);
CREATE TRIGGER criterion_versions_no_update BEFORE UPDATE ON criterion_versions
BEGIN SELECT RAISE(ABORT, 'criterion versions are immutable'); END;
CREATE TRIGGER criterion_versions_no_delete BEFORE DELETE ON criterion_versions
BEGIN SELECT RAISE(ABORT, 'criterion versions are immutable'); END;
-- Changes waiting for the other owner's approval, and decided ones; at
-- most one pending per criterion.
CREATE TABLE criterion_changes (
	id                TEXT    NOT NULL PRIMARY KEY,
	criterion         TEXT    NOT NULL REFERENCES criteria (name),
	base              INTEGER NOT NULL,
	business_owner    TEXT    NOT NULL,
	technical_owner   TEXT    NOT NULL,
	requires_approval INTEGER NOT NULL,
	definition        TEXT, -- NULL: the definition is not changed
	reason            TEXT    NOT NULL,
	proposed_by       TEXT    NOT NULL,
	proposed_at       INTEGER NOT NULL,
	status            TEXT    NOT NULL,
	decided_by        TEXT    NOT NULL DEFAULT '',
	decided_at        INTEGER NOT NULL DEFAULT 0,
	decision_reason   TEXT    NOT NULL DEFAULT '',
	version           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX criterion_changes_criterion ON criterion_changes (criterion, proposed_at);
CREATE UNIQUE INDEX criterion_changes_pending ON criterion_changes (criterion) WHERE status = 'pending';
-- Scores, append-only, each under one criterion version. pass is the
-- definition's verdict when written (NULL: the definition has none).
CREATE TABLE scores (
	id                TEXT    NOT NULL PRIMARY KEY,
	criterion         TEXT    NOT NULL,
	criterion_version INTEGER NOT NULL,
	evaluator_kind    TEXT    NOT NULL,
	evaluator         TEXT    NOT NULL,
	target_kind       TEXT    NOT NULL,
	target            TEXT    NOT NULL,
	value_bool        INTEGER,
	value_label       TEXT,
	value_number      REAL,
	pass              INTEGER,
	reasoning         TEXT    NOT NULL,
	at                INTEGER NOT NULL -- Unix nanoseconds
);
CREATE INDEX scores_at ON scores (at, id);
CREATE INDEX scores_criterion ON scores (criterion, criterion_version, at, id);
CREATE INDEX scores_target ON scores (target_kind, target, at);
CREATE INDEX scores_evaluator ON scores (evaluator, at);
CREATE TRIGGER scores_no_update BEFORE UPDATE ON scores
BEGIN SELECT RAISE(ABORT, 'scores are immutable'); END;
`

const criterionCols = `c.name, c.use_case, c.business_owner, c.technical_owner, c.requires_approval, c.created_at, c.changed_at, c.changed_by,
	COALESCE((SELECT MAX(version) FROM criterion_versions v WHERE v.criterion = c.name), 0)`

func scanCriterion(row interface{ Scan(...any) error }) (store.Criterion, error) {
	var (
		c                store.Criterion
		created, changed int64
		requires         int
	)
	if err := row.Scan(&c.Name, &c.UseCase, &c.BusinessOwner, &c.TechnicalOwner, &requires, &created, &changed, &c.ChangedBy, &c.LatestVersion); err != nil {
		return c, err
	}
	c.RequiresApproval = requires != 0
	c.CreatedAt, c.ChangedAt = time.Unix(0, created).UTC(), time.Unix(0, changed).UTC()
	return c, nil
}

type criteriaQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getCriterion(ctx context.Context, q criteriaQuerier, name string) (store.Criterion, error) {
	c, err := scanCriterion(q.QueryRowContext(ctx, `SELECT `+criterionCols+` FROM criteria c WHERE c.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("criterion %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("criterion %s: %w", name, err)
	}
	return c, nil
}

func appendCriterionVersion(ctx context.Context, tx *sql.Tx, v *store.CriterionVersion, version int) error {
	if len(v.Definition) == 0 {
		return fmt.Errorf("%w: a version needs a definition", store.ErrInvalidQuery)
	}
	v.Version = version
	v.CreatedAt = v.CreatedAt.UTC()
	_, err := tx.ExecContext(ctx, `INSERT INTO criterion_versions (criterion, version, definition, author, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		v.Criterion, v.Version, string(v.Definition), v.Author, v.Reason, v.CreatedAt.UnixNano())
	return err
}

// CreateCriterion stores a new criterion and its first version.
func (s *Store) CreateCriterion(ctx context.Context, c store.Criterion, v store.CriterionVersion) (store.Criterion, store.CriterionVersion, error) {
	if c.Name == "" || c.UseCase == "" {
		return c, v, fmt.Errorf("create criterion: %w: name and use case are required", store.ErrInvalidQuery)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = v.CreatedAt
	}
	if c.ChangedAt.IsZero() {
		c.ChangedAt = c.CreatedAt
	}
	v.Criterion = c.Name
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return c, v, fmt.Errorf("create criterion %s: %w", c.Name, err)
	}
	defer tx.Rollback()
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM criteria WHERE name = ?)`, c.Name).Scan(&exists); err != nil {
		return c, v, fmt.Errorf("create criterion %s: %w", c.Name, err)
	}
	if exists {
		return c, v, fmt.Errorf("create criterion %s: it exists: %w", c.Name, store.ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO criteria (name, use_case, business_owner, technical_owner, requires_approval, created_at, changed_at, changed_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.Name, c.UseCase, c.BusinessOwner, c.TechnicalOwner, b2i(c.RequiresApproval),
		c.CreatedAt.UnixNano(), c.ChangedAt.UnixNano(), c.ChangedBy); err != nil {
		return c, v, fmt.Errorf("create criterion %s: %w", c.Name, err)
	}
	if err := appendCriterionVersion(ctx, tx, &v, 1); err != nil {
		return c, v, fmt.Errorf("create criterion %s: %w", c.Name, err)
	}
	got, err := getCriterion(ctx, tx, c.Name)
	if err != nil {
		return c, v, err
	}
	if err := tx.Commit(); err != nil {
		return c, v, fmt.Errorf("create criterion %s: %w", c.Name, err)
	}
	return got, v, nil
}

// UpdateCriterion changes a criterion's header and, with v, appends a
// version on top of base.
func (s *Store) UpdateCriterion(ctx context.Context, c store.Criterion, v *store.CriterionVersion, base int) (store.Criterion, *store.CriterionVersion, error) {
	if c.ChangedAt.IsZero() {
		c.ChangedAt = time.Now()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return c, v, fmt.Errorf("update criterion %s: %w", c.Name, err)
	}
	defer tx.Rollback()
	cur, err := getCriterion(ctx, tx, c.Name)
	if err != nil {
		return c, v, err
	}
	if cur.LatestVersion != base {
		return c, v, fmt.Errorf("update criterion %s: version %d is the latest, not %d: %w", c.Name, cur.LatestVersion, base, store.ErrConflict)
	}
	if err := updateCriterionHeader(ctx, tx, c.Name, c.BusinessOwner, c.TechnicalOwner, c.RequiresApproval, c.ChangedAt, c.ChangedBy); err != nil {
		return c, v, fmt.Errorf("update criterion %s: %w", c.Name, err)
	}
	if v != nil {
		nv := *v
		nv.Criterion = c.Name
		if nv.CreatedAt.IsZero() {
			nv.CreatedAt = c.ChangedAt
		}
		if err := appendCriterionVersion(ctx, tx, &nv, base+1); err != nil {
			return c, v, fmt.Errorf("update criterion %s: %w", c.Name, err)
		}
		v = &nv
	}
	got, err := getCriterion(ctx, tx, c.Name)
	if err != nil {
		return c, v, err
	}
	if err := tx.Commit(); err != nil {
		return c, v, fmt.Errorf("update criterion %s: %w", c.Name, err)
	}
	return got, v, nil
}

func updateCriterionHeader(ctx context.Context, tx *sql.Tx, name, business, technical string, requires bool, at time.Time, by string) error {
	_, err := tx.ExecContext(ctx, `UPDATE criteria SET business_owner = ?, technical_owner = ?, requires_approval = ?, changed_at = ?, changed_by = ? WHERE name = ?`,
		business, technical, b2i(requires), at.UnixNano(), by, name)
	return err
}

// Criterion returns one criterion's header.
func (s *Store) Criterion(ctx context.Context, name string) (store.Criterion, error) {
	return getCriterion(ctx, s.r, name)
}

// ListCriteria returns the criteria, of one use case when useCase is set.
func (s *Store) ListCriteria(ctx context.Context, useCase string) ([]store.Criterion, error) {
	q, args := `SELECT `+criterionCols+` FROM criteria c ORDER BY c.name`, []any{}
	if useCase != "" {
		q, args = `SELECT `+criterionCols+` FROM criteria c WHERE c.use_case = ? ORDER BY c.name`, []any{useCase}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list criteria: %w", err)
	}
	defer rows.Close()
	out := []store.Criterion{}
	for rows.Next() {
		c, err := scanCriterion(rows)
		if err != nil {
			return nil, fmt.Errorf("list criteria: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list criteria: %w", err)
	}
	return out, nil
}

const criterionVersionCols = `criterion, version, definition, author, reason, created_at`

func scanCriterionVersion(row interface{ Scan(...any) error }) (store.CriterionVersion, error) {
	var (
		v   store.CriterionVersion
		def string
		at  int64
	)
	if err := row.Scan(&v.Criterion, &v.Version, &def, &v.Author, &v.Reason, &at); err != nil {
		return v, err
	}
	v.Definition, v.CreatedAt = []byte(def), time.Unix(0, at).UTC()
	return v, nil
}

// CriterionVersion returns one version, the latest when version is 0.
func (s *Store) CriterionVersion(ctx context.Context, name string, version int) (store.CriterionVersion, error) {
	q, args := `SELECT `+criterionVersionCols+` FROM criterion_versions WHERE criterion = ? AND version = ?`, []any{name, version}
	if version == 0 {
		q, args = `SELECT `+criterionVersionCols+` FROM criterion_versions WHERE criterion = ? ORDER BY version DESC LIMIT 1`, []any{name}
	}
	v, err := scanCriterionVersion(s.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("criterion %s version %d: %w", name, version, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("criterion %s version %d: %w", name, version, err)
	}
	return v, nil
}

// CriterionVersions returns every version of a criterion, oldest first.
func (s *Store) CriterionVersions(ctx context.Context, name string) ([]store.CriterionVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+criterionVersionCols+` FROM criterion_versions WHERE criterion = ? ORDER BY version`, name)
	if err != nil {
		return nil, fmt.Errorf("criterion %s versions: %w", name, err)
	}
	defer rows.Close()
	var out []store.CriterionVersion
	for rows.Next() {
		v, err := scanCriterionVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("criterion %s versions: %w", name, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("criterion %s versions: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("criterion %s: %w", name, store.ErrNotFound)
	}
	return out, nil
}

const criterionChangeCols = `id, criterion, base, business_owner, technical_owner, requires_approval, definition, reason, proposed_by, proposed_at,
	status, decided_by, decided_at, decision_reason, version`

func scanCriterionChange(row interface{ Scan(...any) error }) (store.CriterionChange, error) {
	var (
		c                 store.CriterionChange
		requires          int
		def               sql.NullString
		proposed, decided int64
	)
	if err := row.Scan(&c.ID, &c.Criterion, &c.Base, &c.BusinessOwner, &c.TechnicalOwner, &requires, &def, &c.Reason, &c.ProposedBy, &proposed,
		&c.Status, &c.DecidedBy, &decided, &c.DecisionReason, &c.Version); err != nil {
		return c, err
	}
	c.RequiresApproval = requires != 0
	if def.Valid {
		c.Definition = []byte(def.String)
	}
	c.ProposedAt = time.Unix(0, proposed).UTC()
	if decided != 0 {
		c.DecidedAt = time.Unix(0, decided).UTC()
	}
	return c, nil
}

// AddCriterionChange stores a pending change.
func (s *Store) AddCriterionChange(ctx context.Context, c store.CriterionChange) (store.CriterionChange, error) {
	if c.ID == "" || c.Criterion == "" {
		return c, fmt.Errorf("add criterion change: %w: id and criterion are required", store.ErrInvalidQuery)
	}
	if c.ProposedAt.IsZero() {
		c.ProposedAt = time.Now()
	}
	c.ProposedAt, c.Status = c.ProposedAt.UTC(), store.ChangePending
	c.DecidedBy, c.DecidedAt, c.DecisionReason, c.Version = "", time.Time{}, "", 0
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("add criterion change: %w", err)
	}
	defer tx.Rollback()
	if _, err := getCriterion(ctx, tx, c.Criterion); err != nil {
		return c, err
	}
	var pending sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT id FROM criterion_changes WHERE criterion = ? AND status = 'pending'`, c.Criterion).Scan(&pending); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("add criterion change: %w", err)
	}
	if pending.Valid {
		return c, fmt.Errorf("criterion %s has a pending change %s: %w", c.Criterion, pending.String, store.ErrConflict)
	}
	var def any
	if len(c.Definition) > 0 {
		def = string(c.Definition)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO criterion_changes (id, criterion, base, business_owner, technical_owner, requires_approval, definition, reason, proposed_by, proposed_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`, c.ID, c.Criterion, c.Base, c.BusinessOwner, c.TechnicalOwner, b2i(c.RequiresApproval), def,
		c.Reason, c.ProposedBy, c.ProposedAt.UnixNano()); err != nil {
		return c, fmt.Errorf("add criterion change: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return c, fmt.Errorf("add criterion change: %w", err)
	}
	return c, nil
}

// CriterionChanges returns a criterion's changes, oldest first.
func (s *Store) CriterionChanges(ctx context.Context, name string) ([]store.CriterionChange, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+criterionChangeCols+` FROM criterion_changes WHERE criterion = ? ORDER BY proposed_at, id`, name)
	if err != nil {
		return nil, fmt.Errorf("criterion %s changes: %w", name, err)
	}
	defer rows.Close()
	out := []store.CriterionChange{}
	for rows.Next() {
		c, err := scanCriterionChange(rows)
		if err != nil {
			return nil, fmt.Errorf("criterion %s changes: %w", name, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func getCriterionChange(ctx context.Context, q criteriaQuerier, name, id string) (store.CriterionChange, error) {
	c, err := scanCriterionChange(q.QueryRowContext(ctx, `SELECT `+criterionChangeCols+` FROM criterion_changes WHERE criterion = ? AND id = ?`, name, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("criterion %s change %s: %w", name, id, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("criterion %s change %s: %w", name, id, err)
	}
	return c, nil
}

// CriterionChange returns one change.
func (s *Store) CriterionChange(ctx context.Context, name, id string) (store.CriterionChange, error) {
	return getCriterionChange(ctx, s.r, name, id)
}

// DecideCriterionChange approves (and applies), rejects or withdraws a
// pending change.
func (s *Store) DecideCriterionChange(ctx context.Context, name, id, status, by, reason string, at time.Time) (store.CriterionChange, error) {
	if status != store.ChangeApproved && status != store.ChangeRejected && status != store.ChangeWithdrawn {
		return store.CriterionChange{}, fmt.Errorf("decide criterion change: %w: status %q", store.ErrInvalidQuery, status)
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.CriterionChange{}, fmt.Errorf("decide criterion change: %w", err)
	}
	defer tx.Rollback()
	c, err := getCriterionChange(ctx, tx, name, id)
	if err != nil {
		return c, err
	}
	if c.Status != store.ChangePending {
		return c, fmt.Errorf("criterion %s change %s is %s: %w", name, id, c.Status, store.ErrConflict)
	}
	c.Status, c.DecidedBy, c.DecidedAt, c.DecisionReason = status, by, at, reason
	if status == store.ChangeApproved {
		cur, err := getCriterion(ctx, tx, name)
		if err != nil {
			return c, err
		}
		if cur.LatestVersion != c.Base {
			return c, fmt.Errorf("criterion %s change %s was proposed on version %d, the latest is %d: %w", name, id, c.Base, cur.LatestVersion, store.ErrConflict)
		}
		if err := updateCriterionHeader(ctx, tx, name, c.BusinessOwner, c.TechnicalOwner, c.RequiresApproval, at, by); err != nil {
			return c, fmt.Errorf("apply criterion %s change %s: %w", name, id, err)
		}
		if len(c.Definition) > 0 {
			v := store.CriterionVersion{Criterion: name, Definition: c.Definition, Author: c.ProposedBy, Reason: c.Reason, CreatedAt: at}
			if err := appendCriterionVersion(ctx, tx, &v, c.Base+1); err != nil {
				return c, fmt.Errorf("apply criterion %s change %s: %w", name, id, err)
			}
			c.Version = v.Version
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE criterion_changes SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?, version = ? WHERE id = ?`,
		c.Status, c.DecidedBy, c.DecidedAt.UnixNano(), c.DecisionReason, c.Version, c.ID); err != nil {
		return c, fmt.Errorf("decide criterion change: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return c, fmt.Errorf("decide criterion change: %w", err)
	}
	return c, nil
}

func nullCriterionBool(b *bool) any {
	if b == nil {
		return nil
	}
	return b2i(*b)
}

// PutScores stores a batch of scores, skipping known IDs.
func (s *Store) PutScores(ctx context.Context, scores []store.StoredScore) (int, error) {
	for i := range scores {
		sc := &scores[i]
		if sc.ID == "" || len(sc.ID) > store.MaxIDLen || sc.Criterion == "" || sc.CriterionVersion <= 0 || sc.EvaluatorKind == "" || sc.Evaluator == "" ||
			sc.TargetKind == "" || sc.Target == "" || sc.At.IsZero() {
			return 0, fmt.Errorf("put scores: %w: score %d lacks an id, criterion, version, evaluator, target or time", store.ErrInvalidQuery, i)
		}
	}
	if len(scores) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("put scores: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO scores (id, criterion, criterion_version, evaluator_kind, evaluator, target_kind, target,
		value_bool, value_label, value_number, pass, reasoning, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("put scores: %w", err)
	}
	defer stmt.Close()
	n := 0
	for _, sc := range scores {
		var label, number any
		if sc.Value.Label != "" {
			label = sc.Value.Label
		}
		if sc.Value.Number != nil {
			number = *sc.Value.Number
		}
		res, err := stmt.ExecContext(ctx, sc.ID, sc.Criterion, sc.CriterionVersion, string(sc.EvaluatorKind), sc.Evaluator, string(sc.TargetKind), sc.Target,
			nullCriterionBool(sc.Value.Bool), label, number, nullCriterionBool(sc.Pass), sc.Reasoning, sc.At.UnixNano())
		if err != nil {
			return 0, fmt.Errorf("put scores: score %s: %w", sc.ID, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("put scores: %w", err)
		}
		n += int(k)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("put scores: %w", err)
	}
	return n, nil
}

// ListScores returns one page of scores, newest first.
func (s *Store) ListScores(ctx context.Context, q store.ScoreQuery) (store.ScorePage, error) {
	page := store.ScorePage{Scores: []store.StoredScore{}}
	p, err := store.RequestQuery{From: q.From, To: q.To, Limit: q.Limit, Cursor: q.Cursor}.Plan()
	if err != nil {
		return page, fmt.Errorf("list scores: %w", err)
	}
	if q.CriterionVersion < 0 {
		return page, fmt.Errorf("list scores: %w: negative version", store.ErrInvalidQuery)
	}
	var (
		where []string
		args  []any
	)
	eq := func(col string, v any, set bool) {
		if set {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("criterion", q.Criterion, q.Criterion != "")
	eq("criterion_version", q.CriterionVersion, q.CriterionVersion != 0)
	eq("evaluator_kind", string(q.EvaluatorKind), q.EvaluatorKind != "")
	eq("evaluator", q.Evaluator, q.Evaluator != "")
	eq("target_kind", string(q.TargetKind), q.TargetKind != "")
	eq("target", q.Target, q.Target != "")
	if p.HasFrom {
		where, args = append(where, "at >= ?"), append(args, p.From)
	}
	if p.HasTo {
		where, args = append(where, "at < ?"), append(args, p.To)
	}
	if p.After != nil {
		where, args = append(where, "(at < ? OR (at = ? AND id < ?))"), append(args, p.After.ReceivedAt, p.After.ReceivedAt, p.After.ID)
	}
	var b strings.Builder
	b.WriteString(`SELECT id, criterion, criterion_version, evaluator_kind, evaluator, target_kind, target, value_bool, value_label, value_number, pass, reasoning, at FROM scores`)
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY at DESC, id DESC LIMIT ?")
	args = append(args, p.Limit+1)
	rows, err := s.r.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return page, fmt.Errorf("list scores: %w", err)
	}
	defer rows.Close()
	more := false
	for rows.Next() {
		if len(page.Scores) == p.Limit {
			more = true
			break
		}
		var (
			sc       store.StoredScore
			ek, tk   string
			vb, pass sql.NullInt64
			label    sql.NullString
			number   sql.NullFloat64
			at       int64
		)
		if err := rows.Scan(&sc.ID, &sc.Criterion, &sc.CriterionVersion, &ek, &sc.Evaluator, &tk, &sc.Target, &vb, &label, &number, &pass, &sc.Reasoning, &at); err != nil {
			return page, fmt.Errorf("list scores: %w", err)
		}
		sc.EvaluatorKind, sc.TargetKind, sc.At = eval.EvaluatorKind(ek), eval.TargetKind(tk), time.Unix(0, at).UTC()
		if vb.Valid {
			b := vb.Int64 != 0
			sc.Value.Bool = &b
		}
		sc.Value.Label = label.String
		if number.Valid {
			f := number.Float64
			sc.Value.Number = &f
		}
		if pass.Valid {
			b := pass.Int64 != 0
			sc.Pass = &b
		}
		page.Scores = append(page.Scores, sc)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list scores: %w", err)
	}
	if more {
		last := page.Scores[len(page.Scores)-1]
		page.NextCursor = store.Key{ReceivedAt: last.At.UnixNano(), ID: last.ID}.Cursor()
	}
	return page, nil
}

// SummarizeScores counts a criterion's scores per version, evaluator kind
// and UTC day.
func (s *Store) SummarizeScores(ctx context.Context, criterion string, from, to time.Time) ([]store.ScoreSummary, error) {
	p, err := store.RequestQuery{From: from, To: to}.Plan()
	if err != nil {
		return nil, fmt.Errorf("summarize scores: %w", err)
	}
	q := `SELECT criterion_version, evaluator_kind,
		CASE WHEN at >= 0 THEN at / 86400000000000 ELSE -((-(at + 1)) / 86400000000000) - 1 END AS d,
		COUNT(*), COUNT(pass), COALESCE(SUM(pass), 0), AVG(value_number)
		FROM scores WHERE criterion = ?`
	args := []any{criterion}
	if p.HasFrom {
		q, args = q+" AND at >= ?", append(args, p.From)
	}
	if p.HasTo {
		q, args = q+" AND at < ?", append(args, p.To)
	}
	q += " GROUP BY criterion_version, evaluator_kind, d ORDER BY criterion_version, evaluator_kind, d"
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("summarize scores: %w", err)
	}
	defer rows.Close()
	out := []store.ScoreSummary{}
	for rows.Next() {
		var (
			r    store.ScoreSummary
			kind string
			day  int64
			mean sql.NullFloat64
		)
		if err := rows.Scan(&r.Version, &kind, &day, &r.Count, &r.Judged, &r.Passes, &mean); err != nil {
			return nil, fmt.Errorf("summarize scores: %w", err)
		}
		r.EvaluatorKind, r.Day = eval.EvaluatorKind(kind), time.Unix(day*86400, 0).UTC()
		if mean.Valid {
			m := mean.Float64
			r.Mean = &m
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

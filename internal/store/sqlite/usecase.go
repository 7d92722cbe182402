package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// PutUseCase appends a revision of a use case definition.
func (s *Store) PutUseCase(ctx context.Context, d store.UseCaseDoc, ifRevision int) (store.UseCaseDoc, error) {
	if d.Name == "" || len(d.Doc) == 0 {
		return d, fmt.Errorf("put use case: %w: a name and a document are required", store.ErrInvalidQuery)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("put use case %s: %w", d.Name, err)
	}
	defer tx.Rollback()
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(revision) FROM use_cases WHERE name = ?`, d.Name).Scan(&last); err != nil {
		return d, fmt.Errorf("put use case %s: %w", d.Name, err)
	}
	if ifRevision > 0 && int(last.Int64) != ifRevision {
		return d, fmt.Errorf("put use case %s: revision %d is not the latest (%d): %w", d.Name, ifRevision, last.Int64, store.ErrConflict)
	}
	d.Revision = int(last.Int64) + 1
	d.ChangedAt = time.Now().UTC()
	if _, err := tx.ExecContext(ctx, `INSERT INTO use_cases (name, revision, doc, changed_at, changed_by) VALUES (?, ?, ?, ?, ?)`,
		d.Name, d.Revision, string(d.Doc), d.ChangedAt.UnixNano(), d.ChangedBy); err != nil {
		return d, fmt.Errorf("put use case %s: %w", d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return d, fmt.Errorf("put use case %s: %w", d.Name, err)
	}
	return d, nil
}

// UseCases returns the latest revision of each use case.
func (s *Store) UseCases(ctx context.Context) ([]store.UseCaseDoc, error) {
	return s.useCaseDocs(ctx, `SELECT name, revision, doc, changed_at, changed_by FROM use_cases u
		WHERE revision = (SELECT MAX(revision) FROM use_cases v WHERE v.name = u.name) ORDER BY name`)
}

// UseCaseHistory returns every revision of a use case.
func (s *Store) UseCaseHistory(ctx context.Context, name string) ([]store.UseCaseDoc, error) {
	out, err := s.useCaseDocs(ctx, `SELECT name, revision, doc, changed_at, changed_by FROM use_cases WHERE name = ? ORDER BY revision`, name)
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("use case %s: %w", name, store.ErrNotFound)
	}
	return out, err
}

func (s *Store) useCaseDocs(ctx context.Context, query string, args ...any) ([]store.UseCaseDoc, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("use cases: %w", err)
	}
	defer rows.Close()
	out := []store.UseCaseDoc{}
	for rows.Next() {
		var (
			d   store.UseCaseDoc
			doc string
			at  int64
		)
		if err := rows.Scan(&d.Name, &d.Revision, &doc, &at, &d.ChangedBy); err != nil {
			return nil, fmt.Errorf("use cases: %w", err)
		}
		d.Doc, d.ChangedAt = []byte(doc), time.Unix(0, at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// PutKPIResult makes r the value in force, keeping the one it replaces.
func (s *Store) PutKPIResult(ctx context.Context, r store.KPIResult) (store.KPIResult, bool, error) {
	if r.UseCase == "" || r.Instance == "" || r.KPI == "" || r.At.IsZero() {
		return r, false, fmt.Errorf("put KPI result: %w: use case, instance, KPI and time are required", store.ErrInvalidQuery)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return r, false, fmt.Errorf("put KPI result: %w", err)
	}
	defer tx.Rollback()
	var (
		cur               store.KPIResult
		at, recorded, seq int64
		curTeam           string
	)
	err = tx.QueryRowContext(ctx, `SELECT seq, value, at, recorded_at, recorded_by, team FROM kpi_results
		WHERE use_case = ? AND instance = ? AND kpi = ? AND current = 1`, r.UseCase, r.Instance, r.KPI).Scan(&seq, &cur.Nanos, &at, &recorded, &cur.RecordedBy, &curTeam)
	switch {
	case err == nil:
		if cur.Nanos == r.Nanos {
			cur.UseCase, cur.Instance, cur.KPI, cur.Current = r.UseCase, r.Instance, r.KPI, true
			cur.At, cur.RecordedAt = time.Unix(0, at).UTC(), time.Unix(0, recorded).UTC()
			return cur, false, nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE kpi_results SET current = 0 WHERE seq = ?`, seq); err != nil {
			return r, false, fmt.Errorf("put KPI result: %w", err)
		}
		// The replaced value leaves its day's sums.
		if err := kpiDayAdd(ctx, tx, r.UseCase, r.KPI, curTeam, at, cur.Nanos, -1); err != nil {
			return r, false, fmt.Errorf("put KPI result: %w", err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return r, false, fmt.Errorf("put KPI result: %w", err)
	}
	r.RecordedAt, r.Current = time.Now().UTC(), true
	r.At = r.At.UTC()
	team, err := instanceTeam(ctx, tx, r.UseCase, r.Instance)
	if err != nil {
		return r, false, fmt.Errorf("put KPI result: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO kpi_results (use_case, instance, kpi, value, at, recorded_at, recorded_by, current, team)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)`, r.UseCase, r.Instance, r.KPI, r.Nanos, r.At.UnixNano(), r.RecordedAt.UnixNano(), r.RecordedBy, team); err != nil {
		return r, false, fmt.Errorf("put KPI result: %w", err)
	}
	if err := kpiDayAdd(ctx, tx, r.UseCase, r.KPI, team, r.At.UnixNano(), r.Nanos, 1); err != nil {
		return r, false, fmt.Errorf("put KPI result: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return r, false, fmt.Errorf("put KPI result: %w", err)
	}
	return r, true, nil
}

const kpiColumns = `use_case, instance, kpi, value, at, recorded_at, recorded_by, current`

func scanKPIs(rows *sql.Rows) ([]store.KPIResult, error) {
	defer rows.Close()
	out := []store.KPIResult{}
	for rows.Next() {
		var (
			r            store.KPIResult
			at, recorded int64
		)
		if err := rows.Scan(&r.UseCase, &r.Instance, &r.KPI, &r.Nanos, &at, &recorded, &r.RecordedBy, &r.Current); err != nil {
			return nil, fmt.Errorf("KPI results: %w", err)
		}
		r.At, r.RecordedAt = time.Unix(0, at).UTC(), time.Unix(0, recorded).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// KPIHistory returns every value of one instance's KPI.
func (s *Store) KPIHistory(ctx context.Context, useCase, instance, kpi string) ([]store.KPIResult, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+kpiColumns+` FROM kpi_results
		WHERE use_case = ? AND instance = ? AND kpi = ? ORDER BY seq`, useCase, instance, kpi)
	if err != nil {
		return nil, fmt.Errorf("KPI history: %w", err)
	}
	out, err := scanKPIs(rows)
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("KPI %s of %s/%s: %w", kpi, useCase, instance, store.ErrNotFound)
	}
	return out, err
}

// instanceWhere is the WHERE clause of a use case's calls in q's range.
func instanceWhere(q store.InstanceQuery) (string, []any, error) {
	if q.UseCase == "" {
		return "", nil, fmt.Errorf("%w: a use case is required", store.ErrInvalidQuery)
	}
	p, err := store.RequestQuery{From: q.From, To: q.To}.Plan()
	if err != nil {
		return "", nil, err
	}
	where, args := rangeWhere(p)
	where = "use_case = ?" + where
	args = append([]any{q.UseCase}, args...)
	if q.Version != "" {
		where += " AND use_case_version = ?"
		args = append(args, q.Version)
	}
	return where, args, nil
}

// InstanceKPIs returns the values in force for the instances with calls in
// q's range.
func (s *Store) InstanceKPIs(ctx context.Context, q store.InstanceQuery) ([]store.KPIResult, error) {
	where, args, err := instanceWhere(q)
	if err != nil {
		return nil, fmt.Errorf("instance KPIs: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+kpiColumns+` FROM kpi_results
		WHERE current = 1 AND use_case = ? AND instance IN (
			SELECT DISTINCT use_case_instance FROM requests INDEXED BY requests_use_case_report WHERE `+where+`)
		ORDER BY instance, kpi`, append([]any{q.UseCase}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("instance KPIs: %w", err)
	}
	return scanKPIs(rows)
}

// InstanceTotals sums a use case's calls per instance. SQLite gives the
// bare columns of a MIN() aggregate the values of the row holding the
// minimum: the first call's version, team, user and account. Calls without
// an instance are grouped by their own UTC day, version, team, user and
// account, so that each lands in its own report group. Calls refused by a
// budget limit count as calls, not as errors, and not in latency.
func (s *Store) InstanceTotals(ctx context.Context, q store.InstanceQuery) ([]store.InstanceTotal, error) {
	where, args, err := instanceWhere(q)
	if err != nil {
		return nil, fmt.Errorf("instance totals: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT use_case_instance, MIN(received_at), use_case_version, team, user, account,
			COUNT(*), COUNT(cost_femto), COUNT(unpriced_units),
			SUM((status >= 400 OR error_kind != '') AND error_kind != 'budget_exceeded'),
			COALESCE(SUM(cost_femto / 1000000000), 0), COALESCE(SUM(cost_femto % 1000000000), 0),
			COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
			COALESCE(SUM(CASE WHEN error_kind = 'budget_exceeded' THEN 0 ELSE e2e_ms END), 0),
			SUM(error_kind = 'budget_exceeded'),
			COUNT(ttft_ms), COALESCE(SUM(ttft_ms), 0)
		FROM requests INDEXED BY requests_use_case_report
		WHERE `+where+`
		GROUP BY use_case_instance,
			CASE WHEN use_case_instance = '' THEN received_at / 86400000000000 END,
			CASE WHEN use_case_instance = '' THEN use_case_version END,
			CASE WHEN use_case_instance = '' THEN team END,
			CASE WHEN use_case_instance = '' THEN user END,
			CASE WHEN use_case_instance = '' THEN account END
		ORDER BY 2, 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("instance totals: %w", err)
	}
	defer rows.Close()
	out := []store.InstanceTotal{}
	for rows.Next() {
		var (
			t          store.InstanceTotal
			first      int64
			micro, rem int64
		)
		if err := rows.Scan(&t.Instance, &first, &t.Version, &t.Team, &t.User, &t.Account, &t.Calls, &t.PricedCalls, &t.Unpriced,
			&t.Errors, &micro, &rem, &t.InputTokens, &t.OutputTokens, &t.E2EMsSum, &t.Refused, &t.TTFTCalls, &t.TTFTMsSum); err != nil {
			return nil, fmt.Errorf("instance totals: %w", err)
		}
		t.First = time.Unix(0, first).UTC()
		t.CostUSD.AddMicro(micro)
		t.CostUSD.Add(pricing.Money(rem))
		out = append(out, t)
	}
	return out, rows.Err()
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

var _ store.KPIDayReader = (*Store)(nil)

// kpiDayAdd adds (sign 1) or takes out (sign -1) one result of value
// nanos at at, of the instance's team, from its day's sums.
func kpiDayAdd(ctx context.Context, tx *sql.Tx, useCase, kpi, team string, at, nanos, sign int64) error {
	day := at / int64(24*time.Hour) * 86400
	if at < 0 {
		day = (-((-(at + 1)) / int64(24*time.Hour)) - 1) * 86400
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO kpi_days (use_case, kpi, day, team, results, whole, nanos)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (use_case, kpi, day, team) DO UPDATE SET results = results + excluded.results,
			whole = whole + excluded.whole, nanos = nanos + excluded.nanos`,
		useCase, kpi, day, team, sign, sign*(nanos/1_000_000_000), sign*(nanos%1_000_000_000))
	return err
}

// instanceTeam is the team of an instance's first call ("" before any).
func instanceTeam(ctx context.Context, tx *sql.Tx, useCase, instance string) (string, error) {
	var team string
	err := tx.QueryRowContext(ctx, `SELECT team FROM requests INDEXED BY requests_instance
		WHERE use_case_instance = ? AND use_case = ? ORDER BY received_at, id LIMIT 1`, instance, useCase).Scan(&team)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return team, err
}

// KPIDays sums the results in force per day.
func (s *Store) KPIDays(ctx context.Context, q store.KPIDayQuery) ([]store.KPIDay, error) {
	where, args := "1", []any{}
	whole := func(t time.Time) bool { return t.IsZero() || t.UTC().Truncate(24*time.Hour).Equal(t) }
	if !whole(q.From) || !whole(q.To) {
		return nil, fmt.Errorf("KPI days: %w: from and to must be UTC midnights", store.ErrInvalidQuery)
	}
	if !q.From.IsZero() {
		where += " AND day >= ?"
		args = append(args, q.From.Unix())
	}
	if !q.To.IsZero() {
		where += " AND day < ?"
		args = append(args, q.To.Unix())
	}
	if q.UseCase != "" {
		where += " AND use_case = ?"
		args = append(args, q.UseCase)
	}
	if q.Team != "" {
		where += " AND team = ?"
		args = append(args, q.Team)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT use_case, kpi, day, team, results, whole, nanos FROM kpi_days
		WHERE `+where+` AND results != 0 ORDER BY day, use_case, kpi, team`, args...)
	if err != nil {
		return nil, fmt.Errorf("KPI days: %w", err)
	}
	defer rows.Close()
	var out []store.KPIDay
	for rows.Next() {
		var (
			d   store.KPIDay
			day int64
		)
		if err := rows.Scan(&d.UseCase, &d.KPI, &day, &d.Team, &d.Results, &d.Whole, &d.Nanos); err != nil {
			return nil, fmt.Errorf("KPI days: %w", err)
		}
		d.Day = time.Unix(day, 0).UTC()
		d.Whole += d.Nanos / 1_000_000_000
		d.Nanos %= 1_000_000_000
		if d.Nanos < 0 {
			d.Whole--
			d.Nanos += 1_000_000_000
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

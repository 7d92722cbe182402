package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// schema is the alert tables. Times are Unix nanoseconds; scope and fields
// are JSON objects. Deliveries have their own table so that recording a
// delivery never races with SaveAlert counting a duplicate.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS alerts (
		id         TEXT PRIMARY KEY,
		at         INTEGER NOT NULL,
		rule       TEXT NOT NULL DEFAULT '',
		kind       TEXT NOT NULL,
		severity   TEXT NOT NULL,
		scope      TEXT NOT NULL DEFAULT '{}',
		title      TEXT NOT NULL DEFAULT '',
		message    TEXT NOT NULL DEFAULT '',
		value      REAL NOT NULL DEFAULT 0,
		threshold  REAL NOT NULL DEFAULT 0,
		dedup_key  TEXT NOT NULL DEFAULT '',
		fields     TEXT,
		count      INTEGER NOT NULL DEFAULT 1,
		last_at    INTEGER NOT NULL DEFAULT 0,
		last_value REAL NOT NULL DEFAULT 0
	)`,
	`CREATE INDEX IF NOT EXISTS alerts_at ON alerts (at DESC, id DESC)`,
	`CREATE INDEX IF NOT EXISTS alerts_dedup_key ON alerts (dedup_key, at DESC, id DESC)`,
	`CREATE INDEX IF NOT EXISTS alerts_kind ON alerts (kind, at DESC, id DESC)`,
	`CREATE TABLE IF NOT EXISTS alert_deliveries (
		alert_id     TEXT NOT NULL,
		webhook      TEXT NOT NULL,
		state        TEXT NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		last_status  INTEGER NOT NULL DEFAULT 0,
		last_error   TEXT NOT NULL DEFAULT '',
		delivered_at INTEGER,
		PRIMARY KEY (alert_id, webhook)
	) WITHOUT ROWID`,
}

// Migrate creates the tables alerts and alert_deliveries in db if they do
// not exist. Run it once before using a SQLiteStore on db.
func Migrate(ctx context.Context, db *sql.DB) error {
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate alert tables: %w", err)
		}
	}
	return nil
}

// SQLiteStore is a Store in a SQLite database, normally the one Weir keeps
// its records in. It works with a single-connection *sql.DB: it never holds
// a result set open while running another statement.
type SQLiteStore struct {
	db *sql.DB
}

// NewSQLiteStore returns a store over db, which Migrate has prepared and
// which accepts writes. It does not take ownership: closing db is the
// caller's business.
func NewSQLiteStore(db *sql.DB) *SQLiteStore { return &SQLiteStore{db: db} }

const saveSQL = `INSERT INTO alerts
	(id, at, rule, kind, severity, scope, title, message, value, threshold, dedup_key, fields, count, last_at, last_value)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET
		at = excluded.at, rule = excluded.rule, kind = excluded.kind, severity = excluded.severity,
		scope = excluded.scope, title = excluded.title, message = excluded.message,
		value = excluded.value, threshold = excluded.threshold, dedup_key = excluded.dedup_key,
		fields = excluded.fields, count = excluded.count, last_at = excluded.last_at,
		last_value = excluded.last_value`

// SaveAlert implements Store. It is an upsert, never a delete and insert,
// so the alert's deliveries stay.
func (s *SQLiteStore) SaveAlert(ctx context.Context, a Alert) error {
	if err := checkStored(&a); err != nil {
		return fmt.Errorf("save alert: %w", err)
	}
	scope := []byte("{}")
	if len(a.Scope) > 0 {
		var err error
		if scope, err = json.Marshal(a.Scope); err != nil {
			return fmt.Errorf("save alert %s: scope: %w", a.ID, err)
		}
	}
	var fields sql.NullString
	if len(a.Fields) > 0 {
		b, err := json.Marshal(a.Fields)
		if err != nil {
			return fmt.Errorf("save alert %s: fields: %w", a.ID, err)
		}
		fields = sql.NullString{String: string(b), Valid: true}
	}
	if _, err := s.db.ExecContext(ctx, saveSQL,
		a.ID, a.At.UnixNano(), a.Rule, a.Kind, string(a.Severity), string(scope), a.Title, a.Message,
		a.Value, a.Threshold, a.DedupKey, fields, a.Count, nanos(a.LastAt), a.LastValue,
	); err != nil {
		return fmt.Errorf("save alert %s: %w", a.ID, err)
	}
	return nil
}

// nanos is t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

const deliverySQL = `INSERT INTO alert_deliveries
	(alert_id, webhook, state, attempts, last_status, last_error, delivered_at)
	SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?)
	ON CONFLICT (alert_id, webhook) DO UPDATE SET
		state = excluded.state, attempts = excluded.attempts, last_status = excluded.last_status,
		last_error = excluded.last_error, delivered_at = excluded.delivered_at`

// UpdateDelivery implements Store.
func (s *SQLiteStore) UpdateDelivery(ctx context.Context, id string, d Delivery) error {
	if d.Webhook == "" {
		return fmt.Errorf("update delivery of alert %s: no webhook name", id)
	}
	var at sql.NullInt64
	if !d.DeliveredAt.IsZero() {
		at = sql.NullInt64{Int64: d.DeliveredAt.UnixNano(), Valid: true}
	}
	res, err := s.db.ExecContext(ctx, deliverySQL,
		id, d.Webhook, d.State, d.Attempts, d.LastStatus, d.LastError, at, id)
	if err != nil {
		return fmt.Errorf("update delivery of alert %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update delivery of alert %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("update delivery of alert %s: %w", id, ErrNotFound)
	}
	return nil
}

const alertColumns = `id, at, rule, kind, severity, scope, title, message, value, threshold, dedup_key, fields, count, last_at, last_value`

// ListAlerts implements Store.
func (s *SQLiteStore) ListAlerts(ctx context.Context, q ListQuery) ([]Alert, error) {
	q, err := q.normalize()
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	var (
		where []string
		args  []any
	)
	if q.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, q.Kind)
	}
	if q.Severity != "" {
		where, args = append(where, "severity = ?"), append(args, string(q.Severity))
	}
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, q.Until.UnixNano())
	}
	switch {
	case q.ScopeKey != "" && q.ScopeValue != "":
		where = append(where, "EXISTS (SELECT 1 FROM json_each(alerts.scope) AS s WHERE s.key = ? AND s.value = ?)")
		args = append(args, q.ScopeKey, q.ScopeValue)
	case q.ScopeKey != "":
		where = append(where, "EXISTS (SELECT 1 FROM json_each(alerts.scope) AS s WHERE s.key = ?)")
		args = append(args, q.ScopeKey)
	}
	var b strings.Builder
	b.WriteString("SELECT " + alertColumns + " FROM alerts")
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY at DESC, id DESC LIMIT ?")
	args = append(args, q.Limit)

	out, err := s.query(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	if err := s.loadDeliveries(ctx, out); err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}

// LastByDedupKey implements Store.
func (s *SQLiteStore) LastByDedupKey(ctx context.Context, key string) (Alert, bool, error) {
	out, err := s.query(ctx,
		"SELECT "+alertColumns+" FROM alerts WHERE dedup_key = ? ORDER BY at DESC, id DESC LIMIT 1", key)
	if err != nil {
		return Alert{}, false, fmt.Errorf("last alert by dedup key: %w", err)
	}
	if len(out) == 0 {
		return Alert{}, false, nil
	}
	if err := s.loadDeliveries(ctx, out); err != nil {
		return Alert{}, false, fmt.Errorf("last alert by dedup key: %w", err)
	}
	return out[0], true, nil
}

// query reads alerts, without deliveries, and closes its rows before
// returning.
func (s *SQLiteStore) query(ctx context.Context, query string, args ...any) ([]Alert, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var (
			a          Alert
			at, lastAt int64
			sev, scope string
			fields     sql.NullString
		)
		if err := rows.Scan(&a.ID, &at, &a.Rule, &a.Kind, &sev, &scope, &a.Title, &a.Message,
			&a.Value, &a.Threshold, &a.DedupKey, &fields, &a.Count, &lastAt, &a.LastValue); err != nil {
			return nil, err
		}
		a.Severity, a.At, a.LastAt = Severity(sev), fromNanos(at), fromNanos(lastAt)
		if err := json.Unmarshal([]byte(scope), &a.Scope); err != nil {
			return nil, fmt.Errorf("alert %s: scope: %w", a.ID, err)
		}
		if len(a.Scope) == 0 {
			a.Scope = nil
		}
		if fields.Valid {
			if err := json.Unmarshal([]byte(fields.String), &a.Fields); err != nil {
				return nil, fmt.Errorf("alert %s: fields: %w", a.ID, err)
			}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// loadDeliveries fills the deliveries of alerts, in one query.
func (s *SQLiteStore) loadDeliveries(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	index := make(map[string]int, len(alerts))
	args := make([]any, len(alerts))
	for i := range alerts {
		index[alerts[i].ID] = i
		args[i] = alerts[i].ID
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT alert_id, webhook, state, attempts, last_status, last_error, delivered_at
		FROM alert_deliveries WHERE alert_id IN (?`+strings.Repeat(", ?", len(alerts)-1)+`)
		ORDER BY alert_id, webhook`, args...)
	if err != nil {
		return fmt.Errorf("deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			d  Delivery
			at sql.NullInt64
		)
		if err := rows.Scan(&id, &d.Webhook, &d.State, &d.Attempts, &d.LastStatus, &d.LastError, &at); err != nil {
			return fmt.Errorf("deliveries: %w", err)
		}
		if at.Valid {
			d.DeliveredAt = time.Unix(0, at.Int64).UTC()
		}
		if i, ok := index[id]; ok {
			alerts[i].Deliveries = append(alerts[i].Deliveries, d)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("deliveries: %w", err)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

var (
	_ store.CallSignalReader = (*Store)(nil)
	_ store.DriftEventStore  = (*Store)(nil)
)

// CallSignals reads the drift figures of one scope's calls, newest first,
// through the requests_use_case index. The figures not kept in columns
// are read from the record's JSON.
func (s *Store) CallSignals(ctx context.Context, q store.CallSignalQuery) ([]store.CallSignal, error) {
	if q.Limit < 1 || q.Limit > store.MaxCallSignals {
		return nil, fmt.Errorf("%w: call signals limit %d is outside 1..%d", store.ErrInvalidQuery, q.Limit, store.MaxCallSignals)
	}
	where, args := "use_case = ? AND provider = ? AND model = ?", []any{q.UseCase, q.Provider, q.Model}
	if !q.From.IsZero() {
		where += " AND received_at >= ?"
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where += " AND received_at < ?"
		args = append(args, q.To.UnixNano())
	}
	args = append(args, q.Limit)
	rows, err := s.r.QueryContext(ctx, `SELECT id, received_at, status, error_kind, cost_femto,
		COALESCE(r ->> '$.route', ''), COALESCE(r ->> '$.prompt', ''), COALESCE(r ->> '$.prompt_variant', ''),
		COALESCE(r ->> '$.use_case_version', ''), COALESCE(r ->> '$.prompt_version', 0),
		COALESCE(r ->> '$.response_model', ''), COALESCE(r ->> '$.system_fingerprint', ''),
		COALESCE(r ->> '$.usage.output_tokens', 0), COALESCE(r ->> '$.usage.reasoning_tokens', 0),
		r ->> '$.ttft_ms', r ->> '$.otps', COALESCE(r ->> '$.finish_reason', ''),
		COALESCE(r ->> '$.refusal', 0), r ->> '$.json_valid'
		FROM (SELECT id, received_at, status, error_kind, cost_femto, CAST(record AS TEXT) AS r FROM requests
			WHERE `+where+` ORDER BY received_at DESC, id DESC LIMIT ?)`, args...)
	if err != nil {
		return nil, fmt.Errorf("call signals: %w", err)
	}
	defer rows.Close()
	out := []store.CallSignal{}
	for rows.Next() {
		var (
			c          store.CallSignal
			at         int64
			status     int
			errKind    string
			femto      sql.NullInt64
			ttft, otps sql.NullFloat64
			refusal    int
			jsonValid  sql.NullInt64
		)
		if err := rows.Scan(&c.ID, &at, &status, &errKind, &femto, &c.Route, &c.Prompt, &c.PromptVariant,
			&c.UseCaseVersion, &c.PromptVersion, &c.ResponseModel, &c.SystemFingerprint,
			&c.OutputTokens, &c.ReasoningTokens, &ttft, &otps, &c.FinishReason, &refusal, &jsonValid); err != nil {
			return nil, fmt.Errorf("call signals: %w", err)
		}
		c.ReceivedAt = time.Unix(0, at).UTC()
		c.OK = status > 0 && status < 400 && errKind == ""
		if femto.Valid {
			v := float64(femto.Int64) / 1e15
			c.CostUSD = &v
		}
		if ttft.Valid {
			v := ttft.Float64
			c.TTFTMs = &v
		}
		if otps.Valid {
			v := otps.Float64
			c.OTPS = &v
		}
		c.Refusal = refusal != 0
		if jsonValid.Valid {
			v := jsonValid.Int64 != 0
			c.JSONValid = &v
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveDriftEvent stores or replaces a drift event.
func (s *Store) SaveDriftEvent(ctx context.Context, e store.DriftEvent) error {
	if e.ID == "" || e.Signal == "" {
		return fmt.Errorf("%w: a drift event needs an id and a signal", store.ErrInvalidQuery)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO drift_events (id, signal, use_case, provider, model, started_at, detected_at, event)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET signal = excluded.signal, use_case = excluded.use_case,
		provider = excluded.provider, model = excluded.model, started_at = excluded.started_at,
		detected_at = excluded.detected_at, event = excluded.event`,
		e.ID, e.Signal, e.UseCase, e.Provider, e.Model, e.StartedAt.UnixNano(), e.DetectedAt.UnixNano(), e.Event); err != nil {
		return fmt.Errorf("save drift event: %w", err)
	}
	return nil
}

// DriftEvents lists drift events, newest start first.
func (s *Store) DriftEvents(ctx context.Context, q store.DriftEventQuery) ([]store.DriftEvent, error) {
	where, args := "1", []any{}
	for _, f := range []struct{ col, v string }{{"signal", q.Signal}, {"use_case", q.UseCase}, {"provider", q.Provider}, {"model", q.Model}} {
		if f.v != "" {
			where += " AND " + f.col + " = ?"
			args = append(args, f.v)
		}
	}
	if !q.From.IsZero() {
		where += " AND started_at >= ?"
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where += " AND started_at < ?"
		args = append(args, q.To.UnixNano())
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, `SELECT id, signal, use_case, provider, model, started_at, detected_at, event
		FROM drift_events WHERE `+where+` ORDER BY started_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("drift events: %w", err)
	}
	defer rows.Close()
	out := []store.DriftEvent{}
	for rows.Next() {
		var (
			e                 store.DriftEvent
			started, detected int64
		)
		if err := rows.Scan(&e.ID, &e.Signal, &e.UseCase, &e.Provider, &e.Model, &started, &detected, &e.Event); err != nil {
			return nil, fmt.Errorf("drift events: %w", err)
		}
		e.StartedAt, e.DetectedAt = time.Unix(0, started).UTC(), time.Unix(0, detected).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

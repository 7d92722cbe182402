package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// ReviseCosts rewrites each call's record document and cost columns and
// appends the revision, in one transaction.
func (s *Store) ReviseCosts(ctx context.Context, revs []store.CostRevision) error {
	if len(revs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("revise costs: begin: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UnixNano()
	moved := newRollupBatch() // the cost deltas of the calls' summaries
	for _, rv := range revs {
		var (
			doc        []byte
			receivedAt int64
			femto      sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT record, received_at, cost_femto FROM requests WHERE id = ?`, rv.RequestID).Scan(&doc, &receivedAt, &femto)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("revise costs: call %s: %w", rv.RequestID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revise costs: read %s: %w", rv.RequestID, err)
		}
		if femto.Valid != (rv.OldCostUSD != nil) || femto.Valid && femto.Int64 != int64(*rv.OldCostUSD) {
			return fmt.Errorf("revise costs: call %s: its cost changed since it was read: %w", rv.RequestID, store.ErrConflict)
		}
		var rec record.Record
		if err := unmarshalDoc(doc, receivedAt, &rec); err != nil {
			return fmt.Errorf("revise costs: decode %s: %w", rv.RequestID, err)
		}
		oldCost, err := json.Marshal(rec.Cost)
		if err != nil {
			return fmt.Errorf("revise costs: %w", err)
		}
		rec.CostUSD, rec.Cost = rv.NewCostUSD, rv.NewCost
		newDoc, err := marshalDoc(&rec)
		if err != nil {
			return fmt.Errorf("revise costs: encode %s: %w", rv.RequestID, err)
		}
		costFemto, unpriced, err := costColumns(&rec)
		if err != nil {
			return fmt.Errorf("revise costs: encode %s: %w", rv.RequestID, err)
		}
		newCost, err := json.Marshal(rv.NewCost)
		if err != nil {
			return fmt.Errorf("revise costs: %w", err)
		}
		var oldUnpriced sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT unpriced_units FROM requests WHERE id = ?`, rv.RequestID).Scan(&oldUnpriced); err != nil {
			return fmt.Errorf("revise costs: read %s: %w", rv.RequestID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE requests SET record = ?, cost_femto = ?, unpriced_units = ? WHERE id = ?`,
			newDoc, costFemto, unpriced, rv.RequestID); err != nil {
			return fmt.Errorf("revise costs: update %s: %w", rv.RequestID, err)
		}
		var oldF, oldU any
		if femto.Valid {
			oldF = femto.Int64
		}
		if oldUnpriced.Valid {
			oldU = oldUnpriced.String
		}
		moved.revise(&rec, oldF, oldU, costFemto, unpriced)
		var oldFemto any
		if femto.Valid {
			oldFemto = femto.Int64
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cost_revisions
			(run_id, request_id, received_at, revised_at, reason, old_cost_femto, new_cost_femto, old_cost, new_cost)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rv.RunID, rv.RequestID, receivedAt, now, rv.Reason, oldFemto, costFemto, string(oldCost), string(newCost)); err != nil {
			return fmt.Errorf("revise costs: audit %s: %w", rv.RequestID, err)
		}
	}
	if err := moved.flush(ctx, tx); err != nil {
		return fmt.Errorf("revise costs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revise costs: commit: %w", err)
	}
	return nil
}

// CostRevisions lists revisions, newest first.
func (s *Store) CostRevisions(ctx context.Context, q store.RevisionQuery) ([]store.CostRevision, error) {
	if q.Limit < 0 {
		return nil, fmt.Errorf("cost revisions: %w: negative limit", store.ErrInvalidQuery)
	}
	limit := min(cmp.Or(q.Limit, store.DefaultLimit), store.MaxLimit)
	query := `SELECT seq, run_id, request_id, received_at, revised_at, reason, old_cost_femto, new_cost_femto, old_cost, new_cost
		FROM cost_revisions WHERE 1`
	var args []any
	if q.RunID != "" {
		query += ` AND run_id = ?`
		args = append(args, q.RunID)
	}
	if q.RequestID != "" {
		query += ` AND request_id = ?`
		args = append(args, q.RequestID)
	}
	query += ` ORDER BY seq DESC LIMIT ?`
	rows, err := s.r.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("cost revisions: %w", err)
	}
	defer rows.Close()
	out := []store.CostRevision{}
	for rows.Next() {
		var (
			rv                 store.CostRevision
			recv, revised      int64
			oldFemto, newFemto sql.NullInt64
			oldCost, newCost   string
		)
		if err := rows.Scan(&rv.Seq, &rv.RunID, &rv.RequestID, &recv, &revised, &rv.Reason, &oldFemto, &newFemto, &oldCost, &newCost); err != nil {
			return nil, fmt.Errorf("cost revisions: %w", err)
		}
		rv.ReceivedAt, rv.RevisedAt = time.Unix(0, recv).UTC(), time.Unix(0, revised).UTC()
		if oldFemto.Valid {
			m := pricing.Money(oldFemto.Int64)
			rv.OldCostUSD = &m
		}
		if newFemto.Valid {
			m := pricing.Money(newFemto.Int64)
			rv.NewCostUSD = &m
		}
		if err := json.Unmarshal([]byte(oldCost), &rv.OldCost); err != nil {
			return nil, fmt.Errorf("cost revisions: decode: %w", err)
		}
		if err := json.Unmarshal([]byte(newCost), &rv.NewCost); err != nil {
			return nil, fmt.Errorf("cost revisions: decode: %w", err)
		}
		out = append(out, rv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cost revisions: %w", err)
	}
	return out, nil
}

// PriceEntries returns the API-managed entries in force.
func (s *Store) PriceEntries(ctx context.Context) ([]store.StoredPriceEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.id, p.version, p.provider, p.entry, p.changed_at, p.changed_by
		FROM price_entries p
		WHERE p.entry IS NOT NULL AND p.version = (SELECT MAX(version) FROM price_entries q WHERE q.id = p.id)
		ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("price entries: %w", err)
	}
	return scanPriceEntries(rows)
}

// PriceEntryHistory returns every version of id.
func (s *Store) PriceEntryHistory(ctx context.Context, id string) ([]store.StoredPriceEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, version, provider, entry, changed_at, changed_by
		FROM price_entries WHERE id = ? ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("price entry history: %w", err)
	}
	out, err := scanPriceEntries(rows)
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("price entry %s: %w", id, store.ErrNotFound)
	}
	return out, err
}

func scanPriceEntries(rows *sql.Rows) ([]store.StoredPriceEntry, error) {
	defer rows.Close()
	out := []store.StoredPriceEntry{}
	for rows.Next() {
		var (
			e     store.StoredPriceEntry
			entry sql.NullString
			at    int64
		)
		if err := rows.Scan(&e.ID, &e.Version, &e.Provider, &entry, &at, &e.ChangedBy); err != nil {
			return nil, fmt.Errorf("price entries: %w", err)
		}
		e.ChangedAt = time.Unix(0, at).UTC()
		if entry.Valid {
			e.Entry = new(pricing.Entry)
			if err := json.Unmarshal([]byte(entry.String), e.Entry); err != nil {
				return nil, fmt.Errorf("price entries: decode %s: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("price entries: %w", err)
	}
	return out, nil
}

// PutPriceEntry appends a new version of e.
func (s *Store) PutPriceEntry(ctx context.Context, e store.StoredPriceEntry) (store.StoredPriceEntry, error) {
	if e.Entry == nil || e.Entry.ID == "" || e.Provider == "" {
		return e, fmt.Errorf("put price entry: %w: an entry with an id and a provider is required", store.ErrInvalidQuery)
	}
	e.ID = e.Entry.ID
	return s.appendPriceEntry(ctx, e, false)
}

// DeletePriceEntry appends a deletion of id.
func (s *Store) DeletePriceEntry(ctx context.Context, id, by string) (store.StoredPriceEntry, error) {
	return s.appendPriceEntry(ctx, store.StoredPriceEntry{ID: id, ChangedBy: by}, true)
}

func (s *Store) appendPriceEntry(ctx context.Context, e store.StoredPriceEntry, del bool) (store.StoredPriceEntry, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return e, fmt.Errorf("price entry %s: %w", e.ID, err)
	}
	defer tx.Rollback()
	var (
		last     sql.NullInt64
		live     sql.NullBool
		provider sql.NullString
	)
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version), (SELECT entry IS NOT NULL FROM price_entries WHERE id = ?1 ORDER BY version DESC LIMIT 1),
		(SELECT provider FROM price_entries WHERE id = ?1 ORDER BY version DESC LIMIT 1)
		FROM price_entries WHERE id = ?1`, e.ID).Scan(&last, &live, &provider); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("price entry %s: %w", e.ID, err)
	}
	var entry any
	if del {
		if !live.Bool {
			return e, fmt.Errorf("price entry %s: %w", e.ID, store.ErrNotFound)
		}
		e.Provider = provider.String
	} else {
		b, err := json.Marshal(e.Entry)
		if err != nil {
			return e, fmt.Errorf("price entry %s: %w", e.ID, err)
		}
		entry = string(b)
	}
	e.Version = int(last.Int64) + 1
	e.ChangedAt = time.Now().UTC()
	if _, err := tx.ExecContext(ctx, `INSERT INTO price_entries (id, version, provider, entry, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?)`,
		e.ID, e.Version, e.Provider, entry, e.ChangedAt.UnixNano(), e.ChangedBy); err != nil {
		return e, fmt.Errorf("price entry %s: %w", e.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return e, fmt.Errorf("price entry %s: %w", e.ID, err)
	}
	return e, nil
}

package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

var _ store.IdentityReader = (*Store)(nil)

// identityKey is one row of model_identities.
type identityKey struct {
	provider, model, responseModel, fingerprint string
}

type identityAgg struct {
	first, last, calls int64
}

// addIdentity counts a successful call's identity (calls that failed
// report none worth keeping).
func (b *rollupBatch) addIdentity(rec *record.Record) {
	if rec.Status >= 400 || rec.ErrorKind != "" || rec.Status == 0 || rec.ResponseModel == "" && rec.SystemFingerprint == "" {
		return
	}
	if b.identities == nil {
		b.identities = map[identityKey]*identityAgg{}
	}
	k := identityKey{rec.Provider, rec.Model, rec.ResponseModel, rec.SystemFingerprint}
	at := rec.ReceivedAt.UnixNano()
	a := b.identities[k]
	if a == nil {
		b.identities[k] = &identityAgg{first: at, last: at, calls: 1}
		return
	}
	a.first, a.last, a.calls = min(a.first, at), max(a.last, at), a.calls+1
}

func flushIdentities(ctx context.Context, tx *sql.Tx, ids map[identityKey]*identityAgg) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]identityKey, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y identityKey) int {
		return cmp.Or(strings.Compare(x.provider, y.provider), strings.Compare(x.model, y.model),
			strings.Compare(x.responseModel, y.responseModel), strings.Compare(x.fingerprint, y.fingerprint))
	})
	for _, k := range keys {
		a := ids[k]
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_identities
			(provider, model, response_model, system_fingerprint, first_seen, last_seen, calls) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (provider, model, response_model, system_fingerprint) DO UPDATE SET
			first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen),
			calls = calls + excluded.calls`,
			k.provider, k.model, k.responseModel, k.fingerprint, a.first, a.last, a.calls); err != nil {
			return fmt.Errorf("model identities: %w", err)
		}
	}
	return nil
}

// ModelIdentities lists the identities seen in the range.
func (s *Store) ModelIdentities(ctx context.Context, q store.IdentityQuery) ([]store.ModelIdentity, error) {
	where, args := "1", []any{}
	if q.Provider != "" {
		where += " AND provider = ?"
		args = append(args, q.Provider)
	}
	if q.Model != "" {
		where += " AND model = ?"
		args = append(args, q.Model)
	}
	if !q.From.IsZero() {
		where += " AND last_seen >= ?"
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where += " AND first_seen < ?"
		args = append(args, q.To.UnixNano())
	}
	rows, err := s.r.QueryContext(ctx, `SELECT provider, model, response_model, system_fingerprint, first_seen, last_seen, calls
		FROM model_identities WHERE `+where+` ORDER BY provider, model, first_seen, response_model, system_fingerprint LIMIT 10000`, args...)
	if err != nil {
		return nil, fmt.Errorf("model identities: %w", err)
	}
	defer rows.Close()
	out := []store.ModelIdentity{}
	for rows.Next() {
		var (
			m           store.ModelIdentity
			first, last int64
		)
		if err := rows.Scan(&m.Provider, &m.Model, &m.ResponseModel, &m.SystemFingerprint, &first, &last, &m.Calls); err != nil {
			return nil, fmt.Errorf("model identities: %w", err)
		}
		m.FirstSeen, m.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/rollup"
	"github.com/weirhq/weir/internal/store"
)

var _ store.RollupReader = (*Store)(nil)

// rollupMigration is the schema version that adds the rollups.
const rollupMigration = 23

// rollupLevels are the widths summaries are kept at, in seconds.
var rollupLevels = [...]int64{60, 3600, 86400}

// rollupCell is one row of the rollups table.
type rollupCell struct {
	level, bucket int64
	key           rollup.Key
}

// rollupBatch gathers the summaries one transaction adds (and the cost
// days), so that a batch of calls updates each row once.
type rollupBatch struct {
	cells      map[rollupCell]*rollup.Agg
	days       map[costDay]*costDayAgg
	identities map[identityKey]*identityAgg
}

func newRollupBatch() *rollupBatch {
	return &rollupBatch{cells: map[rollupCell]*rollup.Agg{}, days: map[costDay]*costDayAgg{}}
}

func (b *rollupBatch) day(rec *record.Record) *costDayAgg {
	k := costDayOf(rec)
	d := b.days[k]
	if d == nil {
		d = &costDayAgg{}
		b.days[k] = d
	}
	return d
}

// add summarises rec into every level. costFemto and unpriced are the
// values of its cost columns (costColumns).
func (b *rollupBatch) add(rec *record.Record, costFemto, unpriced any) {
	femto, priced := costFemto.(int64)
	k, a := rollup.FromRecord(rec, femto, priced)
	if !priced && unpriced == nil {
		a.Unpriced = 0
	}
	b.merge(rec.ReceivedAt, k, &a)
	d := b.day(rec)
	d.calls++
	d.addCost(costFemto, unpriced, 1)
	in, out := tokenColumns(rec)
	d.in += in
	d.out += out
	b.addIdentity(rec)
}

// revise moves a re-priced call's cost from its old cost columns to its
// new ones.
func (b *rollupBatch) revise(rec *record.Record, oldFemto, oldUnpriced, newFemto, newUnpriced any) {
	delta := rollupCostDelta(oldFemto, oldUnpriced, newFemto, newUnpriced)
	k, _ := rollup.FromRecord(rec, 0, false)
	b.merge(rec.ReceivedAt, k, &delta)
	d := b.day(rec)
	d.addCost(oldFemto, oldUnpriced, -1)
	d.addCost(newFemto, newUnpriced, 1)
}

func (b *rollupBatch) merge(at time.Time, k rollup.Key, a *rollup.Agg) {
	sec := at.Unix()
	for _, l := range rollupLevels {
		c := rollupCell{level: l, bucket: sec - mod(sec, l), key: k}
		e := b.cells[c]
		if e == nil {
			e = &rollup.Agg{}
			b.cells[c] = e
		}
		e.Merge(a)
	}
}

// mod is the non-negative remainder (calls before 1970 are not expected,
// but a negative bucket must still be a bucket's start).
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

const upsertRollupSQL = `INSERT INTO rollups
	(level, bucket, use_case, use_case_version, use_case_step, team, provider, model, route,
	 calls, errors, rate_limited, retried, fell_back, streams, cost_dollars, cost_femto, unpriced,
	 input_tokens, output_tokens, cache_read_tokens, reasoning_tokens)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (level, bucket, use_case, use_case_version, use_case_step, team, provider, model, route) DO UPDATE SET
	calls = calls + excluded.calls, errors = errors + excluded.errors,
	rate_limited = rate_limited + excluded.rate_limited, retried = retried + excluded.retried,
	fell_back = fell_back + excluded.fell_back, streams = streams + excluded.streams,
	cost_dollars = cost_dollars + excluded.cost_dollars + (cost_femto + excluded.cost_femto) / 1000000000000000,
	cost_femto = (cost_femto + excluded.cost_femto) % 1000000000000000, unpriced = unpriced + excluded.unpriced,
	input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
	cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
	reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens
	RETURNING id`

const sketchColumns = "ttft, ttfct, itl, otps, e2e, overhead"

// flush writes the batch's summaries in tx, merging sketches into the
// stored ones. Rows are written in key order, so that two transactions
// never take the same rows in different orders.
func (b *rollupBatch) flush(ctx context.Context, tx *sql.Tx) error {
	if err := flushCostDays(ctx, tx, b.days); err != nil {
		return err
	}
	if err := flushIdentities(ctx, tx, b.identities); err != nil {
		return err
	}
	if len(b.cells) == 0 {
		return nil
	}
	cells := make([]rollupCell, 0, len(b.cells))
	for c := range b.cells {
		cells = append(cells, c)
	}
	slices.SortFunc(cells, func(x, y rollupCell) int {
		return cmp.Or(cmp.Compare(x.level, y.level), cmp.Compare(x.bucket, y.bucket), compareKeys(x.key, y.key))
	})
	up, err := tx.PrepareContext(ctx, upsertRollupSQL)
	if err != nil {
		return fmt.Errorf("rollups: prepare: %w", err)
	}
	defer up.Close()
	var get, put *sql.Stmt
	for _, c := range cells {
		a := b.cells[c]
		k := c.key
		var id int64
		if err := up.QueryRowContext(ctx, c.level, c.bucket, k.UseCase, k.UseCaseVersion, k.UseCaseStep, k.Team, k.Provider, k.Model, k.Route,
			a.Calls, a.Errors, a.RateLimited, a.Retried, a.FellBack, a.Streams, a.CostDollars, a.CostFemto, a.Unpriced,
			a.InputTokens, a.OutputTokens, a.CacheReadTokens, a.ReasoningTokens).Scan(&id); err != nil {
			return fmt.Errorf("rollups: upsert: %w", err)
		}
		if !hasSketches(a) {
			continue
		}
		if get == nil {
			if get, err = tx.PrepareContext(ctx, `SELECT `+sketchColumns+` FROM rollup_sketches WHERE id = ?`); err != nil {
				return fmt.Errorf("rollups: prepare: %w", err)
			}
			defer get.Close()
			if put, err = tx.PrepareContext(ctx, `INSERT OR REPLACE INTO rollup_sketches (id, `+sketchColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`); err != nil {
				return fmt.Errorf("rollups: prepare: %w", err)
			}
			defer put.Close()
		}
		var stored [rollup.NumMetrics][]byte
		err := get.QueryRowContext(ctx, id).Scan(sketchDest(&stored)...)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("rollups: read sketches: %w", err)
		}
		args := []any{id}
		for m, s := range a.Sketches {
			if s != nil {
				if err := rollup.MergeEncoded(&s, stored[m]); err != nil {
					return fmt.Errorf("rollups: row %d: %w", id, err)
				}
				args = append(args, rollup.EncodeSketch(s))
			} else {
				args = append(args, nullBlob(stored[m]))
			}
		}
		if _, err := put.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("rollups: write sketches: %w", err)
		}
	}
	return nil
}

func nullBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func sketchDest(s *[rollup.NumMetrics][]byte) []any {
	d := make([]any, len(s))
	for i := range s {
		d[i] = &s[i]
	}
	return d
}

func hasSketches(a *rollup.Agg) bool {
	for _, s := range a.Sketches {
		if s != nil {
			return true
		}
	}
	return false
}

func compareKeys(x, y rollup.Key) int {
	return cmp.Or(strings.Compare(x.UseCase, y.UseCase), strings.Compare(x.UseCaseVersion, y.UseCaseVersion), strings.Compare(x.UseCaseStep, y.UseCaseStep),
		strings.Compare(x.Team, y.Team), strings.Compare(x.Provider, y.Provider),
		strings.Compare(x.Model, y.Model), strings.Compare(x.Route, y.Route))
}

// rollupCostDelta moves a re-priced call's cost in its summaries: from
// (oldFemto, oldUnpriced) to its cost columns' new values.
func rollupCostDelta(oldFemto, oldUnpriced, newFemto, newUnpriced any) rollup.Agg {
	var a rollup.Agg
	if f, ok := newFemto.(int64); ok {
		a.AddCostFemto(f)
	}
	if f, ok := oldFemto.(int64); ok {
		a.AddCostFemto(-f)
	}
	if newUnpriced != nil {
		a.Unpriced++
	}
	if oldUnpriced != nil {
		a.Unpriced--
	}
	return a
}

// rollupDims are the key columns in RollupQuery.GroupBy's terms.
var rollupDims = []struct {
	name string
	get  func(*rollup.Key) *string
}{
	{store.RollupUseCase, func(k *rollup.Key) *string { return &k.UseCase }},
	{store.RollupUseCaseVersion, func(k *rollup.Key) *string { return &k.UseCaseVersion }},
	{store.RollupUseCaseStep, func(k *rollup.Key) *string { return &k.UseCaseStep }},
	{store.RollupTeam, func(k *rollup.Key) *string { return &k.Team }},
	{store.RollupProvider, func(k *rollup.Key) *string { return &k.Provider }},
	{store.RollupModel, func(k *rollup.Key) *string { return &k.Model }},
	{store.RollupRoute, func(k *rollup.Key) *string { return &k.Route }},
}

// rollupCounters sums the counters. The femto remainders (each under
// 1e15) are summed in two parts that cannot overflow over any number of
// rows: femto / 1e9 and femto % 1e9.
const rollupCounters = `SUM(calls), SUM(errors), SUM(rate_limited), SUM(retried), SUM(fell_back), SUM(streams),
	SUM(cost_dollars), SUM(cost_femto / 1000000000), SUM(cost_femto % 1000000000),
	SUM(unpriced), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(reasoning_tokens)`

// setCost sets a's cost from the sums of rollupCounters.
func setCost(a *rollup.Agg, dollars, femtoHi, femtoLo int64) {
	a.CostDollars, a.CostFemto = dollars, 0
	a.CostDollars += femtoHi / 1_000_000 // 1e6 × 1e9 femto is a dollar
	a.AddCostFemto(femtoHi % 1_000_000 * 1_000_000_000)
	a.AddCostFemto(femtoLo)
}

// Rollup answers q from the level store.RollupLevel picks. Counts and
// sums are added up by SQLite; sketches are merged here.
func (s *Store) Rollup(ctx context.Context, q store.RollupQuery) ([]store.RollupRow, error) {
	level, from, to, err := store.RollupLevel(q)
	if err != nil {
		return nil, fmt.Errorf("rollup: %w", err)
	}
	group := map[string]bool{}
	for _, g := range q.GroupBy {
		group[g] = true
	}
	var (
		where = "level = ? AND bucket >= ? AND bucket < ?"
		args  = []any{int64(level / time.Second), from.Unix(), to.Unix()}
		cols  []string
	)
	f := q.Filter
	for _, d := range rollupDims {
		if v := *d.get(&f); v != "" {
			where += " AND " + d.name + " = ?"
			args = append(args, v)
		}
		if group[d.name] {
			cols = append(cols, d.name)
		}
	}
	bucket := "?"
	bargs := []any{from.Unix()}
	if q.Step != 0 {
		step := int64(q.Step / time.Second)
		bucket = "(bucket - ?) / ? * ? + ?"
		bargs = []any{from.Unix(), step, step, from.Unix()}
	}
	keyCols := ""
	if len(cols) > 0 {
		keyCols = ", " + strings.Join(cols, ", ")
	}
	var out []store.RollupRow
	if !q.Sketches {
		query := `SELECT ` + bucket + ` AS b` + keyCols + `, ` + rollupCounters + ` FROM rollups WHERE ` + where +
			` GROUP BY b` + keyCols + ` ORDER BY b` + keyCols
		rows, err := s.r.QueryContext(ctx, query, append(bargs, args...)...)
		if err != nil {
			return nil, fmt.Errorf("rollup: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				row store.RollupRow
				b   int64
			)
			dest := []any{&b}
			for _, c := range cols {
				for _, d := range rollupDims {
					if d.name == c {
						dest = append(dest, d.get(&row.Key))
					}
				}
			}
			a := &row.Agg
			var dollars, hi, lo int64
			dest = append(dest, &a.Calls, &a.Errors, &a.RateLimited, &a.Retried, &a.FellBack, &a.Streams,
				&dollars, &hi, &lo, &a.Unpriced, &a.InputTokens, &a.OutputTokens, &a.CacheReadTokens, &a.ReasoningTokens)
			if err := rows.Scan(dest...); err != nil {
				return nil, fmt.Errorf("rollup: %w", err)
			}
			setCost(a, dollars, hi, lo)
			row.Bucket = time.Unix(b, 0).UTC()
			out = append(out, row)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("rollup: %w", err)
		}
		return out, nil
	}

	// With sketches: every row is read and merged into its group here.
	query := `SELECT ` + bucket + ` AS b, use_case, use_case_version, use_case_step, team, provider, model, route,
		calls, errors, rate_limited, retried, fell_back, streams, cost_dollars, cost_femto, unpriced,
		input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, ` + prefixed("s.", sketchColumns) + `
		FROM rollups r LEFT JOIN rollup_sketches s ON s.id = r.id WHERE ` + where + ` ORDER BY b`
	rows, err := s.r.QueryContext(ctx, query, append(bargs, args...)...)
	if err != nil {
		return nil, fmt.Errorf("rollup: %w", err)
	}
	defer rows.Close()
	type gk struct {
		b int64
		k rollup.Key
	}
	idx := map[gk]int{}
	for rows.Next() {
		var (
			b     int64
			k     rollup.Key
			a     rollup.Agg
			blobs [rollup.NumMetrics][]byte
		)
		dest := []any{&b, &k.UseCase, &k.UseCaseVersion, &k.UseCaseStep, &k.Team, &k.Provider, &k.Model, &k.Route,
			&a.Calls, &a.Errors, &a.RateLimited, &a.Retried, &a.FellBack, &a.Streams,
			&a.CostDollars, &a.CostFemto, &a.Unpriced, &a.InputTokens, &a.OutputTokens, &a.CacheReadTokens, &a.ReasoningTokens}
		if err := rows.Scan(append(dest, sketchDest(&blobs)...)...); err != nil {
			return nil, fmt.Errorf("rollup: %w", err)
		}
		var key rollup.Key
		for _, d := range rollupDims {
			if group[d.name] {
				*d.get(&key) = *d.get(&k)
			}
		}
		i, ok := idx[gk{b, key}]
		if !ok {
			i = len(out)
			idx[gk{b, key}] = i
			out = append(out, store.RollupRow{Bucket: time.Unix(b, 0).UTC(), Key: key})
		}
		out[i].Agg.Merge(&a) // a has no sketches: they are merged from blobs
		for m, blob := range blobs {
			if err := rollup.MergeEncoded(&out[i].Agg.Sketches[m], blob); err != nil {
				return nil, fmt.Errorf("rollup: %w", err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rollup: %w", err)
	}
	slices.SortStableFunc(out, func(x, y store.RollupRow) int {
		return cmp.Or(x.Bucket.Compare(y.Bucket), compareKeys(x.Key, y.Key))
	})
	return out, nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// backfillChunk is how many calls one backfill transaction summarises.
const backfillChunk = 5000

// backfillRollups summarises the calls stored before the rollups existed,
// a chunk per transaction, resuming where a previous run stopped.
func (s *Store) backfillRollups(ctx context.Context) error {
	var to, done int64
	err := s.w.QueryRowContext(ctx, `SELECT backfill_to, done_to FROM rollup_backfill WHERE id = 1`).Scan(&to, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rollup backfill: %w", err)
	}
	for done < to {
		next, err := s.backfillStep(ctx, done, to)
		if err != nil {
			return fmt.Errorf("rollup backfill after call %d: %w", done, err)
		}
		done = next
	}
	return nil
}

func (s *Store) backfillStep(ctx context.Context, done, to int64) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT rowid, received_at, record, cost_femto, unpriced_units FROM requests
		WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?`, done, to, backfillChunk)
	if err != nil {
		return 0, err
	}
	batch := newRollupBatch()
	last := to
	n := 0
	for rows.Next() {
		var (
			rowid, receivedAt int64
			doc               []byte
			femto             sql.NullInt64
			unpriced          sql.NullString
			rec               record.Record
		)
		if err := rows.Scan(&rowid, &receivedAt, &doc, &femto, &unpriced); err != nil {
			rows.Close()
			return 0, err
		}
		if err := unmarshalDoc(doc, receivedAt, &rec); err != nil {
			rows.Close()
			return 0, fmt.Errorf("decode call at rowid %d: %w", rowid, err)
		}
		var cf, up any
		if femto.Valid {
			cf = femto.Int64
		}
		if unpriced.Valid {
			up = unpriced.String
		}
		batch.add(&rec, cf, up)
		last = rowid
		clear(batch.days)       // cost_days were filled by their migration
		clear(batch.identities) // and so were model_identities
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n < backfillChunk {
		last = to
	}
	if err := batch.flush(ctx, tx); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rollup_backfill SET done_to = ? WHERE id = 1`, last); err != nil {
		return 0, err
	}
	return last, tx.Commit()
}

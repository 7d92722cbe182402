package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/store"
)

var _ store.ReviewStore = (*Store)(nil)

// reviewSchema is the migration of the human review queues: queues, their
// items with the lock of the reviewer working on each, and every
// reviewer's outcome (one per item and reviewer).
const reviewSchema = `
CREATE TABLE review_queues (
	name             TEXT    NOT NULL PRIMARY KEY,
	use_case         TEXT    NOT NULL,
	criteria         TEXT    NOT NULL, -- JSON array of criterion names
	reviews_per_item INTEGER NOT NULL,
	sampling         TEXT    NOT NULL, -- store.ReviewSampling as JSON
	created_at       INTEGER NOT NULL, -- Unix nanoseconds
	created_by       TEXT    NOT NULL,
	cursor_at        INTEGER NOT NULL DEFAULT 0, -- the sampler's newest call seen
	cursor_id        TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE review_items (
	queue        TEXT    NOT NULL REFERENCES review_queues (name),
	id           TEXT    NOT NULL,
	target_kind  TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	source       TEXT    NOT NULL,
	stratum      TEXT    NOT NULL,
	day          INTEGER NOT NULL, -- Unix nanoseconds of the UTC day, 0: none
	added_at     INTEGER NOT NULL,
	added_by     TEXT    NOT NULL,
	reviews      INTEGER NOT NULL DEFAULT 0,
	locked_by    TEXT    NOT NULL DEFAULT '',
	locked_until INTEGER NOT NULL DEFAULT 0,
	versions     TEXT    NOT NULL DEFAULT '', -- JSON object criterion -> version of the lock
	PRIMARY KEY (queue, id)
);
CREATE UNIQUE INDEX review_items_target ON review_items (queue, target_kind, target);
CREATE INDEX review_items_added ON review_items (queue, added_at, id);
CREATE INDEX review_items_stratum ON review_items (queue, day, stratum) WHERE source = 'sampled';
CREATE TABLE review_outcomes (
	queue    TEXT    NOT NULL,
	item     TEXT    NOT NULL,
	reviewer TEXT    NOT NULL,
	kind     TEXT    NOT NULL, -- review or skip
	reason   TEXT    NOT NULL,
	at       INTEGER NOT NULL,
	PRIMARY KEY (queue, item, reviewer)
);
CREATE INDEX review_outcomes_reviewer ON review_outcomes (queue, reviewer, at);
`

const reviewQueueCols = `name, use_case, criteria, reviews_per_item, sampling, created_at, created_by, cursor_at, cursor_id`

func scanReviewQueue(row interface{ Scan(...any) error }) (store.ReviewQueue, error) {
	var (
		q                 store.ReviewQueue
		crit, samp        string
		created, cursorAt int64
	)
	if err := row.Scan(&q.Name, &q.UseCase, &crit, &q.ReviewsPerItem, &samp, &created, &q.CreatedBy, &cursorAt, &q.Cursor.ID); err != nil {
		return q, err
	}
	if err := json.Unmarshal([]byte(crit), &q.Criteria); err != nil {
		return q, fmt.Errorf("queue %s criteria: %w", q.Name, err)
	}
	if err := json.Unmarshal([]byte(samp), &q.Sampling); err != nil {
		return q, fmt.Errorf("queue %s sampling: %w", q.Name, err)
	}
	q.CreatedAt = time.Unix(0, created).UTC()
	q.Cursor.ReceivedAt = cursorAt
	return q, nil
}

func getReviewQueue(ctx context.Context, db criteriaQuerier, name string) (store.ReviewQueue, error) {
	q, err := scanReviewQueue(db.QueryRowContext(ctx, `SELECT `+reviewQueueCols+` FROM review_queues WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return q, fmt.Errorf("review queue %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return q, fmt.Errorf("review queue %s: %w", name, err)
	}
	return q, nil
}

// CreateReviewQueue stores a new queue.
func (s *Store) CreateReviewQueue(ctx context.Context, q store.ReviewQueue) (store.ReviewQueue, error) {
	if q.Name == "" || q.ReviewsPerItem < 1 {
		return q, fmt.Errorf("create review queue: %w: a queue needs a name and reviews per item", store.ErrInvalidQuery)
	}
	if q.Criteria == nil {
		q.Criteria = []string{}
	}
	crit, err := json.Marshal(q.Criteria)
	if err != nil {
		return q, err
	}
	samp, err := json.Marshal(q.Sampling)
	if err != nil {
		return q, err
	}
	q.CreatedAt = q.CreatedAt.UTC()
	q.Cursor = store.Key{}
	_, err = s.w.ExecContext(ctx, `INSERT INTO review_queues (name, use_case, criteria, reviews_per_item, sampling, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		q.Name, q.UseCase, string(crit), q.ReviewsPerItem, string(samp), q.CreatedAt.UnixNano(), q.CreatedBy)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint") {
			return q, fmt.Errorf("create review queue %s: %w", q.Name, store.ErrConflict)
		}
		return q, fmt.Errorf("create review queue %s: %w", q.Name, err)
	}
	return q, nil
}

// ReviewQueue returns one queue.
func (s *Store) ReviewQueue(ctx context.Context, name string) (store.ReviewQueue, error) {
	return getReviewQueue(ctx, s.r, name)
}

// ListReviewQueues returns every queue by name.
func (s *Store) ListReviewQueues(ctx context.Context) ([]store.ReviewQueue, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+reviewQueueCols+` FROM review_queues ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list review queues: %w", err)
	}
	defer rows.Close()
	out := []store.ReviewQueue{}
	for rows.Next() {
		q, err := scanReviewQueue(rows)
		if err != nil {
			return nil, fmt.Errorf("list review queues: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// AddReviewItems adds items to a queue and moves its cursor.
func (s *Store) AddReviewItems(ctx context.Context, queue string, items []store.ReviewItem, cursor *store.Key) (int, error) {
	for i, it := range items {
		if it.ID == "" || len(it.ID) > store.MaxIDLen || it.TargetKind == "" || it.Target == "" || len(it.Target) > store.MaxIDLen {
			return 0, fmt.Errorf("add review items: %w: item %d lacks an id, target kind or target", store.ErrInvalidQuery, i)
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("add review items: %w", err)
	}
	defer tx.Rollback()
	if _, err := getReviewQueue(ctx, tx, queue); err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		var day int64
		if !it.Day.IsZero() {
			day = it.Day.UTC().Truncate(24 * time.Hour).UnixNano()
		}
		source := it.Source
		if source == "" {
			source = "added"
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO review_items (queue, id, target_kind, target, source, stratum, day, added_at, added_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			queue, it.ID, string(it.TargetKind), it.Target, source, it.Stratum, day, it.AddedAt.UnixNano(), it.AddedBy)
		if err != nil {
			return 0, fmt.Errorf("add review item %s: %w", it.ID, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += int(k)
	}
	if cursor != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE review_queues SET cursor_at = ?, cursor_id = ? WHERE name = ?`, cursor.ReceivedAt, cursor.ID, queue); err != nil {
			return 0, fmt.Errorf("move review cursor: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("add review items: %w", err)
	}
	return n, nil
}

// StratumCounts counts sampled items per UTC day and stratum.
func (s *Store) StratumCounts(ctx context.Context, queue string, since time.Time) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT day, stratum, COUNT(*) FROM review_items WHERE queue = ? AND source = 'sampled' AND day >= ? GROUP BY day, stratum`,
		queue, since.UTC().Truncate(24*time.Hour).UnixNano())
	if err != nil {
		return nil, fmt.Errorf("stratum counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			day     int64
			stratum string
			n       int
		)
		if err := rows.Scan(&day, &stratum, &n); err != nil {
			return nil, fmt.Errorf("stratum counts: %w", err)
		}
		out[time.Unix(0, day).UTC().Format(time.DateOnly)+"|"+stratum] = n
	}
	return out, rows.Err()
}

const reviewItemCols = `queue, id, target_kind, target, source, stratum, day, added_at, added_by, reviews, locked_by, locked_until, versions`

func scanReviewItem(row interface{ Scan(...any) error }) (store.ReviewItem, error) {
	var (
		it                      store.ReviewItem
		kind, versions          string
		day, added, lockedUntil int64
	)
	if err := row.Scan(&it.Queue, &it.ID, &kind, &it.Target, &it.Source, &it.Stratum, &day, &added, &it.AddedBy, &it.Reviews, &it.LockedBy, &lockedUntil, &versions); err != nil {
		return it, err
	}
	it.TargetKind = eval.TargetKind(kind)
	if day != 0 {
		it.Day = time.Unix(0, day).UTC()
	}
	it.AddedAt = time.Unix(0, added).UTC()
	if it.LockedBy != "" {
		it.LockedUntil = time.Unix(0, lockedUntil).UTC()
	}
	if versions != "" {
		if err := json.Unmarshal([]byte(versions), &it.Versions); err != nil {
			return it, fmt.Errorf("review item %s versions: %w", it.ID, err)
		}
	}
	return it, nil
}

func getReviewItem(ctx context.Context, db criteriaQuerier, queue, id string) (store.ReviewItem, error) {
	it, err := scanReviewItem(db.QueryRowContext(ctx, `SELECT `+reviewItemCols+` FROM review_items WHERE queue = ? AND id = ?`, queue, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("review item %s/%s: %w", queue, id, store.ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("review item %s/%s: %w", queue, id, err)
	}
	return it, nil
}

// NextReviewItem locks the reviewer's next item.
func (s *Store) NextReviewItem(ctx context.Context, queue, reviewer string, versions map[string]int, now time.Time, lockFor time.Duration) (store.ReviewItem, error) {
	if reviewer == "" || lockFor <= 0 {
		return store.ReviewItem{}, fmt.Errorf("next review item: %w: a reviewer and a lock time are required", store.ErrInvalidQuery)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.ReviewItem{}, fmt.Errorf("next review item: %w", err)
	}
	defer tx.Rollback()
	q, err := getReviewQueue(ctx, tx, queue)
	if err != nil {
		return store.ReviewItem{}, err
	}
	eligible := `FROM review_items i WHERE i.queue = ? AND i.reviews < ?
		AND NOT EXISTS (SELECT 1 FROM review_outcomes o WHERE o.queue = i.queue AND o.item = i.id AND o.reviewer = ?)`
	nowNs := now.UnixNano()
	var id string
	renew := true
	err = tx.QueryRowContext(ctx, `SELECT i.id `+eligible+` AND i.locked_by = ? AND i.locked_until > ? ORDER BY i.added_at, i.rowid LIMIT 1`,
		queue, q.ReviewsPerItem, reviewer, reviewer, nowNs).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		renew = false
		err = tx.QueryRowContext(ctx, `SELECT i.id `+eligible+` AND (i.locked_by = '' OR i.locked_until <= ? OR i.locked_by = ?) ORDER BY i.added_at, i.rowid LIMIT 1`,
			queue, q.ReviewsPerItem, reviewer, nowNs, reviewer).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ReviewItem{}, fmt.Errorf("review queue %s: no item for %s: %w", queue, reviewer, store.ErrNotFound)
	}
	if err != nil {
		return store.ReviewItem{}, fmt.Errorf("next review item: %w", err)
	}
	until := now.Add(lockFor).UnixNano()
	if renew {
		_, err = tx.ExecContext(ctx, `UPDATE review_items SET locked_until = ? WHERE queue = ? AND id = ?`, until, queue, id)
	} else {
		v, merr := json.Marshal(versions)
		if merr != nil {
			return store.ReviewItem{}, merr
		}
		// A reviewer holds one item of a queue at a time.
		if _, err := tx.ExecContext(ctx, `UPDATE review_items SET locked_by = '', locked_until = 0 WHERE queue = ? AND locked_by = ?`, queue, reviewer); err != nil {
			return store.ReviewItem{}, fmt.Errorf("next review item: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE review_items SET locked_by = ?, locked_until = ?, versions = ? WHERE queue = ? AND id = ?`, reviewer, until, string(v), queue, id)
	}
	if err != nil {
		return store.ReviewItem{}, fmt.Errorf("lock review item: %w", err)
	}
	it, err := getReviewItem(ctx, tx, queue, id)
	if err != nil {
		return it, err
	}
	if err := tx.Commit(); err != nil {
		return it, fmt.Errorf("next review item: %w", err)
	}
	return it, nil
}

// ReviewItem returns one item.
func (s *Store) ReviewItem(ctx context.Context, queue, id string) (store.ReviewItem, error) {
	return getReviewItem(ctx, s.r, queue, id)
}

// ListReviewItems returns a page of a queue's items with their reviewers.
func (s *Store) ListReviewItems(ctx context.Context, queue string, offset, limit int) ([]store.ReviewItem, error) {
	if limit < 1 || limit > 1000 || offset < 0 {
		return nil, fmt.Errorf("list review items: %w: limit 1 to 1000, offset from 0", store.ErrInvalidQuery)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+reviewItemCols+`,
		COALESCE((SELECT json_group_array(reviewer) FROM (SELECT reviewer FROM review_outcomes o WHERE o.queue = i.queue AND o.item = i.id AND o.kind = 'review' ORDER BY reviewer)), '[]')
		FROM review_items i WHERE queue = ? ORDER BY added_at, rowid LIMIT ? OFFSET ?`, queue, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	defer rows.Close()
	out := []store.ReviewItem{}
	for rows.Next() {
		var reviewers string
		it, err := scanReviewItem(scanPlus{rows, &reviewers})
		if err != nil {
			return nil, fmt.Errorf("list review items: %w", err)
		}
		if err := json.Unmarshal([]byte(reviewers), &it.Reviewers); err != nil {
			return nil, fmt.Errorf("list review items: %w", err)
		}
		if len(it.Reviewers) == 0 {
			it.Reviewers = nil
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// scanPlus scans a row into the destinations a scan function gives, then
// the extra ones.
type scanPlus struct {
	rows  *sql.Rows
	extra *string
}

func (s scanPlus) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.extra)...) }

// RenewReviewLock extends the reviewer's lock.
func (s *Store) RenewReviewLock(ctx context.Context, queue, id, reviewer string, now time.Time, lockFor time.Duration) (store.ReviewItem, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.ReviewItem{}, fmt.Errorf("renew review lock: %w", err)
	}
	defer tx.Rollback()
	if _, err := getReviewItem(ctx, tx, queue, id); err != nil {
		return store.ReviewItem{}, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE review_items SET locked_until = ? WHERE queue = ? AND id = ? AND locked_by = ? AND locked_until > ?`,
		now.Add(lockFor).UnixNano(), queue, id, reviewer, now.UnixNano())
	if err != nil {
		return store.ReviewItem{}, fmt.Errorf("renew review lock: %w", err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return store.ReviewItem{}, fmt.Errorf("review item %s/%s: %s holds no lock on it: %w", queue, id, reviewer, store.ErrConflict)
	}
	it, err := getReviewItem(ctx, tx, queue, id)
	if err != nil {
		return it, err
	}
	return it, tx.Commit()
}

// FinishReviewItem records a review or a skip.
func (s *Store) FinishReviewItem(ctx context.Context, queue, id string, o store.ReviewOutcome, scores []store.StoredScore) (store.ReviewItem, error) {
	if o.Reviewer == "" || (o.Kind != store.ReviewDone && o.Kind != store.ReviewSkipped) || o.At.IsZero() {
		return store.ReviewItem{}, fmt.Errorf("finish review item: %w: a reviewer, a kind (review or skip) and a time are required", store.ErrInvalidQuery)
	}
	for i := range scores {
		sc := &scores[i]
		if sc.ID == "" || len(sc.ID) > store.MaxIDLen || sc.Criterion == "" || sc.CriterionVersion <= 0 || sc.EvaluatorKind == "" || sc.Evaluator == "" ||
			sc.TargetKind == "" || sc.Target == "" || sc.At.IsZero() {
			return store.ReviewItem{}, fmt.Errorf("finish review item: %w: score %d lacks an id, criterion, version, evaluator, target or time", store.ErrInvalidQuery, i)
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.ReviewItem{}, fmt.Errorf("finish review item: %w", err)
	}
	defer tx.Rollback()
	q, err := getReviewQueue(ctx, tx, queue)
	if err != nil {
		return store.ReviewItem{}, err
	}
	it, err := getReviewItem(ctx, tx, queue, id)
	if err != nil {
		return it, err
	}
	at := o.At.UnixNano()
	if it.LockedBy != "" && it.LockedBy != o.Reviewer && it.LockedUntil.UnixNano() > at {
		return it, fmt.Errorf("review item %s/%s is locked by %s: %w", queue, id, it.LockedBy, store.ErrConflict)
	}
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM review_outcomes WHERE queue = ? AND item = ? AND reviewer = ?`, queue, id, o.Reviewer).Scan(&done); err != nil {
		return it, fmt.Errorf("finish review item: %w", err)
	}
	if done > 0 {
		return it, fmt.Errorf("review item %s/%s: %s reviewed or skipped it already: %w", queue, id, o.Reviewer, store.ErrConflict)
	}
	if o.Kind == store.ReviewDone {
		res, err := tx.ExecContext(ctx, `UPDATE review_items SET reviews = reviews + 1 WHERE queue = ? AND id = ? AND reviews < ?`, queue, id, q.ReviewsPerItem)
		if err != nil {
			return it, fmt.Errorf("finish review item: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return it, fmt.Errorf("review item %s/%s has all its %d reviews: %w", queue, id, q.ReviewsPerItem, store.ErrConflict)
		}
		for _, sc := range scores {
			var label, number any
			if sc.Value.Label != "" {
				label = sc.Value.Label
			}
			if sc.Value.Number != nil {
				number = *sc.Value.Number
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO scores (id, criterion, criterion_version, evaluator_kind, evaluator, target_kind, target,
				value_bool, value_label, value_number, pass, reasoning, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
				sc.ID, sc.Criterion, sc.CriterionVersion, string(sc.EvaluatorKind), sc.Evaluator, string(sc.TargetKind), sc.Target,
				nullCriterionBool(sc.Value.Bool), label, number, nullCriterionBool(sc.Pass), sc.Reasoning, sc.At.UnixNano()); err != nil {
				return it, fmt.Errorf("finish review item: score %s: %w", sc.ID, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE review_items SET locked_by = '', locked_until = 0 WHERE queue = ? AND id = ? AND locked_by = ?`, queue, id, o.Reviewer); err != nil {
		return it, fmt.Errorf("finish review item: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO review_outcomes (queue, item, reviewer, kind, reason, at) VALUES (?, ?, ?, ?, ?, ?)`,
		queue, id, o.Reviewer, o.Kind, o.Reason, at); err != nil {
		return it, fmt.Errorf("finish review item: %w", err)
	}
	it, err = getReviewItem(ctx, tx, queue, id)
	if err != nil {
		return it, err
	}
	if err := tx.Commit(); err != nil {
		return it, fmt.Errorf("finish review item: %w", err)
	}
	return it, nil
}

// ReviewProgress returns a queue's progress.
func (s *Store) ReviewProgress(ctx context.Context, queue string, now, dayStart time.Time) (store.ReviewProgress, error) {
	p := store.ReviewProgress{Reviewers: []store.ReviewerProgress{}}
	q, err := getReviewQueue(ctx, s.r, queue)
	if err != nil {
		return p, err
	}
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(reviews >= ?), 0),
		COALESCE(SUM(reviews < ? AND (reviews > 0 OR (locked_by != '' AND locked_until > ?))), 0)
		FROM review_items WHERE queue = ?`, q.ReviewsPerItem, q.ReviewsPerItem, now.UnixNano(), queue).Scan(&p.Items, &p.Reviewed, &p.InProgress); err != nil {
		return p, fmt.Errorf("review progress: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT reviewer, COALESCE(SUM(kind = 'review' AND at >= ?), 0), COALESCE(SUM(kind = 'review'), 0), COALESCE(SUM(kind = 'skip'), 0)
		FROM review_outcomes WHERE queue = ? GROUP BY reviewer ORDER BY reviewer`, dayStart.UnixNano(), queue)
	if err != nil {
		return p, fmt.Errorf("review progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.ReviewerProgress
		if err := rows.Scan(&r.Reviewer, &r.Today, &r.Total, &r.Skipped); err != nil {
			return p, fmt.Errorf("review progress: %w", err)
		}
		p.Reviewers = append(p.Reviewers, r)
	}
	return p, rows.Err()
}

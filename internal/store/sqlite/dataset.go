package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

var _ store.DatasetStore = (*Store)(nil)

// datasetColumns reads a dataset with its latest version and item count.
const datasetColumns = `d.name, d.use_case, d.description, d.created_at, d.created_by,
	COALESCE((SELECT MAX(version) FROM dataset_versions v WHERE v.dataset = d.name), 0),
	COALESCE((SELECT items FROM dataset_versions v WHERE v.dataset = d.name ORDER BY version DESC LIMIT 1), 0)`

// CreateDataset stores a new dataset without versions.
func (s *Store) CreateDataset(ctx context.Context, d store.Dataset) (store.Dataset, error) {
	if d.Name == "" {
		return d, fmt.Errorf("create dataset: %w: a name is required", store.ErrInvalidQuery)
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	d.CreatedAt = d.CreatedAt.UTC()
	d.LatestVersion, d.Items = 0, 0
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("create dataset %s: %w", d.Name, err)
	}
	defer tx.Rollback()
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM datasets WHERE name = ?)`, d.Name).Scan(&exists); err != nil {
		return d, fmt.Errorf("create dataset %s: %w", d.Name, err)
	}
	if exists {
		return d, fmt.Errorf("create dataset %s: it exists: %w", d.Name, store.ErrConflict)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO datasets (name, use_case, description, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
		d.Name, d.UseCase, d.Description, d.CreatedAt.UnixNano(), d.CreatedBy); err != nil {
		return d, fmt.Errorf("create dataset %s: %w", d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return d, fmt.Errorf("create dataset %s: %w", d.Name, err)
	}
	return d, nil
}

func scanDataset(row interface{ Scan(...any) error }) (store.Dataset, error) {
	var (
		d  store.Dataset
		at int64
	)
	if err := row.Scan(&d.Name, &d.UseCase, &d.Description, &at, &d.CreatedBy, &d.LatestVersion, &d.Items); err != nil {
		return d, err
	}
	d.CreatedAt = time.Unix(0, at).UTC()
	return d, nil
}

// Dataset returns one dataset.
func (s *Store) Dataset(ctx context.Context, name string) (store.Dataset, error) {
	d, err := scanDataset(s.r.QueryRowContext(ctx, `SELECT `+datasetColumns+` FROM datasets d WHERE d.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("dataset %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("dataset %s: %w", name, err)
	}
	return d, nil
}

// ListDatasets returns the datasets, of one use case or all.
func (s *Store) ListDatasets(ctx context.Context, useCase string) ([]store.Dataset, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+datasetColumns+` FROM datasets d WHERE ?1 = '' OR d.use_case = ?1 ORDER BY d.name`, useCase)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	defer rows.Close()
	out := []store.Dataset{}
	for rows.Next() {
		d, err := scanDataset(rows)
		if err != nil {
			return nil, fmt.Errorf("list datasets: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	return out, nil
}

// AppendDatasetVersion makes the next version of a dataset from a change.
func (s *Store) AppendDatasetVersion(ctx context.Context, c store.DatasetChange) (store.DatasetVersion, error) {
	v := store.DatasetVersion{Name: c.Name, Note: c.Note, CreatedAt: c.CreatedAt, CreatedBy: c.CreatedBy}
	fail := func(err error) (store.DatasetVersion, error) {
		return store.DatasetVersion{}, fmt.Errorf("change dataset %s: %w", c.Name, err)
	}
	seen := make(map[string]bool, len(c.Put)+len(c.Remove))
	for _, it := range c.Put {
		if it.ID == "" || len(it.Doc) == 0 {
			return fail(fmt.Errorf("%w: an item needs an id and a document", store.ErrInvalidQuery))
		}
		if seen[it.ID] {
			return fail(fmt.Errorf("%w: item %s appears twice", store.ErrInvalidQuery, it.ID))
		}
		seen[it.ID] = true
	}
	for _, id := range c.Remove {
		if seen[id] {
			return fail(fmt.Errorf("%w: item %s appears twice", store.ErrInvalidQuery, id))
		}
		seen[id] = true
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}
	v.CreatedAt = v.CreatedAt.UTC()

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM datasets WHERE name = ?)`, c.Name).Scan(&exists); err != nil {
		return fail(err)
	}
	if !exists {
		return fail(store.ErrNotFound)
	}
	var last, prevItems int
	var maxPos int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM dataset_versions WHERE dataset = ?`, c.Name).Scan(&last); err != nil {
		return fail(err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT items FROM dataset_versions WHERE dataset = ? AND version = ?), 0)`, c.Name, last).Scan(&prevItems); err != nil {
		return fail(err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(pos), 0) FROM dataset_entries WHERE dataset = ?`, c.Name).Scan(&maxPos); err != nil {
		return fail(err)
	}
	v.Version = last + 1
	// An entry holds one revision of one item from from_version up to
	// (not including) to_version; the latest version's entries are open
	// (to_version NULL). A change closes entries and opens new ones: it
	// writes what changed, not the whole version.
	closeEntry, err := tx.PrepareContext(ctx, `UPDATE dataset_entries SET to_version = ? WHERE dataset = ? AND item_id = ? AND to_version IS NULL`)
	if err != nil {
		return fail(err)
	}
	defer closeEntry.Close()
	for _, id := range c.Remove {
		res, err := closeEntry.ExecContext(ctx, v.Version, c.Name, id)
		if err != nil {
			return fail(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fail(err)
		} else if n == 0 {
			return fail(fmt.Errorf("item %s: %w", id, store.ErrNotFound))
		}
		v.Removed++
	}
	cur, err := tx.PrepareContext(ctx, `SELECT e.rev, e.pos, r.doc FROM dataset_entries e JOIN dataset_item_revisions r
		ON r.dataset = e.dataset AND r.item_id = e.item_id AND r.rev = e.rev
		WHERE e.dataset = ? AND e.item_id = ? AND e.to_version IS NULL`)
	if err != nil {
		return fail(err)
	}
	defer cur.Close()
	maxRev, err := tx.PrepareContext(ctx, `SELECT COALESCE(MAX(rev), 0) FROM dataset_item_revisions WHERE dataset = ? AND item_id = ?`)
	if err != nil {
		return fail(err)
	}
	defer maxRev.Close()
	insRev, err := tx.PrepareContext(ctx, `INSERT INTO dataset_item_revisions (dataset, item_id, rev, doc) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return fail(err)
	}
	defer insRev.Close()
	openEntry, err := tx.PrepareContext(ctx, `INSERT INTO dataset_entries (dataset, item_id, rev, pos, from_version, to_version) VALUES (?, ?, ?, ?, ?, NULL)`)
	if err != nil {
		return fail(err)
	}
	defer openEntry.Close()
	for _, it := range c.Put {
		var (
			rev int
			pos int64
			doc string
		)
		err := cur.QueryRowContext(ctx, c.Name, it.ID).Scan(&rev, &pos, &doc)
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fail(err)
		}
		if !found && c.MustExist {
			return fail(fmt.Errorf("item %s: %w", it.ID, store.ErrNotFound))
		}
		if found && doc == string(it.Doc) {
			continue // unchanged: the entry stays open
		}
		var next int
		if err := maxRev.QueryRowContext(ctx, c.Name, it.ID).Scan(&next); err != nil {
			return fail(err)
		}
		next++
		if _, err := insRev.ExecContext(ctx, c.Name, it.ID, next, string(it.Doc)); err != nil {
			return fail(err)
		}
		if found {
			if _, err := closeEntry.ExecContext(ctx, v.Version, c.Name, it.ID); err != nil {
				return fail(err)
			}
			v.Changed++
		} else {
			maxPos++
			pos = maxPos
			v.Added++
		}
		if _, err := openEntry.ExecContext(ctx, c.Name, it.ID, next, pos, v.Version); err != nil {
			return fail(err)
		}
	}
	v.Items = prevItems + v.Added - v.Removed
	if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_versions (dataset, version, items, added, changed, removed, note, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.Name, v.Version, v.Items, v.Added, v.Changed, v.Removed, v.Note, v.CreatedAt.UnixNano(), v.CreatedBy); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return v, nil
}

const datasetVersionColumns = `dataset, version, items, added, changed, removed, note, created_at, created_by`

func scanDatasetVersion(row interface{ Scan(...any) error }) (store.DatasetVersion, error) {
	var (
		v  store.DatasetVersion
		at int64
	)
	if err := row.Scan(&v.Name, &v.Version, &v.Items, &v.Added, &v.Changed, &v.Removed, &v.Note, &at, &v.CreatedBy); err != nil {
		return v, err
	}
	v.CreatedAt = time.Unix(0, at).UTC()
	return v, nil
}

// DatasetVersion returns one version, or the latest when version is 0.
func (s *Store) DatasetVersion(ctx context.Context, name string, version int) (store.DatasetVersion, error) {
	q := `SELECT ` + datasetVersionColumns + ` FROM dataset_versions WHERE dataset = ? AND version = ?`
	args := []any{name, version}
	if version == 0 {
		q = `SELECT ` + datasetVersionColumns + ` FROM dataset_versions WHERE dataset = ? ORDER BY version DESC LIMIT 1`
		args = args[:1]
	}
	v, err := scanDatasetVersion(s.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("dataset %s version %d: %w", name, version, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("dataset %s version %d: %w", name, version, err)
	}
	return v, nil
}

// DatasetVersions returns every version of a dataset, oldest first.
func (s *Store) DatasetVersions(ctx context.Context, name string) ([]store.DatasetVersion, error) {
	if _, err := s.Dataset(ctx, name); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+datasetVersionColumns+` FROM dataset_versions WHERE dataset = ? ORDER BY version`, name)
	if err != nil {
		return nil, fmt.Errorf("dataset %s versions: %w", name, err)
	}
	defer rows.Close()
	out := []store.DatasetVersion{}
	for rows.Next() {
		v, err := scanDatasetVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("dataset %s versions: %w", name, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dataset %s versions: %w", name, err)
	}
	return out, nil
}

// DatasetItems returns one page of a version's items.
func (s *Store) DatasetItems(ctx context.Context, q store.DatasetItemQuery) (store.DatasetItemPage, error) {
	if q.Limit < 0 || q.After < 0 || q.Version < 0 {
		return store.DatasetItemPage{}, fmt.Errorf("dataset %s items: %w: negative limit, after or version", q.Name, store.ErrInvalidQuery)
	}
	if q.Limit == 0 {
		q.Limit = store.DefaultLimit
	}
	q.Limit = min(q.Limit, store.MaxLimit)
	v, err := s.DatasetVersion(ctx, q.Name, q.Version)
	if err != nil {
		return store.DatasetItemPage{}, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT e.item_id, e.rev, e.pos, r.doc FROM dataset_entries e JOIN dataset_item_revisions r
		ON r.dataset = e.dataset AND r.item_id = e.item_id AND r.rev = e.rev
		WHERE e.dataset = ?1 AND e.pos > ?2 AND e.from_version <= ?3 AND (e.to_version IS NULL OR e.to_version > ?3)
		ORDER BY e.pos LIMIT ?4`, q.Name, q.After, v.Version, q.Limit+1)
	if err != nil {
		return store.DatasetItemPage{}, fmt.Errorf("dataset %s items: %w", q.Name, err)
	}
	defer rows.Close()
	p := store.DatasetItemPage{Version: v.Version, Items: []store.DatasetItem{}}
	for rows.Next() {
		var (
			it  store.DatasetItem
			doc string
		)
		if err := rows.Scan(&it.ID, &it.Rev, &it.Pos, &doc); err != nil {
			return store.DatasetItemPage{}, fmt.Errorf("dataset %s items: %w", q.Name, err)
		}
		it.Doc = []byte(doc)
		p.Items = append(p.Items, it)
	}
	if err := rows.Err(); err != nil {
		return store.DatasetItemPage{}, fmt.Errorf("dataset %s items: %w", q.Name, err)
	}
	if len(p.Items) > q.Limit {
		p.Items = p.Items[:q.Limit]
		p.Next = p.Items[q.Limit-1].Pos
	}
	return p, nil
}

// datasetsMigration is the schema of the dataset store (appended to
// migrations in migrate.go).
const datasetsMigration = `
CREATE TABLE datasets (
	name        TEXT    NOT NULL PRIMARY KEY,
	use_case    TEXT    NOT NULL,
	description TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	created_by  TEXT    NOT NULL
);
CREATE INDEX datasets_use_case ON datasets (use_case, name);
CREATE TABLE dataset_versions (
	dataset    TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	items      INTEGER NOT NULL,
	added      INTEGER NOT NULL,
	changed    INTEGER NOT NULL,
	removed    INTEGER NOT NULL,
	note       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	created_by TEXT    NOT NULL,
	PRIMARY KEY (dataset, version)
);
-- An item's content, once per revision.
CREATE TABLE dataset_item_revisions (
	dataset TEXT    NOT NULL,
	item_id TEXT    NOT NULL,
	rev     INTEGER NOT NULL,
	doc     TEXT    NOT NULL,
	PRIMARY KEY (dataset, item_id, rev)
);
-- Which revision of which item each version holds, in position order.
CREATE TABLE dataset_members (
	dataset TEXT    NOT NULL,
	version INTEGER NOT NULL,
	pos     INTEGER NOT NULL,
	item_id TEXT    NOT NULL,
	rev     INTEGER NOT NULL,
	PRIMARY KEY (dataset, version, pos)
);
CREATE UNIQUE INDEX dataset_members_item ON dataset_members (dataset, version, item_id);
`

// datasetEntriesMigration replaces the per-version membership rows, which
// copied every item reference at each version, with entries that hold one
// revision over a range of versions: a version that changes one item of
// 50,000 writes one entry. A revision is held over contiguous versions (a
// changed or removed item never gets an old revision back), so each
// (item, revision) of the old table becomes one entry.
const datasetEntriesMigration = `
CREATE TABLE dataset_entries (
	dataset      TEXT    NOT NULL,
	item_id      TEXT    NOT NULL,
	rev          INTEGER NOT NULL,
	pos          INTEGER NOT NULL,
	from_version INTEGER NOT NULL, -- the first version holding this revision
	to_version   INTEGER,          -- the first version without it; NULL while held
	PRIMARY KEY (dataset, item_id, rev)
);
CREATE INDEX dataset_entries_pos ON dataset_entries (dataset, pos, from_version);
CREATE UNIQUE INDEX dataset_entries_open ON dataset_entries (dataset, item_id) WHERE to_version IS NULL;
INSERT INTO dataset_entries (dataset, item_id, rev, pos, from_version, to_version)
SELECT m.dataset, m.item_id, m.rev, MIN(m.pos), MIN(m.version),
	CASE WHEN MAX(m.version) = (SELECT MAX(version) FROM dataset_versions v WHERE v.dataset = m.dataset) THEN NULL
		ELSE MAX(m.version) + 1 END
FROM dataset_members m GROUP BY m.dataset, m.item_id, m.rev;
DROP TABLE dataset_members;
`

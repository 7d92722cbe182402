package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one step of the schema. Versions start at 1 and increase by
// one; a released migration is never edited, only followed by a new one.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the schema history, oldest first.
var migrations = []migration{
	{1, "requests", `
CREATE TABLE requests (
	id                TEXT    NOT NULL UNIQUE,
	received_at       INTEGER NOT NULL, -- Unix nanoseconds
	endpoint          TEXT    NOT NULL,
	use_case          TEXT    NOT NULL,
	use_case_instance TEXT    NOT NULL,
	team              TEXT    NOT NULL,
	user              TEXT    NOT NULL,
	account           TEXT    NOT NULL,
	provider          TEXT    NOT NULL,
	model             TEXT    NOT NULL,
	status            INTEGER NOT NULL,
	error_kind        TEXT    NOT NULL,
	stream            INTEGER NOT NULL,
	record            BLOB    NOT NULL, -- the record as JSON, without bodies
	request           TEXT    NOT NULL,
	response          TEXT    NOT NULL
);
CREATE INDEX requests_received    ON requests (received_at, id);
CREATE INDEX requests_use_case    ON requests (use_case, received_at, id);
CREATE INDEX requests_instance    ON requests (use_case_instance, received_at, id);
CREATE INDEX requests_team        ON requests (team, received_at, id);
CREATE INDEX requests_user        ON requests (user, received_at, id);
CREATE INDEX requests_account     ON requests (account, received_at, id);
CREATE INDEX requests_provider    ON requests (provider, received_at, id);
CREATE INDEX requests_model       ON requests (model, received_at, id);
CREATE INDEX requests_status      ON requests (status, received_at, id);
CREATE INDEX requests_error_kind  ON requests (error_kind, received_at, id);
`},
}

// migrate brings db to the last version in migs. Each migration runs in its
// own transaction together with its schema_migrations row, so a crash leaves
// the database at some whole version. A database newer than migs is an error:
// an older Weir must not write to a schema it does not know.
func migrate(ctx context.Context, db *sql.DB, migs []migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for i, m := range migs {
		if m.version != i+1 {
			return fmt.Errorf("migrate: migration %d has version %d", i, m.version)
		}
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(migs) {
		return fmt.Errorf("migrate: database schema version %d is newer than this Weir knows (%d)", current, len(migs))
	}
	for _, m := range migs[current:] {
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migrate to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have migrated since we read the version.
	var done bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?)`, m.version).Scan(&done); err != nil {
		return err
	}
	if done {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

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
	{2, "cost", `
-- cost_femto is record.cost_usd in femto-dollars, NULL when the call was not
-- priced. unpriced_units is NULL unless the call reached a provider but could
-- not be priced (cost set, cost_usd null); then it is record.cost.unpriced_units,
-- a JSON array of unit names ([] for none).
ALTER TABLE requests ADD COLUMN cost_femto     INTEGER;
ALTER TABLE requests ADD COLUMN unpriced_units TEXT;

-- Fill them for the records already stored. cost_usd is an exact decimal
-- number of dollars with at most 15 decimals (pricing.Money's JSON); ->
-- returns its text as written, which is parsed here as whole dollars and
-- femto-dollars, never through a float. A number in any other form (none
-- is ever written) is left NULL rather than guessed.
UPDATE requests SET cost_femto = c.femto, unpriced_units = c.units
FROM (
	SELECT rid,
		CASE WHEN whole GLOB '[0-9]*' AND whole NOT GLOB '*[^0-9]*' AND length(whole) <= 4
			AND frac NOT GLOB '*[^0-9]*' AND length(frac) <= 15
			THEN sign * (CAST(whole AS INTEGER) * 1000000000000000 +
				CAST(substr(frac || '000000000000000', 1, 15) AS INTEGER))
		END AS femto,
		CASE WHEN num IS NULL AND has_cost THEN COALESCE(units, '[]') END AS units
	FROM (
		SELECT rid, num, has_cost, units,
			CASE WHEN num GLOB '-*' THEN -1 ELSE 1 END AS sign,
			CASE WHEN instr(a, '.') > 0 THEN substr(a, 1, instr(a, '.') - 1) ELSE a END AS whole,
			CASE WHEN instr(a, '.') > 0 THEN substr(a, instr(a, '.') + 1) ELSE '' END AS frac
		FROM (
			SELECT rid, num, has_cost, units, ltrim(num, '-') AS a
			FROM (
				SELECT rid,
					CASE WHEN json_type(doc, '$.cost_usd') IN ('integer', 'real') THEN doc -> '$.cost_usd' END AS num,
					json_type(doc, '$.cost') = 'object' AS has_cost,
					doc -> '$.cost.unpriced_units' AS units
				FROM (SELECT rowid AS rid, CAST(record AS TEXT) AS doc FROM requests)
			)
		)
	)
) AS c
WHERE requests.rowid = c.rid AND (c.femto IS NOT NULL OR c.units IS NOT NULL);

-- Cost questions read a time range and group it by one dimension: this
-- index covers them, so they never touch the table rows and their bodies.
CREATE INDEX requests_cost ON requests
	(received_at, provider, model, use_case, team, user, account, cost_femto, unpriced_units);
-- Unpriced calls are few: their own small index.
CREATE INDEX requests_unpriced ON requests (received_at, provider, model, unpriced_units)
	WHERE unpriced_units IS NOT NULL;
`},
	{3, "tokens, cost revisions, price entries", `
-- Token totals of each call (record.usage.input_tokens and output_tokens,
-- their cached, audio and reasoning parts included), for reconciliation with
-- token-only provider exports and for amortising committed capacity by token
-- share.
ALTER TABLE requests ADD COLUMN input_tokens  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
UPDATE requests SET
	input_tokens  = COALESCE(CAST(record AS TEXT) ->> '$.usage.input_tokens', 0),
	output_tokens = COALESCE(CAST(record AS TEXT) ->> '$.usage.output_tokens', 0)
WHERE CAST(record AS TEXT) ->> '$.usage.input_tokens' > 0
	OR CAST(record AS TEXT) ->> '$.usage.output_tokens' > 0;

-- The cost index now covers the token totals too.
DROP INDEX requests_cost;
CREATE INDEX requests_cost2 ON requests
	(received_at, provider, model, use_case, team, user, account, cost_femto, unpriced_units,
	 input_tokens, output_tokens);

-- Every change of a stored call's cost, with the figure before and after:
-- the audit trail of re-pricing. cost_femto columns are NULL when unpriced;
-- *_cost hold record.cost as JSON ('null' when the call had none).
CREATE TABLE cost_revisions (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id          TEXT    NOT NULL,
	request_id      TEXT    NOT NULL,
	received_at     INTEGER NOT NULL,
	revised_at      INTEGER NOT NULL,
	reason          TEXT    NOT NULL,
	old_cost_femto  INTEGER,
	new_cost_femto  INTEGER,
	old_cost        TEXT    NOT NULL,
	new_cost        TEXT    NOT NULL
);
CREATE INDEX cost_revisions_request ON cost_revisions (request_id, seq);
CREATE INDEX cost_revisions_run     ON cost_revisions (run_id, seq);

-- Price entries managed through the API, append-only: each change is a new
-- version; entry is NULL for a deletion. The entries in force are the last
-- version of each id whose entry is not NULL.
CREATE TABLE price_entries (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	provider   TEXT    NOT NULL,
	entry      TEXT,
	changed_at INTEGER NOT NULL,
	changed_by TEXT    NOT NULL,
	UNIQUE (id, version)
);
`},
	{4, "use cases, KPI results, report columns", `
-- Columns use-case reports group and measure by: the version a call
-- carried (x-weir-use-case-version), and its end-to-end and first-token
-- latencies in milliseconds (NULL when they do not apply).
ALTER TABLE requests ADD COLUMN use_case_version TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN e2e_ms  REAL;
ALTER TABLE requests ADD COLUMN ttft_ms REAL;
UPDATE requests SET
	use_case_version = COALESCE(CAST(record AS TEXT) ->> '$.use_case_version', ''),
	e2e_ms  = CAST(record AS TEXT) ->> '$.e2e_ms',
	ttft_ms = CAST(record AS TEXT) ->> '$.ttft_ms'
WHERE use_case != '';

-- A use case's report reads its calls in a time range: this index covers it.
CREATE INDEX requests_use_case_report ON requests
	(use_case, received_at, use_case_instance, use_case_version, team, user, account, model,
	 cost_femto, unpriced_units, input_tokens, output_tokens, e2e_ms, ttft_ms, status, error_kind);

-- Use case definitions, append-only: each change is a new revision of the
-- JSON document.
CREATE TABLE use_cases (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL,
	revision   INTEGER NOT NULL,
	doc        TEXT    NOT NULL,
	changed_at INTEGER NOT NULL,
	changed_by TEXT    NOT NULL,
	UNIQUE (name, revision)
);

-- KPI results per use case instance: value in units of 1e-9; current = 1 for
-- the value in force, earlier values are kept with current = 0.
CREATE TABLE kpi_results (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	use_case    TEXT    NOT NULL,
	instance    TEXT    NOT NULL,
	kpi         TEXT    NOT NULL,
	value       INTEGER NOT NULL,
	at          INTEGER NOT NULL,
	recorded_at INTEGER NOT NULL,
	recorded_by TEXT    NOT NULL,
	current     INTEGER NOT NULL
);
CREATE UNIQUE INDEX kpi_results_current ON kpi_results (use_case, instance, kpi) WHERE current = 1;
CREATE INDEX kpi_results_history ON kpi_results (use_case, instance, kpi, seq);
`},
	{5, "limits", `
-- Spend and token limits, append-only revisions of a JSON document; doc is
-- NULL for a deletion.
CREATE TABLE limits (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL,
	revision   INTEGER NOT NULL,
	doc        TEXT,
	changed_at INTEGER NOT NULL,
	changed_by TEXT    NOT NULL,
	UNIQUE (name, revision)
);
-- Resets of a limit: spend counts from the latest reset within a window.
CREATE TABLE limit_resets (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	name     TEXT    NOT NULL,
	reset_at INTEGER NOT NULL,
	reset_by TEXT    NOT NULL,
	note     TEXT    NOT NULL
);
CREATE INDEX limit_resets_name ON limit_resets (name, reset_at);
`},
	{6, "applications and keys", `
-- Applications own gateway keys; a key's defaults (team, application,
-- allowed models) are the application's and override the caller's headers.
CREATE TABLE applications (
	name       TEXT    PRIMARY KEY,
	doc        TEXT    NOT NULL,
	changed_at INTEGER NOT NULL,
	changed_by TEXT    NOT NULL
);
-- Keys are stored as the SHA-256 of the secret (keys are 256 random bits:
-- a slow hash adds nothing) and a short prefix for recognition; never in
-- clear.
CREATE TABLE api_keys (
	id         TEXT    PRIMARY KEY,
	app        TEXT    NOT NULL,
	prefix     TEXT    NOT NULL,
	hash       BLOB    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	created_by TEXT    NOT NULL,
	expires_at INTEGER,
	revoked_at INTEGER
);
CREATE INDEX api_keys_app ON api_keys (app, created_at);
`},
	{7, "application and key of each call", `
-- The application and key that made a call (from an application key), for
-- limits per application or key. Their indexes find one application's or
-- key's calls in a range.
ALTER TABLE requests ADD COLUMN application TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN api_key_id  TEXT NOT NULL DEFAULT '';
CREATE INDEX requests_application ON requests (application, received_at, cost_femto, input_tokens, output_tokens);
CREATE INDEX requests_api_key     ON requests (api_key_id, received_at, cost_femto, input_tokens, output_tokens);
`},
	{8, "people, sessions and management tokens", `
-- People sign in to the management API and dashboard. Passwords are kept
-- as argon2id PHC strings; sessions and tokens as the SHA-256 of their
-- 256-bit random secret, never in clear.
CREATE TABLE people (
	name          TEXT    PRIMARY KEY,
	display_name  TEXT    NOT NULL,
	email         TEXT    NOT NULL,
	role          TEXT    NOT NULL,
	team          TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,
	must_change   INTEGER NOT NULL,
	subject       TEXT    UNIQUE, -- OpenID Connect "issuer subject"
	disabled      INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	changed_at    INTEGER NOT NULL,
	changed_by    TEXT    NOT NULL
);
CREATE TABLE sessions (
	hash       BLOB    PRIMARY KEY,
	person     TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	via        TEXT    NOT NULL
);
CREATE INDEX sessions_person ON sessions (person);
CREATE TABLE mgmt_tokens (
	id         TEXT    PRIMARY KEY,
	name       TEXT    NOT NULL,
	person     TEXT    NOT NULL,
	role       TEXT    NOT NULL,
	team       TEXT    NOT NULL,
	prefix     TEXT    NOT NULL,
	hash       BLOB    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	revoked_at INTEGER
);
CREATE INDEX mgmt_tokens_person ON mgmt_tokens (person);
`},
	{9, "audit log", `
-- Every change to keys, limits, prices, use cases and people: who (actor),
-- what (action, object), when (at, Unix nanoseconds) and the object before
-- (NULL: created) and after (NULL: deleted) as JSON, secrets left out.
-- Append-only: the triggers refuse updates and deletes.
CREATE TABLE audit_log (
	id          TEXT    PRIMARY KEY,
	at          INTEGER NOT NULL,
	actor_kind  TEXT    NOT NULL,
	actor_name  TEXT    NOT NULL,
	actor_role  TEXT    NOT NULL,
	action      TEXT    NOT NULL,
	object_kind TEXT    NOT NULL,
	object_id   TEXT    NOT NULL,
	before      TEXT,
	after       TEXT,
	request_id  TEXT    NOT NULL
);
CREATE INDEX audit_log_at     ON audit_log (at, id);
CREATE INDEX audit_log_kind   ON audit_log (object_kind, at, id);
CREATE INDEX audit_log_object ON audit_log (object_id, at, id);
CREATE INDEX audit_log_actor  ON audit_log (actor_name, at, id);
CREATE INDEX audit_log_action ON audit_log (action, at, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`},
	{10, "provider credentials", `
-- Provider keys set through the API, sealed with AES-256-GCM under the
-- master key (WEIR_MASTER_KEY) whose id is key_id, the provider name bound
-- as additional data; never in clear.
CREATE TABLE provider_credentials (
	provider   TEXT    PRIMARY KEY,
	ciphertext BLOB    NOT NULL,
	nonce      BLOB    NOT NULL,
	key_id     TEXT    NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by TEXT    NOT NULL
);
`},
	{11, "prompts", `
-- Prompt and partial versions (kind 'prompt' or 'partial'), immutable: doc
-- is the version's JSON, owned by internal/prompt. Labels are append-only
-- moves; the label in force is its last move (highest seq).
CREATE TABLE prompt_versions (
	kind       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	doc        TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	created_by TEXT    NOT NULL,
	PRIMARY KEY (kind, name, version)
);
CREATE TABLE prompt_labels (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	label      TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	changed_at INTEGER NOT NULL,
	changed_by TEXT    NOT NULL
);
CREATE INDEX prompt_labels_name ON prompt_labels (kind, name, label, seq);
CREATE TRIGGER prompt_versions_no_update BEFORE UPDATE ON prompt_versions
BEGIN SELECT RAISE(ABORT, 'prompt versions are immutable'); END;
CREATE TRIGGER prompt_versions_no_delete BEFORE DELETE ON prompt_versions
BEGIN SELECT RAISE(ABORT, 'prompt versions are immutable'); END;
CREATE TRIGGER prompt_labels_no_update BEFORE UPDATE ON prompt_labels
BEGIN SELECT RAISE(ABORT, 'label history is append-only'); END;
`},
	{12, "rollups", `
-- Summaries of the calls per minute, hour and UTC day (level, in seconds)
-- and per key (use case, version, team, provider, model, route), written
-- in the transaction that inserts the calls: what charts read instead of
-- the calls. cost_femto sums the priced calls' cost; unpriced counts the
-- calls with unpriced_units set.
CREATE TABLE rollups (
	id                INTEGER PRIMARY KEY,
	level             INTEGER NOT NULL,
	bucket            INTEGER NOT NULL, -- Unix seconds of the bucket's start
	use_case          TEXT    NOT NULL,
	use_case_version  TEXT    NOT NULL,
	team              TEXT    NOT NULL,
	provider          TEXT    NOT NULL,
	model             TEXT    NOT NULL,
	route             TEXT    NOT NULL,
	calls             INTEGER NOT NULL,
	errors            INTEGER NOT NULL,
	rate_limited      INTEGER NOT NULL,
	retried           INTEGER NOT NULL,
	fell_back         INTEGER NOT NULL,
	streams           INTEGER NOT NULL,
	cost_femto        INTEGER NOT NULL,
	unpriced          INTEGER NOT NULL,
	input_tokens      INTEGER NOT NULL,
	output_tokens     INTEGER NOT NULL,
	cache_read_tokens INTEGER NOT NULL,
	reasoning_tokens  INTEGER NOT NULL,
	UNIQUE (level, bucket, use_case, use_case_version, team, provider, model, route)
);
-- The latency sketches of a summary (rollup.EncodeSketch), apart so that
-- questions about counts and cost do not read them.
CREATE TABLE rollup_sketches (
	id       INTEGER PRIMARY KEY REFERENCES rollups (id),
	ttft     BLOB,
	ttfct    BLOB,
	itl      BLOB,
	otps     BLOB,
	e2e      BLOB,
	overhead BLOB
);
-- The calls stored before this migration are summarised when the store
-- opens (in Go: the sketches need it), up to rowid backfill_to; every call
-- inserted afterwards is summarised by its own insert.
CREATE TABLE rollup_backfill (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	backfill_to INTEGER NOT NULL,
	done_to     INTEGER NOT NULL
);
INSERT INTO rollup_backfill (id, backfill_to, done_to) SELECT 1, COALESCE(MAX(rowid), 0), 0 FROM requests;
`},
	{13, "rollup cost in whole dollars", `
-- A summary's cost is whole dollars plus a femto-dollar remainder under a
-- dollar: femto-dollars alone overflow an integer past $9,223.
ALTER TABLE rollups ADD COLUMN cost_dollars INTEGER NOT NULL DEFAULT 0;
UPDATE rollups SET cost_dollars = cost_femto / 1000000000000000, cost_femto = cost_femto % 1000000000000000
	WHERE cost_femto >= 1000000000000000 OR cost_femto <= -1000000000000000;
`},
	{14, "cost per day", `
-- The cost of each UTC day per provider, model, use case, team, user and
-- account, kept by the writer next to the calls: cost questions over whole
-- days (most of them) read it instead of every call. The cost is summed in
-- two parts like CostTotals sums it: whole micro-dollars and the
-- femto-dollar remainders below 1e9, neither of which can overflow.
CREATE TABLE cost_days (
	day            INTEGER NOT NULL, -- Unix seconds of the UTC midnight
	provider       TEXT    NOT NULL,
	model          TEXT    NOT NULL,
	use_case       TEXT    NOT NULL,
	team           TEXT    NOT NULL,
	user           TEXT    NOT NULL,
	account        TEXT    NOT NULL,
	calls          INTEGER NOT NULL,
	priced_calls   INTEGER NOT NULL,
	unpriced_calls INTEGER NOT NULL,
	cost_micro     INTEGER NOT NULL,
	cost_rem       INTEGER NOT NULL,
	input_tokens   INTEGER NOT NULL,
	output_tokens  INTEGER NOT NULL,
	PRIMARY KEY (day, provider, model, use_case, team, user, account)
) WITHOUT ROWID;
INSERT INTO cost_days
SELECT CASE WHEN received_at >= 0 THEN received_at / 86400000000000
		ELSE -((-(received_at + 1)) / 86400000000000) - 1 END * 86400 AS d,
	provider, model, use_case, team, user, account,
	COUNT(*), COUNT(cost_femto), COUNT(unpriced_units),
	COALESCE(SUM(cost_femto / 1000000000), 0), COALESCE(SUM(cost_femto % 1000000000), 0),
	SUM(input_tokens), SUM(output_tokens)
FROM requests
GROUP BY d, provider, model, use_case, team, user, account;
`},
	{15, "criteria and scores", criteriaSchema},
	{16, "datasets", datasetsMigration},
	{17, "KPI results per day", `
-- The team of a KPI result's instance (its first call's, when the result
-- was recorded), and the results in force summed per use case, KPI, UTC
-- day of the result's time and team: what value over a period reads.
ALTER TABLE kpi_results ADD COLUMN team TEXT NOT NULL DEFAULT '';
UPDATE kpi_results SET team = COALESCE((SELECT r.team FROM requests r INDEXED BY requests_instance
	WHERE r.use_case_instance = kpi_results.instance AND r.use_case = kpi_results.use_case
	ORDER BY r.received_at, r.id LIMIT 1), '')
WHERE current = 1;
CREATE TABLE kpi_days (
	use_case TEXT    NOT NULL,
	kpi      TEXT    NOT NULL,
	day      INTEGER NOT NULL, -- Unix seconds of the UTC midnight
	team     TEXT    NOT NULL,
	results  INTEGER NOT NULL,
	whole    INTEGER NOT NULL, -- the values' whole units
	nanos    INTEGER NOT NULL, -- and their 1e-9 parts, summed apart
	PRIMARY KEY (use_case, kpi, day, team)
) WITHOUT ROWID;
CREATE INDEX kpi_days_day ON kpi_days (day);
INSERT INTO kpi_days
SELECT use_case, kpi, CASE WHEN at >= 0 THEN at / 86400000000000 ELSE -((-(at + 1)) / 86400000000000) - 1 END * 86400 AS d,
	team, COUNT(*), SUM(value / 1000000000), SUM(value % 1000000000)
FROM kpi_results WHERE current = 1
GROUP BY use_case, kpi, d, team;
`},
	{18, "experiments", experimentsMigration},
	{19, "review queues", reviewSchema},
	{20, "judges", judgesSchema},
	{21, "dataset entries", datasetEntriesMigration},
	{22, "request tags", `
-- Each tag of each call (x-weir-tags), in list order, so that a list of
-- the calls with a tag reads only them.
CREATE TABLE request_tags (
	tag         TEXT    NOT NULL,
	received_at INTEGER NOT NULL,
	id          TEXT    NOT NULL,
	PRIMARY KEY (tag, received_at, id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO request_tags (tag, received_at, id)
SELECT j.value, r.received_at, r.id
FROM requests r, json_each(CAST(r.record AS TEXT), '$.tags') j
WHERE json_type(CAST(r.record AS TEXT), '$.tags') = 'array' AND j.type = 'text' AND j.value != '';
`},
	{23, "rollups per use-case step", `
-- The summaries gain the use-case step (x-weir-use-case-step) as a key.
-- A step is a call's, not a summary's: the summaries are rebuilt from the
-- calls when the store opens (backfill_to is every call stored now).
DROP TABLE rollup_sketches;
DROP TABLE rollups;
CREATE TABLE rollups (
	id                INTEGER PRIMARY KEY,
	level             INTEGER NOT NULL,
	bucket            INTEGER NOT NULL, -- Unix seconds of the bucket's start
	use_case          TEXT    NOT NULL,
	use_case_version  TEXT    NOT NULL,
	use_case_step     TEXT    NOT NULL,
	team              TEXT    NOT NULL,
	provider          TEXT    NOT NULL,
	model             TEXT    NOT NULL,
	route             TEXT    NOT NULL,
	calls             INTEGER NOT NULL,
	errors            INTEGER NOT NULL,
	rate_limited      INTEGER NOT NULL,
	retried           INTEGER NOT NULL,
	fell_back         INTEGER NOT NULL,
	streams           INTEGER NOT NULL,
	cost_dollars      INTEGER NOT NULL,
	cost_femto        INTEGER NOT NULL,
	unpriced          INTEGER NOT NULL,
	input_tokens      INTEGER NOT NULL,
	output_tokens     INTEGER NOT NULL,
	cache_read_tokens INTEGER NOT NULL,
	reasoning_tokens  INTEGER NOT NULL,
	UNIQUE (level, bucket, use_case, use_case_version, use_case_step, team, provider, model, route)
);
CREATE TABLE rollup_sketches (
	id       INTEGER PRIMARY KEY REFERENCES rollups (id),
	ttft     BLOB,
	ttfct    BLOB,
	itl      BLOB,
	otps     BLOB,
	e2e      BLOB,
	overhead BLOB
);
UPDATE rollup_backfill SET backfill_to = (SELECT COALESCE(MAX(rowid), 0) FROM requests), done_to = 0;
`},
	{24, "model identities", `
-- Which identity answered each model: the provider's reported model name
-- and system fingerprint over the successful calls, first and last seen.
-- A new identity of a model is a drift event.
CREATE TABLE model_identities (
	provider           TEXT    NOT NULL,
	model              TEXT    NOT NULL,
	response_model     TEXT    NOT NULL,
	system_fingerprint TEXT    NOT NULL,
	first_seen         INTEGER NOT NULL, -- Unix nanoseconds
	last_seen          INTEGER NOT NULL,
	calls              INTEGER NOT NULL,
	PRIMARY KEY (provider, model, response_model, system_fingerprint)
) WITHOUT ROWID;
INSERT INTO model_identities
SELECT provider, model, rm, fp, MIN(received_at), MAX(received_at), COUNT(*)
FROM (SELECT provider, model, received_at,
		COALESCE(CAST(record AS TEXT) ->> '$.response_model', '') AS rm,
		COALESCE(CAST(record AS TEXT) ->> '$.system_fingerprint', '') AS fp
	FROM requests WHERE status > 0 AND status < 400 AND error_kind = '')
WHERE rm != '' OR fp != ''
GROUP BY provider, model, rm, fp;
`},
	{25, "drift events", `
-- Behaviour drift events: a signal of a use case on a model that changed,
-- kept as JSON with its scope and times apart for filtering.
CREATE TABLE drift_events (
	id          TEXT    NOT NULL PRIMARY KEY,
	signal      TEXT    NOT NULL,
	use_case    TEXT    NOT NULL,
	provider    TEXT    NOT NULL,
	model       TEXT    NOT NULL,
	started_at  INTEGER NOT NULL, -- Unix nanoseconds
	detected_at INTEGER NOT NULL,
	event       BLOB    NOT NULL
) WITHOUT ROWID;
CREATE INDEX drift_events_started ON drift_events (started_at);
CREATE INDEX drift_events_scope ON drift_events (use_case, provider, model, signal, started_at);
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

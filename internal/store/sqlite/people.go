package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

const personCols = `name, display_name, email, role, team, password_hash, must_change, COALESCE(subject, ''), disabled, created_at, changed_at, changed_by`

func scanPerson(sc interface{ Scan(...any) error }) (store.Person, error) {
	var (
		p                store.Person
		must, disabled   int
		created, changed int64
	)
	err := sc.Scan(&p.Name, &p.DisplayName, &p.Email, &p.Role, &p.Team, &p.PasswordHash, &must, &p.Subject, &disabled, &created, &changed, &p.ChangedBy)
	p.MustChangePassword, p.Disabled = must != 0, disabled != 0
	p.CreatedAt, p.ChangedAt = time.Unix(0, created).UTC(), time.Unix(0, changed).UTC()
	return p, err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// PutPerson creates or updates a person.
func (s *Store) PutPerson(ctx context.Context, p store.Person) error {
	if p.Name == "" || p.Role == "" {
		return fmt.Errorf("put person: %w: a name and a role are required", store.ErrInvalidQuery)
	}
	now := time.Now().UTC()
	if p.ChangedAt.IsZero() {
		p.ChangedAt = now
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = p.ChangedAt
	}
	var subject any
	if p.Subject != "" {
		subject = p.Subject
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO people (name, display_name, email, role, team, password_hash, must_change, subject, disabled, created_at, changed_at, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET display_name = excluded.display_name, email = excluded.email,
			role = excluded.role, team = excluded.team,
			password_hash = CASE WHEN excluded.password_hash = '' THEN people.password_hash ELSE excluded.password_hash END,
			must_change = CASE WHEN excluded.password_hash = '' THEN people.must_change ELSE excluded.must_change END,
			subject = COALESCE(excluded.subject, people.subject), disabled = excluded.disabled,
			changed_at = excluded.changed_at, changed_by = excluded.changed_by`,
		p.Name, p.DisplayName, p.Email, p.Role, p.Team, p.PasswordHash, b2i(p.MustChangePassword), subject, b2i(p.Disabled),
		p.CreatedAt.UnixNano(), p.ChangedAt.UnixNano(), p.ChangedBy)
	if err != nil {
		return fmt.Errorf("put person %s: %w", p.Name, err)
	}
	return nil
}

// Person returns one person.
func (s *Store) Person(ctx context.Context, name string) (store.Person, error) {
	return s.person(ctx, `name = ?`, name)
}

// PersonBySubject returns the person with an OpenID Connect subject.
func (s *Store) PersonBySubject(ctx context.Context, subject string) (store.Person, error) {
	if subject == "" {
		return store.Person{}, fmt.Errorf("person: %w", store.ErrNotFound)
	}
	return s.person(ctx, `subject = ?`, subject)
}

func (s *Store) person(ctx context.Context, where, arg string) (store.Person, error) {
	p, err := scanPerson(s.r.QueryRowContext(ctx, `SELECT `+personCols+` FROM people WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("person %s: %w", arg, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("person %s: %w", arg, err)
	}
	return p, nil
}

// People returns everyone.
func (s *Store) People(ctx context.Context) ([]store.Person, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+personCols+` FROM people ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("people: %w", err)
	}
	defer rows.Close()
	out := []store.Person{}
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, fmt.Errorf("people: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CountPeople counts people.
func (s *Store) CountPeople(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM people`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count people: %w", err)
	}
	return n, nil
}

// DeletePerson removes a person, their sessions and tokens.
func (s *Store) DeletePerson(ctx context.Context, name string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete person: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM people WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete person %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("person %s: %w", name, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE person = ?`, name); err != nil {
		return fmt.Errorf("delete person %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mgmt_tokens WHERE person = ?`, name); err != nil {
		return fmt.Errorf("delete person %s: %w", name, err)
	}
	return tx.Commit()
}

// AddSession stores a session.
func (s *Store) AddSession(ctx context.Context, ss store.Session) error {
	if len(ss.Hash) == 0 || ss.Person == "" {
		return fmt.Errorf("add session: %w: a hash and a person are required", store.ErrInvalidQuery)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO sessions (hash, person, created_at, last_seen, expires_at, via) VALUES (?, ?, ?, ?, ?, ?)`,
		ss.Hash, ss.Person, ss.CreatedAt.UnixNano(), ss.LastSeen.UnixNano(), ss.ExpiresAt.UnixNano(), ss.Via); err != nil {
		return fmt.Errorf("add session: %w", err)
	}
	return nil
}

// Session returns a session by the hash of its secret.
func (s *Store) Session(ctx context.Context, hash []byte) (store.Session, error) {
	var (
		ss                     store.Session
		created, seen, expires int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT hash, person, created_at, last_seen, expires_at, via FROM sessions WHERE hash = ?`, hash).
		Scan(&ss.Hash, &ss.Person, &created, &seen, &expires, &ss.Via)
	if errors.Is(err, sql.ErrNoRows) {
		return ss, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return ss, fmt.Errorf("session: %w", err)
	}
	ss.CreatedAt, ss.LastSeen, ss.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, seen).UTC(), time.Unix(0, expires).UTC()
	return ss, nil
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE hash = ?`, at.UnixNano(), hash); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteSessions ends every session of a person.
func (s *Store) DeleteSessions(ctx context.Context, person string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE person = ?`, person); err != nil {
		return fmt.Errorf("delete sessions of %s: %w", person, err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions expired before at.
func (s *Store) DeleteExpiredSessions(ctx context.Context, at time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, at.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

const tokenCols = `id, name, person, role, team, prefix, hash, created_at, expires_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (store.StoredToken, error) {
	var (
		t                store.StoredToken
		created          int64
		expires, revoked sql.NullInt64
	)
	if err := sc.Scan(&t.ID, &t.Name, &t.Person, &t.Role, &t.Team, &t.Prefix, &t.Hash, &created, &expires, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt = time.Unix(0, created).UTC()
	if expires.Valid {
		e := time.Unix(0, expires.Int64).UTC()
		t.ExpiresAt = &e
	}
	if revoked.Valid {
		r := time.Unix(0, revoked.Int64).UTC()
		t.RevokedAt = &r
	}
	return t, nil
}

// AddToken stores a token of an existing person.
func (s *Store) AddToken(ctx context.Context, t store.StoredToken) error {
	if t.ID == "" || t.Person == "" || t.Role == "" || len(t.Hash) == 0 {
		return fmt.Errorf("add token: %w: id, person, role and hash are required", store.ErrInvalidQuery)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add token: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM people WHERE name = ?`, t.Person).Scan(&n); err != nil {
		return fmt.Errorf("add token: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("person %s: %w", t.Person, store.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO mgmt_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
		t.ID, t.Name, t.Person, t.Role, t.Team, t.Prefix, t.Hash, t.CreatedAt.UnixNano(), nullTime(t.ExpiresAt)); err != nil {
		return fmt.Errorf("add token: %w", err)
	}
	return tx.Commit()
}

// TokenByHash finds a token by the hash of its secret.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.StoredToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM mgmt_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// Tokens returns every token.
func (s *Store) Tokens(ctx context.Context) ([]store.StoredToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM mgmt_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	out := []store.StoredToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks a token revoked.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE mgmt_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, at.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %s: %w", id, store.ErrNotFound)
	}
	return nil
}

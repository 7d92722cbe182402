package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// PutCredential creates or replaces a provider's sealed credential.
func (s *Store) PutCredential(ctx context.Context, c store.SealedCredential) error {
	if c.Provider == "" || len(c.Ciphertext) == 0 || len(c.Nonce) == 0 || c.KeyID == "" {
		return fmt.Errorf("put credential: %w: provider, ciphertext, nonce and key id are required", store.ErrInvalidQuery)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO provider_credentials (provider, ciphertext, nonce, key_id, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(provider) DO UPDATE SET ciphertext = excluded.ciphertext, nonce = excluded.nonce, key_id = excluded.key_id,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		c.Provider, c.Ciphertext, c.Nonce, c.KeyID, c.UpdatedAt.UnixNano(), c.UpdatedBy); err != nil {
		return fmt.Errorf("put credential %s: %w", c.Provider, err)
	}
	return nil
}

// Credential returns a provider's sealed credential.
func (s *Store) Credential(ctx context.Context, provider string) (store.SealedCredential, error) {
	c := store.SealedCredential{}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT provider, ciphertext, nonce, key_id, updated_at, updated_by FROM provider_credentials WHERE provider = ?`, provider).
		Scan(&c.Provider, &c.Ciphertext, &c.Nonce, &c.KeyID, &at, &c.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("credential of provider %s: %w", provider, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("credential of provider %s: %w", provider, err)
	}
	c.UpdatedAt = time.Unix(0, at).UTC()
	return c, nil
}

// DeleteCredential removes a provider's credential.
func (s *Store) DeleteCredential(ctx context.Context, provider string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM provider_credentials WHERE provider = ?`, provider)
	if err != nil {
		return fmt.Errorf("delete credential %s: %w", provider, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("credential of provider %s: %w", provider, store.ErrNotFound)
	}
	return nil
}

// ListCredentials returns every credential's metadata.
func (s *Store) ListCredentials(ctx context.Context) ([]store.CredentialInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT provider, key_id, updated_at, updated_by FROM provider_credentials ORDER BY provider`)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	defer rows.Close()
	out := []store.CredentialInfo{}
	for rows.Next() {
		var (
			c  store.CredentialInfo
			at int64
		)
		if err := rows.Scan(&c.Provider, &c.KeyID, &at, &c.UpdatedBy); err != nil {
			return nil, fmt.Errorf("list credentials: %w", err)
		}
		c.UpdatedAt = time.Unix(0, at).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

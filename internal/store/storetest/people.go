package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/store"
)

func testPeople(t *testing.T, s Store) {
	ctx := context.Background()
	if n, err := s.CountPeople(ctx); n != 0 || err != nil {
		t.Fatalf("count of an empty store: %d %v", n, err)
	}
	ann := store.Person{Name: "ann", Email: "ann@example.com", Role: "admin", PasswordHash: "$argon2id$x", MustChangePassword: true, CreatedAt: base, ChangedAt: base, ChangedBy: "cli"}
	if err := s.PutPerson(ctx, ann); err != nil {
		t.Fatal(err)
	}
	// An update without a password keeps the hash and the must-change flag.
	upd := ann
	upd.PasswordHash, upd.MustChangePassword, upd.Role, upd.Team, upd.ChangedAt = "", false, "viewer", "cx", base.Add(time.Hour)
	if err := s.PutPerson(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.Person(ctx, "ann")
	if err != nil || got.PasswordHash != "$argon2id$x" || !got.MustChangePassword || got.Role != "viewer" || got.Team != "cx" || !got.CreatedAt.Equal(base) || !got.ChangedAt.Equal(base.Add(time.Hour)) {
		t.Errorf("after update: %+v %v", got, err)
	}
	upd.PasswordHash = "$argon2id$y"
	if err := s.PutPerson(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Person(ctx, "ann"); got.PasswordHash != "$argon2id$y" || got.MustChangePassword {
		t.Errorf("after password change: %+v", got)
	}
	bob := store.Person{Name: "bob", Role: "finance", Subject: "https://idp sub-1", ChangedBy: "t"}
	if err := s.PutPerson(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PersonBySubject(ctx, "https://idp sub-1"); err != nil || p.Name != "bob" {
		t.Errorf("by subject: %+v %v", p, err)
	}
	if _, err := s.PersonBySubject(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("empty subject: %v", err)
	}
	if err := s.PutPerson(ctx, store.Person{Name: "eve", Role: "viewer", Subject: "https://idp sub-1"}); err == nil {
		t.Error("two people with one subject accepted")
	}
	if _, err := s.Person(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown person: %v", err)
	}
	if ps, err := s.People(ctx); err != nil || len(ps) != 2 || ps[0].Name != "ann" || ps[1].Name != "bob" {
		t.Errorf("people: %+v %v", ps, err)
	}
	if n, _ := s.CountPeople(ctx); n != 2 {
		t.Errorf("count %d", n)
	}

	h1, h2 := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	for _, ss := range []store.Session{
		{Hash: h1, Person: "ann", CreatedAt: base, LastSeen: base, ExpiresAt: base.Add(time.Hour), Via: "password"},
		{Hash: h2, Person: "bob", CreatedAt: base, LastSeen: base, ExpiresAt: base.Add(2 * time.Hour), Via: "oidc"},
	} {
		if err := s.AddSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TouchSession(ctx, h1, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ss, err := s.Session(ctx, h1); err != nil || ss.Person != "ann" || !ss.LastSeen.Equal(base.Add(time.Minute)) || !ss.ExpiresAt.Equal(base.Add(time.Hour)) || ss.Via != "password" {
		t.Errorf("session: %+v %v", ss, err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, base.Add(90*time.Minute)); n != 1 || err != nil {
		t.Errorf("expired sessions deleted: %d %v", n, err)
	}
	if _, err := s.Session(ctx, h1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired session still there: %v", err)
	}

	exp := base.Add(24 * time.Hour)
	tok := store.StoredToken{ID: "mtk_1", Name: "ci", Person: "bob", Role: "viewer", Team: "cx", Prefix: "weirm_abc", Hash: h1, CreatedAt: base, ExpiresAt: &exp}
	if err := s.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, store.StoredToken{ID: "mtk_2", Person: "nobody", Role: "viewer", Hash: h2, CreatedAt: base}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of nobody: %v", err)
	}
	if got, err := s.TokenByHash(ctx, h1); err != nil || got.ID != "mtk_1" || got.Team != "cx" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.RevokedAt != nil {
		t.Errorf("token by hash: %+v %v", got, err)
	}
	if err := s.RevokeToken(ctx, "mtk_1", base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "mtk_1", base.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second revoke: %v", err)
	}
	if got, _ := s.TokenByHash(ctx, h1); got.RevokedAt == nil {
		t.Error("revoked token not marked")
	}
	if ts, err := s.Tokens(ctx); err != nil || len(ts) != 1 {
		t.Errorf("tokens: %+v %v", ts, err)
	}
	// Deleting a person ends their sessions and removes their tokens.
	if err := s.DeletePerson(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, h2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of a deleted person: %v", err)
	}
	if ts, _ := s.Tokens(ctx); len(ts) != 0 {
		t.Errorf("tokens of a deleted person: %+v", ts)
	}
	if err := s.DeletePerson(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/store"
)

func testCredentials(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.Credential(ctx, "openai"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("credential before any: %v, want ErrNotFound", err)
	}
	if err := s.DeleteCredential(ctx, "openai"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete before any: %v, want ErrNotFound", err)
	}
	if list, err := s.ListCredentials(ctx); err != nil || list == nil || len(list) != 0 {
		t.Errorf("list before any: %#v, %v; want an empty, non-nil list", list, err)
	}
	// Bytes that are not valid UTF-8 and contain NULs must survive.
	first := store.SealedCredential{
		CredentialInfo: store.CredentialInfo{Provider: "openai", KeyID: "0a1b2c3d", UpdatedAt: base, UpdatedBy: "alice"},
		Ciphertext:     []byte{0, 0xff, 0xfe, 'x', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		Nonce:          []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff},
	}
	if err := s.PutCredential(ctx, first); err != nil {
		t.Fatal(err)
	}
	got, err := s.Credential(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("credential (-put +got):\n%s", diff)
	}
	second := first
	second.KeyID, second.UpdatedBy, second.UpdatedAt = "99887766", "bob", base.Add(1)
	second.Ciphertext, second.Nonce = []byte("another ciphertext"), []byte("another nonce")
	other := first
	other.Provider = "anthropic"
	for _, c := range []store.SealedCredential{second, other} {
		if err := s.PutCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Credential(ctx, "openai"); err != nil || !cmp.Equal(got, second) {
		t.Errorf("after replace: %+v, %v; want %+v", got, err, second)
	}
	list, err := s.ListCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.CredentialInfo{other.CredentialInfo, second.CredentialInfo}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if err := s.DeleteCredential(ctx, "openai"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credential(ctx, "openai"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("credential after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteCredential(ctx, "openai"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if got, err := s.Credential(ctx, "anthropic"); err != nil || !cmp.Equal(got, other) {
		t.Errorf("the other provider's credential after a delete: %+v, %v", got, err)
	}
	for name, c := range map[string]store.SealedCredential{
		"no provider":   {CredentialInfo: store.CredentialInfo{KeyID: "k"}, Ciphertext: []byte("c"), Nonce: []byte("n")},
		"no ciphertext": {CredentialInfo: store.CredentialInfo{Provider: "p", KeyID: "k"}, Nonce: []byte("n")},
		"no nonce":      {CredentialInfo: store.CredentialInfo{Provider: "p", KeyID: "k"}, Ciphertext: []byte("c")},
		"no key id":     {CredentialInfo: store.CredentialInfo{Provider: "p"}, Ciphertext: []byte("c"), Nonce: []byte("n")},
	} {
		if err := s.PutCredential(ctx, c); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("%s: %v, want ErrInvalidQuery", name, err)
		}
	}
}

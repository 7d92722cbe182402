package access

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func TestAllows(t *testing.T) {
	open := Identity{}
	limited := Identity{Models: []string{"gpt-4o-mini", "anthropic/claude-haiku-4-5"}}
	for _, tc := range []struct {
		id                Identity
		requested, routed string
		want              bool
	}{
		{open, "anything", "p/anything", true},
		{limited, "gpt-4o-mini", "primary/gpt-4o-mini", true},
		{limited, "fast", "primary/GPT-4o-mini", true}, // an alias routed to an allowed model
		{limited, "anthropic/claude-haiku-4-5", "anthropic/claude-haiku-4-5", true},
		{limited, "gpt-4o", "primary/gpt-4o", false},
	} {
		if got := tc.id.Allows(tc.requested, tc.routed); got != tc.want {
			t.Errorf("%v allows %s (%s) = %v", tc.id.Models, tc.requested, tc.routed, got)
		}
	}
}

func TestKeysAcrossProcessesAndExpiry(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a, err := New(ctx, st, clock)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(ctx, st, clock) // another process on the same store
	if err != nil {
		t.Fatal(err)
	}
	if a.Active() {
		t.Error("active without keys")
	}
	if _, err := a.PutApplication(ctx, Application{Name: "bot", Team: "cx"}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutApplication(ctx, Application{Name: "no team"}, "t"); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid application: %v", err)
	}
	k, err := a.CreateKey(ctx, "bot", now.Add(time.Hour), "t")
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := a.Resolve(k.Secret); !ok || id.Team != "cx" || id.Application != "bot" || id.KeyID != k.ID {
		t.Errorf("resolve: %+v %v", id, ok)
	}
	// The other process sees the key after a refresh.
	if _, ok := b.Resolve(k.Secret); ok {
		t.Error("seen before a refresh")
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Resolve(k.Secret); !ok || !b.Active() {
		t.Error("not seen after a refresh")
	}
	// An hour later the key has expired.
	now = now.Add(time.Hour)
	if _, ok := a.Resolve(k.Secret); ok || a.Active() {
		t.Error("expired key still resolves")
	}
	if _, ok := a.Resolve("weir_not-a-key"); ok {
		t.Error("a made-up key resolves")
	}
	if err := a.RevokeKey(ctx, "key_nosuch"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke of nothing: %v", err)
	}
	// The expired key no longer counts against the two in force.
	for range MaxActiveKeys {
		if _, err := a.CreateKey(ctx, "bot", time.Time{}, "t"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.CreateKey(ctx, "bot", time.Time{}, "t"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("third key in force: %v", err)
	}
}

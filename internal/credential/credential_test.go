package credential

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/secret"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func box(t testing.TB, seed byte, previous ...byte) *secret.Box {
	t.Helper()
	key := func(seed byte) *secret.Key {
		raw := make([]byte, secret.KeySize)
		for i := range raw {
			raw[i] = seed * byte(i+1)
		}
		k, err := secret.ParseKey(base64.StdEncoding.EncodeToString(raw))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	var prev *secret.Key
	if len(previous) > 0 {
		prev = key(previous[0])
	}
	return secret.NewBox(key(seed), prev)
}

func openStore(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// logBuffer captures slog output, safely for concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newManager(t testing.TB, st store.CredentialStore, b *secret.Box, logs *logBuffer) *Manager {
	t.Helper()
	opt := Options{Store: st, Box: b, Providers: []string{"openai", "anthropic", "local"}, Stored: []string{"openai", "anthropic"}}
	if logs != nil {
		opt.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManager(t *testing.T) {
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "user", Name: "alice"})
	st := openStore(t, t.TempDir())
	var logs logBuffer
	m := newManager(t, st, box(t, 1), &logs)
	if m.Key("local") != nil || m.Key("nowhere") != nil {
		t.Error("a provider that is not stored has a key function")
	}
	key := m.Key("openai")
	if key() != "" {
		t.Errorf("key before any is stored: %q", key())
	}
	if _, err := m.Get(ctx, "openai"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get before any: %v", err)
	}
	info, err := m.Put(ctx, "openai", "sk-first-0001")
	if err != nil {
		t.Fatal(err)
	}
	if info.Provider != "openai" || info.UpdatedBy != "alice" || info.KeyID != box(t, 1).KeyID() || info.Status != StatusActive || info.UpdatedAt.IsZero() {
		t.Errorf("Put = %+v", info)
	}
	if key() != "sk-first-0001" {
		t.Errorf("key after Put = %q", key())
	}
	if _, err := m.Put(context.Background(), "openai", "sk-second-0002"); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(ctx, "openai"); key() != "sk-second-0002" || got.UpdatedBy != "system" {
		t.Errorf("after a second Put: key %q, info %+v", key(), got)
	}
	if m.Key("anthropic")() != "" {
		t.Error("one provider's key reached another")
	}
	// A new process on the same store opens it.
	if k := newManager(t, st, box(t, 1), nil).Key("openai")(); k != "sk-second-0002" {
		t.Errorf("reopened: %q", k)
	}
	if err := m.Delete(ctx, "openai"); err != nil {
		t.Fatal(err)
	}
	if key() != "" {
		t.Errorf("key after Delete = %q", key())
	}
	if err := m.Delete(ctx, "openai"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}

	for _, tt := range []struct {
		provider, key string
		want          error
	}{
		{"nowhere", "sk-x", ErrUnknownProvider},
		{"local", "sk-x", ErrNotStored},
		{"openai", "", ErrInvalid},
		{"openai", " sk-padded-secret", ErrInvalid},
		{"openai", "sk-line\nbreak-secret", ErrInvalid},
		{"openai", "sk-bad-utf8-\xff-secret", ErrInvalid},
		{"openai", strings.Repeat("k", MaxKeyBytes+1), ErrInvalid},
	} {
		_, err := m.Put(ctx, tt.provider, tt.key)
		if !errors.Is(err, tt.want) {
			t.Errorf("Put(%q, %q) = %v, want %v", tt.provider, tt.key, err, tt.want)
		} else if len(tt.key) > 4 && strings.Contains(err.Error(), tt.key) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
	for _, s := range []string{"sk-first-0001", "sk-second-0002", "padded-secret", "break-secret", "utf8"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs show %q: %s", s, logs.String())
		}
	}
}

func TestNoMasterKey(t *testing.T) {
	st := openStore(t, t.TempDir())
	_, err := New(context.Background(), Options{Store: st, Providers: []string{"openai"}, Stored: []string{"openai"}})
	if !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("stored provider without a master key: %v", err)
	}
	m, err := New(context.Background(), Options{Store: st, Providers: []string{"openai"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Put(context.Background(), "openai", "sk-x"); !errors.Is(err, ErrNoMasterKey) || !strings.Contains(err.Error(), "WEIR_MASTER_KEY") {
		t.Errorf("Put without a master key: %v", err)
	}
	if _, err := New(context.Background(), Options{Store: st, Box: box(t, 1), Providers: []string{"a"}, Stored: []string{"b"}}); err == nil {
		t.Error("a stored provider that is not configured was accepted")
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	if _, err := newManager(t, st, box(t, 1), nil).Put(ctx, "openai", "sk-rotate-me-1"); err != nil {
		t.Fatal(err)
	}
	// WEIR_MASTER_KEY=2, WEIR_MASTER_KEY_PREVIOUS=1: opened and resealed.
	var logs logBuffer
	m := newManager(t, st, box(t, 2, 1), &logs)
	if k := m.Key("openai")(); k != "sk-rotate-me-1" {
		t.Fatalf("key during rotation = %q", k)
	}
	sc, err := st.Credential(ctx, "openai")
	if err != nil || sc.KeyID != box(t, 2).KeyID() || sc.UpdatedBy != "system" {
		t.Errorf("after start: %+v, %v; want sealed under %s with its metadata kept", sc.CredentialInfo, err, box(t, 2).KeyID())
	}
	if n, err := m.Rotate(ctx); n != 0 || err != nil {
		t.Errorf("second Rotate = %d, %v", n, err)
	}
	// The CLI's way: without a Manager, providers no longer configured
	// included.
	if _, err := newManager(t, st, box(t, 2), nil).Put(ctx, "anthropic", "sk-ant-rotate-2"); err != nil {
		t.Fatal(err)
	}
	if n, err := Rotate(ctx, st, box(t, 4, 2), nil); n != 2 || err != nil {
		t.Errorf("Rotate to a fourth key = %d, %v; want 2", n, err)
	}
	for _, p := range []string{"openai", "anthropic"} {
		if sc, _ := st.Credential(ctx, p); sc.KeyID != box(t, 4).KeyID() {
			t.Errorf("%s sealed under %s after Rotate", p, sc.KeyID)
		}
	}
	if k := newManager(t, st, box(t, 4), nil).Key("anthropic")(); k != "sk-ant-rotate-2" {
		t.Errorf("after Rotate: %q", k)
	}
	if n, err := Rotate(ctx, st, nil, nil); n != 0 || err != nil {
		t.Errorf("Rotate without a box = %d, %v", n, err)
	}
	if _, err := Rotate(ctx, st, box(t, 2, 4), nil); err != nil { // back to 2, for the checks below
		t.Fatal(err)
	}
	// The previous key retired.
	if k := newManager(t, st, box(t, 2), nil).Key("openai")(); k != "sk-rotate-me-1" {
		t.Errorf("key after rotation = %q", k)
	}
	// A master key that sealed nothing: unreadable, logged, Weir starts.
	m3 := newManager(t, st, box(t, 3), &logs)
	if k := m3.Key("openai")(); k != "" {
		t.Errorf("key under the wrong master key = %q", k)
	}
	if info, err := m3.Get(ctx, "openai"); err != nil || info.Status != StatusUnreadable {
		t.Errorf("info under the wrong master key = %+v, %v", info, err)
	}
	if !strings.Contains(logs.String(), "cannot be opened") || strings.Contains(logs.String(), "sk-rotate-me-1") {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestMovedCiphertextDoesNotOpen(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	if _, err := newManager(t, st, box(t, 1), nil).Put(ctx, "openai", "sk-openai-only"); err != nil {
		t.Fatal(err)
	}
	sc, err := st.Credential(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	sc.Provider = "anthropic"
	if err := st.PutCredential(ctx, sc); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, st, box(t, 1), nil)
	if k := m.Key("anthropic")(); k != "" {
		t.Errorf("a ciphertext moved to another provider opened: %q", k)
	}
	if info, _ := m.Get(ctx, "anthropic"); info.Status != StatusUnreadable {
		t.Errorf("moved: %+v", info)
	}
	if k := m.Key("openai")(); k != "sk-openai-only" {
		t.Errorf("the original: %q", k)
	}
}

func TestRefresh(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	a, b := newManager(t, st, box(t, 1), nil), newManager(t, st, box(t, 1), nil)
	if _, err := a.Put(ctx, "openai", "sk-from-a-1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if k := b.Key("openai")(); k != "sk-from-a-1" {
		t.Errorf("after refresh: %q", k)
	}
	time.Sleep(time.Millisecond) // a later updated_at
	if _, err := a.Put(ctx, "openai", "sk-from-a-2"); err != nil {
		t.Fatal(err)
	}
	b.Refresh(ctx)
	if k := b.Key("openai")(); k != "sk-from-a-2" {
		t.Errorf("after a second refresh: %q", k)
	}
	if err := a.Delete(ctx, "openai"); err != nil {
		t.Fatal(err)
	}
	b.Refresh(ctx)
	if k := b.Key("openai")(); k != "" {
		t.Errorf("after a delete elsewhere: %q", k)
	}
}

type auditRec struct {
	mu      sync.Mutex
	entries []string
}

func (a *auditRec) Record(ctx context.Context, action, kind, id string, before, after any) error {
	b, _ := json.Marshal([]any{audit.ActorFrom(ctx).Name, action, kind, id, before, after})
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, string(b))
	return nil
}

func TestAudit(t *testing.T) {
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "user", Name: "bob"})
	st := openStore(t, t.TempDir())
	var rec auditRec
	m, err := New(ctx, Options{Store: st, Box: box(t, 1), Providers: []string{"openai"}, Stored: []string{"openai"}, Audit: &rec,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	m.Put(ctx, "openai", "sk-audited-1")
	m.Put(ctx, "openai", "sk-audited-2")
	m.Delete(ctx, "openai")
	info := `{"provider":"openai","key_id":"` + box(t, 1).KeyID() + `","updated_at":"2026-01-02T03:04:05Z","updated_by":"bob","status":"active"}`
	want := []string{
		`["bob","provider_credential.put","provider_credential","openai",null,` + info + `]`,
		`["bob","provider_credential.put","provider_credential","openai",` + info + `,` + info + `]`,
		`["bob","provider_credential.delete","provider_credential","openai",` + info + `,null]`,
	}
	if strings.Join(rec.entries, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit entries:\n%s\nwant:\n%s", strings.Join(rec.entries, "\n"), strings.Join(want, "\n"))
	}
}

package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dir
}

func entries(t *testing.T, st Lister, q store.AuditQuery) []store.AuditEntry {
	t.Helper()
	p, err := st.ListAudit(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return p.Entries
}

func TestRecord(t *testing.T) {
	st, _ := openStore(t)
	clock := t0
	l := New(st, Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	type lim struct {
		Name   string `json:"name"`
		USD    string `json:"usd"`
		Tokens int64  `json:"tokens,omitempty"`
	}
	ctx := WithRequestID(WithActor(context.Background(), Actor{Kind: "user", Name: "ana", Role: "admin"}), "req_9")
	if err := l.Record(ctx, "limit.put", "limit", "team-ml", nil, lim{"team-ml", "100", 5000}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(context.Background(), "limit.delete", "limit", "team-ml", &lim{"team-ml", "100", 0}, (*lim)(nil)); err != nil {
		t.Fatal(err)
	}
	got := entries(t, st, store.AuditQuery{})
	if len(got) != 2 {
		t.Fatalf("%d entries", len(got))
	}
	for i := range got {
		if !strings.HasPrefix(got[i].ID, "aud_") || !got[i].At.Equal(t0.Add(time.Duration(2-i)*time.Second)) {
			t.Errorf("entry %d: id %q at %v", i, got[i].ID, got[i].At)
		}
		got[i].ID, got[i].At = "", time.Time{}
	}
	want := []store.AuditEntry{ // newest first
		{Actor: store.AuditActor{Kind: "system"}, Action: "limit.delete", ObjectKind: "limit", ObjectID: "team-ml",
			Before: json.RawMessage(`{"name":"team-ml","usd":"100"}`)},
		{Actor: store.AuditActor{Kind: "user", Name: "ana", Role: "admin"}, Action: "limit.put", ObjectKind: "limit", ObjectID: "team-ml",
			After: json.RawMessage(`{"name":"team-ml","tokens":5000,"usd":"100"}`), RequestID: "req_9"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
}

type failingStore struct{ store.AuditStore }

func (failingStore) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("disk full")
}

func TestRecordFailureIsLoggedAndCounted(t *testing.T) {
	var buf bytes.Buffer
	l := New(failingStore{}, Options{Log: slog.New(slog.NewTextHandler(&buf, nil))})
	ctx := WithActor(context.Background(), Actor{Kind: "cli", Name: "ops"})
	if err := l.Record(ctx, "key.revoke", "key", "key_1", nil, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Record = %v", err)
	}
	if l.Failures() != 1 {
		t.Errorf("Failures = %d", l.Failures())
	}
	for _, s := range []string{"level=ERROR", "key.revoke", "key_1", "actor_name=ops", "disk full"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("log %q lacks %q", buf.String(), s)
		}
	}
	if err := l.Record(ctx, "x.y", "x", "1", func() {}, nil); err == nil || l.Failures() != 2 {
		t.Errorf("unencodable before: %v, %d failures", err, l.Failures())
	}
	var nilLog *Log
	if err := nilLog.Record(ctx, "x.y", "x", "1", nil, nil); err != nil || nilLog.Failures() != 0 {
		t.Errorf("nil Log: %v", err)
	}
}

// TestRecordOutlivesTheRequest checks that a change whose request is
// cancelled right after it is still recorded.
func TestRecordOutlivesTheRequest(t *testing.T) {
	st, _ := openStore(t)
	l := New(st, Options{})
	ctx, cancel := context.WithCancel(WithActor(context.Background(), Actor{Kind: "user", Name: "bo"}))
	cancel()
	if err := l.Record(ctx, "limit.reset", "limit", "x", nil, map[string]string{"note": "n"}); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, st, store.AuditQuery{}); len(got) != 1 || got[0].Actor.Name != "bo" {
		t.Errorf("entries %+v", got)
	}
}

// TestRecordKeepsNoSecrets records objects carrying every kind of secret
// Weir holds and checks that none of them reaches the store: neither the
// listed JSON nor any byte of the data directory.
func TestRecordKeepsNoSecrets(t *testing.T) {
	st, dir := openStore(t)
	l := New(st, Options{})
	secrets := []string{
		"weir_k5tq7m2xv4nz6bwy3hd8jc9lfp2rs4tgq7mzx5vn3kd6bwy8hjc",    // a gateway key
		"weirm_q7mzx5vn3kd6bwy8hjc2xv4nz6bwy3hd8jc9lfp2rs4t",          // a management token
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", // a password hash
		"sk-proj-Abc123Def456Ghi789Jkl012Mno345",                      // a provider key
		"s3ss10n-0f-ana-ABCDEFGH",                                     // a session token, by name only
		"hunter2-is-a-password",                                       // a password, by name only
		"client-secret-value-xyz",                                     // an OIDC client secret
	}
	type provider struct {
		Name        string            `json:"name"`
		APIKey      string            `json:"apiKey"`
		Credentials map[string]string `json:"credentials"`
		Headers     map[string]string `json:"headers"`
	}
	type person struct {
		Name         string     `json:"name"`
		Password     string     `json:"password"`
		PasswordHash string     `json:"password_hash"`
		SessionToken string     `json:"session_token"`
		ClientSecret string     `json:"client_secret"`
		Tokens       int64      `json:"tokens"`   // a count, kept
		TokenID      string     `json:"token_id"` // an id, kept
		Prefix       string     `json:"prefix"`   // a key's public prefix, kept
		Note         string     `json:"note"`     // free text holding a key, redacted
		Providers    []provider `json:"providers"`
	}
	obj := person{
		Name: "ana", Password: secrets[5], PasswordHash: secrets[2], SessionToken: secrets[4], ClientSecret: secrets[6],
		Tokens: 1234, TokenID: "tok_1", Prefix: "weir_k5tq7m",
		Note: "rotated " + secrets[0],
		Providers: []provider{{Name: "openai", APIKey: secrets[3], Credentials: map[string]string{"token": secrets[1]},
			Headers: map[string]string{"Authorization": "Bearer " + secrets[3], "x-api-key": "opaque-value-1"}}},
	}
	ctx := WithActor(context.Background(), Actor{Kind: "user", Name: "admin"})
	if err := l.Record(ctx, "person.put", "person", "ana", obj, obj); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, "person.put", "person", "ana", nil, json.RawMessage(`{"nested":[{"secret":"`+secrets[6]+`"}]}`)); err != nil {
		t.Fatal(err)
	}
	got := entries(t, st, store.AuditQuery{})
	all, _ := json.Marshal(got)
	for _, s := range append(secrets, "opaque-value-1") {
		if strings.Contains(string(all), s) {
			t.Errorf("the audit log holds %q: %s", s, all)
		}
	}
	for _, kept := range []string{`"tokens":1234`, `"token_id":"tok_1"`, `"prefix":"weir_k5tq7m"`, `"name":"openai"`} {
		if !strings.Contains(string(got[1].After), kept) {
			t.Errorf("after %s lacks %s", got[1].After, kept)
		}
	}
	st.Close()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", path, s)
			}
		}
		return nil
	})
}

package access

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func TestChangesAreAudited(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	m, err := New(ctx, st, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	m.SetAuditor(audit.New(st, audit.Options{}))
	ana := audit.WithActor(ctx, audit.Actor{Kind: "user", Name: "ana", Role: "admin"})
	if _, err := m.PutApplication(ana, Application{Name: "bot", Team: "cx"}, "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PutApplication(ana, Application{Name: "bot", Team: "ml", Models: []string{"gpt-4o"}}, "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PutApplication(ana, Application{Name: "bad"}, "ana"); err == nil {
		t.Fatal("invalid application accepted")
	}
	cli := audit.WithActor(ctx, audit.Actor{Kind: "cli", Name: "ops"})
	k, err := m.CreateKey(cli, "bot", now.Add(time.Hour), "cli")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeKey(ana, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeKey(ana, k.ID); err == nil {
		t.Fatal("second revoke succeeded")
	}

	p, err := st.ListAudit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ actor, action, id, before, after string }
	exp := `"expires_at":"2026-11-27T13:00:00Z"`
	wants := []want{ // newest first; failed changes are not recorded
		{"ana", "key.revoke", k.ID, exp + `,"id":"` + k.ID + `","prefix":"` + k.Prefix + `","revoked_at":null`, `"revoked_at":"2026-11-27T12:00:00Z"`},
		{"ops", "key.create", k.ID, "", `"application":"bot"`},
		{"ana", "application.put", "bot", `{"name":"bot","team":"cx"}`, `{"models":["gpt-4o"],"name":"bot","team":"ml"}`},
		{"ana", "application.put", "bot", "", `{"name":"bot","team":"cx"}`},
	}
	if len(p.Entries) != len(wants) {
		t.Fatalf("%d entries, want %d: %+v", len(p.Entries), len(wants), p.Entries)
	}
	for i, w := range wants {
		e := p.Entries[i]
		if e.Actor.Name != w.actor || e.Action != w.action || e.ObjectID != w.id || e.ObjectKind != strings.Split(w.action, ".")[0] {
			t.Errorf("entry %d: %s %s %s/%s, want %s %s %s", i, e.Actor.Name, e.Action, e.ObjectKind, e.ObjectID, w.actor, w.action, w.id)
		}
		if (w.before == "") != (e.Before == nil) || !strings.Contains(string(e.Before), w.before) {
			t.Errorf("entry %d (%s) before %s, want %s", i, w.action, e.Before, w.before)
		}
		if !strings.Contains(string(e.After), w.after) {
			t.Errorf("entry %d (%s) after %s, want %s", i, w.action, e.After, w.after)
		}
		for _, secret := range []string{k.Secret, k.Secret[len(secretPrefix)+6:], "hash"} {
			if strings.Contains(string(e.Before)+string(e.After), secret) {
				t.Errorf("entry %d holds %q", i, secret)
			}
		}
	}
	var created store.StoredKey
	if err := json.Unmarshal(p.Entries[1].After, &created); err != nil || created.Prefix != k.Prefix || created.ExpiresAt == nil || created.CreatedBy != "cli" {
		t.Errorf("created key %+v %v", created, err)
	}
}

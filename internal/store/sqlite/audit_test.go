package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// TestAuditLogIsAppendOnly checks that even SQL written past the store
// cannot change or remove an audit entry.
func TestAuditLogIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	defer s.Close()
	e := store.AuditEntry{ID: "aud_1", At: time.Now(), Actor: store.AuditActor{Kind: "cli"}, Action: "limit.put", ObjectKind: "limit", ObjectID: "x"}
	if err := s.AppendAudit(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_log SET actor_name = 'mallory'`, `DELETE FROM audit_log`} {
		if _, err := s.w.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
	p, err := s.ListAudit(ctx, store.AuditQuery{})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Actor.Name != "" {
		t.Errorf("after tampering: %+v %v", p, err)
	}
}

// TestAuditQueryPlans checks that the filtered lists use an index, not a
// scan of the whole log.
func TestAuditQueryPlans(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	defer s.Close()
	for _, where := range []string{"", "object_kind = 'limit'", "object_id = 'x'", "actor_name = 'ana'", "action = 'limit.put'"} {
		q := `EXPLAIN QUERY PLAN SELECT id FROM audit_log`
		if where != "" {
			q += " WHERE " + where
		}
		q += " ORDER BY at DESC, id DESC LIMIT 51"
		rows, err := s.r.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, "INDEX audit_log_") || strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want an index and no sort", where, all)
		}
	}
}

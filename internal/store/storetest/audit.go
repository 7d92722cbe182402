package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/store"
)

func auditEntry(id string, at time.Time) store.AuditEntry {
	return store.AuditEntry{
		ID: id, At: at, Actor: store.AuditActor{Kind: "user", Name: "ana", Role: "admin"},
		Action: "limit.put", ObjectKind: "limit", ObjectID: "team-ml",
		Before: json.RawMessage(`{"usd":"100"}`), After: json.RawMessage(`{"usd":"150","name":"名前 🚀"}`),
		RequestID: "req_1",
	}
}

func appendAudit(t *testing.T, s Store, es ...store.AuditEntry) {
	t.Helper()
	for _, e := range es {
		if err := s.AppendAudit(context.Background(), e); err != nil {
			t.Fatalf("AppendAudit %s: %v", e.ID, err)
		}
	}
}

// listAudit follows every page of q and returns the ids in order.
func listAudit(t *testing.T, s Store, q store.AuditQuery) []string {
	t.Helper()
	var out []string
	for range 1000 {
		p, err := s.ListAudit(context.Background(), q)
		if err != nil {
			t.Fatalf("ListAudit(%+v): %v", q, err)
		}
		for _, e := range p.Entries {
			out = append(out, e.ID)
		}
		if p.NextCursor == "" {
			return out
		}
		q.Cursor = p.NextCursor
	}
	t.Fatal("ListAudit: pages never end")
	return nil
}

func testAuditRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	want := auditEntry("aud_1", base.In(time.FixedZone("CET", 3600)))
	created := auditEntry("aud_2", base.Add(time.Second))
	created.Before, created.RequestID, created.Actor = nil, "", store.AuditActor{Kind: "system"}
	deleted := auditEntry("aud_3", base.Add(2*time.Second))
	deleted.After = json.RawMessage("null") // stored as no document
	appendAudit(t, s, want, created, deleted)

	p, err := s.ListAudit(ctx, store.AuditQuery{})
	if err != nil || len(p.Entries) != 3 || p.NextCursor != "" {
		t.Fatalf("ListAudit: %+v %v", p, err)
	}
	deleted.After = nil
	for i, w := range []store.AuditEntry{deleted, created, want} {
		got := p.Entries[i]
		if !got.At.Equal(w.At) {
			t.Errorf("%s: at %v, want %v", w.ID, got.At, w.At)
		}
		got.At, w.At = time.Time{}, time.Time{}
		if d := cmp.Diff(w, got); d != "" {
			t.Errorf("%s round trip (-want +got):\n%s", w.ID, d)
		}
	}
	b, _ := json.Marshal(p.Entries[1])
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil || doc["before"] != nil || doc["after"] == nil {
		t.Errorf("created entry's JSON: %s", b)
	}
}

func testAuditAppendOnly(t *testing.T, s Store) {
	ctx := context.Background()
	e := auditEntry("aud_1", base)
	appendAudit(t, s, e)
	changed := e
	changed.Action = "limit.delete"
	if err := s.AppendAudit(ctx, changed); err == nil {
		t.Error("a second entry with the same id was accepted")
	}
	p, err := s.ListAudit(ctx, store.AuditQuery{})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Action != "limit.put" {
		t.Errorf("after a duplicate: %+v %v", p, err)
	}
	if _, ok := any(s).(interface {
		DeleteAudit(context.Context, string) error
	}); ok {
		t.Error("the store can delete audit entries")
	}
	for _, bad := range []func(*store.AuditEntry){
		func(e *store.AuditEntry) { e.ID = "" },
		func(e *store.AuditEntry) { e.At = time.Time{} },
		func(e *store.AuditEntry) { e.Action = "" },
		func(e *store.AuditEntry) { e.ObjectKind = "" },
		func(e *store.AuditEntry) { e.Actor.Kind = "" },
		func(e *store.AuditEntry) { e.Before = json.RawMessage(`{"a":`) },
		func(e *store.AuditEntry) { e.After = json.RawMessage(`nope`) },
	} {
		e := auditEntry("aud_bad", base)
		bad(&e)
		if err := s.AppendAudit(ctx, e); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("AppendAudit(%+v) = %v, want ErrInvalidQuery", e, err)
		}
	}
}

func testAuditFilters(t *testing.T, s Store) {
	var all []store.AuditEntry
	for i := range 16 {
		e := auditEntry(fmt.Sprintf("aud_%02d", i), base.Add(time.Duration(i)*time.Minute))
		e.ObjectKind = []string{"limit", "key"}[i%2]
		e.ObjectID = []string{"a", "b"}[i/2%2]
		e.Actor.Name = []string{"ana", "bo"}[i/4%2]
		e.Action = e.ObjectKind + []string{".put", ".delete"}[i/8%2]
		all = append(all, e)
	}
	appendAudit(t, s, all...)
	want := func(keep func(store.AuditEntry) bool) []string {
		var ids []string
		for _, e := range slices.Backward(all) {
			if keep(e) {
				ids = append(ids, e.ID)
			}
		}
		return ids
	}
	for _, tc := range []struct {
		q    store.AuditQuery
		keep func(store.AuditEntry) bool
	}{
		{store.AuditQuery{}, func(store.AuditEntry) bool { return true }},
		{store.AuditQuery{ObjectKind: "key"}, func(e store.AuditEntry) bool { return e.ObjectKind == "key" }},
		{store.AuditQuery{ObjectID: "b"}, func(e store.AuditEntry) bool { return e.ObjectID == "b" }},
		{store.AuditQuery{ObjectKind: "limit", ObjectID: "a"}, func(e store.AuditEntry) bool { return e.ObjectKind == "limit" && e.ObjectID == "a" }},
		{store.AuditQuery{Actor: "bo"}, func(e store.AuditEntry) bool { return e.Actor.Name == "bo" }},
		{store.AuditQuery{Action: "key.delete"}, func(e store.AuditEntry) bool { return e.Action == "key.delete" }},
		{store.AuditQuery{Actor: "nobody"}, func(store.AuditEntry) bool { return false }},
		{store.AuditQuery{From: base.Add(3 * time.Minute), To: base.Add(7 * time.Minute)}, func(e store.AuditEntry) bool {
			return !e.At.Before(base.Add(3*time.Minute)) && e.At.Before(base.Add(7*time.Minute))
		}},
		{store.AuditQuery{From: base.Add(5 * time.Minute), Actor: "bo", Limit: 1}, func(e store.AuditEntry) bool {
			return !e.At.Before(base.Add(5*time.Minute)) && e.Actor.Name == "bo"
		}},
	} {
		if got, w := listAudit(t, s, tc.q), want(tc.keep); !slices.Equal(got, w) {
			t.Errorf("ListAudit(%+v) = %v, want %v", tc.q, got, w)
		}
	}
}

func testAuditPagination(t *testing.T, s Store) {
	ctx := context.Background()
	// Entries at the same instant are ordered by id, descending.
	var es []store.AuditEntry
	for i := range 7 {
		es = append(es, auditEntry(fmt.Sprintf("aud_%d", i), base.Add(time.Duration(i/3)*time.Nanosecond)))
	}
	appendAudit(t, s, es...)
	want := []string{"aud_6", "aud_5", "aud_4", "aud_3", "aud_2", "aud_1", "aud_0"}
	for _, limit := range []int{1, 2, 3, 7, 100} {
		if got := listAudit(t, s, store.AuditQuery{Limit: limit}); !slices.Equal(got, want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
	}
	p, err := s.ListAudit(ctx, store.AuditQuery{Limit: 7})
	if err != nil || p.NextCursor != "" {
		t.Errorf("an exact last page has a cursor: %q %v", p.NextCursor, err)
	}
	// New entries do not shift a listing under way.
	p, err = s.ListAudit(ctx, store.AuditQuery{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	appendAudit(t, s, auditEntry("aud_new", base.Add(time.Hour)))
	if got := listAudit(t, s, store.AuditQuery{Cursor: p.NextCursor}); !slices.Equal(got, want[3:]) {
		t.Errorf("after inserts: %v, want %v", got, want[3:])
	}
	for _, q := range []store.AuditQuery{{Limit: -1}, {Cursor: "!!"}, {From: base, To: base.Add(-1)}} {
		if _, err := s.ListAudit(ctx, q); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("ListAudit(%+v) = %v, want ErrInvalidQuery", q, err)
		}
	}
	if p, err := s.ListAudit(ctx, store.AuditQuery{Limit: store.MaxLimit + 5}); err != nil || len(p.Entries) != 8 {
		t.Errorf("clamped limit: %d entries, %v", len(p.Entries), err)
	}
}

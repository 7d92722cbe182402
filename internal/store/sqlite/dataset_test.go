package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weirhq/weir/internal/store"
)

// TestMigrateDatasetEntries checks that the per-version membership of
// migration 16 becomes entries that read back the same versions.
func TestMigrateDatasetEntries(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")
	old, err := open(ctx, path, Options{}, migrations[:16])
	if err != nil {
		t.Fatal(err)
	}
	// Versions 1..4 of "qa": v1 a1 b1 c1; v2 b2 c1 d1 (a removed, b
	// changed); v3 c1 d1 a2 (a back, b removed); v4 empty.
	members := map[int][]string{1: {"a:1:1", "b:1:2", "c:1:3"}, 2: {"b:2:2", "c:1:3", "d:1:4"}, 3: {"c:1:3", "d:1:4", "a:2:5"}, 4: {}}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.w.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO datasets (name, use_case, description, created_at, created_by) VALUES ('qa', '', '', 0, 'x')`)
	for _, r := range []struct {
		id  string
		rev int
	}{{"a", 1}, {"b", 1}, {"c", 1}, {"b", 2}, {"d", 1}, {"a", 2}} {
		exec(`INSERT INTO dataset_item_revisions (dataset, item_id, rev, doc) VALUES ('qa', ?, ?, ?)`, r.id, r.rev, fmt.Sprintf(`{"%s":%d}`, r.id, r.rev))
	}
	for v := 1; v <= 4; v++ {
		exec(`INSERT INTO dataset_versions (dataset, version, items, added, changed, removed, note, created_at, created_by) VALUES ('qa', ?, ?, 0, 0, 0, '', 0, 'x')`, v, len(members[v]))
		for _, m := range members[v] {
			var (
				id       string
				rev, pos int
			)
			fmt.Sscanf(m, "%1s:%d:%d", &id, &rev, &pos)
			exec(`INSERT INTO dataset_members (dataset, version, pos, item_id, rev) VALUES ('qa', ?, ?, ?, ?)`, v, pos, id, rev)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for v := 1; v <= 4; v++ {
		p, err := s.DatasetItems(ctx, store.DatasetItemQuery{Name: "qa", Version: v})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range p.Items {
			got = append(got, fmt.Sprintf("%s:%d:%d", it.ID, it.Rev, it.Pos))
		}
		if want := members[v]; !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("version %d: %q, want %q", v, got, want)
		}
	}
	// The migrated dataset takes new versions.
	ver, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "qa", Put: []store.DatasetItem{{ID: "c", Doc: []byte(`{"c":2}`)}}})
	if err != nil || ver.Version != 5 || ver.Items != 1 || ver.Added != 1 {
		t.Errorf("append after migration: %+v, %v", ver, err)
	}
}

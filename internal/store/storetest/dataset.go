package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/store"
)

// datasetIDs returns every item of a version as id@rev=doc, in order,
// reading page by page.
func datasetIDs(t *testing.T, s store.DatasetStore, name string, version, limit int) []string {
	t.Helper()
	var out []string
	q := store.DatasetItemQuery{Name: name, Version: version, Limit: limit}
	for range 10000 {
		p, err := s.DatasetItems(context.Background(), q)
		if err != nil {
			t.Fatalf("DatasetItems(%+v): %v", q, err)
		}
		for _, it := range p.Items {
			out = append(out, fmt.Sprintf("%s@%d=%s", it.ID, it.Rev, it.Doc))
		}
		if p.Next == 0 {
			return out
		}
		q.After = p.Next
	}
	t.Fatal("pagination does not end")
	return nil
}

func testDatasets(t *testing.T, s store.DatasetStore) {
	ctx := context.Background()
	if _, err := s.Dataset(ctx, "qa"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing dataset: %v, want ErrNotFound", err)
	}
	if l, err := s.ListDatasets(ctx, ""); err != nil || l == nil || len(l) != 0 {
		t.Errorf("list before any: %#v, %v; want an empty, non-nil list", l, err)
	}
	if _, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "qa", Put: []store.DatasetItem{{ID: "a", Doc: json.RawMessage(`{}`)}}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("append to a missing dataset: %v, want ErrNotFound", err)
	}
	d, err := s.CreateDataset(ctx, store.Dataset{Name: "qa", UseCase: "support-bot", Description: "Fragen 🙂", CreatedAt: base, CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateDataset(ctx, store.Dataset{Name: "qa"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("create twice: %v, want ErrConflict", err)
	}
	if _, err := s.CreateDataset(ctx, store.Dataset{}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("create without a name: %v, want ErrInvalidQuery", err)
	}
	if _, err := s.CreateDataset(ctx, store.Dataset{Name: "other", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Dataset(ctx, "qa")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" || got.LatestVersion != 0 {
		t.Errorf("dataset (-want +got):\n%s", diff)
	}
	if l, err := s.ListDatasets(ctx, "support-bot"); err != nil || len(l) != 1 || l[0].Name != "qa" {
		t.Errorf("list of support-bot: %+v, %v", l, err)
	}
	if l, err := s.ListDatasets(ctx, ""); err != nil || len(l) != 2 || l[0].Name != "other" || l[1].Name != "qa" {
		t.Errorf("list all: %+v, %v", l, err)
	}
	if vs, err := s.DatasetVersions(ctx, "qa"); err != nil || vs == nil || len(vs) != 0 {
		t.Errorf("versions before any: %#v, %v", vs, err)
	}
	if _, err := s.DatasetVersions(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("versions of a missing dataset: %v", err)
	}
	if _, err := s.DatasetItems(ctx, store.DatasetItemQuery{Name: "qa"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("items of a dataset without versions: %v, want ErrNotFound", err)
	}

	item := func(id, doc string) store.DatasetItem { return store.DatasetItem{ID: id, Doc: json.RawMessage(doc)} }
	change := func(c store.DatasetChange) store.DatasetVersion {
		t.Helper()
		c.Name, c.CreatedBy = "qa", "bob"
		v, err := s.AppendDatasetVersion(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v1 := change(store.DatasetChange{Put: []store.DatasetItem{item("a", `{"q":"1"}`), item("b", `{"q":"2"}`), item("c", `{"q":"ü"}`)}, Note: "import", CreatedAt: base.Add(time.Second)})
	if v1.Version != 1 || v1.Items != 3 || v1.Added != 3 || v1.Note != "import" || !v1.CreatedAt.Equal(base.Add(time.Second)) {
		t.Errorf("v1 = %+v", v1)
	}
	v2 := change(store.DatasetChange{Put: []store.DatasetItem{item("b", `{"q":"2b"}`), item("d", `{"q":"4"}`), item("c", `{"q":"ü"}`)}, Remove: []string{"a"}})
	if v2.Version != 2 || v2.Items != 3 || v2.Added != 1 || v2.Changed != 1 || v2.Removed != 1 {
		t.Errorf("v2 = %+v, want 3 items: 1 added, 1 changed (c unchanged), 1 removed", v2)
	}
	v3 := change(store.DatasetChange{Put: []store.DatasetItem{item("a", `{"q":"1 again"}`)}, Remove: []string{"b"}})
	if v3.Items != 3 || v3.Added != 1 || v3.Removed != 1 {
		t.Errorf("v3 = %+v", v3)
	}
	want := map[int][]string{
		1: {`a@1={"q":"1"}`, `b@1={"q":"2"}`, `c@1={"q":"ü"}`},
		2: {`b@2={"q":"2b"}`, `c@1={"q":"ü"}`, `d@1={"q":"4"}`},
		3: {`c@1={"q":"ü"}`, `d@1={"q":"4"}`, `a@2={"q":"1 again"}`}, // a comes back last, as revision 2
	}
	want[0] = want[3]
	for version, w := range want {
		for _, limit := range []int{0, 1, 2, 3} {
			if diff := cmp.Diff(w, datasetIDs(t, s, "qa", version, limit)); diff != "" {
				t.Errorf("version %d, limit %d (-want +got):\n%s", version, limit, diff)
			}
		}
	}
	if d, err := s.Dataset(ctx, "qa"); err != nil || d.LatestVersion != 3 || d.Items != 3 {
		t.Errorf("dataset after 3 versions: %+v, %v", d, err)
	}
	vs, err := s.DatasetVersions(ctx, "qa")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.DatasetVersion{v1, v2, v3}, vs); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	if v, err := s.DatasetVersion(ctx, "qa", 0); err != nil || v != v3 {
		t.Errorf("latest = %+v, %v; want %+v", v, err, v3)
	}
	if _, err := s.DatasetVersion(ctx, "qa", 4); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("version 4: %v, want ErrNotFound", err)
	}
	if _, err := s.DatasetItems(ctx, store.DatasetItemQuery{Name: "qa", Version: 9}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("items of version 9: %v, want ErrNotFound", err)
	}
	if _, err := s.DatasetItems(ctx, store.DatasetItemQuery{Name: "qa", Limit: -1}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("negative limit: %v, want ErrInvalidQuery", err)
	}

	// Refused changes store nothing.
	for _, c := range []store.DatasetChange{
		{Remove: []string{"zz"}},
		{Put: []store.DatasetItem{item("new", `{}`)}, Remove: []string{"b"}}, // b is gone since v3
		{Put: []store.DatasetItem{item("x", `{}`)}, MustExist: true},
	} {
		c.Name = "qa"
		if _, err := s.AppendDatasetVersion(ctx, c); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("change %+v: %v, want ErrNotFound", c, err)
		}
	}
	for _, c := range []store.DatasetChange{
		{Put: []store.DatasetItem{item("c", `{}`), item("c", `{}`)}},
		{Put: []store.DatasetItem{item("c", `{}`)}, Remove: []string{"c"}},
		{Put: []store.DatasetItem{{ID: "", Doc: json.RawMessage(`{}`)}}},
		{Put: []store.DatasetItem{{ID: "y"}}},
	} {
		c.Name = "qa"
		if _, err := s.AppendDatasetVersion(ctx, c); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("change %+v: %v, want ErrInvalidQuery", c, err)
		}
	}
	if d, err := s.Dataset(ctx, "qa"); err != nil || d.LatestVersion != 3 {
		t.Errorf("after refused changes: %+v, %v; want version 3", d, err)
	}
	if diff := cmp.Diff(want[3], datasetIDs(t, s, "qa", 0, 0)); diff != "" {
		t.Errorf("after refused changes (-want +got):\n%s", diff)
	}
	// MustExist replaces in place; removing everything leaves an empty version.
	v4 := change(store.DatasetChange{Put: []store.DatasetItem{item("c", `{"q":"3"}`)}, MustExist: true})
	if v4.Changed != 1 || v4.Items != 3 {
		t.Errorf("v4 = %+v", v4)
	}
	v5 := change(store.DatasetChange{Remove: []string{"a", "c", "d"}})
	if v5.Items != 0 || v5.Removed != 3 {
		t.Errorf("v5 = %+v", v5)
	}
	if got := datasetIDs(t, s, "qa", 5, 0); len(got) != 0 {
		t.Errorf("empty version has %q", got)
	}
	if diff := cmp.Diff([]string{`c@2={"q":"3"}`, `d@1={"q":"4"}`, `a@2={"q":"1 again"}`}, datasetIDs(t, s, "qa", 4, 2)); diff != "" {
		t.Errorf("version 4 (-want +got):\n%s", diff)
	}
	// The other dataset is untouched and ids are per dataset.
	if _, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "other", Put: []store.DatasetItem{item("a", `{"other":true}`)}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`a@1={"other":true}`}, datasetIDs(t, s, "other", 0, 0)); diff != "" {
		t.Errorf("other dataset (-want +got):\n%s", diff)
	}
}

func testDatasetsLarge(t *testing.T, s store.DatasetStore) {
	ctx := context.Background()
	if _, err := s.CreateDataset(ctx, store.Dataset{Name: "big"}); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	var put []store.DatasetItem
	for i := range n {
		put = append(put, store.DatasetItem{ID: fmt.Sprintf("i%05d", i), Doc: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
	}
	if v, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "big", Put: put}); err != nil || v.Items != n {
		t.Fatalf("append %d: %+v, %v", n, v, err)
	}
	if v, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "big", Remove: []string{"i00000"}}); err != nil || v.Items != n-1 {
		t.Fatalf("remove one: %+v, %v", v, err)
	}
	if got := datasetIDs(t, s, "big", 1, store.MaxLimit); len(got) != n || got[n-1] != fmt.Sprintf(`i%05d@1={"n":%d}`, n-1, n-1) {
		t.Errorf("version 1 has %d items, last %q", len(got), got[len(got)-1])
	}
	p, err := s.DatasetItems(ctx, store.DatasetItemQuery{Name: "big", Limit: 1 << 30})
	if err != nil || len(p.Items) != store.MaxLimit || p.Next == 0 {
		t.Errorf("limit above max: %d items, next %d, %v", len(p.Items), p.Next, err)
	}
}

func testDatasetsConcurrent(t *testing.T, s store.DatasetStore) {
	ctx := context.Background()
	if _, err := s.CreateDataset(ctx, store.Dataset{Name: "c"}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "c", Put: []store.DatasetItem{{ID: id, Doc: json.RawMessage(`{}`)}}}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent append: %v", err)
	}
	vs, err := s.DatasetVersions(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != writers*each {
		t.Fatalf("%d versions, want %d", len(vs), writers*each)
	}
	for i, v := range vs {
		if v.Version != i+1 || v.Items != i+1 {
			t.Errorf("version %d: %+v, want version %d with %d items", i, v, i+1, i+1)
		}
	}
}

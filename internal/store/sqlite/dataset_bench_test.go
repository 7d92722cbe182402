package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/weirhq/weir/internal/store"
)

// BenchmarkDatasetEditOne measures a version that changes one item of a
// 50,000-item dataset: one revision is stored, the membership is copied.
func BenchmarkDatasetEditOne(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	if _, err := s.CreateDataset(ctx, store.Dataset{Name: "big"}); err != nil {
		b.Fatal(err)
	}
	put := make([]store.DatasetItem, 50000)
	for i := range put {
		put[i] = store.DatasetItem{ID: fmt.Sprintf("i%05d", i), Doc: json.RawMessage(fmt.Sprintf(`{"messages":[{"role":"user","content":"question %d"}],"expected":"answer"}`, i))}
	}
	if _, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "big", Put: put}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		doc := json.RawMessage(fmt.Sprintf(`{"messages":[{"role":"user","content":"edited %d"}]}`, i))
		if _, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "big", Put: []store.DatasetItem{{ID: "i00042", Doc: doc}}, MustExist: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDatasetImport50k measures a 50,000-item import as one version.
func BenchmarkDatasetImport50k(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	put := make([]store.DatasetItem, 50000)
	for i := range put {
		put[i] = store.DatasetItem{ID: fmt.Sprintf("i%05d", i), Doc: json.RawMessage(fmt.Sprintf(`{"messages":[{"role":"user","content":"question %d"}]}`, i))}
	}
	b.ReportAllocs()
	for i := range b.N {
		name := fmt.Sprintf("d%d", i)
		if _, err := s.CreateDataset(ctx, store.Dataset{Name: name}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: name, Put: put}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDatasetReadVersion reads every item of the first version of a
// 10,000-item dataset after 200 one-item edits, page by page.
func BenchmarkDatasetReadVersion(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	if _, err := s.CreateDataset(ctx, store.Dataset{Name: "d"}); err != nil {
		b.Fatal(err)
	}
	put := make([]store.DatasetItem, 10000)
	for i := range put {
		put[i] = store.DatasetItem{ID: fmt.Sprintf("i%05d", i), Doc: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	if _, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "d", Put: put}); err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		if _, err := s.AppendDatasetVersion(ctx, store.DatasetChange{Name: "d", Put: []store.DatasetItem{{ID: fmt.Sprintf("i%05d", i*50), Doc: json.RawMessage(`{"edited":true}`)}}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n := 0
		q := store.DatasetItemQuery{Name: "d", Version: 1, Limit: store.MaxLimit}
		for {
			p, err := s.DatasetItems(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Items)
			if p.Next == 0 {
				break
			}
			q.After = p.Next
		}
		if n != 10000 {
			b.Fatalf("read %d items", n)
		}
	}
}

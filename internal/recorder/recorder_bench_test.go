package recorder

import (
	"context"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/record"
)

type nopStore struct{}

func (nopStore) WriteRecords(context.Context, []record.Record) error { return nil }

func benchRecord() record.Record {
	r := call(1)
	r.Request = strings.Repeat(`{"role":"user","content":"hello"} `, 60) // about 2 KiB
	r.Response = strings.Repeat("data: {\"x\":1}\n\n", 64)               // about 1 KiB
	r.Attempts = []record.Attempt{{Provider: "openai", Model: "gpt-4o", DurationMs: 800, Status: 200}}
	return r
}

// BenchmarkFinish is the cost of Finish on the request path: encode, one
// write(2), enqueue.
func BenchmarkFinish(b *testing.B) {
	r := openRec(b, b.TempDir(), nopStore{}, Options{})
	defer closeRec(b, r)
	rec := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Finish(&rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBeginFinishParallel is a whole call's journaling cost under
// contention.
func BenchmarkBeginFinishParallel(b *testing.B) {
	r := openRec(b, b.TempDir(), nopStore{}, Options{})
	defer closeRec(b, r)
	rec := benchRecord()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := r.Begin(&rec); err != nil {
				b.Fatal(err)
			}
			if err := r.Finish(&rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}

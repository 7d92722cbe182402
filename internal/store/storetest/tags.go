package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// testTagFilter: a list by tag holds exactly the calls with the tag,
// newest first, pages without overlap, and combines with the other
// filters and a time range; a duplicate write adds no second entry.
func testTagFilter(t *testing.T, s Store) {
	var recs []record.Record
	for i := range 30 {
		r := minimal(fmt.Sprintf("t%02d", i), base.Add(time.Duration(i)*time.Minute))
		switch i % 3 {
		case 0:
			r.Tags = []string{"vip", "beta"}
		case 1:
			r.Tags = []string{"beta", "beta"} // a tag twice counts once
		}
		r.Team = []string{"cx", "ops"}[i%2]
		recs = append(recs, r)
	}
	write(t, s, recs...)
	write(t, s, recs[:5]...) // duplicates: skipped
	want := func(f func(i int, r record.Record) bool) []string {
		var ids []string
		for i := len(recs) - 1; i >= 0; i-- {
			if f(i, recs[i]) {
				ids = append(ids, recs[i].ID)
			}
		}
		return ids
	}
	all := func(q store.RequestQuery) []string {
		var ids []string
		for range 100 {
			p := list(t, s, q)
			for _, r := range p.Requests {
				ids = append(ids, r.ID)
			}
			if p.NextCursor == "" {
				return ids
			}
			q.Cursor = p.NextCursor
		}
		t.Fatal("too many pages")
		return nil
	}
	for _, tc := range []struct {
		name string
		q    store.RequestQuery
		want []string
	}{
		{"vip", store.RequestQuery{Tag: "vip", Limit: 3}, want(func(i int, r record.Record) bool { return i%3 == 0 })},
		{"beta", store.RequestQuery{Tag: "beta", Limit: 7}, want(func(i int, r record.Record) bool { return i%3 != 2 })},
		{"beta of cx", store.RequestQuery{Tag: "beta", Team: "cx", Limit: 4}, want(func(i int, r record.Record) bool { return i%3 != 2 && i%2 == 0 })},
		{"beta in a range", store.RequestQuery{Tag: "beta", From: base.Add(10 * time.Minute), To: base.Add(20 * time.Minute)},
			want(func(i int, r record.Record) bool { return i%3 != 2 && i >= 10 && i < 20 })},
		{"unknown tag", store.RequestQuery{Tag: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := all(tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v\nwant %v", got, tc.want)
			}
		})
	}
}

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

func testPrompts(t *testing.T, s Store) {
	ctx := context.Background()
	const kind = store.PromptKindPrompt
	if _, err := s.PromptVersion(ctx, kind, "reply", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("latest before any: %v, want ErrNotFound", err)
	}
	if _, err := s.PromptVersions(ctx, kind, "reply"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("versions before any: %v, want ErrNotFound", err)
	}
	if list, err := s.ListPrompts(ctx, kind); err != nil || list == nil || len(list) != 0 {
		t.Errorf("list before any: %#v, %v; want an empty, non-nil list", list, err)
	}
	if l, err := s.PromptLabels(ctx, kind, "reply"); err != nil || l == nil || len(l) != 0 {
		t.Errorf("labels before any: %#v, %v; want an empty, non-nil list", l, err)
	}
	put := func(kind, name, doc string, at int) store.PromptVersion {
		t.Helper()
		v, err := s.AppendPromptVersion(ctx, store.PromptVersion{Kind: kind, Name: name, Doc: json.RawMessage(doc), CreatedAt: base.Add(time.Duration(at) * time.Second), CreatedBy: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v1 := put(kind, "reply", `{"messages":[{"role":"user","content":"héllo {{name}} 🌍"}]}`, 1)
	v2 := put(kind, "reply", `{"messages":[{"role":"user","content":"hi"}]}`, 2)
	// The same name as a partial is another object.
	p1 := put(store.PromptKindPartial, "reply", `{"text":"partial"}`, 3)
	other := put(kind, "another", `{}`, 4)
	for i, v := range []store.PromptVersion{v1, v2, p1, other} {
		if want := []int{1, 2, 1, 1}[i]; v.Version != want {
			t.Errorf("%s %s: version %d, want %d", v.Kind, v.Name, v.Version, want)
		}
	}
	if !v1.CreatedAt.Equal(base.Add(time.Second)) || v1.CreatedAt.Location().String() != "UTC" {
		t.Errorf("created_at %v, want %v in UTC", v1.CreatedAt, base.Add(time.Second))
	}
	for _, tc := range []struct {
		version int
		want    store.PromptVersion
	}{{0, v2}, {1, v1}, {2, v2}} {
		got, err := s.PromptVersion(ctx, kind, "reply", tc.version)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("version %d (-want +got):\n%s", tc.version, diff)
		}
	}
	if _, err := s.PromptVersion(ctx, kind, "reply", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("version 3: %v, want ErrNotFound", err)
	}
	all, err := s.PromptVersions(ctx, kind, "reply")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.PromptVersion{v1, v2}, all); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	list, err := s.ListPrompts(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	wantList := []store.PromptSummary{
		{Kind: kind, Name: "another", LatestVersion: 1, UpdatedAt: other.CreatedAt},
		{Kind: kind, Name: "reply", LatestVersion: 2, UpdatedAt: v2.CreatedAt},
	}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	// Labels: moves are kept; the labels in force are the last moves.
	label := func(name, label string, version int) (store.PromptLabel, error) {
		return s.SetPromptLabel(ctx, store.PromptLabel{Kind: kind, Name: name, Label: label, Version: version, ChangedAt: base, ChangedBy: "bob"})
	}
	m1, err := label("reply", "production", 1)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := label("reply", "staging", 2)
	if err != nil {
		t.Fatal(err)
	}
	m3, err := label("reply", "production", 2)
	if err != nil {
		t.Fatal(err)
	}
	if !(m1.Seq < m2.Seq && m2.Seq < m3.Seq) {
		t.Errorf("seqs %d %d %d are not increasing", m1.Seq, m2.Seq, m3.Seq)
	}
	if _, err := label("reply", "production", 9); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("label to a missing version: %v, want ErrNotFound", err)
	}
	if _, err := label("missing", "production", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("label of a missing prompt: %v, want ErrNotFound", err)
	}
	if _, err := s.SetPromptLabel(ctx, store.PromptLabel{Kind: store.PromptKindPartial, Name: "reply", Label: "production", Version: 2}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("label of the partial's version 2 (only the prompt has one): %v, want ErrNotFound", err)
	}
	labels, err := s.PromptLabels(ctx, kind, "reply")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.PromptLabel{m3, m2}, labels); diff != "" {
		t.Errorf("labels in force (-want +got):\n%s", diff)
	}
	hist, err := s.PromptLabelHistory(ctx, kind, "reply")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.PromptLabel{m1, m2, m3}, hist); diff != "" {
		t.Errorf("label history (-want +got):\n%s", diff)
	}
	if l, err := s.PromptLabels(ctx, store.PromptKindPartial, "reply"); err != nil || len(l) != 0 {
		t.Errorf("the partial's labels: %v, %v; want none", l, err)
	}

	for name, v := range map[string]store.PromptVersion{
		"no kind": {Name: "x", Doc: json.RawMessage(`{}`)},
		"no name": {Kind: kind, Doc: json.RawMessage(`{}`)},
		"no doc":  {Kind: kind, Name: "x"},
	} {
		if _, err := s.AppendPromptVersion(ctx, v); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("%s: %v, want ErrInvalidQuery", name, err)
		}
	}
	if _, err := label("reply", "", 1); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("empty label: %v, want ErrInvalidQuery", err)
	}
	if _, err := label("reply", "x", 0); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("version 0: %v, want ErrInvalidQuery", err)
	}
}

// testPromptVersionsConcurrent checks that concurrent appends get distinct,
// contiguous versions.
func testPromptVersionsConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.AppendPromptVersion(ctx, store.PromptVersion{Kind: store.PromptKindPrompt, Name: "busy", Doc: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.PromptVersions(ctx, store.PromptKindPrompt, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("%d versions, want %d", len(all), n)
	}
	for i, v := range all {
		if v.Version != i+1 {
			t.Errorf("versions[%d] is version %d", i, v.Version)
		}
	}
}

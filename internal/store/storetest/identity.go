package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// testModelIdentities: each identity a model answered as (reported model
// and fingerprint) is kept with its first and last sighting and its
// successful calls; failed calls and duplicates add nothing.
func testModelIdentities(t *testing.T, s Store) {
	ctx := context.Background()
	call := func(id string, at time.Duration, model, rm, fp string, status int) record.Record {
		r := minimal(id, base.Add(at))
		r.Provider, r.Model, r.ResponseModel, r.SystemFingerprint, r.Status = "openai", model, rm, fp, status
		return r
	}
	recs := []record.Record{
		call("a1", 0, "gpt-4o", "gpt-4o-2024-08-06", "fp_1", 200),
		call("a2", time.Hour, "gpt-4o", "gpt-4o-2024-08-06", "fp_1", 200),
		call("a3", 2*time.Hour, "gpt-4o", "gpt-4o-2024-11-20", "fp_2", 200), // the model changed
		call("a4", 3*time.Hour, "gpt-4o", "gpt-4o-2024-12-01", "fp_3", 500), // a failure: no identity
		call("b1", 30*time.Minute, "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "", 200),
		call("c1", 40*time.Minute, "plain", "", "", 200), // reports nothing
	}
	write(t, s, recs...)
	write(t, s, recs[:2]...) // duplicates
	write(t, s, call("a5", 5*time.Hour, "gpt-4o", "gpt-4o-2024-08-06", "fp_1", 200))

	got, err := s.ModelIdentities(ctx, store.IdentityQuery{})
	if err != nil {
		t.Fatal(err)
	}
	line := func(m store.ModelIdentity) string {
		return fmt.Sprintf("%s %s %s %s %s..%s %d", m.Provider, m.Model, m.ResponseModel, m.SystemFingerprint,
			m.FirstSeen.Sub(base), m.LastSeen.Sub(base), m.Calls)
	}
	want := []string{
		"openai gpt-4o gpt-4o-2024-08-06 fp_1 0s..5h0m0s 3",
		"openai gpt-4o gpt-4o-2024-11-20 fp_2 2h0m0s..2h0m0s 1",
		"openai gpt-4o-mini gpt-4o-mini-2024-07-18  30m0s..30m0s 1",
	}
	if len(got) != len(want) {
		t.Fatalf("identities %v", got)
	}
	for i := range want {
		if line(got[i]) != want[i] {
			t.Errorf("identity %d = %q, want %q", i, line(got[i]), want[i])
		}
	}
	// Filters: one model; a range that only the later identity reaches.
	if g, err := s.ModelIdentities(ctx, store.IdentityQuery{Provider: "openai", Model: "gpt-4o-mini"}); err != nil || len(g) != 1 {
		t.Errorf("one model: %v %v", g, err)
	}
	if g, err := s.ModelIdentities(ctx, store.IdentityQuery{From: base.Add(150 * time.Minute), To: base.Add(6 * time.Hour)}); err != nil || len(g) != 1 || g[0].SystemFingerprint != "fp_1" {
		t.Errorf("range: %v %v", g, err)
	}
}

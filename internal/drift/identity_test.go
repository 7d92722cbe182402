package drift

import (
	"fmt"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/store"
)

func TestIdentityEvents(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	id := func(model, rm, fp string, first, last int, calls int64) store.ModelIdentity {
		return store.ModelIdentity{Provider: "openai", Model: model, ResponseModel: rm, SystemFingerprint: fp, FirstSeen: h(first), LastSeen: h(last), Calls: calls}
	}
	got := IdentityEvents([]store.ModelIdentity{
		// gpt-4o: two fingerprints alternating from the start, then a new
		// model version from hour 50.
		id("gpt-4o", "gpt-4o-2024-08-06", "fp_a", 0, 49, 900),
		id("gpt-4o", "gpt-4o-2024-08-06", "fp_b", 0, 48, 850),
		id("gpt-4o", "gpt-4o-2024-11-20", "fp_c", 50, 90, 400),
		// mini: one identity only: no event.
		id("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "", 0, 90, 1000),
	})
	var lines []string
	for _, e := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s %s/%s -> %s/%s %d", e.Kind, e.Model, e.At.Sub(t0), e.Previous.ResponseModel, e.Previous.SystemFingerprint,
			e.Current.ResponseModel, e.Current.SystemFingerprint, e.Calls))
	}
	want := []string{
		// fp_b appeared with fp_a at hour 0: an event too, from the one
		// that appeared just before it.
		"model_identity gpt-4o 0s gpt-4o-2024-08-06/fp_a -> gpt-4o-2024-08-06/fp_b 850",
		"model_identity gpt-4o 50h0m0s gpt-4o-2024-08-06/fp_a -> gpt-4o-2024-11-20/fp_c 400",
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("events\n%v\nwant\n%v", lines, want)
	}
	if e := IdentityEvents(nil); len(e) != 0 {
		t.Errorf("no identities: %v", e)
	}
}

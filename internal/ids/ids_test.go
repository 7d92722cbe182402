package ids

import (
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	a, b := New("req_", t0), New("req_", t0.Add(time.Millisecond))
	if len(a) != 30 || !strings.HasPrefix(a, "req_") || strings.Trim(a[4:], alphabet) != "" {
		t.Errorf("id %q", a)
	}
	if a >= b {
		t.Errorf("ids do not sort by time: %s >= %s", a, b)
	}
	seen := map[string]bool{}
	for range 10000 {
		id := New("alt_", t0)
		if seen[id] {
			t.Fatalf("duplicate %s", id)
		}
		seen[id] = true
	}
	if n := testing.AllocsPerRun(100, func() { New("req_", t0) }); n != 1 && !raceEnabled {
		t.Errorf("%v allocations, want 1 (the string)", n)
	}
}

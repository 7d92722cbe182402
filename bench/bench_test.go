package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuick runs the whole harness in -quick mode. It takes 10-20 s and
// starts child processes, so it runs only with WEIR_BENCH=1.
func TestQuick(t *testing.T) {
	if os.Getenv("WEIR_BENCH") != "1" {
		t.Skip("set WEIR_BENCH=1 to run the load benchmark harness in -quick mode")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log strings.Builder
	if err := run(ctx, []string{"-quick", "-out", out}, &log); err != nil {
		t.Fatalf("bench -quick: %v\n%s", err, log.String())
	}
	t.Log(log.String())
	md, err := os.ReadFile(filepath.Join(out, "latest-quick.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a. non-streaming latency p50", "c. chunks coalesced", "d. weir peak RSS"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("latest-quick.md lacks %q:\n%s", want, md)
		}
	}
	jsons, _ := filepath.Glob(filepath.Join(out, "*-quick.json"))
	if len(jsons) != 1 {
		t.Errorf("want one results JSON in %s, got %v", out, jsons)
	}
}

func TestPercentile(t *testing.T) {
	s := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want int64
	}{{50, 5}, {90, 9}, {99, 10}, {100, 10}, {0, 1}, {10, 1}, {11, 2}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("percentile(%v) = %d, want %d", c.p, got, c.want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func TestSeedCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--calls", "600", "--days", "3", "--data", dir, "--quiet"}, &out, &errb); err != nil {
		t.Fatalf("seed: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "wrote 600 calls") {
		t.Errorf("output %q", out.String())
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tot, err := st.CostTotals(context.Background(), store.CostQuery{})
	if err != nil || len(tot) != 1 || tot[0].Calls != 600 || tot[0].PricedCalls < 550 {
		t.Errorf("stored %+v, %v", tot, err)
	}
	if err := run(context.Background(), []string{"seed", "--calls", "0"}, &out, &errb); err == nil {
		t.Error("--calls 0 accepted")
	}
}

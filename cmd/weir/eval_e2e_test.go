package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/app"
	"github.com/weirhq/weir/internal/config"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// TestEvalRunAgainstWeir runs `weir eval run` against a real Weir in front
// of the simulator, with the experiments API served as the app will serve
// it, twice: the second run resumes and calls nothing.
func TestEvalRunAgainstWeir(t *testing.T) {
	ctx := context.Background()
	sim := httptest.NewServer(mock.New(mock.Config{Seed: 3, Models: map[string]mock.Profile{
		"gpt-4o-mini": {OutputTokens: 3}, "gpt-4.1": {OutputTokens: 12}, "gpt-4o": {OutputTokens: 8}}}, nil))
	defer sim.Close()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Providers = []config.Provider{{Name: "sim", Type: "openai", BaseURL: sim.URL + "/v1", PriceAs: "openai"}}
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	weir := httptest.NewServer(a.Handler())
	defer func() { weir.Close(); a.Close(context.Background()) }()

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "exp.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	crit := criteria.New(criteria.Options{Store: st, People: st})
	ds := dataset.New(dataset.Options{Store: st})
	exp := experiment.New(experiment.Options{Store: st, Datasets: ds, Criteria: crit, Gateway: func() string { return weir.URL }})
	defer exp.Close()
	api := httptest.NewServer(exp.Handler())
	defer api.Close()
	for _, c := range []string{"short", "helpful"} {
		if _, err := crit.Put(ctx, c, criteria.Input{UseCase: "support", BusinessOwner: "alice", TechnicalOwner: "bob",
			Definition: &eval.Definition{Question: c + "?", Type: eval.Boolean}}, criteria.Actor{Name: "alice", Admin: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ds.Create(ctx, dataset.Dataset{Name: "qa", UseCase: "support"}, "alice"); err != nil {
		t.Fatal(err)
	}
	var items []dataset.Item
	for i := range 20 {
		items = append(items, dataset.Item{ID: fmt.Sprintf("q%02d", i), Messages: json.RawMessage(fmt.Sprintf(`[{"role":"user","content":"Question %d"}]`, i))})
	}
	if _, err := ds.AddItems(ctx, "qa", items, "", "alice"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "e.yaml")
	if err := os.WriteFile(file, []byte(experimentYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--url", api.URL, "--file", file, "--poll", "20ms",
		"--fail-if", "pass_rate(short, variant=mini) < 0.8", "--fail-if", "regression(short, baseline=mini, candidate=large) > 0.05"}
	var out, errOut bytes.Buffer
	err = evalCommand(ctx, args, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 --fail-if conditions hold") {
		t.Errorf("err = %v\n%s\n%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"done, 40/40 runs", "100.0%", "large worse on short: q00, q01", "and 10 more",
		"ok   --fail-if pass_rate(short, variant=mini) < 0.8", "FAIL --fail-if regression(short, baseline=mini, candidate=large) > 0.05: regression 1.0000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`short@1\s+mini\s+20\s+0\s+1\.000\s+100\.0%`).MatchString(out.String()) {
		t.Errorf("no pass rate line of short under mini")
	}
	if testing.Verbose() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if err := evalCommand(ctx, args[:len(args)-2], &out, &errOut); err != nil {
		t.Errorf("second run: %v", err)
	}
	if !strings.Contains(errOut.String(), "resuming") || !strings.Contains(out.String(), "done, 40/40 runs") {
		t.Errorf("second run:\n%s\n%s", out.String(), errOut.String())
	}
}

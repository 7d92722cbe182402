package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// evalAddCalls adds recorded calls to a dataset through a running Weir's
// API (POST /api/v1/datasets/{name}/items/from-calls): each becomes an item
// linked to its call, in one new dataset version.
func evalAddCalls(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval add-calls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", envOr("WEIR_URL", "http://127.0.0.1:8080"), "Weir's base URL (env WEIR_URL)")
	token := fs.String("token", os.Getenv("WEIR_TOKEN"), "management token with evals.write (env WEIR_TOKEN)")
	name := fs.String("dataset", "", "the dataset (required)")
	expected := fs.Bool("expected", false, "keep each call's response as the item's expected output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ids := fs.Args()
	if *name == "" || len(ids) == 0 {
		return errors.New("usage: weir eval add-calls --dataset NAME [--expected] [--url U] [--token T] CALL_ID...   (- reads the ids from standard input, one a line)")
	}
	if len(ids) == 1 && ids[0] == "-" {
		raw, err := io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
		if err != nil {
			return fmt.Errorf("eval add-calls: %w", err)
		}
		ids = strings.Fields(string(raw))
	}
	body, _ := json.Marshal(map[string]any{"call_ids": ids, "expected_from_response": *expected})
	c := &apiClient{base: strings.TrimRight(*base, "/"), token: *token, http: &http.Client{Timeout: 60 * time.Second}}
	var out struct {
		Version int `json:"version"`
		Items   int `json:"items"`
	}
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodPost, "/api/v1/datasets/"+url.PathEscape(*name)+"/items/from-calls", body, &raw); err != nil {
		return fmt.Errorf("eval add-calls: %w", err)
	}
	json.Unmarshal(raw, &out)
	fmt.Fprintf(stdout, "added %d calls to dataset %s: version %d, %d items\n", len(ids), *name, out.Version, out.Items)
	return nil
}

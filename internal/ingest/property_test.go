package ingest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// genBatch returns a random batch: valid events whose content depends only
// on their (provider, id) key, so that the same key sent twice is the same
// event, some keys repeated, and a few invalid events.
func genBatch(r *rand.Rand) []string {
	providers := []string{"openai", "anthropic", "azure", "claude", "local", "oai-eu"}
	var out []string
	for range 1 + r.IntN(40) {
		if r.IntN(8) == 0 {
			out = append(out, invalidEvent(r))
			continue
		}
		key := fmt.Sprintf("%s/%d", providers[r.IntN(len(providers))], r.IntN(12))
		out = append(out, keyedEvent(key))
	}
	return out
}

// keyedEvent returns the one event of a key.
func keyedEvent(key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	r := rand.New(rand.NewPCG(h.Sum64(), 7))
	provider, id, _ := strings.Cut(key, "/")
	m := map[string]any{
		"id":          "resp_" + id,
		"provider":    provider,
		"model":       []string{"gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b-instruct"}[r.IntN(4)],
		"received_at": fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02d.%03dZ", 1+r.IntN(10), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000)),
	}
	in, out := int64(r.IntN(100000)), int64(r.IntN(5000))
	switch r.IntN(4) {
	case 0:
		m["usage"] = map[string]any{"input_tokens": in, "cache_read_tokens": in / 2, "cache_write_tokens": in / 4, "output_tokens": out, "reasoning_tokens": out / 3}
	case 1:
		m["openai_usage"] = map[string]any{"prompt_tokens": in, "completion_tokens": out, "prompt_tokens_details": map[string]any{"cached_tokens": in / 3}}
	case 2:
		m["anthropic_usage"] = map[string]any{"input_tokens": in, "output_tokens": out, "cache_read_input_tokens": in * 2}
	case 3:
		m["status"] = []int{400, 429, 500, 503}[r.IntN(4)]
		m["error_message"] = "upstream said no"
	}
	if r.IntN(2) == 0 {
		m["stream"] = true
		ttft := float64(r.IntN(2000))
		m["ttft_ms"], m["ttfct_ms"], m["e2e_ms"] = ttft, ttft+float64(r.IntN(500)), ttft+500+float64(r.IntN(20000))
	} else if r.IntN(2) == 0 {
		m["e2e_ms"] = float64(r.IntN(30000)) + 0.25
	}
	if r.IntN(2) == 0 {
		m["use_case"], m["team"], m["tags"] = "batch-summaries", "data", []string{"nightly", "v2"}
		m["properties"] = map[string]any{"job": id}
	}
	if r.IntN(3) == 0 {
		m["no_log"] = true
	}
	m["request"] = map[string]any{"messages": []any{map[string]string{"role": "user", "content": strings.Repeat("é", r.IntN(20))}}}
	m["response"] = strings.Repeat("ok ", r.IntN(10))
	b, _ := json.Marshal(m)
	return string(b)
}

func invalidEvent(r *rand.Rand) string {
	return []string{
		`{"id": "bad"}`,
		ev(map[string]any{"id": "bad", "provider": "acme"}),
		ev(map[string]any{"id": "bad", "received_at": "2030-01-01T00:00:00Z"}),
		`"not an event"`,
	}[r.IntN(4)]
}

func batchBody(events []string) string {
	return `{"events": [` + strings.Join(events, ",") + `]}`
}

// TestResendNeverChangesRecords checks, over random batches, that once a
// batch is stored, re-sending any permutation of any subset of it (with
// repeats) stores nothing and changes no record, and that storing any
// permutation of it in an empty store gives the same records.
func TestResendNeverChangesRecords(t *testing.T) {
	seeds := 25
	if testing.Short() {
		seeds = 5
	}
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 1))
		batch := genBatch(r)
		f := newFixture(t, nil)
		code, first, msg := f.post(t, batchBody(batch))
		if code != http.StatusOK {
			t.Fatalf("seed %d: %d %s", seed, code, msg)
		}
		want := f.all(t)
		if len(want) != first.Stored {
			t.Fatalf("seed %d: %d records for %d stored", seed, len(want), first.Stored)
		}
		for range 8 {
			var sub []string
			for _, k := range r.Perm(len(batch)) {
				if r.IntN(3) > 0 {
					sub = append(sub, batch[k])
				}
				if r.IntN(6) == 0 {
					sub = append(sub, batch[k])
				}
			}
			if len(sub) == 0 {
				continue
			}
			_, resp, _ := f.post(t, batchBody(sub))
			if resp.Stored != 0 {
				t.Errorf("seed %d: resending a subset stored %d records", seed, resp.Stored)
			}
			if d := cmp.Diff(want, f.all(t)); d != "" {
				t.Fatalf("seed %d: records changed by a resend (-before +after):\n%s", seed, d)
			}
		}
		// Any order into an empty store gives the same records.
		perm := make([]string, len(batch))
		for k, p := range r.Perm(len(batch)) {
			perm[k] = batch[p]
		}
		g := newFixture(t, nil)
		g.post(t, batchBody(perm))
		if d := cmp.Diff(want, g.all(t)); d != "" {
			t.Fatalf("seed %d: another order stored other records (-first +permuted):\n%s", seed, d)
		}
	}
}

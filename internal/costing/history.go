package costing

import (
	"context"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// OutputHistory learns each model's typical output length from the calls
// recorded over a trailing window, for pre-call estimates. Answers are
// cached per model for a minute, so estimates stay cheap under load.
type OutputHistory struct {
	Cost store.CostReader
	// Window is how far back to look (default 7 days); MinCalls the calls
	// needed before history is trusted over the default (default 20).
	Window   time.Duration
	MinCalls int64
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]typical
}

// maxCached bounds the models whose typical output is cached.
const maxCached = 4096

type typical struct {
	tokens, calls int64
	at            time.Time
}

// TypicalOutput returns the mean output tokens of the model's calls that
// reached a provider in the window (model as sent upstream), and how many
// calls that is; ok is false when there are fewer than MinCalls.
func (h *OutputHistory) TypicalOutput(ctx context.Context, model string) (tokens, calls int64, ok bool) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	window, minCalls := h.Window, h.MinCalls
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	if minCalls <= 0 {
		minCalls = 20
	}
	key := model // the store matches models exactly
	t := now()
	h.mu.Lock()
	c, hit := h.cache[key]
	h.mu.Unlock()
	if !hit || t.Sub(c.at) > time.Minute {
		c = typical{at: t}
		rows, err := h.Cost.CostTotals(ctx, store.CostQuery{From: t.Add(-window), To: t.Add(time.Second), Model: model})
		if err != nil {
			return 0, 0, false // an estimate falls back to the default
		}
		for _, r := range rows {
			if reached := r.PricedCalls + r.UnpricedCalls; reached > 0 {
				c.calls, c.tokens = reached, r.OutputTokens/reached
			}
		}
		h.mu.Lock()
		if h.cache == nil || len(h.cache) >= maxCached {
			h.cache = map[string]typical{} // callers name models: bound the cache
		}
		h.cache[key] = c
		h.mu.Unlock()
	}
	return c.tokens, c.calls, c.calls >= minCalls
}

package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
)

// PriceEntry is one catalog entry with its provider and source: "public"
// (the built-in catalog) or the overlay holding it ("api", "config", or
// the overlay file's name).
type PriceEntry = pricing.Listed

// PriceList is the answer of GET /api/v1/prices.
type PriceList struct {
	CatalogVersion string       `json:"catalog_version"`
	Entries        []PriceEntry `json:"entries"`
}

// Prices lists the catalog's entries in precedence order (overlays first),
// filtered by provider and by a model name the entry matches (exact or
// prefix, case-insensitive). With a model and a time, only the entry in
// force then is listed: what Weir would use.
func Prices(cat *pricing.Catalog, provider, model string, at *time.Time) PriceList {
	out := PriceList{CatalogVersion: cat.Version(), Entries: []PriceEntry{}}
	if model != "" && provider != "" && at != nil {
		cost, err := cat.Price(pricing.Query{Provider: provider, Model: model, At: *at})
		if err != nil || cost.EntryID == "" {
			return out
		}
		if l, ok := cat.EntryByID(cost.EntryID); ok {
			out.Entries = append(out.Entries, l)
		}
		return out
	}
	m := strings.ToLower(model)
	for _, l := range cat.Entries() {
		if provider != "" && l.Provider != provider {
			continue
		}
		if m != "" && !matches(l.Match, m) {
			continue
		}
		out.Entries = append(out.Entries, l)
	}
	return out
}

func matches(mt pricing.Match, model string) bool {
	for _, x := range mt.Exact {
		if strings.EqualFold(x, model) {
			return true
		}
	}
	for _, p := range mt.Prefix {
		if strings.HasPrefix(model, strings.ToLower(p)) {
			return true
		}
	}
	return false
}

func (a *API) listPrices(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	for k := range v {
		if k != "provider" && k != "model" && k != "at" {
			writeErr(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown parameter %q (provider, model, at)", k))
			return
		}
	}
	var at *time.Time
	if s := v.Get("at"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			writeErr(w, http.StatusBadRequest, "invalid_query", "at: "+err.Error())
			return
		}
		at = &t
	}
	if a.opt.Catalog == nil {
		writeErr(w, http.StatusNotFound, "not_found", "no price catalog is loaded")
		return
	}
	writeJSON(w, http.StatusOK, Prices(a.opt.Catalog(), v.Get("provider"), v.Get("model"), at))
}

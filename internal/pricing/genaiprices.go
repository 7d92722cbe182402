package pricing

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"slices"
	"sort"
	"strings"
)

// ImportReport lists what an import could not express in Weir's format.
type ImportReport struct {
	// Models is the number of models imported as entries.
	Models int
	// Skipped lists "provider/model: reason" for each model, price period or
	// match rule left out.
	Skipped []string
}

// genaiProvider is one provider of the genai-prices v1 JSON (data.json or
// data_slim.json), reduced to the fields the importer reads.
type genaiProvider struct {
	ID         string       `json:"id"`
	PricingURL []string     `json:"pricing_urls"`
	Models     []genaiModel `json:"models"`
}

type genaiModel struct {
	ID     string          `json:"id"`
	Match  json.RawMessage `json:"match"`
	Prices json.RawMessage `json:"prices"`
}

type genaiMatch struct {
	Equals     *string      `json:"equals"`
	StartsWith *string      `json:"starts_with"`
	Or         []genaiMatch `json:"or"`
	// Rules Weir does not express.
	EndsWith *string      `json:"ends_with"`
	Contains *string      `json:"contains"`
	Regex    *string      `json:"regex"`
	And      []genaiMatch `json:"and"`
}

type genaiPeriod struct {
	Constraint *struct {
		StartDate *string `json:"start_date"`
		StartTime *string `json:"start_time"`
		EndTime   *string `json:"end_time"`
	} `json:"constraint"`
	Prices map[string]json.RawMessage `json:"prices"`
}

type genaiTiered struct {
	Base  json.Number `json:"base"`
	Tiers []struct {
		Start int64       `json:"start"`
		Price json.Number `json:"price"`
	} `json:"tiers"`
}

// genaiProviderIDs maps genai-prices provider ids to Weir's.
var genaiProviderIDs = map[string]string{"aws": "bedrock", "x-ai": "xai"}

// ImportGenAIPrices reads the genai-prices v1 JSON format (an array of
// providers, as in data_slim.json) into one sheet per provider Weir knows.
// Exact ("equals") and prefix ("starts_with") match rules are kept;
// contains, ends_with, regex and "and" rules, time-of-day price periods and
// providers Weir does not know are left out and listed in the report.
func ImportGenAIPrices(r io.Reader) ([]Sheet, ImportReport, error) {
	var rep ImportReport
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var provs []genaiProvider
	if err := dec.Decode(&provs); err != nil {
		return nil, rep, fmt.Errorf("import genai-prices: %w", err)
	}
	var sheets []Sheet
	for _, gp := range provs {
		pid := gp.ID
		if m, ok := genaiProviderIDs[pid]; ok {
			pid = m
		}
		if !slices.Contains(KnownProviders, pid) {
			rep.Skipped = append(rep.Skipped, gp.ID+": provider unknown to Weir")
			continue
		}
		s := Sheet{Provider: pid}
		for _, u := range gp.PricingURL {
			s.Sources = append(s.Sources, Source{URL: u, Checked: "imported from genai-prices"})
		}
		keys := map[string]bool{}
		for _, gm := range gp.Models {
			skip := func(why string) { rep.Skipped = append(rep.Skipped, gp.ID+"/"+gm.ID+": "+why) }
			var m genaiMatch
			if err := json.Unmarshal(gm.Match, &m); err != nil {
				return nil, rep, fmt.Errorf("import genai-prices: %s/%s: match: %w", gp.ID, gm.ID, err)
			}
			var match Match
			var dropped []string
			collectMatch(m, &match, &dropped)
			for _, d := range dropped {
				skip("match rule " + d + " not expressible")
			}
			// Two models must not claim the same key.
			match.Exact = dedupe(match.Exact, keys, "=")
			match.Prefix = dedupe(match.Prefix, keys, "^")
			if len(match.Exact)+len(match.Prefix) == 0 {
				skip("no exact or prefix match rule left")
				continue
			}
			periods, err := genaiPeriods(gm.Prices)
			if err != nil {
				return nil, rep, fmt.Errorf("import genai-prices: %s/%s: %w", gp.ID, gm.ID, err)
			}
			n := 0
			for _, p := range periods {
				e := Entry{ID: pid + "/" + gm.ID, Match: match}
				if c := p.Constraint; c != nil {
					if c.StartTime != nil || c.EndTime != nil {
						skip("time-of-day price period")
						continue
					}
					if c.StartDate != nil {
						t, err := parseDate(*c.StartDate)
						if err != nil {
							return nil, rep, fmt.Errorf("import genai-prices: %s/%s: %w", gp.ID, gm.ID, err)
						}
						e.From = DateOf(t)
						e.ID += "@" + *c.StartDate
					}
				}
				if err := genaiPrices(p.Prices, &e, skip); err != nil {
					skip(err.Error())
					continue
				}
				if e.Prices == (Prices{}) {
					skip("no token prices")
					continue
				}
				s.Entries = append(s.Entries, e)
				n++
			}
			if n > 0 {
				rep.Models++
			}
		}
		sheets = append(sheets, s)
	}
	return sheets, rep, nil
}

func dedupe(keys []string, seen map[string]bool, kind string) []string {
	var out []string
	for _, k := range keys {
		k = strings.ToLower(k)
		if !seen[kind+k] && !slices.Contains(out, k) {
			seen[kind+k] = true
			out = append(out, k)
		}
	}
	return out
}

func collectMatch(m genaiMatch, out *Match, dropped *[]string) {
	switch {
	case m.Equals != nil:
		out.Exact = append(out.Exact, *m.Equals)
	case m.StartsWith != nil:
		out.Prefix = append(out.Prefix, *m.StartsWith)
	case m.Or != nil:
		for _, c := range m.Or {
			collectMatch(c, out, dropped)
		}
	case m.Contains != nil:
		*dropped = append(*dropped, "contains "+*m.Contains)
	case m.EndsWith != nil:
		*dropped = append(*dropped, "ends_with "+*m.EndsWith)
	case m.Regex != nil:
		*dropped = append(*dropped, "regex "+*m.Regex)
	default:
		*dropped = append(*dropped, "and")
	}
}

func genaiPeriods(raw json.RawMessage) ([]genaiPeriod, error) {
	if len(raw) > 0 && raw[0] == '[' {
		var ps []genaiPeriod
		if err := json.Unmarshal(raw, &ps); err != nil {
			return nil, fmt.Errorf("prices: %w", err)
		}
		return ps, nil
	}
	var p genaiPeriod
	if err := json.Unmarshal(raw, &p.Prices); err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	return []genaiPeriod{p}, nil
}

// genaiPrices fills e's prices, tiers and fees from one genai price set.
func genaiPrices(ps map[string]json.RawMessage, e *Entry, skip func(string)) error {
	fields := map[string]func(*Prices) **Decimal{
		"input_mtok":        func(p *Prices) **Decimal { return &p.Input },
		"output_mtok":       func(p *Prices) **Decimal { return &p.Output },
		"cache_read_mtok":   func(p *Prices) **Decimal { return &p.CacheRead },
		"cache_write_mtok":  func(p *Prices) **Decimal { return &p.CacheWrite },
		"input_audio_mtok":  func(p *Prices) **Decimal { return &p.InputAudio },
		"output_audio_mtok": func(p *Prices) **Decimal { return &p.OutputAudio },
		"input_image_mtok":  func(p *Prices) **Decimal { return &p.InputImage },
		"output_image_mtok": func(p *Prices) **Decimal { return &p.OutputImage },
	}
	type tierPrice struct {
		start int64
		price Decimal
	}
	tiered := map[string][]tierPrice{}
	starts := map[int64]bool{}
	names := make([]string, 0, len(ps))
	for k := range ps {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		raw := ps[k]
		if k == "requests_kcount" {
			d, err := genaiNumber(json.Number(strings.TrimSpace(string(raw))))
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			e.Fees.Requests = &d
			continue
		}
		f, ok := fields[k]
		if !ok {
			skip("price " + k + " not imported")
			continue
		}
		if len(raw) > 0 && raw[0] == '{' {
			var t genaiTiered
			if err := json.Unmarshal(raw, &t); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			base, err := genaiNumber(t.Base)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			*f(&e.Prices) = &base
			for _, tr := range t.Tiers {
				d, err := genaiNumber(tr.Price)
				if err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
				tiered[k] = append(tiered[k], tierPrice{tr.Start, d})
				starts[tr.Start] = true
			}
			continue
		}
		d, err := genaiNumber(json.Number(strings.TrimSpace(string(raw))))
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		*f(&e.Prices) = &d
	}
	// genai-prices tiers each price apart; Weir tiers the whole entry. At
	// each start, a price takes its highest tier at or below that start.
	var ss []int64
	for s := range starts {
		ss = append(ss, s)
	}
	slices.Sort(ss)
	for _, s := range ss {
		t := Tier{Above: s}
		for k, list := range tiered {
			for _, tp := range list {
				if tp.start <= s {
					d := tp.price
					*fields[k](&t.Prices) = &d
				}
			}
		}
		e.Tiers = append(e.Tiers, t)
	}
	return nil
}

// genaiNumber converts a JSON number (possibly with an exponent) exactly.
func genaiNumber(n json.Number) (Decimal, error) {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || r.Sign() < 0 {
		return 0, fmt.Errorf("invalid price %q", n)
	}
	r.Mul(r, big.NewRat(1e9, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("price %q is not a whole number of nano-dollars", n)
	}
	return Decimal(r.Num().Int64()), nil
}

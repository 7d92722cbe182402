package pricing

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Catalog is an indexed, validated set of sheets. It is immutable and safe
// for concurrent use.
type Catalog struct {
	version   string // base version, then "+name" per overlay
	base      string // the public catalog's version
	sheets    []Sheet
	overlays  []Overlay
	providers map[string]*providerIndex
}

type providerIndex struct {
	name     string
	strip    []string
	inherits []*providerIndex
	batch    int64 // ppm, 0 = none
	tiers    []tierMult
	discount int64 // ppm applied to public entries, million = none
	idMults  []idMult
	// layers are searched in order: one per overlay, in precedence order,
	// then the public sheet last.
	layers  []matchIndex
	aliases map[string][]alias
}

type idMult struct {
	prefixes, models []string // lower case
	ppm              int64
}

// idMultiplier returns the multiplier of the first rule whose prefix the
// model id as sent has and whose model the stripped id has.
func (p *providerIndex) idMultiplier(model string) int64 {
	if len(p.idMults) == 0 {
		return million
	}
	stripped := model
	for _, s := range p.strip {
		if hasPrefixFold(stripped, s) {
			stripped = stripped[len(s):]
		}
	}
	for i := range p.idMults {
		r := &p.idMults[i]
		if anyPrefixFold(model, r.prefixes) && (len(r.models) == 0 || anyPrefixFold(stripped, r.models)) {
			return r.ppm
		}
	}
	return million
}

func anyPrefixFold(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if hasPrefixFold(s, p) {
			return true
		}
	}
	return false
}

type tierMult struct {
	name string
	ppm  int64
}

type alias struct {
	from     int64
	target   string
	provider *providerIndex
}

type matchIndex struct {
	exact    map[string][]*entry
	prefixes []prefixRule // longest first
}

type prefixRule struct {
	prefix  string
	entries []*entry
}

// entry is an Entry compiled for the hot path.
type entry struct {
	id         string
	from       int64 // unix seconds; math.MinInt64 for always
	until      int64 // unix seconds, exclusive; math.MaxInt64 for never
	base       priceSet
	tiers      []priceTier
	batch      int64 // ppm, 0 = the provider's
	svc        []tierMult
	svcPrices  []tierPrices
	offPeak    *offPeak
	negotiated bool
}

// offPeak is an OffPeak compiled: windows in minutes of the week.
type offPeak struct {
	ppm      int64
	windows  []peakWindow
	holidays []int64 // Unix days
}

type peakWindow struct {
	days     uint8 // bit per time.Weekday
	from, to int   // minutes of the day
}

// peak reports whether t (Unix seconds) falls in a peak window.
func (o *offPeak) peak(t int64) bool {
	day := t / 86400
	if t < 0 && t%86400 != 0 {
		day--
	}
	for _, h := range o.holidays {
		if h == day {
			return false
		}
	}
	wd := time.Weekday((day + 4) % 7) // 1970-01-01 was a Thursday
	if wd < 0 {
		wd += 7
	}
	min := int((t - day*86400) / 60)
	for _, w := range o.windows {
		if w.days&(1<<wd) != 0 && min >= w.from && min < w.to {
			return true
		}
	}
	return false
}

func compileOffPeak(o *OffPeak) *offPeak {
	if o == nil {
		return nil
	}
	c := &offPeak{ppm: o.Multiplier.ppm()}
	for _, w := range o.Peak {
		from, _ := minutes(w.From)
		to, _ := minutes(w.To)
		pw := peakWindow{from: from, to: to}
		if len(w.Days) == 0 {
			pw.days = 0x7f
		}
		for _, d := range w.Days {
			pw.days |= 1 << weekdays[strings.ToLower(d)]
		}
		c.windows = append(c.windows, pw)
	}
	for _, h := range o.Holidays {
		c.holidays = append(c.holidays, h.Unix()/86400)
	}
	return c
}

type tierPrices struct {
	name   string
	prices priceSet
}

type priceTier struct {
	above  int64
	prices priceSet
}

// priceSet is a price vector in femto-dollars per token (nano-dollars per
// million tokens), fees in femto-dollars per unit; has marks present ones.
type priceSet struct {
	p   [numPrices]Price
	has uint16
}

const (
	pInput = iota
	pCacheRead
	pCacheWrite
	pCacheWrite1h
	pOutput
	pReasoning
	pInputAudio
	pOutputAudio
	pInputImage
	pOutputImage
	pFeeRequest
	pFeeWebSearch
	pFeeImage
	pFeeAudioSecond
	numPrices
)

func (s *priceSet) set(i int, d *Decimal, fee bool) {
	if d == nil {
		return
	}
	v := Price(*d)
	if fee {
		v *= 1000 // nano-dollars per 1,000 units -> femto-dollars per unit
	}
	s.p[i] = v
	s.has |= 1 << i
}

func (s *priceSet) ok(i int) bool { return s.has&(1<<i) != 0 }

func compilePrices(p Prices, f Fees) priceSet {
	var s priceSet
	s.set(pInput, p.Input, false)
	s.set(pCacheRead, p.CacheRead, false)
	s.set(pCacheWrite, p.CacheWrite, false)
	s.set(pCacheWrite1h, p.CacheWrite1h, false)
	s.set(pOutput, p.Output, false)
	s.set(pReasoning, p.Reasoning, false)
	s.set(pInputAudio, p.InputAudio, false)
	s.set(pOutputAudio, p.OutputAudio, false)
	s.set(pInputImage, p.InputImage, false)
	s.set(pOutputImage, p.OutputImage, false)
	s.set(pFeeRequest, f.Requests, true)
	s.set(pFeeWebSearch, f.WebSearches, true)
	s.set(pFeeImage, f.Images, true)
	s.set(pFeeAudioSecond, f.AudioSeconds, true)
	return s
}

// overlayOn returns base with the prices present in o replacing its own.
func (base priceSet) overlayOn(o priceSet) priceSet {
	for i := range numPrices {
		if o.ok(i) {
			base.p[i] = o.p[i]
			base.has |= 1 << i
		}
	}
	return base
}

// New validates sheets together and indexes them. version names the
// catalog in every Cost.
func New(version string, sheets ...Sheet) (*Catalog, error) {
	return build(version, sheets, nil)
}

// Version is the catalog version, with each overlay's name after a "+".
func (c *Catalog) Version() string { return c.version }

// Sheets returns the public sheets the catalog was built from.
func (c *Catalog) Sheets() []Sheet { return c.sheets }

func build(version string, sheets []Sheet, ovs []Overlay) (*Catalog, error) {
	if version == "" {
		return nil, fmt.Errorf("price catalog: empty version")
	}
	c := &Catalog{version: version, base: version, sheets: sheets, overlays: ovs, providers: map[string]*providerIndex{}}
	for _, ov := range ovs {
		c.version += "+" + ov.Name
	}
	public := len(ovs) // the public sheets' layer
	ids := map[string]bool{}
	get := func(name string) *providerIndex {
		p := c.providers[name]
		if p == nil {
			p = &providerIndex{name: name, discount: million, aliases: map[string][]alias{}, layers: make([]matchIndex, public+1)}
			for i := range p.layers {
				p.layers[i].exact = map[string][]*entry{}
			}
			c.providers[name] = p
		}
		return p
	}
	add := func(s *Sheet, layer int) error {
		if err := s.validate(); err != nil {
			return fmt.Errorf("price sheet %s: %w", s.Provider, err)
		}
		p := get(s.Provider)
		for _, e := range s.Entries {
			if ids[e.ID] {
				return fmt.Errorf("price sheet %s: duplicate entry id %s", s.Provider, e.ID)
			}
			ids[e.ID] = true
			p.layers[layer].addKeys(compileEntry(&e, layer < public), e.Match)
		}
		return nil
	}
	seen := map[string]bool{}
	for i := range sheets {
		s := &sheets[i]
		if seen[s.Provider] {
			return nil, fmt.Errorf("price catalog: two sheets for provider %s", s.Provider)
		}
		seen[s.Provider] = true
		if err := add(s, public); err != nil {
			return nil, err
		}
		p := get(s.Provider)
		p.strip = s.StripPrefixes
		if s.Batch != nil {
			p.batch = s.Batch.ppm()
		}
		p.tiers = compileTiers(s.ServiceTiers)
		for _, im := range s.IDMultipliers {
			r := idMult{ppm: im.Multiplier.ppm()}
			for _, x := range im.Prefixes {
				r.prefixes = append(r.prefixes, strings.ToLower(x))
			}
			for _, x := range im.Models {
				r.models = append(r.models, strings.ToLower(x))
			}
			p.idMults = append(p.idMults, r)
		}
	}
	// Overlays in reverse precedence, so that the first one's discount for
	// a provider is the one that stays.
	names := map[string]bool{}
	for layer := len(ovs) - 1; layer >= 0; layer-- {
		ov := &ovs[layer]
		if ov.Name == "" || strings.ContainsAny(ov.Name, "+ ") || names[ov.Name] {
			return nil, fmt.Errorf("overlay %q: a unique name without spaces or '+' is required", ov.Name)
		}
		names[ov.Name] = true
		for i := range ov.Sheets {
			sh := &ov.Sheets[i]
			if len(sh.StripPrefixes)+len(sh.Inherits)+len(sh.ServiceTiers)+len(sh.IDMultipliers)+len(sh.Aliases) > 0 || sh.Batch != nil {
				return nil, fmt.Errorf("overlay %s: sheet %s: strip_prefixes, inherits, batch, service_tiers, id_multipliers and aliases belong to the public sheets; give an overlay entry its own batch or service_tiers", ov.Name, sh.Provider)
			}
			if err := add(sh, layer); err != nil {
				return nil, fmt.Errorf("overlay %s: %w", ov.Name, err)
			}
		}
		for prov, d := range ov.Discounts {
			if !slices.Contains(KnownProviders, prov) {
				return nil, fmt.Errorf("overlay %s: discount for unknown provider %q", ov.Name, prov)
			}
			if d.ppm() >= million || int64(d)%1000 != 0 {
				return nil, fmt.Errorf("overlay %s: discount %s for %s must be below 1 with at most 6 decimals", ov.Name, d, prov)
			}
			get(prov).discount = million - d.ppm()
		}
	}
	// Second pass: inherits and aliases refer to other providers.
	for i := range sheets {
		s := &sheets[i]
		p := c.providers[s.Provider]
		for _, name := range s.Inherits {
			q := c.providers[name]
			if q == nil {
				return nil, fmt.Errorf("price sheet %s: inherits %s, which has no sheet", s.Provider, name)
			}
			p.inherits = append(p.inherits, q)
		}
		for _, a := range s.Aliases {
			tp := p
			if a.Provider != "" {
				if tp = c.providers[a.Provider]; tp == nil {
					return nil, fmt.Errorf("price sheet %s: alias %s: provider %s has no sheet", s.Provider, a.Alias, a.Provider)
				}
			}
			from := int64(math.MinInt64)
			if a.From != nil {
				from = a.From.Unix()
			}
			if tp.findEntry(a.Target, math.MaxInt64-1) == nil && tp.findEntry(a.Target, from) == nil {
				return nil, fmt.Errorf("price sheet %s: alias %s: target %s matches no entry", s.Provider, a.Alias, a.Target)
			}
			key := strings.ToLower(a.Alias)
			list := append(p.aliases[key], alias{from: from, target: a.Target, provider: tp})
			sort.SliceStable(list, func(i, j int) bool { return list[i].from < list[j].from })
			for j := 1; j < len(list); j++ {
				if list[j].from == list[j-1].from {
					return nil, fmt.Errorf("price sheet %s: alias %s: two targets from the same date", s.Provider, a.Alias)
				}
			}
			p.aliases[key] = list
		}
	}
	for _, p := range c.providers {
		for i := range p.layers {
			if err := p.layers[i].finish(); err != nil {
				return nil, fmt.Errorf("price sheet %s: %w", p.name, err)
			}
		}
	}
	return c, nil
}

func compileTiers(m map[string]Decimal) []tierMult {
	var out []tierMult
	for name, d := range m {
		out = append(out, tierMult{name: strings.ToLower(name), ppm: d.ppm()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func compileEntry(e *Entry, negotiated bool) *entry {
	ce := &entry{id: e.ID, from: math.MinInt64, until: math.MaxInt64, negotiated: negotiated}
	if e.From != nil {
		ce.from = e.From.Unix()
	}
	if e.Until != nil {
		ce.until = e.Until.Unix()
	}
	ce.base = compilePrices(e.Prices, e.Fees)
	for _, t := range e.Tiers {
		ce.tiers = append(ce.tiers, priceTier{above: t.Above, prices: ce.base.overlayOn(compilePrices(t.Prices, Fees{}))})
	}
	if e.Batch != nil {
		ce.batch = e.Batch.ppm()
	}
	ce.svc = compileTiers(e.ServiceTiers)
	for name, p := range e.ServiceTierPrices {
		ce.svcPrices = append(ce.svcPrices, tierPrices{name: strings.ToLower(name), prices: ce.base.overlayOn(compilePrices(p, Fees{}))})
	}
	sort.Slice(ce.svcPrices, func(i, j int) bool { return ce.svcPrices[i].name < ce.svcPrices[j].name })
	ce.offPeak = compileOffPeak(e.OffPeak)
	return ce
}

// addKeys files e under each of its match keys.
func (m *matchIndex) addKeys(e *entry, match Match) {
	for _, k := range match.Exact {
		k = strings.ToLower(k)
		m.exact[k] = append(m.exact[k], e)
	}
	for _, k := range match.Prefix {
		k = strings.ToLower(k)
		i := slices.IndexFunc(m.prefixes, func(r prefixRule) bool { return r.prefix == k })
		if i < 0 {
			m.prefixes = append(m.prefixes, prefixRule{prefix: k})
			i = len(m.prefixes) - 1
		}
		m.prefixes[i].entries = append(m.prefixes[i].entries, e)
	}
}

// finish sorts entries by start and rejects overlapping periods for a key.
func (m *matchIndex) finish() error {
	check := func(key string, es []*entry) error {
		sort.SliceStable(es, func(i, j int) bool { return es[i].from < es[j].from })
		for i := 1; i < len(es); i++ {
			if es[i].from == es[i-1].from || es[i-1].until > es[i].from && es[i-1].until != math.MaxInt64 {
				return fmt.Errorf("entries %s and %s overlap in time for model %s", es[i-1].id, es[i].id, key)
			}
		}
		return nil
	}
	for k, es := range m.exact {
		if err := check(k, es); err != nil {
			return err
		}
	}
	for _, r := range m.prefixes {
		if err := check(r.prefix+"*", r.entries); err != nil {
			return err
		}
	}
	sort.SliceStable(m.prefixes, func(i, j int) bool { return len(m.prefixes[i].prefix) > len(m.prefixes[j].prefix) })
	return nil
}

// at returns the entry of es in force at t: the latest started one, unless
// it has ended. An entry's until ends the price of its models (a model
// retired): the entry it superseded does not come back. A temporary price
// is written as the temporary entry and a new one from its end.
func at(es []*entry, t int64) *entry {
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].from <= t {
			if t < es[i].until {
				return es[i]
			}
			return nil
		}
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// lower returns s lowercased into buf when it has ASCII capitals, else s.
// The caller uses the result only for map lookups, which do not allocate.
func lower(s string, buf *[128]byte) ([]byte, bool) {
	up := false
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			up = true
			break
		}
	}
	if !up {
		return nil, false
	}
	if len(s) > len(buf) { // rare: ids this long allocate
		return []byte(strings.ToLower(s)), true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(s)], true
}

func (m *matchIndex) find(model string, low []byte, t int64) *entry {
	var es []*entry
	if low != nil {
		es = m.exact[string(low)]
	} else {
		es = m.exact[model]
	}
	if e := at(es, t); e != nil {
		return e
	}
	for i := range m.prefixes {
		if hasPrefixFold(model, m.prefixes[i].prefix) {
			if e := at(m.prefixes[i].entries, t); e != nil {
				return e
			}
		}
	}
	return nil
}

// findEntry resolves model at t: strip prefixes, aliases, the negotiated
// layer, the public layer, then inherited providers.
func (p *providerIndex) findEntry(model string, t int64) *entry {
	e, _ := p.resolve(model, t, 0)
	return e
}

func (p *providerIndex) resolve(model string, t int64, depth int) (*entry, *providerIndex) {
	for _, s := range p.strip {
		if hasPrefixFold(model, s) {
			model = model[len(s):]
		}
	}
	var buf [128]byte
	low, _ := lower(model, &buf)
	var as []alias
	if low != nil {
		as = p.aliases[string(low)]
	} else {
		as = p.aliases[model]
	}
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].from <= t {
			if depth < 4 {
				return as[i].provider.resolve(as[i].target, t, depth+1)
			}
			return nil, nil
		}
	}
	for i := range p.layers {
		if e := p.layers[i].find(model, low, t); e != nil {
			return e, p
		}
	}
	// Inherited providers lend their public entries and their aliases (an
	// Azure call to "gpt-4o" resolves as OpenAI's alias does).
	for _, q := range p.inherits {
		if as := q.aliasesOf(model, low); len(as) > 0 {
			for i := len(as) - 1; i >= 0; i-- {
				if as[i].from <= t && depth < 4 {
					if e, r := as[i].provider.resolve(as[i].target, t, depth+1); e != nil && !e.negotiated {
						return e, r
					}
					break
				}
			}
		}
		if e := q.layers[len(q.layers)-1].find(model, low, t); e != nil {
			return e, q
		}
	}
	return nil, nil
}

func (p *providerIndex) aliasesOf(model string, low []byte) []alias {
	if low != nil {
		return p.aliases[string(low)]
	}
	return p.aliases[model]
}

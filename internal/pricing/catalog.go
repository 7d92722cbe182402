// Package pricing holds Weir's price catalog and its cost engine: what a call
// costs, exactly as the provider bills it, with a breakdown by component and
// the price entry used.
//
// The catalog is data, not code: one YAML file per provider under catalog/,
// embedded in the binary (see docs/pricing.md for the format). Load it with
// Embedded, add a negotiated Overlay with WithOverlay, and call Price once
// per finished call. Money is exact integer femto-dollars; rounding happens
// only when a Money is formatted. Any package may import pricing; it imports
// only usage from Weir.
package pricing

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed catalog/*.yaml catalog/VERSION
var embedded embed.FS

// KnownProviders are the provider types and vendors a catalog sheet may name.
// A query's Provider must be one of them for a price to be found.
var KnownProviders = []string{
	"openai", "anthropic", "google", "bedrock", "azure", "mistral", "deepseek",
	"groq", "xai", "together", "openrouter", "fireworks", "cohere",
	"perplexity", "cerebras",
}

// Sheet is one catalog file: the public prices of one provider, or one
// provider's part of a negotiated price sheet.
type Sheet struct {
	// Provider is the provider type or vendor the prices apply to.
	Provider string `yaml:"provider" json:"provider"`
	// Sources are the pages the prices were taken from and when they were
	// checked. Documentation only.
	Sources []Source `yaml:"sources,omitempty" json:"sources,omitempty"`
	// StripPrefixes are removed from a model id before matching, each in
	// turn when it matches (Bedrock's "us." then "anthropic.").
	StripPrefixes []string `yaml:"strip_prefixes,omitempty" json:"strip_prefixes,omitempty"`
	// Inherits lists providers whose entries apply when none of this
	// provider's match (Azure OpenAI bills OpenAI's list prices).
	Inherits []string `yaml:"inherits,omitempty" json:"inherits,omitempty"`
	// Batch is the multiplier of batch calls (0.5 for 50%); absent means the
	// provider has no batch discount and batch calls pay list price.
	Batch *Decimal `yaml:"batch,omitempty" json:"batch,omitempty"`
	// ServiceTiers maps a service tier name (flex, priority...) to its
	// multiplier. Unlisted tiers ("default", "auto", "standard") pay list
	// price.
	ServiceTiers map[string]Decimal `yaml:"service_tiers,omitempty" json:"service_tiers,omitempty"`
	// IDMultipliers scale the price of calls whose model id, as sent,
	// starts with one of a rule's prefixes, for models the rule names
	// (Bedrock's regional endpoints cost 10% more than global ones for
	// Claude Sonnet 4.5 and later). The first matching rule applies.
	IDMultipliers []IDMultiplier `yaml:"id_multipliers,omitempty" json:"id_multipliers,omitempty"`
	Entries       []Entry        `yaml:"entries" json:"entries"`
	Aliases       []Alias        `yaml:"aliases,omitempty" json:"aliases,omitempty"`
}

// IDMultiplier is a price multiplier chosen by the form of a model id.
type IDMultiplier struct {
	// Prefixes are matched against the model id as sent, before
	// strip_prefixes (case-insensitive).
	Prefixes []string `yaml:"prefixes" json:"prefixes"`
	// Models are prefixes of the model id after strip_prefixes; empty
	// means every model.
	Models     []string `yaml:"models,omitempty" json:"models,omitempty"`
	Multiplier Decimal  `yaml:"multiplier" json:"multiplier"`
	Note       string   `yaml:"note,omitempty" json:"note,omitempty"`
}

// Source is a page prices were checked against.
type Source struct {
	URL     string `yaml:"url" json:"url"`
	Checked string `yaml:"checked" json:"checked"`
	Note    string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Entry is the price of a set of models over a period of time.
type Entry struct {
	// ID names the entry in cost breakdowns; unique in a catalog.
	ID    string `yaml:"id" json:"id"`
	Match Match  `yaml:"match" json:"match"`
	// From is when the entry takes effect (a date, UTC midnight, or an
	// RFC 3339 time); absent means since always. An entry with a later From
	// for the same model supersedes it.
	From *Date `yaml:"from,omitempty" json:"from,omitempty"`
	// Until optionally ends the entry (exclusive).
	Until  *Date  `yaml:"until,omitempty" json:"until,omitempty"`
	Prices Prices `yaml:"prices" json:"prices"`
	// Tiers are context-length tiers: a call whose prompt (input_tokens,
	// cache included) is above Above pays the tier's prices for every token.
	Tiers []Tier `yaml:"tiers,omitempty" json:"tiers,omitempty"`
	// Fees are per-unit fees in USD per 1,000 units.
	Fees Fees `yaml:"fees,omitempty" json:"fees,omitempty"`
	// Batch and ServiceTiers override the provider's multipliers.
	Batch        *Decimal           `yaml:"batch,omitempty" json:"batch,omitempty"`
	ServiceTiers map[string]Decimal `yaml:"service_tiers,omitempty" json:"service_tiers,omitempty"`
	// ServiceTierPrices are a service tier's own prices, for tiers whose
	// price is not a multiple of the standard one (OpenAI's priority
	// gpt-4o-mini). Unlisted prices keep the entry's. They apply instead of
	// the tier's multiplier and of context tiers.
	ServiceTierPrices map[string]Prices `yaml:"service_tier_prices,omitempty" json:"service_tier_prices,omitempty"`
	// OffPeak, when set, makes the entry's prices the peak prices and
	// prices calls made outside the peak windows at a multiple of them
	// (DeepSeek's off-peak half price).
	OffPeak *OffPeak `yaml:"off_peak,omitempty" json:"off_peak,omitempty"`
	Note    string   `yaml:"note,omitempty" json:"note,omitempty"`
}

// Match says which model ids an entry prices. Matching ignores ASCII case;
// an exact id wins over a prefix, and a longer prefix over a shorter one.
type Match struct {
	Exact  []string `yaml:"exact,omitempty" json:"exact,omitempty"`
	Prefix []string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
}

// Prices are USD per million tokens. An absent price means: cache reads and
// writes cost the input price, one-hour writes cost the 5-minute write
// price, reasoning costs the output price, image tokens cost the text
// input or output price; absent input, output or audio prices leave those
// tokens unpriced.
type Prices struct {
	Input        *Decimal `yaml:"input,omitempty" json:"input,omitempty"`
	CacheRead    *Decimal `yaml:"cache_read,omitempty" json:"cache_read,omitempty"`
	CacheWrite   *Decimal `yaml:"cache_write,omitempty" json:"cache_write,omitempty"`
	CacheWrite1h *Decimal `yaml:"cache_write_1h,omitempty" json:"cache_write_1h,omitempty"`
	Output       *Decimal `yaml:"output,omitempty" json:"output,omitempty"`
	Reasoning    *Decimal `yaml:"reasoning,omitempty" json:"reasoning,omitempty"`
	InputAudio   *Decimal `yaml:"input_audio,omitempty" json:"input_audio,omitempty"`
	OutputAudio  *Decimal `yaml:"output_audio,omitempty" json:"output_audio,omitempty"`
	InputImage   *Decimal `yaml:"input_image,omitempty" json:"input_image,omitempty"`
	OutputImage  *Decimal `yaml:"output_image,omitempty" json:"output_image,omitempty"`
}

// Tier is a context-length tier.
type Tier struct {
	// Above is the prompt size in tokens the tier starts after: a prompt of
	// exactly Above tokens pays the lower price, Above+1 the tier price.
	Above int64 `yaml:"above" json:"above"`
	// Prices replace the entry's prices; unlisted ones keep the entry's.
	Prices Prices `yaml:"prices" json:"prices"`
}

// Fees are USD per 1,000 units.
type Fees struct {
	// Requests is charged once per call.
	Requests *Decimal `yaml:"requests,omitempty" json:"requests,omitempty"`
	// WebSearches is charged per server-side web search.
	WebSearches *Decimal `yaml:"web_searches,omitempty" json:"web_searches,omitempty"`
	// Images is charged per image generated.
	Images *Decimal `yaml:"images,omitempty" json:"images,omitempty"`
	// AudioSeconds is charged per second of audio.
	AudioSeconds *Decimal `yaml:"audio_seconds,omitempty" json:"audio_seconds,omitempty"`
}

// OffPeak is a time-of-day price rule. Times are UTC.
type OffPeak struct {
	// Multiplier applies to every component of an off-peak call (0.5 for
	// half price).
	Multiplier Decimal `yaml:"multiplier" json:"multiplier"`
	// Peak lists the peak windows; a call outside all of them is off-peak.
	Peak []Window `yaml:"peak" json:"peak"`
	// Holidays are UTC dates that are off-peak all day.
	Holidays []Date `yaml:"holidays,omitempty" json:"holidays,omitempty"`
}

// Window is a daily time window, UTC: From inclusive, To exclusive, as
// HH:MM (To may be 24:00), on the given days (mon..sun; none: every day).
type Window struct {
	Days []string `yaml:"days,omitempty" json:"days,omitempty"`
	From string   `yaml:"from" json:"from"`
	To   string   `yaml:"to" json:"to"`
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// minutes parses HH:MM (00:00..24:00) into minutes of the day.
func minutes(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%2d:%2d", &h, &m); err != nil || h < 0 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, fmt.Errorf("time %q: want HH:MM between 00:00 and 24:00", s)
	}
	return h*60 + m, nil
}

func (o *OffPeak) validate() error {
	if o.Multiplier == 0 || o.Multiplier > MaxMultiplier || int64(o.Multiplier)%1000 != 0 {
		return fmt.Errorf("off_peak: multiplier must be above 0, at most 10, with at most 6 decimals")
	}
	if len(o.Peak) == 0 {
		return fmt.Errorf("off_peak: at least one peak window is required")
	}
	for _, w := range o.Peak {
		from, err := minutes(w.From)
		if err != nil {
			return fmt.Errorf("off_peak: %w", err)
		}
		to, err := minutes(w.To)
		if err != nil {
			return fmt.Errorf("off_peak: %w", err)
		}
		if to <= from {
			return fmt.Errorf("off_peak: window %s-%s: to must be after from (split windows across midnight)", w.From, w.To)
		}
		for _, d := range w.Days {
			if _, ok := weekdays[strings.ToLower(d)]; !ok {
				return fmt.Errorf("off_peak: day %q: want mon, tue, wed, thu, fri, sat or sun", d)
			}
		}
	}
	return nil
}

// Alias resolves an undated model name to the dated model it pointed to at
// a call's time.
type Alias struct {
	Alias  string `yaml:"alias" json:"alias"`
	Target string `yaml:"target" json:"target"`
	// Provider is the provider of Target, when not the sheet's own.
	Provider string `yaml:"provider,omitempty" json:"provider,omitempty"`
	From     *Date  `yaml:"from,omitempty" json:"from,omitempty"`
}

// maxFee is the largest fee per 1,000 units: fees are kept per unit in
// femto-dollars, 1,000 times finer than a Decimal.
const maxFee = Decimal(math.MaxInt64 / 1000)

// Decimal is a non-negative decimal number with up to 9 fractional digits,
// held exactly in units of 1e-9. In YAML it is a plain number: 3, 0.0375.
type Decimal int64

// Dec returns a *Decimal parsed from s; it panics on a malformed s (for
// literals in code and tests).
func Dec(s string) *Decimal {
	n, err := parseDecimal(s)
	if err != nil {
		panic(err)
	}
	d := Decimal(n)
	return &d
}

// UnmarshalYAML reads the scalar's text, never a float.
func (d *Decimal) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number", n.Line)
	}
	v, err := parseDecimal(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Decimal(v)
	return nil
}

// MarshalYAML writes the exact decimal.
func (d Decimal) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: d.String()}, nil
}

func (d Decimal) String() string { return formatDecimal(int64(d)) }

// MarshalJSON writes the exact decimal as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalJSON reads a JSON number's text exactly.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	v, err := parseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = Decimal(v)
	return nil
}

// ppm is d as parts per million, for multipliers.
func (d Decimal) ppm() int64 { return int64(d) / 1000 }

// Date is an instant written as a date (UTC midnight) or an RFC 3339 time.
type Date struct{ time.Time }

// UnmarshalYAML reads 2025-06-10 or 2025-06-10T12:00:00Z.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a date", n.Line)
	}
	t, err := parseDate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	d.Time = t
	return nil
}

// MarshalYAML writes a date, or an RFC 3339 time when not at midnight.
func (d Date) MarshalYAML() (any, error) {
	if d.Time.Equal(d.Time.Truncate(24 * time.Hour)) {
		return d.UTC().Format(time.DateOnly), nil
	}
	return d.UTC().Format(time.RFC3339Nano), nil
}

// MarshalJSON writes a date, or an RFC 3339 time when not at midnight.
func (d Date) MarshalJSON() ([]byte, error) {
	v, _ := d.MarshalYAML()
	return []byte(strconv.Quote(v.(string))), nil
}

// UnmarshalJSON reads "2025-06-10" or an RFC 3339 time.
func (d *Date) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("invalid date %s: want a string", b)
	}
	t, err := parseDate(s)
	if err != nil {
		return err
	}
	d.Time = t
	return nil
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t.UTC(), nil
}

// DateOf returns a *Date for t.
func DateOf(t time.Time) *Date { return &Date{t.UTC()} }

// ParseSheet decodes one catalog file strictly: unknown keys, a second
// document and malformed numbers are errors naming the file and the line.
// It does not validate the sheet against others; New does.
func ParseSheet(name string, data []byte) (Sheet, error) {
	var s Sheet
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Sheet{}, fmt.Errorf("%s: %w", name, err)
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return Sheet{}, fmt.Errorf("%s: more than one YAML document", name)
	}
	if err := s.validate(); err != nil {
		return Sheet{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// Load reads a catalog from fsys: every *.yaml file at its root is a sheet,
// and the file VERSION holds the catalog version.
func Load(fsys fs.FS) (*Catalog, error) {
	v, err := fs.ReadFile(fsys, "VERSION")
	if err != nil {
		return nil, fmt.Errorf("read price catalog: %w", err)
	}
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("read price catalog: %w", err)
	}
	sort.Strings(names)
	var sheets []Sheet
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("read price catalog: %w", err)
		}
		s, err := ParseSheet(n, b)
		if err != nil {
			return nil, fmt.Errorf("read price catalog: %w", err)
		}
		sheets = append(sheets, s)
	}
	return New(strings.TrimSpace(string(v)), sheets...)
}

var embeddedCatalog = sync.OnceValues(func() (*Catalog, error) {
	sub, err := fs.Sub(embedded, "catalog")
	if err != nil {
		return nil, err
	}
	return Load(sub)
})

// Embedded returns the catalog built into the binary. It is parsed once and
// shared; a Catalog is immutable and safe for concurrent use.
func Embedded() (*Catalog, error) { return embeddedCatalog() }

// validate checks what one sheet can check alone.
func (s *Sheet) validate() error {
	if !slices.Contains(KnownProviders, s.Provider) {
		return fmt.Errorf("unknown provider %q", s.Provider)
	}
	if err := checkMultipliers(s.Batch, s.ServiceTiers); err != nil {
		return err
	}
	for _, p := range s.StripPrefixes {
		if p == "" {
			return errors.New("empty strip_prefixes item")
		}
	}
	for i, im := range s.IDMultipliers {
		if len(im.Prefixes) == 0 || slices.Contains(im.Prefixes, "") || slices.Contains(im.Models, "") {
			return fmt.Errorf("id_multipliers[%d]: non-empty prefixes (and models, when given) are required", i)
		}
		if im.Multiplier == 0 || im.Multiplier > MaxMultiplier || int64(im.Multiplier)%1000 != 0 {
			return fmt.Errorf("id_multipliers[%d]: multiplier must be above 0, at most 10, with at most 6 decimals", i)
		}
	}
	for _, p := range s.Inherits {
		if !slices.Contains(KnownProviders, p) || p == s.Provider {
			return fmt.Errorf("inherits: unknown provider %q", p)
		}
	}
	for i := range s.Entries {
		if err := s.Entries[i].validate(); err != nil {
			return err
		}
	}
	for _, a := range s.Aliases {
		if a.Alias == "" || a.Target == "" {
			return errors.New("alias: alias and target are required")
		}
		if a.Provider != "" && !slices.Contains(KnownProviders, a.Provider) {
			return fmt.Errorf("alias %s: unknown provider %q", a.Alias, a.Provider)
		}
	}
	return nil
}

// MaxMultiplier bounds every multiplier (batch, service tier, off-peak,
// id) at 10: no published rule comes near it, and it keeps products of
// four of them exact in parts per million.
const MaxMultiplier = Decimal(10 * 1e9)

func checkMultipliers(batch *Decimal, tiers map[string]Decimal) error {
	if batch != nil && (*batch == 0 || *batch > MaxMultiplier) {
		return errors.New("batch multiplier must be above 0 and at most 10")
	}
	for name, m := range tiers {
		if name == "" || m == 0 || m > MaxMultiplier {
			return fmt.Errorf("service tier %q: name and a multiplier above 0 and at most 10 are required", name)
		}
		if int64(m)%1000 != 0 {
			return fmt.Errorf("service tier %q: multiplier %s has more than 6 decimals", name, m)
		}
	}
	if batch != nil && int64(*batch)%1000 != 0 {
		return fmt.Errorf("batch multiplier %s has more than 6 decimals", *batch)
	}
	return nil
}

func (e *Entry) validate() error {
	if e.ID == "" {
		return errors.New("entry without id")
	}
	wrap := func(err error) error { return fmt.Errorf("entry %s: %w", e.ID, err) }
	if len(e.Match.Exact)+len(e.Match.Prefix) == 0 {
		return wrap(errors.New("match has no exact id or prefix"))
	}
	for _, m := range slices.Concat(e.Match.Exact, e.Match.Prefix) {
		if m == "" {
			return wrap(errors.New("empty match"))
		}
	}
	if e.Prices == (Prices{}) {
		return wrap(errors.New("no prices"))
	}
	for _, f := range []*Decimal{e.Fees.Requests, e.Fees.WebSearches, e.Fees.Images, e.Fees.AudioSeconds} {
		if f != nil && *f > maxFee {
			return wrap(fmt.Errorf("fee %s per 1,000 is above %s", *f, maxFee))
		}
	}
	if e.From != nil && e.Until != nil && !e.Until.After(e.From.Time) {
		return wrap(errors.New("until is not after from"))
	}
	prev := int64(0)
	for _, t := range e.Tiers {
		if t.Above <= prev {
			return wrap(fmt.Errorf("tier above %d: tiers must be above 0 and in increasing order", t.Above))
		}
		if t.Prices == (Prices{}) {
			return wrap(fmt.Errorf("tier above %d has no prices", t.Above))
		}
		prev = t.Above
	}
	if err := checkMultipliers(e.Batch, e.ServiceTiers); err != nil {
		return wrap(err)
	}
	if e.OffPeak != nil {
		if err := e.OffPeak.validate(); err != nil {
			return wrap(err)
		}
	}
	for name, p := range e.ServiceTierPrices {
		if name == "" || p == (Prices{}) {
			return wrap(fmt.Errorf("service_tier_prices %q: a name and prices are required", name))
		}
		if _, dup := e.ServiceTiers[name]; dup {
			return wrap(fmt.Errorf("service tier %q has both a multiplier and prices", name))
		}
	}
	return nil
}

package pricing

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Overlay is a negotiated price agreement laid over the public catalog:
// a percentage off per provider, and sheets whose entries take precedence
// over the public ones for the models they match. Discounts do not apply to
// an overlay's own entries (they already are the negotiated price). The
// config supplies overlays; ParseOverlay reads one from YAML.
type Overlay struct {
	// Name is appended to the catalog version ("2026-08-22.1+acme").
	Name string `yaml:"name"`
	// Discounts maps a provider to the fraction taken off its public
	// prices: 0.15 is 15% off.
	Discounts map[string]Decimal `yaml:"discounts,omitempty"`
	// Sheets hold negotiated entries, in the catalog's format.
	Sheets []Sheet `yaml:"sheets,omitempty"`
}

// ParseOverlay decodes an overlay strictly.
func ParseOverlay(name string, data []byte) (Overlay, error) {
	var o Overlay
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&o); err != nil {
		return Overlay{}, fmt.Errorf("%s: %w", name, err)
	}
	return o, nil
}

// WithOverlay returns a new catalog: c's public sheets with o laid over
// them, replacing any overlays c had. c is unchanged.
func (c *Catalog) WithOverlay(o Overlay) (*Catalog, error) {
	return c.WithOverlays(o)
}

// WithOverlays returns a new catalog: c's public sheets with os laid over
// them, the first taking precedence: a model is priced by the first
// overlay with an entry for it in force, else by the public sheets. A
// provider's discount is the first overlay's that names the provider; it
// applies only to public entries. Overlay names must be unique. c is
// unchanged.
func (c *Catalog) WithOverlays(os ...Overlay) (*Catalog, error) {
	return build(c.base, c.sheets, slices.Clone(os))
}

// Overlays returns the overlays laid over the public sheets, first
// (highest precedence) first.
func (c *Catalog) Overlays() []Overlay { return c.overlays }

// Source of the public sheets in Listed.Source.
const SourcePublic = "public"

// Listed is a catalog entry with its provider and where it comes from.
type Listed struct {
	Provider string `json:"provider"`
	// Source is SourcePublic or the name of the overlay holding the entry.
	Source string `json:"source"`
	Entry
}

// Entries lists every entry in precedence order: the overlays' first (in
// their order), then the public sheets'.
func (c *Catalog) Entries() []Listed {
	var out []Listed
	for _, o := range c.overlays {
		for _, s := range o.Sheets {
			for _, e := range s.Entries {
				out = append(out, Listed{Provider: s.Provider, Source: o.Name, Entry: e})
			}
		}
	}
	for _, s := range c.sheets {
		for _, e := range s.Entries {
			out = append(out, Listed{Provider: s.Provider, Source: SourcePublic, Entry: e})
		}
	}
	return out
}

// EntryByID returns the entry with the given id.
func (c *Catalog) EntryByID(id string) (Listed, bool) {
	for _, l := range c.Entries() {
		if l.ID == id {
			return l, true
		}
	}
	return Listed{}, false
}

// Commitment is committed or provisioned capacity: a fixed fee per period
// (Azure PTUs, Bedrock provisioned throughput, a monthly licence for a
// self-hosted model) covering the calls to one configured provider, or to
// some of its models. Calls it covers cost nothing on demand; the fee is
// amortised over them by token share and reported apart.
type Commitment struct {
	// Name identifies the commitment in costs and reports.
	Name string `yaml:"name" json:"name"`
	// Provider is the configured provider (its name in the config) whose
	// calls use the capacity.
	Provider string `yaml:"provider" json:"provider"`
	// Models, when set, limits the commitment to these models as sent
	// upstream (case-insensitive); else every model of Provider.
	Models []string `yaml:"models,omitempty" json:"models,omitempty"`
	// Fee is USD per Period.
	Fee Decimal `yaml:"fee" json:"fee"`
	// Period is hour, day or month (calendar periods in UTC).
	Period string `yaml:"period" json:"period"`
	// From and Until bound the commitment (Until exclusive); From is
	// required, Until absent means open-ended.
	From  *Date  `yaml:"from" json:"from"`
	Until *Date  `yaml:"until,omitempty" json:"until,omitempty"`
	Note  string `yaml:"note,omitempty" json:"note,omitempty"`
}

// Validate checks c alone.
func (c *Commitment) Validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("commitment: name is required")
	case c.Provider == "":
		return fmt.Errorf("commitment %s: provider is required", c.Name)
	case c.Fee <= 0:
		return fmt.Errorf("commitment %s: fee must be above 0", c.Name)
	case c.Period != "hour" && c.Period != "day" && c.Period != "month":
		return fmt.Errorf("commitment %s: period %q: want hour, day or month", c.Name, c.Period)
	case c.From == nil:
		return fmt.Errorf("commitment %s: from is required", c.Name)
	case c.Until != nil && !c.Until.After(c.From.Time):
		return fmt.Errorf("commitment %s: until is not after from", c.Name)
	}
	return nil
}

// Covers reports whether the commitment covers a call to provider and
// model at t.
func (c *Commitment) Covers(provider, model string, t time.Time) bool {
	if provider != c.Provider || t.Before(c.From.Time) || c.Until != nil && !t.Before(c.Until.Time) {
		return false
	}
	if len(c.Models) == 0 {
		return true
	}
	for _, m := range c.Models {
		if strings.EqualFold(m, model) {
			return true
		}
	}
	return false
}

// PeriodStart returns the start of the commitment period holding t, and
// the start of the next one.
func (c *Commitment) PeriodStart(t time.Time) (start, next time.Time) {
	t = t.UTC()
	switch c.Period {
	case "hour":
		start = t.Truncate(time.Hour)
		return start, start.Add(time.Hour)
	case "day":
		start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	default:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
}

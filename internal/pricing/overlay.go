package pricing

import (
	"bytes"
	"fmt"
	"slices"

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

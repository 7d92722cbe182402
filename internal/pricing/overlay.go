package pricing

import (
	"bytes"
	"fmt"

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
// them. c is unchanged.
func (c *Catalog) WithOverlay(o Overlay) (*Catalog, error) {
	if o.Name == "" {
		return nil, fmt.Errorf("overlay: name is required")
	}
	base := c.version
	if c.overlay != nil {
		base = base[:len(base)-len(c.overlay.Name)-1]
	}
	return build(base, c.sheets, &o)
}

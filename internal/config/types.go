package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

const redactedText = "[redacted]"

// StoredRef is the reference of a provider key kept, sealed, in the store
// and managed through PUT /api/v1/providers/{name}/credential.
const StoredRef = "stored"

// Secret is a credential written in config as "env:VAR", "file:/path",
// "stored" (providers[].api_key only: sealed in the store, set through the
// API) or, discouraged, the literal value. It prints as its reference,
// never its value.
type Secret struct {
	ref   string
	value string
}

// Stored reports whether the secret is "stored": its value is not in the
// configuration but sealed in the store.
func (s Secret) Stored() bool { return s.ref == StoredRef }

// NewSecret returns a literal secret (for tests and the API).
func NewSecret(v string) Secret { return Secret{ref: "literal", value: v} }

// Value is the resolved secret.
func (s Secret) Value() string { return s.value }

// IsSet reports whether a secret was configured.
func (s Secret) IsSet() bool { return s.ref != "" }

// String never shows the value.
func (s Secret) String() string {
	switch {
	case s.ref == "":
		return ""
	case strings.HasPrefix(s.ref, "env:"), strings.HasPrefix(s.ref, "file:"), s.ref == StoredRef:
		return s.ref
	}
	return redactedText
}

// GoString never shows the value either (%#v).
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// LogValue never shows the value to slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

func (s Secret) redacted() Secret { return Secret{ref: s.ref, value: ""} }

// UnmarshalYAML keeps the reference; resolve reads it.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	var v string
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("line %d: a secret must be a string such as env:VAR", n.Line)
	}
	if v == "" {
		*s = Secret{}
		return nil
	}
	*s = Secret{ref: v}
	return nil
}

// MarshalYAML and MarshalJSON print the reference only.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON prints the reference only.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *Secret) resolve(env Getenv) error {
	switch {
	case s.ref == "" || s.value != "" || s.ref == StoredRef:
		return nil
	case strings.HasPrefix(s.ref, "env:"):
		name := strings.TrimPrefix(s.ref, "env:")
		v, ok := env(name)
		if !ok || v == "" {
			return fmt.Errorf("environment variable %s is not set", name)
		}
		s.value = v
	case strings.HasPrefix(s.ref, "file:"):
		path := strings.TrimPrefix(s.ref, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read secret file: %w", err)
		}
		s.value = strings.TrimSpace(string(b))
		if s.value == "" {
			return fmt.Errorf("secret file %s is empty", path)
		}
	default:
		s.value, s.ref = s.ref, "literal"
	}
	return nil
}

// Duration is a time.Duration written as "250ms", "30s", "5m".
type Duration time.Duration

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: a duration must be a string such as \"30s\"", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as \"30s\"", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML prints the duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalJSON prints the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

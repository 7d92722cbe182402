// Package dataset keeps evaluation datasets: named sets of items (input
// messages or prompt variables, an optional expected output, metadata,
// tags, a split, the production call an item came from) with immutable
// versions. Every edit — items added, changed or removed, an import, calls
// added from production — makes one new version; experiments record the
// version they ran on. It parses JSONL and CSV imports and the recorded
// OpenAI and Anthropic request shapes, and serves the datasets API. It
// imports store, record, ids and httpjson; the app wires it.
package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped when an item, a dataset or an import is refused.
var ErrInvalid = errors.New("invalid")

// Item is one dataset item. Exactly one of Messages and Variables is set.
type Item struct {
	// ID is stable across versions; generated when an added item has none.
	ID string `json:"id"`
	// Messages is the input as OpenAI-style chat messages (a JSON array
	// of objects with a role).
	Messages json.RawMessage `json:"messages,omitempty"`
	// Variables is the input as a prompt's variables (a JSON object).
	Variables json.RawMessage `json:"variables,omitempty"`
	// Expected is the expected output or reference answer: a JSON string
	// for text, any other JSON value for structured output.
	Expected json.RawMessage `json:"expected,omitempty"`
	// Metadata is a JSON object.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	Tags     []string        `json:"tags,omitempty"`
	// Split is free text, e.g. train, test, canary.
	Split string `json:"split,omitempty"`
	// SourceCall is the id of the production call the item came from.
	SourceCall string `json:"source_call,omitempty"`
}

// ExpectedText is the expected output as evaluators read it: a JSON
// string's text, or another value's JSON; ok is false without one.
func (it *Item) ExpectedText() (text string, ok bool) {
	if len(it.Expected) == 0 || string(it.Expected) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(it.Expected, &s) == nil {
		return s, true
	}
	return string(it.Expected), true
}

// Limits of an item.
const (
	maxItemBytes = 1 << 20
	maxTags      = 32
)

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	tagRE   = regexp.MustCompile(`^[^\x00-\x1f,]{1,64}$`)
	splitRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	roles   = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}
)

// Validate checks an item (its ID may be empty: it is generated) and
// compacts its JSON fields.
func (it *Item) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	if it.ID != "" && !idRE.MatchString(it.ID) {
		return bad("id %q: 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit", it.ID)
	}
	hasM, hasV := len(it.Messages) > 0 && string(it.Messages) != "null", len(it.Variables) > 0 && string(it.Variables) != "null"
	switch {
	case hasM && hasV:
		return bad("an item has messages or variables, not both")
	case !hasM && !hasV:
		return bad("an item needs messages or variables")
	case hasM:
		var msgs []map[string]json.RawMessage
		if err := json.Unmarshal(it.Messages, &msgs); err != nil {
			return bad("messages: want a JSON array of message objects: %v", err)
		}
		if len(msgs) == 0 {
			return bad("messages: at least one message")
		}
		for i, m := range msgs {
			var role string
			if err := json.Unmarshal(m["role"], &role); err != nil || !roles[role] {
				return bad("messages[%d].role: want system, developer, user, assistant, tool or function", i)
			}
			if _, ok := m["content"]; !ok && role != "assistant" {
				return bad("messages[%d]: content is required", i)
			}
		}
		it.Variables = nil
	case hasV:
		var vars map[string]json.RawMessage
		if err := json.Unmarshal(it.Variables, &vars); err != nil || vars == nil {
			return bad("variables: want a JSON object")
		}
		it.Messages = nil
	}
	if len(it.Expected) > 0 && !json.Valid(it.Expected) {
		return bad("expected: not JSON")
	}
	if len(it.Metadata) > 0 && string(it.Metadata) != "null" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it.Metadata, &m); err != nil || m == nil {
			return bad("metadata: want a JSON object")
		}
	} else {
		it.Metadata = nil
	}
	if len(it.Tags) > maxTags {
		return bad("at most %d tags", maxTags)
	}
	for _, t := range it.Tags {
		if !tagRE.MatchString(t) || !utf8.ValidString(t) || strings.TrimSpace(t) != t {
			return bad("tag %q: 1-64 characters, no commas or control characters, no surrounding space", t)
		}
	}
	if it.Split != "" && !splitRE.MatchString(it.Split) {
		return bad("split %q: 1-64 letters, digits, '.', '_' or '-'", it.Split)
	}
	if len(it.SourceCall) > 128 {
		return bad("source_call is too long")
	}
	for _, f := range []*json.RawMessage{&it.Messages, &it.Variables, &it.Expected, &it.Metadata} {
		if len(*f) == 0 {
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, *f); err != nil {
			return bad("%v", err)
		}
		*f = b.Bytes()
	}
	if n := len(it.Messages) + len(it.Variables) + len(it.Expected) + len(it.Metadata); n > maxItemBytes {
		return bad("the item is over %d bytes", maxItemBytes)
	}
	return nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckName checks a dataset's name: the use-case name rules.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: dataset name %q: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

// Package prompt is Weir's prompt registry: named prompts with immutable
// versions, labels that point at versions, declared variables, partials
// (versioned pieces shared across prompts) and per-model variants; a
// strict renderer; the management API under /api/v1/prompts and
// /api/v1/prompt-partials; the loader of prompts/*.yaml files; and the
// parsing of a call's prompt reference (header or "weir" body field) with
// the rewrite of its body. It imports store, audit (for the actor) and
// httpjson; the app and the gateway import it.
package prompt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by errors about a prompt, partial, reference or
// variable value that cannot be accepted as given.
var ErrInvalid = errors.New("invalid")

// ErrNotFound is wrapped when a prompt, partial, version or label does not
// exist.
var ErrNotFound = errors.New("not found")

// Content is what one version of a prompt holds.
type Content struct {
	Description string `json:"description,omitempty"`
	// Messages are the default wording: chat messages whose content is a
	// template.
	Messages []Message `json:"messages"`
	// Variables are every variable the templates may use.
	Variables []Variable `json:"variables,omitempty"`
	// Tools and ResponseFormat, in OpenAI chat completions form, are
	// added to a call that has none.
	Tools          json.RawMessage `json:"tools,omitempty"`
	ResponseFormat json.RawMessage `json:"response_format,omitempty"`
	// Params are defaults a call's own values override.
	Params Params `json:"params,omitzero"`
	// Variants are other wordings for some models or providers.
	Variants []Variant `json:"variants,omitempty"`
}

// Message is one chat message of a prompt.
type Message struct {
	// Role is system, developer, user or assistant.
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Variable is a declared variable.
type Variable struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Default, when set, is used when a call gives no value: the variable
	// is optional.
	Default *string `json:"default,omitempty"`
}

// Params are a prompt's default call parameters.
type Params struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   *int     `json:"max_tokens,omitempty"`
}

// IsZero reports whether no parameter is set.
func (p Params) IsZero() bool { return p.Temperature == nil && p.TopP == nil && p.MaxTokens == nil }

// Variant is a wording for the models matching Model (a glob: * matches
// any characters) and the providers named Provider; at least one is set,
// and both must match when both are. Its Params, when set, replace the
// version's one by one.
type Variant struct {
	Name     string    `json:"name,omitempty"`
	Model    string    `json:"model,omitempty"`
	Provider string    `json:"provider,omitempty"`
	Messages []Message `json:"messages"`
	Params   Params    `json:"params,omitzero"`
}

// PartialContent is what one version of a partial holds.
type PartialContent struct {
	Description string `json:"description,omitempty"`
	// Text is a template.
	Text string `json:"text"`
	// Variables are variables Text uses that a prompt including it need
	// not declare itself (a prompt's own declaration wins).
	Variables []Variable `json:"variables,omitempty"`
}

// Limits of what a version may hold.
const (
	maxNameLen     = 128
	maxMessages    = 256
	maxVariables   = 256
	maxVariants    = 64
	maxDescription = 4096
)

// CheckName reports whether s can name a prompt, partial or label:
// 1 to 128 of a-z A-Z 0-9 . _ -, starting with a letter or digit. A label
// is moreover not all digits (that would be a version).
func CheckName(what, s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("%w: %s name must be 1 to %d characters", ErrInvalid, what, maxNameLen)
	}
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return fmt.Errorf("%w: %s name %q: only letters, digits, '.', '_' and '-', starting with a letter or digit", ErrInvalid, what, s)
		}
	}
	return nil
}

func checkLabel(s string) error {
	if err := CheckName("label", s); err != nil {
		return err
	}
	if _, err := strconv.Atoi(s); err == nil {
		return fmt.Errorf("%w: label %q is all digits: it would read as a version", ErrInvalid, s)
	}
	if s == "latest" {
		return fmt.Errorf("%w: label %q is reserved for the latest version", ErrInvalid, s)
	}
	return nil
}

// Ref is a parsed reference: name, name@version or name@label. Neither
// version nor label means the latest version.
type Ref struct {
	Name    string
	Version int
	Label   string
}

func (r Ref) String() string {
	switch {
	case r.Version > 0:
		return r.Name + "@" + strconv.Itoa(r.Version)
	case r.Label != "":
		return r.Name + "@" + r.Label
	}
	return r.Name
}

// ParseRef parses name[@version|label]; "name@latest" is the latest
// version, like "name".
func ParseRef(s string) (Ref, error) {
	name, sel, hasSel := strings.Cut(s, "@")
	r := Ref{Name: name}
	if err := CheckName("prompt or partial", name); err != nil {
		return r, err
	}
	if !hasSel || sel == "latest" {
		return r, nil
	}
	if n, err := strconv.Atoi(sel); err == nil || (sel != "" && sel[0] >= '0' && sel[0] <= '9') {
		if err != nil || n <= 0 || strconv.Itoa(n) != sel {
			return r, fmt.Errorf("%w: version %q in %q must be a positive number without leading zeros", ErrInvalid, sel, s)
		}
		r.Version = n
		return r, nil
	}
	if err := checkLabel(sel); err != nil {
		return r, err
	}
	r.Label = sel
	return r, nil
}

// checkVariables validates declarations and returns them by name.
func checkVariables(vars []Variable) (map[string]*Variable, error) {
	if len(vars) > maxVariables {
		return nil, fmt.Errorf("%w: more than %d variables", ErrInvalid, maxVariables)
	}
	out := make(map[string]*Variable, len(vars))
	for i := range vars {
		v := &vars[i]
		if !validVarName(v.Name) {
			return nil, fmt.Errorf("%w: variables[%d]: %q is not a variable name (letters, digits and _, not starting with a digit, at most 64)", ErrInvalid, i, v.Name)
		}
		if out[v.Name] != nil {
			return nil, fmt.Errorf("%w: variables[%d]: %s is declared twice", ErrInvalid, i, v.Name)
		}
		if len(v.Description) > maxDescription {
			return nil, fmt.Errorf("%w: variables[%d]: description over %d bytes", ErrInvalid, i, maxDescription)
		}
		if v.Default != nil && len(*v.Default) > MaxTemplateBytes {
			return nil, fmt.Errorf("%w: variables[%d]: default over %d bytes", ErrInvalid, i, MaxTemplateBytes)
		}
		out[v.Name] = v
	}
	return out, nil
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true}

// checkMessages parses each message's template and checks that it uses
// only declared variables. path names the list in errors.
func checkMessages(path string, msgs []Message, declared map[string]*Variable) error {
	if len(msgs) == 0 {
		return fmt.Errorf("%w: %s: at least one message is required", ErrInvalid, path)
	}
	if len(msgs) > maxMessages {
		return fmt.Errorf("%w: %s: more than %d messages", ErrInvalid, path, maxMessages)
	}
	for i, m := range msgs {
		if !roles[m.Role] {
			return fmt.Errorf("%w: %s[%d].role: %q is not system, developer, user or assistant", ErrInvalid, path, i, m.Role)
		}
		t, err := Parse(m.Content)
		if err != nil {
			return fmt.Errorf("%w: %s[%d].content: %w", ErrInvalid, path, i, err)
		}
		for _, v := range t.Vars {
			if declared[v] == nil {
				return fmt.Errorf("%w: %s[%d].content uses variable %s, which is not declared in variables", ErrInvalid, path, i, v)
			}
		}
	}
	return nil
}

func checkParams(path string, p Params) error {
	if p.Temperature != nil && (*p.Temperature < 0 || *p.Temperature > 2) {
		return fmt.Errorf("%w: %s.temperature %v is not between 0 and 2", ErrInvalid, path, *p.Temperature)
	}
	if p.TopP != nil && (*p.TopP < 0 || *p.TopP > 1) {
		return fmt.Errorf("%w: %s.top_p %v is not between 0 and 1", ErrInvalid, path, *p.TopP)
	}
	if p.MaxTokens != nil && *p.MaxTokens <= 0 {
		return fmt.Errorf("%w: %s.max_tokens %d is not positive", ErrInvalid, path, *p.MaxTokens)
	}
	return nil
}

// Validate reports why v cannot be stored, naming the field.
func (v *Content) Validate() error {
	if len(v.Description) > maxDescription {
		return fmt.Errorf("%w: description over %d bytes", ErrInvalid, maxDescription)
	}
	declared, err := checkVariables(v.Variables)
	if err != nil {
		return err
	}
	if err := checkMessages("messages", v.Messages, declared); err != nil {
		return err
	}
	if err := checkParams("params", v.Params); err != nil {
		return err
	}
	if len(v.Tools) > 0 {
		var tools []json.RawMessage
		if err := json.Unmarshal(v.Tools, &tools); err != nil {
			return fmt.Errorf("%w: tools must be a JSON array: %w", ErrInvalid, err)
		}
	}
	if len(v.ResponseFormat) > 0 {
		var rf map[string]json.RawMessage
		if err := json.Unmarshal(v.ResponseFormat, &rf); err != nil || rf == nil {
			return fmt.Errorf("%w: response_format must be a JSON object", ErrInvalid)
		}
	}
	if len(v.Variants) > maxVariants {
		return fmt.Errorf("%w: more than %d variants", ErrInvalid, maxVariants)
	}
	for i, vr := range v.Variants {
		path := fmt.Sprintf("variants[%d]", i)
		if vr.Model == "" && vr.Provider == "" {
			return fmt.Errorf("%w: %s: model or provider is required", ErrInvalid, path)
		}
		if len(vr.Model) > maxNameLen || len(vr.Provider) > maxNameLen || len(vr.Name) > maxNameLen {
			return fmt.Errorf("%w: %s: name, model or provider over %d bytes", ErrInvalid, path, maxNameLen)
		}
		if err := checkMessages(path+".messages", vr.Messages, declared); err != nil {
			return err
		}
		if err := checkParams(path+".params", vr.Params); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports why p cannot be stored.
func (p *PartialContent) Validate() error {
	if len(p.Description) > maxDescription {
		return fmt.Errorf("%w: description over %d bytes", ErrInvalid, maxDescription)
	}
	if _, err := checkVariables(p.Variables); err != nil {
		return err
	}
	if _, err := Parse(p.Text); err != nil {
		return fmt.Errorf("%w: text: %w", ErrInvalid, err)
	}
	return nil
}

// variantFor returns the index of the variant for provider and model, or
// -1 for the default wording. The most specific match wins: a model
// pattern beats a provider alone, an exact model beats a glob, a glob with
// more literal characters beats one with fewer, a provider condition on
// top of a model one breaks ties; then the first listed.
func (v *Content) variantFor(provider, model string) int {
	best, bestScore := -1, -1
	for i, vr := range v.Variants {
		if vr.Provider != "" && vr.Provider != provider {
			continue
		}
		score := 0
		if vr.Model != "" {
			if !globMatch(vr.Model, model) {
				continue
			}
			score = 1000 + 2*(len(vr.Model)-strings.Count(vr.Model, "*"))
			if !strings.Contains(vr.Model, "*") {
				score += 1000
			}
		}
		if vr.Provider != "" {
			score++
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// globMatch matches s against a pattern where * matches any run of
// characters (none included) and everything else matches itself.
// Iterative, linear in practice: no backtracking blow-up.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

package prompt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The template language: text with tags between {{ and }}.
//
//	{{name}}              the variable's value, inserted as is (nothing escaped)
//	{{> ref}}             the partial ref (name, name@3, name@production)
//	{{#name}}…{{/name}}   the enclosed text when name is set and not empty,
//	                      false, 0, null, [] or {} (shown once, never looped)
//	{{^name}}…{{/name}}   the enclosed text when it is not
//	{{! comment}}         nothing
//	{{"{{"}}              the quoted text as is: the way to write {{
//
// Spaces inside the braces are allowed. Anything else after {{ is an error,
// as is an unclosed tag or section. There are no loops, no function calls
// and no access into values, so rendering a template takes time linear in
// its size and the size of what it includes.

type nodeKind uint8

const (
	nodeText nodeKind = iota
	nodeVar
	nodePartial
	nodeSection
)

type node struct {
	kind     nodeKind
	text     string // text; variable name; partial ref
	inverted bool   // section: {{^name}}
	children []node // section
	line     int
	col      int
}

// Template is a parsed template.
type Template struct {
	nodes []node
	// Vars are the variables used, in order of first use, each once.
	Vars []string
	// Partials are the partial references used, in order of first use,
	// each once.
	Partials []string
}

// TemplateError is a syntax error at a line and column (1-based, columns
// in characters) of the template.
type TemplateError struct {
	Line, Col int
	Msg       string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("line %d column %d: %s", e.Line, e.Col, e.Msg)
}

// MaxTemplateBytes bounds a template's source.
const MaxTemplateBytes = 256 << 10

// maxSectionDepth bounds the nesting of sections.
const maxSectionDepth = 16

// Parse parses a template.
func Parse(src string) (*Template, error) {
	if len(src) > MaxTemplateBytes {
		return nil, &TemplateError{Line: 1, Col: 1, Msg: fmt.Sprintf("the template is over %d bytes", MaxTemplateBytes)}
	}
	if !utf8.ValidString(src) {
		return nil, &TemplateError{Line: 1, Col: 1, Msg: "the template is not valid UTF-8"}
	}
	p := parser{src: src}
	t := &Template{}
	type open struct {
		n      node
		parent []node
	}
	var stack []open
	cur := []node(nil)
	seenVar, seenPartial := map[string]bool{}, map[string]bool{}
	useVar := func(name string) {
		if !seenVar[name] {
			seenVar[name] = true
			t.Vars = append(t.Vars, name)
		}
	}
	for p.pos < len(src) {
		i := strings.Index(src[p.pos:], "{{")
		if i < 0 {
			cur = append(cur, node{kind: nodeText, text: src[p.pos:]})
			break
		}
		if i > 0 {
			cur = append(cur, node{kind: nodeText, text: src[p.pos : p.pos+i]})
		}
		start := p.pos + i
		line, col := p.where(start)
		end := strings.Index(src[start+2:], "}}")
		if end < 0 {
			return nil, &TemplateError{line, col, "unclosed tag: {{ without }}"}
		}
		inner := src[start+2 : start+2+end]
		next := start + 2 + end + 2
		tag := strings.TrimSpace(inner)
		switch {
		case tag == "":
			return nil, &TemplateError{line, col, "empty tag {{}}"}
		case tag[0] == '"':
			// A literal: the text between the quotes, which may hold }}.
			closeQ := strings.IndexByte(src[start+2:], '"')
			q := start + 2 + closeQ
			endQ := strings.IndexByte(src[q+1:], '"')
			if endQ < 0 {
				return nil, &TemplateError{line, col, `unclosed literal: {{" without a closing "`}
			}
			lit := src[q+1 : q+1+endQ]
			rest := src[q+1+endQ+1:]
			trimmed := strings.TrimLeft(rest, " \t")
			if !strings.HasPrefix(trimmed, "}}") {
				return nil, &TemplateError{line, col, `a literal is written {{"text"}}`}
			}
			next = len(src) - len(trimmed) + 2
			cur = append(cur, node{kind: nodeText, text: lit})
		case tag[0] == '!':
			// comment
		case tag[0] == '>':
			ref := strings.TrimSpace(tag[1:])
			if _, err := ParseRef(ref); err != nil {
				return nil, &TemplateError{line, col, fmt.Sprintf("partial {{> %s}}: %v", ref, err)}
			}
			cur = append(cur, node{kind: nodePartial, text: ref, line: line, col: col})
			if !seenPartial[ref] {
				seenPartial[ref] = true
				t.Partials = append(t.Partials, ref)
			}
		case tag[0] == '#' || tag[0] == '^':
			name := strings.TrimSpace(tag[1:])
			if !validVarName(name) {
				return nil, &TemplateError{line, col, fmt.Sprintf("section {{%s}}: %q is not a variable name (letters, digits and _, not starting with a digit)", tag, name)}
			}
			if len(stack) >= maxSectionDepth {
				return nil, &TemplateError{line, col, fmt.Sprintf("sections nested deeper than %d", maxSectionDepth)}
			}
			useVar(name)
			stack = append(stack, open{n: node{kind: nodeSection, text: name, inverted: tag[0] == '^', line: line, col: col}, parent: cur})
			cur = nil
		case tag[0] == '/':
			name := strings.TrimSpace(tag[1:])
			if len(stack) == 0 {
				return nil, &TemplateError{line, col, fmt.Sprintf("{{/%s}} closes no section", name)}
			}
			top := stack[len(stack)-1]
			if top.n.text != name {
				return nil, &TemplateError{line, col, fmt.Sprintf("{{/%s}} closes the section {{#%s}} opened at line %d column %d", name, top.n.text, top.n.line, top.n.col)}
			}
			stack = stack[:len(stack)-1]
			top.n.children = cur
			cur = append(top.parent, top.n)
		case validVarName(tag):
			useVar(tag)
			cur = append(cur, node{kind: nodeVar, text: tag, line: line, col: col})
		default:
			return nil, &TemplateError{line, col, fmt.Sprintf("{{%s}}: not a tag; a tag is {{variable}}, {{> partial}}, {{#variable}}, {{^variable}}, {{/variable}}, {{! comment}} or {{\"literal text\"}}", clip(inner, 40))}
		}
		p.pos = next
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return nil, &TemplateError{top.n.line, top.n.col, fmt.Sprintf("section {{#%s}} is not closed", top.n.text)}
	}
	t.nodes = cur
	return t, nil
}

type parser struct {
	src string
	pos int
}

// where returns the line and column of byte offset off.
func (p *parser) where(off int) (line, col int) {
	before := p.src[:off]
	line = strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[lineStart:]) + 1
}

func validVarName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Errors of rendering, wrapped with the variable or partial they concern.
var (
	ErrMissingVariable  = errors.New("missing variable")
	ErrUnknownVariable  = errors.New("unknown variable")
	ErrPartialCycle     = errors.New("partial cycle")
	ErrOutputTooLarge   = errors.New("rendered prompt too large")
	ErrInvalidVariable  = errors.New("invalid variable value")
	ErrPartialsTooDeep  = errors.New("partials nested too deep")
	errPartialsNotFound = errors.New("partial not found")
)

// renderer renders one prompt: its variables, its partials and the
// output bound shared by all its messages.
type renderer struct {
	vars     map[string]any
	declared map[string]bool
	// partial resolves a reference to its parsed template and the
	// resolved name@version, which identifies it for cycle detection.
	partial func(ref string) (*Template, string, error)
	stack   []string // resolved partials being rendered
	left    int      // bytes the output may still grow by
	maxDep  int
}

func (r *renderer) render(b *strings.Builder, nodes []node) error {
	for i := range nodes {
		n := &nodes[i]
		switch n.kind {
		case nodeText:
			if err := r.write(b, n.text); err != nil {
				return err
			}
		case nodeVar:
			v, ok := r.vars[n.text]
			if !ok {
				return fmt.Errorf("%w %s (line %d column %d)", ErrMissingVariable, n.text, n.line, n.col)
			}
			s, err := valueText(v)
			if err != nil {
				return fmt.Errorf("%w %s: %w", ErrInvalidVariable, n.text, err)
			}
			if err := r.write(b, s); err != nil {
				return err
			}
		case nodeSection:
			v, ok := r.vars[n.text]
			if !ok {
				return fmt.Errorf("%w %s (section at line %d column %d)", ErrMissingVariable, n.text, n.line, n.col)
			}
			if truthy(v) != n.inverted {
				if err := r.render(b, n.children); err != nil {
					return err
				}
			}
		case nodePartial:
			if len(r.stack) >= r.maxDep {
				return fmt.Errorf("%w: more than %d levels (%s)", ErrPartialsTooDeep, r.maxDep, strings.Join(r.stack, " > "))
			}
			t, id, err := r.partial(n.text)
			if err != nil {
				return fmt.Errorf("partial %s (line %d column %d): %w", n.text, n.line, n.col, err)
			}
			for _, s := range r.stack {
				if s == id {
					return fmt.Errorf("%w: %s > %s", ErrPartialCycle, strings.Join(r.stack, " > "), id)
				}
			}
			r.stack = append(r.stack, id)
			err = r.render(b, t.nodes)
			r.stack = r.stack[:len(r.stack)-1]
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *renderer) write(b *strings.Builder, s string) error {
	if len(s) > r.left {
		return ErrOutputTooLarge
	}
	r.left -= len(s)
	b.WriteString(s)
	return nil
}

// valueText is how a variable's value appears in a prompt: a string as
// is, anything else as compact JSON.
func valueText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case nil:
		return "", errors.New("null: pass a value or declare a default")
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case bool:
		return v
	case json.Number:
		f, err := v.Float64()
		return err != nil || f != 0
	case float64:
		return v != 0
	case int:
		return v != 0
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

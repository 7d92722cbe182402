package prompt

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func renderString(t *testing.T, src string, vars map[string]any, partials map[string]string) (string, error) {
	t.Helper()
	tm, err := Parse(src)
	if err != nil {
		return "", err
	}
	rd := renderer{vars: vars, left: 1 << 20, maxDep: 8}
	rd.partial = func(ref string) (*Template, string, error) {
		p, ok := partials[ref]
		if !ok {
			return nil, "", errPartialsNotFound
		}
		pt, err := Parse(p)
		return pt, ref, err
	}
	var b strings.Builder
	err = rd.render(&b, tm.nodes)
	return b.String(), err
}

func TestTemplate(t *testing.T) {
	vars := map[string]any{
		"name": "Ada <admin> & co", "empty": "", "n": json.Number("42"), "zero": json.Number("0"),
		"yes": true, "no": false, "list": []any{"a", json.Number("1")}, "obj": map[string]any{"k": "v"},
	}
	partials := map[string]string{"safety": "Be safe, {{name}}.", "outer@2": "[{{> safety}}]"}
	for _, tc := range []struct{ src, want string }{
		{"", ""},
		{"plain text } { }} {", "plain text } { }} {"},
		{"Hi {{name}}!", "Hi Ada <admin> & co!"}, // nothing escaped
		{"{{ name }}", "Ada <admin> & co"},
		{"{{n}} {{yes}} {{list}} {{obj}}", `42 true ["a",1] {"k":"v"}`},
		{"{{#name}}has{{/name}}{{^name}}none{{/name}}", "has"},
		{"{{#empty}}has{{/empty}}{{^empty}}none{{/empty}}", "none"},
		{"{{#zero}}z{{/zero}}{{#no}}f{{/no}}{{#list}}L{{/list}}{{#obj}}O{{/obj}}", "LO"},
		{"{{#yes}}{{#n}}both {{n}}{{/n}}{{/yes}}", "both 42"},
		{"a{{! a comment with {{ inside }}b", "ab"},
		{"a{{!c}}b", "ab"},
		{`{{"{{"}}name}}`, "{{name}}"},
		{`{{ "}}" }}`, "}}"},
		{"{{> safety}} {{> outer@2}}", "Be safe, Ada <admin> & co. [Be safe, Ada <admin> & co.]"},
		{"é{{name}}é", "éAda <admin> & coé"},
	} {
		got, err := renderString(t, tc.src, vars, partials)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestTemplateSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"{{", "line 1 column 1: unclosed tag"},
		{"ab\ncé {{name", "line 2 column 4: unclosed tag"},
		{"{{}}", "empty tag"},
		{"{{ two words }}", "not a tag"},
		{"{{.}}", "not a tag"},
		{"{{range .}}", "not a tag"},
		{"{{name | upper}}", "not a tag"},
		{"{{1abc}}", "not a tag"},
		{"{{#a}}x", "section {{#a}} is not closed"},
		{"{{#a}}x{{/b}}", "closes the section {{#a}}"},
		{"{{/a}}", "closes no section"},
		{"{{> }}", "partial"},
		{"{{> a@0}}", "positive number"},
		{"{{> a@b@c}}", "label"},
		{`{{"abc}}`, "literal"},
		{`{{"a" x}}`, "literal"},
		{"{{#a}}" + strings.Repeat("{{#b}}", 20), "nested deeper"},
		{"\xff", "UTF-8"},
	} {
		_, err := Parse(tc.src)
		var te *TemplateError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want a TemplateError containing %q", tc.src, err, tc.want)
		}
	}
}

func TestTemplateRenderErrors(t *testing.T) {
	partials := map[string]string{"a": "{{> b}}", "b": "{{> a}}", "self": "{{> self}}"}
	for _, tc := range []struct {
		src  string
		want error
		msg  string
	}{
		{"{{missing}}", ErrMissingVariable, "missing variable missing (line 1 column 1)"},
		{"{{#missing}}x{{/missing}}", ErrMissingVariable, "missing"},
		{"{{null}}", ErrInvalidVariable, "null"},
		{"{{> a}}", ErrPartialCycle, "a > b > a"},
		{"{{> self}}", ErrPartialCycle, "self > self"},
	} {
		_, err := renderString(t, tc.src, map[string]any{"null": nil}, partials)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v, want %v containing %q", tc.src, err, tc.want, tc.msg)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"claude-*", "claude-3-5-sonnet", true},
		{"claude-*", "claude-", true},
		{"claude-*", "gpt-4o", false},
		{"*", "", true},
		{"gpt-4o", "gpt-4o", true},
		{"gpt-4o", "gpt-4o-mini", false},
		{"*-mini", "gpt-4o-mini", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"**", "x", true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 100), false},
	} {
		if got := globMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Ref
		err  bool
	}{
		{"support-reply", Ref{Name: "support-reply"}, false},
		{"support-reply@latest", Ref{Name: "support-reply"}, false},
		{"support-reply@3", Ref{Name: "support-reply", Version: 3}, false},
		{"support-reply@production", Ref{Name: "support-reply", Label: "production"}, false},
		{"a.b_c@v2-beta", Ref{Name: "a.b_c", Label: "v2-beta"}, false},
		{"", Ref{}, true},
		{"@3", Ref{}, true},
		{"x@", Ref{}, true},
		{"x@0", Ref{}, true},
		{"x@03", Ref{}, true},
		{"x@-1", Ref{}, true},
		{"x@3a", Ref{}, true},
		{"x@99999999999999999999", Ref{}, true},
		{"x y", Ref{}, true},
		{"-x", Ref{}, true},
		{"x@a@b", Ref{}, true},
	} {
		got, err := ParseRef(tc.in)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil {
			if back, _ := ParseRef(got.String()); back != got {
				t.Errorf("ParseRef(%q).String() = %q does not parse back", tc.in, got.String())
			}
		}
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"", "Hi {{name}}", "{{#a}}x{{^b}}y{{/b}}{{/a}}", `{{"{{"}}`, "{{> p@2}}", "{{!c}}", "{{", "}}{{}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tm, err := Parse(src)
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) || te.Line < 1 || te.Col < 1 {
				t.Fatalf("Parse(%q): %v is not a TemplateError with a position", src, err)
			}
			return
		}
		// Every variable set to "" and every partial empty: rendering
		// succeeds and, without partials, yields at most the source.
		vars := map[string]any{}
		for _, v := range tm.Vars {
			vars[v] = "v"
		}
		rd := renderer{vars: vars, left: 1 << 20, maxDep: 8}
		empty, _ := Parse("")
		rd.partial = func(ref string) (*Template, string, error) { return empty, ref, nil }
		var b strings.Builder
		if err := rd.render(&b, tm.nodes); err != nil {
			t.Fatalf("render %q: %v", src, err)
		}
		if len(tm.Partials) == 0 && b.Len() > len(src) {
			t.Fatalf("render %q: %d bytes out of %d in", src, b.Len(), len(src))
		}
	})
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"a", "a@1", "a@prod", "a@latest", "a@", "@", "a@0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		back, err := ParseRef(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRef(%q) = %+v; its String %q parses to %+v, %v", s, r, r.String(), back, err)
		}
	})
}

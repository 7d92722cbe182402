package prompt

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type auditCall struct{ Action, Kind, ID string }

type fakeAudit struct{ calls []auditCall }

func (f *fakeAudit) Record(ctx context.Context, action, kind, id string, before, after any) error {
	f.calls = append(f.calls, auditCall{action, kind, id})
	return nil
}

func ptr[T any](v T) *T { return &v }

var supportReply = Content{
	Messages: []Message{
		{Role: "system", Content: "{{> safety@production}}\nYou help customers of {{company}}."},
		{Role: "user", Content: "{{question}}{{#order}}\nOrder: {{order}}{{/order}}"},
	},
	Variables: []Variable{
		{Name: "company", Default: ptr("Acme")},
		{Name: "question", Description: "the customer's question"},
		{Name: "order", Default: ptr("")},
	},
	Params: Params{Temperature: ptr(0.2), MaxTokens: ptr(500)},
	Variants: []Variant{
		{Model: "claude-*", Messages: []Message{{Role: "system", Content: "<rules>{{> safety}}</rules>"}, {Role: "user", Content: "{{question}}"}}, Params: Params{Temperature: ptr(0.5)}},
		{Name: "claude-haiku-exact", Model: "claude-3-5-haiku", Messages: []Message{{Role: "user", Content: "short: {{question}}"}}},
		{Provider: "onprem", Messages: []Message{{Role: "user", Content: "onprem: {{question}}"}}},
	},
}

func newRegistry(t *testing.T) (*Registry, *fakeAudit) {
	t.Helper()
	a := &fakeAudit{}
	r := New(Options{Store: openStore(t), Audit: a})
	ctx := context.Background()
	if _, err := r.PutPartial(ctx, "safety", PartialContent{Text: "Never share secrets."}, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetLabel(ctx, store.PromptKindPartial, "safety", "production", 1, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutPartial(ctx, "safety", PartialContent{Text: "Never share secrets, {{company}}."}, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Put(ctx, "support-reply", supportReply, "alice"); err != nil {
		t.Fatal(err)
	}
	return r, a
}

func TestRender(t *testing.T) {
	r, a := newRegistry(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		target Target
		vars   map[string]any
		want   Rendered
	}{
		{"default wording", Target{Provider: "openai", Model: "gpt-4o"}, map[string]any{"question": "Where is it?"}, Rendered{
			Name: "support-reply", Version: 1,
			Messages: []Message{{"system", "Never share secrets.\nYou help customers of Acme."}, {"user", "Where is it?"}},
			Params:   Params{Temperature: ptr(0.2), MaxTokens: ptr(500)}, Partials: []string{"safety@1"},
		}},
		{"optional section", Target{Model: "gpt-4o"}, map[string]any{"question": "Where?", "order": "A-1", "company": "Initech"}, Rendered{
			Name: "support-reply", Version: 1,
			Messages: []Message{{"system", "Never share secrets.\nYou help customers of Initech."}, {"user", "Where?\nOrder: A-1"}},
			Params:   Params{Temperature: ptr(0.2), MaxTokens: ptr(500)}, Partials: []string{"safety@1"},
		}},
		{"glob variant, latest partial", Target{Provider: "anthropic", Model: "claude-sonnet-4"}, map[string]any{"question": "Q"}, Rendered{
			Name: "support-reply", Version: 1, Variant: "claude-*",
			Messages: []Message{{"system", "<rules>Never share secrets, Acme.</rules>"}, {"user", "Q"}},
			Params:   Params{Temperature: ptr(0.5), MaxTokens: ptr(500)}, Partials: []string{"safety@2"},
		}},
		{"exact model beats glob", Target{Model: "claude-3-5-haiku"}, map[string]any{"question": "Q"}, Rendered{
			Name: "support-reply", Version: 1, Variant: "claude-haiku-exact",
			Messages: []Message{{"user", "short: Q"}},
			Params:   Params{Temperature: ptr(0.2), MaxTokens: ptr(500)},
		}},
		{"provider variant", Target{Provider: "onprem", Model: "llama"}, map[string]any{"question": "Q"}, Rendered{
			Name: "support-reply", Version: 1, Variant: "onprem",
			Messages: []Message{{"user", "onprem: Q"}},
			Params:   Params{Temperature: ptr(0.2), MaxTokens: ptr(500)},
		}},
	} {
		got, err := r.Render(ctx, "support-reply", tc.target, tc.vars)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	want := []auditCall{
		{"prompt_partial.version.create", "prompt_partial", "safety@1"},
		{"prompt_partial.label.set", "prompt_partial", "safety@production"},
		{"prompt_partial.version.create", "prompt_partial", "safety@2"},
		{"prompt.version.create", "prompt", "support-reply@1"},
	}
	if diff := cmp.Diff(want, a.calls); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func TestRenderErrors(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := context.Background()
	if _, err := r.PutPartial(ctx, "loop-a", PartialContent{Text: "{{> loop-b}}"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutPartial(ctx, "loop-b", PartialContent{Text: "{{> loop-a@1}}"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutPartial(ctx, "uses-undeclared", PartialContent{Text: "{{secret}}"}, ""); err != nil {
		t.Fatal(err)
	}
	put := func(name string, msgs ...string) {
		c := Content{Variables: []Variable{{Name: "x", Default: ptr("")}}}
		for _, m := range msgs {
			c.Messages = append(c.Messages, Message{Role: "user", Content: m})
		}
		if _, err := r.Put(ctx, name, c, ""); err != nil {
			t.Fatal(err)
		}
	}
	put("loop", "{{> loop-a}}")
	put("undeclared", "{{> uses-undeclared}}")
	put("missing-partial", "{{> nope}}")
	put("big", "{{x}}{{x}}{{x}}")
	small := New(Options{Store: r.st, MaxRenderedBytes: 10})
	for _, tc := range []struct {
		r    *Registry
		ref  string
		vars map[string]any
		want error
		msg  string
	}{
		{r, "support-reply", nil, ErrMissingVariable, "prompt support-reply@1: missing variable: question"},
		{r, "support-reply", map[string]any{"question": "q", "qestion": "typo"}, ErrUnknownVariable, "unknown variable: qestion (declared: company, order, question)"},
		{r, "support-reply@2", nil, ErrNotFound, "no version 2"},
		{r, "support-reply@staging", nil, ErrNotFound, "no label staging"},
		{r, "nope", nil, ErrNotFound, "no prompt nope"},
		{r, "bad name", nil, ErrInvalid, "name"},
		{r, "loop", nil, ErrPartialCycle, "loop-a@1 > loop-b@1 > loop-a@1"},
		{r, "undeclared", nil, ErrInvalid, "partial uses-undeclared@1 uses variable secret"},
		{r, "missing-partial", nil, ErrNotFound, "partial nope"},
		{small, "big", map[string]any{"x": "1234"}, ErrOutputTooLarge, "over 10 bytes"},
	} {
		_, err := tc.r.Render(ctx, tc.ref, Target{}, tc.vars)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s %v: %v, want %v containing %q", tc.ref, tc.vars, err, tc.want, tc.msg)
		}
	}
	lax := New(Options{Store: r.st, AllowUnknownVariables: true})
	if _, err := lax.Render(ctx, "support-reply", Target{}, map[string]any{"question": "q", "other": 1}); err != nil {
		t.Errorf("AllowUnknownVariables: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := func() Content {
		return Content{Messages: []Message{{Role: "user", Content: "{{a}}"}}, Variables: []Variable{{Name: "a"}}}
	}
	for _, tc := range []struct {
		name string
		edit func(c *Content)
		msg  string
	}{
		{"no messages", func(c *Content) { c.Messages = nil }, "messages: at least one message"},
		{"bad role", func(c *Content) { c.Messages[0].Role = "tool" }, "messages[0].role"},
		{"undeclared", func(c *Content) { c.Messages[0].Content = "{{b}}" }, "messages[0].content uses variable b"},
		{"syntax", func(c *Content) { c.Messages[0].Content = "{{a" }, "messages[0].content: line 1 column 1: unclosed tag"},
		{"twice", func(c *Content) { c.Variables = append(c.Variables, Variable{Name: "a"}) }, "variables[1]: a is declared twice"},
		{"var name", func(c *Content) { c.Variables[0].Name = "a-b" }, "variables[0]"},
		{"temperature", func(c *Content) { c.Params.Temperature = ptr(3.0) }, "params.temperature"},
		{"max_tokens", func(c *Content) { c.Params.MaxTokens = ptr(0) }, "params.max_tokens"},
		{"tools", func(c *Content) { c.Tools = []byte(`{}`) }, "tools must be a JSON array"},
		{"response_format", func(c *Content) { c.ResponseFormat = []byte(`[]`) }, "response_format"},
		{"variant match", func(c *Content) { c.Variants = []Variant{{Messages: c.Messages}} }, "variants[0]: model or provider"},
		{"variant var", func(c *Content) {
			c.Variants = []Variant{{Model: "x", Messages: []Message{{Role: "user", Content: "{{z}}"}}}}
		}, "variants[0].messages[0].content uses variable z"},
	} {
		c := ok()
		tc.edit(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want ErrInvalid containing %q", tc.name, err, tc.msg)
		}
	}
	c := ok()
	if err := c.Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
}

func TestLabelsAndCache(t *testing.T) {
	st := openStore(t)
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	r := New(Options{Store: st, Now: clock})
	other := New(Options{Store: st, Now: clock}) // another replica
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "user", Name: "alice"})
	for _, text := range []string{"one", "two"} {
		if _, err := r.Put(ctx, "p", Content{Messages: []Message{{Role: "user", Content: text}}}, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	text := func(reg *Registry, ref string) string {
		t.Helper()
		out, err := reg.Render(ctx, ref, Target{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out.Messages[0].Content
	}
	if _, err := r.SetLabel(ctx, store.PromptKindPrompt, "p", "production", 1, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := text(other, "p@production"); got != "one" {
		t.Errorf("production: %q", got)
	}
	if _, err := r.SetLabel(ctx, store.PromptKindPrompt, "p", "production", 2, "alice"); err != nil {
		t.Fatal(err)
	}
	if got := text(r, "p@production"); got != "two" {
		t.Errorf("production after the move, same registry: %q", got)
	}
	if got := text(other, "p@production"); got != "one" {
		t.Errorf("production after the move, other replica within the TTL: %q (want the cached one)", got)
	}
	now = now.Add(6 * time.Second)
	if got := text(other, "p@production"); got != "two" {
		t.Errorf("production after the TTL: %q", got)
	}
	if _, err := r.SetLabel(ctx, store.PromptKindPrompt, "p", "production", 3, "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("label to version 3: %v", err)
	}
	for _, bad := range []string{"12", "latest", "a b", ""} {
		if _, err := r.SetLabel(ctx, store.PromptKindPrompt, "p", bad, 1, "alice"); !errors.Is(err, ErrInvalid) {
			t.Errorf("label %q: %v, want ErrInvalid", bad, err)
		}
	}
	hist, err := r.LabelHistory(ctx, store.PromptKindPrompt, "p")
	if err != nil || len(hist) != 2 || hist[0].Version != 1 || hist[1].Version != 2 {
		t.Errorf("history: %+v, %v", hist, err)
	}
	list, err := r.List(ctx, store.PromptKindPrompt)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Summary{{Name: "p", LatestVersion: 2, UpdatedAt: now.Add(-6 * time.Second).UTC(), Labels: map[string]int{"production": 2}}}, list); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
}

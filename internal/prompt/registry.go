package prompt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// Store is what the registry needs of the store.
type Store interface {
	store.PromptStore
}

// Auditor records a change in the audit log (*audit.Log is one): action,
// the object's kind and id, and its state before (nil: created) and after.
// It reports its own failures; a change that is made stays made.
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// Options configure a Registry.
type Options struct {
	Store Store
	// Audit, optional, records new versions and label moves.
	Audit Auditor
	// AllowUnknownVariables makes Render ignore variables a call passes that
	// the prompt and its partials do not declare. Default false: such a
	// variable is an error (it is usually a typo, and a typo would
	// otherwise drop the caller's data silently).
	AllowUnknownVariables bool
	// MaxRenderedBytes bounds a rendered prompt's messages together.
	// Default 1 MiB.
	MaxRenderedBytes int
	// MaxPartialDepth bounds partials within partials. Default 8.
	MaxPartialDepth int
	// LabelTTL is how long the version a label (or "latest") points at is
	// cached: a move made through another replica is seen after at most
	// this long; one made through this registry at once. Default 5s.
	LabelTTL time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// Registry keeps prompts and partials in the store and renders them.
// Versions are immutable, so parsed versions are cached; labels are cached
// for LabelTTL.
type Registry struct {
	st    Store
	audit Auditor
	opt   Options

	mu       sync.Mutex
	versions map[versionKey]*compiled // immutable: kept until the cache is full
	labels   map[labelKey]labelEntry
}

type versionKey struct {
	kind, name string
	version    int
}

type labelKey struct {
	kind, name, label string // label "" is the latest version
}

type labelEntry struct {
	version int
	expires time.Time
}

// maxCached bounds each cache; when full it is emptied.
const maxCached = 4096

// compiled is a version with its templates parsed.
type compiled struct {
	kind    string
	name    string
	version int
	content Content        // prompts
	partial PartialContent // partials
	// tmpl[0] is the default wording, tmpl[i+1] variant i; a partial's
	// text is tmpl[0][0].
	tmpl [][]*Template
	meta store.PromptVersion // Doc included
}

// New returns a registry.
func New(opt Options) *Registry {
	if opt.MaxRenderedBytes <= 0 {
		opt.MaxRenderedBytes = 1 << 20
	}
	if opt.MaxPartialDepth <= 0 {
		opt.MaxPartialDepth = 8
	}
	if opt.LabelTTL <= 0 {
		opt.LabelTTL = 5 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Registry{st: opt.Store, audit: opt.Audit, opt: opt, versions: map[versionKey]*compiled{}, labels: map[labelKey]labelEntry{}}
}

// Version is one stored version of a prompt.
type Version struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Content
}

// PartialVersion is one stored version of a partial.
type PartialVersion struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	PartialContent
}

// Summary is a prompt or partial in a list.
type Summary struct {
	Name          string         `json:"name"`
	LatestVersion int            `json:"latest_version"`
	UpdatedAt     time.Time      `json:"updated_at"`
	Labels        map[string]int `json:"labels"`
}

// Label is a label in force, or one move of it.
type Label struct {
	Label     string    `json:"label"`
	Version   int       `json:"version"`
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"`
}

func labelOf(l store.PromptLabel) Label {
	return Label{Label: l.Label, Version: l.Version, ChangedAt: l.ChangedAt, ChangedBy: l.ChangedBy}
}

func auditKind(kind string) string {
	if kind == store.PromptKindPartial {
		return "prompt_partial"
	}
	return "prompt"
}

// Put stores c as the next version of prompt name. by is who made it
// (stored with the version; the audit entry takes its actor from ctx).
func (r *Registry) Put(ctx context.Context, name string, c Content, by string) (Version, error) {
	if err := CheckName("prompt", name); err != nil {
		return Version{}, err
	}
	if err := c.Validate(); err != nil {
		return Version{}, fmt.Errorf("prompt %s: %w", name, err)
	}
	sv, err := r.put(ctx, store.PromptKindPrompt, name, c, by)
	if err != nil {
		return Version{}, err
	}
	v := Version{Name: name, Version: sv.Version, CreatedAt: sv.CreatedAt, CreatedBy: sv.CreatedBy, Content: c}
	r.record(ctx, "prompt.version.create", store.PromptKindPrompt, name+"@"+strconv.Itoa(v.Version), nil, v)
	return v, nil
}

// PutPartial stores c as the next version of partial name.
func (r *Registry) PutPartial(ctx context.Context, name string, c PartialContent, by string) (PartialVersion, error) {
	if err := CheckName("partial", name); err != nil {
		return PartialVersion{}, err
	}
	if err := c.Validate(); err != nil {
		return PartialVersion{}, fmt.Errorf("partial %s: %w", name, err)
	}
	sv, err := r.put(ctx, store.PromptKindPartial, name, c, by)
	if err != nil {
		return PartialVersion{}, err
	}
	v := PartialVersion{Name: name, Version: sv.Version, CreatedAt: sv.CreatedAt, CreatedBy: sv.CreatedBy, PartialContent: c}
	r.record(ctx, "prompt_partial.version.create", store.PromptKindPartial, name+"@"+strconv.Itoa(v.Version), nil, v)
	return v, nil
}

func (r *Registry) put(ctx context.Context, kind, name string, content any, by string) (store.PromptVersion, error) {
	doc, err := json.Marshal(content)
	if err != nil {
		return store.PromptVersion{}, fmt.Errorf("%s %s: %w", kind, name, err)
	}
	sv, err := r.st.AppendPromptVersion(ctx, store.PromptVersion{Kind: kind, Name: name, Doc: doc, CreatedAt: r.opt.Now(), CreatedBy: by})
	if err != nil {
		return sv, fmt.Errorf("store %s %s: %w", kind, name, err)
	}
	r.mu.Lock()
	delete(r.labels, labelKey{kind, name, ""})
	r.mu.Unlock()
	return sv, nil
}

func (r *Registry) record(ctx context.Context, action, kind, id string, before, after any) {
	if r.audit != nil {
		_ = r.audit.Record(ctx, action, auditKind(kind), id, before, after)
	}
}

// resolve returns the version number ref points at.
func (r *Registry) resolve(ctx context.Context, kind string, ref Ref) (int, error) {
	if ref.Version > 0 {
		return ref.Version, nil
	}
	k := labelKey{kind, ref.Name, ref.Label}
	now := r.opt.Now()
	r.mu.Lock()
	e, ok := r.labels[k]
	r.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.version, nil
	}
	var n int
	if ref.Label == "" {
		sv, err := r.st.PromptVersion(ctx, kind, ref.Name, 0)
		if errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("%w: no %s %s", ErrNotFound, kind, ref.Name)
		}
		if err != nil {
			return 0, err
		}
		n = sv.Version
		r.cache(kind, sv) // the latest version is read whole: keep it
	} else {
		ls, err := r.st.PromptLabels(ctx, kind, ref.Name)
		if err != nil {
			return 0, err
		}
		i := slices.IndexFunc(ls, func(l store.PromptLabel) bool { return l.Label == ref.Label })
		if i < 0 {
			return 0, fmt.Errorf("%w: %s %s has no label %s", ErrNotFound, kind, ref.Name, ref.Label)
		}
		n = ls[i].Version
	}
	r.mu.Lock()
	if len(r.labels) >= maxCached {
		clear(r.labels)
	}
	r.labels[k] = labelEntry{version: n, expires: now.Add(r.opt.LabelTTL)}
	r.mu.Unlock()
	return n, nil
}

// load returns the compiled version kind/name/version.
func (r *Registry) load(ctx context.Context, kind string, ref Ref) (*compiled, error) {
	n, err := r.resolve(ctx, kind, ref)
	if err != nil {
		return nil, err
	}
	k := versionKey{kind, ref.Name, n}
	r.mu.Lock()
	c := r.versions[k]
	r.mu.Unlock()
	if c != nil {
		return c, nil
	}
	sv, err := r.st.PromptVersion(ctx, kind, ref.Name, n)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s %s has no version %d", ErrNotFound, kind, ref.Name, n)
	}
	if err != nil {
		return nil, err
	}
	return r.cache(kind, sv)
}

// cache compiles a stored version and keeps it.
func (r *Registry) cache(kind string, sv store.PromptVersion) (*compiled, error) {
	c := &compiled{kind: kind, name: sv.Name, version: sv.Version}
	parse := func(msgs []Message) ([]*Template, error) {
		out := make([]*Template, len(msgs))
		for i, m := range msgs {
			t, err := Parse(m.Content)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	}
	if kind == store.PromptKindPartial {
		if err := json.Unmarshal(sv.Doc, &c.partial); err != nil {
			return nil, fmt.Errorf("partial %s version %d: stored document: %w", sv.Name, sv.Version, err)
		}
		t, err := Parse(c.partial.Text)
		if err != nil {
			return nil, fmt.Errorf("partial %s version %d: %w", sv.Name, sv.Version, err)
		}
		c.tmpl = [][]*Template{{t}}
	} else {
		if err := json.Unmarshal(sv.Doc, &c.content); err != nil {
			return nil, fmt.Errorf("prompt %s version %d: stored document: %w", sv.Name, sv.Version, err)
		}
		t, err := parse(c.content.Messages)
		if err != nil {
			return nil, fmt.Errorf("prompt %s version %d: %w", sv.Name, sv.Version, err)
		}
		c.tmpl = append(c.tmpl, t)
		for _, vr := range c.content.Variants {
			t, err := parse(vr.Messages)
			if err != nil {
				return nil, fmt.Errorf("prompt %s version %d: %w", sv.Name, sv.Version, err)
			}
			c.tmpl = append(c.tmpl, t)
		}
	}
	c.meta = sv
	r.mu.Lock()
	if len(r.versions) >= maxCached {
		clear(r.versions)
	}
	r.versions[versionKey{kind, sv.Name, sv.Version}] = c
	r.mu.Unlock()
	return c, nil
}

// Get returns the version ref (name, name@3, name@production) points at.
func (r *Registry) Get(ctx context.Context, ref string) (Version, error) {
	rf, err := ParseRef(ref)
	if err != nil {
		return Version{}, err
	}
	c, err := r.load(ctx, store.PromptKindPrompt, rf)
	if err != nil {
		return Version{}, err
	}
	return Version{Name: c.name, Version: c.version, CreatedAt: c.meta.CreatedAt, CreatedBy: c.meta.CreatedBy, Content: c.content}, nil
}

// GetPartial returns the partial version ref points at.
func (r *Registry) GetPartial(ctx context.Context, ref string) (PartialVersion, error) {
	rf, err := ParseRef(ref)
	if err != nil {
		return PartialVersion{}, err
	}
	c, err := r.load(ctx, store.PromptKindPartial, rf)
	if err != nil {
		return PartialVersion{}, err
	}
	return PartialVersion{Name: c.name, Version: c.version, CreatedAt: c.meta.CreatedAt, CreatedBy: c.meta.CreatedBy, PartialContent: c.partial}, nil
}

// History returns every version of prompt name, oldest first.
func (r *Registry) History(ctx context.Context, name string) ([]Version, error) {
	svs, err := r.history(ctx, store.PromptKindPrompt, name)
	if err != nil {
		return nil, err
	}
	out := make([]Version, len(svs))
	for i, sv := range svs {
		out[i] = Version{Name: sv.Name, Version: sv.Version, CreatedAt: sv.CreatedAt, CreatedBy: sv.CreatedBy}
		if err := json.Unmarshal(sv.Doc, &out[i].Content); err != nil {
			return nil, fmt.Errorf("prompt %s version %d: stored document: %w", name, sv.Version, err)
		}
	}
	return out, nil
}

// PartialHistory returns every version of partial name, oldest first.
func (r *Registry) PartialHistory(ctx context.Context, name string) ([]PartialVersion, error) {
	svs, err := r.history(ctx, store.PromptKindPartial, name)
	if err != nil {
		return nil, err
	}
	out := make([]PartialVersion, len(svs))
	for i, sv := range svs {
		out[i] = PartialVersion{Name: sv.Name, Version: sv.Version, CreatedAt: sv.CreatedAt, CreatedBy: sv.CreatedBy}
		if err := json.Unmarshal(sv.Doc, &out[i].PartialContent); err != nil {
			return nil, fmt.Errorf("partial %s version %d: stored document: %w", name, sv.Version, err)
		}
	}
	return out, nil
}

func (r *Registry) history(ctx context.Context, kind, name string) ([]store.PromptVersion, error) {
	svs, err := r.st.PromptVersions(ctx, kind, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no %s %s", ErrNotFound, kind, name)
	}
	return svs, err
}

// Labels returns the labels in force of prompt name (or partial, with
// kind store.PromptKindPartial), by label.
func (r *Registry) Labels(ctx context.Context, kind, name string) ([]Label, error) {
	ls, err := r.st.PromptLabels(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	out := make([]Label, len(ls))
	for i, l := range ls {
		out[i] = labelOf(l)
	}
	return out, nil
}

// LabelHistory returns every label move of a prompt or partial, oldest
// first.
func (r *Registry) LabelHistory(ctx context.Context, kind, name string) ([]Label, error) {
	ls, err := r.st.PromptLabelHistory(ctx, kind, name)
	if err != nil {
		return nil, err
	}
	out := make([]Label, len(ls))
	for i, l := range ls {
		out[i] = labelOf(l)
	}
	return out, nil
}

// SetLabel points label of a prompt or partial at version.
func (r *Registry) SetLabel(ctx context.Context, kind, name, label string, version int, by string) (Label, error) {
	if kind != store.PromptKindPrompt && kind != store.PromptKindPartial {
		return Label{}, fmt.Errorf("%w: kind %q", ErrInvalid, kind)
	}
	if err := CheckName(kind, name); err != nil {
		return Label{}, err
	}
	if err := checkLabel(label); err != nil {
		return Label{}, err
	}
	if version <= 0 {
		return Label{}, fmt.Errorf("%w: version must be positive", ErrInvalid)
	}
	before, err := r.st.PromptLabels(ctx, kind, name)
	if err != nil {
		return Label{}, err
	}
	l, err := r.st.SetPromptLabel(ctx, store.PromptLabel{Kind: kind, Name: name, Label: label, Version: version, ChangedAt: r.opt.Now(), ChangedBy: by})
	if errors.Is(err, store.ErrNotFound) {
		return Label{}, fmt.Errorf("%w: %s %s has no version %d", ErrNotFound, kind, name, version)
	}
	if err != nil {
		return Label{}, err
	}
	r.mu.Lock()
	delete(r.labels, labelKey{kind, name, label})
	r.mu.Unlock()
	var prev any
	if i := slices.IndexFunc(before, func(b store.PromptLabel) bool { return b.Label == label }); i >= 0 {
		prev = labelOf(before[i])
	}
	out := labelOf(l)
	r.record(ctx, auditKind(kind)+".label.set", kind, name+"@"+label, prev, out)
	return out, nil
}

// List returns every prompt (or partial) with its labels, by name.
func (r *Registry) List(ctx context.Context, kind string) ([]Summary, error) {
	ps, err := r.st.ListPrompts(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, len(ps))
	for i, p := range ps {
		out[i] = Summary{Name: p.Name, LatestVersion: p.LatestVersion, UpdatedAt: p.UpdatedAt, Labels: map[string]int{}}
		ls, err := r.st.PromptLabels(ctx, kind, p.Name)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			out[i].Labels[l.Label] = l.Version
		}
	}
	return out, nil
}

// Target is where a call goes: the variant is chosen by its provider and
// model.
type Target struct {
	Provider string `json:"provider,omitempty"`
	Model    string `json:"model,omitempty"`
}

// Rendered is a rendered prompt.
type Rendered struct {
	// Name and Version identify the prompt version rendered.
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Variant is the variant used: its name, or its model/provider
	// condition; "" for the default wording.
	Variant  string    `json:"variant"`
	Messages []Message `json:"messages"`
	// Params are the prompt's defaults (the variant's where it sets them).
	Params         Params          `json:"params,omitzero"`
	Tools          json.RawMessage `json:"tools,omitempty"`
	ResponseFormat json.RawMessage `json:"response_format,omitempty"`
	// Partials are the partials included, as name@version.
	Partials []string `json:"partials,omitempty"`
}

// Render renders the prompt ref (name, name@3, name@production) for
// target with vars (values as decoded from JSON: strings are inserted as
// they are, other values as JSON). Errors wrap ErrNotFound,
// ErrMissingVariable, ErrUnknownVariable, ErrPartialCycle,
// ErrOutputTooLarge or ErrInvalid and name what they concern.
func (r *Registry) Render(ctx context.Context, ref string, target Target, vars map[string]any) (Rendered, error) {
	rf, err := ParseRef(ref)
	if err != nil {
		return Rendered{}, err
	}
	c, err := r.load(ctx, store.PromptKindPrompt, rf)
	if err != nil {
		return Rendered{}, err
	}
	out := Rendered{Name: c.name, Version: c.version, Params: c.content.Params, Tools: c.content.Tools, ResponseFormat: c.content.ResponseFormat}
	msgs, tmpl := c.content.Messages, c.tmpl[0]
	if i := c.content.variantFor(target.Provider, target.Model); i >= 0 {
		vr := c.content.Variants[i]
		msgs, tmpl = vr.Messages, c.tmpl[i+1]
		out.Variant = vr.Name
		if out.Variant == "" {
			out.Variant = strings.Trim(vr.Provider+"/"+vr.Model, "/")
		}
		if vr.Params.Temperature != nil {
			out.Params.Temperature = vr.Params.Temperature
		}
		if vr.Params.TopP != nil {
			out.Params.TopP = vr.Params.TopP
		}
		if vr.Params.MaxTokens != nil {
			out.Params.MaxTokens = vr.Params.MaxTokens
		}
	}
	who := fmt.Sprintf("prompt %s@%d", c.name, c.version)
	texts, partials, err := r.renderTemplates(ctx, who, c.content.Variables, tmpl, vars)
	if err != nil {
		return Rendered{}, err
	}
	out.Partials = partials
	out.Messages = make([]Message, len(msgs))
	for i, m := range msgs {
		out.Messages[i] = Message{Role: m.Role, Content: texts[i]}
	}
	return out, nil
}

// RenderedPartial is a rendered partial.
type RenderedPartial struct {
	Name     string   `json:"name"`
	Version  int      `json:"version"`
	Text     string   `json:"text"`
	Partials []string `json:"partials,omitempty"`
}

// RenderPartial renders a partial alone, as a prompt including it would.
func (r *Registry) RenderPartial(ctx context.Context, ref string, vars map[string]any) (RenderedPartial, error) {
	rf, err := ParseRef(ref)
	if err != nil {
		return RenderedPartial{}, err
	}
	c, err := r.load(ctx, store.PromptKindPartial, rf)
	if err != nil {
		return RenderedPartial{}, err
	}
	who := fmt.Sprintf("partial %s@%d", c.name, c.version)
	texts, partials, err := r.renderTemplates(ctx, who, c.partial.Variables, c.tmpl[0], vars)
	if err != nil {
		return RenderedPartial{}, err
	}
	return RenderedPartial{Name: c.name, Version: c.version, Text: texts[0], Partials: partials}, nil
}

// renderTemplates renders tmpl with vars against the declarations decls
// and those of the partials they include, all within one output bound.
func (r *Registry) renderTemplates(ctx context.Context, who string, decls []Variable, tmpl []*Template, vars map[string]any) ([]string, []string, error) {
	// Resolve every partial reachable from these templates, once per
	// render, so that a label moving meanwhile cannot mix two versions.
	parts := map[string]*compiled{}
	ids := map[string]string{}
	var walk func(refs []string, stack []string) error
	walk = func(refs []string, stack []string) error {
		for _, ref := range refs {
			p, ok := parts[ref]
			if !ok {
				if len(parts) >= 64 {
					return fmt.Errorf("%s: %w: more than 64 partials", who, ErrInvalid)
				}
				pr, err := ParseRef(ref)
				if err != nil {
					return fmt.Errorf("%s: partial %s: %w", who, ref, err)
				}
				if p, err = r.load(ctx, store.PromptKindPartial, pr); err != nil {
					return fmt.Errorf("%s: partial %s: %w", who, ref, err)
				}
				parts[ref], ids[ref] = p, fmt.Sprintf("%s@%d", p.name, p.version)
			}
			id := ids[ref]
			if slices.Contains(stack, id) {
				return fmt.Errorf("%s: %w: %s > %s", who, ErrPartialCycle, strings.Join(stack, " > "), id)
			}
			if len(stack) >= r.opt.MaxPartialDepth {
				return fmt.Errorf("%s: %w: more than %d levels (%s > %s)", who, ErrPartialsTooDeep, r.opt.MaxPartialDepth, strings.Join(stack, " > "), id)
			}
			if err := walk(p.tmpl[0][0].Partials, append(stack, id)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range tmpl {
		if err := walk(t.Partials, nil); err != nil {
			return nil, nil, err
		}
	}

	// Declarations: the prompt's, then the partials' where the prompt has
	// none.
	declared := map[string]*Variable{}
	for i := range decls {
		declared[decls[i].Name] = &decls[i]
	}
	refs := make([]string, 0, len(parts))
	for ref := range parts {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	for _, ref := range refs {
		p := parts[ref]
		for i := range p.partial.Variables {
			if v := &p.partial.Variables[i]; declared[v.Name] == nil {
				declared[v.Name] = v
			}
		}
	}
	var used []string
	for _, ref := range refs {
		for _, v := range parts[ref].tmpl[0][0].Vars {
			if declared[v] == nil {
				return nil, nil, fmt.Errorf("%s: %w: partial %s uses variable %s, which neither the prompt nor a partial it includes declares", who, ErrInvalid, ids[ref], v)
			}
		}
		used = append(used, ids[ref])
	}
	for _, t := range tmpl { // a partial rendered alone: its own variables
		for _, v := range t.Vars {
			if declared[v] == nil {
				return nil, nil, fmt.Errorf("%s: %w: variable %s is used but not declared", who, ErrInvalid, v)
			}
		}
	}
	slices.Sort(used)
	used = slices.Compact(used)

	values := make(map[string]any, len(declared))
	var unknown, missing []string
	for k, v := range vars {
		if declared[k] == nil {
			unknown = append(unknown, k)
			continue
		}
		values[k] = v
	}
	if len(unknown) > 0 && !r.opt.AllowUnknownVariables {
		slices.Sort(unknown)
		return nil, nil, fmt.Errorf("%s: %w: %s (declared: %s)", who, ErrUnknownVariable, clip(strings.Join(unknown, ", "), 200), declaredList(declared))
	}
	for name, d := range declared {
		if _, ok := values[name]; ok {
			continue
		}
		if d.Default != nil {
			values[name] = *d.Default
			continue
		}
		missing = append(missing, name)
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, nil, fmt.Errorf("%s: %w: %s", who, ErrMissingVariable, strings.Join(missing, ", "))
	}

	rd := renderer{vars: values, left: r.opt.MaxRenderedBytes, maxDep: r.opt.MaxPartialDepth + 1}
	rd.partial = func(ref string) (*Template, string, error) {
		p := parts[ref]
		if p == nil { // every reachable reference was resolved above
			return nil, "", fmt.Errorf("%w: %s", errPartialsNotFound, ref)
		}
		return p.tmpl[0][0], ids[ref], nil
	}
	texts := make([]string, len(tmpl))
	var b strings.Builder
	for i, t := range tmpl {
		b.Reset()
		if err := rd.render(&b, t.nodes); err != nil {
			if errors.Is(err, ErrOutputTooLarge) {
				return nil, nil, fmt.Errorf("%s: %w: over %d bytes", who, err, r.opt.MaxRenderedBytes)
			}
			return nil, nil, fmt.Errorf("%s: message %d: %w", who, i, err)
		}
		texts[i] = b.String()
	}
	return texts, used, nil
}

func declaredList(d map[string]*Variable) string {
	if len(d) == 0 {
		return "none"
	}
	names := make([]string, 0, len(d))
	for n := range d {
		names = append(names, n)
	}
	slices.Sort(names)
	return clip(strings.Join(names, ", "), 200)
}

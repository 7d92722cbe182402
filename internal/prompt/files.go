package prompt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weirhq/weir/internal/store"
)

// fileDoc is one prompt file: a prompt (or partial, with kind: partial)
// with its current content at the top level, or its versions in order
// under versions. Field names are those of the API.
type fileDoc struct {
	Name        string        `yaml:"name" json:"-"`
	Kind        string        `yaml:"kind" json:"-"`
	Versions    []fileVersion `yaml:"versions" json:"-"`
	fileVersion `yaml:",inline"`
}

type fileVersion struct {
	Labels         []string       `yaml:"labels,omitempty" json:"-"`
	Description    string         `yaml:"description" json:"description,omitempty"`
	Messages       []Message      `yaml:"messages" json:"messages,omitempty"`
	Variables      []fileVariable `yaml:"variables" json:"variables,omitempty"`
	Tools          any            `yaml:"tools" json:"tools,omitempty"`
	ResponseFormat any            `yaml:"response_format" json:"response_format,omitempty"`
	Params         *fileParams    `yaml:"params" json:"params,omitempty"`
	Variants       []fileVariant  `yaml:"variants" json:"variants,omitempty"`
	Text           *string        `yaml:"text" json:"text,omitempty"` // partials
}

type fileVariable struct {
	Name        string  `yaml:"name" json:"name"`
	Description string  `yaml:"description" json:"description,omitempty"`
	Default     *string `yaml:"default" json:"default,omitempty"`
}

type fileParams struct {
	Temperature *float64 `yaml:"temperature" json:"temperature,omitempty"`
	TopP        *float64 `yaml:"top_p" json:"top_p,omitempty"`
	MaxTokens   *int     `yaml:"max_tokens" json:"max_tokens,omitempty"`
}

type fileVariant struct {
	Name     string      `yaml:"name" json:"name,omitempty"`
	Model    string      `yaml:"model" json:"model,omitempty"`
	Provider string      `yaml:"provider" json:"provider,omitempty"`
	Messages []Message   `yaml:"messages" json:"messages"`
	Params   *fileParams `yaml:"params" json:"params,omitempty"`
}

// loaded is a validated file.
type loaded struct {
	path, kind, name string
	versions         []loadedVersion
}

type loadedVersion struct {
	labels []string
	doc    []byte // canonical JSON of the content
}

// SyncResult says what a sync changed.
type SyncResult struct {
	// Created are the new versions, as kind name@version.
	Created []string `json:"created"`
	// Labelled are the label moves, as kind name@label=version.
	Labelled []string `json:"labelled"`
}

// SyncDir loads every *.yaml and *.yml file of dir, one prompt or partial
// per file, and brings the store in line: a file's content becomes a new
// version only when it differs from the latest stored version (with
// versions:, each listed version is matched with an identical stored one,
// else appended in order), and its labels are pointed at it. Every file is
// checked before anything is written: one bad file changes nothing, and
// the errors name each file and line. by is stored as the versions' and
// labels' author.
func (r *Registry) SyncDir(ctx context.Context, dir, by string) (SyncResult, error) {
	var res SyncResult
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return res, err
	}
	more, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	paths = append(paths, more...)
	slices.Sort(paths)
	var (
		errs  []error
		files []loaded
		names = map[string]string{} // kind/name -> path
	)
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l, err := parseFile(p, src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := names[l.kind+"/"+l.name]; dup {
			errs = append(errs, fmt.Errorf("%s: %s %s is also defined in %s", p, l.kind, l.name, prev))
			continue
		}
		names[l.kind+"/"+l.name] = p
		files = append(files, l)
	}
	if len(errs) > 0 {
		return res, errors.Join(errs...)
	}
	for _, f := range files {
		if err := r.syncFile(ctx, f, by, &res); err != nil {
			return res, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return res, nil
}

func (r *Registry) syncFile(ctx context.Context, f loaded, by string, res *SyncResult) error {
	stored, err := r.st.PromptVersions(ctx, f.kind, f.name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	canon := func(doc []byte) string {
		var c any
		if f.kind == store.PromptKindPartial {
			c = &PartialContent{}
		} else {
			c = &Content{}
		}
		if json.Unmarshal(doc, c) != nil {
			return ""
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	existing := map[string]int{} // canonical doc -> latest version holding it
	latest := ""
	for _, sv := range stored {
		c := canon(sv.Doc)
		existing[c] = sv.Version
		latest = c
	}
	labels, err := r.st.PromptLabels(ctx, f.kind, f.name)
	if err != nil {
		return err
	}
	current := map[string]int{}
	for _, l := range labels {
		current[l.Label] = l.Version
	}
	for _, v := range f.versions {
		doc := string(v.doc)
		n, ok := existing[doc]
		if len(f.versions) == 1 {
			n, ok = len(stored), doc == latest
		}
		if !ok {
			if f.kind == store.PromptKindPartial {
				var c PartialContent
				_ = json.Unmarshal(v.doc, &c)
				pv, err := r.PutPartial(ctx, f.name, c, by)
				if err != nil {
					return err
				}
				n = pv.Version
			} else {
				var c Content
				_ = json.Unmarshal(v.doc, &c)
				pv, err := r.Put(ctx, f.name, c, by)
				if err != nil {
					return err
				}
				n = pv.Version
			}
			existing[doc] = n
			res.Created = append(res.Created, fmt.Sprintf("%s %s@%d", f.kind, f.name, n))
		}
		for _, l := range v.labels {
			if current[l] == n {
				continue
			}
			if _, err := r.SetLabel(ctx, f.kind, f.name, l, n, by); err != nil {
				return err
			}
			current[l] = n
			res.Labelled = append(res.Labelled, fmt.Sprintf("%s %s@%s=%d", f.kind, f.name, l, n))
		}
	}
	return nil
}

// parseFile decodes and validates one file; errors name the file and line.
func parseFile(path string, src []byte) (loaded, error) {
	l := loaded{path: path}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var d fileDoc
	if err := dec.Decode(&d); err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	at := func(p string, err error) error {
		if line := lineOf(&root, p); line > 0 {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	l.kind = d.Kind
	if l.kind == "" {
		l.kind = store.PromptKindPrompt
	}
	if l.kind != store.PromptKindPrompt && l.kind != store.PromptKindPartial {
		return l, at("kind", fmt.Errorf("kind %q: prompt or partial", d.Kind))
	}
	l.name = d.Name
	if l.name == "" {
		l.name = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".yaml"), ".yml")
	}
	if err := CheckName(l.kind, l.name); err != nil {
		return l, at("name", err)
	}
	entries, prefix := []fileVersion{d.fileVersion}, ""
	if len(d.Versions) > 0 {
		if b, _ := json.Marshal(d.fileVersion); string(b) != "{}" || len(d.fileVersion.Labels) > 0 {
			return l, at("versions", errors.New("with versions:, the content and labels go inside each version, not at the top level"))
		}
		entries, prefix = d.Versions, "versions"
	}
	for i, e := range entries {
		p := prefix
		if p != "" {
			p += "[" + strconv.Itoa(i) + "]."
		}
		for _, lb := range e.Labels {
			if err := checkLabel(lb); err != nil {
				return l, at(p+"labels", err)
			}
		}
		b, err := json.Marshal(e)
		if err != nil {
			return l, at(strings.TrimSuffix(p, "."), err)
		}
		var doc any
		if l.kind == store.PromptKindPartial {
			var c PartialContent
			if len(e.Messages) > 0 || len(e.Variants) > 0 || e.Params != nil || e.Tools != nil || e.ResponseFormat != nil {
				return l, at(strings.TrimSuffix(p, "."), errors.New("a partial has text, description and variables only"))
			}
			if err := json.Unmarshal(b, &c); err != nil {
				return l, at(strings.TrimSuffix(p, "."), err)
			}
			if err := c.Validate(); err != nil {
				return l, at(p+errField(err), err)
			}
			doc = c
		} else {
			var c Content
			if e.Text != nil {
				return l, at(p+"text", errors.New("text is for partials (kind: partial); a prompt has messages"))
			}
			if err := json.Unmarshal(b, &c); err != nil {
				return l, at(strings.TrimSuffix(p, "."), err)
			}
			if err := c.Validate(); err != nil {
				return l, at(p+errField(err), err)
			}
			doc = c
		}
		canon, _ := json.Marshal(doc)
		l.versions = append(l.versions, loadedVersion{labels: e.Labels, doc: canon})
	}
	return l, nil
}

// fieldPath finds the path a validation error starts with, after the
// ErrInvalid prefix: "messages[1].content", "variables[0]", "params".
var fieldPath = regexp.MustCompile(`^invalid: ((?:[a-z_]+(?:\[\d+\])?\.?)+)`)

func errField(err error) string {
	m := fieldPath.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return strings.TrimSuffix(m[1], ".")
}

// lineOf returns the line of the node at path (keys and [index]es, dotted)
// under a document node, or of its deepest existing ancestor; 0 when none.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			continue
		}
		key, idx := seg, -1
		if i := strings.IndexByte(seg, '['); i >= 0 && strings.HasSuffix(seg, "]") {
			key = seg[:i]
			idx, _ = strconv.Atoi(seg[i+1 : len(seg)-1])
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				line = n.Content[i].Line
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

package prompt

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSyncDir(t *testing.T) {
	ctx := context.Background()
	r := New(Options{Store: openStore(t)})
	dir := t.TempDir()
	for _, f := range []string{"support-reply.yaml", "safety.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/prompts", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.SyncDir(ctx, dir, "files")
	if err != nil {
		t.Fatal(err)
	}
	want := SyncResult{
		Created:  []string{"partial safety@1", "partial safety@2", "prompt support-reply@1"},
		Labelled: []string{"partial safety@production=1", "partial safety@staging=2", "prompt support-reply@production=1"},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("first sync (-want +got):\n%s", diff)
	}
	// Unchanged files change nothing.
	res, err = r.SyncDir(ctx, dir, "files")
	if err != nil || len(res.Created)+len(res.Labelled) != 0 {
		t.Errorf("second sync: %+v, %v; want no change", res, err)
	}
	out, err := r.Render(ctx, "support-reply@production", Target{Model: "gpt-4o"}, map[string]any{"question": "Where?"})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Messages[0].Content; got != "Never share secrets.\nYou help customers of Acme." {
		t.Errorf("rendered system message %q", got)
	}
	if !strings.Contains(string(out.Tools), "lookup_order") {
		t.Errorf("tools %s", out.Tools)
	}
	// A changed file: a new version, its label moved.
	p := filepath.Join(dir, "support-reply.yaml")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), "You help", "You gladly help", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = r.SyncDir(ctx, dir, "files")
	want = SyncResult{Created: []string{"prompt support-reply@2"}, Labelled: []string{"prompt support-reply@production=2"}}
	if err != nil || !cmp.Equal(want, res) {
		t.Errorf("sync after a change: %+v, %v; want %+v", res, err, want)
	}
}

func TestParseFileErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"undeclared.yaml", "testdata/bad/undeclared.yaml:3: invalid: messages[0].content uses variable question"},
		{"unknown-field.yaml", "testdata/bad/unknown-field.yaml: yaml: unmarshal errors:\n  line 3: field contnet not found"},
		{"unclosed.yaml", "testdata/bad/unclosed.yaml:2: invalid: text: line 1 column 1: section {{#a}} is not closed"},
		{"label.yaml", `testdata/bad/label.yaml:1: invalid: label "12" is all digits`},
	} {
		p := filepath.Join("testdata/bad", tc.file)
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = parseFile(p, src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.file, err, tc.want)
		}
	}
	// One bad file in a directory: nothing is written.
	r := New(Options{Store: openStore(t)})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.yaml"), []byte("messages: [{role: user, content: hi}]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("messages: [{role: robot, content: hi}]\n"), 0o644)
	if _, err := r.SyncDir(context.Background(), dir, "files"); err == nil || !strings.Contains(err.Error(), "bad.yaml:1") {
		t.Errorf("sync with a bad file: %v", err)
	}
	if l, _ := r.List(context.Background(), "prompt"); len(l) != 0 {
		t.Errorf("a bad file let %v be written", l)
	}
}

func FuzzParseFile(f *testing.F) {
	for _, p := range []string{"testdata/prompts/support-reply.yaml", "testdata/prompts/safety.yaml", "testdata/bad/undeclared.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		l, err := parseFile("f.yaml", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if len(l.versions) == 0 {
			t.Fatal("a valid file without versions")
		}
	})
}

package azure

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/internal/provider/openai"
)

// filteredRef is Filtered written with encoding/json, for comparison.
func filteredRef(body []byte) (bool, bool) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false, false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return false, false
	}
	found := false
	for _, key := range []string{"prompt_filter_results", "choices"} {
		list, _ := obj[key].([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			res, _ := m["content_filter_results"].(map[string]any)
			for _, cat := range res {
				c, _ := cat.(map[string]any)
				if f, _ := c["filtered"].(bool); f {
					found = true
				}
			}
		}
	}
	return found, true
}

func addFixtures(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"choices":[{"content_filter_results":{"x":{"filtered":true}}}]}`))
	f.Add([]byte(`{"prompt_filter_results":[{"content_filter_results":{"jailbreak":{"filtered":false,"detected":true}}}]}`))
	f.Add([]byte(`{"choices":{},"prompt_filter_results":[1,"a",null]}`))
}

// FuzzFiltered: Filtered never panics, and on valid JSON it agrees with an
// encoding/json reading of the same object (compared on the canonical
// form, where duplicate keys, which the two readers resolve differently,
// are gone).
func FuzzFiltered(f *testing.F) {
	addFixtures(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Filtered(body)
		if !json.Valid(body) {
			return
		}
		var v any
		json.Unmarshal(body, &v)
		canon, _ := json.Marshal(v)
		want, ok := filteredRef(canon)
		if !ok {
			return
		}
		got, err = Filtered(canon)
		if err != nil {
			t.Fatalf("Filtered(%s): %v", canon, err)
		}
		if got != want {
			t.Fatalf("Filtered(%s) = %v, encoding/json says %v", canon, got, want)
		}
	})
}

// FuzzParseError: ParseError never panics, keeps OpenAI's reading of an
// OpenAI-shaped body, and reads a message from any body that has one at
// the top level.
func FuzzParseError(f *testing.F) {
	addFixtures(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, code := ParseError(body)
		if omsg, ocode := openai.ParseError(body); omsg != "" || ocode != "" {
			if msg != omsg || (ocode != "" && ocode != "null" && code != ocode) {
				t.Fatalf("ParseError(%q) = %q, %q; openai says %q, %q", body, msg, code, omsg, ocode)
			}
			return
		}
		var top struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &top) == nil && top.Message != msg {
			t.Fatalf("ParseError(%q) = %q, want the top-level message %q", body, msg, top.Message)
		}
	})
}

// FuzzStreamEvent: the stream's Azure-specific reading of a raw event
// (prelude test, filter verdict) never panics.
func FuzzStreamEvent(f *testing.F) {
	for _, name := range []string{"stream_filtered.sse", "stream_no_model.sse"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if mayBeFiltered(raw) {
			Filtered(eventJSON(raw))
		}
	})
}

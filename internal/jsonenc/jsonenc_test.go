package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// marshal is encoding/json without HTML escaping, which JSON does not need.
func marshal(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "nl\n cr\r tab\t nul\x00 \x1f", "é 漢字 🙂 <a href=x>&</a>", "\u2028\u2029", "bad \xff utf8"} {
		want := marshal(s)
		if got := AppendString(nil, s); string(got) != want {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\c\n\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want := marshal(s)
		if got := AppendString(nil, s); string(got) != want {
			t.Fatalf("AppendString(%q) = %s, encoding/json gives %s", s, got, want)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendString(buf[:0], "Hello, \"world\"\n")
	}
}

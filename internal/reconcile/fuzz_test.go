package reconcile

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seed adds the fixtures of a provider, and a few malformed inputs, to the
// corpus.
func seed(f *testing.F, provider string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", provider+"_*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, ".golden") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "{", "[]", "[{}]", `{"data":[]}`, "date,cost\n2024-11-01,1e-3\n", "a,b\n\"\n"} {
		f.Add([]byte(s))
	}
}

// checkBill fails unless a parsed bill is well formed, and runs it through
// Compare and WriteText.
func checkBill(t *testing.T, provider string, b Bill) {
	t.Helper()
	if b.Provider != provider || b.Format == "" {
		t.Fatalf("bill provider %q format %q", b.Provider, b.Format)
	}
	for i, l := range b.Lines {
		if !l.Day.Equal(dayOf(l.Day)) || l.Day.Location() != time.UTC {
			t.Fatalf("line %d: day %v is not UTC midnight", i, l.Day)
		}
		if !l.HasCost && !l.HasUsage {
			t.Fatalf("line %d has neither cost nor usage", i)
		}
		if u := l.Usage; u.Input < 0 || u.CacheRead < 0 || u.CacheWrite < 0 || u.Output < 0 || u.Requests < 0 {
			t.Fatalf("line %d: negative tokens %+v", i, u)
		}
		if i > 0 {
			p := b.Lines[i-1]
			if p.Day.After(l.Day) || p.Day.Equal(l.Day) && p.Model >= l.Model {
				t.Fatalf("lines %d and %d are out of order or repeated: %+v, %+v", i-1, i, p, l)
			}
		}
	}
	r := Compare(b, nil, Options{Normalize: StripDateSuffix})
	if err := r.WriteText(io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("marshal report: %v", err)
	}
}

func FuzzParseOpenAI(f *testing.F) {
	seed(f, ProviderOpenAI)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(ProviderOpenAI, bytes.NewReader(data))
		if err != nil {
			return
		}
		checkBill(t, ProviderOpenAI, b)
	})
}

func FuzzParseAnthropic(f *testing.F) {
	seed(f, ProviderAnthropic)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(ProviderAnthropic, bytes.NewReader(data))
		if err != nil {
			return
		}
		checkBill(t, ProviderAnthropic, b)
	})
}

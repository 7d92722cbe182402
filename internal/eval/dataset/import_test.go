package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseJSONL(t *testing.T) {
	in := `{"id":"q1","input":"What is 2+2?","expected":"4","tags":["math"],"split":"test"}

{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"metadata":{"source":"faq"}}
{"variables":{"city":"Paris","n":3},"expected":{"temp":20}}
{"input":{"city":"Lyon"}}
{"input":[{"role":"user","content":"x"}],"source_call":"req_1"}`
	got, err := ParseJSONL(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{ID: "q1", Messages: json.RawMessage(`[{"content":"What is 2+2?","role":"user"}]`), Expected: json.RawMessage(`"4"`), Tags: []string{"math"}, Split: "test"},
		{Messages: json.RawMessage(`[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]`), Metadata: json.RawMessage(`{"source":"faq"}`)},
		{Variables: json.RawMessage(`{"city":"Paris","n":3}`), Expected: json.RawMessage(`{"temp":20}`)},
		{Variables: json.RawMessage(`{"city":"Lyon"}`)},
		{Messages: json.RawMessage(`[{"role":"user","content":"x"}]`), SourceCall: "req_1"},
	}
	if diff := cmp.Diff(want, got, cmp.Transformer("s", func(r json.RawMessage) string { return string(r) })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if s, ok := got[0].ExpectedText(); !ok || s != "4" {
		t.Errorf("expected text %q %v", s, ok)
	}
	if s, ok := got[2].ExpectedText(); !ok || s != `{"temp":20}` {
		t.Errorf("expected JSON %q %v", s, ok)
	}
	if _, ok := got[1].ExpectedText(); ok {
		t.Error("an item without expected output has one")
	}
}

func lineErrors(t *testing.T, err error) []LineError {
	t.Helper()
	var ie *ImportError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v is not an ImportError wrapping ErrInvalid", err)
	}
	return ie.Lines
}

func TestParseJSONLErrors(t *testing.T) {
	in := `{"input":"ok"}
{"input":"unknown field","answer":"x"}
not json
{"input":"both","messages":[{"role":"user","content":"x"}]}
{"expected":"no input"}
{"messages":[{"role":"robot","content":"x"}]}
{"messages":[]}
{"variables":[1]}
{"input":"x","metadata":[1]}
{"input":"x","tags":["a,b"]}
{"input":"x","split":"has space"}
{"input":"x","id":"-bad"}
{"input":"x"} {"input":"y"}
{"input":42}`
	_, err := ParseJSONL(strings.NewReader(in))
	lines := lineErrors(t, err)
	var got []int
	for _, l := range lines {
		got = append(got, l.Line)
		if l.Msg == "" {
			t.Errorf("line %d: empty message", l.Line)
		}
	}
	if want := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}; !cmp.Equal(want, got) {
		t.Errorf("error lines %v, want %v (%v)", got, want, err)
	}
	if !strings.Contains(err.Error(), `line 2: json: unknown field "answer"`) {
		t.Errorf("message %q", err)
	}
	if _, err := ParseJSONL(strings.NewReader("\n \n")); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty import: %v", err)
	}
}

func TestParseJSONLErrorCap(t *testing.T) {
	_, err := ParseJSONL(strings.NewReader(strings.Repeat("x\n", 100)))
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Lines) != maxLineErrors || !ie.More {
		t.Errorf("100 bad lines: %v", err)
	}
}

func TestImportLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 64 MiB imports")
	}
	var b bytes.Buffer
	for range MaxImportItems + 1 {
		b.WriteString(`{"input":"x"}` + "\n")
	}
	if _, err := ParseJSONL(bytes.NewReader(b.Bytes())); !errors.Is(err, errTooMany) {
		t.Errorf("jsonl over the item limit: %v", err)
	}
	b.Reset()
	b.WriteString("input\n")
	for range MaxImportItems + 1 {
		b.WriteString("x\n")
	}
	if _, err := ParseCSV(bytes.NewReader(b.Bytes())); !errors.Is(err, errTooMany) {
		t.Errorf("csv over the item limit: %v", err)
	}
	big := `{"input":"` + strings.Repeat("a", 1<<20-20) + `"}` + "\n"
	huge := strings.Repeat(big, MaxImportBytes/len(big)+1)
	if _, err := ParseJSONL(strings.NewReader(huge)); !errors.Is(err, errTooLarge) {
		t.Errorf("jsonl over 64 MiB: %v", err)
	}
	csvBig := "input\n" + strings.Repeat(strings.Repeat("a", 1<<20-20)+"\n", MaxImportBytes/(1<<20-19)+1)
	if _, err := ParseCSV(strings.NewReader(csvBig)); !errors.Is(err, errTooLarge) {
		t.Errorf("csv over 64 MiB: %v", err)
	}
}

func TestParseCSV(t *testing.T) {
	in := "\ufeffid,input,variables.city,expected,tags,split,metadata.source\n" +
		"a1,What is the capital?,,Paris,\"geo, easy\",test,faq\n" +
		"a2,,Lyon,,,train,\n" +
		"a4,[urgent] where is my order?,,,,,\n" +
		"a3,\"[{\"\"role\"\":\"\"user\"\",\"\"content\"\":\"\"multi\\nline\"\"}]\",,\"line one\nline two\",,,\n"
	got, err := ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{ID: "a1", Messages: json.RawMessage(`[{"content":"What is the capital?","role":"user"}]`), Expected: json.RawMessage(`"Paris"`), Tags: []string{"geo", "easy"}, Split: "test", Metadata: json.RawMessage(`{"source":"faq"}`)},
		{ID: "a2", Variables: json.RawMessage(`{"city":"Lyon"}`), Split: "train"},
		{ID: "a4", Messages: json.RawMessage(`[{"content":"[urgent] where is my order?","role":"user"}]`)},
		{ID: "a3", Messages: json.RawMessage(`[{"role":"user","content":"multi\nline"}]`), Expected: json.RawMessage(`"line one\nline two"`)},
	}
	if diff := cmp.Diff(want, got, cmp.Transformer("s", func(r json.RawMessage) string { return string(r) })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		lines    []int
	}{
		{"unknown column", "input,answer\nx,y\n", []int{1}},
		{"duplicate column", "input,input\nx,y\n", []int{1}},
		{"input and messages", "input,messages\nx,\n", []int{1}},
		{"bad rows", "id,input,split\nok,x,\n-bad,x,\nb2,,\nb3,x,two words\nb4,\"[{\"\"role\"\":1}]\",\n", []int{3, 4, 5, 6}},
		{"field count", "input,split\nx\ny,test\n", []int{2}},
		{"quote", "input\n\"x\ny\"z\n", []int{2}},
		{"messages not json", "messages\n{\n", []int{2}},
		{"row after multiline cell", "id,input\na,\"one\ntwo\"\n-b,x\n", []int{4}},
	} {
		_, err := ParseCSV(strings.NewReader(tc.in))
		lines := lineErrors(t, err)
		var got []int
		for _, l := range lines {
			got = append(got, l.Line)
		}
		if !cmp.Equal(tc.lines, got) {
			t.Errorf("%s: error lines %v, want %v (%v)", tc.name, got, tc.lines, err)
		}
	}
	if _, err := ParseCSV(strings.NewReader("")); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty: %v", err)
	}
	if _, err := ParseCSV(strings.NewReader("input\n")); !errors.Is(err, ErrInvalid) {
		t.Errorf("header only: %v", err)
	}
}

func checkParsed(t *testing.T, items []Item, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		return
	}
	for i, it := range items {
		again := it
		if err := again.Validate(); err != nil {
			t.Fatalf("item %d parsed but does not validate: %v", i, err)
		}
		if _, err := json.Marshal(it); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
}

func FuzzParseJSONL(f *testing.F) {
	f.Add(`{"input":"x","expected":"y","tags":["a"],"split":"test","metadata":{"k":1}}`)
	f.Add(`{"messages":[{"role":"user","content":"x"}]}` + "\n" + `{"variables":{"a":"b"}}`)
	f.Add("{\n}")
	f.Fuzz(func(t *testing.T, s string) {
		items, err := ParseJSONL(strings.NewReader(s))
		checkParsed(t, items, err)
	})
}

func FuzzParseCSV(f *testing.F) {
	f.Add("id,input,variables.a,expected,tags,split,metadata.k\n1,x,,y,\"a,b\",test,v\n")
	f.Add("messages\n\"[{\"\"role\"\":\"\"user\"\",\"\"content\"\":\"\"x\"\"}]\"\n")
	f.Add("input\n\"unterminated\n")
	f.Fuzz(func(t *testing.T, s string) {
		items, err := ParseCSV(strings.NewReader(s))
		checkParsed(t, items, err)
		for _, l := range func() []LineError {
			var ie *ImportError
			if errors.As(err, &ie) {
				return ie.Lines
			}
			return nil
		}() {
			if l.Line < 1 {
				t.Fatalf("line %d: %s", l.Line, fmt.Sprint(l.Msg))
			}
		}
	})
}

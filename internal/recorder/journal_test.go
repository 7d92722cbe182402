package recorder

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/record"
)

func encodeLine(t testing.TB, typ byte, rec *record.Record) []byte {
	t.Helper()
	e := getEncoder()
	defer putEncoder(e)
	b, err := e.encode(typ, rec)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(b)
}

func testRec(id string) record.Record {
	return record.Record{ID: id, ReceivedAt: time.Unix(1700000000, 123), Endpoint: record.EndpointChatCompletions, Status: 200,
		Request: "line1\nline2 \"q\" <tag> 🙂"}
}

func segment(t testing.TB, lines ...[]byte) []byte {
	return append([]byte(segmentHeader), bytes.Join(lines, nil)...)
}

func ids(t *testing.T, es []entry) string {
	t.Helper()
	var s []string
	for _, e := range es {
		id, err := entryID(e.payload)
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, string(e.typ)+":"+id)
	}
	return strings.Join(s, " ")
}

func TestDecodeSegment(t *testing.T) {
	a, b, c := testRec("a"), testRec("b"), testRec(`c"quoted\id`)
	la, lb, lc := encodeLine(t, typeBegin, &a), encodeLine(t, typeFinish, &b), encodeLine(t, typeFinish, &c)
	flipped := bytes.Clone(lb)
	flipped[prefixLen+5] ^= 0x20
	badType := bytes.Clone(la)
	badType[0] = 'x'

	f := func(name string, data []byte, want string, wantBad int) {
		t.Helper()
		es, bad, err := decodeSegment(data)
		if err != nil {
			t.Errorf("%s: error %v", name, err)
		}
		if got := ids(t, es); got != want || bad != wantBad {
			t.Errorf("%s: got %q with %d bad lines, want %q with %d", name, got, bad, want, wantBad)
		}
	}
	f("empty file", nil, "", 0)
	f("header only", segment(t), "", 0)
	f("torn header", []byte(segmentHeader[:5]), "", 0)
	f("entries", segment(t, la, lb, lc), `b:a f:b f:c"quoted\id`, 0)
	f("torn tail", segment(t, la, lb, lc[:len(lc)-1]), "b:a f:b", 1)
	f("torn tail mid-json", segment(t, la, lb, lc[:30]), "b:a f:b", 1)
	f("bad crc", segment(t, la, flipped, lc), `b:a f:c"quoted\id`, 1)
	f("bad type", segment(t, badType, lb), "f:b", 1)
	f("garbage line", segment(t, la, []byte("hello\n"), lb), "b:a f:b", 1)
	f("zeros after power loss", segment(t, la, make([]byte, 4096)), "b:a", 1)
	f("torn then more", segment(t, la[:20], lb), "", 1) // a torn line swallows the next: only when appended after, which Weir never does
	if _, _, err := decodeSegment([]byte("weir-journal 2\n")); err == nil {
		t.Error("foreign header: no error")
	}

	// Offsets: each entry knows where it starts and ends.
	es, _, _ := decodeSegment(segment(t, la, lb))
	if es[0].start != int64(len(segmentHeader)) || es[0].end != es[1].start || es[1].end != int64(len(segmentHeader)+len(la)+len(lb)) {
		t.Errorf("offsets: %d-%d, %d-%d", es[0].start, es[0].end, es[1].start, es[1].end)
	}
}

func TestEntryLineHasNoInnerNewline(t *testing.T) {
	r := testRec("x")
	r.Response = strings.Repeat("\n\r\u2028", 100)
	line := encodeLine(t, typeFinish, &r)
	if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
		t.Errorf("line has inner newlines: %q", line)
	}
}

func FuzzDecodeSegment(f *testing.F) {
	a, b := testRec("a"), testRec("b")
	f.Add(segment(f, encodeLine(f, typeBegin, &a), encodeLine(f, typeFinish, &b)))
	f.Add([]byte(segmentHeader + "f 00000000 {}\n"))
	f.Add([]byte(segmentHeader))
	f.Add([]byte{})
	f.Add([]byte("weir-jour"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, bad, err := decodeSegment(data)
		if bad < 0 {
			t.Fatal("negative bad count")
		}
		prevEnd := int64(0)
		for _, e := range es {
			if e.start < prevEnd || e.end <= e.start || e.end > int64(len(data)) {
				t.Fatalf("entry offsets %d-%d out of order (prev end %d, len %d)", e.start, e.end, prevEnd, len(data))
			}
			if !bytes.Equal(data[e.start:e.end], e.line) {
				t.Fatal("entry line does not match its offsets")
			}
			if typ, _, ok := parseLine(e.line); !ok || typ != e.typ {
				t.Fatal("returned an entry that does not parse")
			}
			prevEnd = e.end
			entryID(e.payload) // must not panic
		}
		if err == nil && bytes.HasPrefix(data, []byte(segmentHeader)) {
			// Valid entries appended after the decoded data are all found.
			c := testRec(fmt.Sprintf("after-%d", len(data)))
			more := append(bytes.Clone(data), '\n')
			more = append(more, encodeLine(t, typeFinish, &c)...)
			es2, _, err := decodeSegment(more)
			if err != nil || len(es2) == 0 {
				t.Fatalf("entry after fuzz data lost: %v", err)
			}
			if id, _ := entryID(es2[len(es2)-1].payload); id != c.ID {
				t.Fatalf("last entry is %q, want %q", id, c.ID)
			}
		}
	})
}

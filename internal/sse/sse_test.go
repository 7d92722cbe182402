package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type ev struct {
	Type, Data, ID, Raw string
	NilData             bool
}

func readAll(t *testing.T, in string, max int) ([]ev, error) {
	t.Helper()
	r := NewReaderSize(strings.NewReader(in), max)
	var out []ev
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev{Type: e.Type, Data: string(e.Data), ID: e.ID, Raw: string(e.Raw), NilData: e.Data == nil})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ev
	}{
		{"openai chunks", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []ev{
			{Data: `{"a":1}`, Raw: "data: {\"a\":1}\n\n"},
			{Data: "[DONE]", Raw: "data: [DONE]\n\n"},
		}},
		{"anthropic named events", "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n", []ev{
			{Type: "message_start", Data: `{"type":"message_start"}`, Raw: "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"},
			{Type: "ping", Data: `{"type": "ping"}`, Raw: "event: ping\ndata: {\"type\": \"ping\"}\n\n"},
		}},
		{"crlf and multi-line data", "data: a\r\ndata: b\r\n\r\n", []ev{{Data: "a\nb", Raw: "data: a\r\ndata: b\r\n\r\n"}}},
		{"comment only event", ": keep-alive\n\n", []ev{{Raw: ": keep-alive\n\n", NilData: true}}},
		{"no space after colon, id", "id: 7\ndata:x\n\n", []ev{{Data: "x", ID: "7", Raw: "id: 7\ndata:x\n\n"}}},
		{"leading blank lines", "\n\ndata: x\n\n", []ev{{Data: "x", Raw: "data: x\n\n"}}},
		{"empty data", "data\n\n", []ev{{Data: "", Raw: "data\n\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.in, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReaderTruncated(t *testing.T) {
	_, err := readAll(t, "data: {\"a\":1}\n\ndata: {\"partial", 1<<20)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestReaderLimit(t *testing.T) {
	big := "data: " + strings.Repeat("x", 100<<10) + "\n\n"
	if _, err := readAll(t, big, 64<<10); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("err = %v, want ErrEventTooLarge", err)
	}
	got, err := readAll(t, big, 1<<20)
	if err != nil || len(got) != 1 || len(got[0].Data) != 100<<10 {
		t.Errorf("long line across buffer refills: %d events, err %v", len(got), err)
	}
}

func TestAppendEvent(t *testing.T) {
	got := string(AppendEvent(nil, "error", []byte("a\nb")))
	want := "event: error\ndata: a\ndata: b\n\n"
	if got != want {
		t.Errorf("AppendEvent = %q, want %q", got, want)
	}
}

// Whatever the input, the reader must not panic, and every event it returns
// must round-trip: writing its data back and reading it again gives the same.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"a\":1}\n\ndata: [DONE]\n\n",
		"event: message_start\ndata: {}\n\n",
		"data: a\r\ndata: b\r\n\r\n",
		": c\n\nid: 1\ndata\n\n",
		"data: x\rdata: y\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReaderSize(bytes.NewReader(in), 4096)
		for i := 0; i < 10000; i++ {
			e, err := r.Next()
			if err != nil {
				return
			}
			if len(e.Raw) == 0 {
				t.Fatal("event with no raw bytes")
			}
			if e.Data == nil || bytes.ContainsAny(e.Data, "\r") {
				continue
			}
			again := NewReader(bytes.NewReader(AppendEvent(nil, "", e.Data)))
			e2, err := again.Next()
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			if !bytes.Equal(e.Data, e2.Data) {
				t.Fatalf("round trip %q -> %q", e.Data, e2.Data)
			}
		}
	})
}

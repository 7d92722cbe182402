package judge

import (
	"errors"
	"fmt"
	"testing"
)

// FuzzDecodeInput: a judge body decodes or is refused as invalid; a
// decoded definition validates or is refused as invalid, never panics.
func FuzzDecodeInput(f *testing.F) {
	f.Add([]byte(`{"name":"tone","criterion":"polite","model":"m","temperature":0.2,"prompt":"{{question}}","audit_share":0.1,"trust_threshold":0.7,"min_items":20,"criterion_version":1}`))
	f.Add([]byte(`{"model":"m"} {}`))
	f.Add([]byte(`{"prompt":"{{ x }}","model":"m","criterion_version":1}`))
	f.Add([]byte(`{"temperature":"hot"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeInput(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := in.Definition.Validate(); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Validate: %v does not wrap ErrInvalid", err)
		}
	})
}

func FuzzDecodeScoreRequest(f *testing.F) {
	f.Add([]byte(`{"targets":[{"kind":"call","id":"req_1"}]}`))
	f.Add([]byte(`{"version":2,"targets":[]}`))
	f.Add([]byte(`{"targets":[{"kind":1}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := DecodeScoreRequest(body); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	})
}

func FuzzReplyText(f *testing.F) {
	f.Add([]byte(`{"choices":[{"message":{"content":"hi"}}]}`))
	f.Add([]byte(`{"choices":[{"message":{"content":[{"type":"text","text":"a"}]}}]}`))
	f.Add([]byte(`{"choices":[{"message":{"content":null}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if s, err := ReplyText(raw); err != nil && s != "" {
			t.Fatalf("text %q with error %v", s, err)
		}
	})
}

// FuzzParseEvaluator: what parses prints back to itself.
func FuzzParseEvaluator(f *testing.F) {
	for _, s := range []string{"tone@3", "a@b@1", "x@0", "@1", "x@01", "x@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, v, ok := ParseEvaluator(s)
		if !ok {
			return
		}
		if name == "" || v < 1 || fmt.Sprintf("%s@%d", name, v) != s {
			t.Fatalf("ParseEvaluator(%q) = %q, %d", s, name, v)
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "2026-11-02", "2026-11-02T10:00:00Z", "2026-11-02T10:00:00.5+01:00", "yesterday"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if s == "" && !tm.IsZero() {
			t.Fatalf("empty gives %v", tm)
		}
		if tm.Location().String() != "UTC" {
			t.Fatalf("ParseTime(%q) in %s, want UTC", s, tm.Location())
		}
	})
}

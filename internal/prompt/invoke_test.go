package prompt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseInvocation(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tc := range []struct {
		name     string
		body     string
		h        http.Header
		want     Invocation
		wantRest string
		ok       bool
		err      string
	}{
		{"none", `{"model":"m","messages":[]}`, nil, Invocation{}, `{"model":"m","messages":[]}`, false, ""},
		{"none, not JSON", `not json`, nil, Invocation{}, `not json`, false, ""},
		{"header", `{"model":"m"}`, hdr(HeaderPrompt, "support-reply@production", HeaderVariables, `{"q":"Où?","n":1.50}`),
			Invocation{Ref: "support-reply@production", Variables: map[string]any{"q": "Où?", "n": json.Number("1.50")}}, `{"model":"m"}`, true, ""},
		{"header without variables", `{}`, hdr(HeaderPrompt, " p@3 "), Invocation{Ref: "p@3"}, `{}`, true, ""},
		{"body", `{"model":"m", "weir": {"prompt":"p","variables":{"a":"b"}}, "stream":true}`, nil,
			Invocation{Ref: "p", Variables: map[string]any{"a": "b"}}, `{"model":"m","stream":true}`, true, ""},
		{"body null", `{"weir":null,"model":"m"}`, nil, Invocation{}, `{"model":"m"}`, false, ""},
		{"body empty object", `{"weir":{},"model":"m"}`, nil, Invocation{}, `{"model":"m"}`, false, ""},
		{"both", `{"weir":{"prompt":"p"}}`, hdr(HeaderPrompt, "p"), Invocation{}, "", false, "both"},
		{"variables header alone", `{}`, hdr(HeaderVariables, `{}`), Invocation{}, "", false, "without X-Weir-Prompt"},
		{"variables body alone", `{"weir":{"variables":{"a":1}}}`, nil, Invocation{}, "", false, "without weir.prompt"},
		{"unknown weir key", `{"weir":{"prompt":"p","tags":[]}}`, nil, Invocation{}, "", false, "unknown field"},
		{"variables not object", `{}`, hdr(HeaderPrompt, "p", HeaderVariables, `[1]`), Invocation{}, "", false, "JSON object"},
		{"variables trailing", `{}`, hdr(HeaderPrompt, "p", HeaderVariables, `{} {}`), Invocation{}, "", false, "one JSON object"},
		{"bad ref", `{}`, hdr(HeaderPrompt, "p@0"), Invocation{}, "", false, "positive number"},
		{"duplicate key", `{"weir":{"prompt":"p"},"weir":{"prompt":"q"}}`, nil, Invocation{}, "", false, "twice"},
		{"not an object", `["weir"]`, nil, Invocation{}, "", false, "not a JSON object"},
		{"trailing data", `{"weir":null} {}`, nil, Invocation{}, "", false, "after"},
	} {
		h := tc.h
		if h == nil {
			h = http.Header{}
		}
		inv, rest, ok, err := ParseInvocation([]byte(tc.body), h)
		if tc.err != "" {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want ErrInvalid containing %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || ok != tc.ok {
			t.Errorf("%s: ok %v, err %v; want ok %v", tc.name, ok, err, tc.ok)
			continue
		}
		if diff := cmp.Diff(tc.want, inv); diff != "" {
			t.Errorf("%s: invocation (-want +got):\n%s", tc.name, diff)
		}
		if string(rest) != tc.wantRest {
			t.Errorf("%s: rest %s, want %s", tc.name, rest, tc.wantRest)
		}
	}
}

func TestApply(t *testing.T) {
	r := Rendered{Name: "p", Version: 2,
		Messages: []Message{{"system", "Be <safe> & kind."}, {"developer", "Dev."}, {"user", "Q?"}},
		Params:   Params{Temperature: ptr(0.2), MaxTokens: ptr(500)},
		Tools:    json.RawMessage(`[{"type":"function","function":{"name":"lookup","description":"d","parameters":{"type":"object"}}}]`),
	}
	for _, tc := range []struct {
		name string
		s    Surface
		body string
		r    Rendered
		want string
	}{
		{"openai, caller messages after", OpenAIChat, `{"model":"m","messages":[{"role":"user","content":"mine"}],"temperature":1}`, r,
			`{"model":"m","messages":[{"role":"system","content":"Be <safe> & kind."},{"role":"developer","content":"Dev."},{"role":"user","content":"Q?"},{"role":"user","content":"mine"}],"temperature":1,"max_tokens":500,"tools":[{"type":"function","function":{"name":"lookup","description":"d","parameters":{"type":"object"}}}]}`},
		{"openai, no messages, caller max_completion_tokens", OpenAIChat, `{"model":"m","max_completion_tokens":9,"tools":[]}`, r,
			`{"model":"m","max_completion_tokens":9,"tools":[],"temperature":0.2,"messages":[{"role":"system","content":"Be <safe> & kind."},{"role":"developer","content":"Dev."},{"role":"user","content":"Q?"}]}`},
		{"anthropic, system string", AnthropicMessages, `{"model":"m","system":"Mine.","messages":[{"role":"user","content":"mine"}]}`, r,
			`{"model":"m","system":"Be <safe> & kind.\n\nDev.\n\nMine.","messages":[{"role":"user","content":"Q?"},{"role":"user","content":"mine"}],"temperature":0.2,"max_tokens":500,"tools":[{"name":"lookup","description":"d","input_schema":{"type":"object"}}]}`},
		{"anthropic, system blocks, max_tokens kept", AnthropicMessages, `{"model":"m","max_tokens":10,"system":[{"type":"text","text":"Mine."}],"messages":null}`, Rendered{Messages: r.Messages},
			`{"model":"m","max_tokens":10,"system":[{"type":"text","text":"Be <safe> & kind.\n\nDev."},{"type":"text","text":"Mine."}],"messages":[{"role":"user","content":"Q?"}]}`},
		{"anthropic, no system", AnthropicMessages, `{"model":"m"}`, Rendered{Messages: []Message{{"user", "hi"}}},
			`{"model":"m","messages":[{"role":"user","content":"hi"}]}`},
	} {
		got, err := Apply(tc.s, []byte(tc.body), tc.r)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		s    Surface
		body string
		r    Rendered
		msg  string
	}{
		{"messages not array", OpenAIChat, `{"messages":{}}`, r, "messages must be an array"},
		{"anthropic response_format", AnthropicMessages, `{}`, Rendered{Messages: r.Messages, ResponseFormat: json.RawMessage(`{"type":"json_object"}`)}, "response_format"},
		{"anthropic non-function tool", AnthropicMessages, `{}`, Rendered{Messages: r.Messages, Tools: json.RawMessage(`[{"type":"web_search"}]`)}, "only function tools"},
		{"anthropic bad system", AnthropicMessages, `{"system":1}`, r, "system must be"},
	} {
		if _, err := Apply(tc.s, []byte(tc.body), tc.r); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want ErrInvalid containing %q", tc.name, err, tc.msg)
		}
	}
}

func TestPrepare(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := context.Background()
	body := []byte(`{"model":"support-chat","messages":[{"role":"user","content":"and more"}],"weir":{"prompt":"support-reply","variables":{"question":"Where?"}}}`)
	got, rendered, err := r.Prepare(ctx, AnthropicMessages, body, http.Header{}, Target{Provider: "anthropic", Model: "claude-sonnet-4"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"support-chat","messages":[{"role":"user","content":"Where?"},{"role":"user","content":"and more"}],"temperature":0.5,"system":"<rules>Never share secrets, Acme.</rules>","max_tokens":500}`
	if string(got) != want {
		t.Errorf("body:\n got %s\nwant %s", got, want)
	}
	if rendered == nil || rendered.Name != "support-reply" || rendered.Version != 1 || rendered.Variant != "claude-*" {
		t.Errorf("rendered %+v", rendered)
	}
	plain := []byte(`{"model":"m","messages":[]}`)
	got, rendered, err = r.Prepare(ctx, OpenAIChat, plain, http.Header{}, Target{})
	if err != nil || rendered != nil || !bytes.Equal(got, plain) {
		t.Errorf("no prompt: %s, %v, %v", got, rendered, err)
	}
	h := http.Header{}
	h.Set(HeaderPrompt, "support-reply")
	if _, _, err := r.Prepare(ctx, OpenAIChat, plain, h, Target{}); !errors.Is(err, ErrMissingVariable) {
		t.Errorf("missing variable through Prepare: %v", err)
	}
}

func FuzzParseInvocation(f *testing.F) {
	f.Add([]byte(`{"model":"m","weir":{"prompt":"p@2","variables":{"a":"b"}}}`), "", "")
	f.Add([]byte(`{"messages":[]}`), "p@production", `{"x":1}`)
	f.Add([]byte(`{"weir":null}`), "", "{}")
	f.Fuzz(func(t *testing.T, body []byte, ref, vars string) {
		h := http.Header{}
		if ref != "" {
			h.Set(HeaderPrompt, ref)
		}
		if vars != "" {
			h.Set(HeaderVariables, vars)
		}
		inv, rest, ok, err := ParseInvocation(body, h)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if ok {
			if _, err := ParseRef(inv.Ref); err != nil {
				t.Fatalf("ok with a bad reference %q", inv.Ref)
			}
		}
		if !bytes.Equal(rest, body) {
			// The body was rewritten: still one JSON object, without "weir".
			fs, err := splitObject(rest)
			if err != nil {
				t.Fatalf("rest %q: %v", rest, err)
			}
			if fs.index(BodyField) >= 0 {
				t.Fatalf("rest %q still has %q", rest, BodyField)
			}
			// Apply keeps it one valid object.
			for _, s := range []Surface{OpenAIChat, AnthropicMessages} {
				out, err := Apply(s, rest, Rendered{Messages: []Message{{"system", "s"}, {"user", "u"}}})
				if err == nil && !json.Valid(out) {
					t.Fatalf("Apply(%q) = %q is not JSON", rest, out)
				}
			}
		}
	})
}

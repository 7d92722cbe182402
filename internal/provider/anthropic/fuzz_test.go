package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/sse"
)

func addFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

func FuzzTranslateRequest(f *testing.F) {
	addFiles(f, "testdata/translate/*.openai.json")
	f.Add([]byte(`{"messages":[{"role":"tool","tool_call_id":"x","content":[{"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lG"}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := TranslateRequest(b, "", false)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON output %s for %s", out, b)
		}
		var m struct {
			MaxTokens int64 `json:"max_tokens"`
		}
		if json.Unmarshal(out, &m) != nil || m.MaxTokens < 1 {
			t.Fatalf("max_tokens missing in %s", out)
		}
	})
}

func FuzzTranslateResponse(f *testing.F) {
	addFiles(f, "testdata/response/*.anthropic.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := TranslateResponse(b, fixedNow)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON output %s", out)
		}
	})
}

// FuzzStreamEvents runs random bytes through both streams: neither may
// panic or loop, and every chunk the translating stream emits is JSON.
func FuzzStreamEvents(f *testing.F) {
	addFiles(f, "testdata/stream/*[^i].sse")
	f.Add([]byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":99999999,\"content_block\":{\"type\":\"tool_use\",\"id\":\"\\u0000\",\"name\":\"\\ud800\"}}\n\n"))
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"x\"}}\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		chat := newChatStream(t.Context(), io.NopCloser(bytes.NewReader(b)), true)
		for range len(b) + 3 {
			ev, err := chat.Next()
			if err != nil {
				break
			}
			for _, frame := range strings.SplitAfter(string(ev.Data), "\n\n") {
				if frame == "" || frame == "data: [DONE]\n\n" {
					continue
				}
				payload, ok := strings.CutPrefix(frame, "data: ")
				if !ok || !json.Valid([]byte(strings.TrimSpace(payload))) {
					t.Fatalf("chunk is not a JSON data event: %q", frame)
				}
			}
		}
		native := &messagesStream{ctx: t.Context(), body: io.NopCloser(nil), r: sse.NewReader(bytes.NewReader(b))}
		for range len(b) + 3 {
			ev, err := native.Next()
			if err != nil {
				break
			}
			if ev.Completion && !ev.Token {
				t.Fatal("completion without token")
			}
		}
	})
}

// FuzzReadDelta checks the delta fast path against encoding/json: for every
// event of the documented shape that encoding/json accepts, they agree.
// (Outside that shape the fast path may be more lenient; the gateway relays
// the upstream bytes or builds its own chunk, so no invalid JSON results.)
func FuzzReadDelta(f *testing.F) {
	for _, s := range []string{
		`{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Let me check \"Paris\" \u00e9\ud83d\ude00"}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"a\nb\\c\/d"}}`,
		`{"type":"content_block_delta","index":12,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`,
		`{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"bad \ud800 pair \udc00"}}`,
		`{"type": "content_block_delta", "index" : 3, "delta": {"type": "text_delta", "text" : "spaced"}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var dec streamEvent
		var scratch []byte
		kind, text, index, err := readDelta(b, &dec, &scratch)
		if err != nil || kind == deltaOther {
			return
		}
		var want streamEvent
		if json.Unmarshal(b, &want) != nil || !documentedShape(b) {
			return
		}
		wantText := map[int]string{deltaText: want.Delta.Text, deltaThinking: want.Delta.Thinking, deltaJSON: want.Delta.PartialJSON}[kind]
		if want.Delta.Type != map[int]string{deltaText: "text_delta", deltaThinking: "thinking_delta", deltaJSON: "input_json_delta"}[kind] {
			return // the marker was elsewhere; encoding/json saw another shape
		}
		if text != wantText || index != want.Index {
			t.Fatalf("readDelta(%s) = %q index %d; encoding/json says %q index %d", b, text, index, wantText, want.Index)
		}
	})
}

// documentedShape reports whether b has only the keys of a documented
// content_block_delta: type, index and delta{type, one text key}.
func documentedShape(b []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return false
	}
	var delta map[string]json.RawMessage
	if json.Unmarshal(top["delta"], &delta) != nil {
		return false
	}
	for k := range top {
		if k != "type" && k != "index" && k != "delta" {
			return false
		}
	}
	for k := range delta {
		if k != "type" && k != "text" && k != "thinking" && k != "partial_json" {
			return false
		}
	}
	return true
}

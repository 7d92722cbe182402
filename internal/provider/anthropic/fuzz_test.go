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

package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"github.com/weirhq/weir/internal/jsonenc"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/usage"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixedNow is the "created" time of every translated answer in the tests.
var fixedNow = time.Unix(1750000000, 0)

func init() { now = func() time.Time { return fixedNow } }

// golden compares got with the golden file path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("output is not valid JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func TestTranslateRequestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/translate/*.openai.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".openai.json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Stream bool `json:"stream"`
			}
			json.Unmarshal(in, &env)
			got, err := TranslateRequest(in, "", env.Stream)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".openai.json")+".anthropic.json", indent(t, got))
		})
	}
}

func TestTranslateRequestModelOverride(t *testing.T) {
	got, err := TranslateRequest([]byte(`{"model":"anthropic/claude","messages":[{"role":"user","content":"hi"}]}`), "claude-haiku-4-5", true)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"claude-haiku-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestTranslateRequestRejects(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, body, param string
	}{
		{"n", `{` + msgs + `,"n":2}`, "n"},
		{"logprobs", `{` + msgs + `,"logprobs":true}`, "logprobs"},
		{"top_logprobs", `{` + msgs + `,"top_logprobs":3}`, "logprobs"},
		{"logit_bias", `{` + msgs + `,"logit_bias":{"50256":-100}}`, "logit_bias"},
		{"audio", `{` + msgs + `,"audio":{"voice":"alloy","format":"wav"}}`, "audio"},
		{"modalities", `{` + msgs + `,"modalities":["text","audio"]}`, "modalities"},
		{"web search", `{` + msgs + `,"web_search_options":{}}`, "web_search_options"},
		{"functions", `{` + msgs + `,"functions":[{"name":"f"}]}`, "functions"},
		{"max_tokens zero", `{` + msgs + `,"max_completion_tokens":0}`, "max_completion_tokens"},
		{"effort unknown", `{` + msgs + `,"reasoning_effort":"ludicrous"}`, "reasoning_effort"},
		{"budget does not fit", `{"model":"claude-sonnet-4-5",` + msgs + `,"reasoning_effort":"high","max_tokens":1500}`, "max_tokens"},
		{"response_format", `{` + msgs + `,"response_format":{"type":"xml"}}`, "response_format.type"},
		{"bad role", `{"messages":[{"role":"robot","content":"hi"}]}`, "messages[0].role"},
		{"function role", `{"messages":[{"role":"function","name":"f","content":"hi"}]}`, "messages[0].role"},
		{"tool without id", `{"messages":[{"role":"tool","content":"hi"}]}`, "messages[0].tool_call_id"},
		{"bad arguments", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[0].tool_calls[0].function.arguments"},
		{"truncated arguments", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}]}`, "messages[0].tool_calls[0].function.arguments"},
		{"image in assistant", `{"messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "messages[0].content[0]"},
		{"ftp image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`, "messages[0].content[0].image_url.url"},
		{"non-base64 data url", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, "messages[0].content[0].image_url.url"},
		{"file id", `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "messages[0].content[0].file"},
		{"audio input", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`, "messages[0].content[0]"},
		{"content object", `{"messages":[{"role":"user","content":{"text":"hi"}}]}`, "messages[0].content"},
		{"custom tool", `{` + msgs + `,"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type"},
		{"tool without name", `{` + msgs + `,"tools":[{"type":"function","function":{}}]}`, "tools[0].function.name"},
		{"tool params not object", `{` + msgs + `,"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, "tools[0].function.parameters"},
		{"tool_choice unknown", `{` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}`, "tool_choice"},
		{"stop number", `{` + msgs + `,"stop":5}`, "stop"},
		{"wrong type", `{"messages":"hi"}`, "messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TranslateRequest([]byte(tt.body), "", false)
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Kind != apierror.InvalidRequest || ae.Param != tt.param {
				t.Fatalf("err = %#v, want invalid_request on %q", err, tt.param)
			}
			if ae.Message == "" {
				t.Error("empty message")
			}
		})
	}
	if _, err := TranslateRequest([]byte(`{"messages":[`), "", false); err == nil {
		t.Error("broken JSON accepted")
	}
}

func TestUsesAdaptiveThinking(t *testing.T) {
	tests := map[string]bool{
		"claude-3-7-sonnet-20250219":    false,
		"claude-sonnet-4-5-20250929":    false,
		"claude-opus-4-20250514":        false,
		"claude-opus-4-1-20250805":      false,
		"claude-haiku-4-5":              false,
		"claude-opus-4-6":               true,
		"claude-sonnet-4-6":             true,
		"anthropic.claude-opus-4-6-v1":  true,
		"claude-opus-4-7":               true,
		"claude-sonnet-5":               true,
		"claude-opus-5-5":               true,
		"claude-mythos-preview":         true,
		"claude-3-5-sonnet@20240620":    false,
		"claude-2.1":                    false,
		"MiniMax-M2":                    false,
		"us.anthropic.claude-haiku-4-5": false,
	}
	for model, want := range tests {
		if got := usesAdaptiveThinking(model); got != want {
			t.Errorf("usesAdaptiveThinking(%q) = %v, want %v", model, got, want)
		}
	}
}

func TestTranslateResponseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/response/*.anthropic.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".anthropic.json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := TranslateResponse(in, fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".anthropic.json")+".openai.json", indent(t, got))
		})
	}
}

func TestTranslateResponseUsage(t *testing.T) {
	in, _ := os.ReadFile("testdata/response/tools_thinking.anthropic.json")
	got, err := TranslateResponse(in, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Usage struct {
			PromptTokens        int64 `json:"prompt_tokens"`
			CompletionTokens    int64 `json:"completion_tokens"`
			TotalTokens         int64 `json:"total_tokens"`
			PromptTokensDetails struct {
				CachedTokens int64 `json:"cached_tokens"`
			} `json:"prompt_tokens_details"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(got, &c); err != nil {
		t.Fatal(err)
	}
	// input 50 + cache write 1000 + cache read 2000.
	if u := c.Usage; u.PromptTokens != 3050 || u.CompletionTokens != 300 || u.TotalTokens != 3350 || u.PromptTokensDetails.CachedTokens != 2000 {
		t.Errorf("usage = %+v", u)
	}
	if _, err := TranslateResponse([]byte(`<html>`), fixedNow); err == nil {
		t.Error("garbage accepted")
	}
}

func TestFinishReason(t *testing.T) {
	for in, want := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
		"refusal": "content_filter", "pause_turn": "stop", "model_context_window_exceeded": "length", "": "stop",
	} {
		if got := FinishReason(in); got != want {
			t.Errorf("FinishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// runChatStream translates an Anthropic SSE transcript and returns what the
// caller would see and the events.
func runChatStream(t *testing.T, in []byte, includeUsage bool) ([]seen, string, error) {
	t.Helper()
	s := newChatStream(t.Context(), io.NopCloser(bytes.NewReader(in)), includeUsage)
	return drain(t, s)
}

func TestChatStreamGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/stream/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".openai.sse") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, wire, err := runChatStream(t, in, true)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".sse")+".openai.sse", []byte(wire))
			for _, frame := range strings.SplitAfter(wire, "\n\n") {
				if frame == "" || frame == "data: [DONE]\n\n" {
					continue
				}
				payload, ok := strings.CutPrefix(frame, "data: ")
				if !ok || !json.Valid([]byte(strings.TrimSpace(payload))) {
					t.Errorf("frame is not a JSON data event: %q", frame)
				}
			}
		})
	}
}

func TestChatStreamEvents(t *testing.T) {
	in, err := os.ReadFile("testdata/stream/tools_thinking.sse")
	if err != nil {
		t.Fatal(err)
	}
	start := &usage.Usage{InputTokens: 2272, CacheReadTokens: 1800, OutputTokens: 2}
	final := &usage.Usage{InputTokens: 2272, CacheReadTokens: 1800, OutputTokens: 89}
	for _, includeUsage := range []bool{false, true} {
		got, wire, err := runChatStream(t, in, includeUsage)
		if err != nil {
			t.Fatal(err)
		}
		want := []seen{
			{Model: "claude-sonnet-4-5-20250929", Usage: start},
			{Token: true, Text: "The user wants the weather in Paris."},
			{Token: true, Completion: true, Text: `Let me check "Paris" <now>.`},
			{Token: true, Completion: true, Text: "get_weather"},
			{Token: true, Completion: true, Text: `{"city": "Pa`},
			{Token: true, Completion: true, Text: `ris"}`},
			{Finish: "tool_calls", Usage: final},
			{Usage: final, Drop: !includeUsage},
			{Done: true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("includeUsage=%v events (-want +got):\n%s", includeUsage, diff)
		}
		if got := strings.Contains(wire, `"choices":[],"usage":`); got != includeUsage {
			t.Errorf("includeUsage=%v but usage chunk sent=%v", includeUsage, got)
		}
		if !strings.HasSuffix(wire, "data: [DONE]\n\n") {
			t.Errorf("no [DONE] at the end:\n%s", wire)
		}
	}
}

func TestChatStreamCacheWriteUsage(t *testing.T) {
	in, err := os.ReadFile("testdata/stream/text_cache_write.sse")
	if err != nil {
		t.Fatal(err)
	}
	got, wire, err := runChatStream(t, in, true)
	if err != nil {
		t.Fatal(err)
	}
	last := got[len(got)-2].Usage
	want := usage.Usage{InputTokens: 2060, CacheWriteTokens: 2048, CacheWrite1hTokens: 2048, OutputTokens: 15}
	if last == nil || *last != want {
		t.Errorf("final usage = %+v, want %+v", last, want)
	}
	if !strings.Contains(wire, `"usage":{"prompt_tokens":2060,"completion_tokens":15,"total_tokens":2075,"prompt_tokens_details":{"cached_tokens":0}}`) {
		t.Errorf("usage chunk not as expected:\n%s", wire)
	}
}

func TestChatStreamFailures(t *testing.T) {
	head := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n"
	tests := []struct {
		name string
		in   string
		kind apierror.Kind
		msg  string
	}{
		{"cut before message_stop", head + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
			apierror.UpstreamBadResponse, "stream ended before message_stop"},
		{"cut mid-event", head + "event: content_block_delta\ndata: {\"type\":\"cont", apierror.UpstreamBadResponse, ""},
		{"overloaded", head + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
			apierror.UpstreamOverloaded, "Overloaded"},
		{"rate limited", head + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Slow down\"}}\n\n",
			apierror.RateLimited, "Slow down"},
		{"api error", head + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}\n\n",
			apierror.UpstreamError, "Internal server error"},
		{"garbage", head + "event: content_block_delta\ndata: <html>\n\n", apierror.UpstreamBadResponse, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runChatStream(t, []byte(tt.in), false)
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Kind != tt.kind || (tt.msg != "" && ae.Message != tt.msg) {
				t.Fatalf("err = %v, want kind %v message %q", err, tt.kind, tt.msg)
			}
		})
	}
}

// seen is what a test checks of an event.
type seen struct {
	Token, Completion, Drop, Done bool
	Text, Finish, Model, Error    string
	Usage                         *usage.Usage
}

func drain(t *testing.T, s provider.Stream) ([]seen, string, error) {
	t.Helper()
	defer s.Close()
	var out []seen
	var wire strings.Builder
	for range 10000 {
		ev, err := s.Next()
		if err == io.EOF {
			return out, wire.String(), nil
		}
		if err != nil {
			return out, wire.String(), err
		}
		if !ev.Drop {
			wire.Write(ev.Data)
		}
		out = append(out, seen{ev.Token, ev.Completion, ev.Drop, ev.Done, ev.Text, ev.FinishReason, ev.ResponseModel, errMessage(ev), ev.Usage})
	}
	t.Fatal("stream never ended")
	return nil, "", nil
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\x1f\n\r\t", "é😀", "bad\xffutf8", "line\u2028sep\u2029", "<&>"} {
		got := jsonenc.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("jsonenc.AppendString(%q) = %s: %v", s, got, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if back != want {
			t.Errorf("jsonenc.AppendString(%q) round-trips to %q", s, back)
		}
	}
}

func errMessage(ev provider.Event) string {
	if ev.Err == nil {
		return ""
	}
	return ev.Err.Message
}

func TestServiceTier(t *testing.T) {
	for raw, want := range map[string]string{`{"input_tokens":1,"service_tier":"priority"}`: "priority", `{"input_tokens":1}`: "", `null`: ""} {
		if got := serviceTier(json.RawMessage(raw)); got != want {
			t.Errorf("serviceTier(%s) = %q, want %q", raw, got, want)
		}
	}
}

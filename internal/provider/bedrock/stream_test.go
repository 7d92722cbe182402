package bedrock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/usage"
)

// frame encodes one event-stream message.
func frame(t testing.TB, messageType, name, payload string) []byte {
	t.Helper()
	var h eventstream.Headers
	h.Set(":message-type", eventstream.StringValue(messageType))
	if messageType == "exception" {
		h.Set(":exception-type", eventstream.StringValue(name))
	} else {
		h.Set(":event-type", eventstream.StringValue(name))
	}
	h.Set(":content-type", eventstream.StringValue("application/json"))
	var buf bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&buf, eventstream.Message{Headers: h, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// toolStream is a ConverseStream answer with text, reasoning and a tool
// call, in the shapes the API reference documents.
func toolStream(t testing.TB) []byte {
	var b []byte
	for _, e := range [][2]string{
		{"messageStart", `{"role":"assistant","p":"abc"}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Hmm."}},"p":"a"}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}},"p":"a"}`},
		{"contentBlockStop", `{"contentBlockIndex":0,"p":"ab"}`},
		{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"text":"Checking \"Paris\"."},"p":"ab"}`},
		{"contentBlockStop", `{"contentBlockIndex":1}`},
		{"contentBlockStart", `{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"city\":"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"\"Paris\"}"}}}`},
		{"contentBlockStop", `{"contentBlockIndex":2}`},
		{"messageStop", `{"stopReason":"tool_use"}`},
		{"metadata", `{"usage":{"inputTokens":10,"outputTokens":9,"totalTokens":29,"cacheReadInputTokens":6,"cacheWriteInputTokens":4,"cacheDetails":[{"ttl":"5m","inputTokens":4}]},"metrics":{"latencyMs":12}}`},
	} {
		b = append(b, frame(t, "event", e[0], e[1])...)
	}
	return b
}

func readAll(s *chatStream) (string, []*usage.Usage, error) {
	var out strings.Builder
	var us []*usage.Usage
	for range 1000 {
		ev, err := s.Next()
		if err != nil {
			return out.String(), us, err
		}
		out.Write(ev.Data)
		if ev.Usage != nil {
			u := *ev.Usage
			us = append(us, &u)
		}
	}
	return out.String(), us, errors.New("no end")
}

func newTestStream(raw []byte, includeUsage bool) *chatStream {
	return newChatStream(context.Background(), io.NopCloser(bytes.NewReader(raw)), "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "req-1", includeUsage)
}

func TestChatStream(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Unix(1764200000, 0) }
	got, us, err := readAll(newTestStream(toolStream(t), true))
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	golden(t, "stream_tools.out.json", sseToJSON(t, got))
	want := usage.Usage{InputTokens: 20, CacheReadTokens: 6, CacheWriteTokens: 4, OutputTokens: 9}
	if len(us) != 1 || cmp.Diff(want, *us[0]) != "" {
		t.Errorf("usage events = %v, want one with %+v", us, want)
	}
}

// sseToJSON turns the chunks of an OpenAI stream into one JSON array, for
// a readable golden file.
func sseToJSON(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	b = append(b, '[')
	for i, f := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(f, "data: ")
		if !ok {
			t.Fatalf("frame %q is not data", f)
		}
		if data == "[DONE]" {
			data = `"[DONE]"`
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, data...)
	}
	return append(b, ']')
}

func TestChatStreamFailures(t *testing.T) {
	full := toolStream(t)
	corrupt := bytes.Clone(full)
	corrupt[40] ^= 0xff // inside the first message's payload: its CRC fails
	badPrelude := bytes.Clone(full)
	badPrelude[9] ^= 0xff // the prelude CRC
	huge := bytes.Clone(full)
	huge[0] = 0x7f // a total length over the limit
	exception := append(frame(t, "event", "messageStart", `{"role":"assistant"}`), frame(t, "exception", "throttlingException", `{"message":"Too many tokens, please wait before trying again."}`)...)
	for _, tc := range []struct {
		name string
		raw  []byte
		kind apierror.Kind
	}{
		{"payload crc", corrupt, apierror.UpstreamBadResponse},
		{"prelude crc", badPrelude, apierror.UpstreamBadResponse},
		{"length over the limit", huge, apierror.UpstreamBadResponse},
		{"cut mid-message", full[:len(full)-7], apierror.UpstreamBadResponse},
		{"cut before messageStop", full[:len(frame(t, "event", "messageStart", `{"role":"assistant","p":"abc"}`))], apierror.UpstreamBadResponse},
		{"exception", exception, apierror.RateLimited},
		{"not json", frame(t, "event", "messageStart", `{"role":`), apierror.UpstreamBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(newTestStream(tc.raw, true))
			var ae *apierror.Error
			if !errors.As(err, &ae) {
				t.Fatalf("stream ended with %v (%T), want an *apierror.Error", err, err)
			}
			if ae.Kind != tc.kind || ae.Message == "" {
				t.Errorf("error = %v (kind %s), want kind %s with a message", ae, ae.Kind, tc.kind)
			}
		})
	}
}

func TestChatStreamWithoutMetadata(t *testing.T) {
	raw := append(frame(t, "event", "messageStart", `{"role":"assistant"}`), frame(t, "event", "messageStop", `{"stopReason":"end_turn"}`)...)
	got, us, err := readAll(newTestStream(raw, false))
	if err != io.EOF || len(us) != 0 || !strings.HasSuffix(got, "data: [DONE]\n\n") {
		t.Errorf("got %q, usage %v, err %v; want a clean end without usage", got, us, err)
	}
}

func TestDecoderEnds(t *testing.T) {
	one := frame(t, "event", "messageStart", `{"role":"assistant"}`)
	d := NewDecoder(bytes.NewReader(one))
	if m, err := d.Next(); err != nil || m.EventType != "messageStart" || m.MessageType != "event" {
		t.Fatalf("Next = %+v, %v", m, err)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Errorf("Next at the end = %v, want io.EOF", err)
	}
	for n := 1; n < len(one); n++ {
		_, err := NewDecoder(bytes.NewReader(one[:n])).Next()
		if err == nil || err == io.EOF {
			t.Fatalf("a message cut at %d of %d bytes gave %v, want an error", n, len(one), err)
		}
	}
}

// FuzzChatStream feeds arbitrary bytes to the stream translation: it must
// end with io.EOF or an *apierror.Error, never panic or loop.
func FuzzChatStream(f *testing.F) {
	full := toolStream(f)
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Add(frame(f, "exception", "modelStreamErrorException", `{"message":"x"}`))
	f.Add(frame(f, "event", "contentBlockDelta", `{"contentBlockIndex":-1,"delta":{"toolUse":{"input":"x"}}}`))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _, err := readAll(newTestStream(raw, true))
		if err == io.EOF {
			return
		}
		var ae *apierror.Error
		if !errors.As(err, &ae) {
			t.Fatalf("stream ended with %v (%T), want io.EOF or an *apierror.Error", err, err)
		}
	})
}

// FuzzTranslateRequest: any body either translates to JSON or fails with
// an invalid_request error.
func FuzzTranslateRequest(f *testing.F) {
	for _, name := range []string{"request_full", "request_tools_history", "request_reasoning"} {
		if b, err := os.ReadFile("testdata/" + name + ".in.json"); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := TranslateRequest(body, "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Kind != apierror.InvalidRequest {
				t.Fatalf("error %v is not invalid_request", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("translation is not JSON: %s", out)
		}
	})
}

// FuzzNormaliseUsage: a usage object either normalises with the cache
// subsets inside the input, or fails.
func FuzzNormaliseUsage(f *testing.F) {
	f.Add([]byte(`{"inputTokens":10,"outputTokens":5,"cacheReadInputTokens":20,"cacheWriteInputTokens":7,"cacheDetails":[{"ttl":"1h","inputTokens":3}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := NormaliseUsage(raw)
		if err != nil {
			return
		}
		if u.CacheWrite1hTokens > u.CacheWriteTokens && u.CacheWriteTokens >= 0 {
			t.Errorf("1h writes %d exceed the writes %d", u.CacheWrite1hTokens, u.CacheWriteTokens)
		}
	})
}

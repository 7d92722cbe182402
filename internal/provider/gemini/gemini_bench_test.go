package gemini

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// benchStream is a 200-chunk Gemini stream: one word per chunk, then the
// finishReason with the usage.
func benchStream() []byte {
	var b bytes.Buffer
	for i := range 200 {
		fmt.Fprintf(&b, "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"word%d \"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 120,\"totalTokenCount\": 120},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"bench-1\"}\r\n\r\n", i)
	}
	b.WriteString("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 120,\"candidatesTokenCount\": 200,\"totalTokenCount\": 320},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"bench-1\"}\r\n\r\n")
	return b.Bytes()
}

// BenchmarkChatStream measures the translation of one Gemini stream chunk
// into an OpenAI chunk (per-chunk figures: divide by the 200 chunks).
func BenchmarkChatStream(b *testing.B) {
	in := benchStream()
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s := newChatStream(b.Context(), io.NopCloser(bytes.NewReader(in)), "gemini-2.5-flash", true)
		for {
			if _, err := s.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

func BenchmarkTranslateRequest(b *testing.B) {
	body := []byte(`{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello, how are you today?"}],"max_tokens":256,"temperature":0.3,"stream":true,"stream_options":{"include_usage":true}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TranslateRequest(body, "gemini-2.5-flash"); err != nil {
			b.Fatal(err)
		}
	}
}

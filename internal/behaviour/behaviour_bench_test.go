package behaviour

import (
	"strings"
	"testing"
)

// The work the gateway adds to a call, measured alone: the gateway
// benchmarks are too noisy to see it.

func BenchmarkJudgeOpenAIBody(b *testing.B) {
	body := []byte(`{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat("Here is a helpful answer with \\\"quotes\\\". ", 40) + `","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
	b.ReportAllocs()
	var t Text
	for b.Loop() {
		t = Text{}
		a, err := OpenAIAnswer(body, &t)
		if err != nil {
			b.Fatal(err)
		}
		Judge(a, &t, JSONNone, false)
	}
}

func BenchmarkJudgeOpenAIBodyJSON(b *testing.B) {
	body := []byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"{` +
		strings.Repeat(`\"key\": [1, 2, 3], `, 200) + `\"end\": true}"},"finish_reason":"stop"}]}`)
	b.ReportAllocs()
	var t Text
	for b.Loop() {
		t = Text{Limit: JSONObject.Limit()}
		a, err := OpenAIAnswer(body, &t)
		if err != nil {
			b.Fatal(err)
		}
		if v := Judge(a, &t, JSONObject, false); !v.JSONValid {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkStreamChunk is the cost per chunk of a long stream, after the
// first chunks (ChunkRefusal is that of the first ones).
func BenchmarkStreamChunk(b *testing.B) {
	chunk := []byte("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok1 \"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n")
	b.ReportAllocs()
	var t Text
	var r StreamRefusal
	for b.Loop() {
		t.Add("tok1 ")
		r.Chunk(chunk)
	}
	if r.Refused() {
		b.Fatal("refusal")
	}
}

func BenchmarkIsRefusal(b *testing.B) {
	for _, s := range []string{"I'm sorry, but I can't help with that.", strings.Repeat("Here is a helpful answer. ", 10)} {
		b.Run(s[:8], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				IsRefusal([]byte(s))
			}
		})
	}
}

func BenchmarkChunkRefusal(b *testing.B) {
	chunk := []byte("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok1 \"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n")
	for b.Loop() {
		if ChunkRefusal(chunk) {
			b.Fatal("refusal")
		}
	}
}

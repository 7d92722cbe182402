package anthropic

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/weirhq/weir/internal/sse"
)

// benchEvents reads the fixture's events once, so the benchmarks measure
// the per-event work and not the SSE reader.
func benchEvents(b *testing.B) ([]sse.Event, []byte) {
	b.Helper()
	fixture, err := os.ReadFile("testdata/stream/tools_thinking.sse")
	if err != nil {
		b.Fatal(err)
	}
	r := sse.NewReader(bytes.NewReader(fixture))
	var evs []sse.Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, sse.Event{Type: ev.Type, Data: bytes.Clone(ev.Data), Raw: bytes.Clone(ev.Raw)})
	}
	return evs, fixture
}

// BenchmarkMessagesStreamEvent measures the native relay's look at one
// event, over the mix of a typical stream.
func BenchmarkMessagesStreamEvent(b *testing.B) {
	evs, fixture := benchEvents(b)
	s := &messagesStream{ctx: context.Background()}
	b.ReportAllocs()
	b.SetBytes(int64(len(fixture) / len(evs)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ev := &evs[i%len(evs)]
		s.done = false
		if _, err := s.parse(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChatStreamTranslate measures translating one event into an OpenAI
// chunk, over the mix of a typical stream.
func BenchmarkChatStreamTranslate(b *testing.B) {
	evs, fixture := benchEvents(b)
	s := newChatStream(context.Background(), io.NopCloser(nil), true)
	b.ReportAllocs()
	b.SetBytes(int64(len(fixture) / len(evs)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ev := &evs[i%len(evs)]
		if _, err := s.translate(ev); err != nil {
			b.Fatal(err)
		}
		s.pending = s.pending[:0]
	}
}

// TestDeltaAllocs holds the hot path to its allocation budget: one string
// for the delta's text (Event.Text), nothing else, in both streams.
func TestDeltaAllocs(t *testing.T) {
	text := sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello \"world\""}}`)
	args := sseEvent("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`)
	start := sseEvent("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}`)
	native := &messagesStream{ctx: context.Background()}
	chat := newChatStream(context.Background(), io.NopCloser(nil), false)
	chat.setPrefix("msg_1", "claude-sonnet-4-5")
	if _, err := chat.translate(&start); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []*sse.Event{&text, &args} {
		if n := testing.AllocsPerRun(200, func() { native.parse(ev) }); n > 1 {
			t.Errorf("native %s: %v allocs, budget 1", ev.Data, n)
		}
		if n := testing.AllocsPerRun(200, func() { chat.translate(ev) }); n > 1 {
			t.Errorf("chat %s: %v allocs, budget 1", ev.Data, n)
		}
	}
}

func sseEvent(typ, data string) sse.Event {
	raw := sse.AppendEvent(nil, typ, []byte(data))
	return sse.Event{Type: typ, Data: []byte(data), Raw: raw}
}

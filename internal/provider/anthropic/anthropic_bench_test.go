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

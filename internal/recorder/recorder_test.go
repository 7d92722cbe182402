package recorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// memStore is an idempotent in-memory store that can be made to fail or
// block, and that remembers the order of first writes.
type memStore struct {
	mu     sync.Mutex
	recs   map[string]record.Record
	order  []string
	offers map[string]int // times each ID came in a successful batch
	fail   atomic.Int64   // fail this many more WriteRecords calls
	gate   chan struct{}  // when set, writes wait until it is closed
	calls  atomic.Int64
}

func newMemStore() *memStore {
	return &memStore{recs: map[string]record.Record{}, offers: map[string]int{}}
}

func (m *memStore) WriteRecords(ctx context.Context, recs []record.Record) error {
	m.calls.Add(1)
	m.mu.Lock()
	gate := m.gate
	m.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if m.fail.Add(-1) >= 0 {
		return errors.New("store down")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		m.offers[r.ID]++
		if _, ok := m.recs[r.ID]; !ok {
			m.recs[r.ID] = r
			m.order = append(m.order, r.ID)
		}
	}
	return nil
}

func (m *memStore) snapshot() (map[string]record.Record, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs := make(map[string]record.Record, len(m.recs))
	for k, v := range m.recs {
		recs[k] = v
	}
	return recs, append([]string(nil), m.order...)
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func fastOpts() Options {
	return Options{BatchDelay: 5 * time.Millisecond, RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond}
}

func openRec(t testing.TB, dir string, w store.Writer, opts Options) *Recorder {
	t.Helper()
	r, err := Open(context.Background(), dir, w, opts, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

func closeRec(t testing.TB, r *Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// crash stops r as kill -9 would: no drain, no final checkpoint.
func (r *Recorder) crash() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.abort()
	<-r.done
	if r.rd != nil {
		r.rd.close()
	}
	r.f.Close()
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)

func call(i int) record.Record {
	ttft := float64(i)
	return record.Record{
		ID: fmt.Sprintf("call-%06d", i), ReceivedAt: t0.Add(time.Duration(i) * time.Millisecond),
		Endpoint: record.EndpointChatCompletions, RequestedModel: "gpt-4o", Model: "gpt-4o", Status: 200,
		Stream: i%2 == 0, TTFTMs: &ttft,
		Attribution: record.Attribution{UseCase: "bot", Team: "cx", Tags: []string{"t"}},
		Request:     fmt.Sprintf(`{"n":%d}`, i), Response: "ok",
	}
}

func begin(i int) record.Record {
	r := call(i)
	return record.Record{ID: r.ID, ReceivedAt: r.ReceivedAt, Endpoint: r.Endpoint, RequestedModel: r.RequestedModel,
		Stream: r.Stream, Attribution: r.Attribution, Request: r.Request}
}

func do(t testing.TB, r *Recorder, from, to int, finish bool) {
	t.Helper()
	for i := from; i < to; i++ {
		b := begin(i)
		if err := r.Begin(&b); err != nil {
			t.Fatalf("Begin: %v", err)
		}
		if finish {
			c := call(i)
			if err := r.Finish(&c); err != nil {
				t.Fatalf("Finish: %v", err)
			}
		}
	}
}

// checkAll asserts that the store holds exactly calls [0, n), finished ones
// complete, in journal order, each offered once unless allowDupOffers.
func checkAll(t *testing.T, m *memStore, n int, interrupted map[int]bool) {
	t.Helper()
	recs, order := m.snapshot()
	if len(recs) != n {
		t.Errorf("store holds %d records, want %d", len(recs), n)
	}
	for i := range n {
		got, ok := recs[call(i).ID]
		if !ok {
			t.Errorf("call %d missing", i)
			continue
		}
		want := call(i)
		if interrupted[i] {
			want = begin(i)
			want.Status, want.ErrorKind, want.ErrorMessage = 0, ErrorKindInterrupted, got.ErrorMessage
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("call %d (-want +got):\n%s", i, diff)
		}
	}
	_ = order
}

func checkOrder(t *testing.T, m *memStore) {
	t.Helper()
	_, order := m.snapshot()
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Errorf("stored out of order: %s after %s", order[i], order[i-1])
			return
		}
	}
}

func checkOffersOnce(t *testing.T, m *memStore) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, n := range m.offers {
		if n != 1 {
			t.Errorf("%s written %d times", id, n)
		}
	}
}

func TestRecordsEveryFinish(t *testing.T) {
	m := newMemStore()
	r := openRec(t, t.TempDir(), m, fastOpts())
	do(t, r, 0, 1000, true)
	closeRec(t, r)
	checkAll(t, m, 1000, nil)
	checkOrder(t, m)
	checkOffersOnce(t, m)
	if s := r.Stats(); s.RecordsWritten != 1000 || s.Backlog != 0 || s.InFlight != 0 || s.QueueDepth != 0 {
		t.Errorf("stats after close: %+v", s)
	}
}

func TestConcurrentCalls(t *testing.T) {
	m := newMemStore()
	r := openRec(t, t.TempDir(), m, Options{QueueSize: 16, BatchSize: 32, BatchDelay: time.Millisecond, SegmentSize: 64 << 10})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() { do(t, r, g*500, g*500+500, true) })
	}
	wg.Wait()
	closeRec(t, r)
	checkAll(t, m, 4000, nil)
	checkOffersOnce(t, m)
}

func TestStoreFailsThenRecovers(t *testing.T) {
	m := newMemStore()
	m.fail.Store(25)
	dir := t.TempDir()
	r := openRec(t, dir, m, Options{QueueSize: 64, BatchSize: 50, BatchDelay: time.Millisecond, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, SegmentSize: 32 << 10})
	do(t, r, 0, 2000, true)
	closeRec(t, r)
	checkAll(t, m, 2000, nil)
	checkOrder(t, m)
	checkOffersOnce(t, m)
	s := r.Stats()
	if s.StoreErrors != 25 || s.LastError != "store down" {
		t.Errorf("stats: %+v, want 25 store errors", s)
	}
	if segs, _ := listSegments(dir); len(segs) != 1 {
		t.Errorf("segments left after drain: %v, want only the current one", segs)
	}
}

func TestQueueOverflow(t *testing.T) {
	m := newMemStore()
	m.gate = make(chan struct{})
	r := openRec(t, t.TempDir(), m, Options{QueueSize: 8, BatchSize: 16, BatchDelay: time.Millisecond, SegmentSize: 16 << 10})
	do(t, r, 0, 1500, true)
	s := r.Stats()
	if s.QueueDepth != 8 || s.Backlog != 1500 || s.JournalBytes < 100<<10 {
		t.Errorf("stats while blocked: %+v", s)
	}
	m.mu.Lock()
	close(m.gate)
	m.mu.Unlock()
	do(t, r, 1500, 1600, true)
	closeRec(t, r)
	checkAll(t, m, 1600, nil)
	checkOrder(t, m)
	checkOffersOnce(t, m)
}

func TestCloseTimeoutKeepsJournal(t *testing.T) {
	dir := t.TempDir()
	m := newMemStore()
	m.gate = make(chan struct{}) // never opens
	r := openRec(t, dir, m, fastOpts())
	do(t, r, 0, 300, true)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a blocked store: %v, want deadline exceeded", err)
	}
	if err := r.Finish(new(call(1))); !errors.Is(err, ErrClosed) {
		t.Errorf("Finish after Close: %v, want ErrClosed", err)
	}

	m2 := newMemStore()
	r2 := openRec(t, dir, m2, fastOpts())
	if s := r2.Stats(); s.Replayed != 300 {
		t.Errorf("replayed %d, want 300", s.Replayed)
	}
	closeRec(t, r2)
	checkAll(t, m2, 300, nil)
	checkOrder(t, m2)

	// A clean close leaves nothing to replay.
	m3 := newMemStore()
	r3 := openRec(t, dir, m3, fastOpts())
	closeRec(t, r3)
	if s := r3.Stats(); s.Replayed != 0 || m3.calls.Load() != 0 {
		t.Errorf("after a clean close, replayed %d and wrote %d batches", s.Replayed, m3.calls.Load())
	}
}

func TestInterruptedOnReopen(t *testing.T) {
	dir := t.TempDir()
	m := newMemStore()
	r := openRec(t, dir, m, fastOpts())
	do(t, r, 0, 50, true)
	do(t, r, 50, 60, false) // in flight when the process dies
	do(t, r, 60, 100, true)
	// Wait until the finished calls are in the store, so that the
	// checkpoint has moved as far as the in-flight begins allow.
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Backlog > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.crash()

	m2 := newMemStore()
	r2 := openRec(t, dir, m2, fastOpts())
	s := r2.Stats()
	closeRec(t, r2)
	if s.Interrupted != 10 {
		t.Errorf("interrupted = %d, want 10", s.Interrupted)
	}
	interrupted := map[int]bool{}
	for i := 50; i < 60; i++ {
		interrupted[i] = true
	}
	recs, _ := m2.snapshot()
	for i := range 100 {
		if _, ok := recs[call(i).ID]; !ok && interrupted[i] {
			t.Errorf("interrupted call %d not recorded", i)
		}
	}
	// The first store has the finished calls; the second the interrupted
	// ones and possibly some finished ones again (harmless: idempotent).
	all := newMemStore()
	for _, mm := range []*memStore{m, m2} {
		recs, order := mm.snapshot()
		for _, id := range order {
			all.WriteRecords(context.Background(), []record.Record{recs[id]})
		}
	}
	checkAll(t, all, 100, interrupted)
	if got := recs[call(55).ID]; got.Status != 0 || got.ErrorKind != "interrupted" || got.Request != begin(55).Request {
		t.Errorf("interrupted record: %+v", got)
	}

	// Reopening again replays nothing more.
	m3 := newMemStore()
	r3 := openRec(t, dir, m3, fastOpts())
	closeRec(t, r3)
	if s := r3.Stats(); s.Interrupted != 0 || s.Replayed != 0 {
		t.Errorf("third open: %+v", s)
	}
}

func TestCrashBeforeCommitReplaysAll(t *testing.T) {
	dir := t.TempDir()
	m := newMemStore()
	m.gate = make(chan struct{})
	r := openRec(t, dir, m, Options{QueueSize: 4, SegmentSize: 8 << 10, BatchDelay: time.Millisecond})
	do(t, r, 0, 400, true)
	do(t, r, 400, 410, false)
	r.crash()

	// A second process that crashes during replay.
	m2 := newMemStore()
	m2.gate = make(chan struct{})
	r2 := openRec(t, dir, m2, Options{SegmentSize: 8 << 10})
	r2.crash()

	m3 := newMemStore()
	r3 := openRec(t, dir, m3, Options{SegmentSize: 8 << 10, BatchDelay: time.Millisecond})
	closeRec(t, r3)
	interrupted := map[int]bool{}
	for i := 400; i < 410; i++ {
		interrupted[i] = true
	}
	checkAll(t, m3, 410, interrupted)
	checkOrder(t, m3)
	if segs, _ := listSegments(dir); len(segs) != 1 {
		t.Errorf("segments left: %v", segs)
	}
}

func TestTornTailOnReopen(t *testing.T) {
	dir := t.TempDir()
	m := newMemStore()
	m.gate = make(chan struct{})
	r := openRec(t, dir, m, fastOpts())
	do(t, r, 0, 20, true)
	r.crash()
	// The process died in the middle of a write.
	segs, _ := listSegments(dir)
	f, err := os.OpenFile(segmentPath(dir, segs[len(segs)-1]), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := call(20)
	f.Write(encodeLine(t, typeFinish, &c)[:40])
	f.Close()

	m2 := newMemStore()
	r2 := openRec(t, dir, m2, fastOpts())
	closeRec(t, r2)
	checkAll(t, m2, 20, nil)
	if s := r2.Stats(); s.CorruptEntries != 1 {
		t.Errorf("corrupt entries = %d, want 1", s.CorruptEntries)
	}
}

func TestLongCallDoesNotPinSegments(t *testing.T) {
	dir := t.TempDir()
	m := newMemStore()
	r := openRec(t, dir, m, Options{SegmentSize: 4 << 10, BatchDelay: time.Millisecond})
	long := begin(999999)
	if err := r.Begin(&long); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		do(t, r, i*100, i*100+100, true)
		deadline := time.Now().Add(10 * time.Second)
		for r.Stats().Backlog > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	r.checkpoint(r.readPos) // the writer does this after every batch; once more now that all is in
	if s := r.Stats(); s.JournalSegments > 3 {
		t.Errorf("%d segments on disk with one long call in flight, want at most 3", s.JournalSegments)
	}
	r.crash()
	m2 := newMemStore()
	r2 := openRec(t, dir, m2, fastOpts())
	closeRec(t, r2)
	got, ok, _ := func() (record.Record, bool, int) {
		recs, _ := m2.snapshot()
		g, ok := recs[long.ID]
		return g, ok, len(recs)
	}()
	if !ok || got.ErrorKind != ErrorKindInterrupted {
		t.Errorf("long call after crash: %+v (found %v), want interrupted", got, ok)
	}
}

func TestRejectsUnstorableRecords(t *testing.T) {
	r := openRec(t, t.TempDir(), newMemStore(), fastOpts())
	defer closeRec(t, r)
	for _, rec := range []record.Record{
		{ReceivedAt: t0},
		{ID: "x"},
		{ID: "x", ReceivedAt: t0, Attribution: record.Attribution{Properties: []byte("{bad")}},
	} {
		if err := r.Finish(&rec); err == nil {
			t.Errorf("Finish(%+v) succeeded", rec)
		}
		if err := r.Begin(&rec); err == nil {
			t.Errorf("Begin(%+v) succeeded", rec)
		}
	}
}

func TestJournalDirLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "journal")
	r := openRec(t, dir, newMemStore(), fastOpts())
	do(t, r, 0, 3, true)
	closeRec(t, r)
	for _, name := range []string{"000001.wal", "checkpoint"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

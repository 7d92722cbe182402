// Package recorder is the path from the gateway to the store: it makes sure
// that every call Weir served is stored exactly once, even across kill -9,
// without the request path ever waiting for the store.
//
// Begin and Finish append one line to a write-ahead journal (see journal.go
// for the format) with one write(2) each, so a record is in the operating
// system's page cache, and survives the death of the process, before Finish
// returns. A writer goroutine takes finished records from a bounded
// in-memory queue, or re-reads them from the journal when the queue
// overflowed, writes them to the store in batches, retrying with backoff
// while the store fails (the journal is the spill), and then moves a
// checkpoint forward and deletes the segments behind it. On Open, whatever
// the previous process journaled after its checkpoint is replayed; a call
// that began but never finished is stored with ErrorKind "interrupted".
//
// Only the app imports recorder; the gateway sees it through its own
// Recorder interface.
package recorder

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// ErrorKindInterrupted marks a record rebuilt from a begin entry whose call
// never finished because the process died. Such a record has Status 0 ("no
// response completed") and keeps what was known when the call arrived.
const ErrorKindInterrupted = "interrupted"

// ErrClosed is returned by Begin and Finish after Close.
var ErrClosed = errors.New("recorder closed")

// Options tune a Recorder. The zero value gives the documented defaults.
type Options struct {
	// SegmentSize is the size at which the journal starts a new segment
	// file. Default 64 MiB.
	SegmentSize int64
	// BatchSize is the most records written to the store at once; a full
	// batch is written at once. Default 256.
	BatchSize int
	// BatchDelay is the longest a record waits for its batch to fill.
	// Default 50ms.
	BatchDelay time.Duration
	// QueueSize is how many finished records wait in memory for the
	// writer. Beyond it, the writer reads them back from the journal.
	// Default 4096.
	QueueSize int
	// Fsync makes every append, segment switch and checkpoint call fsync.
	// Without it (the default) a record survives the death of the process
	// (kill -9, OOM, panic) but the last few seconds of records can be lost
	// if the machine itself crashes or loses power. With it, nothing Finish
	// accepted is lost even then, at the price of a disk flush (about 0.1 to
	// 10ms) inside every Begin and Finish, under the journal lock.
	Fsync bool
	// RetryMin and RetryMax bound the backoff between attempts to write a
	// batch the store refused. Defaults 100ms and 10s.
	RetryMin, RetryMax time.Duration
	// WriteTimeout bounds one WriteRecords call. Default 30s.
	WriteTimeout time.Duration
}

func (o *Options) setDefaults() {
	if o.SegmentSize <= 0 {
		o.SegmentSize = 64 << 20
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = 50 * time.Millisecond
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(10*time.Second, o.RetryMin)
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
}

// Stats is a snapshot of the recorder's state, for /metrics.
type Stats struct {
	// JournalBytes is the size of the journal from the checkpoint on:
	// what a restart would replay. It grows while the store is down.
	JournalBytes int64 `json:"journal_bytes"`
	// JournalSegments is the number of segment files on disk.
	JournalSegments int `json:"journal_segments"`
	// QueueDepth is the number of finished records waiting in memory.
	QueueDepth int `json:"queue_depth"`
	// Backlog is the number of finished records journaled but not yet in
	// the store, whether queued or only in the journal.
	Backlog uint64 `json:"backlog"`
	// InFlight is the number of calls begun and not finished.
	InFlight int `json:"in_flight"`
	// RecordsWritten and Batches count successful store writes since Open
	// (records replayed twice after a crash count twice).
	RecordsWritten uint64 `json:"records_written"`
	Batches        uint64 `json:"batches"`
	// StoreErrors counts failed WriteRecords calls; LastError is the latest.
	StoreErrors uint64    `json:"store_errors"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Replayed is the number of finished records found in the journal at
	// Open; Interrupted the number of calls found begun but not finished.
	Replayed    int `json:"replayed"`
	Interrupted int `json:"interrupted"`
	// CorruptEntries counts journal lines skipped as torn or corrupt.
	CorruptEntries int64 `json:"corrupt_entries"`
}

// item is a finished record on its way to the writer.
type item struct {
	fseq uint64 // the finish's number, counted from 1 in journal order
	end  Pos    // just after the finish entry
	rec  record.Record
}

// pendingBegin is a call begun and not finished in this process.
type pendingBegin struct {
	id  string
	pos Pos
}

// Recorder journals calls and feeds them to a store.
type Recorder struct {
	dir  string
	w    store.Writer
	opts Options
	log  *slog.Logger

	q       chan item
	wake    chan struct{}
	closing chan struct{}
	done    chan struct{}
	runCtx  context.Context
	abort   context.CancelFunc

	mu       sync.Mutex
	f        *os.File // current segment, opened O_APPEND
	seg      uint64   // its number
	size     int64    // its size
	broken   bool     // an append failed and could not be undone: switch segments
	segSizes map[uint64]int64
	lastF    uint64 // number of the last finish appended
	pending  map[string]*list.Element
	order    list.List // of *pendingBegin, oldest first
	cp       Pos       // last persisted checkpoint
	closed   bool

	// Owned by the writer goroutine.
	nextF   uint64 // number of the next finish to hand to the store
	readPos Pos    // just after the last finish taken
	rd      *segmentReader

	committedF                  atomic.Uint64 // number of the last finish in the store
	written, batches, storeErrs atomic.Uint64
	corrupt                     atomic.Int64
	errMu                       sync.Mutex
	lastErr                     string
	lastErrAt                   time.Time
	replayed, interrupted       int
}

// Open opens the journal in dir (the app uses <data dir>/journal), replays
// what the previous process left after its checkpoint, starts a new segment
// and starts the writer. Open does not wait for the store: replayed records
// are written in the background like any other.
func Open(ctx context.Context, dir string, w store.Writer, opts Options, log *slog.Logger) (*Recorder, error) {
	opts.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	runCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	r := &Recorder{
		dir: dir, w: w, opts: opts, log: log,
		q:        make(chan item, opts.QueueSize),
		wake:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		runCtx:   runCtx,
		abort:    abort,
		segSizes: map[uint64]int64{},
		pending:  map[string]*list.Element{},
	}
	if err := r.recover(); err != nil {
		abort()
		if r.f != nil {
			r.f.Close()
		}
		return nil, fmt.Errorf("open journal %s: %w", dir, err)
	}
	go r.run()
	return r, nil
}

// recover reads the checkpoint and the segments after it, starts a new
// segment and journals an interrupted finish for every dangling begin.
func (r *Recorder) recover() error {
	seqs, err := listSegments(r.dir)
	if err != nil {
		return err
	}
	cp, err := readCheckpoint(r.dir)
	if err != nil {
		return err
	}
	if cp == nil {
		cp = &Pos{}
		if len(seqs) > 0 {
			cp.Segment = seqs[0]
		}
	}
	r.cp = *cp
	r.readPos = *cp
	r.nextF = 1

	type dangling struct {
		pos     Pos
		payload []byte
	}
	begun := map[string]dangling{}
	last := cp.Segment
	for _, seq := range seqs {
		last = max(last, seq)
		if seq < cp.Segment {
			// Left behind by a crash between checkpoint and delete.
			if err := os.Remove(segmentPath(r.dir, seq)); err != nil {
				r.log.Warn("delete journal segment", "segment", segmentName(seq), "err", err)
			}
			continue
		}
		off := int64(0)
		if seq == cp.Segment {
			off = cp.Offset
		}
		sr, err := openSegment(r.dir, seq, off)
		if err != nil {
			return err
		}
		st, err := sr.src.f.Stat()
		if err != nil {
			sr.close()
			return err
		}
		r.segSizes[seq] = st.Size()
		for {
			e, err := sr.dec.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				sr.close()
				return fmt.Errorf("segment %s: %w", segmentName(seq), err)
			}
			id, err := entryID(e.payload)
			if err != nil {
				r.log.Error("journal entry with unreadable id skipped", "segment", seq, "offset", e.start, "err", err)
				continue
			}
			switch e.typ {
			case typeBegin:
				begun[id] = dangling{Pos{seq, e.start}, e.payload}
			case typeFinish:
				delete(begun, id)
				r.lastF++
				r.replayed++
			}
		}
		if sr.dec.bad > 0 {
			r.log.Warn("journal lines skipped as torn or corrupt", "segment", segmentName(seq), "lines", sr.dec.bad)
		}
		sr.close()
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.newSegment(last + 1); err != nil {
		return err
	}

	// Interrupted calls, in the order they arrived.
	ds := make([]dangling, 0, len(begun))
	for _, d := range begun {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b dangling) int { return a.pos.compare(b.pos) })
	enc := getEncoder()
	defer putEncoder(enc)
	for _, d := range ds {
		var rec record.Record
		if err := json.Unmarshal(d.payload, &rec); err != nil {
			r.log.Error("journal begin entry undecodable, call lost", "pos", d.pos, "err", err)
			continue
		}
		rec.Status = 0
		rec.ErrorKind = ErrorKindInterrupted
		rec.ErrorMessage = "Weir stopped before the call completed"
		line, err := enc.encode(typeFinish, &rec)
		if err != nil {
			r.log.Error("encode interrupted record, call lost", "id", rec.ID, "err", err)
			continue
		}
		if _, err := r.appendLocked(line); err != nil {
			return err
		}
		r.lastF++
		r.interrupted++
	}
	if r.replayed > 0 || r.interrupted > 0 {
		r.log.Info("journal replay", "finished", r.replayed, "interrupted", r.interrupted, "from", r.cp)
	}
	return nil
}

// newSegment closes the current segment and starts segment seq. r.mu held.
func (r *Recorder) newSegment(seq uint64) error {
	if r.f != nil {
		if r.opts.Fsync {
			r.f.Sync()
		}
		r.f.Close()
		r.f = nil
	}
	f, err := os.OpenFile(segmentPath(r.dir, seq), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	if _, err := f.WriteString(segmentHeader); err != nil {
		f.Close()
		return fmt.Errorf("create segment: %w", err)
	}
	if r.opts.Fsync {
		if err := syncDir(r.dir); err != nil {
			f.Close()
			return err
		}
	}
	r.f, r.seg, r.size, r.broken = f, seq, int64(len(segmentHeader)), false
	r.segSizes[seq] = r.size
	return nil
}

// appendLocked writes one line with one write(2) and returns where it
// starts. On a failed or short write it cuts the file back, so that the next
// line is not glued to a torn one. r.mu held.
func (r *Recorder) appendLocked(line []byte) (Pos, error) {
	if r.broken || r.size+int64(len(line)) > r.opts.SegmentSize && r.size > int64(len(segmentHeader)) {
		if err := r.newSegment(r.seg + 1); err != nil {
			return Pos{}, fmt.Errorf("journal: %w", err)
		}
	}
	at := Pos{r.seg, r.size}
	n, err := r.f.Write(line)
	if err == nil && r.opts.Fsync {
		err = r.f.Sync()
	}
	if err != nil {
		if n > 0 {
			if terr := r.f.Truncate(r.size); terr != nil {
				r.broken = true
			}
		}
		return Pos{}, fmt.Errorf("journal: %w", err)
	}
	r.size += int64(n)
	r.segSizes[r.seg] = r.size
	return at, nil
}

// Begin journals a call as it arrives: rec holds what is known then (id,
// received_at, endpoint, requested model, stream, attribution, and the
// request body if it should survive a crash). If the process dies before
// Finish, the call is stored as interrupted on the next Open. Begin never
// waits for the store.
func (r *Recorder) Begin(rec *record.Record) error {
	if err := store.CheckRecord(rec); err != nil {
		return fmt.Errorf("journal begin: %w", err)
	}
	enc := getEncoder()
	defer putEncoder(enc)
	line, err := enc.encode(typeBegin, rec)
	if err != nil {
		return fmt.Errorf("journal begin %s: %w", rec.ID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	at, err := r.appendLocked(line)
	if err != nil {
		return err
	}
	if el, ok := r.pending[rec.ID]; ok {
		r.order.Remove(el)
	}
	r.pending[rec.ID] = r.order.PushBack(&pendingBegin{id: rec.ID, pos: at})
	return nil
}

// Finish journals the complete record and hands it to the writer. It never
// waits for the store. rec, and what it points to, must not be modified
// after Finish returns.
func (r *Recorder) Finish(rec *record.Record) error {
	if err := store.CheckRecord(rec); err != nil {
		return fmt.Errorf("journal finish: %w", err)
	}
	enc := getEncoder()
	defer putEncoder(enc)
	line, err := enc.encode(typeFinish, rec)
	if err != nil {
		return fmt.Errorf("journal finish %s: %w", rec.ID, err)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	at, err := r.appendLocked(line)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	r.lastF++
	if el, ok := r.pending[rec.ID]; ok {
		r.order.Remove(el)
		delete(r.pending, rec.ID)
	}
	// Sent under the lock, so the queue is in journal order.
	select {
	case r.q <- item{fseq: r.lastF, end: Pos{at.Segment, at.Offset + int64(len(line))}, rec: *rec}:
	default: // full: the writer will read it from the journal
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops accepting calls, writes everything journaled to the store and
// persists the final checkpoint. If ctx ends first, Close stops the writer
// and returns an error; nothing is lost, what was not written stays in the
// journal for the next Open. Calls begun and not finished are recorded as
// interrupted by the next Open.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.closing)

	var err error
	select {
	case <-r.done:
	case <-ctx.Done():
		r.abort()
		<-r.done
		r.mu.Lock()
		left := r.lastF - min(r.lastF, r.committedF.Load())
		r.mu.Unlock()
		err = fmt.Errorf("close recorder: %d records left in the journal for the next start: %w", left, ctx.Err())
	}
	r.abort()
	if r.rd != nil {
		r.rd.close()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opts.Fsync {
		r.f.Sync()
	}
	return errors.Join(err, r.f.Close())
}

// Stats returns a snapshot of the recorder's state.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	s := Stats{
		JournalSegments: len(r.segSizes),
		QueueDepth:      len(r.q),
		InFlight:        len(r.pending),
		Replayed:        r.replayed,
		Interrupted:     r.interrupted,
	}
	for seq, size := range r.segSizes {
		switch {
		case seq > r.cp.Segment:
			s.JournalBytes += size
		case seq == r.cp.Segment:
			s.JournalBytes += max(0, size-r.cp.Offset)
		}
	}
	last := r.lastF
	r.mu.Unlock()
	s.Backlog = last - min(last, r.committedF.Load())
	s.RecordsWritten = r.written.Load()
	s.Batches = r.batches.Load()
	s.StoreErrors = r.storeErrs.Load()
	s.CorruptEntries = r.corrupt.Load()
	r.errMu.Lock()
	s.LastError, s.LastErrorAt = r.lastErr, r.lastErrAt
	r.errMu.Unlock()
	return s
}

// run is the writer goroutine.
func (r *Recorder) run() {
	defer close(r.done)
	var (
		batch    []record.Record
		batchEnd Pos
		first    time.Time
		timer    = time.NewTimer(time.Hour)
		failures int
	)
	timer.Stop()
	for {
		closing := isClosed(r.closing)
		if err := r.fill(&batch, &batchEnd); err != nil {
			failures++
			r.log.Error("read journal", "err", err)
			if !r.sleep(backoff(r.opts.RetryMin, r.opts.RetryMax, failures)) {
				return
			}
			continue
		}
		failures = 0
		if len(batch) > 0 && first.IsZero() {
			first = time.Now()
		}
		if len(batch) >= r.opts.BatchSize || len(batch) > 0 && (closing || time.Since(first) >= r.opts.BatchDelay) {
			if !r.commit(batch) {
				return
			}
			r.committedF.Store(r.nextF - 1)
			r.checkpoint(batchEnd)
			clear(batch)
			batch, first = batch[:0], time.Time{}
			continue
		}
		if closing && len(batch) == 0 && r.caughtUp() {
			r.checkpoint(r.readPos)
			return
		}
		var tick <-chan time.Time
		if len(batch) > 0 {
			timer.Reset(r.opts.BatchDelay - time.Since(first))
			tick = timer.C
		}
		select {
		case <-r.wake:
		case <-tick:
		case <-r.closing:
		case <-r.runCtx.Done():
			return
		}
		timer.Stop()
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (r *Recorder) caughtUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextF > r.lastF
}

// fill adds finished records to batch, from the queue when it holds the
// next one, else from the journal, until the batch is full or there is
// nothing more.
func (r *Recorder) fill(batch *[]record.Record, end *Pos) error {
	for len(*batch) < r.opts.BatchSize {
		r.mu.Lock()
		last, jend := r.lastF, Pos{r.seg, r.size}
		r.mu.Unlock()
		if r.nextF > last {
			return nil
		}
		select {
		case it := <-r.q:
			if it.fseq < r.nextF {
				continue // already read from the journal
			}
			if it.fseq == r.nextF {
				*batch = append(*batch, it.rec)
				r.nextF++
				r.readPos, *end = it.end, it.end
				continue
			}
			// Some finishes did not fit in the queue: read them back.
		default:
		}
		n, err := r.readJournal(batch, end, jend)
		if err != nil {
			return err
		}
		if n == 0 && r.nextF <= last {
			// Cannot happen unless the journal changed under us.
			r.log.Error("journal holds fewer finished records than appended; skipping ahead", "want", last-r.nextF+1, "at", r.readPos)
			r.nextF = last + 1
			return nil
		}
	}
	return nil
}

// readJournal reads finished records from r.readPos up to jend into batch
// until it is full, and returns how many it read.
func (r *Recorder) readJournal(batch *[]record.Record, end *Pos, jend Pos) (int, error) {
	n := 0
	for len(*batch) < r.opts.BatchSize && r.readPos.Less(jend) {
		if r.rd == nil || r.rd.pos() != r.readPos {
			if r.rd != nil {
				r.rd.close()
				r.rd = nil
			}
			rd, err := openSegment(r.dir, r.readPos.Segment, r.readPos.Offset)
			if os.IsNotExist(err) {
				r.readPos = Pos{r.readPos.Segment + 1, 0}
				continue
			}
			if err != nil {
				return n, err
			}
			r.rd = rd
		}
		if r.readPos.Segment == jend.Segment {
			r.rd.src.limit = jend.Offset
		} else {
			r.rd.src.limit = -1
		}
		bad := r.rd.dec.bad
		e, err := r.rd.dec.next()
		r.corrupt.Add(int64(r.rd.dec.bad - bad))
		if err == io.EOF {
			if r.readPos.Segment < jend.Segment {
				r.rd.close()
				r.rd = nil
				r.readPos = Pos{r.readPos.Segment + 1, 0}
				continue
			}
			break
		}
		if err != nil {
			return n, fmt.Errorf("segment %s: %w", segmentName(r.readPos.Segment), err)
		}
		r.readPos = r.rd.pos()
		if e.typ != typeFinish {
			continue
		}
		r.nextF++
		var rec record.Record
		if err := json.Unmarshal(e.payload, &rec); err != nil {
			r.log.Error("journal finish entry undecodable, record lost", "pos", Pos{r.readPos.Segment, e.start}, "err", err)
			continue
		}
		*batch = append(*batch, rec)
		*end = r.readPos
		n++
	}
	return n, nil
}

// commit writes batch to the store, retrying with backoff until it succeeds
// or the recorder is aborted.
func (r *Recorder) commit(batch []record.Record) bool {
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(r.runCtx, r.opts.WriteTimeout)
		err := r.w.WriteRecords(ctx, batch)
		cancel()
		if err == nil {
			r.written.Add(uint64(len(batch)))
			r.batches.Add(1)
			if attempt > 1 {
				r.log.Info("store write recovered", "attempts", attempt, "records", len(batch))
			}
			return true
		}
		if r.runCtx.Err() != nil {
			return false
		}
		r.storeErrs.Add(1)
		r.errMu.Lock()
		r.lastErr, r.lastErrAt = err.Error(), time.Now()
		r.errMu.Unlock()
		r.log.Warn("store write failed; records stay in the journal", "attempt", attempt, "records", len(batch), "err", err)
		if !r.sleep(backoff(r.opts.RetryMin, r.opts.RetryMax, attempt)) {
			return false
		}
	}
}

// backoff is min * 2^(attempt-1), capped at max, with up to 25% jitter.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := hi
	if attempt < 32 {
		d = min(hi, lo<<(attempt-1))
	}
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// sleep waits d unless the recorder is aborted first.
func (r *Recorder) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.runCtx.Done():
		return false
	}
}

// checkpoint persists the position up to which the journal is no longer
// needed: committed, the end of the last finish in the store, or the oldest
// begin still waiting for its finish if that is earlier. Then it deletes the
// segments before it.
func (r *Recorder) checkpoint(committed Pos) {
	r.carryForward()
	r.mu.Lock()
	cp := committed
	if el := r.order.Front(); el != nil {
		if p := el.Value.(*pendingBegin).pos; p.Less(cp) {
			cp = p
		}
	}
	if !r.cp.Less(cp) {
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	if err := writeCheckpoint(r.dir, cp, r.opts.Fsync); err != nil {
		r.log.Error("write journal checkpoint", "err", err)
		return
	}
	r.mu.Lock()
	r.cp = cp
	var drop []uint64
	for seq := range r.segSizes {
		if seq < cp.Segment && seq != r.seg {
			drop = append(drop, seq)
			delete(r.segSizes, seq)
		}
	}
	r.mu.Unlock()
	for _, seq := range drop {
		if err := os.Remove(segmentPath(r.dir, seq)); err != nil && !os.IsNotExist(err) {
			r.log.Warn("delete journal segment", "segment", segmentName(seq), "err", err)
		}
	}
}

// carryForward re-journals the begin entries of long calls, those more than
// one segment behind the current one, so that they do not pin old segments.
func (r *Recorder) carryForward() {
	r.mu.Lock()
	var old []pendingBegin
	for el := r.order.Front(); el != nil; el = el.Next() {
		pb := el.Value.(*pendingBegin)
		if pb.pos.Segment+1 >= r.seg {
			break
		}
		old = append(old, *pb)
	}
	r.mu.Unlock()
	for _, pb := range old {
		sr, err := openSegment(r.dir, pb.pos.Segment, pb.pos.Offset)
		if err != nil {
			r.log.Error("carry begin forward", "id", pb.id, "err", err)
			continue
		}
		e, err := sr.dec.next()
		sr.close()
		if err != nil || e.typ != typeBegin || e.start != pb.pos.Offset {
			r.log.Error("carry begin forward: entry not found", "id", pb.id, "pos", pb.pos, "err", err)
			continue
		}
		r.mu.Lock()
		if el, ok := r.pending[pb.id]; ok && el.Value.(*pendingBegin).pos == pb.pos && !r.closed {
			if at, err := r.appendLocked(e.line); err == nil {
				r.order.Remove(el)
				r.pending[pb.id] = r.order.PushBack(&pendingBegin{id: pb.id, pos: at})
			}
		}
		r.mu.Unlock()
	}
}

const checkpointName = "checkpoint"

func readCheckpoint(dir string) (*Pos, error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointName))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Pos
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return &p, nil
}

// writeCheckpoint replaces the checkpoint file atomically.
func writeCheckpoint(dir string, p Pos, fsync bool) error {
	b, _ := json.Marshal(p)
	tmp := filepath.Join(dir, checkpointName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, checkpointName)); err != nil {
		return err
	}
	if fsync {
		return syncDir(dir)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

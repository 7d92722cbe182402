package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The load generator: one HTTP client per side, an open-loop fixed-rate
// mode that measures latency from each request's intended send time (so a
// stall delays the clock, not the schedule: no coordinated omission), a
// closed-loop fixed-concurrency mode, and a streaming client that times
// every SSE event.

// requestTimeout bounds every non-streamed request and every stream of
// scenario c.
const requestTimeout = 10 * time.Second

// target is one side of a comparison.
type target struct {
	side   string // "direct" or "weir"
	url    string
	prefix string // model prefix: "" direct, "openai/" through weir
	client *http.Client
}

func newTarget(side, addr, prefix string) *target {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0, // no limit
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
	return &target{
		side:   side,
		url:    "http://" + addr + "/v1/chat/completions",
		prefix: prefix,
		client: &http.Client{Transport: tr},
	}
}

func (t *target) close() { t.client.CloseIdleConnections() }

// chatBody is a chat completions request for model, streamed or not.
// Streams ask for usage on both sides, so the simulator sends the same
// events whether or not the gateway is in the way (the gateway asks for
// usage itself when the caller does not, and drops that chunk).
func (t *target) chatBody(model string, stream bool) []byte {
	m := t.prefix + model
	if stream {
		return []byte(`{"model":"` + m + `","messages":[{"role":"user","content":"Say something for the benchmark."}],"stream":true,"stream_options":{"include_usage":true}}`)
	}
	return []byte(`{"model":"` + m + `","messages":[{"role":"user","content":"Say something for the benchmark."}]}`)
}

func (t *target) newRequest(ctx context.Context, body []byte) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// do sends a non-streamed request and reads the whole answer.
func (t *target) do(ctx context.Context, body []byte) (int64, error) {
	resp, err := t.client.Do(t.newRequest(ctx, body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("status %d", resp.StatusCode)
	}
	return n, err
}

// errorTally counts errors by message, keeping at most 20 distinct ones.
type errorTally struct {
	mu sync.Mutex
	n  int
	by map[string]int
}

func (e *errorTally) add(err error) {
	msg := err.Error()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		msg = "timeout"
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if e.by == nil {
		e.by = map[string]int{}
	}
	if _, ok := e.by[msg]; ok || len(e.by) < 20 {
		e.by[msg]++
	} else {
		e.by["(other)"]++
	}
}

func (e *errorTally) snapshot() (int, map[string]int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n, e.by
}

// loadRun is what one side of one round measured; latencies in ns.
type loadRun struct {
	sent     int
	ok       int
	errs     errorTally
	lat      []int64 // successful requests only
	sendLag  []int64 // open loop: actual send minus intended send
	elapsed  time.Duration
	maxInFly int64
}

// openLoop sends rate requests per second for dur, each at its intended
// time t0 + i/rate regardless of how earlier ones fare, and measures each
// latency from that intended time. At most maxInFlight requests are
// outstanding; a send beyond that counts as an error.
func openLoop(ctx context.Context, t *target, body []byte, rate int, dur time.Duration) *loadRun {
	n := int(int64(rate) * int64(dur) / int64(time.Second))
	interval := time.Second / time.Duration(rate)
	maxInFlight := min(max(rate*2, 256), 20000)
	r := &loadRun{}
	lat := make([]int64, n)
	r.sendLag = make([]int64, 0, n)
	var inFlight atomic.Int64
	var wg sync.WaitGroup
	defer preciseSleeper()()
	start := time.Now().Add(2 * time.Millisecond)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		intended := start.Add(time.Duration(i) * interval)
		waitUntil(intended)
		r.sendLag = append(r.sendLag, int64(time.Since(intended)))
		r.sent++
		lat[i] = -1
		if f := inFlight.Add(1); f > int64(maxInFlight) {
			inFlight.Add(-1)
			r.errs.add(errors.New("client: too many requests in flight"))
			continue
		} else if f > r.maxInFly {
			r.maxInFly = f
		}
		wg.Add(1)
		go func(i int, intended time.Time) {
			defer wg.Done()
			defer inFlight.Add(-1)
			rctx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			if _, err := t.do(rctx, body); err != nil {
				r.errs.add(err)
				return
			}
			lat[i] = int64(time.Since(intended))
		}(i, intended)
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	r.lat = make([]int64, 0, n)
	for _, l := range lat[:r.sent] {
		if l >= 0 {
			r.lat = append(r.lat, l)
		}
	}
	r.ok = len(r.lat)
	return r
}

// waitUntil sleeps until t. It uses nanosleep on the calling goroutine's
// own thread (see preciseSleeper), because the runtime's timers round waits
// below a millisecond up to one: at 1,000 req/s that would send each
// request about 0.5 ms late.
// A signal (the runtime's preemption, for one) ends nanosleep early, so it
// loops: a request sent early would look faster than it was.
func waitUntil(t time.Time) {
	for i := 0; i < 1000; i++ {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(int64(d))
		syscall.Nanosleep(&ts, nil)
	}
	for time.Now().Before(t) {
		time.Sleep(time.Until(t))
	}
}

// preciseSleeper locks the goroutine to its thread and lowers the thread's
// timer slack from 50 us to 1 us; the returned func undoes both (a locked
// goroutine must not exit locked: its thread would die with it, and with
// it the children's Pdeathsig parent).
func preciseSleeper() func() {
	runtime.LockOSThread()
	const prSetTimerslack = 29
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 1000, 0)
	return func() {
		syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, 0, 0) // back to the default
		runtime.UnlockOSThread()
	}
}

// closedLoop runs conc workers, each sending its next request as soon as
// the previous one is answered, for dur.
func closedLoop(ctx context.Context, t *target, body []byte, conc int, dur time.Duration) *loadRun {
	const maxPerWorker = 1 << 22
	r := &loadRun{}
	lats := make([][]int64, conc)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < maxPerWorker && ctx.Err() == nil; i++ {
				s := time.Now()
				if !s.Before(deadline) {
					return
				}
				rctx, cancel := context.WithTimeout(ctx, requestTimeout)
				_, err := t.do(rctx, body)
				cancel()
				if err != nil {
					r.errs.add(err)
					continue
				}
				lats[w] = append(lats[w], int64(time.Since(s)))
			}
		}(w)
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	for _, l := range lats {
		r.lat = append(r.lat, l...)
	}
	r.ok = len(r.lat)
	n, _ := r.errs.snapshot()
	r.sent = r.ok + n
	return r
}

// streamObs is one stream as the client saw it; times in ns from the
// moment the request was sent.
type streamObs struct {
	ttft     int64   // first event carrying content text
	offsets  []int64 // every data: event, [DONE] included
	sameRead int     // events that arrived in the same read as the one before
	done     bool    // [DONE] seen
}

// countingReader counts the reads that returned data.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.reads++
	}
	return n, err
}

var (
	dataPrefix   = []byte("data:")
	donePayload  = []byte("[DONE]")
	contentEmpty = []byte(`"content":""`)
	contentKey   = []byte(`"content":"`)
)

// maxEvents bounds the events read from one stream.
const maxEvents = 100000

// stream sends a streamed request and reads its SSE events until [DONE],
// the end of the body or ctx's end. onFirst, if set, runs at the first
// event.
func (t *target) stream(ctx context.Context, body []byte, onFirst func()) (streamObs, error) {
	var obs streamObs
	start := time.Now()
	resp, err := t.client.Do(t.newRequest(ctx, body))
	if err != nil {
		return obs, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return obs, fmt.Errorf("status %d", resp.StatusCode)
	}
	cr := &countingReader{r: resp.Body}
	br := bufio.NewReaderSize(cr, 64<<10)
	obs.offsets = make([]int64, 0, 80)
	obs.ttft = -1
	lastRead := -1
	for len(obs.offsets) < maxEvents {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && bytes.HasPrefix(line, dataPrefix) {
			at := int64(time.Since(start))
			obs.offsets = append(obs.offsets, at)
			if cr.reads == lastRead {
				obs.sameRead++
			}
			lastRead = cr.reads
			if len(obs.offsets) == 1 && onFirst != nil {
				onFirst()
			}
			payload := bytes.TrimSpace(line[len(dataPrefix):])
			if bytes.Equal(payload, donePayload) {
				obs.done = true
				return obs, nil
			}
			if obs.ttft < 0 && bytes.Contains(payload, contentKey) && !bytes.Contains(payload, contentEmpty) {
				obs.ttft = at
			}
		}
		if err != nil {
			if err == io.EOF {
				return obs, errors.New("stream ended without [DONE]")
			}
			return obs, err
		}
	}
	return obs, errors.New("too many events")
}

// streamRun is what one side of one streaming round measured.
type streamRun struct {
	streams []streamObs // complete streams only
	errs    errorTally
	elapsed time.Duration
}

// streamLoop runs conc workers, each starting its next stream as soon as
// the previous one ends, for dur (streams under way at the end finish).
func streamLoop(ctx context.Context, t *target, body []byte, conc int, dur time.Duration) *streamRun {
	const maxPerWorker = 1 << 16
	r := &streamRun{}
	per := make([][]streamObs, conc)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < maxPerWorker && ctx.Err() == nil && time.Now().Before(deadline); i++ {
				rctx, cancel := context.WithTimeout(ctx, requestTimeout)
				obs, err := t.stream(rctx, body, nil)
				cancel()
				if err != nil {
					r.errs.add(err)
					continue
				}
				per[w] = append(per[w], obs)
			}
		}(w)
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	for _, p := range per {
		r.streams = append(r.streams, p...)
	}
	return r
}

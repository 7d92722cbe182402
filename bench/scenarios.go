package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// bencher runs the scenarios against one simulator and one gateway.
type bencher struct {
	opt          options
	env          *env
	logf         func(string, ...any)
	direct, weir *target
}

func newBencher(opt options, e *env, logf func(string, ...any)) *bencher {
	return &bencher{
		opt: opt, env: e, logf: logf,
		direct: newTarget("direct", e.mock.addr, ""),
		weir:   newTarget("weir", e.weir.addr, "openai/"),
	}
}

func (b *bencher) close() {
	b.direct.close()
	b.weir.close()
}

// order is the sides of round r: direct first on even rounds, weir first
// on odd ones, so neither always runs on a machine the other just warmed.
func (b *bencher) order(r int) []*target {
	if r%2 == 0 {
		return []*target{b.direct, b.weir}
	}
	return []*target{b.weir, b.direct}
}

// CPUUse is the CPU time each process spent during a run, and per request.
type CPUUse struct {
	WeirMs         float64 `json:"weir_ms"`
	MockMs         float64 `json:"mock_ms"`
	ClientMs       float64 `json:"client_ms"`
	WeirUsPerReq   float64 `json:"weir_us_per_request"`
	MockUsPerReq   float64 `json:"mock_us_per_request"`
	ClientUsPerReq float64 `json:"client_us_per_request"`
	// OtherPercent is the CPU used by every other process on the machine,
	// in percent of its capacity: noise.
	OtherPercent float64 `json:"other_processes_cpu_percent"`
}

type cpuSnap struct {
	weir, mock, self, machine time.Duration
	at                        time.Time
}

func (b *bencher) snap() cpuSnap {
	w, _ := readProcCPU(b.env.weir.pid())
	m, _ := readProcCPU(b.env.mock.pid())
	return cpuSnap{w, m, selfCPU(), machineBusy(), time.Now()}
}

func (b *bencher) cpuSince(s cpuSnap, requests int) CPUUse {
	now := b.snap()
	u := CPUUse{
		WeirMs:   float64(now.weir-s.weir) / 1e6,
		MockMs:   float64(now.mock-s.mock) / 1e6,
		ClientMs: round3(float64(now.self-s.self) / 1e6),
	}
	other := (now.machine - s.machine) - (now.weir - s.weir) - (now.mock - s.mock) - (now.self - s.self)
	if wall := now.at.Sub(s.at); wall > 0 {
		u.OtherPercent = round1(max(0, float64(other)) / (float64(wall) * float64(runtime.NumCPU())) * 100)
	}
	if requests > 0 {
		u.WeirUsPerReq = round1(u.WeirMs * 1000 / float64(requests))
		u.MockUsPerReq = round1(u.MockMs * 1000 / float64(requests))
		u.ClientUsPerReq = round1(u.ClientMs * 1000 / float64(requests))
	}
	return u
}

// addCPU adds b to a; OtherPercent becomes the larger of the two.
func addCPU(a, b CPUUse) CPUUse {
	return CPUUse{WeirMs: a.WeirMs + b.WeirMs, MockMs: a.MockMs + b.MockMs, ClientMs: round3(a.ClientMs + b.ClientMs),
		OtherPercent: max(a.OtherPercent, b.OtherPercent)}
}

func (u CPUUse) per(requests int) CPUUse {
	if requests > 0 {
		u.WeirUsPerReq = round1(u.WeirMs * 1000 / float64(requests))
		u.MockUsPerReq = round1(u.MockMs * 1000 / float64(requests))
		u.ClientUsPerReq = round1(u.ClientMs * 1000 / float64(requests))
	}
	return u
}

// RunSummary is one side of one round of a request/response scenario.
type RunSummary struct {
	Side          string         `json:"side"`
	Round         int            `json:"round"`
	Requests      int            `json:"requests"`
	OK            int            `json:"ok"`
	Errors        int            `json:"errors"`
	ErrorMessages map[string]int `json:"error_messages,omitempty"`
	ElapsedS      float64        `json:"elapsed_s"`
	ThroughputRPS float64        `json:"throughput_rps"`
	Latency       Dist           `json:"latency"`
	SendLag       *Dist          `json:"send_lag,omitempty"`
	MaxInFlight   int64          `json:"max_in_flight,omitempty"`
	CPU           CPUUse         `json:"cpu"`
}

// SideSummary pools one side's rounds.
type SideSummary struct {
	Requests      int            `json:"requests"`
	OK            int            `json:"ok"`
	Errors        int            `json:"errors"`
	ErrorMessages map[string]int `json:"error_messages,omitempty"`
	ElapsedS      float64        `json:"elapsed_s"`
	ThroughputRPS float64        `json:"throughput_rps"`
	Latency       Dist           `json:"latency"`
	SendLag       *Dist          `json:"send_lag,omitempty"`
	CPU           CPUUse         `json:"cpu"`
}

// pool accumulates one side's runs.
type pool struct {
	sum          SideSummary
	lat, sendLag []int64
	elapsed      time.Duration
}

func (p *pool) add(run *loadRun, rs RunSummary) {
	p.sum.Requests += rs.Requests
	p.sum.OK += rs.OK
	p.sum.Errors += rs.Errors
	for k, v := range rs.ErrorMessages {
		if p.sum.ErrorMessages == nil {
			p.sum.ErrorMessages = map[string]int{}
		}
		p.sum.ErrorMessages[k] += v
	}
	p.sum.CPU = addCPU(p.sum.CPU, rs.CPU)
	p.lat = append(p.lat, run.lat...)
	p.sendLag = append(p.sendLag, run.sendLag...)
	p.elapsed += run.elapsed
}

func (p *pool) summary() SideSummary {
	s := p.sum
	s.ElapsedS = round3(p.elapsed.Seconds())
	if p.elapsed > 0 {
		s.ThroughputRPS = round1(float64(s.OK) / p.elapsed.Seconds())
	}
	s.Latency = distOf(p.lat)
	if len(p.sendLag) > 0 {
		d := distOf(p.sendLag)
		s.SendLag = &d
	}
	s.CPU = s.CPU.per(s.OK)
	return s
}

func summarise(side string, round int, run *loadRun, cpu CPUUse) RunSummary {
	n, by := run.errs.snapshot()
	rs := RunSummary{
		Side: side, Round: round, Requests: run.sent, OK: run.ok, Errors: n, ErrorMessages: maps.Clone(by),
		ElapsedS: round3(run.elapsed.Seconds()), Latency: distOf(run.lat), MaxInFlight: run.maxInFly, CPU: cpu,
	}
	if run.elapsed > 0 {
		rs.ThroughputRPS = round1(float64(run.ok) / run.elapsed.Seconds())
	}
	if len(run.sendLag) > 0 {
		d := distOf(run.sendLag)
		rs.SendLag = &d
	}
	return rs
}

// preflight checks that both sides answer each model before measuring.
func (b *bencher) preflight(ctx context.Context) error {
	for _, t := range []*target{b.direct, b.weir} {
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		_, err := t.do(rctx, t.chatBody("zero", false))
		cancel()
		if err != nil {
			return fmt.Errorf("preflight %s non-streamed: %w", t.side, err)
		}
		rctx, cancel = context.WithTimeout(ctx, requestTimeout)
		obs, err := t.stream(rctx, t.chatBody("realistic", true), nil)
		cancel()
		if err != nil {
			return fmt.Errorf("preflight %s stream: %w", t.side, err)
		}
		if obs.ttft < 0 {
			return fmt.Errorf("preflight %s stream: no content event in %d events", t.side, len(obs.offsets))
		}
	}
	return nil
}

// OpenLoopResult is scenario a.
type OpenLoopResult struct {
	Rate              int          `json:"rate_rps"`
	Runs              []RunSummary `json:"runs"`
	Direct            SideSummary  `json:"direct"`
	Weir              SideSummary  `json:"weir"`
	AddedP50Ms        float64      `json:"added_p50_ms"`
	AddedP90Ms        float64      `json:"added_p90_ms"`
	AddedP99Ms        float64      `json:"added_p99_ms"`
	AddedP50ByRoundMs []float64    `json:"added_p50_by_round_ms"`
	AddedP99ByRoundMs []float64    `json:"added_p99_by_round_ms"`
}

// scenarioOpenLoop is scenario a: non-streamed requests to the zero-latency
// model at a fixed rate.
func (b *bencher) scenarioOpenLoop(ctx context.Context, res *Results) error {
	r := &OpenLoopResult{Rate: b.opt.rate}
	for _, t := range []*target{b.direct, b.weir} {
		openLoop(ctx, t, t.chatBody("zero", false), b.opt.rate, b.opt.warmup)
	}
	pools := map[string]*pool{"direct": {}, "weir": {}}
	byRound := map[string][]Dist{}
	for round := 0; round < b.opt.rounds; round++ {
		for _, t := range b.order(round) {
			s := b.snap()
			run := openLoop(ctx, t, t.chatBody("zero", false), b.opt.rate, b.opt.duration)
			rs := summarise(t.side, round, run, b.cpuSince(s, run.ok))
			r.Runs = append(r.Runs, rs)
			pools[t.side].add(run, rs)
			byRound[t.side] = append(byRound[t.side], rs.Latency)
			b.logf("   round %d %-6s sent %d ok %d err %d  p50 %.3f p99 %.3f max %.3f ms  (send lag p99 %.3f ms, weir cpu %.0f us/req, other processes %.0f%%)",
				round, t.side, rs.Requests, rs.OK, rs.Errors, rs.Latency.P50, rs.Latency.P99, rs.Latency.Max, rs.SendLag.P99, rs.CPU.WeirUsPerReq, rs.CPU.OtherPercent)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	r.Direct, r.Weir = pools["direct"].summary(), pools["weir"].summary()
	r.AddedP50Ms = round3(r.Weir.Latency.P50 - r.Direct.Latency.P50)
	r.AddedP90Ms = round3(r.Weir.Latency.P90 - r.Direct.Latency.P90)
	r.AddedP99Ms = round3(r.Weir.Latency.P99 - r.Direct.Latency.P99)
	for i := range byRound["direct"] {
		r.AddedP50ByRoundMs = append(r.AddedP50ByRoundMs, round3(byRound["weir"][i].P50-byRound["direct"][i].P50))
		r.AddedP99ByRoundMs = append(r.AddedP99ByRoundMs, round3(byRound["weir"][i].P99-byRound["direct"][i].P99))
	}
	b.logf("   added p50 %.3f ms, p99 %.3f ms (by round p50 %v, p99 %v)", r.AddedP50Ms, r.AddedP99Ms, r.AddedP50ByRoundMs, r.AddedP99ByRoundMs)
	res.OpenLoop = r
	return nil
}

// ClosedLoopResult is scenario b at one concurrency.
type ClosedLoopResult struct {
	Concurrency     int          `json:"concurrency"`
	Runs            []RunSummary `json:"runs"`
	Direct          SideSummary  `json:"direct"`
	Weir            SideSummary  `json:"weir"`
	ThroughputRatio float64      `json:"throughput_ratio"`
}

// scenarioClosedLoop is scenario b: non-streamed requests to the
// zero-latency model from a fixed number of workers, as fast as answered.
func (b *bencher) scenarioClosedLoop(ctx context.Context, res *Results) error {
	for _, conc := range b.opt.concurrency {
		r := &ClosedLoopResult{Concurrency: conc}
		for _, t := range []*target{b.direct, b.weir} {
			closedLoop(ctx, t, t.chatBody("zero", false), conc, b.opt.warmup)
		}
		pools := map[string]*pool{"direct": {}, "weir": {}}
		for round := 0; round < b.opt.rounds; round++ {
			for _, t := range b.order(round) {
				s := b.snap()
				run := closedLoop(ctx, t, t.chatBody("zero", false), conc, b.opt.duration)
				rs := summarise(t.side, round, run, b.cpuSince(s, run.ok))
				r.Runs = append(r.Runs, rs)
				pools[t.side].add(run, rs)
				b.logf("   c=%d round %d %-6s %8.0f req/s  ok %d err %d  p50 %.3f p99 %.3f ms  cpu us/req weir %.0f mock %.0f client %.0f, other processes %.0f%%",
					conc, round, t.side, rs.ThroughputRPS, rs.OK, rs.Errors, rs.Latency.P50, rs.Latency.P99,
					rs.CPU.WeirUsPerReq, rs.CPU.MockUsPerReq, rs.CPU.ClientUsPerReq, rs.CPU.OtherPercent)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r.Direct, r.Weir = pools["direct"].summary(), pools["weir"].summary()
		if r.Direct.ThroughputRPS > 0 {
			r.ThroughputRatio = round3(r.Weir.ThroughputRPS / r.Direct.ThroughputRPS)
		}
		b.logf("   c=%d: direct %.0f req/s, via weir %.0f req/s, ratio %.3f", conc, r.Direct.ThroughputRPS, r.Weir.ThroughputRPS, r.ThroughputRatio)
		res.ClosedLoop = append(res.ClosedLoop, r)
	}
	return nil
}

// StreamRunSummary is one side of one round of scenario c.
type StreamRunSummary struct {
	Side          string         `json:"side"`
	Round         int            `json:"round"`
	Streams       int            `json:"streams"`
	Errors        int            `json:"errors"`
	ErrorMessages map[string]int `json:"error_messages,omitempty"`
	ElapsedS      float64        `json:"elapsed_s"`
	TTFT          Dist           `json:"ttft"`
	CPU           CPUUse         `json:"cpu"`
}

// StreamSideSummary pools one side's streams.
type StreamSideSummary struct {
	Streams       int            `json:"streams"`
	Errors        int            `json:"errors"`
	ErrorMessages map[string]int `json:"error_messages,omitempty"`
	TTFT          Dist           `json:"ttft"`
	Duration      Dist           `json:"duration"` // request to [DONE]
	// Chunks are data: events per stream, [DONE] included.
	ChunksMin   int `json:"chunks_per_stream_min"`
	ChunksMax   int `json:"chunks_per_stream_max"`
	TotalChunks int `json:"total_chunks"`
	// SameReadEvents are events that reached the client in the same read
	// as the event before them: bytes batched somewhere on the way.
	SameReadEvents int    `json:"same_read_events"`
	CPU            CPUUse `json:"cpu"`
}

// StreamingResult is scenario c.
type StreamingResult struct {
	Concurrency    int                `json:"concurrency"`
	Runs           []StreamRunSummary `json:"runs"`
	Direct         StreamSideSummary  `json:"direct"`
	Weir           StreamSideSummary  `json:"weir"`
	AddedTTFTP50Ms float64            `json:"added_ttft_p50_ms"`
	AddedTTFTP99Ms float64            `json:"added_ttft_p99_ms"`
	// ExpectedChunks is the chunk count of every direct stream (the
	// simulator's schedule is deterministic).
	ExpectedChunks int `json:"expected_chunks_per_stream"`
	// ChunksCoalesced is the sum over weir streams of ExpectedChunks minus
	// the chunks that stream delivered: the direct-minus-weir chunk total,
	// normalised to the same number of streams.
	ChunksCoalesced int `json:"chunks_coalesced"`
	// ChunkAdded is, over every weir stream and chunk index k, chunk k's
	// arrival offset minus the median offset of chunk k direct.
	ChunkAdded Dist `json:"chunk_added"`
	// ChunkSpreadDirect is the same for the direct streams themselves: the
	// noise floor of the comparison (the simulator's timers wake up to a
	// millisecond late).
	ChunkSpreadDirect Dist `json:"chunk_spread_direct"`
	// DirectChunkMedianMs[k] is chunk k's median arrival offset direct;
	// ChunkAddedP50Ms and ChunkAddedP99Ms are ChunkAdded per index.
	DirectChunkMedianMs []float64 `json:"direct_chunk_median_ms"`
	ChunkAddedP50Ms     []float64 `json:"chunk_added_p50_ms"`
	ChunkAddedP99Ms     []float64 `json:"chunk_added_p99_ms"`
}

// scenarioStreaming is scenario c: streams of the realistic model from a
// fixed number of workers.
func (b *bencher) scenarioStreaming(ctx context.Context, res *Results) error {
	conc := b.opt.streamConc
	r := &StreamingResult{Concurrency: conc}
	for _, t := range []*target{b.direct, b.weir} {
		streamLoop(ctx, t, t.chatBody("realistic", true), conc, b.opt.warmup)
	}
	streams := map[string][]streamObs{}
	sums := map[string]*StreamSideSummary{"direct": {}, "weir": {}}
	for round := 0; round < b.opt.rounds; round++ {
		for _, t := range b.order(round) {
			s := b.snap()
			run := streamLoop(ctx, t, t.chatBody("realistic", true), conc, b.opt.duration)
			n, by := run.errs.snapshot()
			ttft := make([]int64, 0, len(run.streams))
			for _, o := range run.streams {
				ttft = append(ttft, o.ttft)
			}
			rs := StreamRunSummary{
				Side: t.side, Round: round, Streams: len(run.streams), Errors: n, ErrorMessages: maps.Clone(by),
				ElapsedS: round3(run.elapsed.Seconds()), TTFT: distOf(ttft), CPU: b.cpuSince(s, len(run.streams)),
			}
			r.Runs = append(r.Runs, rs)
			streams[t.side] = append(streams[t.side], run.streams...)
			ss := sums[t.side]
			ss.Errors += n
			for k, v := range by {
				if ss.ErrorMessages == nil {
					ss.ErrorMessages = map[string]int{}
				}
				ss.ErrorMessages[k] += v
			}
			ss.CPU = addCPU(ss.CPU, rs.CPU)
			b.logf("   round %d %-6s streams %d err %d  ttft p50 %.3f p99 %.3f ms  cpu us/stream weir %.0f mock %.0f, other processes %.0f%%",
				round, t.side, rs.Streams, rs.Errors, rs.TTFT.P50, rs.TTFT.P99, rs.CPU.WeirUsPerReq, rs.CPU.MockUsPerReq, rs.CPU.OtherPercent)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for side, ss := range sums {
		obs := streams[side]
		ss.Streams = len(obs)
		ss.CPU = ss.CPU.per(len(obs))
		ttft := make([]int64, 0, len(obs))
		dur := make([]int64, 0, len(obs))
		ss.ChunksMin = -1
		for _, o := range obs {
			ttft = append(ttft, o.ttft)
			dur = append(dur, o.offsets[len(o.offsets)-1])
			c := len(o.offsets)
			ss.TotalChunks += c
			ss.SameReadEvents += o.sameRead
			if ss.ChunksMin < 0 || c < ss.ChunksMin {
				ss.ChunksMin = c
			}
			ss.ChunksMax = max(ss.ChunksMax, c)
		}
		ss.TTFT, ss.Duration = distOf(ttft), distOf(dur)
	}
	r.Direct, r.Weir = *sums["direct"], *sums["weir"]
	if len(streams["direct"]) == 0 || len(streams["weir"]) == 0 {
		res.Streaming = r
		return errors.New("no complete stream on one side")
	}
	r.AddedTTFTP50Ms = round3(r.Weir.TTFT.P50 - r.Direct.TTFT.P50)
	r.AddedTTFTP99Ms = round3(r.Weir.TTFT.P99 - r.Direct.TTFT.P99)

	// The expected chunk count is the most common direct one.
	counts := map[int]int{}
	for _, o := range streams["direct"] {
		counts[len(o.offsets)]++
	}
	for c, n := range counts {
		if n > counts[r.ExpectedChunks] || (n == counts[r.ExpectedChunks] && c > r.ExpectedChunks) {
			r.ExpectedChunks = c
		}
	}
	for _, o := range streams["weir"] {
		r.ChunksCoalesced += r.ExpectedChunks - len(o.offsets)
	}

	// Per-chunk added latency against the direct median of each index.
	medians := make([]int64, r.ExpectedChunks)
	col := make([]int64, 0, len(streams["direct"]))
	for k := range medians {
		col = col[:0]
		for _, o := range streams["direct"] {
			if k < len(o.offsets) {
				col = append(col, o.offsets[k])
			}
		}
		medians[k] = median(col)
		r.DirectChunkMedianMs = append(r.DirectChunkMedianMs, ms(medians[k]))
	}
	var all, spread []int64
	for k := range medians {
		for _, o := range streams["direct"] {
			if k < len(o.offsets) {
				spread = append(spread, o.offsets[k]-medians[k])
			}
		}
		col = col[:0]
		for _, o := range streams["weir"] {
			if k < len(o.offsets) {
				col = append(col, o.offsets[k]-medians[k])
			}
		}
		all = append(all, col...)
		d := distOf(col)
		r.ChunkAddedP50Ms = append(r.ChunkAddedP50Ms, d.P50)
		r.ChunkAddedP99Ms = append(r.ChunkAddedP99Ms, d.P99)
	}
	r.ChunkAdded = distOf(all)
	r.ChunkSpreadDirect = distOf(spread)
	b.logf("   added ttft p50 %.3f p99 %.3f ms; per-chunk added p50 %.3f p99 %.3f ms (direct spread p99 %.3f); chunks/stream %d (weir %d-%d), coalesced %d; same-read events direct %d weir %d",
		r.AddedTTFTP50Ms, r.AddedTTFTP99Ms, r.ChunkAdded.P50, r.ChunkAdded.P99, r.ChunkSpreadDirect.P99, r.ExpectedChunks,
		r.Weir.ChunksMin, r.Weir.ChunksMax, r.ChunksCoalesced, r.Direct.SameReadEvents, r.Weir.SameReadEvents)
	res.Streaming = r
	return nil
}

// RSSSample is one reading of weir's memory during scenario d.
type RSSSample struct {
	AtS     float64 `json:"at_s"`
	RSSMB   float64 `json:"rss_mb"`
	Open    int64   `json:"open_streams"`
	Threads int     `json:"threads"`
}

// OpenStreamsResult is scenario d.
type OpenStreamsResult struct {
	Streams       int            `json:"streams"`
	Opened        int64          `json:"opened"`
	OpenedAfterS  float64        `json:"all_open_after_s"`
	HeldS         float64        `json:"held_s"`
	EndedEarly    int64          `json:"ended_early"`
	ErrorMessages map[string]int `json:"error_messages,omitempty"`
	RSSBeforeMB   float64        `json:"rss_before_mb"`
	PeakRSSMB     float64        `json:"peak_rss_mb"`
	VmHWMMB       float64        `json:"vm_hwm_mb"` // whole process life, read at the end of d
	RSSAfterMB    float64        `json:"rss_after_close_mb"`
	KBPerStream   float64        `json:"kb_per_stream"` // (peak - before) / opened
	Samples       []RSSSample    `json:"samples"`
}

// scenarioOpenStreams is scenario d: many concurrent long-lived streams
// through weir, holding them open while sampling weir's RSS.
func (b *bencher) scenarioOpenStreams(ctx context.Context, res *Results) error {
	n := b.opt.openStreams
	r := &OpenStreamsResult{Streams: n}
	pid := b.env.weir.pid()
	before, err := readProcStatus(pid)
	if err != nil {
		return err
	}
	r.RSSBeforeMB = round1(mb(before.VmRSS))

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var open, endedEarly atomic.Int64
	var errs errorTally
	var wg sync.WaitGroup
	var samplesMu sync.Mutex
	start := time.Now()
	sample := func() {
		st, err := readProcStatus(pid)
		if err != nil {
			return
		}
		samplesMu.Lock()
		r.Samples = append(r.Samples, RSSSample{AtS: round3(time.Since(start).Seconds()), RSSMB: round1(mb(st.VmRSS)), Open: open.Load(), Threads: st.Threads})
		samplesMu.Unlock()
	}
	samplerDone := make(chan struct{})
	stopSampler := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 10000; i++ {
			sample()
			select {
			case <-stopSampler:
				return
			case <-tick.C:
			}
		}
	}()

	body := b.weir.chatBody("long", true)
	// Ramp up: 50 streams every 50 ms.
	for i := 0; i < n && sctx.Err() == nil; i++ {
		if i > 0 && i%50 == 0 {
			sleepCtx(sctx, 50*time.Millisecond)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.weir.stream(sctx, body, func() { open.Add(1) })
			if sctx.Err() != nil {
				return // ended by the harness: expected
			}
			endedEarly.Add(1)
			if err != nil {
				errs.add(err)
			} else {
				errs.add(errors.New("stream finished before it was released"))
			}
		}()
	}
	// Wait for every stream's first event, at most 30 s.
	for i := 0; i < 3000 && open.Load()+endedEarly.Load() < int64(n) && ctx.Err() == nil; i++ {
		sleepCtx(ctx, 10*time.Millisecond)
	}
	r.OpenedAfterS = round3(time.Since(start).Seconds())
	r.Opened = open.Load()
	b.logf("   %d/%d streams open after %.1fs; holding %s", r.Opened, n, r.OpenedAfterS, b.opt.hold)
	holdStart := time.Now()
	sleepCtx(ctx, b.opt.hold)
	r.HeldS = round3(time.Since(holdStart).Seconds())
	close(stopSampler)
	<-samplerDone
	sample()
	end, err := readProcStatus(pid)
	if err == nil {
		r.VmHWMMB = round1(mb(end.VmHWM))
	}
	r.EndedEarly = endedEarly.Load()

	cancel()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		b.logf("   warning: streams still running 30s after release")
	}
	sleepCtx(ctx, time.Second)
	if after, err := readProcStatus(pid); err == nil {
		r.RSSAfterMB = round1(mb(after.VmRSS))
	}
	_, by := errs.snapshot()
	r.ErrorMessages = maps.Clone(by)
	for _, s := range r.Samples {
		r.PeakRSSMB = max(r.PeakRSSMB, s.RSSMB)
	}
	if r.Opened > 0 {
		r.KBPerStream = round1((r.PeakRSSMB - r.RSSBeforeMB) * 1024 / float64(r.Opened))
	}
	b.logf("   weir RSS before %.1f MB, peak %.1f MB (%.1f KB/stream), VmHWM %.1f MB, after release %.1f MB; ended early %d",
		r.RSSBeforeMB, r.PeakRSSMB, r.KBPerStream, r.VmHWMMB, r.RSSAfterMB, r.EndedEarly)
	res.OpenStreams = r
	return nil
}

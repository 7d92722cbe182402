// Package seed writes a realistic history of calls into a store, for
// `weir seed`: the dashboard's benchmark (pages over 10 million calls),
// demos and load tests of the read side. Calls belong to use cases with
// instances, steps, teams and users, follow a working-hours and weekday
// rhythm with growth over the period, carry latencies and token counts
// typical of their models, a share of errors, rate limits, retries and
// fallbacks, and are priced by the real cost engine. Use cases are
// defined with KPIs and a version change part-way, and most instances get
// KPI results, so value reports have data behind them.
//
// The generator is deterministic for a seed: the same options write the
// same calls (IDs included), so running it twice adds nothing.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/usage"
	"github.com/weirhq/weir/internal/value"
)

// Store is what seeding writes to.
type Store interface {
	store.Writer
	value.Store
}

// Pricer prices a call (*costing.Engine is one).
type Pricer interface {
	Price(rec *record.Record, priceAs string)
}

// Options say how much history to write.
type Options struct {
	// Calls is the number of calls to write (default 100,000).
	Calls int
	// Days is the length of the history, ending at End (default 90).
	Days int
	// End is the end of the history (default now, to the minute).
	End time.Time
	// Seed makes another, equally realistic history (default 1).
	Seed uint64
	// Batch is the number of calls per store write (default 5000).
	Batch int
	// KPIShare is the share of instances that get KPI results (default
	// 0.6; negative for none).
	KPIShare float64
	// Progress, when set, is called after every batch with the calls
	// written so far.
	Progress func(written int)
}

// Result says what was written.
type Result struct {
	Calls, Instances, KPIResults int
	From, To                     time.Time
}

// step is one call an instance of a use case makes.
type step struct {
	name      string
	endpoint  string
	provider  string
	model     string
	route     string // "" for a direct call
	stream    bool
	inTokens  float64 // median input tokens
	outTokens float64 // median output tokens
	reasoning float64 // median reasoning tokens (0: none)
	cacheable float64 // share of input read from the cache, when cached
}

// model timings: median time to first token and output tokens per second.
var timings = map[string]struct{ ttft, otps float64 }{
	"gpt-4o-mini":            {380, 85},
	"gpt-4.1":                {520, 60},
	"o4-mini":                {2400, 120},
	"text-embedding-3-small": {90, 0},
	"claude-haiku-4-5":       {450, 110},
	"claude-sonnet-4-5":      {900, 65},
	"gemini-2.5-flash":       {420, 160},
}

type useCase struct {
	def   value.UseCase
	team  string
	users int
	// weight is the use case's share of the instances.
	weight float64
	steps  []step
	// outcomes draws an instance's KPI results (KPI name to nanos) for
	// the use case version in force.
	outcomes func(rnd *rand.Rand, v2 bool) map[string]int64
	// v2At is where in the history (0..1) version 2 starts; 0 for never.
	v2At float64
}

func f(v float64) *float64 { return &v }

func usd(s string) pricing.Decimal { return *pricing.Dec(s) }

const nano = 1_000_000_000

func boolean(rnd *rand.Rand, p float64) int64 {
	if rnd.Float64() < p {
		return nano
	}
	return 0
}

var useCases = []useCase{
	{team: "support", users: 40, weight: 0.42, v2At: 0.6,
		def: value.UseCase{Name: "support-triage", Description: "Classify a ticket, search the knowledge base, draft a reply",
			BusinessOwner: "head-of-support@example.com", TechnicalOwner: "ml-platform@example.com",
			KPIs: []value.KPI{
				{Name: "resolved", Type: "boolean", Goal: f(0.7), Direction: "higher", Value: []value.ValueRule{{USDPerUnit: usd("4.20"), MinutesPerUnit: usd("6"), Note: "an agent's handling cost"}}},
				{Name: "csat", Type: "likert5", Goal: f(4.2), Direction: "higher"},
			}},
		steps: []step{
			{name: "classify", endpoint: record.EndpointChatCompletions, provider: "openai", model: "gpt-4o-mini", route: "support-chat", inTokens: 900, outTokens: 12, cacheable: 0.6},
			{name: "search-kb", endpoint: record.EndpointEmbeddings, provider: "openai", model: "text-embedding-3-small", inTokens: 120},
			{name: "draft-reply", endpoint: record.EndpointChatCompletions, provider: "openai", model: "gpt-4o-mini", route: "support-chat", stream: true, inTokens: 2600, outTokens: 260, cacheable: 0.5},
		},
		outcomes: func(rnd *rand.Rand, v2 bool) map[string]int64 {
			p := 0.68
			if v2 {
				p = 0.77
			}
			return map[string]int64{"resolved": boolean(rnd, p), "csat": int64(3+rnd.IntN(3)) * nano}
		}},
	{team: "sales", users: 15, weight: 0.18,
		def: value.UseCase{Name: "lead-qualification", Description: "Enrich and score inbound leads",
			BusinessOwner: "sales-ops@example.com", TechnicalOwner: "ml-platform@example.com",
			KPIs: []value.KPI{{Name: "qualified", Type: "boolean", Goal: f(0.25), Direction: "higher", Value: []value.ValueRule{{USDPerUnit: usd("35"), Note: "pipeline value of a qualified lead"}}}}},
		steps: []step{
			{name: "enrich", endpoint: record.EndpointMessages, provider: "anthropic", model: "claude-haiku-4-5", inTokens: 1400, outTokens: 180},
			{name: "score", endpoint: record.EndpointMessages, provider: "anthropic", model: "claude-sonnet-4-5", stream: true, inTokens: 2200, outTokens: 320, cacheable: 0.4},
		},
		outcomes: func(rnd *rand.Rand, _ bool) map[string]int64 { return map[string]int64{"qualified": boolean(rnd, 0.3)} }},
	{team: "legal", users: 6, weight: 0.06, v2At: 0.35,
		def: value.UseCase{Name: "contract-review", Description: "First-pass review of supplier contracts",
			BusinessOwner: "general-counsel@example.com", TechnicalOwner: "ml-platform@example.com",
			KPIs: []value.KPI{{Name: "review_accepted", Type: "boolean", Goal: f(0.8), Direction: "higher", Value: []value.ValueRule{{USDPerUnit: usd("60"), MinutesPerUnit: usd("45"), Note: "a paralegal's first pass"}}}}},
		steps: []step{
			{name: "extract", endpoint: record.EndpointChatCompletions, provider: "openai", model: "gpt-4.1", inTokens: 18000, outTokens: 900, cacheable: 0.3},
			{name: "assess-risk", endpoint: record.EndpointChatCompletions, provider: "openai", model: "o4-mini", stream: true, inTokens: 6000, outTokens: 700, reasoning: 1800},
			{name: "summarise", endpoint: record.EndpointMessages, provider: "anthropic", model: "claude-sonnet-4-5", stream: true, inTokens: 5000, outTokens: 450},
		},
		outcomes: func(rnd *rand.Rand, v2 bool) map[string]int64 {
			p := 0.84
			if v2 {
				p = 0.81 // the cheaper prompt of version 2 is accepted a little less often
			}
			return map[string]int64{"review_accepted": boolean(rnd, p)}
		}},
	{team: "engineering", users: 60, weight: 0.2,
		def: value.UseCase{Name: "code-review", Description: "Review pull requests and suggest fixes",
			BusinessOwner: "vp-engineering@example.com", TechnicalOwner: "dev-productivity@example.com",
			KPIs: []value.KPI{{Name: "suggestion_applied", Type: "boolean", Goal: f(0.35), Direction: "higher", Value: []value.ValueRule{{USDPerUnit: usd("12"), MinutesPerUnit: usd("10"), Note: "an engineer's time saved"}}}}},
		steps: []step{
			{name: "review", endpoint: record.EndpointMessages, provider: "anthropic", model: "claude-sonnet-4-5", stream: true, inTokens: 9000, outTokens: 600, cacheable: 0.7},
		},
		outcomes: func(rnd *rand.Rand, _ bool) map[string]int64 {
			return map[string]int64{"suggestion_applied": boolean(rnd, 0.38)}
		}},
	{team: "marketing", users: 12, weight: 0.09,
		def: value.UseCase{Name: "campaign-copy", Description: "Draft campaign copy variants",
			BusinessOwner: "cmo-office@example.com", TechnicalOwner: "ml-platform@example.com",
			KPIs: []value.KPI{{Name: "copy_used", Type: "boolean", Goal: f(0.5), Direction: "higher", Value: []value.ValueRule{{USDPerUnit: usd("25"), MinutesPerUnit: usd("30")}}}}},
		steps: []step{
			{name: "draft", endpoint: record.EndpointChatCompletions, provider: "google", model: "gemini-2.5-flash", stream: true, inTokens: 700, outTokens: 500},
			{name: "polish", endpoint: record.EndpointChatCompletions, provider: "openai", model: "gpt-4.1", inTokens: 1200, outTokens: 400},
		},
		outcomes: func(rnd *rand.Rand, _ bool) map[string]int64 {
			return map[string]int64{"copy_used": boolean(rnd, 0.46)}
		}},
	{team: "it", users: 80, weight: 0.05,
		// No definition: calls that name a use case nobody defined yet.
		def: value.UseCase{Name: "internal-search"},
		steps: []step{
			{name: "answer", endpoint: record.EndpointChatCompletions, provider: "openai", model: "gpt-4o-mini", stream: true, inTokens: 1800, outTokens: 220},
		}},
}

// Run writes opt.Calls calls (and their use cases and KPI results) to st.
func Run(ctx context.Context, st Store, pr Pricer, opt Options) (Result, error) {
	if opt.Calls <= 0 {
		opt.Calls = 100_000
	}
	if opt.Days <= 0 {
		opt.Days = 90
	}
	if opt.End.IsZero() {
		opt.End = time.Now()
	}
	opt.End = opt.End.UTC().Truncate(time.Minute)
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	if opt.Batch <= 0 {
		opt.Batch = 5000
	}
	if opt.KPIShare == 0 {
		opt.KPIShare = 0.6
	}
	from := opt.End.Add(-time.Duration(opt.Days) * 24 * time.Hour)
	res := Result{From: from, To: opt.End}
	if err := defineUseCases(ctx, st, from, opt.End); err != nil {
		return res, err
	}
	g := newGenerator(opt, from)
	batch := make([]record.Record, 0, opt.Batch)
	var kpis []store.KPIResult
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := st.WriteRecords(ctx, batch); err != nil {
			return fmt.Errorf("seed: write calls: %w", err)
		}
		res.Calls += len(batch)
		batch = batch[:0]
		for _, k := range kpis {
			if _, _, err := st.PutKPIResult(ctx, k); err != nil {
				return fmt.Errorf("seed: write KPI result: %w", err)
			}
		}
		res.KPIResults += len(kpis)
		kpis = kpis[:0]
		if opt.Progress != nil {
			opt.Progress(res.Calls)
		}
		return nil
	}
	for res.Calls+len(batch) < opt.Calls {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		calls, results := g.instance(opt.Calls - res.Calls - len(batch))
		for i := range calls {
			pr.Price(&calls[i], calls[i].Provider)
		}
		batch = append(batch, calls...)
		kpis = append(kpis, results...)
		res.Instances++
		if len(batch) >= opt.Batch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

// defineUseCases stores the definitions as they were at from, with
// version 2 from its point in the history, unless they exist already.
func defineUseCases(ctx context.Context, st Store, from, to time.Time) error {
	for _, uc := range useCases {
		if len(uc.def.KPIs) == 0 {
			continue
		}
		at := from
		svc := &value.Service{St: st, Now: func() time.Time { return at }}
		_, err := svc.Get(ctx, uc.def.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("seed: %w", err)
		}
		def := uc.def
		def.Version = "1"
		if _, err := svc.Put(ctx, def, 0, "weir seed"); err != nil {
			return fmt.Errorf("seed: define %s: %w", def.Name, err)
		}
		if uc.v2At > 0 {
			at = versionTwo(uc, from, to)
			if _, err := svc.NewVersion(ctx, def.Name, "2", "new prompt", "weir seed"); err != nil {
				return fmt.Errorf("seed: version %s: %w", def.Name, err)
			}
		}
	}
	return nil
}

func versionTwo(uc useCase, from, to time.Time) time.Time {
	return from.Add(time.Duration(float64(to.Sub(from)) * uc.v2At)).Truncate(time.Hour)
}

// generator makes instances in time order.
type generator struct {
	opt  Options
	rnd  *rand.Rand
	from time.Time
	// hours are the cumulative weights of the history's hours.
	hours []float64
	// stepsPerInstance is the mean number of calls per instance.
	stepsPerInstance float64
	seq              int
	cum              []float64 // cumulative use-case weights
}

func newGenerator(opt Options, from time.Time) *generator {
	g := &generator{opt: opt, rnd: rand.New(rand.NewPCG(opt.Seed, 0x5eed)), from: from}
	n := opt.Days * 24
	total := 0.0
	for h := range n {
		t := from.Add(time.Duration(h) * time.Hour)
		w := hourWeight(t) * (1 + 0.6*float64(h)/float64(n)) // growth over the period
		total += w
		g.hours = append(g.hours, total)
	}
	sum := 0.0
	for _, uc := range useCases {
		sum += uc.weight
		g.stepsPerInstance += uc.weight * float64(len(uc.steps))
		g.cum = append(g.cum, sum)
	}
	g.stepsPerInstance /= sum
	return g
}

// hourWeight is the relative traffic of the hour starting at t (UTC):
// working hours, quieter nights, and weekends at a third.
func hourWeight(t time.Time) float64 {
	h := float64(t.Hour())
	w := 0.15 + math.Exp(-math.Pow((h-13)/4.5, 2))
	if d := t.Weekday(); d == time.Saturday || d == time.Sunday {
		w *= 0.33
	}
	return w
}

// instance makes the calls of the next instance (at most max) and its KPI
// results. Instances are spread over the history in order: the i-th of
// about Calls/stepsPerInstance starts at the matching point of the
// cumulative hourly weights.
func (g *generator) instance(max int) ([]record.Record, []store.KPIResult) {
	rnd := g.rnd
	expected := float64(g.opt.Calls) / g.stepsPerInstance
	pos := (float64(g.seq) + rnd.Float64()) / expected * g.hours[len(g.hours)-1]
	h := 0
	for lo, hi := 0, len(g.hours)-1; lo <= hi; {
		mid := (lo + hi) / 2
		if g.hours[mid] < pos {
			lo = mid + 1
		} else {
			h, hi = mid, mid-1
		}
	}
	start := g.from.Add(time.Duration(h)*time.Hour + time.Duration(rnd.Int64N(int64(time.Hour))))
	if end := g.from.Add(time.Duration(g.opt.Days) * 24 * time.Hour); !start.Before(end) {
		start = end.Add(-time.Second)
	}
	g.seq++
	u := rnd.Float64() * g.cum[len(g.cum)-1]
	ui := 0
	for ui < len(g.cum)-1 && u > g.cum[ui] {
		ui++
	}
	uc := useCases[ui]
	v2 := uc.v2At > 0 && !start.Before(versionTwo(uc, g.from, g.from.Add(time.Duration(g.opt.Days)*24*time.Hour)))
	version := ""
	if len(uc.def.KPIs) > 0 {
		version = "1"
		if v2 {
			version = "2"
		}
	}
	inst := fmt.Sprintf("%s-%08d", uc.def.Name, g.seq)
	user := fmt.Sprintf("%s-user-%02d", uc.team, int(math.Floor(math.Pow(rnd.Float64(), 2)*float64(uc.users))))
	var calls []record.Record
	at := start
	for si, s := range uc.steps {
		if len(calls) == max {
			break
		}
		rec := g.call(uc, s, at)
		rec.ID = fmt.Sprintf("seed-%d-%09d-%d", g.opt.Seed, g.seq, si)
		rec.UseCaseInstance, rec.UseCaseVersion, rec.UseCaseStep = inst, version, s.name
		rec.User, rec.Team, rec.Account = user, uc.team, "acct-"+uc.team
		calls = append(calls, rec)
		at = at.Add(time.Duration(rec.E2EMs*float64(time.Millisecond)) + time.Duration(rnd.Int64N(int64(3*time.Second))))
	}
	var results []store.KPIResult
	if uc.outcomes != nil && g.opt.KPIShare > 0 && rnd.Float64() < g.opt.KPIShare {
		for k, v := range uc.outcomes(rnd, v2) {
			results = append(results, store.KPIResult{UseCase: uc.def.Name, Instance: inst, KPI: k, Nanos: v,
				At: at.Add(time.Duration(rnd.Int64N(int64(4 * time.Hour)))), RecordedBy: "weir seed"})
		}
	}
	return calls, results
}

// lognormal draws around median with the spread sigma.
func (g *generator) lognormal(median, sigma float64) float64 {
	return median * math.Exp(g.rnd.NormFloat64()*sigma)
}

// call makes one call of step s at t.
func (g *generator) call(uc useCase, s step, t time.Time) record.Record {
	rnd := g.rnd
	rec := record.Record{ReceivedAt: t, Endpoint: s.endpoint, Provider: s.provider, RequestedModel: s.model, Model: s.model,
		ResponseModel: s.model, Route: s.route, Stream: s.stream, Status: 200, FinishReason: "stop"}
	rec.UseCase = uc.def.Name
	if s.route != "" {
		rec.RequestedModel = s.route
	}
	tm := timings[s.model]
	in := int64(math.Max(1, g.lognormal(s.inTokens, 0.45)))
	u := usage.Usage{InputTokens: in}
	if s.cacheable > 0 && rnd.Float64() < 0.7 {
		u.CacheReadTokens = int64(float64(in) * s.cacheable)
	}
	out := int64(0)
	if s.outTokens > 0 {
		out = int64(math.Max(1, g.lognormal(s.outTokens, 0.6)))
		if s.reasoning > 0 {
			u.ReasoningTokens = int64(g.lognormal(s.reasoning, 0.7))
		}
		out += u.ReasoningTokens
	}
	u.OutputTokens = out
	ttft := g.lognormal(tm.ttft, 0.35) * (1 + float64(in)/200000)
	overhead := 0.15 + rnd.ExpFloat64()*0.2
	var e2e float64
	if s.endpoint == record.EndpointEmbeddings {
		e2e = ttft
	} else {
		otps := math.Max(5, g.lognormal(tm.otps, 0.25))
		gen := float64(out) / otps * 1000
		e2e = ttft + gen
		if s.stream {
			rec.TTFTMs = f(ttft)
			ttfct := ttft
			if u.ReasoningTokens > 0 {
				ttfct = ttft + float64(u.ReasoningTokens)/otps*1000
			}
			rec.TTFCTMs = f(ttfct)
			rec.OTPS = f(otps)
			gap := 1000 / otps
			rec.ITLMs = &record.ITL{Mean: gap, P50: gap * 0.9, P95: gap * 2.2, Max: gap * 6, Count: int(max(1, out-1))}
			rec.TPOTMs = f(gap)
			rec.Chunks = int(out)
		}
	}
	rec.E2EMs = e2e + overhead
	rec.UpstreamMs = e2e
	rec.OverheadMs = overhead
	rec.Usage = u
	rec.Attempts = []record.Attempt{{Provider: s.provider, Model: s.model, DurationMs: e2e, Status: 200}}

	// Failures: 429s (mostly recovered by the route's fallback), 5xx and
	// broken streams. A quiet rate, with a bad afternoon every ten days.
	bad := 0.004
	if day := t.YearDay(); day%10 == 3 && t.Hour() >= 13 && t.Hour() < 16 {
		bad = 0.08
	}
	switch r := rnd.Float64(); {
	case r < bad*3 && s.route != "": // 429 on the primary, served by the fallback
		first := record.Attempt{Provider: s.provider, Model: s.model, DurationMs: 40 + rnd.Float64()*80, Status: 429,
			ErrorKind: "rate_limited", Next: "fallback"}
		fb := record.Attempt{Provider: "anthropic", Model: "claude-haiku-4-5", StartMs: first.DurationMs, DurationMs: e2e, Status: 200}
		rec.Attempts = []record.Attempt{first, fb}
		rec.Provider, rec.Model, rec.ResponseModel = fb.Provider, fb.Model, fb.Model
		rec.E2EMs += first.DurationMs
	case r < bad*3:
		rec.Status, rec.ErrorKind, rec.ErrorMessage = 429, "rate_limited", "rate limit reached for requests"
		rec.Attempts[0].Status, rec.Attempts[0].ErrorKind = 429, "rate_limited"
		g.failed(&rec, 60+rnd.Float64()*100)
	case r < bad*4:
		rec.Status, rec.ErrorKind, rec.ErrorMessage = 502, "upstream_error", "upstream answered 500"
		rec.Attempts[0].Status, rec.Attempts[0].ErrorKind = 500, "upstream_error"
		g.failed(&rec, 200+rnd.Float64()*2000)
	case r < bad*4.5 && s.stream:
		rec.ErrorKind, rec.ErrorMessage, rec.FinishReason = "upstream_bad_response", "stream broke", ""
		rec.Usage.OutputTokens /= 3
		rec.Usage.ReasoningTokens = min(rec.Usage.ReasoningTokens, rec.Usage.OutputTokens)
	}
	return rec
}

// failed makes rec a call that got no answer from its provider after ms.
func (g *generator) failed(rec *record.Record, ms float64) {
	rec.Usage = usage.Usage{}
	rec.TTFTMs, rec.TTFCTMs, rec.OTPS, rec.ITLMs, rec.TPOTMs, rec.Chunks = nil, nil, nil, nil, nil, 0
	rec.FinishReason = ""
	rec.Attempts[0].DurationMs = ms
	rec.UpstreamMs = ms
	rec.E2EMs = ms + rec.OverheadMs
}

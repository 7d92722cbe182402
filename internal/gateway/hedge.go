package gateway

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/resilience"
)

// Hedge sends a second attempt of a non-streamed call to the next target
// when the first has not answered in time; the first answer wins and the
// other attempt is cancelled.
type Hedge struct {
	// After is the wait before the second attempt; with Percentile, the
	// longest wait.
	After time.Duration
	// Percentile, when set (e.g. 95), waits for that percentile of the
	// first target's recent latencies instead (at least Min, at most
	// After), once 20 latencies are known.
	Percentile float64
	Min        time.Duration
}

// minHedgeSamples is how many latencies a percentile needs.
const minHedgeSamples = 20

func (h *Hedge) delay(t *RouteTarget) time.Duration {
	if h.Percentile <= 0 {
		return h.After
	}
	d, ok := t.lat.percentile(h.Percentile)
	if !ok {
		return h.After
	}
	return min(max(d, h.Min), h.After)
}

// latencyRing keeps a target's last successful non-streamed latencies.
type latencyRing struct {
	mu  sync.Mutex
	buf [128]time.Duration
	n   int
	i   int
}

func (l *latencyRing) add(d time.Duration) {
	l.mu.Lock()
	l.buf[l.i] = d
	l.i = (l.i + 1) % len(l.buf)
	l.n = min(l.n+1, len(l.buf))
	l.mu.Unlock()
}

func (l *latencyRing) percentile(p float64) (time.Duration, bool) {
	l.mu.Lock()
	if l.n < minHedgeSamples {
		l.mu.Unlock()
		return 0, false
	}
	s := slices.Clone(l.buf[:l.n])
	l.mu.Unlock()
	slices.Sort(s)
	k := int(p / 100 * float64(len(s)))
	return s[min(max(k, 0), len(s)-1)], true
}

// errHedgeLost cancels the attempt whose twin answered first.
var errHedgeLost = errors.New("the other attempt answered first")

type hedgeResult struct {
	k    int
	resp *provider.Response
	err  error
}

type hedgeLeg struct {
	t      *RouteTarget
	ctx    context.Context
	cancel context.CancelCauseFunc
	att    record.Attempt
	start  time.Time
	stop   func() bool
}

// hedged serves a non-streamed call from the first two targets that will
// take it, the second launched only if the first is slow. done reports
// that the call was answered (or failed for good); otherwise the caller
// goes on with targets[next:], the attempts made so far counted in tried
// and the last failure in last.
func (c *call) hedged(rt *Route, targets []*RouteTarget, req *provider.Request, env envelope, forceUsage bool, est int64) (done bool, next, tried int, last *apierror.Error, err error) {
	i := 0
	pick := func() (*RouteTarget, []byte, error) {
		for ; i < len(targets); i++ {
			t := targets[i]
			body, err := c.targetBody(t, env, forceUsage)
			if err != nil {
				return nil, nil, err
			}
			if ok, _ := t.State.Acquire(time.Now(), est); ok {
				i++
				return t, body, nil
			}
		}
		return nil, nil, nil
	}
	ch := make(chan hedgeResult, 2)
	var legs [2]hedgeLeg
	launch := func(k int, t *RouteTarget, body []byte) {
		ctx, cancel := context.WithCancelCause(c.r.Context())
		l := &legs[k]
		*l = hedgeLeg{t: t, ctx: ctx, cancel: cancel, start: time.Now(),
			att: record.Attempt{Provider: t.Upstream.Name, Model: t.Model, StartMs: ms(c.meter.Since())}}
		if t.Total > 0 {
			l.stop = time.AfterFunc(t.Total, func() { cancel(errTotal) }).Stop
		}
		r := *req
		r.Model, r.Body = t.Model, body
		tried++
		go func() {
			resp, err := c.dispatchCtx(ctx, t.Upstream, &r)
			ch <- hedgeResult{k, resp, err}
		}()
	}
	end := func(l *hedgeLeg) {
		if l.stop != nil {
			l.stop()
		}
		l.cancel(nil)
	}
	t1, b1, err := pick()
	if err != nil || t1 == nil {
		return err != nil, 0, 0, nil, err
	}
	launch(0, t1, b1)
	running := 1
	timer := time.NewTimer(rt.Hedge.delay(t1))
	defer timer.Stop()
	for running > 0 {
		select {
		case <-timer.C:
			if legs[1].t == nil {
				t2, b2, err := pick()
				if err == nil && t2 != nil {
					legs[0].att.Next = "hedge"
					launch(1, t2, b2)
					running++
				}
			}
		case r := <-ch:
			running--
			l := &legs[r.k]
			if r.err != nil {
				last = apierror.From(c.settle(l.ctx, l.t, l.att, l.start, r.err, nil, est, 0))
				end(l)
				if running == 0 && legs[1].t == nil {
					timer.Stop()
					return false, i, tried, last, nil
				}
				continue
			}
			// The winner answers the caller; the other is cancelled.
			other := &legs[1-r.k]
			if running > 0 {
				other.cancel(errHedgeLost)
			}
			c.target = &Target{Upstream: l.t.Upstream, Model: l.t.Model}
			c.rec.Provider, c.rec.Model = l.t.Upstream.Name, l.t.Model
			l.att.Status, l.att.ProviderRequestID = r.resp.Status, r.resp.RequestID
			c.rec.ProviderRequestID = r.resp.RequestID
			c.upstreamOK = true
			rerr := c.relayBody(r.resp)
			var used int64
			if c.hasUsage {
				used = c.usage.InputTokens + c.usage.OutputTokens
			}
			l.att.Next = ""
			c.settle(l.ctx, l.t, l.att, l.start, rerr, r.resp.Header, est, used)
			if rerr == nil {
				l.t.lat.add(time.Since(l.start))
			}
			end(l)
			if running > 0 {
				lr := <-ch
				c.settleLoser(other, lr, est)
				end(other)
			}
			return true, 0, tried, nil, rerr
		}
	}
	return false, i, tried, last, nil
}

// settleLoser records the attempt that lost a hedge: cancelled, or, when
// it answered too, billed by its provider, so its cost joins the call's.
func (c *call) settleLoser(l *hedgeLeg, r hedgeResult, est int64) {
	if r.err != nil {
		e := apierror.Wrap(apierror.ClientClosed, r.err, "hedge: cancelled, the other attempt answered first")
		l.att.ErrorKind, l.att.Error = e.Kind.String(), e.Message
		l.att.DurationMs = ms(c.meter.Since()) - l.att.StartMs
		c.rec.Attempts = append(c.rec.Attempts, l.att)
		// Not the target's fault: its breaker and headroom are told
		// nothing but the end of the call.
		l.t.State.Done(time.Now(), resilience.Result{Latency: time.Since(l.start), Estimated: est})
		return
	}
	l.att.Status, l.att.ProviderRequestID = r.resp.Status, r.resp.RequestID
	l.att.Error = "hedge: answered after the other attempt; billed, its cost is in the call's"
	if c.g.opt.Pricer != nil && r.resp.HasUsage {
		tmp := record.Record{ReceivedAt: c.rec.ReceivedAt, Provider: l.t.Upstream.Name, Model: l.t.Model, ResponseModel: r.resp.ResponseModel, Usage: r.resp.Usage, Endpoint: c.rec.Endpoint}
		if cost, err := c.g.opt.Pricer.Cost(&tmp, l.t.Upstream.PriceAs); err == nil {
			if m, ok := cost.Amount(); ok {
				c.extraCost += m
			}
		}
	}
	var used int64
	if r.resp.HasUsage {
		used = r.resp.Usage.InputTokens + r.resp.Usage.OutputTokens
	}
	c.settle(l.ctx, l.t, l.att, l.start, nil, r.resp.Header, est, used)
}

package measure

import (
	"math"
	"testing"
	"time"
)

func near(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want %v", name, want)
		return
	}
	if math.Abs(*got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", name, *got, want)
	}
}

func TestStreamWithReasoning(t *testing.T) {
	m := Start(time.Now())
	ms := time.Millisecond
	// two reasoning chunks, then three completion chunks
	m.TokenAt(100*ms, false)
	m.TokenAt(110*ms, false)
	m.TokenAt(150*ms, true)
	m.TokenAt(160*ms, true)
	m.TokenAt(180*ms, true)
	r := m.Finish(200*ms, 150*ms, 11, true)
	near(t, "ttft", r.TTFTMs, 100)
	near(t, "ttfct", r.TTFCTMs, 150)
	// tpot = (200-100)/(11-1) = 10 ms; otps = 11 / 0.1 s = 110
	near(t, "tpot", r.TPOTMs, 10)
	near(t, "otps", r.OTPS, 110)
	if r.ITL == nil || r.ITL.Count != 4 || r.ITL.Max != 40 || r.ITL.Mean != 20 {
		t.Errorf("itl = %+v, want 4 gaps, max 40, mean 20", r.ITL)
	}
	// gaps sorted 10,10,20,40: p50 = 15, p95 = 20+0.85*20 = 37
	if math.Abs(r.ITL.P50-15) > 1e-9 || math.Abs(r.ITL.P95-37) > 1e-9 {
		t.Errorf("itl p50/p95 = %v/%v, want 15/37", r.ITL.P50, r.ITL.P95)
	}
	if r.E2EMs != 200 || r.UpstreamMs != 150 || r.OverheadMs != 50 {
		t.Errorf("e2e/upstream/overhead = %v/%v/%v", r.E2EMs, r.UpstreamMs, r.OverheadMs)
	}
}

func TestNoReasoningTTFCTEqualsTTFT(t *testing.T) {
	m := Start(time.Now())
	m.TokenAt(42*time.Millisecond, true)
	r := m.Finish(50*time.Millisecond, 49*time.Millisecond, 1, true)
	near(t, "ttft", r.TTFTMs, 42)
	near(t, "ttfct", r.TTFCTMs, 42)
	if r.TPOTMs != nil || r.OTPS != nil || r.ITL != nil {
		t.Errorf("one output token must have no tpot/otps/itl: %+v", r)
	}
}

func TestNonStream(t *testing.T) {
	r := Start(time.Now()).Finish(2*time.Second, 3*time.Second, 100, false)
	near(t, "otps", r.OTPS, 50)
	if r.TTFTMs != nil || r.TTFCTMs != nil || r.TPOTMs != nil {
		t.Errorf("non-stream must have no ttft/ttfct/tpot: %+v", r)
	}
	if r.UpstreamMs != r.E2EMs || r.OverheadMs != 0 {
		t.Errorf("upstream clamps to e2e: %+v", r)
	}
}

func TestStreamWithoutTokens(t *testing.T) {
	r := Start(time.Now()).Finish(time.Second, time.Second, 0, true)
	if r.TTFTMs != nil || r.OTPS != nil {
		t.Errorf("no tokens, no token timings: %+v", r)
	}
}

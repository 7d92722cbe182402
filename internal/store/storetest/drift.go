package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/usage"
)

// testCallSignals checks what drift detection reads of each call: one
// scope (use case, provider, model) in a range, newest first, with the
// figures kept in the record.
func testCallSignals(t *testing.T, s Store) {
	ctx := context.Background()
	ttft, otps := 250.5, 42.0
	cost := pricing.Money(12 * pricing.USD / 10000)
	call := func(id string, at time.Duration, useCase, model string) record.Record {
		r := minimal(id, base.Add(at))
		r.Provider, r.Model, r.UseCase, r.Status = "openai", model, useCase, 200
		return r
	}
	full := call("c2", 2*time.Minute, "triage", "gpt-4o")
	full.Route, full.Prompt, full.PromptVersion, full.PromptVariant, full.UseCaseVersion = "smart", "triage-prompt", 3, "short", "v7"
	full.ResponseModel, full.SystemFingerprint, full.FinishReason = "gpt-4o-2024-11-20", "fp_9", "stop"
	full.Usage = usage.Usage{InputTokens: 10, OutputTokens: 77, ReasoningTokens: 12}
	full.TTFTMs, full.OTPS, full.CostUSD = &ttft, &otps, &cost
	valid := false
	full.Refusal, full.JSONValid = true, &valid
	failed := call("c3", 3*time.Minute, "triage", "gpt-4o")
	failed.Status, failed.ErrorKind = 429, "rate_limited"
	broken := call("c4", 4*time.Minute, "triage", "gpt-4o")
	broken.ErrorKind = "upstream_error" // a stream that broke after its 200
	write(t, s,
		call("c1", time.Minute, "triage", "gpt-4o"), full, failed, broken,
		call("o1", 2*time.Minute, "triage", "gpt-4o-mini"), // another model
		call("o2", 2*time.Minute, "other", "gpt-4o"),       // another use case
		call("o3", 2*time.Minute, "", "gpt-4o"),            // no use case
	)
	got, err := s.CallSignals(ctx, store.CallSignalQuery{UseCase: "triage", Provider: "openai", Model: "gpt-4o", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	ids := fmt.Sprint(func() []string {
		var out []string
		for _, c := range got {
			out = append(out, c.ID)
		}
		return out
	}())
	if ids != "[c4 c3 c2 c1]" {
		t.Fatalf("calls %s, want newest first [c4 c3 c2 c1]", ids)
	}
	if got[0].OK || got[1].OK || !got[2].OK || !got[3].OK {
		t.Errorf("ok flags %v %v %v %v", got[0].OK, got[1].OK, got[2].OK, got[3].OK)
	}
	c := got[2]
	if c.Route != "smart" || c.Prompt != "triage-prompt" || c.PromptVersion != 3 || c.PromptVariant != "short" || c.UseCaseVersion != "v7" ||
		c.ResponseModel != "gpt-4o-2024-11-20" || c.SystemFingerprint != "fp_9" || c.FinishReason != "stop" ||
		c.OutputTokens != 77 || c.ReasoningTokens != 12 || c.TTFTMs == nil || *c.TTFTMs != ttft || c.OTPS == nil || *c.OTPS != otps ||
		c.CostUSD == nil || *c.CostUSD != 0.0012 || !c.ReceivedAt.Equal(base.Add(2*time.Minute)) || !c.Refusal || c.JSONValid == nil || *c.JSONValid {
		t.Errorf("full call read as %+v", c)
	}
	if g := got[3]; g.TTFTMs != nil || g.OTPS != nil || g.CostUSD != nil || g.OutputTokens != 0 || g.Refusal || g.JSONValid != nil {
		t.Errorf("bare call read as %+v", g)
	}
	// Range and limit: the newest within [From, To).
	got, err = s.CallSignals(ctx, store.CallSignalQuery{UseCase: "triage", Provider: "openai", Model: "gpt-4o",
		From: base.Add(time.Minute), To: base.Add(3 * time.Minute), Limit: 1})
	if err != nil || len(got) != 1 || got[0].ID != "c2" {
		t.Errorf("range and limit: %+v %v", got, err)
	}
	got, err = s.CallSignals(ctx, store.CallSignalQuery{UseCase: "", Provider: "openai", Model: "gpt-4o", Limit: 10})
	if err != nil || len(got) != 1 || got[0].ID != "o3" {
		t.Errorf("no use case: %+v %v", got, err)
	}
	for _, l := range []int{0, -1, store.MaxCallSignals + 1} {
		if _, err := s.CallSignals(ctx, store.CallSignalQuery{Limit: l}); !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("limit %d: %v, want ErrInvalidQuery", l, err)
		}
	}
}

// testDriftEvents checks that drift events are kept, replaced by id and
// filtered by scope, signal and start.
func testDriftEvents(t *testing.T, s Store) {
	ctx := context.Background()
	ev := func(id, signal, useCase, model string, start time.Duration) store.DriftEvent {
		return store.DriftEvent{ID: id, Signal: signal, UseCase: useCase, Provider: "openai", Model: model,
			StartedAt: base.Add(start), DetectedAt: base.Add(start + time.Hour), Event: []byte(`{"id":"` + id + `"}`)}
	}
	for _, e := range []store.DriftEvent{
		ev("d1", "output_tokens", "triage", "gpt-4o", 0),
		ev("d2", "refusal_rate", "triage", "gpt-4o", time.Hour),
		ev("d3", "output_tokens", "other", "gpt-4o-mini", 2*time.Hour),
		ev("d1", "output_tokens", "triage", "gpt-4o", 30*time.Minute), // replaces d1
	} {
		if err := s.SaveDriftEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	list := func(q store.DriftEventQuery) string {
		t.Helper()
		got, err := s.DriftEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range got {
			out = append(out, fmt.Sprintf("%s@%s", e.ID, e.StartedAt.Sub(base)))
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		q    store.DriftEventQuery
		want string
	}{
		{store.DriftEventQuery{}, "[d3@2h0m0s d2@1h0m0s d1@30m0s]"},
		{store.DriftEventQuery{UseCase: "triage"}, "[d2@1h0m0s d1@30m0s]"},
		{store.DriftEventQuery{Signal: "output_tokens"}, "[d3@2h0m0s d1@30m0s]"},
		{store.DriftEventQuery{Model: "gpt-4o-mini", Provider: "openai"}, "[d3@2h0m0s]"},
		{store.DriftEventQuery{From: base.Add(time.Hour), To: base.Add(2 * time.Hour)}, "[d2@1h0m0s]"},
		{store.DriftEventQuery{Limit: 1}, "[d3@2h0m0s]"},
	} {
		if got := list(c.q); got != c.want {
			t.Errorf("%+v: %s, want %s", c.q, got, c.want)
		}
	}
	got, err := s.DriftEvents(ctx, store.DriftEventQuery{Signal: "refusal_rate"})
	if err != nil || len(got) != 1 || string(got[0].Event) != `{"id":"d2"}` || !got[0].DetectedAt.Equal(base.Add(2*time.Hour)) {
		t.Errorf("event body: %+v %v", got, err)
	}
	if err := s.SaveDriftEvent(ctx, store.DriftEvent{}); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("empty event: %v", err)
	}
}

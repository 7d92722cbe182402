package providertest

import (
	"encoding/json"
	"io"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/usage"
)

// nativeCases check the optional capabilities: Messenger, Embedder and
// ModelLister. An adapter without one skips its cases.
func nativeCases() []testCase {
	return []testCase{
		{"messages/unary", testMessagesUnary},
		{"messages/stream", testMessagesStream},
		{"messages/error_in_stream", testMessagesErrorInStream},
		{"embeddings", testEmbeddings},
		{"models", testModels},
	}
}

func messenger(t *testing.T, e *env) provider.Messenger {
	t.Helper()
	m, ok := e.adapter.(provider.Messenger)
	if !ok {
		t.Skipf("the adapter (%T) does not implement provider.Messenger", e.adapter)
	}
	return m
}

// wantMessagesCache is the cache profile's usage as the Messages protocol
// reports it, normalised: Anthropic's input_tokens excludes cache reads and
// writes, the normalised input includes them.
func wantMessagesCache() usage.Usage {
	return usage.Usage{
		InputTokens: cacheIn + cacheRead + cacheWrite, CacheReadTokens: cacheRead,
		CacheWriteTokens: cacheWrite, CacheWrite1hTokens: cacheWrite1h, OutputTokens: cacheOut,
	}
}

// anMessage is an Anthropic Messages response, decoded strictly.
type anMessage struct {
	ID         *string `json:"id"`
	Type       *string `json:"type"`
	Role       *string `json:"role"`
	Model      *string `json:"model"`
	StopReason *string `json:"stop_reason"`
	Content    []struct {
		Type *string `json:"type"`
		Text *string `json:"text"`
	} `json:"content"`
	Usage *struct {
		InputTokens              *int64 `json:"input_tokens"`
		OutputTokens             *int64 `json:"output_tokens"`
		CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
		CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	} `json:"usage"`
}

func testMessagesUnary(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	m := messenger(t, e)
	req := newRequest(mCache, messagesBody(mCache, false), false, false)
	resp, err := m.Messages(t.Context(), req)
	mustResponse(t, resp, err, false)
	var msg anMessage
	if err := json.Unmarshal(resp.Body, &msg); err != nil {
		t.Fatalf("Body is not a Messages response: %v\n%s", err, resp.Body)
	}
	if msg.ID == nil || msg.Type == nil || *msg.Type != "message" || msg.Role == nil || *msg.Role != "assistant" ||
		msg.Model == nil || msg.StopReason == nil || len(msg.Content) == 0 || msg.Usage == nil {
		t.Errorf("Body lacks id, type message, role assistant, model, stop_reason, content or usage:\n%s", resp.Body)
	}
	if u := msg.Usage; u != nil && (u.InputTokens == nil || *u.InputTokens != cacheIn) {
		t.Errorf("Body usage.input_tokens is not the uncached count %d:\n%s", cacheIn, resp.Body)
	}
	if !resp.HasUsage {
		t.Errorf("HasUsage is false")
	}
	if diff := cmp.Diff(wantMessagesCache(), resp.Usage); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
	if resp.ResponseModel != mCache {
		t.Errorf("ResponseModel = %q, want %q", resp.ResponseModel, mCache)
	}
	if resp.FinishReason != "end_turn" {
		t.Errorf("FinishReason = %q, want end_turn", resp.FinishReason)
	}
	if resp.Text == "" {
		t.Errorf("Text is empty")
	}
	if req.Wait.Total() <= 0 {
		t.Errorf("Wait timer is %s, want > 0", req.Wait.Total())
	}
}

func testMessagesStream(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	m := messenger(t, e)
	resp, err := m.Messages(t.Context(), newRequest(mCache, messagesBody(mCache, true), true, false))
	mustResponse(t, resp, err, true)
	d := drain(t, resp.Stream, streamLimit)
	wantCleanEnd(t, d)
	tokens := 0
	sawModel, sawFinish := false, false
	var types []string
	for i, ev := range d.events {
		if ev.Completion && !ev.Token {
			t.Errorf("event %d: Completion without Token", i)
		}
		if ev.Token && ev.Completion {
			tokens++
		}
		sawModel = sawModel || ev.ResponseModel == mCache
		sawFinish = sawFinish || ev.FinishReason == "end_turn"
		if ev.Drop {
			continue
		}
		f, err := frame(ev.Data)
		if err != nil {
			t.Errorf("event %d: %v", i, err)
			continue
		}
		var data struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(f.Data, &data); err != nil {
			t.Errorf("event %d: data is not JSON: %v: %.200s", i, err, f.Data)
			continue
		}
		if f.Type == "" || f.Type != data.Type {
			t.Errorf("event %d: SSE event %q, data type %q: want both, equal", i, f.Type, data.Type)
		}
		if (f.Type == "message_stop") != ev.Done {
			t.Errorf("event %d: Done is %v on a %q event", i, ev.Done, f.Type)
		}
		types = append(types, f.Type)
	}
	if len(types) == 0 || types[0] != "message_start" {
		t.Errorf("the relayed events are %v, want message_start first", types)
	}
	if tokens == 0 {
		t.Errorf("no event has Token and Completion set")
	}
	if !sawModel {
		t.Errorf("no event has ResponseModel %q", mCache)
	}
	if !sawFinish {
		t.Errorf("no event has FinishReason end_turn")
	}
	if u := lastUsage(d); u == nil {
		t.Errorf("no event carries Usage")
	} else if diff := cmp.Diff(wantMessagesCache(), *u); diff != "" {
		t.Errorf("last Usage (-want +got):\n%s", diff)
	}
}

func testMessagesErrorInStream(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	m := messenger(t, e)
	resp, err := m.Messages(t.Context(), newRequest(mStreamErr, messagesBody(mStreamErr, true), true, false))
	mustResponse(t, resp, err, true)
	d := drain(t, resp.Stream, streamLimit)
	reported := d.err != io.EOF
	for _, ev := range d.events {
		if ev.Err != nil {
			reported = true
		}
		if ev.Done {
			t.Errorf("an event is Done though the stream had no message_stop")
		}
	}
	if !reported {
		t.Errorf("the provider's in-stream error was swallowed: clean end after %d events, none with Error set", len(d.events))
	}
}

func testEmbeddings(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	em, ok := e.adapter.(provider.Embedder)
	if !ok {
		t.Skipf("the adapter (%T) does not implement provider.Embedder", e.adapter)
	}
	// "hello world" is 11 characters: ceil(11/4) = 3 tokens.
	body := mustJSON(map[string]any{"model": mEmbed, "input": "hello world"})
	req := newRequest(mEmbed, body, false, false)
	resp, err := em.Embeddings(t.Context(), req)
	mustResponse(t, resp, err, false)
	var r oaEmbeddings
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		t.Fatalf("Body is not an embeddings response: %v\n%s", err, resp.Body)
	}
	if r.Object == nil || *r.Object != "list" || r.Model == nil || len(r.Data) != 1 || r.Usage == nil {
		t.Fatalf("Body lacks object list, model, one embedding or usage:\n%.500s", resp.Body)
	}
	if d := r.Data[0]; d.Index == nil || *d.Index != 0 || len(d.Embedding) != embedDims {
		t.Errorf("the embedding has index %v and %d dimensions, want 0 and %d", d.Index, len(d.Embedding), embedDims)
	}
	want := usage.Usage{InputTokens: 3}
	if !resp.HasUsage {
		t.Errorf("HasUsage is false")
	}
	if diff := cmp.Diff(want, resp.Usage); diff != "" {
		t.Errorf("Usage (-want +got):\n%s", diff)
	}
	if resp.ResponseModel != mEmbed {
		t.Errorf("ResponseModel = %q, want %q", resp.ResponseModel, mEmbed)
	}
}

func testModels(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	l, ok := e.adapter.(provider.ModelLister)
	if !ok {
		t.Skipf("the adapter (%T) does not implement provider.ModelLister", e.adapter)
	}
	models, err := l.ListModels(t.Context())
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	var got, want []string
	for _, m := range models {
		got = append(got, m.ID)
	}
	for name := range mockConfig().Models {
		want = append(want, name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("model ids (-want +got):\n%s", diff)
	}
}

package providertest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/usage"
)

// chatCases check successful calls through ChatCompleter.
func chatCases() []testCase {
	return []testCase{
		{"chat/unary", testChatUnary},
		{"chat/stream/usage_not_requested", func(t *testing.T, s *Suite) { testChatStream(t, s, false) }},
		{"chat/stream/usage_requested", func(t *testing.T, s *Suite) { testChatStream(t, s, true) }},
		{"reasoning/unary", testReasoningUnary},
		{"reasoning/stream", testReasoningStream},
		{"tools/unary", testToolsUnary},
		{"tools/stream", testToolsStream},
		{"cache/unary", testCacheUnary},
		{"cache/stream", testCacheStream},
		{"caller_key/unary", func(t *testing.T, s *Suite) { testCallerKey(t, s, false) }},
		{"caller_key/stream", func(t *testing.T, s *Suite) { testCallerKey(t, s, true) }},
	}
}

// Expected usage, normalised (usage.Usage: input includes cache reads and
// writes, output includes reasoning), as far as the protocol can express it.

func wantPlain() usage.Usage { return usage.Usage{InputTokens: plainIn, OutputTokens: plainOut} }

func (s *Suite) wantReasoning() usage.Usage {
	u := usage.Usage{InputTokens: reasonIn, OutputTokens: reasonOut + reasonThinking}
	if s.Protocol == OpenAI { // Anthropic folds thinking into output_tokens
		u.ReasoningTokens = reasonThinking
	}
	return u
}

func (s *Suite) wantCache() usage.Usage {
	u := usage.Usage{InputTokens: cacheIn + cacheRead + cacheWrite, CacheReadTokens: cacheRead, OutputTokens: cacheOut}
	if s.Protocol == Anthropic || s.Protocol == Bedrock { // OpenAI has no cache-write figure
		u.CacheWriteTokens, u.CacheWrite1hTokens = cacheWrite, cacheWrite1h
	}
	return u
}

// reasoningExtra makes an OpenAI-protocol request reason: the OpenAI
// simulator always does when the profile has reasoning; an adapter that
// translates to Anthropic has to enable thinking from reasoning_effort.
var reasoningExtra = map[string]any{"reasoning_effort": "low"}

// checkUnary checks a non-streamed chat completion and returns its body.
func checkUnary(t *testing.T, req *provider.Request, resp *provider.Response, want *usage.Usage, finish, model string) *oaCompletion {
	t.Helper()
	c, err := decodeCompletion(resp.Body)
	if err != nil {
		t.Fatalf("Body: %v\n%s", err, resp.Body)
	}
	if !resp.HasUsage {
		t.Errorf("HasUsage is false")
	}
	if want != nil {
		if diff := cmp.Diff(*want, resp.Usage); diff != "" {
			t.Errorf("Usage (-want +got):\n%s", diff)
		}
		if c.Usage == nil {
			t.Errorf("Body has no usage")
		} else if err := c.Usage.check(*want); err != nil {
			t.Errorf("Body: %v", err)
		}
	}
	if model != "" {
		if resp.ResponseModel != model {
			t.Errorf("ResponseModel = %q, want %q", resp.ResponseModel, model)
		}
		if *c.Model != model {
			t.Errorf("Body model = %q, want %q", *c.Model, model)
		}
	}
	if resp.FinishReason != finish {
		t.Errorf("FinishReason = %q, want %q", resp.FinishReason, finish)
	}
	if got := *c.Choices[0].FinishReason; got != finish {
		t.Errorf("Body finish_reason = %q, want %q", got, finish)
	}
	if resp.Text == "" {
		t.Errorf("Text is empty")
	}
	if resp.RequestID == "" {
		t.Errorf("RequestID is empty (the simulator sends one)")
	}
	if req.Wait.Total() <= 0 {
		t.Errorf("Wait timer is %s, want > 0", req.Wait.Total())
	}
	return c
}

// streamed is what checkChatStream found in a chat stream.
type streamed struct {
	acc accumulator
	// text is the concatenated Text of the events; completionText that of
	// the events with Completion set.
	text, completionText string
}

// checkChatStream checks a drained OpenAI-protocol stream: whole SSE frames
// of chat.completion.chunk, the Drop and usage rules, the token flags, and
// the last usage (when want is not nil).
func checkChatStream(t *testing.T, d drained, includeUsage bool, want *usage.Usage, finish, model string) *streamed {
	t.Helper()
	wantCleanEnd(t, d)
	var out streamed
	var text, completionText strings.Builder
	usageFrames, droppedUsage, tokens := 0, 0, 0
	sawModel, sawFinish := false, false
	for i, ev := range d.events {
		text.WriteString(ev.Text)
		if ev.Completion {
			completionText.WriteString(ev.Text)
			if !ev.Token {
				t.Errorf("event %d: Completion without Token", i)
			}
		}
		if ev.Token && ev.Completion {
			tokens++
		}
		if model != "" && ev.ResponseModel == model {
			sawModel = true
		}
		if ev.FinishReason == finish {
			sawFinish = true
		}
		if ev.Drop {
			if len(ev.Data) != 0 {
				t.Errorf("event %d: Drop with Data %.200q", i, ev.Data)
			}
			if ev.Usage != nil {
				droppedUsage++
			}
			continue
		}
		if len(ev.Data) == 0 {
			t.Errorf("event %d: neither Drop nor Data", i)
			continue
		}
		f, err := frame(ev.Data)
		if err != nil {
			t.Errorf("event %d: %v", i, err)
			continue
		}
		if done := string(f.Data) == "[DONE]"; done || ev.Done {
			if done != ev.Done {
				t.Errorf("event %d: Done is %v but data is %q", i, ev.Done, f.Data)
			}
			continue
		}
		c, err := decodeChunk(f.Data)
		if err != nil {
			t.Errorf("event %d: %v", i, err)
			continue
		}
		out.acc.add(c)
		if c.Usage != nil {
			usageFrames++
			if !includeUsage {
				t.Errorf("event %d: relays usage the caller did not ask for: %s", i, f.Data)
			}
			if len(*c.Choices) != 0 {
				t.Errorf("event %d: the usage chunk has choices, want \"choices\":[]: %s", i, f.Data)
			}
			if ev.Usage == nil {
				t.Errorf("event %d: relays a usage chunk but Usage is nil", i)
			}
			if want != nil {
				if err := c.Usage.check(*want); err != nil {
					t.Errorf("event %d: %v", i, err)
				}
			}
		}
	}
	if tokens == 0 {
		t.Errorf("no event has Token and Completion set")
	}
	if includeUsage && usageFrames != 1 {
		t.Errorf("IncludeUsage: %d relayed usage chunks, want exactly 1", usageFrames)
	}
	if !includeUsage && droppedUsage == 0 {
		t.Errorf("IncludeUsage false: no Drop event carries Usage (the adapter must still obtain it)")
	}
	u := lastUsage(d)
	switch {
	case u == nil:
		t.Errorf("no event carries Usage")
	case want != nil:
		if diff := cmp.Diff(*want, *u); diff != "" {
			t.Errorf("last Usage (-want +got):\n%s", diff)
		}
	}
	if model != "" && !sawModel {
		t.Errorf("no event has ResponseModel %q", model)
	}
	if !sawFinish {
		t.Errorf("no event has FinishReason %q", finish)
	}
	if out.acc.finish != finish {
		t.Errorf("the chunks' finish_reason is %q, want %q", out.acc.finish, finish)
	}
	if model != "" && out.acc.model != model {
		t.Errorf("the chunks' model is %q, want %q", out.acc.model, model)
	}
	out.text, out.completionText = text.String(), completionText.String()
	return &out
}

// responseModel is the model the answers to a call for model name: the
// profile's response model, or for Bedrock, whose answers name none, the id
// sent.
func (s *Suite) responseModel(model string) string {
	if s.Protocol == Bedrock {
		return model
	}
	return model + "-0001"
}

func testChatUnary(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	req, resp, err := e.chatCall(t.Context(), mPlain, chatBody(mPlain, false, nil), false, false)
	mustResponse(t, resp, err, false)
	want := wantPlain()
	c := checkUnary(t, req, resp, &want, "stop", s.responseModel(mPlain))
	m := c.Choices[0].Message
	if m.Content == nil || *m.Content == "" {
		t.Fatalf("message content is empty")
	}
	if resp.Text != *m.Content {
		t.Errorf("Text = %q, want the message content %q", resp.Text, *m.Content)
	}
}

func testChatStream(t *testing.T, s *Suite, includeUsage bool) {
	e := s.newEnv(t)
	_, resp, err := e.chatCall(t.Context(), mPlain, chatBody(mPlain, true, nil), true, includeUsage)
	mustResponse(t, resp, err, true)
	d := drain(t, resp.Stream, streamLimit)
	want := wantPlain()
	st := checkChatStream(t, d, includeUsage, &want, "stop", s.responseModel(mPlain))
	content := st.acc.content.String()
	if content == "" {
		t.Errorf("the chunks carry no content")
	}
	if st.text != content {
		t.Errorf("concatenated Text = %q, want the streamed content %q", st.text, content)
	}
}

func testReasoningUnary(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	req, resp, err := e.chatCall(t.Context(), mReasoner, chatBody(mReasoner, false, reasoningExtra), false, false)
	mustResponse(t, resp, err, false)
	want := s.wantReasoning()
	c := checkUnary(t, req, resp, &want, "stop", s.responseModel(mReasoner))
	if m := c.Choices[0].Message; m.Content == nil || *m.Content == "" {
		t.Errorf("message content is empty")
	}
}

func testReasoningStream(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	_, resp, err := e.chatCall(t.Context(), mReasoner, chatBody(mReasoner, true, reasoningExtra), true, true)
	mustResponse(t, resp, err, true)
	d := drain(t, resp.Stream, streamLimit)
	want := s.wantReasoning()
	st := checkChatStream(t, d, true, &want, "stop", s.responseModel(mReasoner))
	reasoning, first := 0, -1
	for i, ev := range d.events {
		switch {
		case ev.Completion && first < 0:
			first = i
		case ev.Token && !ev.Completion:
			reasoning++
			if first >= 0 {
				t.Errorf("event %d: reasoning (Token without Completion) after the first Completion event %d", i, first)
			}
			if ev.Text == "" {
				t.Errorf("event %d: reasoning event without Text", i)
			}
		}
	}
	if reasoning == 0 {
		t.Errorf("no reasoning event (Token without Completion) in a stream with visible reasoning")
	}
	if first < 0 {
		t.Errorf("no Completion event")
	}
	if got, want := st.completionText, st.acc.content.String(); got != want || got == "" {
		t.Errorf("Text of the Completion events = %q, want the streamed content %q", got, want)
	}
}

// toolsExtra offers the one tool.
var toolsExtra = map[string]any{"tools": []any{weatherTool}}

// checkArguments checks a tool call's name and arguments.
func checkArguments(t *testing.T, name, args string) {
	t.Helper()
	if name != "get_weather" {
		t.Errorf("tool call name = %q, want get_weather", name)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(args), &obj); err != nil {
		t.Errorf("tool call arguments %q are not a JSON object: %v", args, err)
		return
	}
	if _, ok := obj["city"].(string); !ok {
		t.Errorf("tool call arguments %s lack the required string \"city\"", args)
	}
}

func testToolsUnary(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	req, resp, err := e.chatCall(t.Context(), mPlain, chatBody(mPlain, false, toolsExtra), false, false)
	mustResponse(t, resp, err, false)
	c := checkUnary(t, req, resp, nil, "tool_calls", s.responseModel(mPlain))
	if resp.Usage.InputTokens != plainIn || resp.Usage.OutputTokens <= 0 {
		t.Errorf("Usage = %+v, want %d input tokens and some output", resp.Usage, plainIn)
	}
	tcs := c.Choices[0].Message.ToolCalls
	if len(tcs) != 1 {
		t.Fatalf("%d tool calls, want 1", len(tcs))
	}
	checkArguments(t, *tcs[0].Function.Name, *tcs[0].Function.Arguments)
}

func testToolsStream(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	_, resp, err := e.chatCall(t.Context(), mPlain, chatBody(mPlain, true, toolsExtra), true, true)
	mustResponse(t, resp, err, true)
	d := drain(t, resp.Stream, streamLimit)
	st := checkChatStream(t, d, true, nil, "tool_calls", s.responseModel(mPlain))
	if u := lastUsage(d); u != nil && (u.InputTokens != plainIn || u.OutputTokens <= 0) {
		t.Errorf("last Usage = %+v, want %d input tokens and some output", *u, plainIn)
	}
	if len(st.acc.tools) != 1 || st.acc.tools[0] == nil {
		t.Fatalf("the chunks carry %d tool calls at index 0.., want one at index 0", len(st.acc.tools))
	}
	tc := st.acc.tools[0]
	if tc.id == "" {
		t.Errorf("the streamed tool call has no id")
	}
	checkArguments(t, tc.name, tc.args)
	if !strings.Contains(st.text, tc.args) {
		t.Errorf("concatenated Text %q does not contain the tool arguments %q", st.text, tc.args)
	}
}

func testCacheUnary(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	req, resp, err := e.chatCall(t.Context(), mCache, chatBody(mCache, false, nil), false, false)
	mustResponse(t, resp, err, false)
	want := s.wantCache()
	checkUnary(t, req, resp, &want, "stop", mCache)
}

func testCacheStream(t *testing.T, s *Suite) {
	e := s.newEnv(t)
	_, resp, err := e.chatCall(t.Context(), mCache, chatBody(mCache, true, nil), true, true)
	mustResponse(t, resp, err, true)
	want := s.wantCache()
	checkChatStream(t, drain(t, resp.Stream, streamLimit), true, &want, "stop", mCache)
}

// testCallerKey configures the adapter with a wrong key and passes the right
// one in Request.APIKey, which must replace it.
func testCallerKey(t *testing.T, s *Suite, stream bool) {
	e := s.newEnv(t, withKey("sk-wrong"))
	req := newRequest(mPlain, chatBody(mPlain, stream, nil), stream, true)
	req.APIKey = mockKey
	resp, err := e.chat().ChatCompletion(context.Background(), req)
	mustResponse(t, resp, err, stream)
	if stream {
		want := wantPlain()
		checkChatStream(t, drain(t, resp.Stream, streamLimit), true, &want, "stop", s.responseModel(mPlain))
	}
}

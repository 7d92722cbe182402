package apptest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

func openaiClient(e *env, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(e.base + "/v1"), option.WithAPIKey("sk-unused"), option.WithMaxRetries(0),
	}, opts...)...)
}

func userMsg(s string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage(s)}
}

// TestOpenAISDK drives every OpenAI surface with the official Go SDK and
// checks what Weir recorded against the simulator's scripted behaviour.
func TestOpenAISDK(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	client := openaiClient(e,
		option.WithHeader("x-weir-use-case", "support-triage"),
		option.WithHeader("x-weir-use-case-instance", "ticket-42"),
		option.WithHeader("x-weir-team", "support"),
		option.WithHeader("x-weir-user", "ana"),
		option.WithHeader("x-weir-tags", "e2e,sdk"),
		option.WithHeader("x-weir-properties", `{"tier":"gold"}`))

	t.Run("non-stream", func(t *testing.T) {
		var raw *http.Response
		start := time.Now()
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openai/steady", Messages: userMsg("hello")}, option.WithResponseInto(&raw))
		clientMs := float64(time.Since(start)) / 1e6
		if err != nil {
			t.Fatal(err)
		}
		if resp.Model != "steady-2026-01-01" || resp.Choices[0].Message.Content == "" || resp.Usage.CompletionTokens != 12 {
			t.Errorf("response = %+v", resp)
		}
		r := e.record(t, raw.Header.Get("x-weir-request-id"))
		if r.Provider != "openai" || r.Model != "steady" || r.ResponseModel != "steady-2026-01-01" || r.Status != 200 || r.Stream || r.Endpoint != "chat.completions" {
			t.Errorf("record = %+v", r)
		}
		if r.UseCase != "support-triage" || r.UseCaseInstance != "ticket-42" || r.Team != "support" || r.User != "ana" || len(r.Tags) != 2 || string(r.Properties) != `{"tier":"gold"}` {
			t.Errorf("attribution = %+v", r.Attribution)
		}
		if r.Usage.OutputTokens != 12 || r.Usage.InputTokens != resp.Usage.PromptTokens || r.Usage.Estimated {
			t.Errorf("usage = %+v, sdk saw %+v", r.Usage, resp.Usage)
		}
		// The simulator spends ttft + 11 gaps before it answers: 200 + 11*25 = 475 ms.
		within(t, "e2e_ms", &r.E2EMs, 475, clientMs)
		within(t, "upstream_ms", &r.UpstreamMs, 475, r.E2EMs)
		within(t, "overhead_ms", &r.OverheadMs, 0, 50)
		if r.TTFTMs != nil || r.ITLMs != nil {
			t.Errorf("non-stream has ttft %v itl %v", r.TTFTMs, r.ITLMs)
		}
		within(t, "otps", r.OTPS, 12/(r.E2EMs/1000)*0.999, 12/(r.E2EMs/1000)*1.001)
		if len(r.Attempts) != 1 || r.Attempts[0].Status != 200 || r.Request == "" || !strings.Contains(r.Response, "steady-2026-01-01") {
			t.Errorf("attempts %+v, request %q, response %q", r.Attempts, r.Request, r.Response)
		}
	})

	t.Run("stream timings", func(t *testing.T) {
		timed(t, func(c errorfer) {
			var raw *http.Response
			start := time.Now()
			stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "openai/steady", Messages: userMsg("hello")}, option.WithResponseInto(&raw))
			var text strings.Builder
			var firstMs float64
			chunks, usageChunks := 0, 0
			for stream.Next() {
				c := stream.Current()
				if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
					if firstMs == 0 {
						firstMs = float64(time.Since(start)) / 1e6
					}
					text.WriteString(c.Choices[0].Delta.Content)
				}
				if len(c.Choices) == 0 {
					usageChunks++
				}
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if usageChunks != 0 {
				t.Errorf("the caller did not ask for usage but got %d usage chunks", usageChunks)
			}
			r := e.record(t, raw.Header.Get("x-weir-request-id"))
			if !r.Stream || r.Usage.OutputTokens != 12 || r.Usage.Estimated || r.FinishReason != "stop" {
				t.Errorf("record stream=%v usage=%+v finish=%q", r.Stream, r.Usage, r.FinishReason)
			}
			// Scripted: first token at 200 ms, then 11 gaps of 25 ms.
			within(c, "ttft_ms", r.TTFTMs, 200, 240)
			if r.TTFTMs != nil && *r.TTFTMs > firstMs {
				c.Errorf("Weir's ttft %.1f ms is after the client saw the token at %.1f ms", *r.TTFTMs, firstMs)
			}
			if r.TTFCTMs == nil || r.TTFTMs == nil || *r.TTFCTMs != *r.TTFTMs {
				t.Errorf("ttfct %v must equal ttft %v without reasoning", r.TTFCTMs, r.TTFTMs)
			}
			if r.ITLMs == nil || r.ITLMs.Count != 11 {
				t.Fatalf("itl = %+v, want 11 gaps", r.ITLMs)
			}
			within(c, "itl p50", &r.ITLMs.P50, 22, 35)
			within(c, "itl mean", &r.ITLMs.Mean, 22, 35)
			within(c, "e2e_ms", &r.E2EMs, 475, 560)
			within(c, "tpot_ms", r.TPOTMs, (r.E2EMs-*r.TTFTMs)/11*0.999, (r.E2EMs-*r.TTFTMs)/11*1.001)
			within(c, "otps", r.OTPS, 12/((r.E2EMs-*r.TTFTMs)/1000)*0.999, 12/((r.E2EMs-*r.TTFTMs)/1000)*1.001)
			within(c, "overhead_ms", &r.OverheadMs, 0, 20)
			if r.Chunks != chunks+1 { // +1: [DONE], which the SDK consumes silently
				t.Errorf("record chunks %d, SDK saw %d (+[DONE])", r.Chunks, chunks)
			}
		})
	})

	t.Run("stream with usage", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model: "openai/steady", Messages: userMsg("hi"),
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Usage.CompletionTokens != 12 || acc.Usage.PromptTokens == 0 {
			t.Errorf("caller asked for usage and got %+v", acc.Usage)
		}
	})

	t.Run("reasoning", func(t *testing.T) {
		timed(t, func(c errorfer) {
			var raw *http.Response
			stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "openai/thinker", Messages: userMsg("think")}, option.WithResponseInto(&raw))
			for stream.Next() {
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			r := e.record(t, raw.Header.Get("x-weir-request-id"))
			// Scripted: 5 visible reasoning tokens from 100 ms, 20 ms apart; the
			// first content token follows 5 gaps after the first reasoning one.
			within(c, "ttft_ms", r.TTFTMs, 100, 140)
			if r.TTFTMs != nil && r.TTFCTMs != nil {
				gap := *r.TTFCTMs - *r.TTFTMs
				within(c, "ttfct - ttft", &gap, 95, 130)
			}
			if r.Usage.ReasoningTokens != 5 || r.Usage.OutputTokens != 11 {
				t.Errorf("usage = %+v, want 5 reasoning of 11 output", r.Usage)
			}
		})
	})

	t.Run("hidden reasoning", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "openai/hidden-thinker", Messages: userMsg("x")})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Usage.CompletionTokensDetails.ReasoningTokens != 8 {
			t.Errorf("usage = %+v", resp.Usage)
		}
	})

	t.Run("tools, stream and not", func(t *testing.T) {
		params := openai.ChatCompletionNewParams{
			Model: "fastest", Messages: userMsg("weather in Paris?"),
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Description: openai.String("Current weather"),
				Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
			})},
		}
		resp, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices[0].Message.ToolCalls) != 1 || resp.Choices[0].FinishReason != "tool_calls" || !strings.Contains(resp.Choices[0].Message.ToolCalls[0].Function.Arguments, "city") {
			t.Errorf("tool call: %+v", resp.Choices[0])
		}
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(acc.Choices) == 0 || len(acc.Choices[0].Message.ToolCalls) != 1 || acc.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" {
			t.Errorf("streamed tool call: %+v", acc.Choices)
		}
	})

	t.Run("json mode and n", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "openai/fast", Messages: userMsg("json please"), N: openai.Int(2),
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 2 || !strings.HasPrefix(strings.TrimSpace(resp.Choices[1].Message.Content), "{") {
			t.Errorf("choices = %+v", resp.Choices)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		var raw *http.Response
		resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "openai/embed", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || len(resp.Data[0].Embedding) != 8 {
			t.Errorf("embeddings = %+v", resp.Data)
		}
		r := e.record(t, raw.Header.Get("x-weir-request-id"))
		if r.Endpoint != "embeddings" || r.Usage.InputTokens != resp.Usage.PromptTokens || r.Usage.InputTokens == 0 {
			t.Errorf("record endpoint %q usage %+v", r.Endpoint, r.Usage)
		}
	})

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, m := range page.Data {
			ids[m.ID] = true
		}
		for _, want := range []string{"openai/steady", "openai/fast", "fastest"} {
			if !ids[want] {
				t.Errorf("model list %v lacks %s", ids, want)
			}
		}
		if m, err := client.Models.Get(ctx, "openai/steady"); err != nil || m.ID != "openai/steady" {
			t.Errorf("get model: %+v %v", m, err)
		}
	})

	t.Run("estimated usage", func(t *testing.T) {
		var raw *http.Response
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "openai/quiet", Messages: userMsg("hello")}, option.WithResponseInto(&raw))
		for stream.Next() {
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		r := e.record(t, raw.Header.Get("x-weir-request-id"))
		if !r.Usage.Estimated || r.Usage.OutputTokens == 0 || r.Usage.InputTokens == 0 {
			t.Errorf("usage = %+v, want an estimate", r.Usage)
		}
	})
}

// TestOpenAISDKErrors checks that every failure reaches the SDK as an error
// in OpenAI's format, and is recorded.
func TestOpenAISDKErrors(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	client := openaiClient(e)
	tests := []struct {
		model  string
		stream bool
		status int
		kind   string
	}{
		{"openai/limited", false, 429, "rate_limited"},
		{"openai/overloaded", false, 503, "upstream_overloaded"},
		{"nowhere/x", false, 404, "not_found"},
		{"openai/broken", true, 200, "upstream_bad_response"},
		{"openai/midstream-error", true, 200, "upstream_error"},
		{"openai/stall", true, 200, "upstream_timeout"},
		{"openai/hang-headers", true, 504, "upstream_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			var raw *http.Response
			params := openai.ChatCompletionNewParams{Model: tt.model, Messages: userMsg("x")}
			var err error
			if tt.stream {
				stream := client.Chat.Completions.NewStreaming(ctx, params, option.WithResponseInto(&raw))
				for stream.Next() {
				}
				err = stream.Err()
			} else {
				_, err = client.Chat.Completions.New(ctx, params, option.WithResponseInto(&raw))
			}
			if err == nil {
				t.Fatal("the SDK saw no error")
			}
			var apiErr *openai.Error
			if !tt.stream || tt.status != 200 {
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Message == "" {
					t.Fatalf("err = %v, want an *openai.Error with status %d", err, tt.status)
				}
				if tt.status == 429 && raw.Header.Get("retry-after") != "2" {
					t.Errorf("retry-after = %q", raw.Header.Get("retry-after"))
				}
			}
			r := e.record(t, raw.Header.Get("x-weir-request-id"))
			if r.Status != tt.status || r.ErrorKind != tt.kind {
				t.Errorf("record status %d kind %q, want %d %q (%s)", r.Status, r.ErrorKind, tt.status, tt.kind, r.ErrorMessage)
			}
		})
	}
}

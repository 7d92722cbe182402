package apptest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
)

func anthropicClient(e *env, opts ...option.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithBaseURL(e.base), option.WithAPIKey("sk-ant-unused"), option.WithMaxRetries(0),
		option.WithHeader("x-weir-use-case", "lead-qualification"),
	}, opts...)...)
}

func messageParams(model string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model: anthropic.Model(model), MaxTokens: 256,
		System:   []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
	}
}

// TestAnthropicSDK drives /v1/messages with the official Go SDK.
func TestAnthropicSDK(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	client := anthropicClient(e)

	t.Run("non-stream", func(t *testing.T) {
		var raw *http.Response
		msg, err := client.Messages.New(ctx, messageParams("anthropic/claude-test"), option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Model != "claude-test-20260101" || len(msg.Content) == 0 || msg.Usage.OutputTokens != 10 || msg.Usage.CacheReadInputTokens != 100 {
			t.Errorf("message = %+v", msg)
		}
		r := e.record(t, raw.Header.Get("x-weir-request-id"))
		// Anthropic's input_tokens (40) excludes the cache; Weir's includes it.
		if r.Usage.InputTokens != 40+100+50 || r.Usage.CacheReadTokens != 100 || r.Usage.CacheWriteTokens != 50 || r.Usage.OutputTokens != 10 {
			t.Errorf("normalised usage = %+v", r.Usage)
		}
		if r.Endpoint != "messages" || r.Provider != "anthropic" || r.UseCase != "lead-qualification" || r.FinishReason == "" {
			t.Errorf("record = %+v", r)
		}
	})

	t.Run("stream", func(t *testing.T) {
		timed(t, func(c errorfer) {
			var raw *http.Response
			stream := client.Messages.NewStreaming(ctx, messageParams("anthropic/claude-test"), option.WithResponseInto(&raw))
			var msg anthropic.Message
			for stream.Next() {
				if err := msg.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if msg.Usage.OutputTokens != 10 || len(msg.Content) == 0 || msg.StopReason == "" {
				t.Errorf("accumulated = %+v", msg)
			}
			r := e.record(t, raw.Header.Get("x-weir-request-id"))
			if r.Usage.InputTokens != 190 || r.Usage.OutputTokens != 10 || r.Usage.Estimated {
				t.Errorf("usage = %+v", r.Usage)
			}
			// Scripted: first text at 150 ms, then 9 gaps of 20 ms.
			within(c, "ttft_ms", r.TTFTMs, 150, 190)
			if r.ITLMs == nil || r.ITLMs.Count != 9 {
				t.Fatalf("itl = %+v", r.ITLMs)
			}
			within(c, "itl p50", &r.ITLMs.P50, 17, 30)
		})
	})

	t.Run("overloaded", func(t *testing.T) {
		var raw *http.Response
		_, err := client.Messages.New(ctx, messageParams("anthropic/overloaded"), option.WithResponseInto(&raw))
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 {
			t.Fatalf("err = %v, want a 529 *anthropic.Error", err)
		}
		r := e.record(t, raw.Header.Get("x-weir-request-id"))
		if r.Status != 529 || r.ErrorKind != "upstream_overloaded" {
			t.Errorf("record status %d kind %q", r.Status, r.ErrorKind)
		}
	})

	t.Run("overloaded mid-stream", func(t *testing.T) {
		var raw *http.Response
		stream := client.Messages.NewStreaming(ctx, messageParams("anthropic/midstream-error"), option.WithResponseInto(&raw))
		for stream.Next() {
		}
		if stream.Err() == nil {
			t.Fatal("the SDK saw no error")
		}
		r := e.record(t, raw.Header.Get("x-weir-request-id"))
		if r.Status != 200 || r.ErrorKind != "upstream_overloaded" {
			t.Errorf("record status %d kind %q, want 200 upstream_overloaded (%s)", r.Status, r.ErrorKind, r.ErrorMessage)
		}
	})

	t.Run("no headers from the provider", func(t *testing.T) {
		var raw *http.Response
		stream := client.Messages.NewStreaming(ctx, messageParams("anthropic/hang-headers"), option.WithResponseInto(&raw))
		for stream.Next() {
		}
		var apiErr *anthropic.Error
		if err := stream.Err(); !errors.As(err, &apiErr) || apiErr.StatusCode != 504 {
			t.Fatalf("err = %v, want a 504 *anthropic.Error", err)
		}
		r := e.record(t, raw.Header.Get("x-weir-request-id"))
		if r.Status != 504 || r.ErrorKind != "upstream_timeout" {
			t.Errorf("record status %d kind %q", r.Status, r.ErrorKind)
		}
	})

	t.Run("bad request in Anthropic's format", func(t *testing.T) {
		resp, body := httpPost(t, e.base+"/v1/messages", `{"model":`, "anthropic-version", "2023-06-01")
		if resp.StatusCode != 400 || !contains(body, `"type":"error"`, `"invalid_request_error"`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx, anthropic.ModelListParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) == 0 {
			t.Error("no models listed for the Anthropic SDK")
		}
	})
}

// TestAnthropicThroughChatCompletions calls an Anthropic model with the
// OpenAI SDK: Weir translates both ways.
func TestAnthropicThroughChatCompletions(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	client := openaiClient(e)
	var raw *http.Response
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "anthropic/claude-test", Messages: userMsg("hello")}, oaoption.WithResponseInto(&raw))
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) == 0 || acc.Choices[0].Message.Content == "" {
		t.Fatalf("translated stream: %+v", acc.ChatCompletion)
	}
	r := e.record(t, raw.Header.Get("x-weir-request-id"))
	if r.Provider != "anthropic" || r.Usage.InputTokens != 190 || r.Usage.CacheReadTokens != 100 || r.Usage.OutputTokens != 10 {
		t.Errorf("record provider %q usage %+v", r.Provider, r.Usage)
	}
	if r.TTFTMs == nil || *r.TTFTMs < 150 {
		t.Errorf("ttft_ms = %v, the simulator's first token comes at 150 ms", r.TTFTMs)
	}
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "anthropic/claude-test", Messages: userMsg("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content == "" || resp.Usage.PromptTokens != 190 || resp.Usage.PromptTokensDetails.CachedTokens != 100 {
		t.Errorf("translated response: %+v", resp)
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !stringsContains(s, sub) {
			return false
		}
	}
	return true
}

package mock

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	anoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// The official SDKs must read everything the simulator sends.

func TestOpenAISDK(t *testing.T) {
	cfg := testConfig()
	cfg.APIKey = "sk-sdk"
	cfg.Models["limited"] = Profile{Failures: []Failure{{Status: 429, Rate: 1}}}
	_, ts := newTest(t, cfg)
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("sk-sdk"), option.WithMaxRetries(0))
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("hello")}

	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "cached", Messages: msgs, N: openai.Int(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 2 || resp.Model != "cached-2026" || resp.Usage.CompletionTokens != 6 || resp.Usage.PromptTokens != 190 || resp.Usage.PromptTokensDetails.CachedTokens != 100 || resp.Choices[1].Index != 1 {
		t.Errorf("completion %+v", resp)
	}

	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:       "get_weather",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	})}
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "tools", Messages: msgs, Tools: tools,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 || len(acc.Choices[0].Message.ToolCalls) != 1 || acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("accumulated %+v", acc.ChatCompletion)
	}
	call := acc.Choices[0].Message.ToolCalls[0]
	var args struct{ City string }
	if err := json.Unmarshal([]byte(call.Function.Arguments), &args); err != nil || args.City == "" || call.Function.Name != "get_weather" {
		t.Errorf("tool call %+v: %v", call, err)
	}
	if acc.Usage.CompletionTokens != int64(len(argFragments(call.Function.Arguments))) {
		t.Errorf("usage %+v for arguments %q", acc.Usage, call.Function.Arguments)
	}

	stream = client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "visible", Messages: msgs})
	var text strings.Builder
	for stream.Next() {
		c := stream.Current()
		if len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil || len(strings.Fields(text.String())) != 4 {
		t.Errorf("streamed %q: %v", text.String(), err)
	}

	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{"", openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "embed", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}}, EncodingFormat: format,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(emb.Data) != 2 || len(emb.Data[1].Embedding) != 8 || emb.Usage.PromptTokens != 2 {
			t.Errorf("%q embeddings %+v", format, emb)
		}
	}

	page, err := client.Models.List(ctx)
	if err != nil || len(page.Data) != len(cfg.Models) {
		t.Errorf("models %+v: %v", page, err)
	}

	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "limited", Messages: msgs})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" || apiErr.Message == "" {
		t.Errorf("rate limited: %v", err)
	}
	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "nope", Messages: msgs})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: %v", err)
	}
	bad := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("sk-other"), option.WithMaxRetries(0))
	_, err = bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "plain", Messages: msgs})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("bad key: %v", err)
	}
}

func TestAnthropicSDK(t *testing.T) {
	cfg := testConfig()
	cfg.APIKey = "sk-ant-sdk"
	cfg.Models["overloaded"] = Profile{Failures: []Failure{{Status: 529, Rate: 1}}}
	cfg.Models["midstream"] = Profile{OutputTokens: 9, Failures: []Failure{{Status: 529, Rate: 1, AfterChunks: 2}}}
	_, ts := newTest(t, cfg)
	client := anthropic.NewClient(anoption.WithBaseURL(ts.URL), anoption.WithAPIKey("sk-ant-sdk"), anoption.WithMaxRetries(0))
	ctx := context.Background()
	params := func(model string) anthropic.MessageNewParams {
		return anthropic.MessageNewParams{
			Model: anthropic.Model(model), MaxTokens: 2048,
			System:   []anthropic.TextBlockParam{{Text: "Be brief."}},
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))},
		}
	}

	msg, err := client.Messages.New(ctx, params("cached"))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Model != "cached-2026" || msg.StopReason != anthropic.StopReasonEndTurn || msg.Usage.InputTokens != 40 || msg.Usage.CacheReadInputTokens != 100 ||
		msg.Usage.CacheCreationInputTokens != 50 || msg.Usage.CacheCreation.Ephemeral1hInputTokens != 20 || msg.Usage.OutputTokens != 3 || len(msg.Content) != 1 {
		t.Errorf("message %+v", msg)
	}

	p := params("visible")
	p.Thinking = anthropic.ThinkingConfigParamOfEnabled(1024)
	p.Tools = []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
		Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"},
	}, "get_weather")}
	p.ToolChoice = anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{}}
	stream := client.Messages.NewStreaming(ctx, p)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Content) != 2 || acc.StopReason != anthropic.StopReasonToolUse {
		t.Fatalf("accumulated %+v", acc)
	}
	think, tool := acc.Content[0].AsThinking(), acc.Content[1].AsToolUse()
	if len(strings.Fields(think.Thinking)) != 3 || think.Signature == "" || tool.Name != "get_weather" {
		t.Errorf("blocks %+v %+v", think, tool)
	}
	var args struct{ City string }
	if err := json.Unmarshal(tool.Input, &args); err != nil || args.City == "" {
		t.Errorf("tool input %s: %v", tool.Input, err)
	}
	if want := int64(3 + len(argFragments(string(tool.Input)))); acc.Usage.OutputTokens != want {
		t.Errorf("output tokens %d, want %d", acc.Usage.OutputTokens, want)
	}

	_, err = client.Messages.New(ctx, params("overloaded"))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 {
		t.Errorf("overloaded: %v", err)
	}
	stream = client.Messages.NewStreaming(ctx, params("midstream"))
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "overloaded_error") {
		t.Errorf("mid-stream error: %v", err)
	}

	page, err := client.Models.List(ctx, anthropic.ModelListParams{})
	if err != nil || len(page.Data) != len(cfg.Models) || page.Data[0].DisplayName == "" {
		t.Errorf("models %+v: %v", page, err)
	}
	count, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model: "plain", Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there"))},
	})
	if err != nil || count.InputTokens != 9 {
		t.Errorf("count tokens %+v: %v", count, err)
	}
}

package anthropic

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/weirhq/weir/internal/provider"
)

// sdkServer serves POST /v1/chat/completions through p's translation, the
// way the gateway relays it, so the official OpenAI SDK can talk to it.
func sdkServer(t *testing.T, p *Provider) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			Stream        bool `json:"stream"`
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		json.Unmarshal(body, &env)
		req := &provider.Request{Body: body, Stream: env.Stream, IncludeUsage: env.StreamOptions != nil && env.StreamOptions.IncludeUsage}
		resp, err := p.ChatCompletion(r.Context(), req)
		if err != nil {
			t.Errorf("ChatCompletion: %v", err)
			w.WriteHeader(500)
			return
		}
		if resp.Stream == nil {
			w.Header().Set("Content-Type", "application/json")
			w.Write(resp.Body)
			return
		}
		defer resp.Stream.Close()
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			ev, err := resp.Stream.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Errorf("stream: %v", err)
				return
			}
			if !ev.Drop {
				w.Write(ev.Data)
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func replay(t *testing.T, path, contentType string) *Provider {
	t.Helper()
	fixture, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(fixture)
	}, 0)
}

func TestOpenAISDKParsesChatCompletion(t *testing.T) {
	p := replay(t, "testdata/response/tools_thinking.anthropic.json", "application/json")
	client := openai.NewClient(option.WithBaseURL(sdkServer(t, p).URL+"/v1/"), option.WithAPIKey("weir"), option.WithMaxRetries(0))
	c, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "msg_01Aq9w938a90dw8q" || c.Model != "claude-sonnet-4-5-20250929" || len(c.Choices) != 1 {
		t.Fatalf("completion = %+v", c)
	}
	ch := c.Choices[0]
	if ch.FinishReason != "tool_calls" || ch.Message.Content != "Let me check <Paris>." || len(ch.Message.ToolCalls) != 1 {
		t.Errorf("choice = %+v", ch)
	}
	tc := ch.Message.ToolCalls[0]
	if tc.ID != "toolu_01A09q90qw90lq917835lq9" || tc.Function.Name != "get_weather" || tc.Function.Arguments != `{"city":"Paris","unit":"celsius"}` {
		t.Errorf("tool call = %+v", tc)
	}
	if f, ok := ch.Message.JSON.ExtraFields["reasoning_content"]; !ok || f.Raw() != `"The user wants the weather in Paris."` {
		t.Errorf("reasoning_content not found in %v", ch.Message.JSON.ExtraFields)
	}
	if c.Usage.PromptTokens != 3050 || c.Usage.CompletionTokens != 300 || c.Usage.TotalTokens != 3350 || c.Usage.PromptTokensDetails.CachedTokens != 2000 {
		t.Errorf("usage = %+v", c.Usage)
	}
}

func TestOpenAISDKParsesChatStream(t *testing.T) {
	p := replay(t, "testdata/stream/tools_thinking.sse", "text/event-stream")
	client := openai.NewClient(option.WithBaseURL(sdkServer(t, p).URL+"/v1/"), option.WithAPIKey("weir"), option.WithMaxRetries(0))
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:         "claude-sonnet-4-5",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	var chunks []openai.ChatCompletionChunk
	for stream.Next() {
		chunk := stream.Current()
		chunks = append(chunks, chunk)
		if !acc.AddChunk(chunk) {
			t.Fatalf("accumulator rejected chunk %s", chunk.RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(chunks) == 0 || chunks[0].Choices[0].Delta.Role != "assistant" || chunks[0].Model != "claude-sonnet-4-5-20250929" {
		t.Fatalf("first chunk = %+v", chunks)
	}
	if f, ok := chunks[1].Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; !ok || f.Raw() != `"The user wants the weather in Paris."` {
		t.Errorf("reasoning delta = %s", chunks[1].RawJSON())
	}
	got := acc.Choices[0]
	if got.Message.Content != `Let me check "Paris" <now>.` || got.FinishReason != "tool_calls" || len(got.Message.ToolCalls) != 1 {
		t.Fatalf("accumulated = %+v", got)
	}
	tc := got.Message.ToolCalls[0]
	if tc.ID != "toolu_01T1x1fJ34qAmk2tNTrN7Up6" || tc.Function.Name != "get_weather" || tc.Function.Arguments != `{"city": "Paris"}` {
		t.Errorf("tool call = %+v", tc)
	}
	if acc.Usage.PromptTokens != 2272 || acc.Usage.CompletionTokens != 89 || acc.Usage.PromptTokensDetails.CachedTokens != 1800 {
		t.Errorf("usage = %+v", acc.Usage)
	}
}

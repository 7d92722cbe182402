package gemini_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/weirhq/weir/internal/costing"
	"github.com/weirhq/weir/internal/gateway"
	"github.com/weirhq/weir/internal/mock"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/gemini"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/tokencount"
	"github.com/weirhq/weir/internal/usage"
)

// End to end: the official OpenAI SDK calls the gateway, which routes
// "gemini/..." and "vertex/..." to this adapter, which calls the simulator
// speaking the Gemini API and Vertex AI. The recorded usage and cost are
// checked against the simulator's profile and the catalog's Gemini prices.

type records struct {
	mu  sync.Mutex
	all []record.Record
}

func (r *records) Begin(*record.Record) error { return nil }

func (r *records) Finish(rec *record.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, *rec)
	return nil
}

// nth waits for the n-th record (from 1): a stream's record is finished
// after the caller has read the last byte, so it may lag a little.
func (r *records) nth(t *testing.T, n int) record.Record {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		r.mu.Lock()
		if len(r.all) >= n {
			defer r.mu.Unlock()
			if len(r.all) > n {
				t.Errorf("%d records, want %d", len(r.all), n)
			}
			return r.all[n-1]
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("record %d never came", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const simKey = "gemini-e2e-key"

func newStack(t *testing.T) (*openai.Client, *records) {
	t.Helper()
	cfg := mock.Config{Seed: 3, APIKey: simKey, Models: map[string]mock.Profile{
		"gemini-2.5-flash": {InputTokens: 11, CacheReadTokens: 20, OutputTokens: 8,
			ReasoningTokens: 4, ReasoningVisible: true, ToolCalls: true},
		"gemini-embedding-001": {Type: mock.TypeEmbedding, Dimensions: 16},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := mock.New(cfg, nil)
	sim := httptest.NewServer(m)
	t.Cleanup(sim.Close)
	t.Cleanup(m.Close)

	studio, err := gemini.Factory(provider.Config{Name: "gemini", Type: "gemini", BaseURL: sim.URL + "/v1beta", APIKey: simKey})
	if err != nil {
		t.Fatal(err)
	}
	vertex, err := gemini.VertexFactory(provider.Config{Name: "vertex", Type: "vertex",
		BaseURL: sim.URL + "/v1/projects/acme/locations/us-central1", APIKey: simKey})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := pricing.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	rec := &records{}
	g := gateway.New(gateway.Options{
		Router: gateway.NewRouter([]*gateway.Upstream{
			{Name: "gemini", Type: "gemini", Adapter: studio, PriceAs: "google"},
			{Name: "vertex", Type: "vertex", Adapter: vertex, PriceAs: "google"},
		}, nil),
		Recorder: rec, Counter: tokencount.New(), Pricer: costing.NewEngine(cat, nil, nil),
		MaxBodyBytes: 1 << 20, MaxLoggedBodyBytes: 1 << 20,
	})
	mux := http.NewServeMux()
	g.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return &c, rec
}

// wantUsage is the flash profile's usage: 11 uncached and 20 cached prompt
// tokens, 8 answer tokens and 4 thought tokens.
var wantUsage = usage.Usage{InputTokens: 31, CacheReadTokens: 20, OutputTokens: 12, ReasoningTokens: 4}

// wantCost at gemini-2.5-flash list prices (USD per million tokens: input
// 0.30, cache read 0.03, output 2.50): 11*0.30 + 20*0.03 + 12*2.50 =
// 33.9 micro-dollars.
const wantCost = "0.000034" // Money.String rounds to 6 places

func checkRecord(t *testing.T, r record.Record, providerName string, want usage.Usage) {
	t.Helper()
	if r.Provider != providerName || r.Status != 200 || r.ErrorKind != "" {
		t.Errorf("record: provider %q status %d error %q, want %s 200 and no error", r.Provider, r.Status, r.ErrorKind, providerName)
	}
	if r.Usage != want {
		t.Errorf("recorded usage %+v, want %+v", r.Usage, want)
	}
	if r.CostUSD == nil {
		t.Errorf("the call was not priced (cost_usd null)")
	} else if got := r.CostUSD.String(); got != wantCost {
		t.Errorf("cost_usd %s, want %s", got, wantCost)
	}
	if r.CostUSD != nil && *r.CostUSD != 33900*pricing.Nano {
		t.Errorf("cost_usd is %d femto-dollars, want exactly 33.9 micro-dollars", int64(*r.CostUSD))
	}
}

func TestGatewayChat(t *testing.T) {
	c, rec := newStack(t)
	for i, p := range []string{"gemini", "vertex"} {
		t.Run(p, func(t *testing.T) {
			resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:           p + "/gemini-2.5-flash",
				Messages:        []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hello")},
				ReasoningEffort: openai.ReasoningEffortLow,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "stop" {
				t.Fatalf("unexpected answer: %s", resp.RawJSON())
			}
			if !strings.Contains(resp.RawJSON(), `"reasoning_content"`) {
				t.Errorf("the thoughts did not come back as reasoning_content: %s", resp.RawJSON())
			}
			u := resp.Usage
			if u.PromptTokens != 31 || u.CompletionTokens != 12 || u.PromptTokensDetails.CachedTokens != 20 || u.CompletionTokensDetails.ReasoningTokens != 4 {
				t.Errorf("usage in the answer: %s", u.RawJSON())
			}
			checkRecord(t, rec.nth(t, i+1), p, wantUsage)
		})
	}
}

func TestGatewayStream(t *testing.T) {
	c, rec := newStack(t)
	for i, p := range []string{"gemini", "vertex"} {
		t.Run(p, func(t *testing.T) {
			st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model:           p + "/gemini-2.5-flash",
				Messages:        []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
				ReasoningEffort: openai.ReasoningEffortLow,
				StreamOptions:   openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			var acc openai.ChatCompletionAccumulator
			reasoning := 0
			for st.Next() {
				ch := st.Current()
				acc.AddChunk(ch)
				if len(ch.Choices) > 0 && strings.Contains(ch.Choices[0].Delta.RawJSON(), "reasoning_content") {
					reasoning++
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			if len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" || acc.Choices[0].FinishReason != "stop" {
				t.Fatalf("accumulated answer: %+v", acc.ChatCompletion)
			}
			if reasoning != 4 {
				t.Errorf("%d reasoning chunks, want 4", reasoning)
			}
			if acc.Usage.PromptTokens != 31 || acc.Usage.CompletionTokens != 12 {
				t.Errorf("streamed usage: %+v", acc.Usage)
			}
			r := rec.nth(t, i+1)
			checkRecord(t, r, p, wantUsage)
			if r.TTFTMs == nil || r.TTFCTMs == nil {
				t.Errorf("a stream with thoughts recorded no ttft or ttfct")
			}
		})
	}
}

func TestGatewayTools(t *testing.T) {
	c, _ := newStack(t)
	tool := openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name: "get_weather",
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{
			"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	})
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")}
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini/gemini-2.5-flash", Messages: msgs, Tools: []openai.ChatCompletionToolUnionParam{tool},
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Choices[0].Message.ToolCalls
	if resp.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 || calls[0].Function.Name != "get_weather" {
		t.Fatalf("want one get_weather call: %s", resp.RawJSON())
	}
	if !strings.Contains(calls[0].ID, "__thought__") {
		t.Errorf("tool call id %q does not carry the thought signature", calls[0].ID)
	}
	// The second turn sends the call and its result back: the translation
	// must find the function's name from the id and restore the signature.
	msgs = append(msgs, resp.Choices[0].Message.ToParam(), openai.ToolMessage(`{"temp_c":21}`, calls[0].ID))
	resp, err = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini/gemini-2.5-flash", Messages: msgs, Tools: []openai.ChatCompletionToolUnionParam{tool},
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("second turn: %s", resp.RawJSON())
	}
}

func TestGatewayEmbeddings(t *testing.T) {
	c, rec := newStack(t)
	for i, p := range []string{"gemini", "vertex"} {
		t.Run(p, func(t *testing.T) {
			resp, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
				Model: p + "/gemini-embedding-001",
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello world", "good night"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != 2 || len(resp.Data[0].Embedding) != 16 || resp.Data[1].Index != 1 {
				t.Fatalf("embeddings: %d vectors of %d", len(resp.Data), len(resp.Data[0].Embedding))
			}
			// "hello world" is 11 characters and "good night" 10: 3 tokens each.
			if resp.Usage.PromptTokens != 6 {
				t.Errorf("usage.prompt_tokens = %d, want 6", resp.Usage.PromptTokens)
			}
			r := rec.nth(t, i+1)
			if r.Usage.InputTokens != 6 || r.CostUSD == nil {
				t.Errorf("record: usage %+v cost %v", r.Usage, r.CostUSD)
			}
		})
	}
}

func TestGatewayErrors(t *testing.T) {
	c, rec := newStack(t)
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini/gemini-9-nonexistent", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var ae *openai.Error
	if !asError(err, &ae) || ae.StatusCode != 404 {
		t.Fatalf("unknown model: %v, want a 404", err)
	}
	if r := rec.nth(t, 1); r.ErrorKind != "not_found" {
		t.Errorf("recorded error kind %q, want not_found", r.ErrorKind)
	}
}

func asError(err error, target **openai.Error) bool {
	e, ok := err.(*openai.Error)
	if ok {
		*target = e
	}
	return ok
}

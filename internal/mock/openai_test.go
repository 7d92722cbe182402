package mock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const weatherTools = `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]},"days":{"type":"integer"},"extra":{"type":"boolean"}},"required":["city","unit","days"]}}},{"type":"function","function":{"name":"ping"}}]`

// chatWant is what a chat answer must look like.
type chatWant struct {
	choices    int
	words      int    // content words per choice (-1: content must be null)
	reasoning  int    // reasoning_content words per choice
	finish     string // finish_reason of every choice
	completion int    // usage.completion_tokens
	reasonTok  int    // usage.completion_tokens_details.reasoning_tokens
	prompt     int    // usage.prompt_tokens; 0: don't check
	cached     int
	noUsage    bool
	tool       string   // called tool
	toolArgs   []string // keys the arguments must hold
	json       bool     // content is a JSON document
}

var chatCases = []struct {
	name string
	body string
	want chatWant
}{
	{"plain", `{"model":"plain","messages":[{"role":"user","content":"hello there"}]}`,
		chatWant{choices: 1, words: 7, finish: "stop", completion: 7, prompt: 3 + 3 + 3}},
	{"n=3", `{"model":"plain","n":3,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello there"}]}`,
		chatWant{choices: 3, words: 7, finish: "stop", completion: 21, prompt: 3 + 3 + 3 + 3 + 3}},
	{"max_tokens truncates", `{"model":"plain","max_tokens":3,"messages":[{"role":"user","content":"x"}]}`,
		chatWant{choices: 1, words: 3, finish: "length", completion: 3}},
	{"max_completion_tokens wins", `{"model":"plain","max_tokens":5,"max_completion_tokens":2,"messages":[{"role":"user","content":"x"}]}`,
		chatWant{choices: 1, words: 2, finish: "length", completion: 2}},
	{"max_tokens above output", `{"model":"plain","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`,
		chatWant{choices: 1, words: 7, finish: "stop", completion: 7}},
	{"tool call", `{"model":"tools","messages":[{"role":"user","content":"weather?"}],` + weatherTools + `}`,
		chatWant{choices: 1, words: -1, finish: "tool_calls", tool: "get_weather", toolArgs: []string{"city", "unit", "days"}}},
	{"tool_choice none", `{"model":"tools","tool_choice":"none","messages":[{"role":"user","content":"weather?"}],` + weatherTools + `}`,
		chatWant{choices: 1, words: 5, finish: "stop", completion: 5}},
	{"tool_choice required forces a call", `{"model":"plain","tool_choice":"required","messages":[{"role":"user","content":"x"}],` + weatherTools + `}`,
		chatWant{choices: 1, words: -1, finish: "tool_calls", tool: "get_weather", toolArgs: []string{"city", "unit", "days"}}},
	{"named tool", `{"model":"tools","tool_choice":{"type":"function","function":{"name":"ping"}},"messages":[{"role":"user","content":"x"}],` + weatherTools + `}`,
		chatWant{choices: 1, words: -1, finish: "tool_calls", tool: "ping", completion: 1}},
	{"tools ignored without tool_calls", `{"model":"plain","messages":[{"role":"user","content":"x"}],` + weatherTools + `}`,
		chatWant{choices: 1, words: 7, finish: "stop", completion: 7}},
	{"json_object", `{"model":"plain","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"json"}]}`,
		chatWant{choices: 1, finish: "stop", completion: 7, json: true}},
	{"json_schema", `{"model":"plain","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"title":{"type":"string"},"score":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}}},"required":["title","score","tags"]}}},"messages":[{"role":"user","content":"json"}]}`,
		chatWant{choices: 1, finish: "stop", completion: 7, json: true, toolArgs: []string{"title", "score", "tags"}}},
	{"visible reasoning", `{"model":"visible","messages":[{"role":"user","content":"x"}]}`,
		chatWant{choices: 1, words: 4, reasoning: 3, finish: "stop", completion: 7, reasonTok: 3}},
	{"hidden reasoning", `{"model":"hidden","messages":[{"role":"user","content":"x"}]}`,
		chatWant{choices: 1, words: 4, finish: "stop", completion: 10, reasonTok: 6}},
	{"reasoning eats max_tokens", `{"model":"hidden","max_completion_tokens":6,"messages":[{"role":"user","content":"x"}]}`,
		chatWant{choices: 1, words: 0, finish: "length", completion: 6, reasonTok: 6}},
	{"cache counts", `{"model":"cached","messages":[{"role":"user","content":"x"}]}`,
		chatWant{choices: 1, words: 3, finish: "stop", completion: 3, prompt: 190, cached: 100}},
	{"usage never", `{"model":"quiet","messages":[{"role":"user","content":"x"}]}`,
		chatWant{choices: 1, words: 5, finish: "stop", noUsage: true}},
	{"parts and tool messages", `{"model":"plain","messages":[{"role":"user","content":[{"type":"text","text":"abcdefgh"},{"type":"image_url","image_url":{"url":"data:x"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"ab","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"abcd"}]}`,
		chatWant{choices: 1, words: 7, finish: "stop", completion: 7, prompt: 3 + (3 + 2 + 85) + (3 + 1) + (3 + 1)}},
}

func TestChatNonStream(t *testing.T) {
	_, ts := newTest(t, testConfig())
	for _, tc := range chatCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, ts, "/v1/chat/completions", tc.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type %q", ct)
			}
			if !strings.HasPrefix(resp.Header.Get("x-request-id"), "req_") || resp.Header.Get("openai-processing-ms") == "" {
				t.Errorf("headers %v", resp.Header)
			}
			var c oaCompletion
			mustJSON(t, string(body), &c)
			if c.Object != "chat.completion" || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Created == 0 || !strings.HasPrefix(c.SystemFingerprint, "fp_") || c.Model == "" {
				t.Errorf("envelope %s", body)
			}
			w := tc.want
			if len(c.Choices) != w.choices {
				t.Fatalf("%d choices, want %d", len(c.Choices), w.choices)
			}
			for i, ch := range c.Choices {
				if ch.Index != i || ch.FinishReason != w.finish || string(ch.Logprobs) != "null" || ch.Message.Role != "assistant" || ch.Message.Refusal != nil {
					t.Errorf("choice %d: index %d finish %q logprobs %s", i, ch.Index, ch.FinishReason, ch.Logprobs)
				}
				m := ch.Message
				switch {
				case w.tool != "":
					if m.Content != nil || len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Name != w.tool || m.ToolCalls[0].Type != "function" || !strings.HasPrefix(m.ToolCalls[0].ID, "call_") {
						t.Fatalf("tool call %+v", m)
					}
					args := m.ToolCalls[0].Function.Arguments
					checkKeys(t, args, w.toolArgs)
					if want := len(argFragments(args)); c.Usage.CompletionTokens != want {
						t.Errorf("completion_tokens %d, want %d fragments of %q", c.Usage.CompletionTokens, want, args)
					}
				case w.json:
					checkKeys(t, *m.Content, w.toolArgs)
				default:
					if m.Content == nil {
						t.Fatal("content is null")
					}
					if n := len(strings.Fields(*m.Content)); n != w.words {
						t.Errorf("content %q has %d words, want %d", *m.Content, n, w.words)
					}
					if n := len(strings.Fields(m.ReasoningContent)); n != w.reasoning {
						t.Errorf("reasoning %q has %d words, want %d", m.ReasoningContent, n, w.reasoning)
					}
				}
			}
			if w.noUsage {
				if c.Usage != nil {
					t.Errorf("usage %+v, want none", c.Usage)
				}
				return
			}
			u := c.Usage
			if u == nil {
				t.Fatal("no usage")
			}
			if w.completion != 0 && u.CompletionTokens != w.completion {
				t.Errorf("completion_tokens %d, want %d", u.CompletionTokens, w.completion)
			}
			if u.CompletionTokensDetails.ReasoningTokens != w.reasonTok {
				t.Errorf("reasoning_tokens %d, want %d", u.CompletionTokensDetails.ReasoningTokens, w.reasonTok)
			}
			if w.prompt != 0 && u.PromptTokens != w.prompt {
				t.Errorf("prompt_tokens %d, want %d", u.PromptTokens, w.prompt)
			}
			if u.PromptTokensDetails.CachedTokens != w.cached || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage %+v", u)
			}
		})
	}
}

// checkKeys checks that doc is a JSON object holding keys.
func checkKeys(t *testing.T, doc string, keys []string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", doc, err)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%q lacks %q", doc, k)
		}
	}
}

// streamResult is a parsed chat stream.
type streamResult struct {
	roles      int
	content    map[int]string
	reasoning  map[int]string
	contentN   int // content chunks
	reasonN    int // reasoning chunks
	argChunks  int // tool-argument fragment chunks
	tool       map[int]*oaToolCall
	finish     map[int]string
	usage      *oaUsage
	usageNulls int // chunks carrying "usage":null
	chunks     int
	done       bool
}

func parseChatStream(t *testing.T, body []byte) streamResult {
	t.Helper()
	r := streamResult{content: map[int]string{}, reasoning: map[int]string{}, tool: map[int]*oaToolCall{}, finish: map[int]string{}}
	var id string
	for i, e := range events(t, body) {
		if r.done {
			t.Fatalf("event after [DONE]: %q", e.Data)
		}
		if e.Data == "[DONE]" {
			r.done = true
			continue
		}
		var c oaChunk
		mustJSON(t, e.Data, &c)
		r.chunks++
		if c.Object != "chat.completion.chunk" || c.Created == 0 || c.Model == "" || !strings.HasPrefix(c.SystemFingerprint, "fp_") {
			t.Errorf("chunk %d envelope: %s", i, e.Data)
		}
		if id == "" {
			id = c.ID
		} else if c.ID != id {
			t.Errorf("chunk id %q, first was %q", c.ID, id)
		}
		if string(c.Usage) == "null" {
			r.usageNulls++
		} else if len(c.Usage) > 0 {
			if len(c.Choices) != 0 || r.usage != nil {
				t.Errorf("usage in chunk with %d choices: %s", len(c.Choices), e.Data)
			}
			r.usage = new(oaUsage)
			mustJSON(t, string(c.Usage), r.usage)
			if !strings.Contains(e.Data, `"choices":[]`) {
				t.Errorf("usage chunk without choices []: %s", e.Data)
			}
		}
		for _, ch := range c.Choices {
			if string(ch.Logprobs) != "null" {
				t.Errorf("logprobs %s", ch.Logprobs)
			}
			if _, ok := r.finish[ch.Index]; ok {
				t.Errorf("choice %d: chunk after finish: %s", ch.Index, e.Data)
			}
			d := ch.Delta
			if d.Role != "" {
				r.roles++
			}
			if d.Content != nil && *d.Content != "" {
				r.contentN++
				r.content[ch.Index] += *d.Content
			}
			if d.ReasoningContent != "" {
				r.reasonN++
				r.reasoning[ch.Index] += d.ReasoningContent
			}
			for _, tc := range d.ToolCalls {
				cur := r.tool[ch.Index]
				if tc.ID != "" {
					if cur != nil {
						t.Errorf("second tool call header: %s", e.Data)
					}
					cp := tc
					r.tool[ch.Index] = &cp
					if tc.Function.Arguments != "" {
						t.Errorf("header carries arguments: %s", e.Data)
					}
					continue
				}
				if cur == nil || tc.Index == nil || *tc.Index != 0 {
					t.Fatalf("argument fragment before header: %s", e.Data)
				}
				r.argChunks++
				cur.Function.Arguments += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				r.finish[ch.Index] = *ch.FinishReason
			}
		}
	}
	return r
}

func TestChatStream(t *testing.T) {
	_, ts := newTest(t, testConfig())
	for _, tc := range chatCases {
		for _, include := range []bool{false, true} {
			name := tc.name
			if include {
				name += "/include_usage"
			}
			t.Run(name, func(t *testing.T) {
				body := strings.Replace(tc.body, "{", `{"stream":true,`, 1)
				if include {
					body = strings.Replace(body, "{", `{"stream_options":{"include_usage":true},`, 1)
				}
				resp, raw := post(t, ts, "/v1/chat/completions", body)
				if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
					t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
				}
				r := parseChatStream(t, raw)
				w := tc.want
				if !r.done {
					t.Fatal("no [DONE]")
				}
				if r.roles != w.choices || len(r.finish) != w.choices {
					t.Errorf("%d role chunks, %d finishes, want %d", r.roles, len(r.finish), w.choices)
				}
				for c := 0; c < w.choices; c++ {
					if r.finish[c] != w.finish {
						t.Errorf("choice %d finish %q, want %q", c, r.finish[c], w.finish)
					}
					switch {
					case w.tool != "":
						tcall := r.tool[c]
						if tcall == nil || tcall.Function.Name != w.tool || tcall.Type != "function" {
							t.Fatalf("tool call %+v", tcall)
						}
						checkKeys(t, tcall.Function.Arguments, w.toolArgs)
					case w.json:
						checkKeys(t, r.content[c], w.toolArgs)
					default:
						if n := len(strings.Fields(r.content[c])); n != w.words {
							t.Errorf("content %q: %d words, want %d", r.content[c], n, w.words)
						}
						if n := len(strings.Fields(r.reasoning[c])); n != w.reasoning {
							t.Errorf("reasoning %q: %d words, want %d", r.reasoning[c], n, w.reasoning)
						}
					}
				}
				wantUsage := include && !w.noUsage
				if (r.usage != nil) != wantUsage {
					t.Fatalf("usage %+v, want one: %v", r.usage, wantUsage)
				}
				if wantUsage && r.usageNulls != r.chunks-1 {
					t.Errorf("%d of %d chunks carry usage:null", r.usageNulls, r.chunks-1)
				}
				if !include && r.usageNulls != 0 {
					t.Errorf("usage:null without include_usage")
				}
				if r.usage == nil {
					return
				}
				// The usage must match what was streamed: every content,
				// visible reasoning and argument chunk is one token, plus the
				// hidden reasoning tokens.
				hidden := 0
				if r.reasonN == 0 {
					hidden = w.reasonTok * w.choices
				}
				if got := r.contentN + r.reasonN + r.argChunks + hidden; r.usage.CompletionTokens != got {
					t.Errorf("completion_tokens %d, chunks say %d", r.usage.CompletionTokens, got)
				}
				if w.completion != 0 && r.usage.CompletionTokens != w.completion {
					t.Errorf("completion_tokens %d, want %d", r.usage.CompletionTokens, w.completion)
				}
				if w.prompt != 0 && r.usage.PromptTokens != w.prompt {
					t.Errorf("prompt_tokens %d, want %d", r.usage.PromptTokens, w.prompt)
				}
			})
		}
	}
}

func TestChatStreamUsageAlways(t *testing.T) {
	_, ts := newTest(t, testConfig())
	_, raw := post(t, ts, "/v1/chat/completions", `{"model":"chatty","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	r := parseChatStream(t, raw)
	if r.usage == nil || r.usage.CompletionTokens != 5 || r.usageNulls != 0 {
		t.Errorf("usage %+v, %d nulls", r.usage, r.usageNulls)
	}
}

func TestChatStreamEventOrder(t *testing.T) {
	_, ts := newTest(t, testConfig())
	_, raw := post(t, ts, "/v1/chat/completions", `{"model":"visible","stream":true,"n":2,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`)
	var kinds []string
	for _, e := range events(t, raw) {
		if e.Data == "[DONE]" {
			kinds = append(kinds, "done")
			continue
		}
		var c oaChunk
		mustJSON(t, e.Data, &c)
		if len(c.Choices) == 0 {
			kinds = append(kinds, "usage")
			continue
		}
		ch := c.Choices[0]
		k := string(rune('0' + ch.Index))
		switch {
		case ch.Delta.Role != "":
			k += "role"
		case ch.Delta.ReasoningContent != "":
			k += "r"
		case ch.Delta.Content != nil:
			k += "c"
		case ch.FinishReason != nil:
			k += *ch.FinishReason
		}
		kinds = append(kinds, k)
	}
	want := []string{"0role", "1role", "0r", "1r", "0r", "1r", "0r", "1r", "0c", "1c", "0c", "1c", "0c", "1c", "0c", "1c", "0stop", "1stop", "usage", "done"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("chunk order (-want +got):\n%s", diff)
	}
}

func TestChatDeterministic(t *testing.T) {
	cfg := testConfig()
	_, ts1 := newTest(t, cfg)
	_, ts2 := newTest(t, cfg)
	body := `{"model":"plain","messages":[{"role":"user","content":"same"}]}`
	var got [3]string
	for i, ts := range []*httptest.Server{ts1, ts1, ts2} {
		_, b := post(t, ts, "/v1/chat/completions", body)
		var c oaCompletion
		mustJSON(t, string(b), &c)
		got[i] = *c.Choices[0].Message.Content
	}
	if got[0] != got[1] || got[1] != got[2] {
		t.Errorf("same request, different answers: %q", got)
	}
	_, b := post(t, ts1, "/v1/chat/completions", `{"model":"plain","messages":[{"role":"user","content":"other"}]}`)
	var c oaCompletion
	mustJSON(t, string(b), &c)
	if *c.Choices[0].Message.Content == got[0] {
		t.Errorf("different requests, same answer %q", got[0])
	}
	cfg.Seed = 43
	_, ts3 := newTest(t, cfg)
	_, b = post(t, ts3, "/v1/chat/completions", body)
	mustJSON(t, string(b), &c)
	if *c.Choices[0].Message.Content == got[0] {
		t.Errorf("different seeds, same answer %q", got[0])
	}
}

func TestEmbeddings(t *testing.T) {
	_, ts := newTest(t, testConfig())
	tests := []struct {
		name   string
		body   string
		n      int
		dims   int
		tokens int
	}{
		{"one string", `{"model":"embed","input":"hello world"}`, 1, 8, 3},
		{"strings", `{"model":"embed","input":["a","bcdefgh"]}`, 2, 8, 1 + 2},
		{"token array", `{"model":"embed","input":[1,2,3,4,5]}`, 1, 8, 5},
		{"token arrays", `{"model":"embed","input":[[1,2],[3]]}`, 2, 8, 3},
		{"dimensions", `{"model":"embedbig","input":"x","dimensions":256}`, 1, 256, 1},
		{"default dims", `{"model":"embedbig","input":"x"}`, 1, 1536, 1},
		{"base64", `{"model":"embed","input":["a","b"],"encoding_format":"base64"}`, 2, 8, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, ts, "/v1/embeddings", tc.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var out struct {
				Object string `json:"object"`
				Data   []struct {
					Object    string          `json:"object"`
					Index     int             `json:"index"`
					Embedding json.RawMessage `json:"embedding"`
				} `json:"data"`
				Model string `json:"model"`
				Usage struct {
					PromptTokens int `json:"prompt_tokens"`
					TotalTokens  int `json:"total_tokens"`
				} `json:"usage"`
			}
			mustJSON(t, string(body), &out)
			if out.Object != "list" || len(out.Data) != tc.n || out.Model == "" || out.Usage.PromptTokens != tc.tokens || out.Usage.TotalTokens != tc.tokens {
				t.Fatalf("response %s", body)
			}
			for i, d := range out.Data {
				var vec []float32
				if strings.Contains(tc.body, "base64") {
					var s string
					mustJSON(t, string(d.Embedding), &s)
					raw, err := base64.StdEncoding.DecodeString(s)
					if err != nil || len(raw)%4 != 0 {
						t.Fatalf("base64 %q: %v", s, err)
					}
					for j := 0; j < len(raw); j += 4 {
						vec = append(vec, math.Float32frombits(binary.LittleEndian.Uint32(raw[j:])))
					}
				} else {
					mustJSON(t, string(d.Embedding), &vec)
				}
				if d.Index != i || d.Object != "embedding" || len(vec) != tc.dims {
					t.Fatalf("item %d: index %d, %d dims", i, d.Index, len(vec))
				}
				norm := 0.0
				for _, f := range vec {
					norm += float64(f) * float64(f)
				}
				if math.Abs(norm-1) > 1e-3 {
					t.Errorf("norm %g", norm)
				}
			}
		})
	}
	// The same input embeds the same way, in either encoding.
	_, a := post(t, ts, "/v1/embeddings", `{"model":"embed","input":"same"}`)
	_, b := post(t, ts, "/v1/embeddings", `{"model":"embed","input":["same"]}`)
	if string(a) != string(b) {
		t.Errorf("same input, different vectors:\n%s\n%s", a, b)
	}
}

func TestModels(t *testing.T) {
	_, ts := newTest(t, testConfig())
	resp, body := get(t, ts, "/v1/models")
	var oa struct {
		Object string `json:"object"`
		Data   []struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	mustJSON(t, string(body), &oa)
	if resp.StatusCode != 200 || oa.Object != "list" || len(oa.Data) != len(testConfig().Models) || oa.Data[0].Object != "model" || oa.Data[0].Created == 0 || oa.Data[0].OwnedBy == "" {
		t.Errorf("openai list %s", body)
	}
	_, body = get(t, ts, "/v1/models", "anthropic-version", "2023-06-01")
	var an struct {
		Data []struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
			CreatedAt   string `json:"created_at"`
		} `json:"data"`
		HasMore *bool  `json:"has_more"`
		FirstID string `json:"first_id"`
		LastID  string `json:"last_id"`
	}
	mustJSON(t, string(body), &an)
	if len(an.Data) != len(testConfig().Models) || an.Data[0].Type != "model" || an.HasMore == nil || an.FirstID != an.Data[0].ID || an.LastID != an.Data[len(an.Data)-1].ID || an.Data[0].CreatedAt == "" {
		t.Errorf("anthropic list %s", body)
	}
	resp, body = get(t, ts, "/v1/models/plain")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"plain"`) {
		t.Errorf("get model: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, ts, "/v1/models/nope", "x-api-key", "k")
	if resp.StatusCode != 404 || !strings.Contains(string(body), "not_found_error") {
		t.Errorf("get unknown model: %d %s", resp.StatusCode, body)
	}
	if got := displayName("claude-sonnet-4-5"); got != "Claude Sonnet 4.5" {
		t.Errorf("display name %q", got)
	}
}

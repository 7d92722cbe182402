package mock

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const anthropicWeather = `"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"]}},{"name":"noop","input_schema":{"type":"object"}}]`

type messagesWant struct {
	blocks     []string // content block types
	words      int      // text words
	thinking   int      // thinking words
	stop       string
	output     int
	input      int // 0: don't check
	cacheRead  int
	cacheWrite int
	write1h    int
	tool       string
	toolKeys   []string
	noUsage    bool
	model      string
}

var messagesCases = []struct {
	name string
	body string
	want messagesWant
}{
	{"plain", `{"model":"plain","max_tokens":100,"messages":[{"role":"user","content":"hello there"}]}`,
		messagesWant{blocks: []string{"text"}, words: 7, stop: "end_turn", output: 7, input: 3 + 3 + 3, model: "plain"}},
	{"system and blocks", `{"model":"plain","max_tokens":100,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":[{"type":"text","text":"abcd"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]}`,
		messagesWant{blocks: []string{"text"}, words: 7, stop: "end_turn", output: 7, input: 3 + (3 + 3) + (3 + 1 + 85)}},
	{"max_tokens truncates", `{"model":"plain","max_tokens":4,"messages":[{"role":"user","content":"x"}]}`,
		messagesWant{blocks: []string{"text"}, words: 4, stop: "max_tokens", output: 4}},
	{"thinking visible", `{"model":"visible","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"x"}]}`,
		messagesWant{blocks: []string{"thinking", "text"}, words: 4, thinking: 3, stop: "end_turn", output: 7}},
	{"thinking hidden", `{"model":"hidden","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"x"}]}`,
		messagesWant{blocks: []string{"thinking", "text"}, words: 4, stop: "end_turn", output: 10}},
	{"no thinking without the request", `{"model":"visible","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`,
		messagesWant{blocks: []string{"text"}, words: 4, stop: "end_turn", output: 4}},
	{"tool use", `{"model":"tools","max_tokens":100,"messages":[{"role":"user","content":"weather?"}],` + anthropicWeather + `}`,
		messagesWant{blocks: []string{"tool_use"}, stop: "tool_use", tool: "get_weather", toolKeys: []string{"city", "days"}}},
	{"tool_choice tool", `{"model":"plain","max_tokens":100,"tool_choice":{"type":"tool","name":"noop"},"messages":[{"role":"user","content":"x"}],` + anthropicWeather + `}`,
		messagesWant{blocks: []string{"tool_use"}, stop: "tool_use", tool: "noop", output: 1}},
	{"tool_choice none", `{"model":"tools","max_tokens":100,"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"x"}],` + anthropicWeather + `}`,
		messagesWant{blocks: []string{"text"}, words: 5, stop: "end_turn", output: 5}},
	{"cache", `{"model":"cached","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`,
		messagesWant{blocks: []string{"text"}, words: 3, stop: "end_turn", output: 3, input: 40, cacheRead: 100, cacheWrite: 50, write1h: 20, model: "cached-2026"}},
	{"usage never", `{"model":"quiet","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`,
		messagesWant{blocks: []string{"text"}, words: 5, stop: "end_turn", noUsage: true}},
}

func TestMessagesNonStream(t *testing.T) {
	_, ts := newTest(t, testConfig())
	for _, tc := range messagesCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, ts, "/v1/messages", tc.body, "anthropic-version", "2023-06-01")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if !strings.HasPrefix(resp.Header.Get("request-id"), "req_") {
				t.Errorf("request-id %q", resp.Header.Get("request-id"))
			}
			var m anMessage
			mustJSON(t, string(body), &m)
			w := tc.want
			if m.Type != "message" || m.Role != "assistant" || !strings.HasPrefix(m.ID, "msg_") || m.StopReason == nil || *m.StopReason != w.stop || !strings.Contains(string(body), `"stop_sequence":null`) {
				t.Errorf("envelope %s", body)
			}
			if w.model != "" && m.Model != w.model {
				t.Errorf("model %q, want %q", m.Model, w.model)
			}
			var types []string
			for _, b := range m.Content {
				types = append(types, b.Type)
				switch b.Type {
				case "text":
					if n := len(strings.Fields(*b.Text)); n != w.words {
						t.Errorf("text %q: %d words, want %d", *b.Text, n, w.words)
					}
				case "thinking":
					if b.Signature == nil || *b.Signature == "" || b.Thinking == nil {
						t.Errorf("thinking block %+v", b)
					} else if n := len(strings.Fields(*b.Thinking)); n != w.thinking {
						t.Errorf("thinking %q: %d words, want %d", *b.Thinking, n, w.thinking)
					}
				case "tool_use":
					if b.Name != w.tool || !strings.HasPrefix(b.ID, "toolu_") {
						t.Errorf("tool_use %+v", b)
					}
					checkKeys(t, string(b.Input), w.toolKeys)
					if w.output == 0 {
						w.output = len(argFragments(string(b.Input)))
					}
				}
			}
			if diff := cmp.Diff(w.blocks, types); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
			if w.noUsage {
				if m.Usage != nil {
					t.Errorf("usage %+v, want none", m.Usage)
				}
				return
			}
			checkAnthropicUsage(t, m.Usage, w, true)
		})
	}
}

func checkAnthropicUsage(t *testing.T, u *anUsage, w messagesWant, full bool) {
	t.Helper()
	if u == nil {
		t.Fatal("no usage")
	}
	if deref(u.OutputTokens) != w.output {
		t.Errorf("output_tokens %d, want %d", deref(u.OutputTokens), w.output)
	}
	if w.input != 0 && deref(u.InputTokens) != w.input {
		t.Errorf("input_tokens %d, want %d", deref(u.InputTokens), w.input)
	}
	if deref(u.CacheReadInputTokens) != w.cacheRead || deref(u.CacheCreationInputTokens) != w.cacheWrite {
		t.Errorf("cache read %d write %d, want %d %d", deref(u.CacheReadInputTokens), deref(u.CacheCreationInputTokens), w.cacheRead, w.cacheWrite)
	}
	if full && (u.CacheCreation == nil || u.CacheCreation.Ephemeral1h != w.write1h || u.CacheCreation.Ephemeral5m != w.cacheWrite-w.write1h) {
		t.Errorf("cache_creation %+v", u.CacheCreation)
	}
}

func TestMessagesStream(t *testing.T) {
	_, ts := newTest(t, testConfig())
	for _, tc := range messagesCases {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(tc.body, "{", `{"stream":true,`, 1)
			resp, raw := post(t, ts, "/v1/messages", body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			w := tc.want
			evs := events(t, raw)
			// State machine over the documented event order.
			state := "start"
			var (
				types         []string
				open          = -1
				text, think   string
				args          string
				tokens        int // text, thinking and argument deltas
				signatures    int
				pings         int
				startUsage    *anUsage
				finalUsage    *anUsage
				stop          string
				blockTypes    = map[int]string{}
				toolName      string
				thinkingDelta bool
			)
			for _, e := range evs {
				var ev anEvent
				mustJSON(t, e.Data, &ev)
				if ev.Type != e.Type {
					t.Fatalf("event %q carries type %q", e.Type, ev.Type)
				}
				switch e.Type {
				case "message_start":
					if state != "start" || ev.Message == nil || len(ev.Message.Content) != 0 || ev.Message.StopReason != nil {
						t.Fatalf("message_start in %s: %s", state, e.Data)
					}
					startUsage = ev.Message.Usage
					state = "message"
				case "ping":
					pings++
				case "content_block_start":
					if state != "message" || open != -1 || ev.Index == nil || *ev.Index != len(types) {
						t.Fatalf("content_block_start in %s: %s", state, e.Data)
					}
					open = *ev.Index
					types = append(types, ev.ContentBlock.Type)
					blockTypes[open] = ev.ContentBlock.Type
					if ev.ContentBlock.Type == "tool_use" {
						toolName = ev.ContentBlock.Name
						if string(ev.ContentBlock.Input) != "{}" {
							t.Errorf("tool_use start input %s", ev.ContentBlock.Input)
						}
					}
				case "content_block_delta":
					if open == -1 || *ev.Index != open {
						t.Fatalf("delta outside its block: %s", e.Data)
					}
					d := ev.Delta
					want := map[string]string{"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "thinking", "input_json_delta": "tool_use"}[d.Type]
					if want != blockTypes[open] {
						t.Fatalf("%s in a %s block", d.Type, blockTypes[open])
					}
					switch d.Type {
					case "text_delta":
						text += d.Text
						tokens++
					case "thinking_delta":
						think += d.Thinking
						tokens++
						thinkingDelta = true
						if signatures > 0 {
							t.Error("thinking after signature")
						}
					case "signature_delta":
						signatures++
					case "input_json_delta":
						args += d.PartialJSON
						tokens++
					}
				case "content_block_stop":
					if open == -1 || *ev.Index != open {
						t.Fatalf("stop of a block not open: %s", e.Data)
					}
					if blockTypes[open] == "thinking" && signatures != 1 {
						t.Errorf("thinking block with %d signatures", signatures)
					}
					open = -1
				case "message_delta":
					if open != -1 || state != "message" || ev.Delta.StopReason == nil || ev.Delta.StopSequence != nil {
						t.Fatalf("message_delta in %s: %s", state, e.Data)
					}
					stop = *ev.Delta.StopReason
					finalUsage = ev.Usage
					state = "delta"
				case "message_stop":
					if state != "delta" {
						t.Fatalf("message_stop in %s", state)
					}
					state = "stopped"
				default:
					t.Fatalf("unexpected event %q", e.Type)
				}
			}
			if state != "stopped" || pings != 1 {
				t.Fatalf("ended in state %s with %d pings", state, pings)
			}
			if diff := cmp.Diff(w.blocks, types); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
			if stop != w.stop {
				t.Errorf("stop_reason %q, want %q", stop, w.stop)
			}
			if n := len(strings.Fields(text)); n != w.words {
				t.Errorf("text %q: %d words, want %d", text, n, w.words)
			}
			if n := len(strings.Fields(think)); n != w.thinking {
				t.Errorf("thinking %q: %d words, want %d", think, n, w.thinking)
			}
			if w.tool != "" {
				if toolName != w.tool {
					t.Errorf("tool %q, want %q", toolName, w.tool)
				}
				checkKeys(t, args, w.toolKeys)
				if w.output == 0 {
					w.output = tokens
				}
			}
			if w.noUsage {
				if startUsage != nil || finalUsage != nil {
					t.Errorf("usage sent: %+v %+v", startUsage, finalUsage)
				}
				return
			}
			checkAnthropicUsage(t, startUsage, messagesWant{output: 1, input: w.input, cacheRead: w.cacheRead, cacheWrite: w.cacheWrite, write1h: w.write1h}, true)
			checkAnthropicUsage(t, finalUsage, w, false)
			// Usage matches the stream: one token per delta, plus hidden thinking.
			hidden := 0
			if !thinkingDelta && signatures > 0 {
				hidden = w.output - tokens
			}
			if got := tokens + hidden; deref(finalUsage.OutputTokens) != got || (signatures == 0 && hidden != 0) {
				t.Errorf("output_tokens %d, stream shows %d", deref(finalUsage.OutputTokens), got)
			}
		})
	}
}

func TestCountTokens(t *testing.T) {
	_, ts := newTest(t, testConfig())
	resp, body := post(t, ts, "/v1/messages/count_tokens", `{"model":"plain","messages":[{"role":"user","content":"hello there"}]}`)
	var out struct {
		InputTokens int `json:"input_tokens"`
	}
	mustJSON(t, string(body), &out)
	if resp.StatusCode != 200 || out.InputTokens != 9 {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	// The same count as a real request reports.
	_, body = post(t, ts, "/v1/messages", `{"model":"plain","max_tokens":5,"messages":[{"role":"user","content":"hello there"}]}`)
	var m anMessage
	mustJSON(t, string(body), &m)
	if deref(m.Usage.InputTokens) != out.InputTokens {
		t.Errorf("messages says %d input tokens, count_tokens %d", deref(m.Usage.InputTokens), out.InputTokens)
	}
}

func TestMessagesJSONValid(t *testing.T) {
	// Tool names and schemas come from the caller; whatever they hold, the
	// answer must stay valid JSON.
	_, ts := newTest(t, testConfig())
	body := `{"model":"tools","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"q\"\\\n\u2028<>","input_schema":{"type":"object","properties":{"k\"\u0001":{"const":"v\"\n"}},"required":["k\"\u0001"]}}]}`
	_, raw := post(t, ts, "/v1/messages", body)
	var args string
	for _, e := range events(t, raw) {
		if !json.Valid([]byte(e.Data)) {
			t.Fatalf("invalid JSON %q", e.Data)
		}
		var ev anEvent
		mustJSON(t, e.Data, &ev)
		if ev.Delta != nil {
			args += ev.Delta.PartialJSON
		}
		if ev.ContentBlock != nil && ev.ContentBlock.Name != "q\"\\\n\u2028<>" {
			t.Errorf("tool name %q", ev.ContentBlock.Name)
		}
	}
	checkKeys(t, args, []string{"k\"\u0001"})
}

package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Tests of the behaviour knobs that drift tests switch: output length
// jitter, refusals and broken JSON.

// reply is one answer as a client of any protocol sees it.
type reply struct {
	status      int
	text        string // the content text
	refusal     string // OpenAI's refusal field
	nullContent bool   // OpenAI: content was null
	stop        string // finish or stop reason
	tokens      int    // output tokens reported (reasoning excluded)
	chunks      int    // content or refusal chunks streamed
	tool        bool   // a tool or function call came
}

// protocol is one wire format: a path for the model and a way to read the
// answer.
type protocol struct {
	name string
	path func(model string, stream bool) string
	body func(model, extra string, stream bool) string
	read func(t *testing.T, raw []byte, stream bool) reply
	// tools is the request part offering one tool, f, or forcing a call.
	tools func(forced bool) string
	stop  string // the finish reason of a complete answer
	// json is the request part asking for a JSON object, or for JSON of a
	// schema; "" when the protocol has no such mode.
	json   func(schema string) string
	stream bool
}

const toolSchema = `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`

func openAITools(forced bool) string {
	s := `,"tools":[{"type":"function","function":{"name":"f","parameters":` + toolSchema + `}}]`
	if forced {
		s += `,"tool_choice":"required"`
	}
	return s
}

func openAIJSON(schema string) string {
	if schema == "" {
		return `,"response_format":{"type":"json_object"}`
	}
	return `,"response_format":{"type":"json_schema","json_schema":{"name":"s","strict":true,"schema":` + schema + `}}`
}

func geminiJSON(schema string) string {
	if schema == "" {
		return `,"generationConfig":{"responseMimeType":"application/json"}`
	}
	return `,"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":` + schema + `}`
}

func geminiTools(forced bool) string {
	s := `,"tools":[{"functionDeclarations":[{"name":"f","parametersJsonSchema":` + toolSchema + `}]}]`
	if forced {
		s += `,"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}`
	}
	return s
}

var (
	openAIChat = protocol{
		name: "openai",
		path: func(string, bool) string { return "/v1/chat/completions" },
		body: func(model, extra string, stream bool) string {
			return fmt.Sprintf(`{"model":%q,"stream":%t%s,"messages":[{"role":"user","content":"hi"}]%s}`, model, stream, includeUsage(stream), extra)
		},
		read: readOpenAI, tools: openAITools, json: openAIJSON, stop: "stop",
	}
	azureChat = protocol{
		name: "azure",
		path: func(model string, _ bool) string {
			return "/openai/deployments/" + model + "/chat/completions?api-version=2024-10-21"
		},
		body: func(_, extra string, stream bool) string {
			return fmt.Sprintf(`{"stream":%t%s,"messages":[{"role":"user","content":"hi"}]%s}`, stream, includeUsage(stream), extra)
		},
		read: readOpenAI, tools: openAITools, json: openAIJSON, stop: "stop",
	}
	anthropicMessages = protocol{
		name: "anthropic",
		path: func(string, bool) string { return "/v1/messages" },
		body: func(model, extra string, stream bool) string {
			return fmt.Sprintf(`{"model":%q,"max_tokens":1000,"stream":%t,"messages":[{"role":"user","content":"hi"}]%s}`, model, stream, extra)
		},
		read: readAnthropic, stop: "end_turn",
		tools: func(forced bool) string {
			s := `,"tools":[{"name":"f","input_schema":` + toolSchema + `}]`
			if forced {
				s += `,"tool_choice":{"type":"any"}`
			}
			return s
		},
	}
	geminiGenerate = protocol{
		name: "gemini",
		path: func(model string, stream bool) string {
			if stream {
				return gemPath + model + ":streamGenerateContent?alt=sse"
			}
			return gemPath + model + ":generateContent"
		},
		body: func(_, extra string, _ bool) string {
			return `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]` + extra + `}`
		},
		read: readGemini, tools: geminiTools, json: geminiJSON, stop: "STOP",
	}
	vertexGenerate = protocol{
		name: "vertex",
		path: func(model string, stream bool) string {
			if stream {
				return vertexPath + model + ":streamGenerateContent?alt=sse"
			}
			return vertexPath + model + ":generateContent"
		},
		body: geminiGenerate.body,
		read: readGemini, tools: geminiTools, json: geminiJSON, stop: "STOP",
	}
	bedrockConverse = protocol{
		name: "bedrock",
		path: func(model string, stream bool) string {
			if stream {
				return "/model/" + model + "/converse-stream"
			}
			return "/model/" + model + "/converse"
		},
		body: func(_, extra string, _ bool) string {
			return `{"messages":[{"role":"user","content":[{"text":"hi"}]}]` + extra + `}`
		},
		read: readBedrock, stop: "end_turn",
		tools: func(forced bool) string {
			choice := ""
			if forced {
				choice = `,"toolChoice":{"any":{}}`
			}
			return `,"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":` + toolSchema + `}}}]` + choice + `}`
		},
	}
)

// protocols is every chat protocol, streamed and not.
func protocols() []protocol {
	var out []protocol
	for _, p := range []protocol{openAIChat, azureChat, anthropicMessages, geminiGenerate, vertexGenerate, bedrockConverse} {
		for _, stream := range []bool{false, true} {
			q := p
			q.stream = stream
			if stream {
				q.name += "/stream"
			}
			out = append(out, q)
		}
	}
	return out
}

// call sends one request of protocol pr for model and reads the answer.
func (pr protocol) call(t *testing.T, ts *httptest.Server, model, extra string) reply {
	t.Helper()
	resp, raw := post(t, ts, pr.path(model, pr.stream), pr.body(model, extra, pr.stream))
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d: %s", pr.name, resp.StatusCode, raw)
	}
	r := pr.read(t, raw, pr.stream)
	r.status = resp.StatusCode
	return r
}

func includeUsage(stream bool) string {
	if stream {
		return `,"stream_options":{"include_usage":true}`
	}
	return ""
}

func readOpenAI(t *testing.T, raw []byte, stream bool) reply {
	t.Helper()
	var r reply
	if !stream {
		var c oaCompletion
		mustJSON(t, string(raw), &c)
		if len(c.Choices) != 1 {
			t.Fatalf("%d choices: %s", len(c.Choices), raw)
		}
		m := c.Choices[0].Message
		r.nullContent = m.Content == nil
		if m.Content != nil {
			r.text = *m.Content
		}
		if m.Refusal != nil {
			r.refusal = *m.Refusal
		}
		r.tool = len(m.ToolCalls) > 0
		r.stop = c.Choices[0].FinishReason
		r.tokens = c.Usage.CompletionTokens - c.Usage.CompletionTokensDetails.ReasoningTokens
		return r
	}
	first := true
	for _, e := range events(t, raw) {
		if e.Data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content   *string           `json:"content"`
					Refusal   *string           `json:"refusal"`
					ToolCalls []json.RawMessage `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *oaUsage `json:"usage"`
		}
		mustJSON(t, e.Data, &c)
		if u := c.Usage; u != nil {
			r.tokens = u.CompletionTokens - u.CompletionTokensDetails.ReasoningTokens
		}
		for _, ch := range c.Choices {
			d := ch.Delta
			if first {
				first = false
				r.nullContent = d.Content == nil
			}
			if d.Content != nil && *d.Content != "" {
				r.text += *d.Content
				r.chunks++
			}
			if d.Refusal != nil && *d.Refusal != "" {
				r.refusal += *d.Refusal
				r.chunks++
			}
			if len(d.ToolCalls) > 0 {
				r.tool = true
			}
			if ch.FinishReason != nil {
				r.stop = *ch.FinishReason
			}
		}
	}
	return r
}

func readAnthropic(t *testing.T, raw []byte, stream bool) reply {
	t.Helper()
	var r reply
	if !stream {
		var m anMessage
		mustJSON(t, string(raw), &m)
		for _, b := range m.Content {
			switch b.Type {
			case "text":
				r.text += *b.Text
			case "tool_use":
				r.tool = true
			}
		}
		if m.StopReason != nil {
			r.stop = *m.StopReason
		}
		r.tokens = deref(m.Usage.OutputTokens)
		return r
	}
	for _, e := range events(t, raw) {
		var ev anEvent
		mustJSON(t, e.Data, &ev)
		switch ev.Type {
		case "content_block_start":
			if ev.ContentBlock.Type == "tool_use" {
				r.tool = true
			}
		case "content_block_delta":
			if ev.Delta.Type == "text_delta" {
				r.text += ev.Delta.Text
				r.chunks++
			}
		case "message_delta":
			r.stop = *ev.Delta.StopReason
			r.tokens = deref(ev.Usage.OutputTokens)
		}
	}
	return r
}

func readGemini(t *testing.T, raw []byte, stream bool) reply {
	t.Helper()
	var r reply
	read := func(data string) {
		var g gemResp
		mustJSON(t, data, &g)
		c := g.Candidates[0]
		for _, p := range c.Content.Parts {
			if p.FunctionCall != nil {
				r.tool = true
			} else if p.Text != "" && !p.Thought {
				r.text += p.Text
				r.chunks++
			}
		}
		if c.FinishReason != "" {
			r.stop = c.FinishReason
			r.tokens = g.UsageMetadata.CandidatesTokenCount
		}
	}
	if !stream {
		read(string(raw))
		r.chunks = 0
		return r
	}
	for _, e := range events(t, raw) {
		read(e.Data)
	}
	return r
}

func readBedrock(t *testing.T, raw []byte, stream bool) reply {
	t.Helper()
	var r reply
	if !stream {
		var c struct {
			Output struct {
				Message struct {
					Content []struct {
						Text    *string          `json:"text"`
						ToolUse *json.RawMessage `json:"toolUse"`
					} `json:"content"`
				} `json:"message"`
			} `json:"output"`
			StopReason string `json:"stopReason"`
			Usage      struct {
				OutputTokens int `json:"outputTokens"`
			} `json:"usage"`
		}
		mustJSON(t, string(raw), &c)
		for _, b := range c.Output.Message.Content {
			if b.Text != nil {
				r.text += *b.Text
			}
			if b.ToolUse != nil {
				r.tool = true
			}
		}
		r.stop, r.tokens = c.StopReason, c.Usage.OutputTokens
		return r
	}
	dec := eventstream.NewDecoder()
	rd := bytes.NewReader(raw)
	for {
		msg, err := dec.Decode(rd, nil)
		if errors.Is(err, io.EOF) {
			return r
		}
		if err != nil {
			t.Fatalf("decode event stream: %v", err)
		}
		var ev struct {
			Start *struct {
				ToolUse *json.RawMessage `json:"toolUse"`
			} `json:"start"`
			Delta *struct {
				Text *string `json:"text"`
			} `json:"delta"`
			StopReason string `json:"stopReason"`
			Usage      *struct {
				OutputTokens int `json:"outputTokens"`
			} `json:"usage"`
		}
		mustJSON(t, string(msg.Payload), &ev)
		if ev.Start != nil && ev.Start.ToolUse != nil {
			r.tool = true
		}
		if ev.Delta != nil && ev.Delta.Text != nil {
			r.text += *ev.Delta.Text
			r.chunks++
		}
		if ev.StopReason != "" {
			r.stop = ev.StopReason
		}
		if ev.Usage != nil {
			r.tokens = ev.Usage.OutputTokens
		}
	}
}

// driftConfig is the models of the behaviour tests.
func driftConfig() Config {
	return Config{Seed: 9, Models: map[string]Profile{
		"refuse":      {OutputTokens: 6, RefusalRate: 1, ToolCalls: true},
		"refuse-stop": {OutputTokens: 6, RefusalRate: 1, RefusalStopReason: true, RefusalText: "No, I will not."},
		"broken":      {OutputTokens: 6, InvalidJSONRate: 1},
		"plain":       {OutputTokens: 6},
		"jitter":      {OutputTokens: 20, OutputTokensJitter: 5, ToolCalls: true},
	}}
}

// serve answers one request without a network round trip.
func serve(t testing.TB, s *Server, path, body string) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// checkReply compares the parts of an answer that the knobs decide.
func checkReply(t *testing.T, what string, pr protocol, r reply, text string, tokens int, stop string) {
	t.Helper()
	if r.text != text || r.tokens != tokens || r.stop != stop || r.tool || r.refusal != "" {
		t.Errorf("%s: got text %q, %d tokens, stop %q, tool %t, refusal %q; want %q, %d tokens, stop %q",
			what, r.text, r.tokens, r.stop, r.tool, r.refusal, text, tokens, stop)
	}
	if pr.stream && r.chunks != tokens {
		t.Errorf("%s: %d chunks for %d tokens", what, r.chunks, tokens)
	}
}

func TestRefusal(t *testing.T) {
	_, ts := newTest(t, driftConfig())
	const defaultTokens = 8 // "I'm", " sorry,", " but", " I", " can't", " help", " with", " that."
	for _, pr := range protocols() {
		t.Run(pr.name, func(t *testing.T) {
			r := pr.call(t, ts, "refuse", "")
			checkReply(t, "refusal", pr, r, DefaultRefusalText, defaultTokens, pr.stop)

			// Tools offered: the model refuses instead of calling one.
			r = pr.call(t, ts, "refuse", pr.tools(false))
			checkReply(t, "refusal with tools", pr, r, DefaultRefusalText, defaultTokens, pr.stop)

			// A forced call is answered normally.
			r = pr.call(t, ts, "refuse", pr.tools(true))
			if !r.tool || r.text != "" || r.refusal != "" {
				t.Errorf("forced call: tool %t, text %q, refusal %q", r.tool, r.text, r.refusal)
			}

			// refusal_stop_reason changes the Messages API only.
			stop := pr.stop
			if strings.HasPrefix(pr.name, "anthropic") {
				stop = "refusal"
			}
			r = pr.call(t, ts, "refuse-stop", "")
			checkReply(t, "refusal_text", pr, r, "No, I will not.", 4, stop)

			if pr.json == nil {
				return
			}
			// Structured outputs: OpenAI puts the refusal in its own field.
			r = pr.call(t, ts, "refuse", pr.json(toolSchema))
			if strings.HasPrefix(pr.name, "gemini") || strings.HasPrefix(pr.name, "vertex") {
				checkReply(t, "refusal of a schema", pr, r, DefaultRefusalText, defaultTokens, pr.stop)
				return
			}
			if !r.nullContent || r.text != "" || r.refusal != DefaultRefusalText || r.tokens != defaultTokens || r.stop != "stop" {
				t.Errorf("structured refusal: %+v", r)
			}
			if pr.stream && r.chunks != defaultTokens {
				t.Errorf("structured refusal: %d chunks", r.chunks)
			}
			// json_object is not structured outputs: the refusal is content.
			r = pr.call(t, ts, "refuse", pr.json(""))
			checkReply(t, "refusal of json_object", pr, r, DefaultRefusalText, defaultTokens, pr.stop)
		})
	}
}

func TestRefusalMaxTokens(t *testing.T) {
	// max_tokens cuts a refusal like any answer, and its stop reason wins.
	_, ts := newTest(t, driftConfig())
	for _, stream := range []bool{false, true} {
		_, raw := post(t, ts, "/v1/messages", fmt.Sprintf(`{"model":"refuse-stop","max_tokens":3,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream))
		r := readAnthropic(t, raw, stream)
		if r.text != "No, I will" || r.tokens != 3 || r.stop != "max_tokens" {
			t.Errorf("stream %t: %+v", stream, r)
		}
	}
}

func TestRefusalText(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{DefaultRefusalText, []string{"I'm", " sorry,", " but", " I", " can't", " help", " with", " that."}},
		{"No.", []string{"No."}},
		{"Non, merci  beaucoup\nà vous", []string{"Non,", " merci", "  beaucoup", "\nà", " vous"}},
		{" lead", []string{" lead"}},
	} {
		got := splitWords(tc.text)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("splitWords(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestInvalidJSON(t *testing.T) {
	_, ts := newTest(t, driftConfig())
	for _, pr := range protocols() {
		if pr.json == nil {
			continue
		}
		t.Run(pr.name, func(t *testing.T) {
			for _, schema := range []string{"", toolSchema} {
				good := pr.call(t, ts, "plain", pr.json(schema))
				bad := pr.call(t, ts, "broken", pr.json(schema))
				if !json.Valid([]byte(good.text)) {
					t.Errorf("schema %q: plain model answered invalid JSON %q", schema, good.text)
				}
				if json.Valid([]byte(bad.text)) || bad.text == "" {
					t.Errorf("schema %q: broken model answered valid JSON %q", schema, bad.text)
				}
				if bad.stop != pr.stop || (pr.stream && bad.chunks != bad.tokens) {
					t.Errorf("schema %q: stop %q, %d chunks for %d tokens", schema, bad.stop, bad.chunks, bad.tokens)
				}
			}
			// Plain text requests are not touched.
			r := pr.call(t, ts, "broken", "")
			if r.tokens != 6 || strings.Count(r.text, " ") != 5 {
				t.Errorf("text answer of the broken model: %+v", r)
			}
		})
	}
}

func TestBreakJSON(t *testing.T) {
	for doc, want := range map[string]string{
		`{"answer":"Stone river"}`: `{"answer":"Stone river"`,
		`{}`:                       `{`,
		`"words"`:                  `"words`,
		`[1,2]`:                    `[1,2`,
		`42`:                       ``, // "4" still parses
		`true`:                     `tru`,
	} {
		if got := string(breakJSON([]byte(doc))); got != want {
			t.Errorf("breakJSON(%s) = %q, want %q", doc, got, want)
		}
	}
}

// rate counts the answers for which hit holds, over n requests.
func rate(t *testing.T, s *Server, n int, path, body string, read func(t *testing.T, raw []byte, stream bool) reply, hit func(reply) bool) float64 {
	t.Helper()
	k := 0
	for range n {
		if hit(read(t, serve(t, s, path, body), false)) {
			k++
		}
	}
	return float64(k) / float64(n)
}

func TestBehaviourRates(t *testing.T) {
	const n = 2000
	s := New(Config{Seed: 5, Models: map[string]Profile{
		"r": {OutputTokens: 5, RefusalRate: 0.1},
		"j": {OutputTokens: 5, InvalidJSONRate: 0.3},
		"b": {OutputTokens: 5, RefusalRate: 0.2, InvalidJSONRate: 0.5},
	}}, nil)
	defer s.Close()
	refused := func(r reply) bool { return r.text == DefaultRefusalText || r.refusal == DefaultRefusalText }
	invalid := func(r reply) bool { return !r.nullContent && !json.Valid([]byte(r.text)) }
	for _, tc := range []struct {
		name  string
		path  string
		body  string
		read  func(t *testing.T, raw []byte, stream bool) reply
		hit   func(reply) bool
		want  float64
		slack float64 // about four standard deviations
	}{
		{"refusal openai", "/v1/chat/completions", `{"model":"r","messages":[{"role":"user","content":"x"}]}`, readOpenAI, refused, 0.1, 0.03},
		{"refusal anthropic", "/v1/messages", `{"model":"r","max_tokens":50,"messages":[{"role":"user","content":"x"}]}`, readAnthropic, refused, 0.1, 0.03},
		{"invalid json_object", "/v1/chat/completions", `{"model":"j","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`, readOpenAI, invalid, 0.3, 0.045},
		{"invalid gemini", gemPath + "j:generateContent", `{"contents":[{"parts":[{"text":"x"}]}]` + geminiJSON(toolSchema) + `}`, readGemini, invalid, 0.3, 0.045},
		// A refusal is not JSON either: 0.2 + 0.8 × 0.5 of json_object
		// answers are invalid; json_schema refusals have null content.
		{"both json_object", "/v1/chat/completions", `{"model":"b","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`, readOpenAI, invalid, 0.6, 0.045},
		{"both json_schema refusals", "/v1/chat/completions", `{"model":"b","messages":[{"role":"user","content":"x"}]` + openAIJSON(toolSchema) + `}`, readOpenAI, refused, 0.2, 0.036},
	} {
		if got := rate(t, s, n, tc.path, tc.body, tc.read, tc.hit); math.Abs(got-tc.want) > tc.slack {
			t.Errorf("%s: rate %.3f over %d requests, want %.2f ± %.3f", tc.name, got, n, tc.want, tc.slack)
		}
	}
}

// lengths returns the content token counts of n identical requests.
func lengths(t *testing.T, s *Server, model string, n int) []int {
	t.Helper()
	out := make([]int, n)
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"same"}]}`
	for i := range out {
		r := readOpenAI(t, serve(t, s, "/v1/chat/completions", body), false)
		if words := len(strings.Fields(r.text)); words != r.tokens {
			t.Fatalf("%d words, usage says %d", words, r.tokens)
		}
		out[i] = r.tokens
	}
	return out
}

func TestOutputTokensJitter(t *testing.T) {
	cfg := driftConfig()
	s := New(cfg, nil)
	defer s.Close()
	const n = 2000
	seen := map[int]int{}
	sum := 0
	for _, k := range lengths(t, s, "jitter", n) {
		seen[k]++
		sum += k
	}
	for k := range seen {
		if k < 15 || k > 25 {
			t.Errorf("length %d outside [15, 25]", k)
		}
	}
	if len(seen) != 11 {
		t.Errorf("%d distinct lengths, want all 11 of [15, 25]: %v", len(seen), seen)
	}
	// The mean of 11 uniform values has a standard error of 0.07 here.
	if mean := float64(sum) / n; math.Abs(mean-20) > 0.3 {
		t.Errorf("mean length %.2f, want 20 ± 0.3", mean)
	}

	// The same seed repeats the sequence; another seed does not.
	first, again := New(cfg, nil), New(cfg, nil)
	defer first.Close()
	defer again.Close()
	cfg.Seed++
	other := New(cfg, nil)
	defer other.Close()
	a, b, c := lengths(t, first, "jitter", 50), lengths(t, again, "jitter", 50), lengths(t, other, "jitter", 50)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("seed %d gave %v, then %v", driftConfig().Seed, a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Errorf("seeds %d and %d gave the same lengths %v", driftConfig().Seed, cfg.Seed, a)
	}

	// Never below 1 when the profile answers; an empty-answer profile
	// stays at 0 or above.
	small := New(Config{Seed: 1, Models: map[string]Profile{
		"two":  {OutputTokens: 2, OutputTokensJitter: 5},
		"zero": {OutputTokensJitter: 3},
	}}, nil)
	defer small.Close()
	for model, lo := range map[string]int{"two": 1, "zero": 0} {
		got := map[int]bool{}
		for _, k := range lengths(t, small, model, 300) {
			got[k] = true
			if k < lo {
				t.Errorf("%s: length %d below %d", model, k, lo)
			}
		}
		if !got[lo] || len(got) < 3 {
			t.Errorf("%s: lengths %v", model, got)
		}
	}
}

func TestOutputTokensJitterChoices(t *testing.T) {
	// Each choice draws its own length.
	s := New(driftConfig(), nil)
	defer s.Close()
	differ := false
	for range 20 {
		var c oaCompletion
		mustJSON(t, string(serve(t, s, "/v1/chat/completions", `{"model":"jitter","n":3,"messages":[{"role":"user","content":"x"}]}`)), &c)
		total := 0
		for _, ch := range c.Choices {
			k := len(strings.Fields(*ch.Message.Content))
			total += k
			if k != len(strings.Fields(*c.Choices[0].Message.Content)) {
				differ = true
			}
		}
		if total != c.Usage.CompletionTokens {
			t.Errorf("choices hold %d words, usage says %d", total, c.Usage.CompletionTokens)
		}
	}
	if !differ {
		t.Error("the three choices always had the same length")
	}
}

func TestOutputTokensJitterProtocols(t *testing.T) {
	_, ts := newTest(t, driftConfig())
	for _, pr := range protocols() {
		t.Run(pr.name, func(t *testing.T) {
			seen := map[int]bool{}
			calls := map[int]bool{}
			for range 30 {
				r := pr.call(t, ts, "jitter", "")
				if r.tokens < 15 || r.tokens > 25 || len(strings.Fields(r.text)) != r.tokens || (pr.stream && r.chunks != r.tokens) {
					t.Fatalf("%d tokens, %d chunks, text %q", r.tokens, r.chunks, r.text)
				}
				seen[r.tokens] = true
				// Tool calls keep their length.
				r = pr.call(t, ts, "jitter", pr.tools(true))
				calls[r.tokens] = true
			}
			if len(seen) < 4 {
				t.Errorf("30 answers had only the lengths %v", seen)
			}
			if len(calls) != 1 {
				t.Errorf("tool calls had the lengths %v", calls)
			}
			if pr.json == nil || !pr.stream {
				return
			}
			// JSON answers are cut into the jittered number of pieces.
			pieces := map[int]bool{}
			for range 30 {
				r := pr.call(t, ts, "jitter", pr.json(""))
				if !json.Valid([]byte(r.text)) || r.chunks != r.tokens || r.tokens < 15 || r.tokens > 25 {
					t.Fatalf("JSON answer %q in %d chunks, %d tokens", r.text, r.chunks, r.tokens)
				}
				pieces[r.chunks] = true
			}
			if len(pieces) < 4 {
				t.Errorf("JSON answers in %v pieces", pieces)
			}
		})
	}
}

func TestBehaviourSwitch(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Config{Seed: 11, Models: map[string]Profile{
		"drift": {OutputTokens: 10, RefusalRate: 0.01, SwitchAfter: time.Hour, Switch: &Profile{
			OutputTokens: 10, OutputTokensJitter: 4, RefusalRate: 0.3, InvalidJSONRate: 0.5,
		}},
	}}, nil)
	defer s.Close()
	s.SetClock(clock.Now)
	const n = 1000
	type figures struct {
		refusals, invalid, answers int
		lengths                    map[int]bool
	}
	measure := func() figures {
		f := figures{lengths: map[int]bool{}}
		for range n {
			r := readOpenAI(t, serve(t, s, "/v1/chat/completions", `{"model":"drift","messages":[{"role":"user","content":"x"}]`+openAIJSON(toolSchema)+`}`), false)
			switch {
			case r.refusal != "":
				f.refusals++
			case !json.Valid([]byte(r.text)):
				f.invalid++
				f.answers++
			default:
				f.answers++
			}
			r = readOpenAI(t, serve(t, s, "/v1/chat/completions", `{"model":"drift","messages":[{"role":"user","content":"x"}]}`), false)
			if r.text != DefaultRefusalText {
				f.lengths[r.tokens] = true
			}
		}
		return f
	}
	before := measure()
	if before.refusals > 25 || before.invalid != 0 || len(before.lengths) != 1 || !before.lengths[10] {
		t.Errorf("before the switch: %d refusals, %d invalid, lengths %v", before.refusals, before.invalid, before.lengths)
	}
	clock.Add(time.Hour)
	after := measure()
	if math.Abs(float64(after.refusals)/n-0.3) > 0.06 {
		t.Errorf("after the switch: %d refusals in %d", after.refusals, n)
	}
	if math.Abs(float64(after.invalid)/float64(after.answers)-0.5) > 0.08 {
		t.Errorf("after the switch: %d invalid in %d answers", after.invalid, after.answers)
	}
	if len(after.lengths) != 9 {
		t.Errorf("after the switch: lengths %v, want 6 to 14", after.lengths)
	}
}

func TestBehaviourDrawOrder(t *testing.T) {
	// The failure draw stays the first of a request's draws, and each knob
	// set adds exactly one draw after the others: replaying the generator
	// predicts which requests fail.
	cfg := Config{Seed: 13, Models: map[string]Profile{
		"none":  {OutputTokens: 3, Failures: []Failure{{Status: 503, Rate: 0.4}}},
		"one":   {OutputTokens: 3, Failures: []Failure{{Status: 503, Rate: 0.4}}, RefusalRate: 0.5},
		"three": {OutputTokens: 3, Failures: []Failure{{Status: 503, Rate: 0.4}}, RefusalRate: 0.5, OutputTokensJitter: 2, InvalidJSONRate: 0.5},
	}}
	s := New(cfg, nil)
	defer s.Close()
	for model, extra := range map[string]int{"none": 0, "one": 1, "three": 3} {
		var g rngState
		g.seed(mix(uint64(cfg.Seed) ^ fnv64s(0, model)))
		for i := range 200 {
			fails := unit(g.next()) < 0.4
			for range 3 + extra {
				g.next()
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"x"}]}`)))
			if got := rec.Code == 503; got != fails {
				t.Fatalf("%s: request %d: status %d, predicted failure %t", model, i, rec.Code, fails)
			}
		}
	}
}

func TestParseBehaviourKnobs(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
models:
  m:
    output_tokens: 10
    output_tokens_jitter: 3
    refusal_rate: 0.01
    refusal_text: "Nope."
    refusal_stop_reason: true
    invalid_json_rate: 0.02
    switch_after: 1h
    switch: {output_tokens: 10, output_tokens_jitter: 6, refusal_rate: 0.08, invalid_json_rate: 0.2}
`))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Models["m"]
	if m.OutputTokensJitter != 3 || m.RefusalRate != 0.01 || m.RefusalText != "Nope." || !m.RefusalStopReason || m.InvalidJSONRate != 0.02 ||
		m.Switch.OutputTokensJitter != 6 || m.Switch.RefusalRate != 0.08 || m.Switch.InvalidJSONRate != 0.2 {
		t.Errorf("parsed %+v, switch %+v", m, m.Switch)
	}
	for yaml, want := range map[string]string{
		`{models: {m: {output_tokens_jitter: -1}}}`:                             "models.m.output_tokens_jitter: -1 is negative",
		`{models: {m: {refusal_rate: 1.5}}}`:                                    "models.m.refusal_rate: 1.5 is not between 0 and 1",
		`{models: {m: {invalid_json_rate: -0.1}}}`:                              "models.m.invalid_json_rate: -0.1 is not between 0 and 1",
		`{models: {m: {switch_after: 1m, switch: {refusal_rate: 2}}}}`:          "models.m.switch.refusal_rate: 2 is not between 0 and 1",
		`{models: {m: {switch_after: 1m, switch: {output_tokens_jitter: -2}}}}`: "models.m.switch.output_tokens_jitter: -2 is negative",
		`{models: {m: {refusal_stop_reason: maybe}}}`:                           "cannot unmarshal",
	} {
		if _, err := ParseConfig([]byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", yaml, err, want)
		}
	}
}

func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{DefaultRefusalText, "", " a", "a  b\n\tc ", "é ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := splitWords(s)
		if strings.Join(words, "") != s {
			t.Fatalf("splitWords(%q) = %q loses text", s, words)
		}
		for i, w := range words {
			if w == "" && s != "" {
				t.Fatalf("splitWords(%q): empty word %d", s, i)
			}
			if i > 0 && !isSpace(w[0]) {
				t.Fatalf("splitWords(%q): word %d %q does not start with a space", s, i, w)
			}
		}
	})
}

func FuzzBreakJSON(f *testing.F) {
	for _, s := range []string{`{"answer":"x"}`, `{}`, `[1,{"a":null}]`, `"s"`, `0`, `false`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) {
			return
		}
		got := breakJSON([]byte(doc))
		if json.Valid(got) || !strings.HasPrefix(doc, string(got)) || len(got) >= len(doc) {
			t.Fatalf("breakJSON(%q) = %q", doc, got)
		}
	})
}

package mock

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestErrors(t *testing.T) {
	cfg := testConfig()
	cfg.Models["emb"] = Profile{Type: TypeEmbedding}
	_, ts := newTest(t, cfg)
	tests := []struct {
		name, path, body string
		status           int
		typ              string // error type
		msg              string // part of the message
		param, code      string // OpenAI only
	}{
		{"openai malformed", "/v1/chat/completions", `{"model":`, 400, "invalid_request_error", "could not parse the JSON body", "", ""},
		{"openai no model", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "you must provide a model parameter", "", ""},
		{"openai no messages", "/v1/chat/completions", `{"model":"plain"}`, 400, "invalid_request_error", "Missing required parameter: 'messages'", "messages", "missing_required_parameter"},
		{"openai empty messages", "/v1/chat/completions", `{"model":"plain","messages":[]}`, 400, "invalid_request_error", "empty array", "messages", "empty_array"},
		{"openai bad role", "/v1/chat/completions", `{"model":"plain","messages":[{"role":"robot","content":"x"}]}`, 400, "invalid_request_error", "Invalid value: 'robot'", "messages[0].role", "invalid_value"},
		{"openai no content", "/v1/chat/completions", `{"model":"plain","messages":[{"role":"user"}]}`, 400, "invalid_request_error", "messages[0].content", "messages[0].content", "missing_required_parameter"},
		{"openai wrong type", "/v1/chat/completions", `{"model":"plain","n":"2","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "Invalid type for 'n': expected an integer, but got a string instead.", "n", "invalid_type"},
		{"openai bad content", "/v1/chat/completions", `{"model":"plain","messages":[{"role":"user","content":5}]}`, 400, "invalid_request_error", "messages.content", "messages", "invalid_type"},
		{"openai n zero", "/v1/chat/completions", `{"model":"plain","n":0,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "integer below minimum value", "n", "integer_below_min_value"},
		{"openai max_tokens zero", "/v1/chat/completions", `{"model":"plain","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "Invalid 'max_tokens'", "max_tokens", "integer_below_min_value"},
		{"openai stream_options alone", "/v1/chat/completions", `{"model":"plain","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "only allowed when 'stream' is enabled", "stream_options", "invalid_value"},
		{"openai unknown tool", "/v1/chat/completions", `{"model":"plain","tool_choice":{"type":"function","function":{"name":"nope"}},"messages":[{"role":"user","content":"x"}],` + weatherTools + `}`, 400, "invalid_request_error", "tool 'nope' not found", "tool_choice", "invalid_value"},
		{"openai bad response_format", "/v1/chat/completions", `{"model":"plain","response_format":{"type":"yaml"},"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "Invalid value: 'yaml'", "response_format.type", "invalid_value"},
		{"openai unknown model", "/v1/chat/completions", `{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}`, 404, "invalid_request_error", "The model `gpt-9` does not exist or you do not have access to it.", "", "model_not_found"},
		{"openai chat on embedding model", "/v1/chat/completions", `{"model":"emb","messages":[{"role":"user","content":"x"}]}`, 404, "invalid_request_error", "not a chat model", "model", ""},
		{"openai embeddings on chat model", "/v1/embeddings", `{"model":"plain","input":"x"}`, 400, "invalid_request_error", "does not support embeddings", "model", "invalid_model"},
		{"openai embeddings no input", "/v1/embeddings", `{"model":"emb"}`, 400, "invalid_request_error", "'input' is a required property", "input", "missing_required_parameter"},
		{"openai embeddings empty input", "/v1/embeddings", `{"model":"emb","input":""}`, 400, "invalid_request_error", "'$.input' is invalid", "input", "invalid_value"},
		{"openai embeddings bad format", "/v1/embeddings", `{"model":"emb","input":"x","encoding_format":"hex"}`, 400, "invalid_request_error", "Invalid value: 'hex'", "encoding_format", "invalid_value"},
		{"openai embeddings too many dims", "/v1/embeddings", `{"model":"emb","input":"x","dimensions":4096}`, 400, "invalid_request_error", "greater than 1536", "dimensions", "invalid_value"},
		{"openai bad path", "/v1/completions", `{}`, 404, "invalid_request_error", "Invalid URL (POST /v1/completions)", "", ""},
		{"anthropic malformed", "/v1/messages", `{"model":`, 400, "invalid_request_error", "error parsing the body", "", ""},
		{"anthropic no max_tokens", "/v1/messages", `{"model":"plain","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "max_tokens: Field required", "", ""},
		{"anthropic no messages", "/v1/messages", `{"model":"plain","max_tokens":5}`, 400, "invalid_request_error", "messages: Field required", "", ""},
		{"anthropic no model", "/v1/messages", `{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "model: Field required", "", ""},
		{"anthropic system role", "/v1/messages", `{"model":"plain","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, 400, "invalid_request_error", "messages.0.role: Input should be 'user' or 'assistant'", "", ""},
		{"anthropic wrong type", "/v1/messages", `{"model":"plain","max_tokens":"5","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "max_tokens: Input should be a valid integer", "", ""},
		{"anthropic budget above max", "/v1/messages", `{"model":"plain","max_tokens":1500,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "`max_tokens` must be greater than `thinking.budget_tokens`", "", ""},
		{"anthropic unknown model", "/v1/messages", `{"model":"claude-9","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`, 404, "not_found_error", "model: claude-9", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, ts, tc.path, tc.body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %q, want %d: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, body)
			}
			if strings.HasPrefix(tc.name, "anthropic") {
				checkAnthropicError(t, body, tc.typ, tc.msg)
				if resp.Header.Get("request-id") == "" {
					t.Error("no request-id")
				}
				return
			}
			var e oaError
			mustJSON(t, string(body), &e)
			if e.Error == nil || e.Error.Type != tc.typ || !strings.Contains(e.Error.Message, tc.msg) {
				t.Fatalf("error %s, want type %q message with %q", body, tc.typ, tc.msg)
			}
			if got := strOrEmpty(e.Error.Param); got != tc.param {
				t.Errorf("param %q, want %q", got, tc.param)
			}
			if got := strOrEmpty(e.Error.Code); got != tc.code {
				t.Errorf("code %q, want %q", got, tc.code)
			}
			if !strings.Contains(string(body), `"param":`) || !strings.Contains(string(body), `"code":`) {
				t.Errorf("param and code must be present, null or not: %s", body)
			}
		})
	}
}

func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func checkAnthropicError(t *testing.T, body []byte, typ, msg string) {
	t.Helper()
	var e anEvent
	mustJSON(t, string(body), &e)
	if e.Type != "error" || e.Error == nil || e.Error.Type != typ || !strings.Contains(e.Error.Message, msg) || !strings.HasPrefix(e.RequestID, "req_") {
		t.Fatalf("error %s, want type %q message with %q", body, typ, msg)
	}
}

func TestAuth(t *testing.T) {
	cfg := testConfig()
	cfg.APIKey = "sk-test-123456789"
	_, ts := newTest(t, cfg)
	chat := `{"model":"plain","messages":[{"role":"user","content":"x"}]}`
	msgs := `{"model":"plain","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`

	resp, body := post(t, ts, "/v1/chat/completions", chat)
	if resp.StatusCode != 401 || !strings.Contains(string(body), "You didn't provide an API key") {
		t.Errorf("no key: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, ts, "/v1/chat/completions", chat, "Authorization", "Bearer sk-wrong-999999999")
	var e oaError
	mustJSON(t, string(body), &e)
	if resp.StatusCode != 401 || strOrEmpty(e.Error.Code) != "invalid_api_key" || strings.Contains(e.Error.Message, "sk-wrong-999999999") {
		t.Errorf("wrong key: %d %s", resp.StatusCode, body)
	}
	if resp, _ := post(t, ts, "/v1/chat/completions", chat, "Authorization", "Bearer sk-test-123456789"); resp.StatusCode != 200 {
		t.Errorf("right key: %d", resp.StatusCode)
	}
	resp, body = post(t, ts, "/v1/messages", msgs)
	if resp.StatusCode != 401 {
		t.Errorf("anthropic no key: %d", resp.StatusCode)
	}
	checkAnthropicError(t, body, "authentication_error", "x-api-key")
	resp, body = post(t, ts, "/v1/messages", msgs, "x-api-key", "nope")
	if resp.StatusCode != 401 {
		t.Errorf("anthropic wrong key: %d", resp.StatusCode)
	}
	checkAnthropicError(t, body, "authentication_error", "invalid x-api-key")
	if resp, _ := post(t, ts, "/v1/messages", msgs, "x-api-key", "sk-test-123456789"); resp.StatusCode != 200 {
		t.Errorf("anthropic right key: %d", resp.StatusCode)
	}
	if resp, _ := get(t, ts, "/v1/models"); resp.StatusCode != 401 {
		t.Errorf("models without key: %d", resp.StatusCode)
	}
	if resp, body := get(t, ts, "/v1/models", "x-api-key", "sk-test-123456789"); resp.StatusCode != 200 || !strings.Contains(string(body), `"has_more"`) {
		t.Errorf("anthropic models: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, ts, "/v1/chat/completions"); resp.StatusCode != 405 {
		t.Errorf("GET chat: %d", resp.StatusCode)
	}
}

func TestFailureInjection(t *testing.T) {
	cfg := Config{Seed: 1, Models: map[string]Profile{
		"limited":    {OutputTokens: 3, Failures: []Failure{{Status: 429, Rate: 1, RetryAfter: 1500 * time.Millisecond}}},
		"overloaded": {OutputTokens: 3, Failures: []Failure{{Status: 529, Rate: 1}}},
		"down":       {OutputTokens: 3, Failures: []Failure{{Status: 503, Rate: 1}}},
		"mixed":      {OutputTokens: 3, Failures: []Failure{{Status: 500, Rate: 0.3}, {Status: 429, Rate: 0.2}}},
		"never":      {OutputTokens: 3, Failures: []Failure{{Status: 500, Rate: 0}}},
		"midstream":  {OutputTokens: 10, Failures: []Failure{{Status: 529, Rate: 1, AfterChunks: 3}}},
	}}
	s, ts := newTest(t, cfg)
	chat := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"x"}]}`
	}
	msgs := func(model string) string {
		return `{"model":"` + model + `","max_tokens":50,"messages":[{"role":"user","content":"x"}]}`
	}
	for i := 0; i < 20; i++ {
		resp, body := post(t, ts, "/v1/chat/completions", chat("limited"))
		var e oaError
		mustJSON(t, string(body), &e)
		if resp.StatusCode != 429 || e.Error.Type != "requests" || strOrEmpty(e.Error.Code) != "rate_limit_exceeded" || resp.Header.Get("retry-after") != "2" || resp.Header.Get("retry-after-ms") != "1500" {
			t.Fatalf("limited: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		resp, body = post(t, ts, "/v1/messages", msgs("limited"))
		if resp.StatusCode != 429 || resp.Header.Get("retry-after") != "2" {
			t.Fatalf("anthropic limited: %d %v", resp.StatusCode, resp.Header)
		}
		checkAnthropicError(t, body, "rate_limit_error", "rate limit")
		resp, body = post(t, ts, "/v1/messages", msgs("overloaded"))
		if resp.StatusCode != 529 {
			t.Fatalf("overloaded: %d", resp.StatusCode)
		}
		checkAnthropicError(t, body, "overloaded_error", "Overloaded")
		resp, body = post(t, ts, "/v1/chat/completions", chat("down"))
		mustJSON(t, string(body), &e)
		if resp.StatusCode != 503 || e.Error.Type != "server_error" {
			t.Fatalf("down: %d %s", resp.StatusCode, body)
		}
		if resp, _ := post(t, ts, "/v1/chat/completions", chat("never")); resp.StatusCode != 200 {
			t.Fatalf("rate 0 failed: %d", resp.StatusCode)
		}
	}
	// Rates are honoured roughly, and the draw is repeatable for a seed.
	counts := map[int]int{}
	var seq []int
	for i := 0; i < 1000; i++ {
		resp, _ := post(t, ts, "/v1/chat/completions", chat("mixed"))
		counts[resp.StatusCode]++
		if i < 30 {
			seq = append(seq, resp.StatusCode)
		}
	}
	if counts[500] < 240 || counts[500] > 360 || counts[429] < 150 || counts[429] > 250 {
		t.Errorf("mixed failures %v, want about 300 500s and 200 429s", counts)
	}
	_, ts2 := newTest(t, cfg)
	for i, want := range seq {
		if resp, _ := post(t, ts2, "/v1/chat/completions", chat("mixed")); resp.StatusCode != want {
			t.Fatalf("request %d: status %d, the same seed gave %d", i, resp.StatusCode, want)
		}
	}

	// Mid-stream: OpenAI sends an error chunk, then [DONE]; Anthropic an
	// error event and no message_stop.
	resp, raw := post(t, ts, "/v1/chat/completions", `{"model":"midstream","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	evs := events(t, raw)
	if resp.StatusCode != 200 || len(evs) != 1+3+2 || evs[len(evs)-1].Data != "[DONE]" {
		t.Fatalf("openai midstream: %d, %d events: %s", resp.StatusCode, len(evs), raw)
	}
	var ch oaChunk
	mustJSON(t, evs[len(evs)-2].Data, &ch)
	if len(ch.Error) == 0 || !strings.Contains(string(ch.Error), "server_error") {
		t.Errorf("error event %s", evs[len(evs)-2].Data)
	}
	_, raw = post(t, ts, "/v1/messages", `{"model":"midstream","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"x"}]}`)
	evs = events(t, raw)
	last := evs[len(evs)-1]
	deltas := 0
	for _, e := range evs {
		if e.Type == "content_block_delta" {
			deltas++
		}
	}
	if last.Type != "error" || deltas != 3 {
		t.Fatalf("anthropic midstream: %d deltas, last %q", deltas, last.Type)
	}
	checkAnthropicError(t, []byte(last.Data), "overloaded_error", "Overloaded")
	// Non-streamed requests to the same model fail up front.
	if resp, _ := post(t, ts, "/v1/chat/completions", chat("midstream")); resp.StatusCode != 529 {
		t.Errorf("non-stream midstream: %d", resp.StatusCode)
	}

	st := s.Stats()
	if st.Models["limited"].Status[429] != 40 || st.Models["overloaded"].Status[529] != 20 || st.Models["never"].Status[200] != 20 {
		t.Errorf("stats %+v", st.Models)
	}
}

func TestCut(t *testing.T) {
	cfg := Config{Models: map[string]Profile{
		"broken": {OutputTokens: 20, CutRate: 1, CutAfter: 3},
		"early":  {OutputTokens: 20, CutRate: 1},
	}}
	s, ts := newTest(t, cfg)
	for _, tc := range []struct {
		path, body string
		deltas     int
	}{
		{"/v1/chat/completions", `{"model":"broken","stream":true,"messages":[{"role":"user","content":"x"}]}`, 3},
		{"/v1/messages", `{"model":"broken","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"x"}]}`, 3},
		{"/v1/chat/completions", `{"model":"early","stream":true,"messages":[{"role":"user","content":"x"}]}`, 0},
	} {
		resp, err := ts.Client().Post(ts.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: read error %v, want unexpected EOF", tc.body, err)
		}
		deltas := strings.Count(string(raw), `"content":"`) + strings.Count(string(raw), "text_delta")
		if strings.Contains(tc.path, "chat") {
			deltas-- // the role chunk's empty content
			if deltas < 0 {
				deltas = 0
			}
		}
		if deltas != tc.deltas || strings.Contains(string(raw), "[DONE]") || strings.Contains(string(raw), "message_stop") {
			t.Errorf("%s: %d deltas before the cut, want %d:\n%s", tc.body, deltas, tc.deltas, raw)
		}
	}
	// A cut non-streamed answer has half a body.
	resp, err := ts.Client().Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"broken","messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("cut non-stream read cleanly")
	}
	if st := s.Stats(); st.Models["broken"].Cut != 3 {
		t.Errorf("stats %+v", st.Models["broken"])
	}
}

func TestHang(t *testing.T) {
	cfg := Config{Models: map[string]Profile{
		"stall":   {OutputTokens: 10, HangRate: 1, HangAt: HangStream},
		"nohead":  {OutputTokens: 10, HangRate: 1},
		"healthy": {OutputTokens: 10},
	}}
	s, ts := newTest(t, cfg)

	// Headers: the client times out waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(`{"model":"nohead","messages":[{"role":"user","content":"x"}]}`))
	start := time.Now()
	_, err := ts.Client().Do(req)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("hang at headers: %v after %s", err, time.Since(start))
	}

	// Stream: the first token arrives, then nothing, until the client leaves.
	for _, tc := range []struct{ path, body, first string }{
		{"/v1/chat/completions", `{"model":"stall","stream":true,"messages":[{"role":"user","content":"x"}]}`, `"content":"`},
		{"/v1/messages", `{"model":"stall","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"x"}]}`, `text_delta`},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+tc.path, strings.NewReader(tc.body))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		var got []string
		deadline := time.After(300 * time.Millisecond)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("stream ended")
				}
				got = append(got, l)
			case <-deadline:
				break read
			}
		}
		all := strings.Join(got, "\n")
		if n := strings.Count(all, tc.first); n != 1+strings.Count(tc.path, "chat") {
			t.Errorf("%s: %d %q before the hang:\n%s", tc.path, n, tc.first, all)
		}
		cancel()
		resp.Body.Close()
	}
	waitFor(t, func() bool { st := s.Stats(); return st.Models["stall"].Hung == 2 && st.Models["nohead"].Hung == 1 })
	if st := s.Stats(); st.Models["nohead"].Status[200] != 0 {
		t.Errorf("hang at headers recorded a status: %+v", st.Models["nohead"])
	}

	// Close releases hangs.
	done := make(chan error, 1)
	go func() {
		resp, err := ts.Client().Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"nohead","messages":[{"role":"user","content":"x"}]}`))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not release a hung request")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 3s")
}

func TestClientGoneStopsGenerating(t *testing.T) {
	cfg := Config{Models: map[string]Profile{"slow": {ITL: 20 * time.Millisecond, OutputTokens: 1000}}}
	s, ts := newTest(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(`{"model":"slow","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 6; i++ { // a few events
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	resp.Body.Close()
	start := time.Now()
	waitFor(t, func() bool { return s.Stats().Models["slow"].ClientGone == 1 })
	if time.Since(start) > time.Second {
		t.Errorf("generation went on for %s after the client left", time.Since(start))
	}
}

func TestTiming(t *testing.T) {
	cfg := Config{Models: map[string]Profile{
		"timed":  {TTFT: 100 * time.Millisecond, ITL: 20 * time.Millisecond, OutputTokens: 6},
		"hidden": {TTFT: 50 * time.Millisecond, ITL: 10 * time.Millisecond, OutputTokens: 3, ReasoningTokens: 10},
	}}
	_, ts := newTest(t, cfg)
	measure := func(body string) (first, total time.Duration) {
		start := time.Now()
		resp, err := ts.Client().Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if first == 0 && strings.Contains(sc.Text(), `"content":"`) && !strings.Contains(sc.Text(), `"content":""`) {
				first = time.Since(start)
			}
		}
		return first, time.Since(start)
	}
	first, total := measure(`{"model":"timed","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	// Never early; the upper bounds leave room for a loaded machine.
	if first < 100*time.Millisecond || first > 250*time.Millisecond || total < 200*time.Millisecond || total > 450*time.Millisecond {
		t.Errorf("stream: first token %s (want 100ms), total %s (want 200ms)", first, total)
	}
	first, _ = measure(`{"model":"hidden","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if first < 150*time.Millisecond || first > 350*time.Millisecond {
		t.Errorf("hidden reasoning: first content token %s, want 150ms", first)
	}
	_, total = measure(`{"model":"timed","messages":[{"role":"user","content":"x"}]}`)
	if total < 200*time.Millisecond || total > 450*time.Millisecond {
		t.Errorf("non-stream: %s, want 200ms", total)
	}
}

func TestRateLimit(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	cfg := Config{Models: map[string]Profile{
		"rpm": {OutputTokens: 3, RPM: 2},
		"tpm": {OutputTokens: 3, InputTokens: 10, TPM: 30},
	}}
	s, ts := newTest(t, cfg)
	s.SetClock(clock.Now)
	chat := `{"model":"rpm","messages":[{"role":"user","content":"x"}]}`
	for i, want := range []string{"1", "0"} {
		resp, _ := post(t, ts, "/v1/chat/completions", chat)
		if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-limit-requests") != "2" || resp.Header.Get("x-ratelimit-remaining-requests") != want || resp.Header.Get("x-ratelimit-reset-requests") != "1m0s" {
			t.Fatalf("request %d: %d %v", i, resp.StatusCode, resp.Header)
		}
	}
	clock.Add(15 * time.Second)
	resp, body := post(t, ts, "/v1/chat/completions", chat)
	var e oaError
	mustJSON(t, string(body), &e)
	if resp.StatusCode != 429 || e.Error.Type != "requests" || !strings.Contains(e.Error.Message, "Limit 2, Used 2, Requested 1") || resp.Header.Get("retry-after") != "45" || resp.Header.Get("x-ratelimit-reset-requests") != "45s" {
		t.Fatalf("over the limit: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = post(t, ts, "/v1/messages", `{"model":"rpm","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`)
	if resp.StatusCode != 429 || resp.Header.Get("anthropic-ratelimit-requests-remaining") != "0" || resp.Header.Get("anthropic-ratelimit-requests-reset") != "2026-01-01T12:01:00Z" || resp.Header.Get("anthropic-ratelimit-requests-limit") != "2" {
		t.Fatalf("anthropic over the limit: %d %v", resp.StatusCode, resp.Header)
	}
	checkAnthropicError(t, body, "rate_limit_error", "2 requests per minute")
	clock.Add(45 * time.Second)
	if resp, _ := post(t, ts, "/v1/chat/completions", chat); resp.StatusCode != 200 {
		t.Fatalf("next minute: %d", resp.StatusCode)
	}

	// Tokens: each request costs 10 prompt + 3 output + 3 priming tokens.
	tpm := `{"model":"tpm","messages":[{"role":"user","content":"x"}]}`
	if resp, _ := post(t, ts, "/v1/chat/completions", tpm); resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-remaining-tokens") != "17" {
		t.Fatalf("tpm first: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := post(t, ts, "/v1/chat/completions", tpm); resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-remaining-tokens") != "4" {
		t.Fatalf("tpm second: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = post(t, ts, "/v1/chat/completions", tpm)
	mustJSON(t, string(body), &e)
	if resp.StatusCode != 429 || e.Error.Type != "tokens" {
		t.Fatalf("tpm third: %d %s", resp.StatusCode, body)
	}
}

func TestSwitch(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{Models: map[string]Profile{
		"drift": {OutputTokens: 3, SwitchAfter: time.Hour, Switch: &Profile{
			OutputTokens: 9, SwitchAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Switch: &Profile{OutputTokens: 1},
		}},
	}}
	s, ts := newTest(t, cfg)
	s.SetClock(clock.Now)
	words := func() int {
		_, body := post(t, ts, "/v1/chat/completions", `{"model":"drift","messages":[{"role":"user","content":"x"}]}`)
		var c oaCompletion
		mustJSON(t, string(body), &c)
		return c.Usage.CompletionTokens
	}
	if n := words(); n != 3 {
		t.Errorf("before the switch: %d tokens", n)
	}
	clock.Add(59 * time.Minute)
	if n := words(); n != 3 {
		t.Errorf("a minute before the switch: %d tokens", n)
	}
	clock.Add(time.Minute)
	if n := words(); n != 9 {
		t.Errorf("after switch_after: %d tokens", n)
	}
	clock.Add(23 * time.Hour)
	if n := words(); n != 1 {
		t.Errorf("after switch_at: %d tokens", n)
	}
	if s.Now() != clock.Now() {
		t.Error("Now does not follow the clock")
	}
}

func TestStatsEndpoint(t *testing.T) {
	_, ts := newTest(t, testConfig())
	post(t, ts, "/v1/chat/completions", `{"model":"plain","messages":[{"role":"user","content":"hello there"}]}`)
	post(t, ts, "/v1/chat/completions", `{"model":"plain","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	post(t, ts, "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`)
	_, body := get(t, ts, "/mock/stats")
	var st Stats
	mustJSON(t, string(body), &st)
	p := st.Models["plain"]
	if st.Requests != 3 || p.Requests != 2 || p.Status[200] != 2 || p.Streams != 1 || p.OutputTokens != 14 || p.InputTokens != 9+7 || st.Models["(other)"].Status[404] != 1 {
		t.Errorf("stats %s", body)
	}
}

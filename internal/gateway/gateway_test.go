package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/provider"
	"github.com/weirhq/weir/internal/provider/openai"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/tokencount"
)

type memRecorder struct {
	mu       sync.Mutex
	begun    map[string]bool
	finished []record.Record
}

func (m *memRecorder) Begin(r *record.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.begun[r.ID] = true
	return nil
}

func (m *memRecorder) Finish(r *record.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished = append(m.finished, *r)
	return nil
}

func (m *memRecorder) last(t *testing.T) record.Record {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.finished) == 0 {
		t.Fatal("nothing recorded")
	}
	return m.finished[len(m.finished)-1]
}

// fakeUpstream answers chat completions: streamed with the given chunk
// gap, or not; "break" in the prompt cuts the stream after two chunks.
func fakeUpstream(t *testing.T, gap time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Stream        bool            `json:"stream"`
			StreamOptions json.RawMessage `json:"stream_options"`
			Messages      []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		json.Unmarshal(body, &req)
		prompt := ""
		if len(req.Messages) > 0 {
			prompt = req.Messages[0].Content
		}
		if !req.Stream {
			w.Header().Set("x-request-id", "up_1")
			fmt.Fprint(w, `{"id":"c1","object":"chat.completion","model":"m-2024","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`)
			return
		}
		if string(req.StreamOptions) != `{"include_usage":true}` {
			t.Errorf("upstream got stream_options %s", req.StreamOptions)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := 0; i < 4; i++ {
			if i > 0 {
				time.Sleep(gap)
			}
			if prompt == "break" && i == 2 {
				return
			}
			if prompt == "error-then-more" && i == 1 {
				// The provider reports an error mid-stream, then keeps
				// sending: the caller has left by then.
				fmt.Fprint(w, "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n")
				fl.Flush()
				time.Sleep(200 * time.Millisecond)
				for range 50 {
					fmt.Fprint(w, "data: {\"model\":\"m-2024\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n")
					fl.Flush()
				}
				return
			}
			fmt.Fprintf(w, "data: {\"model\":\"m-2024\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d\"}}]}\n\n", i)
			fl.Flush()
		}
		fmt.Fprint(w, "data: {\"model\":\"m-2024\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		fmt.Fprint(w, "data: {\"model\":\"m-2024\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4,\"total_tokens\":9}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newGateway(t *testing.T, upstreamURL string, keys ...string) (*httptest.Server, *memRecorder) {
	t.Helper()
	ad, err := openai.New(provider.Config{Name: "up", BaseURL: upstreamURL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{begun: map[string]bool{}}
	g := New(Options{
		Router:   NewRouter([]*Upstream{{Name: "up", Type: "openai", Adapter: ad, Models: []string{"m"}}, {Name: "other", Type: "openai", Adapter: ad}}, map[string]string{"fast": "up/m"}),
		Recorder: rec, Counter: tokencount.New(),
		MaxBodyBytes: 1 << 10, MaxLoggedBodyBytes: 1 << 20, APIKeys: keys,
	})
	mux := http.NewServeMux()
	g.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, rec
}

func post(t *testing.T, url, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestStreamRelayAndMeasure(t *testing.T) {
	up := fakeUpstream(t, 20*time.Millisecond)
	gw, rec := newGateway(t, up.URL)
	resp, body := post(t, gw.URL+"/v1/chat/completions", `{"model":"fast","stream":true,"messages":[{"role":"user","content":"hello"}]}`,
		map[string]string{"x-weir-use-case": "support", "x-weir-tags": "a, b", "x-weir-properties": `{"region": "eu"}`})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, `"usage"`) {
		t.Errorf("usage chunk leaked to a caller that did not ask for it:\n%s", body)
	}
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("stream not relayed to the end:\n%s", body)
	}
	r := rec.last(t)
	if r.ID != resp.Header.Get("X-Weir-Request-Id") || !rec.begun[r.ID] {
		t.Errorf("record id %q, header %q, begun %v", r.ID, resp.Header.Get("X-Weir-Request-Id"), rec.begun[r.ID])
	}
	if r.Provider != "up" || r.Model != "m" || r.RequestedModel != "fast" || r.ResponseModel != "m-2024" || r.FinishReason != "stop" || r.Status != 200 {
		t.Errorf("record = %+v", r)
	}
	if r.Usage.InputTokens != 5 || r.Usage.OutputTokens != 4 || r.Usage.Estimated {
		t.Errorf("usage = %+v", r.Usage)
	}
	if r.UseCase != "support" || len(r.Tags) != 2 || string(r.Properties) != `{"region":"eu"}` {
		t.Errorf("attribution = %+v", r.Attribution)
	}
	if r.TTFTMs == nil || r.ITLMs == nil || r.ITLMs.Count != 3 || r.ITLMs.P50 < 15 || r.ITLMs.P50 > 60 {
		t.Errorf("timings ttft=%v itl=%+v", r.TTFTMs, r.ITLMs)
	}
	if *r.TTFCTMs != *r.TTFTMs || r.TPOTMs == nil || r.OTPS == nil {
		t.Errorf("ttfct=%v tpot=%v otps=%v", *r.TTFCTMs, r.TPOTMs, r.OTPS)
	}
	if r.OverheadMs < 0 || r.OverheadMs > r.E2EMs || r.UpstreamMs < 60 {
		t.Errorf("e2e=%v upstream=%v overhead=%v", r.E2EMs, r.UpstreamMs, r.OverheadMs)
	}
	if len(r.Attempts) != 1 || r.Attempts[0].Status != 200 {
		t.Errorf("attempts = %+v", r.Attempts)
	}
}

func TestStreamBreakEndsWithErrorEvent(t *testing.T) {
	up := fakeUpstream(t, 0)
	gw, rec := newGateway(t, up.URL)
	_, body := post(t, gw.URL+"/v1/chat/completions", `{"model":"up/m","stream":true,"messages":[{"role":"user","content":"break"}]}`, nil)
	if strings.Contains(body, "data: [DONE]") || !strings.Contains(body, `data: {"error":{`) {
		t.Errorf("broken stream must end with an error event and no [DONE]:\n%s", body)
	}
	r := rec.last(t)
	out, _ := tokencount.New().Count("t0t1")
	if r.Status != 200 || r.ErrorKind != "upstream_bad_response" || !r.Usage.Estimated || r.Usage.OutputTokens != int64(out) || r.Usage.InputTokens == 0 {
		t.Errorf("record status=%d kind=%q usage=%+v", r.Status, r.ErrorKind, r.Usage)
	}
}

// TestCallerLeavesAfterStreamError: an SDK stops reading at a relayed
// error event and closes; the call is recorded with the provider's error,
// not as the caller's leaving.
func TestCallerLeavesAfterStreamError(t *testing.T) {
	up := fakeUpstream(t, 0)
	gw, rec := newGateway(t, up.URL)
	req, _ := http.NewRequest("POST", gw.URL+"/v1/chat/completions", strings.NewReader(`{"model":"up/m","stream":true,"messages":[{"role":"user","content":"error-then-more"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	for !strings.Contains(string(buf), `"error"`) {
		chunk := make([]byte, 512)
		n, err := resp.Body.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err != nil {
			break
		}
	}
	resp.Body.Close() // as the SDK does
	for i := 0; i < 300; i++ {
		rec.mu.Lock()
		n := len(rec.finished)
		rec.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := rec.last(t)
	if r.ErrorKind == "client_closed" || r.ErrorKind == "" || r.Status != 200 {
		t.Errorf("record status %d kind %q (%s)", r.Status, r.ErrorKind, r.ErrorMessage)
	}
}

func TestNonStream(t *testing.T) {
	up := fakeUpstream(t, 0)
	gw, rec := newGateway(t, up.URL)
	resp, body := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"content":"hi"`) || resp.Header.Get("x-request-id") != "up_1" {
		t.Fatalf("%d %s %v", resp.StatusCode, body, resp.Header)
	}
	r := rec.last(t)
	if r.Usage.OutputTokens != 1 || r.OTPS == nil || r.TTFTMs != nil || r.Response != body || r.ProviderRequestID != "up_1" {
		t.Errorf("record = %+v", r)
	}
}

func TestBadInput(t *testing.T) {
	up := fakeUpstream(t, 0)
	gw, rec := newGateway(t, up.URL)
	tests := []struct {
		name, path, body string
		hdr              map[string]string
		status           int
		want             string
	}{
		{"malformed json", "/v1/chat/completions", `{"model":`, nil, 400, `"type":"invalid_request_error"`},
		{"model not a string", "/v1/chat/completions", `{"model":5}`, nil, 400, `invalid type for 'model'`},
		{"unknown provider", "/v1/chat/completions", `{"model":"nope/x"}`, nil, 404, `"code":"model_not_found"`},
		{"too large", "/v1/chat/completions", `{"model":"m","x":"` + strings.Repeat("a", 2000) + `"}`, nil, 413, `exceeds the limit of 1024 bytes`},
		{"bad tags", "/v1/chat/completions", `{"model":"m"}`, map[string]string{"x-weir-tags": "a,,b"}, 400, `invalid X-Weir-Tags header`},
		{"bad properties", "/v1/chat/completions", `{"model":"m"}`, map[string]string{"x-weir-properties": `[1]`}, 400, `X-Weir-Properties`},
		{"bad no-log", "/v1/chat/completions", `{"model":"m"}`, map[string]string{"x-weir-no-log": "maybe"}, 400, `X-Weir-No-Log`},
		{"caller key not allowed", "/v1/chat/completions", `{"model":"m"}`, map[string]string{"x-weir-provider-key": "sk"}, 403, `does not accept caller keys`},
		{"anthropic surface", "/v1/messages", `{"model":`, nil, 400, `{"type":"error","error":{"type":"invalid_request_error"`},
		{"messages to openai provider", "/v1/messages", `{"model":"m","max_tokens":5,"messages":[]}`, nil, 400, `does not serve the Anthropic Messages API`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.finished)
			resp, body := post(t, gw.URL+tt.path, tt.body, tt.hdr)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s; want %d containing %s", resp.StatusCode, body, tt.status, tt.want)
			}
			if len(rec.finished) != before+1 {
				t.Fatalf("failed call not recorded")
			}
			if r := rec.last(t); r.Status != tt.status || r.ErrorKind == "" {
				t.Errorf("record status %d kind %q", r.Status, r.ErrorKind)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	up := fakeUpstream(t, 0)
	gw, _ := newGateway(t, up.URL, "weir-key")
	resp, body := post(t, gw.URL+"/v1/chat/completions", `{"model":"m"}`, nil)
	if resp.StatusCode != 401 || !strings.Contains(body, "authentication_error") {
		t.Errorf("no key: %d %s", resp.StatusCode, body)
	}
	resp, _ = post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`, map[string]string{"Authorization": "Bearer weir-key"})
	if resp.StatusCode != 200 {
		t.Errorf("bearer key: %d", resp.StatusCode)
	}
	resp, _ = post(t, gw.URL+"/v1/messages", `{}`, map[string]string{"x-api-key": "wrong"})
	if resp.StatusCode != 401 {
		t.Errorf("wrong x-api-key: %d", resp.StatusCode)
	}
}

func TestModels(t *testing.T) {
	up := fakeUpstream(t, 0)
	gw, _ := newGateway(t, up.URL)
	resp, err := http.Get(gw.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Object string `json:"object"`
		Data   []struct{ ID string }
	}
	json.NewDecoder(resp.Body).Decode(&list)
	if list.Object != "list" || len(list.Data) != 2 || list.Data[0].ID != "up/m" || list.Data[1].ID != "fast" {
		t.Errorf("models = %+v", list)
	}
	resp, _ = http.Get(gw.URL + "/v1/models/up/m")
	if resp.StatusCode != 200 {
		t.Errorf("get model: %d", resp.StatusCode)
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	a := newID(time.UnixMilli(1_700_000_000_000))
	b := newID(time.UnixMilli(1_700_000_000_001))
	if len(a) != 30 || !(a < b) || a == newID(time.UnixMilli(1_700_000_000_000)) {
		t.Errorf("ids %s %s", a, b)
	}
}

func TestRewriteBody(t *testing.T) {
	out, err := rewriteBody([]byte(`{"model":"fast","stream":true,"stream_options":{"x":1},"messages":[]}`), true, "m", true)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"m","stream":true,"stream_options":{"x":1,"include_usage":true},"messages":[]}`
	if !bytes.Equal(out, []byte(want)) {
		t.Errorf("rewrite = %s", out)
	}
	for in, want := range map[string]string{
		`{"model":"a","messages":[{"model":"keep"}]}`:            `{"model":"m","messages":[{"model":"keep"}],"stream_options":{"include_usage":true}}`,
		`{"messages":[],"stream_options":null}`:                  `{"messages":[],"model":"m","stream_options":{"include_usage":true}}`,
		`{"stream_options":{"include_usage":false},"model":"a"}`: `{"stream_options":{"include_usage":true},"model":"m"}`,
	} {
		out, err := rewriteBody([]byte(in), true, "m", true)
		if err != nil {
			t.Fatal(err)
		}
		var got, exp any
		json.Unmarshal(out, &got)
		json.Unmarshal([]byte(want), &exp)
		if !cmpEqual(got, exp) {
			t.Errorf("rewrite(%s) = %s, want %s", in, out, want)
		}
	}
	if _, err := rewriteBody([]byte(`{"stream_options":5}`), false, "", true); err == nil {
		t.Error("bad stream_options accepted")
	}
}

func FuzzAttribution(f *testing.F) {
	f.Add("support", "a,b", `{"k":1}`, "true")
	f.Fuzz(func(t *testing.T, uc, tags, props, nolog string) {
		h := http.Header{}
		h.Set(HeaderUseCase, uc)
		h.Set(HeaderTags, tags)
		h.Set(HeaderProperties, props)
		h.Set(HeaderNoLog, nolog)
		a, err := parseAttribution(h)
		if err == nil && len(a.Properties) > 0 && !json.Valid(a.Properties) {
			t.Fatalf("invalid properties kept: %s", a.Properties)
		}
	})
}

func TestAttributionHeaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     http.Header
		error string
	}{
		{"repeated tags", http.Header{HeaderTags: {"a", "b"}}, "sent 2 times"},
		{"empty tags", http.Header{HeaderTags: {" "}}, "empty value"},
		{"empty properties", http.Header{HeaderProperties: {""}}, "empty value"},
		{"repeated no-log", http.Header{HeaderNoLog: {"1", "0"}}, "sent 2 times"},
		{"control char", http.Header{HeaderUser: {"a\x01b"}}, "control character"},
		{"too long", http.Header{HeaderUseCase: {strings.Repeat("x", 300)}}, "at most 256"},
		{"ok", http.Header{HeaderUseCase: {" support "}, HeaderNoLog: {"YES"}}, ""},
	} {
		a, err := parseAttribution(tc.h)
		if tc.error == "" {
			if err != nil || a.UseCase != "support" || !a.NoLog {
				t.Errorf("%s: %+v %v", tc.name, a, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.error) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.error)
		}
	}
	a, err := parseAttribution(http.Header{HeaderUseCase: {"support"}, HeaderTags: {"a,,b"}})
	if err == nil || a.UseCase != "support" {
		t.Errorf("the headers read before a bad one must be kept for the record: %+v", a)
	}
}

func cmpEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// FuzzRewriteBody checks the splicing rewrite against decoding the body
// into a map and setting the same fields.
func FuzzRewriteBody(f *testing.F) {
	f.Add([]byte(`{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}`), true)
	f.Add([]byte(`{"model":"x","stream_options":{"a":[1,{"b":2}]},"n":2}`), true)
	f.Add([]byte(`{ "model" : "x" , "tools":[{"model":"inner"}] }`), false)
	f.Fuzz(func(t *testing.T, body []byte, force bool) {
		var obj map[string]any
		if json.Unmarshal(body, &obj) != nil || obj == nil || hasDupKeys(body) {
			return
		}
		if so, ok := obj["stream_options"]; ok && so != nil {
			if _, isObj := so.(map[string]any); !isObj && force {
				if _, err := rewriteBody(body, true, "up/m", force); err == nil {
					t.Fatalf("non-object stream_options accepted: %s", body)
				}
				return
			}
		}
		out, err := rewriteBody(body, true, "up/m", force)
		if err != nil {
			t.Fatalf("rewrite(%s): %v", body, err)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("rewrite(%s) = invalid %s", body, out)
		}
		obj["model"] = "up/m"
		if force {
			so, _ := obj["stream_options"].(map[string]any)
			if so == nil {
				so = map[string]any{}
			}
			so["include_usage"] = true
			obj["stream_options"] = so
		}
		if !cmpEqual(got, obj) {
			t.Fatalf("rewrite(%s) = %s, want %v", body, out, obj)
		}
	})
}

// hasDupKeys reports whether any object in b repeats a key (encoding/json
// keeps the last, a splice edits the first: both are fine, they differ).
func hasDupKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return false
		}
		switch d {
		case '{':
			seen := map[string]bool{}
			for dec.More() {
				k, _ := dec.Token()
				ks, _ := k.(string)
				if seen[ks] {
					return true
				}
				seen[ks] = true
				if walkValue(dec, walk) {
					return true
				}
			}
			dec.Token()
		case '[':
			for dec.More() {
				if walkValue(dec, walk) {
					return true
				}
			}
			dec.Token()
		}
		return false
	}
	return walk()
}

func walkValue(dec *json.Decoder, walk func() bool) bool {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return false
	}
	if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
		return hasDupKeys(raw)
	}
	return false
}

func TestUnknownRoutes(t *testing.T) {
	up := fakeUpstream(t, 0)
	gw, _ := newGateway(t, up.URL)
	resp, body := post(t, gw.URL+"/v1/completions", `{}`, nil)
	if resp.StatusCode != 404 || !strings.Contains(body, `"code":"unknown_url"`) {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
	r, err := http.Get(gw.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 405 || r.Header.Get("Allow") != "POST" || !strings.Contains(string(b), `"type":"invalid_request_error"`) {
		t.Errorf("wrong method: %d %s", r.StatusCode, b)
	}
	r, _ = http.Get(gw.URL + "/v1/messages")
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 405 || !strings.Contains(string(b), `{"type":"error"`) {
		t.Errorf("wrong method on the Anthropic surface: %d %s", r.StatusCode, b)
	}
}

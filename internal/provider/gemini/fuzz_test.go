package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/internal/apierror"
)

func addFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzTranslateRequest: any body either fails with an invalid_request
// error or translates to valid JSON with at least one content.
func FuzzTranslateRequest(f *testing.F) {
	addFiles(f, "testdata/translate/*.openai.json")
	f.Add([]byte(`{"messages":[{"role":"tool","tool_call_id":"x","name":"f","content":[{"type":"text","text":"{}"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := TranslateRequest(body, "gemini-2.5-flash")
		if err != nil {
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Kind != apierror.InvalidRequest {
				t.Fatalf("error %v is not an invalid_request *apierror.Error", err)
			}
			return
		}
		var r generateRequest
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("output is not valid JSON: %v\n%s", err, out)
		}
		if len(r.Contents) == 0 {
			t.Fatalf("output has no contents: %s", out)
		}
	})
}

// FuzzTranslateResponse: any body either fails or gives a valid chat
// completion.
func FuzzTranslateResponse(f *testing.F) {
	addFiles(f, "testdata/response/*.gemini.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := TranslateResponse(body, "m", fixedNow)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %s", out)
		}
	})
}

// FuzzChatStream: any byte stream ends (with io.EOF or an *apierror.Error)
// and every relayed event is a whole SSE frame of valid JSON.
func FuzzChatStream(f *testing.F) {
	addFiles(f, "testdata/stream/*.gemini.sse")
	f.Add([]byte("data: {\"candidates\":[{\"index\":7,\"finishReason\":\"STOP\"}]}\n\n"))
	f.Add([]byte("data: [1]\n\ndata: {\"error\":{}}\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, inc := range []bool{false, true} {
			s := newChatStream(t.Context(), io.NopCloser(bytes.NewReader(in)), "m", inc)
			var err error
			for n := 0; ; n++ {
				if n > 10*len(in)+10 {
					t.Fatalf("the stream does not end")
				}
				e, nerr := s.Next()
				if nerr != nil {
					err = nerr
					break
				}
				if e.Drop {
					continue
				}
				payload, ok := bytes.CutPrefix(e.Data, []byte("data: "))
				if !ok || !bytes.HasSuffix(payload, []byte("\n\n")) {
					t.Fatalf("event is not one SSE frame: %q", e.Data)
				}
				payload = bytes.TrimSuffix(payload, []byte("\n\n"))
				if !e.Done && !json.Valid(payload) {
					t.Fatalf("event data is not JSON: %q", payload)
				}
			}
			var ae *apierror.Error
			if err != io.EOF && !errors.As(err, &ae) {
				t.Fatalf("the stream ended with %v (%T), want io.EOF or an *apierror.Error", err, err)
			}
			s.Close()
		}
	})
}

// FuzzParseError: never panics; a message comes only from an error object.
func FuzzParseError(f *testing.F) {
	f.Add([]byte(`{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"retryDelay":"1.5s"}]}}`))
	f.Add([]byte(`[{"error":{"code":401,"message":"no","status":"UNAUTHENTICATED"}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, _ := ParseError(body)
		ge := parseGoogleError(body)
		if ge == nil && msg != "" {
			t.Fatalf("message %q without an error object", msg)
		}
		if ge != nil {
			if d := ge.retryDelay(); d < 0 {
				t.Fatalf("negative retry delay %s", d)
			}
			streamError(ge)
		}
	})
}

// FuzzFromGemini: never panics, and output is never less than the
// reasoning within it.
func FuzzFromGemini(f *testing.F) {
	f.Add([]byte(`{"promptTokenCount":11,"candidatesTokenCount":6,"thoughtsTokenCount":4,"cachedContentTokenCount":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := FromGemini(raw)
		if err != nil {
			return
		}
		var m usageMetadata
		json.Unmarshal(raw, &m)
		if m.CandidatesTokenCount >= 0 && m.ThoughtsTokenCount >= 0 && u.OutputTokens < u.ReasoningTokens {
			t.Fatalf("output %d < reasoning %d", u.OutputTokens, u.ReasoningTokens)
		}
	})
}

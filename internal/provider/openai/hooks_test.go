package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
)

// TestHooks: each hook replaces exactly one of OpenAI's behaviours (URL,
// key header, error body), for every call that sends a request.
func TestHooks(t *testing.T) {
	type hit struct{ url, auth, key string }
	var got []hit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, hit{r.URL.String(), r.Header.Get("Authorization"), r.Header.Get("X-Key")})
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"statusCode":401,"message":"custom body"}`)
		case "/models":
			io.WriteString(w, `{"data":[]}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"model":"m","choices":[],"data":[]}`)
		}
	}))
	defer srv.Close()
	p, err := NewWith(provider.Config{BaseURL: srv.URL, APIKey: "k-configured"}, Hooks{
		URL: func(path, model string) string {
			if model == "bad" {
				return srv.URL + "/fail"
			}
			return srv.URL + path + "?model=" + model
		},
		Auth: func(h http.Header, key string) { h.Set("X-Key", key) },
		ParseError: func(body []byte) (string, string) {
			return "parsed: " + string(body), "custom_code"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.ChatCompletion(ctx, &provider.Request{Model: "dep", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Embeddings(ctx, &provider.Request{Model: "emb", Body: []byte(`{}`), APIKey: "k-caller"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ListModels(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = p.ChatCompletion(ctx, &provider.Request{Model: "bad", Body: []byte(`{}`)})
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != "custom_code" || ae.Message != `parsed: {"statusCode":401,"message":"custom body"}` {
		t.Errorf("error through the ParseError hook: %#v", err)
	}
	want := []hit{
		{"/chat/completions?model=dep", "", "k-configured"},
		{"/embeddings?model=emb", "", "k-caller"},
		{"/models?model=", "", "k-configured"},
		{"/fail", "", "k-configured"},
	}
	if len(got) != len(want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
)

// TestKeyFunc: a key that changes while Weir runs is read on every
// request; a caller's own key still wins; no key at all fails the call
// before it reaches the provider; an upstream that echoes the key does
// not get it into the error.
func TestKeyFunc(t *testing.T) {
	var seen atomic.Value
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		auth := r.Header.Get("Authorization")
		seen.Store(auth)
		if strings.Contains(auth, "bad") {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"message":"Incorrect API key provided: `+strings.TrimPrefix(auth, "Bearer ")+`","code":"invalid_api_key"}}`)
			return
		}
		io.WriteString(w, `{"object":"list","data":[{"id":"m"}]}`)
	}))
	defer srv.Close()
	var key atomic.Pointer[string]
	p, err := New(provider.Config{Name: "vault", BaseURL: srv.URL, APIKey: "ignored", Key: func() string {
		if k := key.Load(); k != nil {
			return *k
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = p.ListModels(ctx)
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != provider.CodeNoCredential || ae.Kind != apierror.UpstreamUnavailable || hits.Load() != 0 {
		t.Fatalf("no key: %v (hits %d)", err, hits.Load())
	}
	set := func(s string) { key.Store(&s) }
	for _, k := range []string{"sk-first-key-1", "sk-second-key-2"} {
		set(k)
		if _, err := p.ListModels(ctx); err != nil {
			t.Fatal(err)
		}
		if got := seen.Load(); got != "Bearer "+k {
			t.Errorf("sent %v, want Bearer %s", got, k)
		}
	}
	p.Embeddings(ctx, &provider.Request{Body: []byte(`{}`), APIKey: "sk-caller-key"})
	if seen.Load() != "Bearer sk-caller-key" {
		t.Errorf("caller key: sent %v", seen.Load())
	}
	set("sk-bad-key-0123456789")
	_, err = p.ChatCompletion(ctx, &provider.Request{Body: []byte(`{}`)})
	if err == nil || strings.Contains(err.Error(), "sk-bad-key-0123456789") || !strings.Contains(err.Error(), "Incorrect API key provided") {
		t.Errorf("echoed key: %v", err)
	}
}

package anthropic

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

func TestKeyFunc(t *testing.T) {
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := r.Header.Get("x-api-key")
		seen.Store(k)
		w.WriteHeader(401)
		io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key `+k+`"}}`)
	}))
	defer srv.Close()
	var key atomic.Pointer[string]
	p, err := New(provider.Config{Name: "claude", BaseURL: srv.URL, Key: func() string {
		if k := key.Load(); k != nil {
			return *k
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = p.Messages(ctx, &provider.Request{Body: []byte(`{}`)})
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != provider.CodeNoCredential || seen.Load() != nil {
		t.Fatalf("no key: %v", err)
	}
	for _, k := range []string{"sk-ant-first-1", "sk-ant-second-2"} {
		key.Store(&k)
		_, err := p.Messages(ctx, &provider.Request{Body: []byte(`{}`)})
		if got := seen.Load(); got != k {
			t.Errorf("sent %v, want %s", got, k)
		}
		if err == nil || strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), "invalid x-api-key [redacted]") {
			t.Errorf("echoed key: %v", err)
		}
	}
}

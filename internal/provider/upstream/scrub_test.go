package upstream

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestScrub(t *testing.T) {
	req := &http.Request{
		URL: &url.URL{Scheme: "https", Host: "h", User: url.UserPassword("u", "url-password-1")},
		Header: http.Header{
			"Authorization":   {"Bearer sk-bearer-secret-1"},
			"X-Api-Key":       {"sk-ant-secret-2"},
			"X-Custom-Token":  {"tok-secret-3"},
			"Api-Key":         {"azure-secret-4"},
			"Content-Type":    {"application/json"},
			"X-Short-Secret":  {"short"},
			"X-Forwarded-For": {"10.0.0.1 and more"},
		},
	}
	in := "Incorrect API key provided: sk-bearer-secret-1 (Bearer sk-bearer-secret-1); also sk-ant-secret-2, tok-secret-3, azure-secret-4, url-password-1; application/json short 10.0.0.1 and more"
	got := Scrub(req, in)
	for _, s := range []string{"sk-bearer-secret-1", "sk-ant-secret-2", "tok-secret-3", "azure-secret-4", "url-password-1"} {
		if strings.Contains(got, s) {
			t.Errorf("Scrub left %q: %s", s, got)
		}
	}
	for _, s := range []string{"Incorrect API key provided: [redacted]", "application/json", "short", "10.0.0.1 and more"} {
		if !strings.Contains(got, s) {
			t.Errorf("Scrub removed %q: %s", s, got)
		}
	}
	if Scrub(nil, in) != in || Scrub(req, "") != "" {
		t.Error("Scrub without a request or text changed something")
	}
}

func TestStatusErrorHidesTheKey(t *testing.T) {
	hr, _ := http.NewRequest("POST", "http://h/v1/chat/completions", nil)
	hr.Header.Set("Authorization", "Bearer sk-live-0123456789")
	resp := &http.Response{StatusCode: 401, Header: http.Header{}, Request: hr}
	parse := func(b []byte) (string, string) { return string(b), "key sk-live-0123456789" }
	for name, e := range map[string]error{
		"parsed":  StatusError(resp, []byte("Incorrect API key provided: sk-live-0123456789"), parse),
		"snippet": StatusError(resp, []byte(`{"detail":"bad key sk-live-0123456789"}`), nil),
	} {
		ae := e.(interface{ Error() string })
		if strings.Contains(ae.Error(), "sk-live-0123456789") {
			t.Errorf("%s: %v", name, ae)
		}
	}
	if e := StatusError(resp, []byte("x"), parse); e.Code != "key [redacted]" {
		t.Errorf("code = %q", e.Code)
	}
}

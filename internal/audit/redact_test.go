package audit

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestSensitiveName(t *testing.T) {
	for name, want := range map[string]bool{
		"secret": true, "client_secret": true, "password": true, "newPassword": true, "password_hash": true,
		"PasswordHash": true, "hash": true, "key_hash": true, "token": true, "session_token": true,
		"accessToken": true, "api_key": true, "apiKey": true, "x-api-key": true, "APIKey": true, "apikey": true,
		"private_key": true, "credentials": true, "Authorization": true, "cookie": true,
		"tokens": false, "max_tokens": false, "input_tokens": false, "token_id": false, "key": false,
		"api_key_id": false, "prefix": false, "name": false, "hashes_seen": false, "": false, "_": false,
		"team": false, "per": false, "keys": false,
	} {
		if got := sensitiveName(name); got != want {
			t.Errorf("sensitiveName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	f := func(in any, want string) {
		t.Helper()
		got, err := Redact(in)
		if err != nil || string(got) != want {
			t.Errorf("Redact(%v) = %s, %v; want %s", in, got, err, want)
		}
	}
	f(nil, "")
	f((*struct{})(nil), "")
	f(json.RawMessage(" null "), "")
	f(json.RawMessage(`{"b":1.50,"a":"x<y>"}`), `{"a":"x<y>","b":1.50}`)            // numbers as written, no HTML escapes
	f(map[string]any{"password": "", "token": nil}, `{"password":"","token":null}`) // nothing to hide
	f([]string{"weir_k5tq7m", "weir_k5tq7m2xv4nz6bwy3hd8jc9lfp2"}, `["weir_k5tq7m","[redacted]"]`)
	f(map[string]any{"hash": []int{1, 2}}, `{"hash":"[redacted]"}`)
	if _, err := Redact(json.RawMessage(`{"a":`)); err == nil {
		t.Error("invalid JSON accepted")
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{`{"a":{"secret":"x","b":["weir_k5tq7m2xv4nz6bwy3hd8jc9lfp2"]}}`, `null`, `[1,"sk-abcdefghijklmnopqrstuvwxyz"]`, `"x"`, `12.5e3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := Redact(json.RawMessage(b))
		if err != nil || out == nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Redact(%q) = %q: not JSON", b, out)
		}
		again, err := Redact(out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("Redact is not idempotent: %q -> %q -> %q (%v)", b, out, again, err)
		}
		var doc any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if s, ok := keptSecret(doc); ok {
			t.Fatalf("Redact(%q) = %q keeps %q", b, out, s)
		}
	})
}

// keptSecret returns a string value of doc shaped like a secret.
func keptSecret(doc any) (string, bool) {
	switch x := doc.(type) {
	case map[string]any:
		for k, v := range x {
			if sensitiveName(k) && v != nil && v != "" && v != Redacted {
				return k, true
			}
			if s, ok := keptSecret(v); ok {
				return s, true
			}
		}
	case []any:
		for _, v := range x {
			if s, ok := keptSecret(v); ok {
				return s, true
			}
		}
	case string:
		return x, secretRE.MatchString(x)
	}
	return "", false
}

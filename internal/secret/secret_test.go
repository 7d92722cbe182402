package secret

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rawKey returns 32 bytes derived from seed.
func rawKey(seed byte) []byte {
	b := make([]byte, KeySize)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

func mustKey(t *testing.T, raw []byte) *Key {
	t.Helper()
	k, err := ParseKey(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	return k
}

func TestParseKey(t *testing.T) {
	raw := rawKey(7)
	sum := sha256.Sum256(raw)
	wantID := hex.EncodeToString(sum[:])[:8]
	good := map[string]string{
		"base64":         base64.StdEncoding.EncodeToString(raw),
		"base64 raw":     base64.RawStdEncoding.EncodeToString(raw),
		"base64 url":     base64.URLEncoding.EncodeToString(raw),
		"base64 raw url": base64.RawURLEncoding.EncodeToString(raw),
		"hex":            hex.EncodeToString(raw),
		"hex upper":      strings.ToUpper(hex.EncodeToString(raw)),
		"spaces":         "  " + base64.StdEncoding.EncodeToString(raw) + "\n",
	}
	for name, in := range good {
		t.Run(name, func(t *testing.T) {
			k, err := ParseKey(in)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if k.ID() != wantID {
				t.Errorf("ID = %s, want %s", k.ID(), wantID)
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"blank", "  \n", "empty"},
		{"16 bytes", base64.StdEncoding.EncodeToString(raw[:16]), "decodes to 16 bytes, want 32"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(raw, 1)), "decodes to 33 bytes, want 32"},
		{"short hex", hex.EncodeToString(raw[:31]), "decodes to 31 bytes, want 32"},
		{"garbage", "this is not a key!!", "neither base64 nor hex"},
		{"passphrase", "correct horse battery staple", "neither base64 nor hex"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKey(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseKey(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
			if s := strings.TrimSpace(tt.in); len(s) > 4 && strings.Contains(err.Error(), s) {
				t.Errorf("the error repeats the input: %v", err)
			}
		})
	}
}

func TestKeyNeverPrintsItsBytes(t *testing.T) {
	raw := rawKey(1)
	in := base64.StdEncoding.EncodeToString(raw)
	k := mustKey(t, raw)
	b := NewBox(k, nil)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), fmt.Sprintf("%v %+v %#v", b, b, b)} {
		if strings.Contains(s, in) || strings.Contains(s, hex.EncodeToString(raw)) || strings.Contains(s, string(raw)) {
			t.Errorf("printed key shows its bytes: %s", s)
		}
		if !strings.Contains(s, k.ID()) {
			t.Errorf("printed key %q does not name its id", s)
		}
	}
}

func TestSealOpen(t *testing.T) {
	b := NewBox(mustKey(t, rawKey(1)), nil)
	for _, pt := range []string{"sk-proj-abc123", "", strings.Repeat("x", 10000), "ünïcødé\x00bytes"} {
		s, err := b.Seal("openai", []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		if s.KeyID != b.KeyID() || len(s.Nonce) != 12 {
			t.Errorf("sealed: key id %q nonce %d bytes", s.KeyID, len(s.Nonce))
		}
		if len(pt) > 4 && bytes.Contains(s.Ciphertext, []byte(pt)) {
			t.Error("the ciphertext contains the plaintext")
		}
		got, err := b.Open("openai", s)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if string(got) != pt {
			t.Errorf("Open = %q, want %q", got, pt)
		}
	}
	s1, _ := b.Seal("openai", []byte("same"))
	s2, _ := b.Seal("openai", []byte("same"))
	if bytes.Equal(s1.Nonce, s2.Nonce) || bytes.Equal(s1.Ciphertext, s2.Ciphertext) {
		t.Error("two seals of the same value share a nonce or a ciphertext")
	}
}

func TestOpenRefuses(t *testing.T) {
	b := NewBox(mustKey(t, rawKey(1)), nil)
	other := NewBox(mustKey(t, rawKey(2)), nil)
	s, err := b.Seal("openai", []byte("sk-secret"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(p []byte, i int) []byte {
		c := bytes.Clone(p)
		c[i] ^= 1
		return c
	}
	tests := []struct {
		name  string
		box   *Box
		owner string
		s     Sealed
		want  error
	}{
		{"ciphertext bit flipped", b, "openai", Sealed{flip(s.Ciphertext, 0), s.Nonce, s.KeyID}, ErrOpen},
		{"tag bit flipped", b, "openai", Sealed{flip(s.Ciphertext, len(s.Ciphertext)-1), s.Nonce, s.KeyID}, ErrOpen},
		{"nonce bit flipped", b, "openai", Sealed{s.Ciphertext, flip(s.Nonce, 3), s.KeyID}, ErrOpen},
		{"nonce truncated", b, "openai", Sealed{s.Ciphertext, s.Nonce[:8], s.KeyID}, ErrOpen},
		{"ciphertext truncated", b, "openai", Sealed{s.Ciphertext[:len(s.Ciphertext)-1], s.Nonce, s.KeyID}, ErrOpen},
		{"moved to another provider", b, "anthropic", s, ErrOpen},
		{"owner prefix", b, "open", s, ErrOpen},
		{"wrong key", other, "openai", s, ErrUnknownKey},
		{"wrong key with the right id", other, "openai", Sealed{s.Ciphertext, s.Nonce, other.KeyID()}, ErrOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.box.Open(tt.owner, tt.s)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %v", pt, err, tt.want)
			}
			if strings.Contains(err.Error(), "sk-secret") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := mustKey(t, rawKey(1)), mustKey(t, rawKey(2))
	old := NewBox(oldKey, nil)
	s, err := old.Seal("openai", []byte("sk-rotate"))
	if err != nil {
		t.Fatal(err)
	}
	if old.Stale(s) {
		t.Error("a value sealed under the current key is stale")
	}
	rotating := NewBox(newKey, oldKey)
	if !rotating.Stale(s) {
		t.Fatal("a value sealed under the previous key is not stale")
	}
	if pt, err := rotating.Open("openai", s); err != nil || string(pt) != "sk-rotate" {
		t.Fatalf("Open with the previous key = %q, %v", pt, err)
	}
	r, err := rotating.Reseal("openai", s)
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyID != newKey.ID() || rotating.Stale(r) {
		t.Errorf("resealed under %s, want %s", r.KeyID, newKey.ID())
	}
	rotated := NewBox(newKey, nil) // WEIR_MASTER_KEY_PREVIOUS removed
	if pt, err := rotated.Open("openai", r); err != nil || string(pt) != "sk-rotate" {
		t.Fatalf("Open after rotation = %q, %v", pt, err)
	}
	if _, err := rotated.Open("openai", s); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old value without the previous key: %v, want ErrUnknownKey", err)
	}
	if _, err := rotating.Reseal("anthropic", s); !errors.Is(err, ErrOpen) {
		t.Errorf("Reseal for another owner: %v, want ErrOpen", err)
	}
	if b := NewBox(newKey, newKey); b.previous != nil {
		t.Error("a previous key equal to the current one is kept")
	}
}

func TestFromEnv(t *testing.T) {
	cur := base64.StdEncoding.EncodeToString(rawKey(1))
	prev := hex.EncodeToString(rawKey(2))
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if _, err := FromEnv(env(nil)); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("unset: %v, want ErrNoMasterKey", err)
	}
	if _, err := FromEnv(env(map[string]string{EnvMasterKey: " "})); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("blank: %v, want ErrNoMasterKey", err)
	}
	_, err := FromEnv(env(map[string]string{EnvMasterKey: "c2hvcnQ="}))
	if err == nil || !strings.HasPrefix(err.Error(), EnvMasterKey+": the master key decodes to 5 bytes") {
		t.Errorf("short key: %v", err)
	}
	_, err = FromEnv(env(map[string]string{EnvMasterKey: cur, EnvPreviousMasterKey: "nope nope"}))
	if err == nil || !strings.HasPrefix(err.Error(), EnvPreviousMasterKey+":") {
		t.Errorf("bad previous key: %v", err)
	}
	b, err := FromEnv(env(map[string]string{EnvMasterKey: cur, EnvPreviousMasterKey: prev}))
	if err != nil {
		t.Fatal(err)
	}
	if b.previous == nil || b.KeyID() != mustKey(t, rawKey(1)).ID() || b.previous.ID() != mustKey(t, rawKey(2)).ID() {
		t.Errorf("box = %v", b)
	}
}

// FuzzParseKey: the parser never panics, accepts only 32-byte keys, names
// keys by a stable 8-hex-digit id, and never repeats its input in errors.
func FuzzParseKey(f *testing.F) {
	raw := rawKey(9)
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw), hex.EncodeToString(raw),
		"", "=", "====", "zz", hex.EncodeToString(raw)[:63] + "g", base64.StdEncoding.EncodeToString(raw[:31]),
		"\x00\xff", strings.Repeat("A", 4096),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		k, err := ParseKey(in)
		if err != nil {
			if k != nil {
				t.Fatal("a key with an error")
			}
			if s := strings.TrimSpace(in); len(s) >= 12 && strings.Contains(err.Error(), s) {
				t.Fatalf("the error repeats the input: %v", err)
			}
			return
		}
		if len(k.ID()) != 8 {
			t.Fatalf("id %q", k.ID())
		}
		raw, derr := decodeKey(strings.TrimSpace(in))
		if derr != nil || len(raw) != KeySize {
			t.Fatalf("accepted a key that decodes to %d bytes (%v)", len(raw), derr)
		}
		b := NewBox(k, nil)
		s, err := b.Seal("p", []byte("v"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := b.Open("p", s); err != nil || string(pt) != "v" {
			t.Fatalf("round trip: %q, %v", pt, err)
		}
	})
}

package sso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// cookieName is the sign-in flow cookie, scoped to the callback's path.
const cookieName = "weir_oidc_flow"

// flowState is what the flow cookie carries from login to callback.
type flowState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"` // unix seconds
}

// box seals values with AES-256-GCM, so the cookie can be neither read
// (the PKCE verifier stays secret) nor forged.
type box struct{ aead cipher.AEAD }

func newBox(secret string) (*box, error) {
	var key [32]byte
	if secret == "" {
		rand.Read(key[:])
	} else {
		key = sha256.Sum256([]byte("weir oidc flow cookie v1\x00" + secret))
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("oidc cookie key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("oidc cookie key: %w", err)
	}
	return &box{aead: aead}, nil
}

func (b *box) seal(v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode flow state: %w", err)
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	rand.Read(nonce)
	out := b.aead.Seal(nonce, nonce, plain, []byte(cookieName))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

var errSealed = errors.New("flow cookie does not open")

func (b *box) open(s string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return errSealed
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(cookieName))
	if err != nil {
		return errSealed
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("decode flow state: %w", err)
	}
	return nil
}

// setCookie sets (maxAge > 0) or clears (maxAge < 0) the flow cookie.
// SameSite=Lax lets it ride the provider's top-level redirect back.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    value,
		Path:     CallbackPath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil || h.cfg.SecureCookie || strings.HasPrefix(h.cfg.RedirectURL, "https:"),
		SameSite: http.SameSiteLaxMode,
	})
}

// randomToken is 130 random bits as text, for state and nonce.
func randomToken() string { return rand.Text() }

// maxNext bounds the path kept for after sign-in.
const maxNext = 1024

// SanitizeNext returns next when it is a path on this site, else "/".
// It refuses anything a browser could read as another origin: a scheme
// ("https://x", "javascript:"), a network path ("//x"), backslashes (which
// browsers treat as slashes), control characters (which browsers strip,
// turning "/\t/x" into "//x") and over-long values.
func SanitizeNext(next string) string {
	const home = "/"
	if next == "" || next[0] != '/' || len(next) > maxNext {
		return home
	}
	if len(next) > 1 && next[1] == '/' {
		return home
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' || c >= 0x80 {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	return next
}

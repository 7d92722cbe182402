// Package ssotest is an in-process OpenID provider for tests: discovery,
// a JWKS with one RSA key, an authorize endpoint that redirects straight
// back with a code (no login page), and a token endpoint that checks PKCE
// and returns an ID token signed with go-jose. Knobs let a test make the
// provider misbehave. Only tests import it.
package ssotest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The client the provider knows.
const (
	ClientID     = "weir-test"
	ClientSecret = "weir-test-secret"
)

// Provider is a fake OpenID provider. Its exported fields may be changed
// between sign-ins; they are read under its lock.
type Provider struct {
	// Issuer is the provider's URL and issuer.
	Issuer string

	srv *httptest.Server
	key *rsa.PrivateKey
	kid string

	mu sync.Mutex
	// Claims are the ID token's claims besides iss, sub, aud, exp, iat and
	// nonce. Default: a verified alice@example.com in group weir-admins.
	claims map[string]any
	// tamper changes the ID token's claims just before signing.
	tamper func(map[string]any)
	// authError, when set, makes the authorize endpoint answer error=.
	authError string
	forger    *rsa.PrivateKey // signs instead of key when set
	down      bool
	codes     map[string]grant
	exchanges int
}

type grant struct {
	redirectURI, challenge, nonce string
	claims                        map[string]any
}

// New starts a provider, closed when the test ends.
func New(t testing.TB) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("rsa key: %v", err)
	}
	p := &Provider{
		key:   key,
		kid:   "k1",
		codes: map[string]grant{},
		claims: map[string]any{
			"sub":            "alice-1",
			"email":          "alice@example.com",
			"email_verified": true,
			"name":           "Alice",
			"groups":         []any{"weir-admins"},
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	p.Issuer = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// SetClaims replaces the claims of the next ID tokens (sub included).
func (p *Provider) SetClaims(c map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = maps.Clone(c)
}

// Tamper sets a function that edits each ID token's full claims (iss,
// aud, exp, nonce...) just before signing; nil stops tampering.
func (p *Provider) Tamper(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// AuthorizeError makes the authorize endpoint redirect back with
// error=code (e.g. access_denied); "" restores codes.
func (p *Provider) AuthorizeError(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authError = code
}

// ForgeSignatures makes the token endpoint sign ID tokens with a key that
// is not in the JWKS (under the same key id), or stops it.
func (p *Provider) ForgeSignatures(on bool) error {
	var k *rsa.PrivateKey
	if on {
		var err error
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forger = k
	return nil
}

// SetDown makes discovery answer 503 while down.
func (p *Provider) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// Exchanges counts the codes exchanged successfully.
func (p *Provider) Exchanges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanges
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"jwks_uri":                              p.Issuer + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

// authorize checks the request the way a strict provider does and
// redirects back at once, as if the person had signed in.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	switch {
	case q.Get("client_id") != ClientID,
		q.Get("response_type") != "code",
		q.Get("code_challenge_method") != "S256",
		q.Get("code_challenge") == "",
		q.Get("state") == "",
		q.Get("nonce") == "":
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	p.mu.Lock()
	if p.authError != "" {
		back.Set("error", p.authError)
		back.Set("error_description", "The person declined.")
	} else {
		code := rand.Text()
		p.codes[code] = grant{
			redirectURI: q.Get("redirect_uri"),
			challenge:   q.Get("code_challenge"),
			nonce:       q.Get("nonce"),
			claims:      maps.Clone(p.claims),
		}
		back.Set("code", code)
	}
	p.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", err.Error())
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != ClientID || secret != ClientSecret {
		w.Header().Set("WWW-Authenticate", "Basic")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, "unsupported_grant_type", "")
		return
	}
	p.mu.Lock()
	code := r.PostForm.Get("code")
	g, found := p.codes[code]
	delete(p.codes, code) // single use
	tamper, forger := p.tamper, p.forger
	p.mu.Unlock()
	if !found {
		tokenError(w, "invalid_grant", "unknown or used code")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, "invalid_grant", "PKCE verifier does not match")
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		tokenError(w, "invalid_grant", "redirect_uri differs")
		return
	}
	now := time.Now()
	claims := maps.Clone(g.claims)
	claims["iss"] = p.Issuer
	claims["aud"] = ClientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(time.Hour).Unix()
	claims["nonce"] = g.nonce
	if tamper != nil {
		tamper(claims)
	}
	key := p.key
	if forger != nil {
		key = forger
	}
	idToken, err := sign(key, p.kid, claims)
	if err != nil {
		tokenError(w, "server_error", err.Error())
		return
	}
	p.mu.Lock()
	p.exchanges++
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": rand.Text(),
		"token_type":   "Bearer",
		"expires_in":   3600,
		"id_token":     idToken,
	})
}

// Sign returns claims as a compact RS256 JWT under the provider's key.
func (p *Provider) Sign(claims map[string]any) (string, error) { return sign(p.key, p.kid, claims) }

func sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func tokenError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

package audit

import (
	"regexp"
	"strings"
	"unicode"
)

// secretWords end the names of fields that hold secrets: password_hash,
// client_secret, session_token, credentials. "tokens" (a token count) and
// "token_id" are not among them.
var secretWords = map[string]bool{
	"secret": true, "secrets": true, "password": true, "passwd": true, "passphrase": true,
	"hash": true, "token": true, "credential": true, "credentials": true,
	"authorization": true, "cookie": true, "apikey": true,
}

// keyQualifiers make "..._key" a secret: api_key, private_key, master_key.
var keyQualifiers = map[string]bool{
	"api": true, "private": true, "secret": true, "access": true, "master": true,
	"signing": true, "encryption": true, "session": true,
}

// sensitiveName reports whether a JSON field name says its value is a
// secret. Names are split into words at '_', '-', '.', spaces and
// lower-to-upper case changes (apiKey is api_key).
func sensitiveName(name string) bool {
	var words []string
	var w strings.Builder
	prev := rune(0)
	for _, r := range name {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			if w.Len() > 0 {
				words = append(words, w.String())
				w.Reset()
			}
		case unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			if w.Len() > 0 {
				words = append(words, w.String())
				w.Reset()
			}
			w.WriteRune(unicode.ToLower(r))
		default:
			w.WriteRune(unicode.ToLower(r))
		}
		prev = r
	}
	if w.Len() > 0 {
		words = append(words, w.String())
	}
	if len(words) == 0 {
		return false
	}
	last := words[len(words)-1]
	if secretWords[last] {
		return true
	}
	return last == "key" && len(words) >= 2 && keyQualifiers[words[len(words)-2]]
}

// secretRE matches strings that look like secrets whatever their field:
// Weir gateway keys (weir_) and management tokens (weirm_) past their
// short public prefix, OpenAI and Anthropic API keys, argon2 PHC hashes
// and bearer credentials.
var secretRE = regexp.MustCompile(`weirm?_[a-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|\$argon2(?:id|i|d)\$|(?i:bearer\s+\S{8,})`)

func secretLooking(s string) bool {
	return secretRE.MatchString(s)
}

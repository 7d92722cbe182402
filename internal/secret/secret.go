// Package secret seals credentials at rest: AES-256-GCM under a master key
// taken from the environment (WEIR_MASTER_KEY), with the credential's owner
// (a provider name) as additional authenticated data, so a sealed value
// opens only for the owner it was sealed for. A previous master key
// (WEIR_MASTER_KEY_PREVIOUS) is accepted for opening, so the master key can
// be rotated; Box.Stale tells which sealed values to seal again. It imports
// nothing of Weir's; any package may import it.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// The environment variables holding the master keys.
const (
	// EnvMasterKey holds the master key: 32 random bytes, base64 or hex
	// (openssl rand -base64 32).
	EnvMasterKey = "WEIR_MASTER_KEY"
	// EnvPreviousMasterKey holds the master key being rotated out: values
	// sealed under it still open, and are sealed again under the current one.
	EnvPreviousMasterKey = "WEIR_MASTER_KEY_PREVIOUS"
)

// KeySize is the master key's length in bytes (AES-256).
const KeySize = 32

// Errors wrapped by this package.
var (
	// ErrNoMasterKey: WEIR_MASTER_KEY is not set.
	ErrNoMasterKey = errors.New(EnvMasterKey + " is not set")
	// ErrUnknownKey: the value was sealed under a master key that is
	// neither the current nor the previous one.
	ErrUnknownKey = errors.New("sealed under a master key that is neither " + EnvMasterKey + " nor " + EnvPreviousMasterKey)
	// ErrOpen: the value does not open: it was altered, or it was sealed
	// for another owner.
	ErrOpen = errors.New("the sealed value does not open: altered, or sealed for another owner")
)

// aadPrefix versions the additional data, so a future format cannot be
// confused with this one.
const aadPrefix = "weir credential v1\x00"

// Key is a master key. It never prints its bytes.
type Key struct {
	id   string
	aead cipher.AEAD
}

// ParseKey reads a master key written as base64 (standard or URL alphabet,
// padded or not) or hex. The key must be exactly 32 bytes. Errors never
// repeat the input.
func ParseKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the master key is empty: generate one with `openssl rand -base64 32`")
	}
	raw, err := decodeKey(s)
	if err != nil {
		return nil, err
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("the master key decodes to %d bytes, want %d: generate one with `openssl rand -base64 32`", len(raw), KeySize)
	}
	return newKey(raw)
}

// decodeKey reads hex when the text is hex digits only (hex digits are also
// valid base64, but the base64 of 32 random bytes is never all hex digits),
// and base64 otherwise.
func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("the master key (%d characters) is neither base64 nor hex: generate one with `openssl rand -base64 32`", len(s))
}

func newKey(raw []byte) (*Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	sum := sha256.Sum256(raw)
	return &Key{id: hex.EncodeToString(sum[:4]), aead: aead}, nil
}

// ID is the key's id: the first 8 hex digits of the SHA-256 of its bytes.
// It is stored with every sealed value, so a rotation is detected.
func (k *Key) ID() string { return k.id }

// String names the key by its id only.
func (k *Key) String() string { return "master key " + k.id }

// GoString names the key by its id only, for %#v.
func (k *Key) GoString() string { return k.String() }

// LogValue names the key by its id only, for slog.
func (k *Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Sealed is a sealed value and the id of the key that sealed it.
type Sealed struct {
	Ciphertext []byte
	Nonce      []byte
	KeyID      string
}

// Box seals under the current master key and opens under the current or
// the previous one.
type Box struct {
	current  *Key
	previous *Key
}

// NewBox returns a box sealing under current; previous, when not nil, is
// accepted for opening.
func NewBox(current, previous *Key) *Box {
	if previous != nil && previous.id == current.id {
		previous = nil
	}
	return &Box{current: current, previous: previous}
}

// FromEnv builds the box from WEIR_MASTER_KEY and, when set,
// WEIR_MASTER_KEY_PREVIOUS. It returns an error wrapping ErrNoMasterKey when
// WEIR_MASTER_KEY is not set, and an error naming the variable when a key
// is malformed.
func FromEnv(getenv func(string) (string, bool)) (*Box, error) {
	v, ok := getenv(EnvMasterKey)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: set it to 32 random bytes, base64 or hex (openssl rand -base64 32)", ErrNoMasterKey)
	}
	cur, err := ParseKey(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvMasterKey, err)
	}
	var prev *Key
	if v, ok := getenv(EnvPreviousMasterKey); ok && strings.TrimSpace(v) != "" {
		if prev, err = ParseKey(v); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvPreviousMasterKey, err)
		}
	}
	return NewBox(cur, prev), nil
}

// KeyID is the current master key's id.
func (b *Box) KeyID() string { return b.current.id }

// String names the keys by their ids only.
func (b *Box) String() string {
	if b.previous != nil {
		return fmt.Sprintf("secret box (%s, previous %s)", b.current, b.previous.id)
	}
	return fmt.Sprintf("secret box (%s)", b.current)
}

// GoString is String, for %#v.
func (b *Box) GoString() string { return b.String() }

func aad(owner string) []byte { return []byte(aadPrefix + owner) }

// Seal seals plaintext for owner under the current key, with a fresh
// random nonce.
func (b *Box) Seal(owner string, plaintext []byte) (Sealed, error) {
	nonce := make([]byte, b.current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("seal: %w", err)
	}
	ct := b.current.aead.Seal(nil, nonce, plaintext, aad(owner))
	return Sealed{Ciphertext: ct, Nonce: nonce, KeyID: b.current.id}, nil
}

// Open opens a value sealed for owner. It fails with ErrUnknownKey when the
// value was sealed under neither key, and ErrOpen when it was altered or
// sealed for another owner.
func (b *Box) Open(owner string, s Sealed) ([]byte, error) {
	var k *Key
	switch {
	case s.KeyID == b.current.id:
		k = b.current
	case b.previous != nil && s.KeyID == b.previous.id:
		k = b.previous
	default:
		return nil, fmt.Errorf("key id %q: %w", s.KeyID, ErrUnknownKey)
	}
	if len(s.Nonce) != k.aead.NonceSize() {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, s.Nonce, s.Ciphertext, aad(owner))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// Stale reports whether s was sealed under another key than the current
// one, and should be sealed again (Reseal).
func (b *Box) Stale(s Sealed) bool { return s.KeyID != b.current.id }

// Reseal opens s and seals it again under the current key.
func (b *Box) Reseal(owner string, s Sealed) (Sealed, error) {
	pt, err := b.Open(owner, s)
	if err != nil {
		return Sealed{}, err
	}
	defer clear(pt)
	return b.Seal(owner, pt)
}

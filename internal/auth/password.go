package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id's costs. DefaultHashParams follow the OWASP
// password storage cheat sheet (19 MiB, 2 passes, 1 lane).
type HashParams struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultHashParams are the production costs.
var DefaultHashParams = HashParams{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MinPasswordLen and MaxPasswordLen bound a password in bytes.
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

var b64 = base64.RawStdEncoding

// HashPassword returns the argon2id PHC string of password.
func HashPassword(password string, p HashParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errBadHash is wrapped when a stored hash cannot be parsed.
var errBadHash = errors.New("not an argon2id hash")

type phc struct {
	p         HashParams
	salt, key []byte
}

// maxHashMemoryKiB bounds the memory a stored hash may ask for (1 GiB), so
// that a tampered row cannot exhaust memory.
const maxHashMemoryKiB = 1 << 20

// parsePHC parses "$argon2id$v=19$m=..,t=..,p=..$salt$key".
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return phc{}, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version || parts[2] != fmt.Sprintf("v=%d", v) {
		return phc{}, fmt.Errorf("%w: version %q", errBadHash, parts[2])
	}
	var h phc
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.p.MemoryKiB, &h.p.Time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", h.p.MemoryKiB, h.p.Time, threads) {
		return phc{}, fmt.Errorf("%w: parameters %q", errBadHash, parts[3])
	}
	if h.p.Time < 1 || h.p.Time > 64 || threads < 1 || threads > 64 || h.p.MemoryKiB < 8*threads || h.p.MemoryKiB > maxHashMemoryKiB {
		return phc{}, fmt.Errorf("%w: parameters %q out of range", errBadHash, parts[3])
	}
	h.p.Threads = uint8(threads)
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return phc{}, fmt.Errorf("%w: salt", errBadHash)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return phc{}, fmt.Errorf("%w: key", errBadHash)
	}
	return h, nil
}

// VerifyPassword reports whether password matches the PHC string hash, in
// time independent of where they differ.
func VerifyPassword(hash, password string) (bool, error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.MemoryKiB, h.p.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// CheckPassword says why a new password is refused, if it is.
func CheckPassword(password string) error {
	switch n := utf8.RuneCountInString(password); {
	case !utf8.ValidString(password):
		return fmt.Errorf("%w: the password is not valid UTF-8", ErrInvalid)
	case n < MinPasswordLen:
		return fmt.Errorf("%w: a password needs at least %d characters (got %d)", ErrInvalid, MinPasswordLen, n)
	case len(password) > MaxPasswordLen:
		return fmt.Errorf("%w: a password has at most %d bytes", ErrInvalid, MaxPasswordLen)
	}
	return nil
}

// GeneratePassword returns a random password of 26 characters (128 bits),
// for one-time passwords.
func GeneratePassword() string { return rand.Text() }

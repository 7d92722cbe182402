// Package ids makes the identifiers Weir hands out (req_, alt_...): a
// prefix and 26 base32 characters of a 48-bit millisecond timestamp and 80
// random bits, so that they sort by time and never collide in practice.
// Any package may import it.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// alphabet is Crockford's base32, lower case.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// New returns prefix and 26 characters for time t. prefix is at most 38
// bytes.
func New(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	rand.Read(b[6:])
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [64]byte
	n := copy(out[:38], prefix)
	// 128 bits as 26 base32 digits (the top digit holds 3 bits).
	for i := 25; i >= 0; i-- {
		out[n+i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:n+26])
}

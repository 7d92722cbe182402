package anthropic

import (
	"bytes"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The kinds of content_block_delta.
const (
	deltaOther    = iota // signature_delta, citations_delta, unknown: no token
	deltaText            // text_delta: completion content
	deltaThinking        // thinking_delta: reasoning
	deltaJSON            // input_json_delta: tool arguments
)

// Markers of the delta types worth reading; the others (signature_delta,
// citations_delta) are relayed without a look inside.
var (
	markText     = []byte(`"text_delta"`)
	markThinking = []byte(`"thinking_delta"`)
	markJSON     = []byte(`"input_json_delta"`)
)

var (
	keyText     = []byte(`"text"`)
	keyThinking = []byte(`"thinking"`)
	keyPartial  = []byte(`"partial_json"`)
	keyIndex    = []byte(`"index"`)
)

// readDelta reads a content_block_delta event: its kind, its text and the
// index of its block. Every delta of a stream passes here, so the common
// shape is read without encoding/json (which costs several allocations per
// call); anything unusual falls back to it. A key pattern such as "text"
// cannot occur inside a JSON string, where its quotes would be escaped. The
// fast path does not validate the rest of the event, so it is more lenient
// than encoding/json with malformed events: harmless, since the native relay
// forwards the upstream bytes and the translation builds its own JSON.
func readDelta(data []byte, dec *streamEvent, scratch *[]byte) (kind int, text string, index int, err error) {
	var key []byte
	n := 0
	if bytes.Contains(data, markText) {
		kind, key, n = deltaText, keyText, n+1
	}
	if bytes.Contains(data, markThinking) {
		kind, key, n = deltaThinking, keyThinking, n+1
	}
	if bytes.Contains(data, markJSON) {
		kind, key, n = deltaJSON, keyPartial, n+1
	}
	if n == 0 {
		return deltaOther, "", 0, nil
	}
	if n == 1 {
		idx, iok := intField(data, keyIndex)
		s, sok := stringField(data, key, scratch)
		if iok && sok {
			return kind, s, idx, nil
		}
	}
	if err := dec.decode(data); err != nil {
		return 0, "", 0, err
	}
	d := &dec.Delta
	switch d.Type {
	case "text_delta":
		return deltaText, d.Text, dec.Index, nil
	case "thinking_delta":
		return deltaThinking, d.Thinking, dec.Index, nil
	case "input_json_delta":
		return deltaJSON, d.PartialJSON, dec.Index, nil
	}
	return deltaOther, "", dec.Index, nil
}

func skipWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// valueOf returns what follows the only occurrence of key and its colon.
func valueOf(data, key []byte) ([]byte, bool) {
	i := bytes.Index(data, key)
	if i < 0 {
		return nil, false
	}
	rest := skipWS(data[i+len(key):])
	if len(rest) == 0 || rest[0] != ':' || bytes.Contains(rest, key) {
		return nil, false
	}
	return skipWS(rest[1:]), true
}

func intField(data, key []byte) (int, bool) {
	v, ok := valueOf(data, key)
	if !ok {
		return 0, false
	}
	n, i := 0, 0
	for ; i < len(v) && i < 9 && v[i] >= '0' && v[i] <= '9'; i++ {
		n = n*10 + int(v[i]-'0')
	}
	if i == 0 || i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.' || v[i] == 'e' || v[i] == 'E') {
		return 0, false
	}
	return n, true
}

func stringField(data, key []byte, scratch *[]byte) (string, bool) {
	v, ok := valueOf(data, key)
	if !ok || len(v) == 0 || v[0] != '"' {
		return "", false
	}
	return unquote(v, scratch)
}

// unquote decodes the JSON string at the start of b as encoding/json does,
// or reports false for anything it would not accept or would repair
// (invalid UTF-8), leaving those to encoding/json.
func unquote(b []byte, scratch *[]byte) (string, bool) {
	i := 1
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			raw := b[1:i]
			if !utf8.Valid(raw) {
				return "", false
			}
			return string(raw), true
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", false
		}
	}
	buf := append((*scratch)[:0], b[1:i]...)
	defer func() { *scratch = buf }()
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return "", false
			}
			return string(buf), true
		case c < 0x20:
			return "", false
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return "", false
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := hex4(b[i:])
			if r < 0 {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2 := hex4(b[i:]); r2 >= 0 {
					if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
						buf = utf8.AppendRune(buf, dec)
						i += 6
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

// hex4 reads \uXXXX at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

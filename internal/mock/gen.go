package mock

import (
	"encoding/json"
	"github.com/weirhq/weir/internal/jsonenc"
	"sort"
	"strconv"
	"unicode/utf8"
)

// The text generator: deterministic words drawn from a small vocabulary by
// a hash of the seed, the request, the choice and the token position.

var vocabulary = [...]string{
	"the", "quick", "model", "answer", "token", "stream", "gateway", "weir",
	"river", "flows", "over", "stone", "and", "water", "finds", "its",
	"way", "through", "every", "gap", "request", "reply", "cost", "budget",
	"latency", "first", "byte", "arrives", "soon", "after", "that", "then",
	"we", "measure", "each", "chunk", "carefully", "because", "numbers", "matter",
	"a", "simple", "test", "shows", "how", "it", "behaves", "under",
	"load", "with", "many", "clients", "waiting", "patiently", "for", "results",
	"so", "this", "sentence", "keeps", "going", "until", "done", "now",
}

// Pre-quoted JSON strings of the vocabulary: the first token of a text has
// a capital and no leading space, the others a leading space.
var quotedFirst, quotedRest [len(vocabulary)][]byte

// plainFirst and plainRest are the same words unquoted.
var plainFirst, plainRest [len(vocabulary)]string

func init() {
	for i, w := range vocabulary {
		first := string(w[0]-'a'+'A') + w[1:]
		plainFirst[i], plainRest[i] = first, " "+w
		quotedFirst[i] = strconv.AppendQuote(nil, first)
		quotedRest[i] = strconv.AppendQuote(nil, " "+w)
	}
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fnv64 hashes b with FNV-1a.
func fnv64(h uint64, b []byte) uint64 {
	if h == 0 {
		h = 14695981039346656037
	}
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func fnv64s(h uint64, s string) uint64 {
	if h == 0 {
		h = 14695981039346656037
	}
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// wordIndex is the vocabulary index of token i of the text seeded by seed.
func wordIndex(seed uint64, i int) int {
	return int(mix(seed+uint64(i)*0x9e3779b97f4a7c15) % uint64(len(vocabulary)))
}

// quotedWord is token i of a text as a JSON string.
func quotedWord(seed uint64, i int) []byte {
	if i == 0 {
		return quotedFirst[wordIndex(seed, i)]
	}
	return quotedRest[wordIndex(seed, i)]
}

// plainWord is token i of a text.
func plainWord(seed uint64, i int) string {
	if i == 0 {
		return plainFirst[wordIndex(seed, i)]
	}
	return plainRest[wordIndex(seed, i)]
}

// appendWords appends tokens [0, n) of a text.
func appendWords(dst []byte, seed uint64, n int) []byte {
	for i := 0; i < n; i++ {
		dst = append(dst, plainWord(seed, i)...)
	}
	return dst
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendID appends n base62 characters derived from x.
func appendID(dst []byte, x uint64, n int) []byte {
	var y uint64
	for i := 0; i < n; i++ {
		if i%10 == 0 {
			x = mix(x)
			y = x
		}
		dst = append(dst, alnum[y%62])
		y /= 62
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendHex appends n hex digits derived from x.
func appendHex(dst []byte, x uint64, n int) []byte {
	var y uint64
	for i := 0; i < n; i++ {
		if i%16 == 0 {
			x = mix(x)
			y = x
		}
		dst = append(dst, hexDigits[y&15])
		y >>= 4
	}
	return dst
}

// schema is the part of a JSON schema the argument generator reads.
type schema struct {
	Type       json.RawMessage    `json:"type"`
	Properties map[string]*schema `json:"properties"`
	Required   []string           `json:"required"`
	Enum       []json.RawMessage  `json:"enum"`
	Const      json.RawMessage    `json:"const"`
	Items      *schema            `json:"items"`
	AnyOf      []*schema          `json:"anyOf"`
	OneOf      []*schema          `json:"oneOf"`
}

// typeName is the schema's type, the first non-null one of a type list.
func (s *schema) typeName() string {
	if s == nil || len(s.Type) == 0 {
		return ""
	}
	var one string
	if json.Unmarshal(s.Type, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(s.Type, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
	}
	return ""
}

// exampleValue appends a JSON value valid for s: an object holds every
// required property (or, when required lists none and all is set, every
// property), strings are generated words. depth bounds recursion.
func exampleValue(dst []byte, s *schema, seed uint64, all bool, depth int) []byte {
	if s == nil || depth > 8 {
		return append(dst, `"value"`...)
	}
	if len(s.Const) > 0 && json.Valid(s.Const) {
		return append(dst, s.Const...)
	}
	if len(s.Enum) > 0 && json.Valid(s.Enum[0]) {
		return append(dst, s.Enum[0]...)
	}
	if len(s.AnyOf) > 0 {
		return exampleValue(dst, s.AnyOf[0], seed, all, depth+1)
	}
	if len(s.OneOf) > 0 {
		return exampleValue(dst, s.OneOf[0], seed, all, depth+1)
	}
	t := s.typeName()
	if t == "" && s.Properties != nil {
		t = "object"
	}
	switch t {
	case "object":
		dst = append(dst, '{')
		keys := s.Required
		if len(keys) == 0 && all {
			keys = make([]string, 0, len(s.Properties))
			for k := range s.Properties {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		}
		seen := make(map[string]bool, len(keys))
		n := 0
		for _, k := range keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = jsonenc.AppendString(dst, k)
			dst = append(dst, ':')
			dst = exampleValue(dst, s.Properties[k], mix(seed+uint64(n)), all, depth+1)
		}
		return append(dst, '}')
	case "array":
		dst = append(dst, '[')
		dst = exampleValue(dst, s.Items, seed, all, depth+1)
		return append(dst, ']')
	case "integer":
		return strconv.AppendInt(dst, int64(seed%100), 10)
	case "number":
		return strconv.AppendFloat(dst, float64(seed%1000)/10, 'f', -1, 64)
	case "boolean":
		return strconv.AppendBool(dst, seed%2 == 0)
	case "null":
		return append(dst, "null"...)
	default:
		dst = append(dst, '"')
		dst = appendWords(dst, seed, 3)
		return append(dst, '"')
	}
}

// splitN cuts s into at most n pieces of nearly equal length, at rune
// boundaries. Fewer pieces come back when s is shorter than n runes.
func splitN(s string, n int) []string {
	if n <= 0 || s == "" {
		return nil
	}
	runes := utf8.RuneCountInString(s)
	if n > runes {
		n = runes
	}
	out := make([]string, 0, n)
	per, extra := runes/n, runes%n
	for i := 0; i < n; i++ {
		k := per
		if i < extra {
			k++
		}
		j := 0
		for ; k > 0 && j < len(s); k-- {
			_, size := utf8.DecodeRuneInString(s[j:])
			j += size
		}
		out = append(out, s[:j])
		s = s[j:]
	}
	return out
}

// argFragments cuts tool-call arguments into the pieces a provider
// streams: about eight bytes each.
func argFragments(args string) []string {
	n := (utf8.RuneCountInString(args) + 7) / 8
	if n < 1 {
		n = 1
	}
	return splitN(args, n)
}

// breakJSON cuts a JSON document before its closing characters (the last
// brace, bracket or quote, and more while what is left still parses), as a
// model that lost track of the format would end it.
func breakJSON(doc []byte) []byte {
	for len(doc) > 0 {
		doc = doc[:len(doc)-1]
		if !json.Valid(doc) {
			break
		}
	}
	return doc
}

// splitWords cuts text into word tokens as the generator makes them: the
// first word, then each following word with the white space before it.
func splitWords(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if isSpace(text[i]) && !isSpace(text[i-1]) {
			out = append(out, text[start:i])
			start = i
		}
	}
	return append(out, text[start:])
}

// isSpace reports ASCII white space; bytes of multi-byte UTF-8 runes never
// are.
func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
)

// jsonPage is one page object of a JSON export, with where it is.
type jsonPage struct {
	raw  []byte
	base int    // offset of raw in all
	n    int    // 1-based page number
	all  []byte // the whole input, for line numbers
}

// where names the page in error messages.
func (p jsonPage) where() string {
	return fmt.Sprintf("page %d (line %d)", p.n, lineOf(p.all, p.base))
}

// decode unmarshals the page into v, with errors located in the input.
func (p jsonPage) decode(v any) error {
	if err := json.Unmarshal(p.raw, v); err != nil {
		return fmt.Errorf("%s: %w", p.where(), jsonError(p.all, p.base, err))
	}
	return nil
}

// eachJSONPage calls page for every page object in data, which holds one
// page, a JSON array of pages, or pages one after another (JSON Lines, or
// concatenated API responses).
func eachJSONPage(data []byte, page func(jsonPage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			break
		}
		if err != nil {
			return jsonError(data, 0, err)
		}
		start := int(dec.InputOffset()) - len(raw)
		switch raw[0] {
		case '{':
			n++
			if err := page(jsonPage{raw: raw, base: start, n: n, all: data}); err != nil {
				return err
			}
		case '[':
			inner := json.NewDecoder(bytes.NewReader(raw))
			if _, err := inner.Token(); err != nil {
				return jsonError(data, start, err)
			}
			for inner.More() {
				var elem json.RawMessage
				if err := inner.Decode(&elem); err != nil {
					return jsonError(data, start, err)
				}
				at := start + int(inner.InputOffset()) - len(elem)
				if elem[0] != '{' {
					return fmt.Errorf("line %d: expected a page object in the array, found %s", lineOf(data, at), preview(elem))
				}
				n++
				if err := page(jsonPage{raw: elem, base: at, n: n, all: data}); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("line %d: expected a page object or an array of pages, found %s", lineOf(data, start), preview(raw))
		}
	}
	if n == 0 {
		return errors.New("no page object in the input")
	}
	return nil
}

// jsonError locates a decoding error: base is the offset in all of the text
// that was being decoded.
func jsonError(all []byte, base int, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the offending one included.
		return fmt.Errorf("%s: invalid JSON: %w", position(all, base+int(syn.Offset)-1), err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return fmt.Errorf("%s: %s: JSON %s where %s was expected", position(all, base+int(typ.Offset)-1), field, typ.Value, kindName(typ.Type))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: unexpected end of input")
	}
	return err
}

// kindName names what a Go type reads from JSON.
func kindName(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return kindName(t.Elem())
	}
	return t.String()
}

// lineOf is the 1-based line of offset off in data.
func lineOf(data []byte, off int) int {
	off = max(0, min(off, len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// position is "line L, column C" of offset off in data.
func position(data []byte, off int) string {
	off = max(0, min(off, len(data)))
	col := off - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
	return fmt.Sprintf("line %d, column %d", lineOf(data, off), col)
}

// preview quotes the start of raw for an error message.
func preview(raw []byte) string {
	const limit = 24
	if len(raw) > limit {
		return strconv.Quote(string(raw[:limit])) + "..."
	}
	return strconv.Quote(string(raw))
}

// apiError is the error envelope both providers answer with instead of a
// page.
type apiError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// notAPage explains a page object with no data array.
func notAPage(p jsonPage, e *apiError, want string) error {
	if e != nil {
		return fmt.Errorf("%s: the API answered with an error, not a page: %s (%s)", p.where(), e.Message, e.Type)
	}
	return fmt.Errorf("%s: no \"data\" array: not a page of %s", p.where(), want)
}

// decimalText is a JSON number or a string holding one, kept as text so that
// it converts to money exactly. OpenAI documents amount.value as a number
// but has been seen sending strings; Anthropic sends a string.
type decimalText struct {
	text string
	set  bool
}

func (d *decimalText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*d = decimalText{}
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = decimalText{text: s, set: true}
	case b[0] == '-' || b[0] >= '0' && b[0] <= '9':
		*d = decimalText{text: string(b), set: true}
	default:
		return fmt.Errorf("amount %s is neither a number nor a string", preview(b))
	}
	return nil
}

// Package sse reads and writes server-sent events as the OpenAI and Anthropic
// streaming APIs use them. The reader keeps each event's exact bytes so a
// relay can forward an event unchanged after looking inside it. Any package
// may import sse.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxEventSize bounds one event, so a broken upstream cannot make the
// reader buffer without limit.
const DefaultMaxEventSize = 8 << 20

// ErrEventTooLarge is returned when an event exceeds the reader's limit.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one server-sent event.
type Event struct {
	// Type is the event field, empty for the default "message" event.
	Type string
	// Data is the data fields joined by newlines.
	Data []byte
	// ID is the last id field of the event, if any.
	ID string
	// Raw is the event exactly as read, blank-line terminator included.
	Raw []byte
}

// Reader reads events from a stream. The slices of an Event are valid only
// until the next call to Next.
type Reader struct {
	r       *bufio.Reader
	max     int
	raw     []byte
	data    []byte
	typ     []byte
	id      []byte
	pending []byte // a line whose start ReadSlice already returned
}

// NewReader returns a reader with the default event size limit.
func NewReader(r io.Reader) *Reader { return NewReaderSize(r, DefaultMaxEventSize) }

// NewReaderSize returns a reader whose events may be at most max bytes.
func NewReaderSize(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 4<<10), max: max}
}

// Next returns the next event. It returns io.EOF at a clean end of stream and
// io.ErrUnexpectedEOF when the stream ends inside an event.
func (r *Reader) Next() (Event, error) {
	r.raw = r.raw[:0]
	r.data = r.data[:0]
	r.typ = r.typ[:0]
	r.id = r.id[:0]
	hasData, hasFields := false, false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && len(r.raw) > 0 {
				if hasFields || len(bytes.TrimSpace(r.raw)) > 0 {
					return Event{}, io.ErrUnexpectedEOF
				}
				return Event{}, io.EOF
			}
			return Event{}, err
		}
		r.raw = append(r.raw, line...)
		content := trimEOL(line)
		if len(content) == 0 {
			if !hasFields {
				// A blank line with no fields before it dispatches nothing.
				r.raw = r.raw[:0]
				continue
			}
			ev := Event{Type: string(r.typ), ID: string(r.id), Raw: r.raw}
			if hasData {
				ev.Data = r.data
				if ev.Data == nil {
					ev.Data = []byte{}
				}
			}
			return ev, nil
		}
		if content[0] == ':' { // comment
			hasFields = true
			continue
		}
		hasFields = true
		field, value := content, []byte(nil)
		if i := bytes.IndexByte(content, ':'); i >= 0 {
			field, value = content[:i], content[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			r.typ = append(r.typ[:0], value...)
		case "id":
			r.id = append(r.id[:0], value...)
		}
	}
}

// readLine returns one line including its terminator (\n, \r\n or \r is
// normalised only by trimEOL; the bytes are kept as read).
func (r *Reader) readLine() ([]byte, error) {
	r.pending = r.pending[:0]
	for {
		chunk, err := r.r.ReadSlice('\n')
		if len(r.raw)+len(r.pending)+len(chunk) > r.max {
			return nil, fmt.Errorf("%w (over %d bytes)", ErrEventTooLarge, r.max)
		}
		switch err {
		case nil:
			if len(r.pending) == 0 {
				return chunk, nil
			}
			r.pending = append(r.pending, chunk...)
			return r.pending, nil
		case bufio.ErrBufferFull:
			r.pending = append(r.pending, chunk...)
			continue
		case io.EOF:
			r.pending = append(r.pending, chunk...)
			if len(r.pending) > 0 {
				// Last line without terminator: treat as a line, EOF next.
				return r.pending, nil
			}
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// AppendEvent appends an event in wire form to dst: an optional event line,
// one data line per line of data, and the blank line that ends it.
func AppendEvent(dst []byte, typ string, data []byte) []byte {
	if typ != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, typ...)
		dst = append(dst, '\n')
	}
	for {
		i := bytes.IndexByte(data, '\n')
		dst = append(dst, "data: "...)
		if i < 0 {
			dst = append(dst, data...)
			dst = append(dst, '\n')
			break
		}
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		data = data[i+1:]
	}
	return append(dst, '\n')
}

package recorder

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/weirhq/weir/internal/record"
)

// The journal is a directory of segment files named 000001.wal, 000002.wal
// and so on, each starting with segmentHeader and then holding one entry per
// line:
//
//	<type> SP <crc> SP <json> LF
//
// type is 'b' (begin: the record as known when the call arrived) or 'f'
// (finish: the complete record); crc is the CRC-32C (Castagnoli) of the type
// byte followed by the JSON, as eight lowercase hex digits; json is the
// record.Record as encoding/json writes it, which never contains a raw
// newline. A line that is cut short (no LF: the process died mid-write, or
// the machine lost unsynced pages) or whose CRC does not match is skipped
// and counted; decoding carries on at the next LF.
const segmentHeader = "weir-journal 1\n"

const (
	typeBegin  = 'b'
	typeFinish = 'f'
)

// prefixLen is len("t 01234567 ").
const prefixLen = 11

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Pos is a place in the journal: a segment number and a byte offset in it.
// Offset 0 is the start of the segment, before its header.
type Pos struct {
	Segment uint64 `json:"segment"`
	Offset  int64  `json:"offset"`
}

// Less reports whether p is before q.
func (p Pos) Less(q Pos) bool {
	return p.Segment < q.Segment || p.Segment == q.Segment && p.Offset < q.Offset
}

func (p Pos) compare(q Pos) int {
	switch {
	case p.Less(q):
		return -1
	case q.Less(p):
		return 1
	}
	return 0
}

func segmentName(seq uint64) string { return fmt.Sprintf("%06d.wal", seq) }

func segmentPath(dir string, seq uint64) string { return filepath.Join(dir, segmentName(seq)) }

// listSegments returns the segment numbers in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), ".wal")
		if !ok || de.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil || n == 0 {
			continue
		}
		seqs = append(seqs, n)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// encoder turns records into journal lines. Encoders are pooled: the hot
// path allocates only what encoding/json does.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// maxPooled is the largest buffer put back in the pool, so that one huge
// body does not pin memory.
const maxPooled = 1 << 20

func getEncoder() *encoder { return encoders.Get().(*encoder) }

func putEncoder(e *encoder) {
	if e.buf.Cap() <= maxPooled {
		encoders.Put(e)
	}
}

// encode writes the line for rec into e.buf and returns it. The slice is
// valid until the next use of e.
func (e *encoder) encode(typ byte, rec *record.Record) ([]byte, error) {
	e.buf.Reset()
	e.buf.WriteString("t 00000000 ")
	if err := e.enc.Encode(rec); err != nil { // appends LF
		return nil, err
	}
	b := e.buf.Bytes()
	b[0] = typ
	sum := crc32.Update(crc32.Update(0, castagnoli, b[:1]), castagnoli, b[prefixLen:len(b)-1])
	var c [4]byte
	c[0], c[1], c[2], c[3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	hex.Encode(b[2:10], c[:])
	return b, nil
}

// entry is one decoded journal line.
type entry struct {
	typ     byte
	payload []byte // the JSON
	line    []byte // the whole line, LF included
	// start and end are the offsets of the line in its segment.
	start, end int64
}

// parseLine checks one line (with its LF) and returns its type and JSON.
func parseLine(line []byte) (typ byte, payload []byte, ok bool) {
	if len(line) < prefixLen+2 || line[len(line)-1] != '\n' || line[1] != ' ' || line[10] != ' ' {
		return 0, nil, false
	}
	typ = line[0]
	if typ != typeBegin && typ != typeFinish {
		return 0, nil, false
	}
	var c [4]byte
	if _, err := hex.Decode(c[:], line[2:10]); err != nil {
		return 0, nil, false
	}
	want := uint32(c[0])<<24 | uint32(c[1])<<16 | uint32(c[2])<<8 | uint32(c[3])
	payload = line[prefixLen : len(line)-1]
	if crc32.Update(crc32.Update(0, castagnoli, line[:1]), castagnoli, payload) != want {
		return 0, nil, false
	}
	return typ, payload, true
}

var errUnknownFormat = errors.New("not a weir journal segment (or a newer format)")

// decoder reads the entries of one segment from r, which starts at offset
// off of the segment.
type decoder struct {
	br  *bufio.Reader
	off int64
	// bad counts lines skipped as torn or corrupt.
	bad int
}

func newDecoder(r io.Reader, off int64) *decoder {
	return &decoder{br: bufio.NewReaderSize(r, 64<<10), off: off}
}

// next returns the next valid entry, io.EOF at the end of the input, or
// errUnknownFormat when the segment header is foreign. A header cut short
// means the segment was created as the process died: it is empty.
func (d *decoder) next() (entry, error) {
	for {
		line, err := d.br.ReadBytes('\n')
		start := d.off
		d.off += int64(len(line))
		if start == 0 && len(line) > 0 {
			switch {
			case string(line) == segmentHeader:
				continue
			case err != nil && strings.HasPrefix(segmentHeader, string(line)):
				return entry{}, io.EOF
			default:
				return entry{}, errUnknownFormat
			}
		}
		if err != nil {
			if len(line) > 0 && err == io.EOF {
				d.bad++ // a torn last line
			}
			if err == io.EOF {
				return entry{}, io.EOF
			}
			return entry{}, err
		}
		typ, payload, ok := parseLine(line)
		if !ok {
			d.bad++
			continue
		}
		return entry{typ: typ, payload: payload, line: line, start: start, end: d.off}, nil
	}
}

// decodeSegment decodes a whole segment held in memory.
func decodeSegment(data []byte) (entries []entry, bad int, err error) {
	d := newDecoder(bytes.NewReader(data), 0)
	for {
		e, err := d.next()
		if err == io.EOF {
			return entries, d.bad, nil
		}
		if err != nil {
			return entries, d.bad, err
		}
		entries = append(entries, e)
	}
}

// entryID returns the record ID of an entry's JSON. Records are encoded with
// id as their first field, so the common case needs no JSON decoding.
func entryID(payload []byte) (string, error) {
	const prefix = `{"id":"`
	if rest, ok := bytes.CutPrefix(payload, []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i]), nil
		}
	}
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return "", err
	}
	return v.ID, nil
}

// fileSource reads a segment file from an offset up to a limit that can be
// raised later, so that a reader never sees bytes an append has not finished
// writing. limit < 0 means to the end of the file.
type fileSource struct {
	f     *os.File
	off   int64
	limit int64
}

func (s *fileSource) Read(p []byte) (int, error) {
	if s.limit >= 0 {
		if s.off >= s.limit {
			return 0, io.EOF
		}
		p = p[:min(int64(len(p)), s.limit-s.off)]
	}
	n, err := s.f.ReadAt(p, s.off)
	s.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// segmentReader reads one segment file through a decoder.
type segmentReader struct {
	seq uint64
	src *fileSource
	dec *decoder
}

// openSegment opens segment seq at offset off. It returns an error
// satisfying os.IsNotExist when the segment is gone.
func openSegment(dir string, seq uint64, off int64) (*segmentReader, error) {
	f, err := os.Open(segmentPath(dir, seq))
	if err != nil {
		return nil, err
	}
	src := &fileSource{f: f, off: off, limit: -1}
	return &segmentReader{seq: seq, src: src, dec: newDecoder(src, off)}, nil
}

func (r *segmentReader) pos() Pos { return Pos{r.seq, r.dec.off} }

func (r *segmentReader) close() { r.src.f.Close() }

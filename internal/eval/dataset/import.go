package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of one import.
const (
	MaxImportItems = 50000
	MaxImportBytes = 64 << 20
)

// maxLineErrors bounds the errors one import reports.
const maxLineErrors = 20

// LineError is a refused line of an import.
type LineError struct {
	Line int    `json:"line"`
	Msg  string `json:"error"`
}

// ImportError lists the refused lines of an import; nothing was imported.
type ImportError struct {
	Lines []LineError
	// More says there were more errors than listed.
	More bool
}

func (e *ImportError) Error() string {
	var sb strings.Builder
	for i, l := range e.Lines {
		if i > 0 {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "line %d: %s", l.Line, l.Msg)
	}
	if e.More {
		sb.WriteString("; and more")
	}
	return sb.String()
}

// Unwrap makes an ImportError an ErrInvalid.
func (e *ImportError) Unwrap() error { return ErrInvalid }

type collector struct {
	ImportError
}

func (c *collector) add(line int, err error) {
	if len(c.Lines) == maxLineErrors {
		c.More = true
		return
	}
	msg := strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
	c.Lines = append(c.Lines, LineError{Line: line, Msg: msg})
}

func (c *collector) err() error {
	if len(c.Lines) == 0 {
		return nil
	}
	return &c.ImportError
}

var errTooLarge = fmt.Errorf("%w: the import is over %d bytes", ErrInvalid, MaxImportBytes)
var errTooMany = fmt.Errorf("%w: the import has more than %d items", ErrInvalid, MaxImportItems)

// jsonlItem is one JSONL line.
type jsonlItem struct {
	ID         string          `json:"id"`
	Input      json.RawMessage `json:"input"`
	Messages   json.RawMessage `json:"messages"`
	Variables  json.RawMessage `json:"variables"`
	Expected   json.RawMessage `json:"expected"`
	Metadata   json.RawMessage `json:"metadata"`
	Tags       []string        `json:"tags"`
	Split      string          `json:"split"`
	SourceCall string          `json:"source_call"`
}

// inputOf reads an "input" value: a string is one user message, an array
// is messages, an object is variables.
func inputOf(raw json.RawMessage) (messages, variables json.RawMessage, err error) {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0 || string(t) == "null":
		return nil, nil, nil
	case t[0] == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, nil, err
		}
		m, _ := json.Marshal([]map[string]string{{"role": "user", "content": s}})
		return m, nil, nil
	case t[0] == '[':
		return t, nil, nil
	case t[0] == '{':
		return nil, t, nil
	}
	return nil, nil, fmt.Errorf("%w: input: want a string, a messages array or a variables object", ErrInvalid)
}

// ParseJSONL reads one item per line (blank lines are skipped). Every
// refused line is reported with its number; any refusal refuses all.
func ParseJSONL(r io.Reader) ([]Item, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, MaxImportBytes+1), 64<<10)
	var (
		out   []Item
		errs  collector
		total int
	)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		total += len(b)
		if total > MaxImportBytes {
			return nil, errTooLarge
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read import: %w", err)
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if len(out) == MaxImportItems {
				return nil, errTooMany
			}
			it, perr := parseJSONLLine(t)
			if perr != nil {
				errs.add(line, perr)
			}
			out = append(out, it)
		}
		if err == io.EOF {
			break
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the import has no items", ErrInvalid)
	}
	return out, nil
}

func parseJSONLLine(b []byte) (Item, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l jsonlItem
	if err := dec.Decode(&l); err != nil {
		return Item{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return Item{}, fmt.Errorf("%w: one JSON object per line", ErrInvalid)
	}
	it := Item{ID: l.ID, Messages: l.Messages, Variables: l.Variables, Expected: l.Expected, Metadata: l.Metadata, Tags: l.Tags, Split: l.Split, SourceCall: l.SourceCall}
	if len(l.Input) > 0 {
		if len(l.Messages) > 0 || len(l.Variables) > 0 {
			return Item{}, fmt.Errorf("%w: give input, messages or variables, one of them", ErrInvalid)
		}
		m, v, err := inputOf(l.Input)
		if err != nil {
			return Item{}, fmt.Errorf("%w: input: %v", ErrInvalid, err)
		}
		it.Messages, it.Variables = m, v
	}
	if err := it.Validate(); err != nil {
		return Item{}, err
	}
	return it, nil
}

// ParseCSV reads a header row and one item per row. Columns: id, input
// (text: one user message; or a JSON messages array, when the cell is an
// array in valid JSON), messages (JSON),
// variables.NAME (one per variable, text), expected (text), tags (a comma
// list), split, source_call, metadata.KEY (text). Unknown columns are
// refused. Line numbers are the file's (a quoted cell may span lines).
func ParseCSV(r io.Reader) ([]Item, error) {
	lr := &limitedReader{r: r, n: MaxImportBytes}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = 0
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(lr.err, errTooLarge) {
		return nil, errTooLarge
	}
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: the import has no header row", ErrInvalid)
		}
		return nil, &ImportError{Lines: []LineError{{Line: 1, Msg: err.Error()}}}
	}
	var errs collector
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		header[i] = h
		switch {
		case h == "id", h == "input", h == "messages", h == "expected", h == "tags", h == "split", h == "source_call":
		case strings.HasPrefix(h, "variables.") && len(h) > len("variables."):
		case strings.HasPrefix(h, "metadata.") && len(h) > len("metadata."):
		default:
			errs.add(1, fmt.Errorf("column %q: want id, input, messages, variables.NAME, expected, tags, split, source_call or metadata.KEY", h))
		}
		if seen[h] {
			errs.add(1, fmt.Errorf("column %q appears twice", h))
		}
		seen[h] = true
	}
	if seen["input"] && seen["messages"] {
		errs.add(1, errors.New("give an input or a messages column, not both"))
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	var out []Item
	for {
		rec, err := cr.Read()
		if errors.Is(lr.err, errTooLarge) {
			return nil, errTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs.add(pe.StartLine, pe.Err)
				if pe.Err != csv.ErrFieldCount {
					break // the rest cannot be trusted to be read right
				}
				continue
			}
			return nil, fmt.Errorf("read import: %w", err)
		}
		if len(out) == MaxImportItems {
			return nil, errTooMany
		}
		line, _ := cr.FieldPos(0)
		it, perr := csvItem(header, rec)
		if perr != nil {
			errs.add(line, perr)
		}
		out = append(out, it)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: the import has no items", ErrInvalid)
	}
	return out, nil
}

func csvItem(header, rec []string) (Item, error) {
	var it Item
	vars := map[string]string{}
	meta := map[string]string{}
	for i, h := range header {
		v := rec[i]
		switch {
		case h == "id":
			it.ID = strings.TrimSpace(v)
		case h == "input":
			if t := strings.TrimSpace(v); strings.HasPrefix(t, "[") && json.Valid([]byte(t)) {
				it.Messages = json.RawMessage(v)
			} else if v != "" {
				it.Messages, _ = json.Marshal([]map[string]string{{"role": "user", "content": v}})
			}
		case h == "messages":
			if strings.TrimSpace(v) != "" {
				if !json.Valid([]byte(v)) {
					return Item{}, fmt.Errorf("%w: messages: not JSON", ErrInvalid)
				}
				it.Messages = json.RawMessage(v)
			}
		case h == "expected":
			if v != "" {
				it.Expected, _ = json.Marshal(v)
			}
		case h == "tags":
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					it.Tags = append(it.Tags, t)
				}
			}
		case h == "split":
			it.Split = strings.TrimSpace(v)
		case h == "source_call":
			it.SourceCall = strings.TrimSpace(v)
		case strings.HasPrefix(h, "variables."):
			vars[strings.TrimPrefix(h, "variables.")] = v
		case strings.HasPrefix(h, "metadata."):
			if v != "" {
				meta[strings.TrimPrefix(h, "metadata.")] = v
			}
		}
	}
	varsSet := false
	for _, v := range vars {
		varsSet = varsSet || v != ""
	}
	if len(vars) > 0 && (varsSet || len(it.Messages) == 0) {
		if len(it.Messages) > 0 {
			return Item{}, fmt.Errorf("%w: a row has input messages or variables, not both", ErrInvalid)
		}
		it.Variables, _ = json.Marshal(vars)
	}
	if len(meta) > 0 {
		it.Metadata, _ = json.Marshal(meta)
	}
	if err := it.Validate(); err != nil {
		return Item{}, err
	}
	return it, nil
}

// limitedReader fails once more than n bytes are read.
type limitedReader struct {
	r   io.Reader
	n   int64
	err error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.err = errTooLarge
		return 0, l.err
	}
	return n, err
}

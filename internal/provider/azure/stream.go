package azure

import (
	"bytes"
	"errors"

	"github.com/buger/jsonparser"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/provider"
)

// stream is the openai adapter's stream with Azure's differences: a
// content-filter report (an annotation with "filtered": true, or an error
// chunk with code content_filter) is marked as such; Azure's first chunk,
// which only carries prompt_filter_results, is read but not relayed; and
// the deployment's configured model, when there is one, is reported as the
// model that answered.
type stream struct {
	provider.Stream
	model string // the deployment's configured model, reported on every event
}

func (s *stream) Next() (provider.Event, error) {
	ev, err := s.Stream.Next()
	if err != nil {
		return ev, err
	}
	if ev.Err != nil {
		classify(ev.Err)
	}
	if ev.FinishReason == "" && mayBeFiltered(ev.Data) {
		if f, _ := Filtered(eventJSON(ev.Data)); f {
			ev.FinishReason = provider.FinishContentFilter
		}
	}
	if preludeOnly(&ev) {
		// Azure's first chunk, with empty id, object and model, is not an
		// OpenAI chunk: strict clients reject it.
		ev.Data, ev.Drop = nil, true
	}
	if s.model != "" {
		ev.ResponseModel = s.model
	}
	return ev, nil
}

// preludeOnly reports whether ev is a chunk that carries only
// prompt_filter_results: no choices, usage or error.
func preludeOnly(ev *provider.Event) bool {
	return !ev.Token && !ev.Done && ev.Usage == nil && ev.Err == nil &&
		bytes.Contains(ev.Data, promptFilterKey) && bytes.Contains(ev.Data, noChoices)
}

var (
	promptFilterKey = []byte(`"prompt_filter_results"`)
	noChoices       = []byte(`"choices":[]`)
	filteredKey     = []byte(`"filtered"`)
	trueWord        = []byte("true")
)

// mayBeFiltered is a cheap test that lets most chunks (whose annotations
// all say "filtered":false, or which carry none) skip Filtered.
func mayBeFiltered(b []byte) bool {
	i := bytes.Index(b, filteredKey)
	return i >= 0 && bytes.Contains(b[i:], trueWord)
}

// eventJSON is the JSON object of a one-line SSE event.
func eventJSON(raw []byte) []byte {
	i, j := bytes.IndexByte(raw, '{'), bytes.LastIndexByte(raw, '}')
	if i < 0 || j < i {
		return nil
	}
	return raw[i : j+1]
}

var errNotObject = errors.New("not a JSON object")

// Filtered reports whether an Azure chat answer or chunk says its content
// filter blocked something: a category with "filtered": true in
// prompt_filter_results[].content_filter_results or in
// choices[].content_filter_results. Annotations that only detected
// something (jailbreak "detected": true, "filtered": false) do not count.
func Filtered(body []byte) (bool, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return false, errNotObject
	}
	found := false
	var perr error
	scan := func(list []byte) {
		_, err := jsonparser.ArrayEach(list, func(item []byte, vt jsonparser.ValueType, _ int, _ error) {
			if vt != jsonparser.Object {
				return
			}
			res, rt, _, err := jsonparser.Get(item, "content_filter_results")
			if err != nil || rt != jsonparser.Object {
				return
			}
			if err := jsonparser.ObjectEach(res, func(_, cat []byte, ct jsonparser.ValueType, _ int) error {
				if ct != jsonparser.Object {
					return nil
				}
				if f, err := jsonparser.GetBoolean(cat, "filtered"); err == nil && f {
					found = true
				}
				return nil
			}); err != nil && perr == nil {
				perr = err
			}
		})
		if err != nil && perr == nil {
			perr = err
		}
	}
	for _, key := range []string{"prompt_filter_results", "choices"} {
		v, vt, _, err := jsonparser.Get(body, key)
		switch {
		case errors.Is(err, jsonparser.KeyPathNotFoundError):
			continue
		case err != nil:
			return false, apierror.Wrap(apierror.UpstreamBadResponse, err, "the provider sent malformed JSON")
		case vt == jsonparser.Array:
			scan(v)
		}
	}
	if perr != nil {
		return found, apierror.Wrap(apierror.UpstreamBadResponse, perr, "the provider sent malformed content filter results")
	}
	return found, nil
}

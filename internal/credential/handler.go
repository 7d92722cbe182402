package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/weirhq/weir/internal/httpjson"
)

// maxBody bounds a PUT body.
const maxBody = 64 << 10

// Handler serves /api/v1/providers/{name}/credential: PUT stores a key
// ({"api_key": "..."}, answered with its Info), GET answers its Info,
// DELETE removes it (204). The key is never in an answer. Register it for
// the three methods on a pattern with a {name} wildcard.
func (m *Manager) Handler() http.Handler {
	return http.HandlerFunc(m.serve)
}

func (m *Manager) serve(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	switch r.Method {
	case http.MethodPut:
		key, ok := readKey(w, r)
		if !ok {
			return
		}
		info, err := m.Put(r.Context(), name, key)
		if err != nil {
			m.writeErr(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, info)
	case http.MethodGet:
		info, err := m.Get(r.Context(), name)
		if err != nil {
			m.writeErr(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, info)
	case http.MethodDelete:
		if err := m.Delete(r.Context(), name); err != nil {
			m.writeErr(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		httpjson.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not supported: use GET, PUT or DELETE")
	}
}

// readKey decodes {"api_key": "..."} strictly. Its errors never quote the
// body: it holds the key.
func readKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, "too_large", "the body is over 64 KiB")
		return "", false
	}
	var in struct {
		APIKey *string `json:"api_key"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || dec.More() {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", `the body must be {"api_key": "<the provider's key>"} and nothing else`)
		return "", false
	}
	if in.APIKey == nil {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "api_key is required")
		return "", false
	}
	return *in.APIKey, true
}

func (m *Manager) writeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnknownProvider):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error()+": it is not in the configuration")
	case errors.Is(err, ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, ErrNoMasterKey):
		httpjson.Error(w, http.StatusServiceUnavailable, "master_key_unset", err.Error())
	case errors.Is(err, ErrNotStored):
		httpjson.Error(w, http.StatusConflict, "not_stored", err.Error())
	case errors.Is(err, ErrInvalid):
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		m.log.Error("provider key", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "the provider key could not be changed or read")
	}
}

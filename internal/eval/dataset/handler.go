package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/store"
)

// maxJSONBody bounds a JSON body other than items.
const maxJSONBody = 1 << 20

// Routes lists the datasets API, each served by Handler.
var Routes = []auth.Route{
	{Method: "GET", Path: "/api/v1/datasets", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/datasets", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/datasets/{name}", Permission: auth.Read},
	{Method: "GET", Path: "/api/v1/datasets/{name}/versions", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/datasets/{name}/items", Permission: auth.WriteEvals},
	{Method: "PUT", Path: "/api/v1/datasets/{name}/items/{id}", Permission: auth.WriteEvals},
	{Method: "DELETE", Path: "/api/v1/datasets/{name}/items/{id}", Permission: auth.WriteEvals},
	{Method: "POST", Path: "/api/v1/datasets/{name}/items/from-calls", Permission: auth.WriteEvals},
}

// Handler serves the routes in Routes. It routes by itself, so it may be
// mounted once per route or on its own.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/datasets", s.list)
	mux.HandleFunc("POST /api/v1/datasets", s.create)
	mux.HandleFunc("GET /api/v1/datasets/{name}", s.get)
	mux.HandleFunc("GET /api/v1/datasets/{name}/versions", s.versions)
	mux.HandleFunc("POST /api/v1/datasets/{name}/items", s.addItems)
	mux.HandleFunc("PUT /api/v1/datasets/{name}/items/{id}", s.putItem)
	mux.HandleFunc("DELETE /api/v1/datasets/{name}/items/{id}", s.deleteItem)
	mux.HandleFunc("POST /api/v1/datasets/{name}/items/from-calls", s.fromCalls)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		httpjson.Error(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", req.Method, req.URL.Path))
	})
	return mux
}

func (s *Service) list(w http.ResponseWriter, req *http.Request) {
	l, err := s.List(req.Context(), req.URL.Query().Get("use_case"))
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"datasets": l})
}

// createRequest is the body of POST /api/v1/datasets.
type createRequest struct {
	Name        string `json:"name"`
	UseCase     string `json:"use_case,omitempty"`
	Description string `json:"description,omitempty"`
	// Items, optional, make version 1.
	Items []Item `json:"items,omitempty"`
}

func (s *Service) create(w http.ResponseWriter, req *http.Request) {
	var in createRequest
	if !decode(w, req, &in, MaxImportBytes) {
		return
	}
	for i := range in.Items {
		if err := in.Items[i].Validate(); err != nil {
			s.fail(w, fmt.Errorf("items[%d]: %w", i, err))
			return
		}
	}
	d, err := s.Create(req.Context(), Dataset{Name: in.Name, UseCase: in.UseCase, Description: in.Description}, actorName(req))
	if err != nil {
		s.fail(w, err)
		return
	}
	if len(in.Items) > 0 {
		if _, err := s.AddItems(req.Context(), in.Name, in.Items, "created", actorName(req)); err != nil {
			s.fail(w, err)
			return
		}
		if d, err = s.Get(req.Context(), in.Name); err != nil {
			s.fail(w, err)
			return
		}
	}
	httpjson.Write(w, http.StatusCreated, d)
}

func (s *Service) get(w http.ResponseWriter, req *http.Request) {
	name, q := req.PathValue("name"), req.URL.Query()
	version, ok := intParam(w, q.Get("version"), "version")
	if !ok {
		return
	}
	limit, ok := intParam(w, q.Get("limit"), "limit")
	if !ok {
		return
	}
	d, err := s.Get(req.Context(), name)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := map[string]any{"dataset": d, "version": nil, "items": []Entry{}}
	if d.LatestVersion > 0 || version > 0 {
		v, err := s.Version(req.Context(), name, version)
		if err != nil {
			s.fail(w, err)
			return
		}
		p, err := s.Items(req.Context(), name, v.Version, q.Get("cursor"), limit)
		if err != nil {
			s.fail(w, err)
			return
		}
		out["version"], out["items"] = v, p.Items
		if p.Next != "" {
			out["next"] = p.Next
		}
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (s *Service) versions(w http.ResponseWriter, req *http.Request) {
	vs, err := s.Versions(req.Context(), req.PathValue("name"))
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"versions": vs})
}

func (s *Service) addItems(w http.ResponseWriter, req *http.Request) {
	name, by := req.PathValue("name"), actorName(req)
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	var format string
	switch ct {
	case "application/jsonl", "application/x-ndjson", "application/x-jsonlines", "application/jsonlines":
		format = "jsonl"
	case "text/csv":
		format = "csv"
	case "application/json", "":
	default:
		httpjson.Error(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json (an array of items), application/jsonl or text/csv")
		return
	}
	if format != "" {
		v, err := s.Import(req.Context(), name, format, http.MaxBytesReader(w, req.Body, MaxImportBytes+1), by)
		if err != nil {
			s.fail(w, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, v)
		return
	}
	var items []Item
	if !decode(w, req, &items, MaxImportBytes) {
		return
	}
	v, err := s.AddItems(req.Context(), name, items, "add "+strconv.Itoa(len(items))+" items", by)
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, v)
}

func (s *Service) putItem(w http.ResponseWriter, req *http.Request) {
	var it Item
	if !decode(w, req, &it, maxItemBytes*2) {
		return
	}
	id := req.PathValue("id")
	if it.ID != "" && it.ID != id {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "the body's id differs from the path's")
		return
	}
	it.ID = id
	v, err := s.ReplaceItem(req.Context(), req.PathValue("name"), it, actorName(req))
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, v)
}

func (s *Service) deleteItem(w http.ResponseWriter, req *http.Request) {
	v, err := s.RemoveItem(req.Context(), req.PathValue("name"), req.PathValue("id"), actorName(req))
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, v)
}

// fromCallsRequest is the body of POST .../items/from-calls.
type fromCallsRequest struct {
	CallIDs              []string `json:"call_ids"`
	ExpectedFromResponse bool     `json:"expected_from_response,omitempty"`
}

func (s *Service) fromCalls(w http.ResponseWriter, req *http.Request) {
	var in fromCallsRequest
	if !decode(w, req, &in, maxJSONBody) {
		return
	}
	v, err := s.AddCalls(req.Context(), req.PathValue("name"), in.CallIDs, in.ExpectedFromResponse, actorName(req))
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, v)
}

func intParam(w http.ResponseWriter, s, name string) (int, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", name+" must be a positive number")
		return 0, false
	}
	return n, true
}

// actorName is who a change is stored as made by.
func actorName(req *http.Request) string {
	a := audit.ActorFrom(req.Context())
	if a.Name != "" {
		return a.Name
	}
	return a.Kind
}

// decode reads a JSON body strictly into v, answering the error itself.
func decode(w http.ResponseWriter, req *http.Request, v any, limit int64) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	if err != nil {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", limit))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "the body: "+err.Error())
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "the body must be one JSON value")
		return false
	}
	return true
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	var ie *ImportError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ie):
		httpjson.Write(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"code": "invalid_import", "message": "nothing was imported: " + ie.Error(), "lines": ie.Lines, "more": ie.More}})
	case errors.As(err, &mbe), errors.Is(err, errTooLarge):
		httpjson.Error(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", MaxImportBytes))
	case errors.Is(err, store.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrConflict):
		httpjson.Error(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, ErrNoBody):
		httpjson.Error(w, http.StatusUnprocessableEntity, "call_not_usable", err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, store.ErrInvalidQuery):
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		s.opt.Log.Error("datasets", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "the datasets service could not answer")
	}
}

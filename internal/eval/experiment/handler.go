package experiment

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/store"
)

// maxBody bounds a specification.
const maxBody = 1 << 20

// Routes lists the routes Handler serves.
var Routes = []auth.Route{
	{Method: "GET", Path: "/api/v1/experiments", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/experiments", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/experiments/{name}", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/experiments/{name}/cancel", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/experiments/{name}/results", Permission: auth.Read},
	{Method: "GET", Path: "/api/v1/experiments/{name}/compare", Permission: auth.Read},
}

// Handler serves the routes in Routes. It routes by itself, so it may be
// mounted once per route or on its own. The principal comes from the
// request's context (auth.WithPrincipal).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/experiments", s.list)
	mux.HandleFunc("POST /api/v1/experiments", s.create)
	mux.HandleFunc("GET /api/v1/experiments/{name}", s.get)
	mux.HandleFunc("POST /api/v1/experiments/{name}/cancel", s.cancel)
	mux.HandleFunc("GET /api/v1/experiments/{name}/results", s.results)
	mux.HandleFunc("GET /api/v1/experiments/{name}/compare", s.compare)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		httpjson.Error(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", req.Method, req.URL.Path))
	})
	return mux
}

// actor is the person the request comes from (a token's person too).
func actor(req *http.Request) string {
	p, ok := auth.PrincipalFrom(req.Context())
	if !ok {
		return ""
	}
	if p.Person != "" {
		return p.Person
	}
	return p.Name()
}

func (s *Service) list(w http.ResponseWriter, req *http.Request) {
	l, err := s.List(req.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"experiments": l})
}

func (s *Service) create(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", maxBody))
		return
	}
	sp, err := DecodeSpec(body)
	if err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.Create(req.Context(), sp, actor(req))
	if err != nil {
		s.fail(w, err)
		return
	}
	status := http.StatusAccepted
	if c.Resumed {
		status = http.StatusOK
	}
	httpjson.Write(w, status, c)
}

func (s *Service) get(w http.ResponseWriter, req *http.Request) {
	e, err := s.Get(req.Context(), req.PathValue("name"))
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, e)
}

func (s *Service) cancel(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	if err := s.Cancel(req.Context(), name); err != nil {
		s.fail(w, err)
		return
	}
	if err := s.Wait(req.Context(), name); err != nil {
		s.fail(w, err)
		return
	}
	e, err := s.Get(req.Context(), name)
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, e)
}

func (s *Service) results(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	rs, err := s.Results(req.Context(), name)
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"experiment": name, "results": rs})
}

func (s *Service) compare(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	c, err := s.Compare(req.Context(), req.PathValue("name"), q.Get("a"), q.Get("b"))
	if err != nil {
		s.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, c)
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrConflict), errors.Is(err, ErrRunning):
		httpjson.Error(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, eval.ErrInvalid), errors.Is(err, store.ErrInvalidQuery):
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		s.opt.Log.Error("experiment", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "the experiments service could not answer")
	}
}

package review

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/store"
)

const maxBody = 1 << 20

// Routes lists the routes Handler serves with the permission each needs.
// None is team-scoped: queues belong to use cases, which span teams, and a
// reviewer sees the calls they are given whatever their team.
var Routes = []auth.Route{
	{Method: "POST", Path: "/api/v1/review-queues", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/review-queues", Permission: auth.Read},
	{Method: "GET", Path: "/api/v1/review-queues/{name}", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/review-queues/{name}/items", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/review-queues/{name}/items", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/review-queues/{name}/next", Permission: auth.Review},
	{Method: "POST", Path: "/api/v1/review-queues/{name}/items/{id}/renew", Permission: auth.Review},
	{Method: "POST", Path: "/api/v1/review-queues/{name}/items/{id}/review", Permission: auth.Review},
	{Method: "POST", Path: "/api/v1/review-queues/{name}/items/{id}/skip", Permission: auth.Review},
}

// Handler serves the routes in Routes. The principal comes from the
// request's context (auth.WithPrincipal); the reviewer is its person.
func (s *Service) Handler() http.Handler {
	h := handler{s: s}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/review-queues", h.create)
	mux.HandleFunc("GET /api/v1/review-queues", h.list)
	mux.HandleFunc("GET /api/v1/review-queues/{name}", h.get)
	mux.HandleFunc("POST /api/v1/review-queues/{name}/items", h.add)
	mux.HandleFunc("GET /api/v1/review-queues/{name}/items", h.items)
	mux.HandleFunc("POST /api/v1/review-queues/{name}/next", h.next)
	mux.HandleFunc("POST /api/v1/review-queues/{name}/items/{id}/renew", h.renew)
	mux.HandleFunc("POST /api/v1/review-queues/{name}/items/{id}/review", h.review)
	mux.HandleFunc("POST /api/v1/review-queues/{name}/items/{id}/skip", h.skip)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		httpjson.Error(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", req.Method, req.URL.Path))
	})
	return mux
}

type handler struct{ s *Service }

// person is who the request comes from: the person (a token's person too).
func person(req *http.Request) string {
	p, ok := auth.PrincipalFrom(req.Context())
	if !ok {
		return ""
	}
	if p.Person != "" {
		return p.Person
	}
	return p.Name()
}

// decodeStrict reads one JSON object with no unknown fields; an empty body
// is allowed when optional.
func decodeStrict(w http.ResponseWriter, req *http.Request, v any, optional bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%w: the body is over %d bytes", ErrInvalid, maxBody)
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return DecodeBody(body, v)
}

// DecodeBody decodes one JSON object strictly (no unknown fields, nothing
// after it).
func DecodeBody(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: the body: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: the body must be one JSON object", ErrInvalid)
	}
	return nil
}

func (h handler) create(w http.ResponseWriter, req *http.Request) {
	var in QueueInput
	if err := decodeStrict(w, req, &in, false); err != nil {
		h.fail(w, err)
		return
	}
	q, err := h.s.CreateQueue(req.Context(), in, person(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, q)
}

func (h handler) list(w http.ResponseWriter, req *http.Request) {
	qs, err := h.s.Queues(req.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"queues": qs})
}

func (h handler) get(w http.ResponseWriter, req *http.Request) {
	q, err := h.s.Queue(req.Context(), req.PathValue("name"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, q)
}

// addBody is the body of POST .../items.
type addBody struct {
	Items []ItemInput `json:"items"`
}

func (h handler) add(w http.ResponseWriter, req *http.Request) {
	var in addBody
	if err := decodeStrict(w, req, &in, false); err != nil {
		h.fail(w, err)
		return
	}
	n, err := h.s.AddItems(req.Context(), req.PathValue("name"), in.Items, person(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"added": n, "skipped": len(in.Items) - n})
}

func (h handler) items(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	var offset, limit int
	for _, f := range []struct {
		key string
		dst *int
	}{{"offset", &offset}, {"limit", &limit}} {
		if v := q.Get(f.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				h.fail(w, fmt.Errorf("%w: %s must be a whole number from 0", ErrInvalid, f.key))
				return
			}
			*f.dst = n
		}
	}
	l, err := h.s.Items(req.Context(), req.PathValue("name"), offset, limit)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"items": l})
}

func (h handler) next(w http.ResponseWriter, req *http.Request) {
	t, err := h.s.Next(req.Context(), req.PathValue("name"), person(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, t)
}

func (h handler) renew(w http.ResponseWriter, req *http.Request) {
	it, err := h.s.Renew(req.Context(), req.PathValue("name"), req.PathValue("id"), person(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, it)
}

func (h handler) review(w http.ResponseWriter, req *http.Request) {
	var in Submission
	if err := decodeStrict(w, req, &in, false); err != nil {
		h.fail(w, err)
		return
	}
	it, scores, err := h.s.Submit(req.Context(), req.PathValue("name"), req.PathValue("id"), person(req), in)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"item": it, "scores": scores})
}

// skipBody is the optional body of POST .../skip.
type skipBody struct {
	Reason string `json:"reason,omitempty"`
}

func (h handler) skip(w http.ResponseWriter, req *http.Request) {
	var in skipBody
	if err := decodeStrict(w, req, &in, true); err != nil {
		h.fail(w, err)
		return
	}
	it, err := h.s.Skip(req.Context(), req.PathValue("name"), req.PathValue("id"), person(req), in.Reason)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"item": it})
}

func (h handler) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrEmpty):
		httpjson.Error(w, http.StatusNotFound, "queue_empty", err.Error())
	case errors.Is(err, store.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrConflict):
		httpjson.Error(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, eval.ErrInvalid), errors.Is(err, store.ErrInvalidQuery):
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		h.s.log.Error("review", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "the review service could not answer")
	}
}

package criteria

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/store"
)

// maxBody bounds a request body (a batch of scores is the largest).
const maxBody = 4 << 20

// Routes lists the routes Handler serves with the permission each needs.
// None is team-scoped: criteria and scores belong to use cases, not teams.
var Routes = []auth.Route{
	{Method: "GET", Path: "/api/v1/criteria", Permission: auth.Read},
	{Method: "GET", Path: "/api/v1/criteria/{name}", Permission: auth.Read},
	{Method: "PUT", Path: "/api/v1/criteria/{name}", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/criteria/{name}/versions", Permission: auth.Read},
	{Method: "GET", Path: "/api/v1/criteria/{name}/versions/{version}", Permission: auth.Read},
	{Method: "GET", Path: "/api/v1/criteria/{name}/changes", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/criteria/{name}/changes/{id}/approve", Permission: auth.WriteEvals},
	{Method: "POST", Path: "/api/v1/criteria/{name}/changes/{id}/reject", Permission: auth.WriteEvals},
	{Method: "POST", Path: "/api/v1/criteria/{name}/changes/{id}/withdraw", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/criteria/{name}/history", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/scores", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/scores", Permission: auth.Read},
}

// Handler serves the routes in Routes. It routes by itself, so it may be
// mounted once per route or on its own. The principal comes from the
// request's context (auth.WithPrincipal).
func (s *Service) Handler() http.Handler {
	h := handler{s: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/criteria", h.list)
	mux.HandleFunc("GET /api/v1/criteria/{name}", h.get)
	mux.HandleFunc("PUT /api/v1/criteria/{name}", h.put)
	mux.HandleFunc("GET /api/v1/criteria/{name}/versions", h.versions)
	mux.HandleFunc("GET /api/v1/criteria/{name}/versions/{version}", h.version)
	mux.HandleFunc("GET /api/v1/criteria/{name}/changes", h.changes)
	mux.HandleFunc("POST /api/v1/criteria/{name}/changes/{id}/approve", h.decide(store.ChangeApproved))
	mux.HandleFunc("POST /api/v1/criteria/{name}/changes/{id}/reject", h.decide(store.ChangeRejected))
	mux.HandleFunc("POST /api/v1/criteria/{name}/changes/{id}/withdraw", h.decide(store.ChangeWithdrawn))
	mux.HandleFunc("GET /api/v1/criteria/{name}/history", h.history)
	mux.HandleFunc("POST /api/v1/scores", h.putScores)
	mux.HandleFunc("GET /api/v1/scores", h.listScores)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		httpjson.Error(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", req.Method, req.URL.Path))
	})
	return mux
}

type handler struct{ s *Service }

// actor is who the request comes from: the person (a token's person too),
// and whether their role is admin.
func actor(req *http.Request) Actor {
	p, ok := auth.PrincipalFrom(req.Context())
	if !ok {
		return Actor{}
	}
	name := p.Person
	if name == "" {
		name = p.Name()
	}
	return Actor{Name: name, Admin: p.Role == auth.Admin}
}

func (h handler) list(w http.ResponseWriter, req *http.Request) {
	l, err := h.s.List(req.Context(), req.URL.Query().Get("use_case"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"criteria": l})
}

func (h handler) get(w http.ResponseWriter, req *http.Request) {
	c, err := h.s.Get(req.Context(), req.PathValue("name"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, c)
}

// DecodeInput reads a PUT criterion body strictly: one JSON object, no
// unknown fields (in the definition either).
func DecodeInput(body []byte) (Input, error) {
	var in Input
	err := decodeStrict(body, &in)
	return in, err
}

func decodeStrict(body []byte, v any) error {
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

func readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", maxBody))
		return nil, false
	}
	return body, true
}

func (h handler) put(w http.ResponseWriter, req *http.Request) {
	body, ok := readBody(w, req)
	if !ok {
		return
	}
	in, err := DecodeInput(body)
	if err != nil {
		h.fail(w, err)
		return
	}
	res, err := h.s.Put(req.Context(), req.PathValue("name"), in, actor(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	status := http.StatusOK
	if res.Status == StatusPending {
		status = http.StatusAccepted
	}
	httpjson.Write(w, status, res)
}

func (h handler) versions(w http.ResponseWriter, req *http.Request) {
	vs, err := h.s.Versions(req.Context(), req.PathValue("name"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"versions": vs})
}

func (h handler) version(w http.ResponseWriter, req *http.Request) {
	n, err := strconv.Atoi(req.PathValue("version"))
	if err != nil || n <= 0 {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "the version must be a positive number")
		return
	}
	v, err := h.s.Version(req.Context(), req.PathValue("name"), n)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, v)
}

func (h handler) changes(w http.ResponseWriter, req *http.Request) {
	l, err := h.s.Changes(req.Context(), req.PathValue("name"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"changes": l})
}

// decision is the body of approve, reject and withdraw (optional for
// approve and withdraw).
type decision struct {
	Reason string `json:"reason,omitempty"`
}

func (h handler) decide(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		body, ok := readBody(w, req)
		if !ok {
			return
		}
		var d decision
		if len(bytes.TrimSpace(body)) > 0 {
			if err := decodeStrict(body, &d); err != nil {
				h.fail(w, err)
				return
			}
		}
		ch, err := h.s.Decide(req.Context(), req.PathValue("name"), req.PathValue("id"), status, d.Reason, actor(req))
		if err != nil {
			h.fail(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, ch)
	}
}

func parseTime(q url.Values, key string) (time.Time, error) {
	v := q.Get(key)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("%w: %s: want an RFC 3339 time", store.ErrInvalidQuery, key)
	}
	return t, nil
}

func (h handler) history(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	from, err := parseTime(q, "from")
	if err != nil {
		h.fail(w, err)
		return
	}
	to, err := parseTime(q, "to")
	if err != nil {
		h.fail(w, err)
		return
	}
	hist, err := h.s.History(req.Context(), req.PathValue("name"), from, to)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, hist)
}

// scoresBody is the body of POST /api/v1/scores.
type scoresBody struct {
	Scores []eval.Score `json:"scores"`
}

func (h handler) putScores(w http.ResponseWriter, req *http.Request) {
	body, ok := readBody(w, req)
	if !ok {
		return
	}
	var in scoresBody
	if err := decodeStrict(body, &in); err != nil {
		h.fail(w, err)
		return
	}
	out, n, err := h.s.PutScores(req.Context(), in.Scores, actor(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"stored": n, "skipped": len(out) - n, "scores": out})
}

// ParseScoreQuery reads the filters of GET /api/v1/scores.
func ParseScoreQuery(q url.Values) (store.ScoreQuery, error) {
	sq := store.ScoreQuery{
		Criterion:     q.Get("criterion"),
		EvaluatorKind: eval.EvaluatorKind(q.Get("evaluator_kind")),
		Evaluator:     q.Get("evaluator"),
		TargetKind:    eval.TargetKind(q.Get("target_kind")),
		Target:        q.Get("target"),
		Cursor:        q.Get("cursor"),
	}
	var err error
	for _, f := range []struct {
		key string
		dst *int
	}{{"version", &sq.CriterionVersion}, {"limit", &sq.Limit}} {
		if v := q.Get(f.key); v != "" {
			if *f.dst, err = strconv.Atoi(v); err != nil || *f.dst < 0 {
				return sq, fmt.Errorf("%w: %s must be a whole number from 0", store.ErrInvalidQuery, f.key)
			}
		}
	}
	if sq.CriterionVersion != 0 && sq.Criterion == "" {
		return sq, fmt.Errorf("%w: version needs criterion", store.ErrInvalidQuery)
	}
	if sq.From, err = parseTime(q, "from"); err != nil {
		return sq, err
	}
	if sq.To, err = parseTime(q, "to"); err != nil {
		return sq, err
	}
	return sq, nil
}

func (h handler) listScores(w http.ResponseWriter, req *http.Request) {
	q, err := ParseScoreQuery(req.URL.Query())
	if err != nil {
		h.fail(w, err)
		return
	}
	page, err := h.s.ListScores(req.Context(), q)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, page)
}

func (h handler) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, ErrForbidden):
		httpjson.Error(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, store.ErrConflict):
		httpjson.Error(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, eval.ErrInvalid), errors.Is(err, store.ErrInvalidQuery):
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		h.s.log.Error("criteria", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "the criteria service could not answer")
	}
}

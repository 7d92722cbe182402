package judge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/store"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// Routes lists the routes Handler serves with the permission each needs.
// None is team-scoped: judges and criteria belong to use cases, which span
// teams.
var Routes = []auth.Route{
	{Method: "GET", Path: "/api/v1/judges", Permission: auth.Read},
	{Method: "POST", Path: "/api/v1/judges", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/judges/{name}", Permission: auth.Read},
	{Method: "PUT", Path: "/api/v1/judges/{name}", Permission: auth.WriteEvals},
	{Method: "POST", Path: "/api/v1/judges/{name}/score", Permission: auth.WriteEvals},
	{Method: "GET", Path: "/api/v1/judges/{name}/runs/{id}", Permission: auth.Read},
	{Method: "GET", Path: "/api/v1/judges/{name}/calibration", Permission: auth.Read},
	{Method: "GET", Path: "/api/v1/criteria/{name}/pass-rate", Permission: auth.Read},
}

// Handler serves the routes in Routes. It routes by itself, so it may be
// mounted once per route or on its own. The principal comes from the
// request's context (auth.WithPrincipal).
func (s *Service) Handler() http.Handler {
	h := handler{s: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/judges", h.list)
	mux.HandleFunc("POST /api/v1/judges", h.create)
	mux.HandleFunc("GET /api/v1/judges/{name}", h.get)
	mux.HandleFunc("PUT /api/v1/judges/{name}", h.put)
	mux.HandleFunc("POST /api/v1/judges/{name}/score", h.score)
	mux.HandleFunc("GET /api/v1/judges/{name}/runs/{id}", h.run)
	mux.HandleFunc("GET /api/v1/judges/{name}/calibration", h.calibration)
	mux.HandleFunc("GET /api/v1/criteria/{name}/pass-rate", h.passRate)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		httpjson.Error(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", req.Method, req.URL.Path))
	})
	return mux
}

type handler struct{ s *Service }

// by is the person a request comes from (a token's person too).
func by(req *http.Request) string {
	p, ok := auth.PrincipalFrom(req.Context())
	if !ok {
		return ""
	}
	if p.Person != "" {
		return p.Person
	}
	return p.Name()
}

// DecodeInput reads a judge body strictly: one JSON object, no unknown
// fields.
func DecodeInput(body []byte) (Input, error) {
	var in Input
	err := decodeStrict(body, &in)
	return in, err
}

// ScoreRequest is the body of a run.
type ScoreRequest struct {
	// Version is the judge version to run (0: the latest).
	Version int      `json:"version,omitempty"`
	Targets []Target `json:"targets"`
}

// DecodeScoreRequest reads a run body strictly.
func DecodeScoreRequest(body []byte) (ScoreRequest, error) {
	var r ScoreRequest
	err := decodeStrict(body, &r)
	return r, err
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

func readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%w: the body: %w", ErrInvalid, err)
	}
	return b, nil
}

func (h handler) list(w http.ResponseWriter, req *http.Request) {
	l, err := h.s.List(req.Context(), req.URL.Query().Get("criterion"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"judges": l})
}

func (h handler) create(w http.ResponseWriter, req *http.Request) {
	body, err := readBody(w, req)
	if err != nil {
		h.fail(w, err)
		return
	}
	in, err := DecodeInput(body)
	if err != nil {
		h.fail(w, err)
		return
	}
	j, err := h.s.Create(req.Context(), in, by(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, j)
}

func (h handler) get(w http.ResponseWriter, req *http.Request) {
	j, err := h.s.Get(req.Context(), req.PathValue("name"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, j)
}

func (h handler) put(w http.ResponseWriter, req *http.Request) {
	body, err := readBody(w, req)
	if err != nil {
		h.fail(w, err)
		return
	}
	in, err := DecodeInput(body)
	if err != nil {
		h.fail(w, err)
		return
	}
	j, changed, err := h.s.Put(req.Context(), req.PathValue("name"), in, by(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	status := http.StatusOK
	if changed {
		status = http.StatusCreated
	}
	httpjson.Write(w, status, j)
}

func (h handler) score(w http.ResponseWriter, req *http.Request) {
	body, err := readBody(w, req)
	if err != nil {
		h.fail(w, err)
		return
	}
	r, err := DecodeScoreRequest(body)
	if err != nil {
		h.fail(w, err)
		return
	}
	run, err := h.s.Score(req.Context(), req.PathValue("name"), r.Version, r.Targets, by(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, run)
}

func (h handler) run(w http.ResponseWriter, req *http.Request) {
	r, err := h.s.GetRun(req.Context(), req.PathValue("name"), req.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, r)
}

// intParam reads an optional positive integer query parameter.
func intParam(req *http.Request, name string) (int, error) {
	s := req.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: %s=%q: want a positive integer", ErrInvalid, name, s)
	}
	return n, nil
}

// timeParam reads an optional RFC 3339 time or YYYY-MM-DD date.
func timeParam(req *http.Request, name string) (time.Time, error) {
	return ParseTime(req.URL.Query().Get(name))
}

// ParseTime reads a query time: empty (zero), RFC 3339, or a UTC date
// YYYY-MM-DD.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: time %q: want RFC 3339 or YYYY-MM-DD", ErrInvalid, s)
}

func (h handler) calibration(w http.ResponseWriter, req *http.Request) {
	var q CalibrationQuery
	var err error
	if q.Version, err = intParam(req, "version"); err != nil {
		h.fail(w, err)
		return
	}
	if q.CriterionVersion, err = intParam(req, "criterion_version"); err != nil {
		h.fail(w, err)
		return
	}
	if q.From, err = timeParam(req, "from"); err != nil {
		h.fail(w, err)
		return
	}
	if q.To, err = timeParam(req, "to"); err != nil {
		h.fail(w, err)
		return
	}
	c, err := h.s.Calibration(req.Context(), req.PathValue("name"), q)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, c)
}

func (h handler) passRate(w http.ResponseWriter, req *http.Request) {
	version, err := intParam(req, "version")
	if err != nil {
		h.fail(w, err)
		return
	}
	from, err := timeParam(req, "from")
	if err != nil {
		h.fail(w, err)
		return
	}
	to, err := timeParam(req, "to")
	if err != nil {
		h.fail(w, err)
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		h.fail(w, fmt.Errorf("%w: from must be before to", ErrInvalid))
		return
	}
	r, err := h.s.PassRate(req.Context(), req.PathValue("name"), version, from, to)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, r)
}

func (h handler) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrConflict):
		httpjson.Error(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, ErrNoGateway):
		httpjson.Error(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, eval.ErrInvalid), errors.Is(err, store.ErrInvalidQuery):
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		h.s.log.Error("judge", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "the judge service could not answer")
	}
}

package prompt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/store"
)

// maxBody bounds a request body of the management API.
const maxBody = 1 << 20

// Routes lists the management API's routes as method and path pattern,
// each served by Handler. Those with Write true change something.
var Routes = []struct {
	Method, Path string
	Write        bool
}{
	{"GET", "/api/v1/prompts", false},
	{"GET", "/api/v1/prompts/{name}", false},
	{"GET", "/api/v1/prompts/{name}/versions", false},
	{"POST", "/api/v1/prompts/{name}/versions", true},
	{"GET", "/api/v1/prompts/{name}/versions/{version}", false},
	{"GET", "/api/v1/prompts/{name}/labels", false},
	{"PUT", "/api/v1/prompts/{name}/labels/{label}", true},
	{"POST", "/api/v1/prompts/{name}/render", false},
	{"GET", "/api/v1/prompt-partials", false},
	{"GET", "/api/v1/prompt-partials/{name}", false},
	{"GET", "/api/v1/prompt-partials/{name}/versions", false},
	{"POST", "/api/v1/prompt-partials/{name}/versions", true},
	{"GET", "/api/v1/prompt-partials/{name}/versions/{version}", false},
	{"GET", "/api/v1/prompt-partials/{name}/labels", false},
	{"PUT", "/api/v1/prompt-partials/{name}/labels/{label}", true},
	{"POST", "/api/v1/prompt-partials/{name}/render", false},
}

// Handler serves the routes in Routes. It routes by itself, so it may be
// mounted once per route (as the management API's extra routes are) or
// on its own.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, kind := range []string{store.PromptKindPrompt, store.PromptKindPartial} {
		base := "/api/v1/prompts"
		if kind == store.PromptKindPartial {
			base = "/api/v1/prompt-partials"
		}
		h := handler{r: r, kind: kind}
		mux.HandleFunc("GET "+base, h.list)
		mux.HandleFunc("GET "+base+"/{name}", h.get)
		mux.HandleFunc("GET "+base+"/{name}/versions", h.versions)
		mux.HandleFunc("POST "+base+"/{name}/versions", h.put)
		mux.HandleFunc("GET "+base+"/{name}/versions/{version}", h.version)
		mux.HandleFunc("GET "+base+"/{name}/labels", h.labels)
		mux.HandleFunc("PUT "+base+"/{name}/labels/{label}", h.setLabel)
		mux.HandleFunc("POST "+base+"/{name}/render", h.render)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		httpjson.Error(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", req.Method, req.URL.Path))
	})
	return mux
}

type handler struct {
	r    *Registry
	kind string
}

func (h handler) list(w http.ResponseWriter, req *http.Request) {
	l, err := h.r.List(req.Context(), h.kind)
	if err != nil {
		h.fail(w, err)
		return
	}
	key := "prompts"
	if h.kind == store.PromptKindPartial {
		key = "partials"
	}
	httpjson.Write(w, http.StatusOK, map[string]any{key: l})
}

func (h handler) get(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	var latest any
	var err error
	if h.kind == store.PromptKindPartial {
		latest, err = h.r.GetPartial(req.Context(), name)
	} else {
		latest, err = h.r.Get(req.Context(), name)
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	labels, err := h.r.Labels(req.Context(), h.kind, name)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"name": name, "latest": latest, "labels": labels})
}

func (h handler) versions(w http.ResponseWriter, req *http.Request) {
	var (
		out any
		err error
	)
	if h.kind == store.PromptKindPartial {
		out, err = h.r.PartialHistory(req.Context(), req.PathValue("name"))
	} else {
		out, err = h.r.History(req.Context(), req.PathValue("name"))
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"versions": out})
}

func (h handler) version(w http.ResponseWriter, req *http.Request) {
	n, err := strconv.Atoi(req.PathValue("version"))
	if err != nil || n <= 0 {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "the version must be a positive number")
		return
	}
	ref := req.PathValue("name") + "@" + strconv.Itoa(n)
	var out any
	if h.kind == store.PromptKindPartial {
		out, err = h.r.GetPartial(req.Context(), ref)
	} else {
		out, err = h.r.Get(req.Context(), ref)
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (h handler) put(w http.ResponseWriter, req *http.Request) {
	name, by := req.PathValue("name"), actorName(req)
	var (
		out any
		err error
	)
	if h.kind == store.PromptKindPartial {
		var c PartialContent
		if !decode(w, req, &c) {
			return
		}
		out, err = h.r.PutPartial(req.Context(), name, c, by)
	} else {
		var c Content
		if !decode(w, req, &c) {
			return
		}
		out, err = h.r.Put(req.Context(), name, c, by)
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, out)
}

func (h handler) labels(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	cur, err := h.r.Labels(req.Context(), h.kind, name)
	if err != nil {
		h.fail(w, err)
		return
	}
	hist, err := h.r.LabelHistory(req.Context(), h.kind, name)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"labels": cur, "history": hist})
}

func (h handler) setLabel(w http.ResponseWriter, req *http.Request) {
	var in struct {
		Version int `json:"version"`
	}
	if !decode(w, req, &in) {
		return
	}
	l, err := h.r.SetLabel(req.Context(), h.kind, req.PathValue("name"), req.PathValue("label"), in.Version, actorName(req))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, l)
}

// renderRequest is the body of a dry run.
type renderRequest struct {
	Version   int             `json:"version,omitempty"`
	Label     string          `json:"label,omitempty"`
	Model     string          `json:"model,omitempty"`
	Provider  string          `json:"provider,omitempty"`
	Variables json.RawMessage `json:"variables,omitempty"`
}

func (h handler) render(w http.ResponseWriter, req *http.Request) {
	var in renderRequest
	if !decode(w, req, &in) {
		return
	}
	ref := req.PathValue("name")
	switch {
	case in.Version != 0 && in.Label != "":
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "give version or label, not both")
		return
	case in.Version != 0:
		ref += "@" + strconv.Itoa(in.Version)
	case in.Label != "":
		ref += "@" + in.Label
	}
	vars, err := decodeVariables(in.Variables)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "variables "+err.Error())
		return
	}
	var out any
	if h.kind == store.PromptKindPartial {
		out, err = h.r.RenderPartial(req.Context(), ref, vars)
	} else {
		out, err = h.r.Render(req.Context(), ref, Target{Provider: in.Provider, Model: in.Model}, vars)
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, out)
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
func decode(w http.ResponseWriter, req *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", maxBody))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "the body: "+err.Error())
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", "the body must be one JSON object")
		return false
	}
	return true
}

func (h handler) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, store.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, ErrMissingVariable):
		httpjson.Error(w, http.StatusBadRequest, "missing_variable", err.Error())
	case errors.Is(err, ErrUnknownVariable):
		httpjson.Error(w, http.StatusBadRequest, "unknown_variable", err.Error())
	case errors.Is(err, ErrPartialCycle), errors.Is(err, ErrPartialsTooDeep):
		httpjson.Error(w, http.StatusUnprocessableEntity, "partial_cycle", err.Error())
	case errors.Is(err, ErrOutputTooLarge):
		httpjson.Error(w, http.StatusUnprocessableEntity, "too_large", err.Error())
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrInvalidVariable), errors.Is(err, store.ErrInvalidQuery):
		httpjson.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
	default:
		h.r.opt.Log.Error("prompts", "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "internal", "the prompt registry could not answer")
	}
}

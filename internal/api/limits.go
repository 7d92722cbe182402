package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/weirhq/weir/internal/limits"
	"github.com/weirhq/weir/internal/store"
)

// Limits manages spend and token limits; *limits.Manager is one.
type Limits interface {
	List() []limits.Limit
	Get(ctx context.Context, name string) (limits.Limit, []store.LimitReset, error)
	States(ctx context.Context) ([]limits.State, error)
	Put(ctx context.Context, l limits.Limit, by string) (limits.Limit, error)
	Delete(ctx context.Context, name, by string) error
	Reset(ctx context.Context, name, by, note string) error
}

func (a *API) limitError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, limits.ErrInvalid) {
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	a.priceError(w, what, err)
}

func (a *API) listLimits(w http.ResponseWriter, r *http.Request) {
	states, err := a.opt.Limits.States(r.Context())
	if err != nil {
		a.limitError(w, "read limit states", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Limits []limits.Limit `json:"limits"`
		States []limits.State `json:"states"`
	}{a.opt.Limits.List(), states})
}

func (a *API) getLimit(w http.ResponseWriter, r *http.Request) {
	l, resets, err := a.opt.Limits.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		a.limitError(w, "read limit", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		limits.Limit
		Resets []store.LimitReset `json:"resets"`
	}{l, resets})
}

func (a *API) putLimit(w http.ResponseWriter, r *http.Request) {
	var l limits.Limit
	if !decodeBody(w, r, &l) {
		return
	}
	name := r.PathValue("name")
	if l.Name == "" {
		l.Name = name
	}
	if l.Name != name {
		writeErr(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("name %q differs from the path's %q", l.Name, name))
		return
	}
	got, err := a.opt.Limits.Put(r.Context(), l, actor(r))
	if err != nil {
		a.limitError(w, "store limit", err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

func (a *API) deleteLimit(w http.ResponseWriter, r *http.Request) {
	if err := a.opt.Limits.Delete(r.Context(), r.PathValue("name"), actor(r)); err != nil {
		a.limitError(w, "delete limit", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{r.PathValue("name")})
}

// ResetRequest is the body of POST /api/v1/limits/{name}/reset.
type ResetRequest struct {
	Note string `json:"note,omitempty"`
}

func (a *API) resetLimit(w http.ResponseWriter, r *http.Request) {
	var req ResetRequest
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	if err := a.opt.Limits.Reset(r.Context(), r.PathValue("name"), actor(r), req.Note); err != nil {
		a.limitError(w, "reset limit", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Reset string `json:"reset"`
	}{r.PathValue("name")})
}

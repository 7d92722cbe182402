package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

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
	ls := a.opt.Limits.List()
	if t := teamOf(r); t != "" {
		// A team sees the limits on its own spend: those matching the
		// team, and its share of per-team limits.
		seen := map[string]bool{}
		ls = slices.DeleteFunc(ls, func(l limits.Limit) bool {
			seen[l.Name] = teamLimit(l, t)
			return !seen[l.Name]
		})
		perTeam := map[string]bool{}
		for _, l := range ls {
			perTeam[l.Name] = l.Per == "team"
		}
		states = slices.DeleteFunc(states, func(s limits.State) bool {
			return !seen[s.Limit] || perTeam[s.Limit] && s.Value != t
		})
	}
	writeJSON(w, http.StatusOK, struct {
		Limits []limits.Limit `json:"limits"`
		States []limits.State `json:"states"`
	}{ls, states})
}

// teamLimit reports whether l counts team t's spend alone or per team.
func teamLimit(l limits.Limit, t string) bool {
	return l.Match.Team == t || l.Match.Team == "" && l.Per == "team"
}

func (a *API) getLimit(w http.ResponseWriter, r *http.Request) {
	l, resets, err := a.opt.Limits.Get(r.Context(), r.PathValue("name"))
	if t := teamOf(r); err == nil && t != "" && !teamLimit(l, t) {
		err = fmt.Errorf("limit %s: %w", l.Name, store.ErrNotFound)
	}
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

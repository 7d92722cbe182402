package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/weirhq/weir/internal/access"
)

// Access manages applications and their gateway keys; *access.Manager is
// one.
type Access interface {
	Applications(ctx context.Context) ([]access.ApplicationView, error)
	PutApplication(ctx context.Context, a access.Application, by string) (access.Application, error)
	CreateKey(ctx context.Context, app string, expires time.Time, by string) (access.NewKey, error)
	RevokeKey(ctx context.Context, id string) error
}

func (a *API) accessError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, access.ErrInvalid) {
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	a.priceError(w, what, err)
}

func (a *API) listApplications(w http.ResponseWriter, r *http.Request) {
	apps, err := a.opt.Access.Applications(r.Context())
	if err != nil {
		a.accessError(w, "list applications", err)
		return
	}
	if t := teamOf(r); t != "" {
		apps = slices.DeleteFunc(apps, func(v access.ApplicationView) bool { return v.Team != t })
	}
	writeJSON(w, http.StatusOK, struct {
		Applications []access.ApplicationView `json:"applications"`
	}{apps})
}

func (a *API) putApplication(w http.ResponseWriter, r *http.Request) {
	var app access.Application
	if !decodeBody(w, r, &app) {
		return
	}
	name := r.PathValue("name")
	if app.Name == "" {
		app.Name = name
	}
	if app.Name != name {
		writeErr(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("name %q differs from the path's %q", app.Name, name))
		return
	}
	got, err := a.opt.Access.PutApplication(r.Context(), app, actor(r))
	if err != nil {
		a.accessError(w, "store application", err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

// CreateKeyRequest is the body of POST /api/v1/applications/{name}/keys.
type CreateKeyRequest struct {
	ExpiresAt string `json:"expires_at,omitempty"`
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) {
	var req CreateKeyRequest
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return
	}
	var expires time.Time
	if req.ExpiresAt != "" {
		var err error
		if expires, err = parseTime(req.ExpiresAt); err != nil {
			writeErr(w, http.StatusBadRequest, "invalid_request", "expires_at: "+err.Error())
			return
		}
	}
	k, err := a.opt.Access.CreateKey(r.Context(), r.PathValue("name"), expires, actor(r))
	if err != nil {
		a.accessError(w, "create key", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, k)
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) {
	if err := a.opt.Access.RevokeKey(r.Context(), r.PathValue("id")); err != nil {
		a.accessError(w, "revoke key", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Revoked string `json:"revoked"`
	}{r.PathValue("id")})
}

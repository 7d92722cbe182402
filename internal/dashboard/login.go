package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/auth"
)

// safeNext returns where to go after signing in: s when it is a path of
// the dashboard on this site (with its query), else the overview. It
// never returns a URL with a scheme or host, one starting with "//" or
// holding a backslash or control character, so it cannot send a browser
// to another site.
func safeNext(s string) string {
	if len(s) > 2048 || !strings.HasPrefix(s, Prefix) || strings.ContainsAny(s, "\\") {
		return Prefix
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return Prefix
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return Prefix
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, Prefix) || strings.HasPrefix(p, "//") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
		return Prefix
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

type loginData struct {
	Next, Name, Error string
	// SSO is the single sign-on link, when configured.
	SSO string
	// Open: nobody can sign in yet and the dashboard is open.
	Open bool
}

func (d *Dashboard) ssoLink(next string) string {
	if d.opt.SSOLoginPath == "" {
		return ""
	}
	return d.opt.SSOLoginPath + "?next=" + url.QueryEscape(next)
}

// loginPage shows the sign-in form, or goes on to next when the browser
// is signed in already.
func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	data := loginData{Next: next, SSO: d.ssoLink(next)}
	if d.opt.Auth != nil {
		if p, _, err := d.opt.Auth.Authenticate(r); err == nil {
			if p.Kind != "anonymous" {
				http.Redirect(w, r, next, http.StatusSeeOther)
				return
			}
			data.Open = true
		}
	} else {
		data.Open = true
	}
	d.render(w, http.StatusOK, "login", "", view{Title: "Sign in", Data: data})
}

// login signs in with the form's name and password through the same
// sessions as POST /api/v1/login. The form needs no CSRF token (there is
// no session yet); the cross-origin protection refuses forged posts.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if d.opt.Sessions == nil {
		d.errorPage(w, r, nil, http.StatusNotFound, "Signing in is not available here.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	name, password := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	data := loginData{Next: next, Name: name, SSO: d.ssoLink(next)}
	if name == "" || password == "" {
		data.Error = "Enter your name and password."
		d.render(w, http.StatusBadRequest, "login", "", view{Title: "Sign in", Data: data})
		return
	}
	secret, s, err := d.opt.Sessions.Login(r.Context(), name, password, clientAddr(r))
	if err != nil {
		status, msg := d.signInError(w, err)
		data.Error = msg
		d.render(w, status, "login", "", view{Title: "Sign in", Data: data})
		return
	}
	d.opt.Sessions.SetCookie(w, secret, s)
	// A one-time password is caught by the next page, which sends the
	// person to the password form.
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signInError maps a sign-in or password-change error to a status and a
// message for the form.
func (d *Dashboard) signInError(w http.ResponseWriter, err error) (int, string) {
	var th *auth.ThrottledError
	switch {
	case errors.As(err, &th):
		w.Header().Set("Retry-After", strconv.Itoa(int(th.RetryAfter.Seconds()+0.999)))
		return http.StatusTooManyRequests, "Too many failed sign-ins: try again in " + th.RetryAfter.Round(time.Second).String() + "."
	case errors.Is(err, auth.ErrBadCredentials):
		return http.StatusUnauthorized, "Wrong name or password."
	case errors.Is(err, auth.ErrInvalid):
		return http.StatusBadRequest, strings.TrimPrefix(err.Error(), auth.ErrInvalid.Error()+": ")
	}
	d.log.Error("sign in", "err", err)
	return http.StatusInternalServerError, "Could not sign in; try again."
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if v.secret != "" && d.opt.Sessions != nil {
		if err := d.opt.Sessions.Logout(r.Context(), v.secret); err != nil {
			d.log.Error("sign out", "err", err)
		}
		d.opt.Sessions.ClearCookie(w)
	}
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

type passwordData struct {
	Next, Error string
	// Required: the password is a one-time password.
	Required bool
}

func (d *Dashboard) passwordPage(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if v.Kind != "user" || d.opt.Sessions == nil {
		d.errorPage(w, r, &v, http.StatusForbidden, "Sign in with a password to change it.")
		return
	}
	d.render(w, http.StatusOK, "password", "", view{Title: "Change password", Viewer: &v,
		Data: passwordData{Next: safeNext(r.URL.Query().Get("next")), Required: v.MustChangePassword}})
}

func (d *Dashboard) changePassword(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if v.Kind != "user" || d.opt.Sessions == nil {
		d.errorPage(w, r, &v, http.StatusForbidden, "Sign in with a password to change it.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	data := passwordData{Next: safeNext(r.PostFormValue("next")), Required: v.MustChangePassword}
	current, pw, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("again")
	status := http.StatusBadRequest
	switch {
	case current == "" || pw == "":
		data.Error = "Enter your current password and a new one."
	case pw != again:
		data.Error = "The two new passwords differ."
	default:
		secret, s, err := d.opt.Sessions.ChangePassword(r.Context(), v.Person, current, pw, clientAddr(r))
		if err == nil {
			d.opt.Sessions.SetCookie(w, secret, s)
			http.Redirect(w, r, data.Next, http.StatusSeeOther)
			return
		}
		status, data.Error = d.signInError(w, err)
		if errors.Is(err, auth.ErrBadCredentials) {
			data.Error = "Your current password is wrong."
		}
	}
	d.render(w, status, "password", "", view{Title: "Change password", Viewer: &v, Data: data})
}

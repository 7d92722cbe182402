// Package dashboard serves Weir's web dashboard under /ui/: server-rendered
// html/template pages with htmx for interaction and uPlot for charts, all
// embedded with go:embed (the browser libraries are vendored by
// scripts/vendor-ui.sh), so `go build` alone gives the whole product.
//
// It signs people in with the same sessions as the management API (the
// weir_session cookie) through the small interfaces it declares, which
// *auth.Manager implements, and reads calls and costs through the store's
// reader interfaces. Only internal/app should import it.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/store"
)

//go:embed templates static
var assets embed.FS

// Prefix is where the dashboard is mounted.
const Prefix = "/ui/"

// Authenticator says who a request comes from: the principal and, when a
// session cookie authenticated it, the session's secret. Errors wrap
// auth.ErrUnauthenticated when the request has no valid credentials.
// *auth.Manager implements it.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, string, error)
}

// Sessions signs people in and out. *auth.Manager implements it.
type Sessions interface {
	// Login checks a name and password (throttled) and starts a session.
	Login(ctx context.Context, name, password, addr string) (string, store.Session, error)
	// ChangePassword checks the current password, sets the new one and
	// starts a new session (every other session of the person ends).
	ChangePassword(ctx context.Context, name, current, password, addr string) (string, store.Session, error)
	Logout(ctx context.Context, secret string) error
	SetCookie(w http.ResponseWriter, secret string, s store.Session)
	ClearCookie(w http.ResponseWriter)
}

// Options configure the dashboard.
type Options struct {
	// Auth authenticates requests. Nil lets every request in as an
	// anonymous admin, like the API without people (tests, embedded use).
	Auth Authenticator
	// Sessions signs people in; nil hides the sign-in pages.
	Sessions Sessions
	// Requests lists and reads recorded calls (required).
	Requests store.RequestReader
	// Costs sums costs for the overview; nil leaves the spend out.
	Costs store.CostReader
	// Rollups answer the charts and totals from the per-minute, hour and
	// day summaries; nil leaves the charts out.
	Rollups store.RollupReader
	// Value, Health, Spend and Settings feed the pages of those areas
	// (their files say what each field is for); a nil field hides what
	// needs it.
	Value    ValueSources
	Health   HealthSources
	Spend    SpendSources
	Settings SettingsSources
	// Review feeds the Review pages (review.go); nil Queues hides them.
	Review ReviewSources
	// Evaluation feeds the Evaluation pages (evaluation.go); a nil field
	// leaves its part out with a note.
	Evaluation EvaluationSources
	// Drift feeds the Drift pages (drift.go) and the drift section of the
	// use case page; nil Events hides them.
	Drift DriftSources
	// ReportRefresh, when positive, keeps the reports of the defined use
	// cases over 7 and 30 days warm: RefreshReports recomputes them this
	// often and the use case page shows the last one (with its time).
	ReportRefresh time.Duration
	// Datasets lets the call page add the call to an evaluation dataset
	// (*dataset.Service); nil hides the form.
	Datasets DatasetAdder
	// SSOLoginPath, when set, offers single sign-on on the sign-in page
	// (e.g. sso.LoginPath); the dashboard adds ?next=.
	SSOLoginPath string
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Dashboard is the /ui/ handler.
type Dashboard struct {
	reports reportCache
	opt     Options
	now     func() time.Time
	log     *slog.Logger
	pages   pages
	mux     *http.ServeMux
}

// New returns the dashboard. It fails when a template does not parse.
func New(opt Options) (*Dashboard, error) {
	if opt.Requests == nil {
		return nil, errors.New("dashboard: a request reader is required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	d := &Dashboard{opt: opt, now: opt.Now, log: opt.Log, pages: pg}
	d.mux = d.routes()
	return d, nil
}

// ServeHTTP serves everything under Prefix. Unsafe requests from browsers
// of another origin are refused before anything else.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	d.mux.ServeHTTP(w, r)
}

func (d *Dashboard) routes() *http.ServeMux {
	mux := http.NewServeMux()
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(Prefix+"static/", http.FileServerFS(static))
	mux.Handle("GET "+Prefix+"static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The files change only with the binary; a day of caching keeps
		// pages fast and an upgrade visible by the next morning.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.errorPage(w, r, nil, http.StatusForbidden, "A form from another site was refused.")
	}))
	post := func(pattern string, h http.HandlerFunc) { mux.Handle("POST "+pattern, cop.Handler(h)) }

	mux.HandleFunc("GET "+Prefix+"login", d.loginPage)
	post(Prefix+"login", d.login)
	post(Prefix+"logout", d.signedIn(auth.Self, d.logout))
	mux.HandleFunc("GET "+Prefix+"password", d.signedIn(auth.Self, d.passwordPage))
	post(Prefix+"password", d.signedIn(auth.Self, d.changePassword))

	mux.HandleFunc("GET "+Prefix+"{$}", d.signedIn(auth.Self, d.home))
	mux.HandleFunc("GET "+Prefix+"usecases", d.signedIn(auth.Read, d.useCases))
	mux.HandleFunc("GET "+Prefix+"usecases/{name}", d.signedIn(auth.Read, d.useCase))
	mux.HandleFunc("GET "+Prefix+"usecases/{name}/instances/{instance}", d.signedIn(auth.Read, d.instance))
	mux.HandleFunc("GET "+Prefix+"calls", d.signedIn(auth.Read, d.calls))
	mux.HandleFunc("GET "+Prefix+"calls.csv", d.signedIn(auth.Read, d.callsCSV))
	mux.HandleFunc("GET "+Prefix+"calls/{id}", d.signedIn(auth.Read, d.call))
	post(Prefix+"calls/{id}/dataset", d.signedIn(auth.WriteEvals, d.addCallToDataset))
	mux.HandleFunc("GET "+Prefix+"latency", d.signedIn(auth.Read, d.latency))
	mux.HandleFunc("GET "+Prefix+"providers", d.signedIn(auth.Read, d.providers))
	mux.HandleFunc("GET "+Prefix+"costs", d.signedIn(auth.Read, d.costs))
	mux.HandleFunc("GET "+Prefix+"costs.csv", d.signedIn(auth.Read, d.costsCSV))
	mux.HandleFunc("GET "+Prefix+"costs/accounts", d.signedIn(auth.Read, d.costsAccounts))
	post(Prefix+"costs/reconcile", limitBody(maxExport, d.signedIn(auth.WriteCosts, d.reconcileCosts)))
	mux.HandleFunc("GET "+Prefix+"limits", d.signedIn(auth.Read, d.limitsPage))
	mux.HandleFunc("GET "+Prefix+"limits/forecasts", d.signedIn(auth.Read, d.limitForecasts))
	mux.HandleFunc("GET "+Prefix+"settings", d.signedIn(auth.Read, d.settings))
	mux.HandleFunc("GET "+Prefix+"review", d.signedIn(auth.Review, d.reviewQueues))
	mux.HandleFunc("GET "+Prefix+"review/{queue}", d.signedIn(auth.Review, d.reviewTask))
	post(Prefix+"review/{queue}/items/{id}", d.signedIn(auth.Review, d.reviewSubmit))
	post(Prefix+"review/{queue}/items/{id}/skip", d.signedIn(auth.Review, d.reviewSkip))
	post(Prefix+"review/{queue}/items/{id}/renew", d.signedIn(auth.Review, d.reviewRenew))
	mux.HandleFunc("GET "+evaluationPath, d.signedIn(auth.Read, d.evaluation))
	mux.HandleFunc("GET "+evaluationPath+"/criteria/{name}", d.signedIn(auth.Read, d.evalCriterion))
	mux.HandleFunc("GET "+evaluationPath+"/datasets/{name}", d.signedIn(auth.Read, d.evalDataset))
	mux.HandleFunc("GET "+evaluationPath+"/experiments/{name}", d.signedIn(auth.Read, d.evalExperiment))
	mux.HandleFunc("GET "+evaluationPath+"/judges/{name}", d.signedIn(auth.Read, d.evalJudge))
	mux.HandleFunc("GET "+driftPath, d.signedIn(auth.Read, d.driftList))
	mux.HandleFunc("GET "+driftPath+"/{id}", d.signedIn(auth.Read, d.driftDetail))
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		d.errorPage(w, r, nil, http.StatusNotFound, "There is no such page.")
	})
	return mux
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	// No inline script; uPlot sets styles through the CSSOM, which
	// style-src does not restrict.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// viewer is who a page is rendered for.
type viewer struct {
	auth.Principal
	// secret is the session's secret ("" for tokens and open mode).
	secret string
}

// Open reports whether the dashboard is open to anyone (no people yet).
func (v viewer) Open() bool { return v.Kind == "anonymous" }

// CSRF is the token every form of the page carries.
func (v viewer) CSRF() string {
	if v.secret == "" {
		return ""
	}
	return auth.CSRFToken(v.secret)
}

// checkCSRF reports whether an unsafe request carries the session's token.
// Requests not made with the session cookie (open mode) need none: the
// cross-origin protection still applies to them.
func (v viewer) checkCSRF(r *http.Request) bool {
	if !v.Session {
		return true
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.PostFormValue("csrf")
	}
	return auth.CheckCSRF(v.secret, tok)
}

type viewerKey struct{}

func viewerFrom(r *http.Request) viewer {
	v, _ := r.Context().Value(viewerKey{}).(viewer)
	return v
}

// signedIn authenticates a request and checks perm: an unauthenticated
// browser is sent to the sign-in page (and back afterwards), a person
// with a one-time password to the password form, a role without perm
// gets 403. Unsafe methods need the session's CSRF token.
func (d *Dashboard) signedIn(perm auth.Permission, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := viewer{Principal: auth.Principal{Kind: "anonymous", Role: auth.Admin}}
		if d.opt.Auth != nil {
			p, secret, err := d.opt.Auth.Authenticate(r)
			if errors.Is(err, auth.ErrUnauthenticated) {
				d.toLogin(w, r)
				return
			}
			if err != nil {
				d.log.Error("authenticate", "err", err)
				d.errorPage(w, r, nil, http.StatusInternalServerError, "Could not check who you are; try again.")
				return
			}
			v = viewer{Principal: p, secret: secret}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !v.checkCSRF(r) {
			d.errorPage(w, r, &v, http.StatusForbidden, "The form was refused: its security token is missing or out of date. Reload the page and try again.")
			return
		}
		if v.MustChangePassword && perm != auth.Self {
			http.Redirect(w, r, Prefix+"password?next="+queryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !v.Role.Can(perm) {
			d.errorPage(w, r, &v, http.StatusForbidden, fmt.Sprintf("Your role (%s) cannot open this page.", v.Role))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	}
}

// toLogin sends a browser to the sign-in page, coming back to this page
// afterwards. htmx requests are told to load the page whole.
func (d *Dashboard) toLogin(w http.ResponseWriter, r *http.Request) {
	target := Prefix + "login?next=" + queryEscape(safeNext(r.URL.RequestURI()))
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// clientAddr is the request's remote host, for sign-in throttling.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// home is the overview for those who may read it; a reviewer, who may
// open only the review queues, is sent there when they exist.
func (d *Dashboard) home(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	switch {
	case v.Role.Can(auth.Read):
		d.overview(w, r)
	case v.Role.Can(auth.Review) && d.opt.Review.Queues != nil:
		http.Redirect(w, r, reviewPath, http.StatusSeeOther)
	default:
		d.errorPage(w, r, &v, http.StatusForbidden, fmt.Sprintf("Your role (%s) cannot open this page.", v.Role))
	}
}

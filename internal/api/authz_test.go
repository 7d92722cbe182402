package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/eval/judge"
	"github.com/weirhq/weir/internal/eval/review"
	"github.com/weirhq/weir/internal/prompt"
	"github.com/weirhq/weir/internal/store"
)

// Stand-ins that only make every route exist: the guard is under test,
// each route's handler is replaced.
type (
	anyCosts      struct{ store.CostReader }
	anyPrices     struct{ PriceManager }
	anyUseCases   struct{ UseCases }
	anyReconciler struct{ Reconciler }
	anyAccess     struct{ Access }
	anyLimits     struct{ Limits }
	anyForecaster struct{ Forecaster }
	anyCommit     struct{ CommitmentReporter }
)

// fakePeople authenticates "Bearer <name>" as principals[name].
type peopleIface = People

type fakePeople struct {
	peopleIface
	principals map[string]auth.Principal
}

func (f fakePeople) Authenticate(r *http.Request) (auth.Principal, string, error) {
	tok, sess := auth.Credentials(r)
	if sess != "" {
		p, ok := f.principals[sess]
		if !ok {
			return p, "", auth.ErrUnauthenticated
		}
		p.Session = true
		return p, sess, nil
	}
	p, ok := f.principals[tok]
	if !ok {
		return p, "", auth.ErrUnauthenticated
	}
	return p, "", nil
}

func everything(people People) *API {
	return New(Options{Requests: &fakeReader{}, Costs: anyCosts{}, Rollups: anyRollups{}, Identities: anyIdentities{}, Prices: anyPrices{}, UseCases: anyUseCases{},
		Reconciler: anyReconciler{}, Access: anyAccess{}, Limits: anyLimits{}, Forecaster: anyForecaster{},
		Alerts: http.NotFoundHandler(), Ingest: http.NotFoundHandler(), Commitments: anyCommit{}, People: people,
		Credentials: http.NotFoundHandler(),
		// As the app wires them.
		Extra: append([]ExtraRoute{
			{Method: "GET", Path: "/api/v1/auth/oidc/login", Handler: http.NotFoundHandler(), TeamScoped: true},
			{Method: "GET", Path: "/api/v1/auth/oidc/callback", Handler: http.NotFoundHandler(), TeamScoped: true},
			{Method: "GET", Path: "/api/v1/audit", Permission: auth.ReadAudit, Handler: http.NotFoundHandler()},
			{Method: "GET", Path: "/api/v1/routes", Permission: auth.Read, Handler: http.NotFoundHandler()},
		}, append(promptRoutes(), evalRoutes()...)...),
	})
}

// promptRoutes are the prompt registry's routes as the app wires them.
func promptRoutes() []ExtraRoute {
	var out []ExtraRoute
	for _, rt := range prompt.Routes {
		perm := auth.Read
		if rt.Write {
			perm = auth.WritePrompts
		}
		out = append(out, ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: perm, TeamScoped: true, Handler: http.NotFoundHandler()})
	}
	return out
}

// evalRoutes are the evaluation packages' routes as the app wires them
// (internal/app/evaluation.go: extraRoutes).
func evalRoutes() []ExtraRoute {
	var out []ExtraRoute
	for _, rt := range slices.Concat(criteria.Routes, dataset.Routes, judge.Routes, experiment.Routes, review.Routes) {
		out = append(out, ExtraRoute{Method: rt.Method, Path: rt.Path, Permission: rt.Permission, TeamScoped: rt.TeamScoped, Handler: http.NotFoundHandler()})
	}
	return out
}

func init() {
	for _, rt := range evalRoutes() {
		key := rt.Method + " " + rt.Path
		allowed[key] = "admin finance owner viewer"
		switch rt.Permission {
		case auth.WriteEvals:
			allowed[key] = "admin owner"
		case auth.Review:
			allowed[key] = "admin reviewer"
		}
		if rt.TeamScoped {
			teamScoped[key] = true
		}
	}
	for _, rt := range prompt.Routes {
		key := rt.Method + " " + rt.Path
		allowed[key] = "admin finance owner viewer"
		if rt.Write {
			allowed[key] = "admin owner"
		}
		teamScoped[key] = true
	}
}

// allowed is the role x route table: which roles may call each route.
// "public" routes need no sign-in.
var allowed = map[string]string{
	"GET /api/v1/requests":                                         "admin finance owner viewer",
	"GET /api/v1/requests/{id}":                                    "admin finance owner viewer",
	"GET /api/v1/config":                                           "admin",
	"POST /api/v1/cost/quote":                                      "admin finance owner viewer",
	"GET /api/v1/prices":                                           "admin finance owner viewer",
	"POST /api/v1/cost/estimate":                                   "admin finance owner viewer",
	"GET /api/v1/costs":                                            "admin finance owner viewer",
	"GET /api/v1/stats":                                            "admin finance owner viewer",
	"GET /api/v1/drift/events":                                     "admin finance owner viewer",
	"GET /api/v1/drift/identities":                                 "admin finance owner viewer",
	"GET /api/v1/costs/unpriced":                                   "admin finance owner viewer",
	"GET /api/v1/prices/custom":                                    "admin finance owner viewer",
	"PUT /api/v1/prices/custom/{id...}":                            "admin finance",
	"DELETE /api/v1/prices/custom/{id...}":                         "admin finance",
	"GET /api/v1/prices/custom/{id...}":                            "admin finance owner viewer",
	"POST /api/v1/costs/reprice":                                   "admin finance",
	"GET /api/v1/costs/revisions":                                  "admin finance owner viewer",
	"GET /api/v1/use-cases":                                        "admin finance owner viewer",
	"GET /api/v1/use-cases/{name}":                                 "admin finance owner viewer",
	"PUT /api/v1/use-cases/{name}":                                 "admin owner",
	"GET /api/v1/use-cases/{name}/history":                         "admin finance owner viewer",
	"POST /api/v1/use-cases/{name}/versions":                       "admin owner",
	"PUT /api/v1/use-cases/{name}/instances/{instance}/kpis/{kpi}": "admin owner",
	"GET /api/v1/use-cases/{name}/report":                          "admin finance owner viewer",
	"GET /api/v1/use-cases/{name}/compare":                         "admin finance owner viewer",
	"GET /api/v1/portfolio":                                        "admin finance owner viewer",
	"POST /api/v1/costs/reconcile":                                 "admin finance",
	"GET /api/v1/applications":                                     "admin finance owner viewer",
	"PUT /api/v1/applications/{name}":                              "admin",
	"POST /api/v1/applications/{name}/keys":                        "admin",
	"DELETE /api/v1/keys/{id}":                                     "admin",
	"GET /api/v1/limits":                                           "admin finance owner viewer",
	"GET /api/v1/limits/{name}":                                    "admin finance owner viewer",
	"PUT /api/v1/limits/{name}":                                    "admin finance",
	"DELETE /api/v1/limits/{name}":                                 "admin finance",
	"POST /api/v1/limits/{name}/reset":                             "admin finance",
	"GET /api/v1/forecast":                                         "admin finance owner viewer",
	"GET /api/v1/alerts":                                           "admin finance owner viewer",
	"POST /api/v1/ingest":                                          "admin",
	"GET /api/v1/costs/commitments":                                "admin finance owner viewer",
	"POST /api/v1/login":                                           "public",
	"POST /api/v1/logout":                                          "public",
	"GET /api/v1/me":                                               "admin finance owner reviewer viewer",
	"POST /api/v1/me/password":                                     "admin finance owner reviewer viewer",
	"GET /api/v1/people":                                           "admin finance owner",
	"GET /api/v1/people/{name}":                                    "admin finance owner",
	"PUT /api/v1/people/{name}":                                    "admin",
	"DELETE /api/v1/people/{name}":                                 "admin",
	"POST /api/v1/people/{name}/password":                          "admin",
	"GET /api/v1/providers/{name}/credential":                      "admin",
	"PUT /api/v1/providers/{name}/credential":                      "admin",
	"DELETE /api/v1/providers/{name}/credential":                   "admin",
	"GET /api/v1/audit":                                            "admin",
	"GET /api/v1/routes":                                           "admin finance owner viewer",
	"GET /api/v1/auth/oidc/login":                                  "public",
	"GET /api/v1/auth/oidc/callback":                               "public",
	"GET /api/v1/tokens":                                           "admin finance owner reviewer viewer",
	"POST /api/v1/tokens":                                          "admin finance owner reviewer viewer",
	"DELETE /api/v1/tokens/{id}":                                   "admin finance owner reviewer viewer",
}

// teamScoped are the routes a principal limited to one team may use
// (with its role's permission); the others answer 403 team_scoped.
var teamScoped = map[string]bool{
	"GET /api/v1/requests": true, "GET /api/v1/requests/{id}": true, "POST /api/v1/cost/quote": true,
	"GET /api/v1/prices": true, "POST /api/v1/cost/estimate": true, "GET /api/v1/costs": true, "GET /api/v1/stats": true, "GET /api/v1/drift/events": true, "GET /api/v1/drift/identities": true,
	"GET /api/v1/costs/unpriced": true, "GET /api/v1/prices/custom": true, "GET /api/v1/prices/custom/{id...}": true,
	"GET /api/v1/use-cases": true, "GET /api/v1/use-cases/{name}": true, "PUT /api/v1/use-cases/{name}": true,
	"GET /api/v1/use-cases/{name}/history": true, "POST /api/v1/use-cases/{name}/versions": true,
	"PUT /api/v1/use-cases/{name}/instances/{instance}/kpis/{kpi}": true, "GET /api/v1/applications": true,
	"GET /api/v1/limits": true, "GET /api/v1/limits/{name}": true, "POST /api/v1/login": true, "POST /api/v1/logout": true,
	"GET /api/v1/me": true, "POST /api/v1/me/password": true, "GET /api/v1/people": true, "GET /api/v1/people/{name}": true,
	"GET /api/v1/auth/oidc/login": true, "GET /api/v1/auth/oidc/callback": true,
	"GET /api/v1/tokens": true, "POST /api/v1/tokens": true, "DELETE /api/v1/tokens/{id}": true,
}

// guarded serves every route with its handler replaced by one that
// answers 299, so that the status says what the guard decided.
func guarded(people People) http.Handler {
	a := everything(people)
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		rt.h = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }
		mux.Handle(rt.method+" "+rt.path, a.guard(rt))
	}
	return mux
}

func samplePath(p string) string {
	r := strings.NewReplacer("{id...}", "openai/x", "{id}", "x1", "{name}", "n1", "{instance}", "i1", "{kpi}", "k1")
	return r.Replace(p)
}

func TestRoleRouteTable(t *testing.T) {
	principals := map[string]auth.Principal{}
	for _, r := range auth.Roles {
		principals[string(r)] = auth.Principal{Kind: "token", Person: "p-" + string(r), Role: r}
		principals["team-"+string(r)] = auth.Principal{Kind: "token", Person: "q-" + string(r), Role: r, Team: "cx"}
	}
	h := guarded(fakePeople{principals: principals})
	var seen []string
	for _, rt := range everything(fakePeople{}).routes() {
		key := rt.method + " " + rt.path
		seen = append(seen, key)
		want, ok := allowed[key]
		if !ok {
			t.Errorf("%s is missing from the role table", key)
			continue
		}
		for _, team := range []bool{false, true} {
			for _, role := range append([]auth.Role{}, auth.Roles...) {
				tok := string(role)
				if team {
					tok = "team-" + tok
				}
				req := httptest.NewRequest(rt.method, samplePath(rt.path), nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				ok := want == "public" || strings.Contains(" "+want+" ", " "+string(role)+" ")
				if team && !teamScoped[key] {
					ok = false
				}
				if got := rec.Code == 299; got != ok {
					t.Errorf("%s as %s (team %v): status %d, want allowed=%v: %s", key, role, team, rec.Code, ok, rec.Body)
				} else if !ok && rec.Code != 403 {
					t.Errorf("%s as %s: refused with %d, want 403", key, role, rec.Code)
				}
			}
		}
		// Without credentials only public routes answer.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(rt.method, samplePath(rt.path), nil))
		if want == "public" != (rec.Code == 299) || want != "public" && rec.Code != 401 {
			t.Errorf("%s without credentials: %d", key, rec.Code)
		}
	}
	sort.Strings(seen)
	for key := range allowed {
		if _, found := sort.Find(len(seen), func(i int) int { return strings.Compare(key, seen[i]) }); !found {
			t.Errorf("the table names %s, which is not a route", key)
		}
	}
}

func TestRoutesListsTheTable(t *testing.T) {
	for _, ri := range everything(fakePeople{}).Routes() {
		key := ri.Method + " " + ri.Path
		if ri.TeamScoped != teamScoped[key] {
			t.Errorf("%s: Routes says team-scoped %v", key, ri.TeamScoped)
		}
	}
}

func TestPasswordChangeFirst(t *testing.T) {
	h := guarded(fakePeople{principals: map[string]auth.Principal{"otp": {Kind: "user", Person: "ann", Role: auth.Admin, MustChangePassword: true}}})
	for _, c := range []struct {
		method, path string
		want         int
	}{{"GET", "/api/v1/requests", 403}, {"GET", "/api/v1/me", 299}, {"POST", "/api/v1/me/password", 299}, {"PUT", "/api/v1/people/bob", 403}} {
		req := httptest.NewRequest(c.method, c.path, nil)
		req.Header.Set("Authorization", "Bearer otp")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want || c.want == 403 && !strings.Contains(rec.Body.String(), "password_change_required") {
			t.Errorf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
}

func TestCSRF(t *testing.T) {
	secret := "session-secret"
	a := everything(fakePeople{principals: map[string]auth.Principal{secret: {Kind: "user", Person: "ann", Role: auth.Admin}, "tok": {Kind: "token", Person: "ann", Role: auth.Admin}}})
	mux := http.NewServeMux()
	a.Register(mux)
	for _, c := range []struct {
		name   string
		method string
		cookie bool
		token  string
		hdr    map[string]string
		want   int
	}{
		{"cookie GET needs no token", "GET", true, "", nil, 200},
		{"cookie PUT without token", "PUT", true, "", nil, 403},
		{"cookie PUT with a wrong token", "PUT", true, auth.CSRFToken("other"), nil, 403},
		{"cookie PUT with the token", "PUT", true, auth.CSRFToken(secret), nil, 0},
		{"bearer PUT needs no token", "PUT", false, "", map[string]string{"Authorization": "Bearer tok"}, 0},
		{"cross-site browser PUT", "PUT", true, auth.CSRFToken(secret), map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"foreign origin PUT", "PUT", true, auth.CSRFToken(secret), map[string]string{"Origin": "https://evil.example"}, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := "/api/v1/limits/x"
			if c.method == "GET" {
				path = "/api/v1/me"
			}
			req := httptest.NewRequest(c.method, path, strings.NewReader(`{`))
			if c.cookie {
				req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: secret})
			}
			if c.token != "" {
				req.Header.Set("X-CSRF-Token", c.token)
			}
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			// 0: past the guard (the handler then refuses the bad body).
			if c.want == 0 && (rec.Code == 401 || rec.Code == 403) || c.want != 0 && rec.Code != c.want {
				t.Errorf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
		})
	}
}

func (fakePeople) ClearCookie(http.ResponseWriter) {}

package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval/review"
)

// noQueues is a review service without queues; only Queues is called.
type noQueues struct{ ReviewQueues }

func (noQueues) Queues(context.Context) ([]review.Queue, error) { return nil, nil }

// TestHomeByRole: a reviewer signing in lands on the review queues, not
// on an overview they may not read (without review queues wired, a 403:
// TestOverviewValue); readers get the overview.
func TestHomeByRole(t *testing.T) {
	e := newEnv(t, 0)
	d, err := New(Options{Requests: e.st, Review: ReviewSources{Queues: noQueues{}}, Auth: fakeAuth{map[string]auth.Principal{
		"rev": {Kind: "user", Person: "rita", Role: auth.Reviewer, Session: true},
		"adm": {Kind: "user", Person: "ada", Role: auth.Admin, Session: true},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cookie string
		code   int
		loc    string
	}{{"rev", http.StatusSeeOther, Prefix + "review"}, {"adm", http.StatusOK, ""}} {
		req := httptest.NewRequest("GET", Prefix, nil)
		req.AddCookie(&http.Cookie{Name: "weir_session", Value: c.cookie})
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		if rec.Code != c.code || rec.Header().Get("Location") != c.loc {
			t.Errorf("%s at %s: %d to %q", c.cookie, Prefix, rec.Code, rec.Header().Get("Location"))
		}
	}
}

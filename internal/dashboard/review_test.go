package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval/review"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

var reviewPeople = map[string]auth.Principal{
	"admin":  {Kind: "user", Person: "ada", Role: auth.Admin},
	"rev-a":  {Kind: "user", Person: "amy", Role: auth.Reviewer},
	"rev-b":  {Kind: "user", Person: "bob", Role: auth.Reviewer},
	"viewer": {Kind: "user", Person: "vic", Role: auth.Viewer},
}

// newReviewEnv is a dashboard with a review queue "q" (N=2, a boolean
// and a 5-point Likert criterion) over three calls.
func newReviewEnv(t *testing.T) (env, *review.Service) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for name, def := range map[string]string{
		"polite":  `{"question":"Is the reply polite?","rubric":"Rude words fail.","type":"boolean"}`,
		"clarity": `{"question":"How clear is it?","type":"likert","points":5}`,
	} {
		if _, _, err := st.CreateCriterion(ctx, store.Criterion{Name: name, UseCase: "support", BusinessOwner: "ada", TechnicalOwner: "ada", ChangedBy: "ada"},
			store.CriterionVersion{Definition: json.RawMessage(def), Author: "ada", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	var recs []record.Record
	for i := range 3 {
		recs = append(recs, record.Record{ID: fmt.Sprintf("call-r%d", i), ReceivedAt: now.Add(-time.Duration(i) * time.Minute), Endpoint: record.EndpointChatCompletions,
			Provider: "openai", Model: "gpt-4o", Status: 200, Attribution: record.Attribution{UseCase: "support"},
			Request:  fmt.Sprintf(`{"model":"gpt-4o","messages":[{"role":"user","content":"Where is my <parcel> %d?"}]}`, i),
			Response: fmt.Sprintf(`{"choices":[{"message":{"role":"assistant","content":"On its way %d."}}]}`, i)})
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	svc := review.New(review.Options{Store: st, Calls: st, Now: func() time.Time { return now }})
	if _, err := svc.CreateQueue(ctx, review.QueueInput{Name: "q", UseCase: "support", Criteria: []string{"polite", "clarity"}, ReviewsPerItem: 2}, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddItems(ctx, "q", []review.ItemInput{{Call: "call-r0"}, {Call: "call-r1"}, {Call: "call-r2"}}, "ada"); err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Auth: fakeAuth{reviewPeople}, Requests: st, Review: ReviewSources{Queues: svc}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return env{d: d, st: st}, svc
}

var navLinks = regexp.MustCompile(`<nav aria-label="Pages">[\s\S]*?</nav>`)

func TestReviewNavFollowsTheRole(t *testing.T) {
	e, _ := newReviewEnv(t)
	for _, tc := range []struct {
		session  string
		want     []string
		wantNone []string
	}{
		{"rev-a", []string{`href="/ui/review"`}, []string{`href="/ui/calls"`, `href="/ui/settings"`, `href="/ui/"`}},
		{"admin", []string{`href="/ui/review"`, `href="/ui/calls"`, `href="/ui/settings"`}, nil},
		{"viewer", []string{`href="/ui/calls"`}, []string{`href="/ui/review"`}},
	} {
		target := "/ui/review"
		if tc.session == "viewer" {
			target = "/ui/calls"
		}
		w := e.do(t, req{target: target, session: tc.session})
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s: %d", tc.session, target, w.Code)
		}
		nav := navLinks.FindString(w.Body.String())
		for _, s := range tc.want {
			if !strings.Contains(nav, s) {
				t.Errorf("%s's navigation lacks %s:\n%s", tc.session, s, nav)
			}
		}
		for _, s := range tc.wantNone {
			if strings.Contains(nav, s+">") {
				t.Errorf("%s's navigation has %s:\n%s", tc.session, s, nav)
			}
		}
	}
	if w := e.do(t, req{target: "/ui/calls", session: "rev-a"}); w.Code != http.StatusForbidden {
		t.Errorf("a reviewer opens the calls: %d, want 403", w.Code)
	}
	if w := e.do(t, req{target: "/ui/review/q", session: "viewer"}); w.Code != http.StatusForbidden {
		t.Errorf("a viewer opens the review screen: %d, want 403", w.Code)
	}
}

func TestReviewScreen(t *testing.T) {
	e, svc := newReviewEnv(t)
	w := e.do(t, req{target: "/ui/review", session: "rev-a"})
	if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, `href="/ui/review/q"`) || !strings.Contains(body, "support") {
		t.Fatalf("queue list: %d\n%s", w.Code, body)
	}
	w = e.do(t, req{target: "/ui/review/q", session: "rev-a"})
	body := w.Body.String()
	for _, want := range []string{"Is the reply polite?", "Rude words fail.", "How clear is it?", "Where is my &lt;parcel&gt; 0?", "On its way 0.",
		`value="b:true" data-key="y"`, `value="n:5" data-key="5"`, `id="review-comment"`, "<kbd>s</kbd>", `hx-post="/ui/review/q/items/`} {
		if !strings.Contains(body, want) {
			t.Errorf("the review screen lacks %q", want)
		}
	}
	if strings.Contains(body, " style=") || strings.Contains(body, "<style") {
		t.Error("inline style, which the CSP blocks")
	}
	id := regexp.MustCompile(`action="/ui/review/q/items/([^"/]+)"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatal("no item form")
	}
	post := func(session, path string, form url.Values) string {
		t.Helper()
		w := e.do(t, req{method: "POST", target: path, session: session, form: form, header: map[string]string{"HX-Request": "true"}})
		if w.Code != 200 {
			t.Fatalf("POST %s: %d %s", path, w.Code, w.Body.String())
		}
		return w.Body.String()
	}
	// A missing score is refused and the same item is shown again.
	out := post("rev-a", "/ui/review/q/items/"+id[1], url.Values{"c0": {"b:true"}})
	if !strings.Contains(out, "Score every criterion first: clarity") || !strings.Contains(out, "On its way 0.") || strings.Contains(out, "<html") {
		t.Errorf("a missing score:\n%s", out)
	}
	out = post("rev-a", "/ui/review/q/items/"+id[1], url.Values{"c0": {"b:false"}, "c1": {"n:4"}, "comment": {"curt"}})
	if !strings.Contains(out, "Review saved.") || !strings.Contains(out, "On its way 1.") {
		t.Errorf("after the review, the next item:\n%s", out)
	}
	page, err := e.st.ListScores(context.Background(), store.ScoreQuery{Target: "call-r0"})
	if err != nil || len(page.Scores) != 2 {
		t.Fatalf("scores of call-r0: %+v, %v", page, err)
	}
	for _, sc := range page.Scores {
		if sc.Evaluator != "amy" || sc.Reasoning != "curt" {
			t.Errorf("score %+v", sc.Score)
		}
	}
	// Skipping shows the next one; without htmx the browser is sent back
	// to the queue.
	id2 := regexp.MustCompile(`action="/ui/review/q/items/([^"/]+)"`).FindStringSubmatch(out)
	w = e.do(t, req{method: "POST", target: "/ui/review/q/items/" + id2[1] + "/skip", session: "rev-a", form: url.Values{"reason": {"unclear"}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/review/q" {
		t.Errorf("skip without htmx: %d %s", w.Code, w.Header().Get("Location"))
	}
	q, err := svc.Queue(context.Background(), "q")
	if err != nil || q.Progress.Reviewers[0].Total != 1 || q.Progress.Reviewers[0].Skipped != 1 {
		t.Errorf("progress: %+v, %v", q.Progress, err)
	}
	// Bob reviews the item amy reviewed; amy is then left with call-r2
	// only, and after it nothing.
	w = e.do(t, req{target: "/ui/review/q", session: "rev-b"})
	if !strings.Contains(w.Body.String(), "On its way 0.") {
		t.Errorf("bob's first item is not call-r0")
	}
	w = e.do(t, req{target: "/ui/review/q", session: "rev-a"})
	id3 := regexp.MustCompile(`action="/ui/review/q/items/([^"/]+)"`).FindStringSubmatch(w.Body.String())
	if !strings.Contains(w.Body.String(), "On its way 2.") || id3 == nil {
		t.Fatalf("amy's third item is not call-r2:\n%s", w.Body.String())
	}
	out = post("rev-a", "/ui/review/q/items/"+id3[1], url.Values{"c0": {"b:true"}, "c1": {"n:5"}})
	if !strings.Contains(out, "Nothing left for you here") {
		t.Errorf("amy's queue after everything:\n%s", out)
	}
	// Bob's lock on call-r0 keeps amy's stale form from saving over it.
	out = post("rev-a", "/ui/review/q/items/"+id[1], url.Values{"c0": {"b:true"}, "c1": {"n:5"}})
	if !strings.Contains(out, "no longer yours") {
		t.Errorf("a second review by amy:\n%s", out)
	}
}

func TestParseChoice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		bad  bool
	}{
		{"b:true", `{"bool":true}`, false},
		{"b:false", `{"bool":false}`, false},
		{"n:4", `{"number":4}`, false},
		{"2.5", `{"number":2.5}`, false},
		{"l:good: very", `{"label":"good: very"}`, false},
		{"b:maybe", "", true},
		{"x:1", "", true},
		{"n:", "", true},
	} {
		v, err := parseChoice(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if !tc.bad {
			got, _ := json.Marshal(v)
			if string(got) != tc.want {
				t.Errorf("%q: %s, want %s", tc.in, got, tc.want)
			}
		}
	}
}

func FuzzParseChoice(f *testing.F) {
	for _, s := range []string{"b:true", "n:4", "l:x", "3", "", "n:NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseChoice(s)
		if err == nil {
			set := 0
			if v.Bool != nil {
				set++
			}
			if v.Number != nil {
				set++
			}
			if v.Label != "" {
				set++
			}
			if set > 1 {
				t.Errorf("%q: %d fields set", s, set)
			}
		}
	})
}

func TestReviewRenew(t *testing.T) {
	e, _ := newReviewEnv(t)
	w := e.do(t, req{target: "/ui/review/q", session: "rev-a"})
	renew := regexp.MustCompile(`data-renew="([^"]+)"`).FindStringSubmatch(w.Body.String())
	if renew == nil {
		t.Fatal("no renew URL on the review screen")
	}
	if w := e.do(t, req{method: "POST", target: renew[1], session: "rev-a"}); w.Code != http.StatusNoContent {
		t.Errorf("amy renews her lock: %d", w.Code)
	}
	if w := e.do(t, req{method: "POST", target: renew[1], session: "rev-b"}); w.Code != http.StatusConflict {
		t.Errorf("bob renews amy's lock: %d, want 409", w.Code)
	}
}

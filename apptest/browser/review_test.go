package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/dashboard"
	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/review"
	"github.com/weirhq/weir/internal/httpjson"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

// The review test's people and queue.
var reviewers = []string{"rita", "rolf"}

const (
	reviewQueue = "support-quality"
	reviewItems = 6
)

// TestReviewInChromium has two reviewers work a review queue with N=2
// (one boolean and one Likert criterion over six recorded calls) in
// headless Chromium with the keyboard only (tests/browser/review.test.mjs),
// then checks through the API, as an admin, that every item was reviewed
// twice with both reviewers' scores and that nobody was given an item
// twice. The server is the dashboard and the review and scores API over
// one SQLite store, authenticated by the same auth.Manager as Weir's.
func TestReviewInChromium(t *testing.T) {
	node := requireTools(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "tests", "browser")
	npm := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in tests/browser: %v\n%s", err, out)
	}
	base, st, logs := startReviewServer(t)

	ctx, cancel := context.WithTimeout(t.Context(), 75*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "review.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WEIR_URL="+base, "WEIR_USER="+adminName, "WEIR_PASSWORD="+adminPassword,
		"WEIR_REVIEWERS="+reviewers[0]+","+reviewers[1], "WEIR_QUEUE="+reviewQueue, fmt.Sprintf("WEIR_ITEMS=%d", reviewItems))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test tests/browser/review.test.mjs: %v\n%s\nthe server's log:\n%s", err, out, logs)
	}
	t.Logf("review browser test passed in %s\n%s", time.Since(start).Round(time.Millisecond), out)

	// The store agrees with what the browser test read from the API.
	items, err := st.ListReviewItems(t.Context(), reviewQueue, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Reviews != 2 || !slices.Equal(it.Reviewers, reviewers) {
			t.Errorf("%s: %d reviews by %v, want 2 by %v", it.Target, it.Reviews, it.Reviewers, reviewers)
		}
	}
}

// startReviewServer seeds a store (the admin, two reviewers, two criteria
// of use case support-reply, six calls and a queue over them) and serves
// the dashboard, the review queue routes and GET /api/v1/scores with the
// permissions of their Routes.
func startReviewServer(t *testing.T) (string, *sqlite.Store, *lockedBuffer) {
	t.Helper()
	ctx := audit.WithActor(t.Context(), audit.CLIActor())
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := auth.New(auth.Options{Store: st, InsecureCookies: true, Audit: audit.New(st, audit.Options{}), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.CreatePerson(ctx, adminName, auth.PersonInput{Role: "admin"}, adminPassword); err != nil {
		t.Fatal(err)
	}
	for _, r := range reviewers {
		if _, _, err := m.CreatePerson(ctx, r, auth.PersonInput{Role: "reviewer"}, adminPassword); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	for name, def := range map[string]string{
		"polite":  `{"question":"Is the reply polite?","rubric":"Fail a reply with rude or dismissive words.","type":"boolean"}`,
		"clarity": `{"question":"How clear is the reply?","rubric":"5: a customer acts on it at once; 1: it confuses.","type":"likert","points":5,"pass_at":4}`,
	} {
		if _, _, err := st.CreateCriterion(ctx, store.Criterion{Name: name, UseCase: "support-reply", BusinessOwner: adminName, TechnicalOwner: adminName, ChangedBy: adminName},
			store.CriterionVersion{Definition: json.RawMessage(def), Author: adminName, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	var recs []record.Record
	for i := range reviewItems {
		recs = append(recs, record.Record{ID: fmt.Sprintf("req_review%02d", i), ReceivedAt: now.Add(-time.Duration(reviewItems-i) * time.Minute),
			Endpoint: record.EndpointChatCompletions, Provider: "openai", Model: "gpt-4o-mini", Status: 200, Attribution: record.Attribution{UseCase: "support-reply", Team: "cx"},
			Request:  fmt.Sprintf(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You answer customers of a parcel service."},{"role":"user","content":"Where is parcel %d? It is late."}]}`, i),
			Response: fmt.Sprintf(`{"choices":[{"message":{"role":"assistant","content":"Parcel %d is at the depot and arrives tomorrow."}}]}`, i)})
	}
	if err := st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	svc := review.New(review.Options{Store: st, Calls: st, Log: log})
	if _, err := svc.CreateQueue(ctx, review.QueueInput{Name: reviewQueue, UseCase: "support-reply", Criteria: []string{"polite", "clarity"}, ReviewsPerItem: 2}, adminName); err != nil {
		t.Fatal(err)
	}
	var add []review.ItemInput
	for _, r := range recs {
		add = append(add, review.ItemInput{Call: r.ID})
	}
	if _, err := svc.AddItems(ctx, reviewQueue, add, adminName); err != nil {
		t.Fatal(err)
	}
	dash, err := dashboard.New(dashboard.Options{Auth: m, Sessions: m, Requests: st, Review: dashboard.ReviewSources{Queues: svc}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", dash)
	guard := func(perm auth.Permission, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _, err := m.Authenticate(r)
			if err != nil {
				httpjson.Error(w, http.StatusUnauthorized, "unauthenticated", err.Error())
				return
			}
			if !p.Role.Can(perm) {
				httpjson.Error(w, http.StatusForbidden, "forbidden", "role "+string(p.Role)+" lacks "+string(perm))
				return
			}
			h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
	rh := svc.Handler()
	for _, rt := range review.Routes {
		mux.Handle(rt.Method+" "+rt.Path, guard(rt.Permission, rh))
	}
	ch := criteria.New(criteria.Options{Store: st, People: st, Log: log}).Handler()
	mux.Handle("GET /api/v1/scores", guard(auth.Read, ch))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, st, logs
}

package review

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type env struct {
	st  *sqlite.Store
	s   *Service
	now *time.Time
}

func (e *env) tick(d time.Duration) { *e.now = e.now.Add(d) }

// newEnv opens a store with two criteria of use case support (tone:
// boolean, clarity: 5-point Likert) and n calls of it.
func newEnv(t *testing.T, calls int) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for name, def := range map[string]string{
		"tone":    `{"question":"Polite?","rubric":"Rude words fail.","type":"boolean"}`,
		"clarity": `{"question":"Clear?","type":"likert","points":5,"pass_at":4}`,
	} {
		if _, _, err := st.CreateCriterion(ctx, store.Criterion{Name: name, UseCase: "support", BusinessOwner: "bea", TechnicalOwner: "tom", ChangedBy: "bea"},
			store.CriterionVersion{Definition: json.RawMessage(def), Author: "bea", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	var recs []record.Record
	for i := range calls {
		recs = append(recs, call(i, t0.Add(-time.Duration(calls-i)*time.Minute), "gpt-4o", "v1"))
	}
	if len(recs) > 0 {
		if err := st.WriteRecords(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	now := t0
	e := &env{st: st, now: &now}
	e.s = New(Options{Store: st, Calls: st, Now: func() time.Time { return *e.now }})
	return e
}

func call(i int, at time.Time, model, version string) record.Record {
	return record.Record{ID: fmt.Sprintf("req_%04d", i), ReceivedAt: at, Endpoint: record.EndpointChatCompletions, Provider: "openai", Model: model,
		Status: 200, Attribution: record.Attribution{UseCase: "support", UseCaseVersion: version},
		Request:  fmt.Sprintf(`{"model":%q,"messages":[{"role":"system","content":"Be kind."},{"role":"user","content":[{"type":"text","text":"Question %d"}]}]}`, model, i),
		Response: fmt.Sprintf(`{"choices":[{"message":{"role":"assistant","content":"Answer %d"}}]}`, i)}
}

func (e *env) queue(t *testing.T, n int, sp store.ReviewSampling) {
	t.Helper()
	if _, err := e.s.CreateQueue(context.Background(), QueueInput{Name: "q", UseCase: "support", Criteria: []string{"tone", "clarity"}, ReviewsPerItem: n, Sampling: sp}, "ada"); err != nil {
		t.Fatal(err)
	}
}

// serve answers req as (person, role) through the handler.
func serve(t *testing.T, h http.Handler, method, path, body, person string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req = req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{Kind: "user", Person: person, Role: auth.Reviewer}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d %q: %v", method, path, w.Code, w.Body.String(), err)
	}
	return w.Code, out
}

func TestCreateQueueValidation(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		in   QueueInput
		want string
	}{
		{"bad name", QueueInput{Name: "a b", UseCase: "support", Criteria: []string{"tone"}}, "name"},
		{"no criteria", QueueInput{Name: "q", UseCase: "support"}, "1 to 20 criteria"},
		{"twice", QueueInput{Name: "q", UseCase: "support", Criteria: []string{"tone", "tone"}}, "twice"},
		{"missing criterion", QueueInput{Name: "q", UseCase: "support", Criteria: []string{"nope"}}, "no criterion"},
		{"other use case", QueueInput{Name: "q", UseCase: "sales", Criteria: []string{"tone"}}, "belongs to use case"},
		{"N too big", QueueInput{Name: "q", UseCase: "support", Criteria: []string{"tone"}, ReviewsPerItem: 21}, "reviews_per_item"},
		{"rate", QueueInput{Name: "q", UseCase: "support", Criteria: []string{"tone"}, Sampling: store.ReviewSampling{Rate: 1.5}}, "rate"},
		{"strata", QueueInput{Name: "q", UseCase: "support", Criteria: []string{"tone"}, Sampling: store.ReviewSampling{StratifyBy: "team"}}, "stratify_by"},
		{"minimum without strata", QueueInput{Name: "q", UseCase: "support", Criteria: []string{"tone"}, Sampling: store.ReviewSampling{MinPerStratum: 2}}, "needs stratify_by"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.s.CreateQueue(ctx, tc.in, "ada")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	q, err := e.s.CreateQueue(ctx, QueueInput{Name: "q", UseCase: "support", Criteria: []string{"tone"}}, "ada")
	if err != nil || q.ReviewsPerItem != 1 || q.CreatedBy != "ada" {
		t.Errorf("default N: %+v, %v", q, err)
	}
}

// TestReviewFlow: two reviewers over three calls with N=2 through the
// HTTP handler; each item ends with both reviewers' scores, nobody is
// given an item twice, and the scores use the versions the item was
// opened with.
func TestReviewFlow(t *testing.T) {
	e := newEnv(t, 3)
	h := e.s.Handler()
	code, out := serve(t, h, "POST", "/api/v1/review-queues", `{"name":"q","use_case":"support","criteria":["tone","clarity"],"reviews_per_item":2}`, "ada")
	if code != 201 || out["reviews_per_item"] != 2.0 {
		t.Fatalf("create: %d %v", code, out)
	}
	if code, _ := serve(t, h, "POST", "/api/v1/review-queues", `{"name":"q","use_case":"support","criteria":["tone"]}`, "ada"); code != 409 {
		t.Errorf("create twice: %d, want 409", code)
	}
	code, out = serve(t, h, "POST", "/api/v1/review-queues/q/items", `{"items":[{"call":"req_0000"},{"call":"req_0001"},{"call":"req_0002"},{"call":"req_0000"}]}`, "ada")
	if code != 200 || out["added"] != 3.0 || out["skipped"] != 1.0 {
		t.Fatalf("add: %d %v", code, out)
	}
	if code, _ := serve(t, h, "POST", "/api/v1/review-queues/q/items", `{"items":[{"call":"req_9999"}]}`, "ada"); code != 400 {
		t.Errorf("add a missing call: %d, want 400", code)
	}
	if code, _ := serve(t, h, "POST", "/api/v1/review-queues/q/items", `{"items":[{"call":"req_0001","experiment_item":"e/i/v"}]}`, "ada"); code != 400 {
		t.Errorf("add an item with two targets: %d, want 400", code)
	}

	seen := map[string]map[string]bool{"amy": {}, "bob": {}}
	for round := 0; ; round++ {
		progressed := false
		for _, who := range []string{"amy", "bob"} {
			code, task := serve(t, h, "POST", "/api/v1/review-queues/q/next", ``, who)
			if code == 404 {
				if task["error"].(map[string]any)["code"] != "queue_empty" {
					t.Errorf("%s's empty queue: %v", who, task)
				}
				continue
			}
			if code != 200 {
				t.Fatalf("%s next: %d %v", who, code, task)
			}
			item := task["item"].(map[string]any)
			id, target := item["id"].(string), item["target"].(string)
			if seen[who][target] {
				t.Errorf("%s was given %s again", who, target)
			}
			seen[who][target] = true
			in := task["input"].([]any)
			if len(in) != 2 || !strings.HasPrefix(in[1].(map[string]any)["content"].(string), "Question ") || !strings.HasPrefix(task["output"].(string), "Answer ") {
				t.Errorf("task input/output: %v / %v", in, task["output"])
			}
			if crit := task["criteria"].([]any); len(crit) != 2 || crit[0].(map[string]any)["name"] != "tone" {
				t.Errorf("task criteria: %v", crit)
			}
			// A bad score is refused and the item stays the reviewer's.
			if code, _ := serve(t, h, "POST", "/api/v1/review-queues/q/items/"+id+"/review", `{"scores":{"tone":{"bool":true},"clarity":{"number":6}}}`, who); code != 400 {
				t.Errorf("clarity 6 of 5: %d, want 400", code)
			}
			if code, _ := serve(t, h, "POST", "/api/v1/review-queues/q/items/"+id+"/review", `{"scores":{"tone":{"bool":true}}}`, who); code != 400 {
				t.Errorf("clarity missing: %d, want 400", code)
			}
			other := map[string]string{"amy": "bob", "bob": "amy"}[who]
			if code, _ := serve(t, h, "POST", "/api/v1/review-queues/q/items/"+id+"/review", `{"scores":{"tone":{"bool":true},"clarity":{"number":3}}}`, other); code != 409 {
				t.Errorf("%s reviews %s's locked item: %d, want 409", other, who, code)
			}
			code, res := serve(t, h, "POST", "/api/v1/review-queues/q/items/"+id+"/review", fmt.Sprintf(`{"scores":{"tone":{"bool":%t},"clarity":{"number":4}},"comment":"ok %d"}`, who == "amy", round), who)
			if code != 200 {
				t.Fatalf("%s review: %d %v", who, code, res)
			}
			if code, _ := serve(t, h, "POST", "/api/v1/review-queues/q/items/"+id+"/review", `{"scores":{"tone":{"bool":true},"clarity":{"number":3}}}`, who); code != 409 {
				t.Errorf("%s reviews twice: %d, want 409", who, code)
			}
			progressed = true
		}
		if !progressed {
			break
		}
		e.tick(time.Second)
	}
	for who, s := range seen {
		if len(s) != 3 {
			t.Errorf("%s reviewed %d items, want 3", who, len(s))
		}
	}
	code, out = serve(t, h, "GET", "/api/v1/review-queues/q", ``, "ada")
	p := out["progress"].(map[string]any)
	if code != 200 || p["items"] != 3.0 || p["reviewed"] != 3.0 || p["in_progress"] != 0.0 {
		t.Errorf("progress: %d %v", code, out)
	}
	items, err := e.s.Items(context.Background(), "q", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if diff := cmp.Diff([]string{"amy", "bob"}, it.Reviewers); diff != "" || it.Reviews != 2 {
			t.Errorf("%s: reviews %d, reviewers (-want +got):\n%s", it.Target, it.Reviews, diff)
		}
		page, err := e.st.ListScores(context.Background(), store.ScoreQuery{Target: it.Target})
		if err != nil || len(page.Scores) != 4 {
			t.Errorf("%s: %d scores, want 4 (%v)", it.Target, len(page.Scores), err)
		}
		for _, sc := range page.Scores {
			if sc.EvaluatorKind != "human" || sc.TargetKind != "call" || sc.CriterionVersion != 1 || !strings.HasPrefix(sc.Reasoning, "ok ") {
				t.Errorf("score %+v", sc)
			}
		}
	}
}

func TestSkipAndLockExpiry(t *testing.T) {
	e := newEnv(t, 2)
	e.queue(t, 1, store.ReviewSampling{})
	ctx := context.Background()
	if _, err := e.s.AddItems(ctx, "q", []ItemInput{{Call: "req_0000"}, {Call: "req_0001"}, {ExperimentItem: "exp/item1/b"}}, "ada"); err != nil {
		t.Fatal(err)
	}
	a, err := e.s.Next(ctx, "q", "amy")
	if err != nil || a.Item.Target != "req_0000" {
		t.Fatalf("amy: %+v, %v", a, err)
	}
	b, err := e.s.Next(ctx, "q", "bob")
	if err != nil || b.Item.Target != "req_0001" {
		t.Fatalf("bob: %+v, %v", b, err)
	}
	if _, err := e.s.Skip(ctx, "q", b.Item.ID, "bob", "not English"); err != nil {
		t.Fatal(err)
	}
	x, err := e.s.Next(ctx, "q", "bob")
	if err != nil || x.Item.Target != "exp/item1/b" || x.Note == "" || len(x.Input) != 0 {
		t.Errorf("bob after the skip: %+v, %v", x, err)
	}
	// amy's lock expires after ten minutes of inactivity; renewing keeps it.
	e.tick(9 * time.Minute)
	if _, err := e.s.Renew(ctx, "q", a.Item.ID, "amy"); err != nil {
		t.Fatal(err)
	}
	e.tick(9 * time.Minute)
	if c, err := e.s.Next(ctx, "q", "carl"); err != nil || c.Item.Target != "req_0001" {
		t.Errorf("carl while amy holds req_0000: %+v, %v", c, err)
	}
	e.tick(2 * time.Minute)
	if d, err := e.s.Next(ctx, "q", "dana"); err != nil || d.Item.Target != "req_0000" {
		t.Errorf("dana after amy's lock expired: %+v, %v", d, err)
	}
	if _, _, err := e.s.Submit(ctx, "q", a.Item.ID, "amy", Submission{Scores: nil}); err == nil {
		t.Errorf("amy submits after losing the lock: no error")
	}
}

// TestNextRace: reviewers asking for the last slot at once: the item goes
// to one of them.
func TestNextRace(t *testing.T) {
	e := newEnv(t, 1)
	e.queue(t, 1, store.ReviewSampling{})
	ctx := context.Background()
	if _, err := e.s.AddItems(ctx, "q", []ItemInput{{Call: "req_0000"}}, "ada"); err != nil {
		t.Fatal(err)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got []string
	)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := fmt.Sprint("rev", i)
			if _, err := e.s.Next(ctx, "q", who); err == nil {
				mu.Lock()
				got = append(got, who)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 1 {
		t.Errorf("the one item was locked for %v, want one reviewer", got)
	}
}

func TestSample(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	e.queue(t, 1, store.ReviewSampling{Rate: 0.25})
	var recs []record.Record
	for i := range 400 {
		r := call(i, t0.Add(-time.Duration(400-i)*time.Second), "gpt-4o", "v1")
		if i%50 == 0 {
			r.Status, r.ErrorKind = 500, "upstream"
		}
		recs = append(recs, r)
	}
	other := call(9000, t0.Add(-time.Second), "gpt-4o", "v1")
	other.UseCase = "sales"
	recs = append(recs, other)
	if err := e.st.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	n, err := e.s.SampleAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 392 successful calls at 25%: within 4 standard deviations.
	if n < 98-4*9 || n > 98+4*9 {
		t.Errorf("sampled %d of 392 at 25%%", n)
	}
	// The cursor moved: a second run over the same calls adds nothing.
	if again, err := e.s.SampleAll(ctx); err != nil || again != 0 {
		t.Errorf("second run: %d, %v; want 0", again, err)
	}
	// New calls are sampled once; the same draw decides as Pick says.
	var more []record.Record
	for i := 400; i < 800; i++ {
		more = append(more, call(i, t0.Add(time.Duration(i)*time.Millisecond), "gpt-4o", "v1"))
	}
	if err := e.st.WriteRecords(ctx, more); err != nil {
		t.Fatal(err)
	}
	e.tick(time.Minute)
	q, _ := e.st.ReviewQueue(ctx, "q")
	want := len(Pick(q, more, nil))
	if got, err := e.s.SampleAll(ctx); err != nil || got != want {
		t.Errorf("third run: %d, %v; want %d", got, err, want)
	}
	items, err := e.s.Items(ctx, "q", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, it := range items {
		if targets[it.Target] {
			t.Errorf("%s sampled twice", it.Target)
		}
		targets[it.Target] = true
		if it.Target == "req_0000" || it.Target == "req_9000" {
			t.Errorf("%s sampled (a failed call or another use case)", it.Target)
		}
	}
}

func TestPickStrata(t *testing.T) {
	q := store.ReviewQueue{Name: "q", UseCase: "support", Sampling: store.ReviewSampling{Rate: 0, StratifyBy: "model", MinPerStratum: 3}}
	var calls []record.Record
	day1 := t0.Truncate(24 * time.Hour)
	for i := range 20 {
		calls = append(calls, call(i, day1.Add(time.Duration(i)*time.Minute), "gpt-4o", "v1"))
		calls = append(calls, call(100+i, day1.Add(time.Duration(i)*time.Minute), "claude", "v2"))
		calls = append(calls, call(200+i, day1.Add(24*time.Hour+time.Duration(i)*time.Minute), "gpt-4o", "v1"))
	}
	counts := map[string]int{day1.Format(time.DateOnly) + "|claude": 2}
	got := map[string]int{}
	for _, p := range Pick(q, calls, counts) {
		got[p.Day.Format(time.DateOnly)+"|"+p.Stratum]++
	}
	d1, d2 := day1.Format(time.DateOnly), day1.Add(24*time.Hour).Format(time.DateOnly)
	want := map[string]int{d1 + "|gpt-4o": 3, d1 + "|claude": 1, d2 + "|gpt-4o": 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strata at rate 0 with a minimum of 3 (-want +got):\n%s", diff)
	}
	// Filters: model and version.
	q.Sampling = store.ReviewSampling{Rate: 1, UseCaseVersion: "v2"}
	if p := Pick(q, calls, nil); len(p) != 20 || p[0].Call != "req_0100" {
		t.Errorf("version v2 at rate 1: %d picked", len(p))
	}
	q.Sampling = store.ReviewSampling{Rate: 1, Model: "claude", StratifyBy: "version"}
	if p := Pick(q, calls, nil); len(p) != 20 || p[0].Stratum != "v2" {
		t.Errorf("model claude at rate 1: %+v", p)
	}
	// Each stratum is sampled at the rate.
	q.Sampling = store.ReviewSampling{Rate: 0.5, StratifyBy: "model"}
	var big []record.Record
	for i := range 4000 {
		m := "gpt-4o"
		if i%4 == 0 {
			m = "claude"
		}
		big = append(big, call(i, day1, m, "v1"))
	}
	per := map[string]int{}
	for _, p := range Pick(q, big, nil) {
		per[p.Stratum]++
	}
	if per["claude"] < 500-100 || per["claude"] > 500+100 || per["gpt-4o"] < 1500-150 || per["gpt-4o"] > 1500+150 {
		t.Errorf("per stratum at 50%%: %v (want about 500 and 1500)", per)
	}
}

func TestUnitUniform(t *testing.T) {
	var buckets [10]int
	for i := range 10000 {
		buckets[int(Unit("q", fmt.Sprintf("req_%08d", i))*10)]++
	}
	for i, n := range buckets {
		if n < 850 || n > 1150 {
			t.Errorf("bucket %d: %d of 10000", i, n)
		}
	}
}

func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"scores":{"tone":{"bool":true}},"comment":"x"}`))
	f.Add([]byte(`{"name":"q","use_case":"u","criteria":["a"],"sampling":{"rate":0.5}}`))
	f.Add([]byte(`{"items":[{"call":"c"}]} {}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var sub Submission
		if DecodeBody(body, &sub) == nil && len(sub.Scores) > 0 {
			for _, v := range sub.Scores {
				_ = v
			}
		}
		var in QueueInput
		if DecodeBody(body, &in) == nil {
			if err := in.Validate(); err == nil && (in.ReviewsPerItem < 1 || in.Sampling.Rate < 0 || in.Sampling.Rate > 1) {
				t.Errorf("valid queue with %d reviews and rate %v", in.ReviewsPerItem, in.Sampling.Rate)
			}
		}
		var add addBody
		_ = DecodeBody(body, &add)
	})
}

// TestRoutesServed: every route in Routes reaches a handler (not the
// catch-all's "no route"), and nothing else is served.
func TestRoutesServed(t *testing.T) {
	e := newEnv(t, 0)
	h := e.s.Handler()
	for _, rt := range Routes {
		path := strings.NewReplacer("{name}", "nope", "{id}", "x").Replace(rt.Path)
		_, out := serve(t, h, rt.Method, path, `{}`, "ada")
		errObj, _ := out["error"].(map[string]any)
		if msg, _ := errObj["message"].(string); strings.HasPrefix(msg, "no route") {
			t.Errorf("%s %s is not served", rt.Method, rt.Path)
		}
	}
	if code, _ := serve(t, h, "DELETE", "/api/v1/review-queues/q", ``, "ada"); code != 404 {
		t.Errorf("an unlisted route: %d, want 404", code)
	}
}

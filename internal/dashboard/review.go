package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval"
	"github.com/weirhq/weir/internal/eval/review"
	"github.com/weirhq/weir/internal/store"
)

// ReviewSources feed the Review pages: the human review queues.
type ReviewSources struct {
	// Queues works the queues (*review.Service); nil hides the Review
	// page.
	Queues ReviewQueues
}

// ReviewQueues is what the Review pages need of the review service.
type ReviewQueues interface {
	Queues(ctx context.Context) ([]review.Queue, error)
	Queue(ctx context.Context, name string) (review.Queue, error)
	Next(ctx context.Context, queue, reviewer string) (review.Task, error)
	Submit(ctx context.Context, queue, id, reviewer string, sub review.Submission) (store.ReviewItem, []store.StoredScore, error)
	Skip(ctx context.Context, queue, id, reviewer, reason string) (store.ReviewItem, error)
	Renew(ctx context.Context, queue, id, reviewer string) (store.ReviewItem, error)
}

// reviewPath is the Review page's navigation path.
const reviewPath = Prefix + "review"

// navFor is the navigation a viewer may follow: the pages their role can
// open (a reviewer sees Review only), and Review only when it is wired.
func (d *Dashboard) navFor(v *viewer) []navItem {
	out := make([]navItem, 0, len(nav))
	for _, n := range nav {
		perm := auth.Read
		if n.Path == reviewPath {
			if d.opt.Review.Queues == nil {
				continue
			}
			perm = auth.Review
		}
		if v != nil && !v.Role.Can(perm) {
			continue
		}
		if (n.Path == evaluationPath || n.Path == driftPath) && v != nil && v.Team != "" {
			continue // evaluation and drift span teams: a team-limited viewer gets 403 there
		}
		if n.Path == driftPath && d.opt.Drift.Events == nil {
			continue
		}
		out = append(out, n)
	}
	return out
}

// reviewer is the name the viewer reviews under.
func (v viewer) reviewer() string {
	if v.Person != "" {
		return v.Person
	}
	return v.Name()
}

type reviewListData struct {
	Wired  bool
	Queues []review.Queue
	Error  string
}

func (d *Dashboard) reviewQueues(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	data := reviewListData{Wired: d.opt.Review.Queues != nil}
	if data.Wired {
		qs, err := d.opt.Review.Queues.Queues(r.Context())
		if err != nil {
			d.log.Error("review queues", "err", err)
			data.Error = "The review queues could not be read; try again."
		}
		data.Queues = qs
	}
	d.render(w, http.StatusOK, "review", "", view{Title: "Review", Active: reviewPath, Viewer: &v, Data: data})
}

// taskData is the review screen: a queue and the viewer's current item.
type taskData struct {
	Queue review.Queue
	// Task is nil when nothing is left for the viewer.
	Task  *review.Task
	Forms []criterionForm
	Error string
	// Done says the previous item was submitted or skipped.
	Done string
	CSRF string
}

// criterionForm is one criterion as the form shows it.
type criterionForm struct {
	review.TaskCriterion
	Field   string
	Choices []choice
	// Numeric criteria take a typed number in [Min, Max].
	Numeric  bool
	Min, Max string
}

// choice is one value a reviewer can pick, with its key.
type choice struct {
	Value, Label, Key string
}

func formsOf(crit []review.TaskCriterion) []criterionForm {
	out := make([]criterionForm, 0, len(crit))
	for i, c := range crit {
		f := criterionForm{TaskCriterion: c, Field: "c" + strconv.Itoa(i)}
		key := func(n int) string {
			switch {
			case n < 9:
				return strconv.Itoa(n + 1)
			case n == 9:
				return "0"
			}
			return ""
		}
		switch c.Definition.Type {
		case eval.Boolean:
			f.Choices = []choice{{"b:true", "Yes", "y"}, {"b:false", "No", "n"}}
		case eval.Likert:
			for p := 1; p <= c.Definition.Points; p++ {
				f.Choices = append(f.Choices, choice{"n:" + strconv.Itoa(p), strconv.Itoa(p), key(p - 1)})
			}
		case eval.Categorical:
			for j, l := range c.Definition.Labels {
				f.Choices = append(f.Choices, choice{"l:" + l, l, key(j)})
			}
		case eval.Numeric:
			f.Numeric = true
			if c.Definition.Min != nil && c.Definition.Max != nil {
				f.Min, f.Max = strconv.FormatFloat(*c.Definition.Min, 'g', -1, 64), strconv.FormatFloat(*c.Definition.Max, 'g', -1, 64)
			}
		}
		out = append(out, f)
	}
	return out
}

// parseChoice reads a form value: b:true, n:4, l:label, or a bare number
// (a numeric criterion's input).
func parseChoice(s string) (eval.Value, error) {
	var v eval.Value
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		kind, rest = "n", s
	}
	switch kind {
	case "b":
		b, err := strconv.ParseBool(rest)
		if err != nil {
			return v, fmt.Errorf("%w: %q is not true or false", eval.ErrInvalid, rest)
		}
		v.Bool = &b
	case "n":
		f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return v, fmt.Errorf("%w: %q is not a number", eval.ErrInvalid, rest)
		}
		v.Number = &f
	case "l":
		v.Label = rest
	default:
		return v, fmt.Errorf("%w: %q is not a score", eval.ErrInvalid, s)
	}
	return v, nil
}

// reviewTask shows the viewer's current item of a queue (locking it).
func (d *Dashboard) reviewTask(w http.ResponseWriter, r *http.Request) {
	d.showTask(w, r, "", "", http.StatusOK)
}

func (d *Dashboard) showTask(w http.ResponseWriter, r *http.Request, errMsg, done string, status int) {
	v := viewerFrom(r)
	if d.opt.Review.Queues == nil {
		d.errorPage(w, r, &v, http.StatusNotFound, "Review queues are not set up here.")
		return
	}
	name := r.PathValue("queue")
	q, err := d.opt.Review.Queues.Queue(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		d.errorPage(w, r, &v, http.StatusNotFound, "There is no such review queue.")
		return
	}
	if err != nil {
		d.log.Error("review queue", "queue", name, "err", err)
		d.errorPage(w, r, &v, http.StatusInternalServerError, "The review queue could not be read; try again.")
		return
	}
	data := taskData{Queue: q, Error: errMsg, Done: done, CSRF: v.CSRF()}
	t, err := d.opt.Review.Queues.Next(r.Context(), name, v.reviewer())
	switch {
	case errors.Is(err, review.ErrEmpty):
	case err != nil:
		d.log.Error("review next", "queue", name, "err", err)
		data.Error = "The next item could not be opened; try again."
	default:
		data.Task = &t
		data.Forms = formsOf(t.Criteria)
	}
	block := ""
	if r.Header.Get("HX-Request") == "true" {
		block = "task"
	}
	d.render(w, status, "review_task", block, view{Title: "Review " + name, Active: reviewPath, Viewer: &v, Data: data})
}

// reviewSubmit stores the viewer's review of an item and shows the next.
func (d *Dashboard) reviewSubmit(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.opt.Review.Queues == nil {
		d.errorPage(w, r, &v, http.StatusNotFound, "Review queues are not set up here.")
		return
	}
	queue, id := r.PathValue("queue"), r.PathValue("id")
	q, err := d.opt.Review.Queues.Queue(r.Context(), queue)
	if err != nil {
		d.errorPage(w, r, &v, http.StatusNotFound, "There is no such review queue.")
		return
	}
	sub := review.Submission{Scores: map[string]eval.Value{}, Comment: strings.TrimSpace(r.PostFormValue("comment"))}
	var missing []string
	for i, c := range q.Criteria {
		raw := strings.TrimSpace(r.PostFormValue("c" + strconv.Itoa(i)))
		if raw == "" {
			missing = append(missing, c)
			continue
		}
		val, err := parseChoice(raw)
		if err != nil {
			d.afterReview(w, r, queue, "Criterion "+c+": "+err.Error(), "")
			return
		}
		sub.Scores[c] = val
	}
	if len(missing) > 0 {
		d.afterReview(w, r, queue, "Score every criterion first: "+strings.Join(missing, ", ")+".", "")
		return
	}
	_, _, err = d.opt.Review.Queues.Submit(r.Context(), queue, id, v.reviewer(), sub)
	if err != nil {
		d.afterReview(w, r, queue, reviewError(err), "")
		return
	}
	d.afterReview(w, r, queue, "", "Review saved.")
}

// reviewSkip passes on an item and shows the next.
func (d *Dashboard) reviewSkip(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.opt.Review.Queues == nil {
		d.errorPage(w, r, &v, http.StatusNotFound, "Review queues are not set up here.")
		return
	}
	queue, id := r.PathValue("queue"), r.PathValue("id")
	if _, err := d.opt.Review.Queues.Skip(r.Context(), queue, id, v.reviewer(), strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
		d.afterReview(w, r, queue, reviewError(err), "")
		return
	}
	d.afterReview(w, r, queue, "", "Skipped.")
}

func reviewError(err error) string {
	switch {
	case errors.Is(err, store.ErrConflict):
		return "This item is no longer yours to review (its lock expired and someone else took it, or it has all its reviews)."
	case errors.Is(err, review.ErrInvalid), errors.Is(err, eval.ErrInvalid), errors.Is(err, store.ErrInvalidQuery):
		return "Not saved: " + err.Error()
	case errors.Is(err, store.ErrNotFound):
		return "There is no such item."
	}
	return "Not saved: the review service could not answer; try again."
}

// afterReview answers a submit or skip: htmx gets the next item's block;
// a browser without JavaScript is sent to the queue (the message is lost
// there, the next item shows it worked) unless there is an error.
func (d *Dashboard) afterReview(w http.ResponseWriter, r *http.Request, queue, errMsg, done string) {
	if r.Header.Get("HX-Request") != "true" && errMsg == "" {
		http.Redirect(w, r, reviewPath+"/"+queue, http.StatusSeeOther)
		return
	}
	status := http.StatusOK
	if errMsg != "" && r.Header.Get("HX-Request") != "true" {
		status = http.StatusUnprocessableEntity
	}
	d.showTask(w, r, errMsg, done, status)
}

// reviewRenew extends the viewer's lock on an item while they work on it
// (static/app.js posts it on keyboard activity, at most once a minute):
// 204, or 409 when the lock is no longer theirs.
func (d *Dashboard) reviewRenew(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.opt.Review.Queues == nil {
		http.Error(w, "review queues are not set up here", http.StatusNotFound)
		return
	}
	_, err := d.opt.Review.Queues.Renew(r.Context(), r.PathValue("queue"), r.PathValue("id"), v.reviewer())
	switch {
	case errors.Is(err, store.ErrConflict):
		http.Error(w, "the lock is no longer yours", http.StatusConflict)
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, "no such item", http.StatusNotFound)
	case err != nil:
		d.log.Error("review renew", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weirhq/weir/internal/eval/criteria"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/eval/experiment"
	"github.com/weirhq/weir/internal/eval/judge"
	"github.com/weirhq/weir/internal/store"
)

// EvaluationSources feed the Evaluation pages, read-only views for the
// owners of criteria, datasets, experiments and judges. A nil field
// leaves its part out with a note.
type EvaluationSources struct {
	// Criteria is *criteria.Service.
	Criteria EvalCriteria
	// Datasets is *dataset.Service.
	Datasets EvalDatasets
	// Experiments is *experiment.Service.
	Experiments EvalExperiments
	// Judges is *judge.Service.
	Judges EvalJudges
}

// EvalCriteria is what the Evaluation pages read of criteria.
type EvalCriteria interface {
	List(ctx context.Context, useCase string) ([]criteria.Criterion, error)
	Get(ctx context.Context, name string) (criteria.Criterion, error)
	// History is the criteria-drift view: versions with what changed
	// and the scores given under each.
	History(ctx context.Context, name string, from, to time.Time) (criteria.History, error)
	Changes(ctx context.Context, name string) ([]criteria.Change, error)
}

// EvalDatasets is what the Evaluation pages read of datasets.
type EvalDatasets interface {
	List(ctx context.Context, useCase string) ([]dataset.Dataset, error)
	Get(ctx context.Context, name string) (dataset.Dataset, error)
	Versions(ctx context.Context, name string) ([]dataset.Version, error)
	Items(ctx context.Context, name string, version int, cursor string, limit int) (dataset.Page, error)
}

// EvalExperiments is what the Evaluation pages read of experiments.
type EvalExperiments interface {
	List(ctx context.Context) ([]experiment.Experiment, error)
	Get(ctx context.Context, name string) (experiment.Experiment, error)
	// Compare with a and b empty compares the first two variants.
	Compare(ctx context.Context, name, a, b string) (experiment.Comparison, error)
}

// EvalJudges is what the Evaluation pages read of judges.
type EvalJudges interface {
	List(ctx context.Context, criterion string) ([]store.Judge, error)
	Get(ctx context.Context, name string) (judge.Judge, error)
	Calibration(ctx context.Context, name string, q judge.CalibrationQuery) (judge.Calibration, error)
}

var (
	_ EvalCriteria    = (*criteria.Service)(nil)
	_ EvalDatasets    = (*dataset.Service)(nil)
	_ EvalExperiments = (*experiment.Service)(nil)
	_ EvalJudges      = (*judge.Service)(nil)
)

// evaluationPath is the Evaluation page's navigation path.
const evaluationPath = Prefix + "evaluation"

const (
	// evalListCalibrations bounds the judges whose calibration the
	// Evaluation page computes to say whether they are trusted (each
	// reads the judge's and people's scores and bootstraps); past it the
	// page links to each judge's page instead.
	evalListCalibrations = 10
	// evalItemsPage is how many dataset items a dataset page shows.
	evalItemsPage = 50
	// evalPreview bounds an input or expected output preview, in runes.
	evalPreview = 160
)

// evalTeamRefused answers 403 to a team-limited viewer: criteria,
// datasets, experiments and judges belong to use cases that span teams,
// and the API refuses them such viewers too. It reports whether it did.
func (d *Dashboard) evalTeamRefused(w http.ResponseWriter, r *http.Request, v *viewer) bool {
	if v.Team == "" {
		return false
	}
	d.errorPage(w, r, v, http.StatusForbidden, fmt.Sprintf("The Evaluation pages span teams; your access is limited to team %s.", v.Team))
	return true
}

// evalJudgeRow is one judge on the Evaluation page.
type evalJudgeRow struct {
	store.Judge
	// CriterionVersion and Model are the latest version's.
	CriterionVersion int
	Model            string
	// Trust is nil when it was not computed (too many judges, or an
	// error).
	Trust *judge.Trust
}

type evaluationData struct {
	Criteria    []criteria.Criterion
	Datasets    []dataset.Dataset
	Experiments []experiment.Experiment
	Judges      []evalJudgeRow
	// Has* say which sources are wired.
	HasCriteria, HasDatasets, HasExperiments, HasJudges bool
	// TrustComputed says the judges' Trust was computed.
	TrustComputed bool
	Errors        []string
}

// evaluation is the Evaluation page: criteria, datasets, experiments and
// judges.
func (d *Dashboard) evaluation(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.evalTeamRefused(w, r, &v) {
		return
	}
	ctx := r.Context()
	src := d.opt.Evaluation
	data := evaluationData{HasCriteria: src.Criteria != nil, HasDatasets: src.Datasets != nil,
		HasExperiments: src.Experiments != nil, HasJudges: src.Judges != nil}
	fail := func(what string, err error) {
		d.log.Error("evaluation page", "part", what, "err", err)
		data.Errors = append(data.Errors, "The "+what+" could not be read; try again.")
	}
	var err error
	if src.Criteria != nil {
		if data.Criteria, err = src.Criteria.List(ctx, ""); err != nil {
			fail("criteria", err)
		}
	}
	if src.Datasets != nil {
		if data.Datasets, err = src.Datasets.List(ctx, ""); err != nil {
			fail("datasets", err)
		}
	}
	if src.Experiments != nil {
		if data.Experiments, err = src.Experiments.List(ctx); err != nil {
			fail("experiments", err)
		}
	}
	if src.Judges != nil {
		js, err := src.Judges.List(ctx, "")
		if err != nil {
			fail("judges", err)
		}
		data.TrustComputed = len(js) <= evalListCalibrations
		for _, j := range js {
			row := evalJudgeRow{Judge: j}
			full, err := src.Judges.Get(ctx, j.Name)
			if err != nil {
				d.log.Error("evaluation page: judge", "judge", j.Name, "err", err)
			} else if n := len(full.Versions); n > 0 {
				row.CriterionVersion = full.Versions[n-1].Definition.CriterionVersion
				row.Model = full.Versions[n-1].Definition.Model
			}
			if data.TrustComputed {
				c, err := src.Judges.Calibration(ctx, j.Name, judge.CalibrationQuery{})
				if err != nil {
					d.log.Warn("evaluation page: calibration", "judge", j.Name, "err", err)
				} else {
					row.Trust = &c.Trust
				}
			}
			data.Judges = append(data.Judges, row)
		}
	}
	d.render(w, http.StatusOK, "eval", "", view{Title: "Evaluation", Active: evaluationPath, Viewer: &v, Data: data})
}

// evalNotFound answers a missing object or a failed read.
func (d *Dashboard) evalNotFound(w http.ResponseWriter, r *http.Request, v *viewer, kind, name string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		d.errorPage(w, r, v, http.StatusNotFound, "There is no such "+kind+".")
		return
	}
	d.log.Error("evaluation page", "kind", kind, "name", name, "err", err)
	d.errorPage(w, r, v, http.StatusInternalServerError, "The "+kind+" could not be read; try again.")
}

// evalUnwired answers a page whose source is not wired.
func (d *Dashboard) evalUnwired(w http.ResponseWriter, r *http.Request, v *viewer, what string) {
	d.errorPage(w, r, v, http.StatusNotFound, what+" are not set up here.")
}

type evalCriterionData struct {
	Criterion criteria.Criterion
	History   criteria.History
	Changes   []criteria.Change
}

// evalCriterion is a criterion's page: its versions with what changed and
// the scores given under each (criteria drift), and its changes.
func (d *Dashboard) evalCriterion(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.evalTeamRefused(w, r, &v) {
		return
	}
	src := d.opt.Evaluation.Criteria
	if src == nil {
		d.evalUnwired(w, r, &v, "Criteria")
		return
	}
	ctx, name := r.Context(), r.PathValue("name")
	c, err := src.Get(ctx, name)
	if err != nil {
		d.evalNotFound(w, r, &v, "criterion", name, err)
		return
	}
	h, err := src.History(ctx, name, time.Time{}, time.Time{})
	if err != nil {
		d.evalNotFound(w, r, &v, "criterion", name, err)
		return
	}
	chs, err := src.Changes(ctx, name)
	if err != nil {
		d.evalNotFound(w, r, &v, "criterion", name, err)
		return
	}
	d.render(w, http.StatusOK, "eval_criterion", "", view{Title: "Criterion " + name, Active: evaluationPath, Viewer: &v,
		Data: evalCriterionData{Criterion: c, History: h, Changes: chs}})
}

// evalItem is a dataset item as its page shows it.
type evalItem struct {
	dataset.Entry
	Input, Expected string
}

type evalDatasetData struct {
	Dataset  dataset.Dataset
	Versions []dataset.Version
	Items    []evalItem
	// Version is the version the items are of; Next, when set, is the
	// cursor of the next page of items, First says this is the first.
	Version int
	Next    string
	First   bool
	// NextLink is the next page's query.
	NextLink string
}

// preview shortens s to evalPreview runes.
func preview(s string) string {
	if utf8.RuneCountInString(s) <= evalPreview {
		return s
	}
	r := []rune(s)
	return string(r[:evalPreview]) + "…"
}

// inputText is an item's input for people: "role: text" per message, or
// the variables' JSON.
func inputText(it dataset.Item) string {
	plain := func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(v) != nil {
			return ""
		}
		return strings.TrimSpace(b.String())
	}
	if len(it.Messages) > 0 {
		var msgs []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		}
		if json.Unmarshal(it.Messages, &msgs) == nil {
			parts := make([]string, 0, len(msgs))
			for _, m := range msgs {
				text, ok := m.Content.(string)
				if !ok {
					text = plain(m.Content)
				}
				parts = append(parts, m.Role+": "+text)
			}
			return strings.Join(parts, " · ")
		}
		return string(it.Messages)
	}
	var vars any
	if json.Unmarshal(it.Variables, &vars) == nil {
		return plain(vars)
	}
	return string(it.Variables)
}

// evalDataset is a dataset's page: its versions and a page of the latest
// version's items (?cursor= pages on).
func (d *Dashboard) evalDataset(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.evalTeamRefused(w, r, &v) {
		return
	}
	src := d.opt.Evaluation.Datasets
	if src == nil {
		d.evalUnwired(w, r, &v, "Datasets")
		return
	}
	ctx, name := r.Context(), r.PathValue("name")
	ds, err := src.Get(ctx, name)
	if err != nil {
		d.evalNotFound(w, r, &v, "dataset", name, err)
		return
	}
	vs, err := src.Versions(ctx, name)
	if err != nil {
		d.evalNotFound(w, r, &v, "dataset", name, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	data := evalDatasetData{Dataset: ds, Versions: vs, First: cursor == ""}
	if ds.LatestVersion > 0 {
		p, err := src.Items(ctx, name, ds.LatestVersion, cursor, evalItemsPage)
		if errors.Is(err, dataset.ErrInvalid) {
			d.errorPage(w, r, &v, http.StatusBadRequest, "That page of items does not exist; start from the first.")
			return
		}
		if err != nil {
			d.evalNotFound(w, r, &v, "dataset", name, err)
			return
		}
		data.Version, data.Next = p.Version, p.Next
		if p.Next != "" {
			data.NextLink = encodeQuery(url.Values{"cursor": {p.Next}})
		}
		for _, e := range p.Items {
			it := evalItem{Entry: e, Input: preview(inputText(e.Item))}
			if t, ok := e.ExpectedText(); ok {
				it.Expected = preview(t)
			}
			data.Items = append(data.Items, it)
		}
	}
	d.render(w, http.StatusOK, "eval_dataset", "", view{Title: "Dataset " + name, Active: evaluationPath, Viewer: &v, Data: data})
}

// evalCriterionRow is one criterion of a comparison: each compared
// variant's stats and the difference B - A.
type evalCriterionRow struct {
	Criterion string
	A, B      *experiment.CriterionStats
	Diff      *experiment.Difference
}

type evalExperimentData struct {
	Experiment experiment.Experiment
	Comparison experiment.Comparison
	// A and B are the compared variants' summaries (nil with fewer than
	// two variants).
	A, B *experiment.VariantStats
	Rows []evalCriterionRow
	// CompareError says why the comparison is missing.
	CompareError string
}

// evalExperiment is an experiment's page: progress, variants, and the
// comparison of the first two variants.
func (d *Dashboard) evalExperiment(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.evalTeamRefused(w, r, &v) {
		return
	}
	src := d.opt.Evaluation.Experiments
	if src == nil {
		d.evalUnwired(w, r, &v, "Experiments")
		return
	}
	ctx, name := r.Context(), r.PathValue("name")
	e, err := src.Get(ctx, name)
	if err != nil {
		d.evalNotFound(w, r, &v, "experiment", name, err)
		return
	}
	data := evalExperimentData{Experiment: e}
	c, err := src.Compare(ctx, name, "", "")
	if err != nil {
		d.log.Error("experiment comparison", "experiment", name, "err", err)
		data.CompareError = "The comparison could not be computed; try again."
	} else {
		data.Comparison = c
		data.A, data.B, data.Rows = comparisonRows(c)
	}
	d.render(w, http.StatusOK, "eval_experiment", "", view{Title: "Experiment " + name, Active: evaluationPath, Viewer: &v, Data: data})
}

// comparisonRows lines up the compared variants' criteria with their
// differences, in the order of A's criteria.
func comparisonRows(c experiment.Comparison) (a, b *experiment.VariantStats, rows []evalCriterionRow) {
	if c.A == "" || c.B == "" {
		return nil, nil, nil
	}
	for i := range c.Variants {
		switch c.Variants[i].Variant {
		case c.A:
			a = &c.Variants[i]
		case c.B:
			b = &c.Variants[i]
		}
	}
	if a == nil || b == nil {
		return nil, nil, nil
	}
	find := func(cs []experiment.CriterionStats, name string) *experiment.CriterionStats {
		for i := range cs {
			if cs[i].Criterion == name {
				return &cs[i]
			}
		}
		return nil
	}
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		row := evalCriterionRow{Criterion: name, A: find(a.Criteria, name), B: find(b.Criteria, name)}
		for i := range c.Differences {
			if c.Differences[i].Criterion == name {
				row.Diff = &c.Differences[i]
			}
		}
		rows = append(rows, row)
	}
	for _, cs := range a.Criteria {
		add(cs.Criterion)
	}
	for _, cs := range b.Criteria {
		add(cs.Criterion)
	}
	return a, b, rows
}

// evalConfusionRow is one row of a confusion matrix: people's label and
// the judge's counts.
type evalConfusionRow struct {
	Label  string
	Counts []int
}

type evalJudgeData struct {
	Judge judge.Judge
	// Latest is the latest version (nil without versions).
	Latest      *judge.Version
	Calibration *judge.Calibration
	Confusion   []evalConfusionRow
	// CalibrationError says why the calibration is missing.
	CalibrationError string
}

// evalJudge is a judge's page: its versions and the latest version's
// calibration against people.
func (d *Dashboard) evalJudge(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	if d.evalTeamRefused(w, r, &v) {
		return
	}
	src := d.opt.Evaluation.Judges
	if src == nil {
		d.evalUnwired(w, r, &v, "Judges")
		return
	}
	ctx, name := r.Context(), r.PathValue("name")
	j, err := src.Get(ctx, name)
	if err != nil {
		d.evalNotFound(w, r, &v, "judge", name, err)
		return
	}
	data := evalJudgeData{Judge: j}
	if n := len(j.Versions); n > 0 {
		data.Latest = &j.Versions[n-1]
		c, err := src.Calibration(ctx, name, judge.CalibrationQuery{Version: data.Latest.Version})
		if err != nil {
			d.log.Error("judge calibration", "judge", name, "err", err)
			data.CalibrationError = "The calibration could not be computed; try again."
		} else {
			data.Calibration = &c
			if c.Confusion != nil {
				for i, l := range c.Confusion.Labels {
					row := evalConfusionRow{Label: l}
					if i < len(c.Confusion.Counts) {
						row.Counts = c.Confusion.Counts[i]
					}
					data.Confusion = append(data.Confusion, row)
				}
			}
		}
	}
	d.render(w, http.StatusOK, "eval_judge", "", view{Title: "Judge " + name, Active: evaluationPath, Viewer: &v, Data: data})
}

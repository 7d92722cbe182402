package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/weirhq/weir/internal/auth"
	"github.com/weirhq/weir/internal/eval/dataset"
	"github.com/weirhq/weir/internal/store"
)

// DatasetAdder adds recorded calls to an evaluation dataset, as one new
// version; *dataset.Service implements it.
type DatasetAdder interface {
	AddCalls(ctx context.Context, name string, callIDs []string, withExpected bool, by string) (dataset.Version, error)
}

// canAddToDataset reports whether v may add calls to datasets from the
// call page: datasets span teams, so a team-limited viewer may not (as
// the API's dataset routes refuse them).
func (d *Dashboard) canAddToDataset(v *viewer) bool {
	return d.opt.Datasets != nil && v.Team == "" && v.Role.Can(auth.WriteEvals)
}

// addCallToDataset answers the call page's "Add to dataset" form: the call
// becomes an item of the named dataset (its messages the input, its reply
// the expected output when asked), then the call page again, saying what
// happened.
func (d *Dashboard) addCallToDataset(w http.ResponseWriter, r *http.Request) {
	v := viewerFrom(r)
	id := r.PathValue("id")
	if !d.canAddToDataset(&v) {
		d.errorPage(w, r, &v, http.StatusForbidden, "You cannot add calls to datasets here.")
		return
	}
	name := strings.TrimSpace(r.PostFormValue("dataset"))
	back := Prefix + "calls/" + url.PathEscape(id)
	if name == "" {
		http.Redirect(w, r, back+"?"+url.Values{"add_error": {"Name the dataset to add the call to."}}.Encode(), http.StatusSeeOther)
		return
	}
	by := v.Person
	if by == "" {
		by = v.Kind
	}
	ver, err := d.opt.Datasets.AddCalls(r.Context(), name, []string{id}, r.PostFormValue("expected") == "1", by)
	var msg string
	switch {
	case err == nil:
		http.Redirect(w, r, back+"?"+url.Values{"added": {name + " version " + strconv.Itoa(ver.Version)}}.Encode(), http.StatusSeeOther)
		return
	case errors.Is(err, store.ErrNotFound):
		msg = "There is no dataset " + strconv.Quote(name) + " (create it first: POST /api/v1/datasets)."
	case errors.Is(err, dataset.ErrInvalid), errors.Is(err, dataset.ErrNoBody):
		msg = err.Error()
	default:
		d.log.Error("add call to dataset", "call", id, "dataset", name, "err", err)
		msg = "Could not add the call; try again."
	}
	http.Redirect(w, r, back+"?"+url.Values{"add_error": {msg}}.Encode(), http.StatusSeeOther)
}

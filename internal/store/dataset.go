package store

import (
	"context"
	"encoding/json"
	"time"
)

// DatasetStore keeps evaluation datasets: a dataset's immutable versions,
// each listing its items. An item's content is stored once per revision
// and shared by every version that holds that revision, so a version that
// changes one item of 50,000 stores one item, not 50,000. The store does
// not interpret an item's document.
type DatasetStore interface {
	// CreateDataset stores a new dataset with no version yet (its
	// LatestVersion is 0). A name that exists is ErrConflict; Name is
	// required (else ErrInvalidQuery). CreatedAt is set when zero.
	CreateDataset(ctx context.Context, d Dataset) (Dataset, error)
	// Dataset returns a dataset with its latest version number and item
	// count; missing is ErrNotFound.
	Dataset(ctx context.Context, name string) (Dataset, error)
	// ListDatasets returns the datasets, of one use case when useCase is
	// not empty, by name; an empty, non-nil list when there is none.
	ListDatasets(ctx context.Context, useCase string) ([]Dataset, error)
	// AppendDatasetVersion makes the next version of c.Name: the latest
	// version's items, less c.Remove, with c.Put added or replacing the
	// item of the same id (which keeps its position). Atomic: a missing
	// dataset, a removed id that is not there, or (with c.MustExist) a put
	// id that is not there is ErrNotFound and nothing is stored; an id
	// both put and removed, or twice in Put or Remove, is ErrInvalidQuery.
	AppendDatasetVersion(ctx context.Context, c DatasetChange) (DatasetVersion, error)
	// DatasetVersion returns one version; 0 is the latest. Missing is
	// ErrNotFound.
	DatasetVersion(ctx context.Context, name string, version int) (DatasetVersion, error)
	// DatasetVersions returns every version of a dataset, oldest first; a
	// missing dataset is ErrNotFound, one without versions an empty list.
	DatasetVersions(ctx context.Context, name string) ([]DatasetVersion, error)
	// DatasetItems returns one page of a version's items in position
	// order. A missing dataset or version is ErrNotFound.
	DatasetItems(ctx context.Context, q DatasetItemQuery) (DatasetItemPage, error)
}

// Dataset is a named set of evaluation items.
type Dataset struct {
	Name string `json:"name"`
	// UseCase, optional, is the use case the dataset belongs to.
	UseCase     string    `json:"use_case,omitempty"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
	// LatestVersion and Items (the latest version's item count) are set by
	// the store on reads.
	LatestVersion int `json:"latest_version"`
	Items         int `json:"items"`
}

// DatasetChange is one edit of a dataset: it makes one new version.
type DatasetChange struct {
	Name      string
	Put       []DatasetItem // ID and Doc required; Rev and Pos are set by the store
	Remove    []string
	MustExist bool // every Put replaces an existing item
	Note      string
	CreatedAt time.Time // set when zero
	CreatedBy string
}

// DatasetVersion is one immutable version of a dataset.
type DatasetVersion struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Items is the number of items in the version; Added, Changed and
	// Removed count what the version did to the one before.
	Items     int       `json:"items"`
	Added     int       `json:"added"`
	Changed   int       `json:"changed"`
	Removed   int       `json:"removed"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// DatasetItem is one revision of one item, as a version holds it.
type DatasetItem struct {
	// ID is the item's id, stable across versions.
	ID string `json:"id"`
	// Rev is the item's revision: 1 when first added, one more at each
	// change.
	Rev int `json:"rev"`
	// Pos orders a version's items: an item keeps its position when it
	// changes; a new one goes last.
	Pos int64 `json:"pos"`
	// Doc is the item's content, owned by internal/eval/dataset.
	Doc json.RawMessage `json:"doc"`
}

// DatasetItemQuery asks for a page of a version's items.
type DatasetItemQuery struct {
	Name    string
	Version int // 0: the latest
	// After is the Pos of the last item of the previous page (0: from the
	// start).
	After int64
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit.
	Limit int
}

// DatasetItemPage is a page of items. Next, when not 0, is the After of
// the next page.
type DatasetItemPage struct {
	Version int           `json:"version"`
	Items   []DatasetItem `json:"items"`
	Next    int64         `json:"next,omitempty"`
}

package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/store"
)

// Store is what the service needs of the store.
type Store interface {
	store.DatasetStore
}

// Auditor records a change in the audit log (*audit.Log is one): action,
// the object's kind and id, and its state before (nil: created) and after.
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// Options configure a Service.
type Options struct {
	Store Store
	// Calls, optional, reads recorded calls for AddCalls.
	Calls store.RequestReader
	// Audit, optional, records creations and new versions.
	Audit Auditor
	Now   func() time.Time
	Log   *slog.Logger
}

// Service keeps datasets.
type Service struct {
	opt Options
}

// New returns a service.
func New(opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{opt: opt}
}

// MaxCallsPerRequest bounds the calls AddCalls takes at once.
const MaxCallsPerRequest = 1000

// Dataset is a dataset as the API shows it.
type Dataset = store.Dataset

// Version is a dataset version as the API shows it.
type Version = store.DatasetVersion

// Entry is an item as a version holds it: its content and revision.
type Entry struct {
	Item
	Rev int `json:"rev"`
}

// Page is a page of a version's items.
type Page struct {
	Name    string  `json:"name"`
	Version int     `json:"version"`
	Items   []Entry `json:"items"`
	// Next, when set, is the cursor of the next page.
	Next string `json:"next,omitempty"`
}

// Create makes a dataset, without items (version 0).
func (s *Service) Create(ctx context.Context, d Dataset, by string) (Dataset, error) {
	if err := CheckName(d.Name); err != nil {
		return Dataset{}, err
	}
	if d.UseCase != "" {
		if err := CheckName(d.UseCase); err != nil {
			return Dataset{}, fmt.Errorf("use case: %w", err)
		}
	}
	if len(d.Description) > 2000 {
		return Dataset{}, fmt.Errorf("%w: the description is over 2,000 characters", ErrInvalid)
	}
	out, err := s.opt.Store.CreateDataset(ctx, store.Dataset{Name: d.Name, UseCase: d.UseCase, Description: d.Description, CreatedAt: s.opt.Now(), CreatedBy: by})
	if err != nil {
		return Dataset{}, err
	}
	s.record(ctx, "dataset.create", d.Name, nil, out)
	return out, nil
}

// Get returns a dataset.
func (s *Service) Get(ctx context.Context, name string) (Dataset, error) {
	return s.opt.Store.Dataset(ctx, name)
}

// List returns the datasets, of one use case when useCase is set.
func (s *Service) List(ctx context.Context, useCase string) ([]Dataset, error) {
	return s.opt.Store.ListDatasets(ctx, useCase)
}

// Versions returns a dataset's versions, oldest first.
func (s *Service) Versions(ctx context.Context, name string) ([]Version, error) {
	return s.opt.Store.DatasetVersions(ctx, name)
}

// Version returns one version (0: the latest).
func (s *Service) Version(ctx context.Context, name string, version int) (Version, error) {
	return s.opt.Store.DatasetVersion(ctx, name, version)
}

// Items returns a page of a version's items (version 0: the latest);
// cursor is a previous page's Next.
func (s *Service) Items(ctx context.Context, name string, version int, cursor string, limit int) (Page, error) {
	var after int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n <= 0 {
			return Page{}, fmt.Errorf("%w: cursor %q", ErrInvalid, cursor)
		}
		after = n
	}
	p, err := s.opt.Store.DatasetItems(ctx, store.DatasetItemQuery{Name: name, Version: version, After: after, Limit: limit})
	if err != nil {
		return Page{}, err
	}
	out := Page{Name: name, Version: p.Version, Items: make([]Entry, 0, len(p.Items))}
	for _, si := range p.Items {
		var it Item
		if err := json.Unmarshal(si.Doc, &it); err != nil {
			return Page{}, fmt.Errorf("dataset %s item %s: %w", name, si.ID, err)
		}
		it.ID = si.ID
		out.Items = append(out.Items, Entry{Item: it, Rev: si.Rev})
	}
	if p.Next != 0 {
		out.Next = strconv.FormatInt(p.Next, 10)
	}
	return out, nil
}

// AllItems returns every item of a version, for an experiment.
func (s *Service) AllItems(ctx context.Context, name string, version int) (int, []Entry, error) {
	var (
		out    []Entry
		cursor string
	)
	for {
		p, err := s.Items(ctx, name, version, cursor, store.MaxLimit)
		if err != nil {
			return 0, nil, err
		}
		version = p.Version
		out = append(out, p.Items...)
		if p.Next == "" {
			return version, out, nil
		}
		cursor = p.Next
	}
}

// AddItems adds items (or replaces the items of the same ids) as one new
// version. Items without an id get one.
func (s *Service) AddItems(ctx context.Context, name string, items []Item, note, by string) (Version, error) {
	if len(items) == 0 {
		return Version{}, fmt.Errorf("%w: no items", ErrInvalid)
	}
	if len(items) > MaxImportItems {
		return Version{}, fmt.Errorf("%w: more than %d items at once", ErrInvalid, MaxImportItems)
	}
	put := make([]store.DatasetItem, len(items))
	for i := range items {
		if err := items[i].Validate(); err != nil {
			return Version{}, fmt.Errorf("items[%d]: %w", i, err)
		}
		si, err := s.storeItem(items[i])
		if err != nil {
			return Version{}, fmt.Errorf("items[%d]: %w", i, err)
		}
		put[i] = si
	}
	return s.change(ctx, store.DatasetChange{Name: name, Put: put, Note: note, CreatedBy: by})
}

// Import reads a JSONL or CSV body (format "jsonl" or "csv") and adds its
// items as one new version, or nothing.
func (s *Service) Import(ctx context.Context, name, format string, r io.Reader, by string) (Version, error) {
	var (
		items []Item
		err   error
	)
	switch format {
	case "jsonl":
		items, err = ParseJSONL(r)
	case "csv":
		items, err = ParseCSV(r)
	default:
		return Version{}, fmt.Errorf("%w: format %q: want jsonl or csv", ErrInvalid, format)
	}
	if err != nil {
		return Version{}, err
	}
	return s.AddItems(ctx, name, items, "import "+format+" ("+strconv.Itoa(len(items))+" items)", by)
}

// ReplaceItem changes one existing item as a new version.
func (s *Service) ReplaceItem(ctx context.Context, name string, it Item, by string) (Version, error) {
	if it.ID == "" {
		return Version{}, fmt.Errorf("%w: the item's id is required", ErrInvalid)
	}
	if err := it.Validate(); err != nil {
		return Version{}, err
	}
	si, err := s.storeItem(it)
	if err != nil {
		return Version{}, err
	}
	return s.change(ctx, store.DatasetChange{Name: name, Put: []store.DatasetItem{si}, MustExist: true, Note: "change " + it.ID, CreatedBy: by})
}

// RemoveItem removes one item as a new version.
func (s *Service) RemoveItem(ctx context.Context, name, id, by string) (Version, error) {
	return s.change(ctx, store.DatasetChange{Name: name, Remove: []string{id}, Note: "remove " + id, CreatedBy: by})
}

// AddCalls adds recorded calls as items (their ids are "call-" and the
// call id, so adding a call twice replaces its item), as one new version.
func (s *Service) AddCalls(ctx context.Context, name string, callIDs []string, withExpected bool, by string) (Version, error) {
	if s.opt.Calls == nil {
		return Version{}, errors.New("no call store: calls cannot be added")
	}
	if len(callIDs) == 0 || len(callIDs) > MaxCallsPerRequest {
		return Version{}, fmt.Errorf("%w: give 1 to %d call ids", ErrInvalid, MaxCallsPerRequest)
	}
	items := make([]Item, 0, len(callIDs))
	seen := map[string]bool{}
	for _, id := range callIDs {
		if seen[id] {
			return Version{}, fmt.Errorf("%w: call %s appears twice", ErrInvalid, id)
		}
		seen[id] = true
		r, err := s.opt.Calls.GetRequest(ctx, id)
		if err != nil {
			return Version{}, fmt.Errorf("call %s: %w", id, err)
		}
		it, err := ItemFromCall(r, withExpected)
		if err != nil {
			return Version{}, err
		}
		it.ID = "call-" + id
		if !idRE.MatchString(it.ID) {
			it.ID = ""
		}
		items = append(items, it)
	}
	return s.AddItems(ctx, name, items, "add "+strconv.Itoa(len(items))+" production calls", by)
}

// storeItem encodes an item's content for the store, giving it an id.
func (s *Service) storeItem(it Item) (store.DatasetItem, error) {
	id := it.ID
	if id == "" {
		id = ids.New("itm_", s.opt.Now())
	}
	it.ID = "" // the store keeps the id beside the document
	doc, err := json.Marshal(it)
	if err != nil {
		return store.DatasetItem{}, err
	}
	return store.DatasetItem{ID: id, Doc: doc}, nil
}

func (s *Service) change(ctx context.Context, c store.DatasetChange) (Version, error) {
	c.CreatedAt = s.opt.Now()
	v, err := s.opt.Store.AppendDatasetVersion(ctx, c)
	if err != nil {
		return Version{}, err
	}
	s.record(ctx, "dataset.version.create", c.Name+"@"+strconv.Itoa(v.Version), nil, v)
	return v, nil
}

func (s *Service) record(ctx context.Context, action, id string, before, after any) {
	if s.opt.Audit == nil {
		return
	}
	if err := s.opt.Audit.Record(ctx, action, "dataset", id, before, after); err != nil {
		s.opt.Log.Warn("audit dataset change", "action", action, "id", id, "err", err)
	}
}

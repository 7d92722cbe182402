// Package access holds who may call the gateway: applications (one service
// in one environment, owned by a team) and their keys. A key is shown once,
// stored as the SHA-256 of its secret and a short prefix, may expire, and
// is revoked at once in this process (other processes sharing the store
// see changes within RefreshInterval). A key's application sets the team,
// the application and the allowed models of every call made with it,
// whatever the caller's headers say. The app and the gateway's resolver use
// it; it imports store and ids.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/internal/ids"
	"github.com/weirhq/weir/internal/store"
)

// MaxActiveKeys is how many unexpired, unrevoked keys an application may
// hold: two, so that keys rotate without downtime.
const MaxActiveKeys = 2

// RefreshInterval is how often Run reloads keys changed by another process.
const RefreshInterval = 5 * time.Second

// ErrInvalid is wrapped when an application or a key request is refused.
var ErrInvalid = errors.New("invalid")

// Application is one service in one environment.
type Application struct {
	Name        string `json:"name"`
	Team        string `json:"team"`
	Environment string `json:"environment,omitempty"`
	Description string `json:"description,omitempty"`
	// Models, when set, are the only models its calls may use (as the
	// caller names them or as routed: provider/model or the bare model).
	Models []string `json:"models,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Validate checks an application.
func (a *Application) Validate() error {
	if !nameRE.MatchString(a.Name) {
		return fmt.Errorf("%w: name %q: 1-128 letters, digits, '.', '_' or '-'", ErrInvalid, a.Name)
	}
	if a.Team == "" {
		return fmt.Errorf("%w: team is required", ErrInvalid)
	}
	return nil
}

// Identity is what a key says about the calls made with it.
type Identity struct {
	KeyID       string
	Application string
	Team        string
	Models      []string
}

// Allows reports whether the identity may call model (as requested) or
// routed (provider/model).
func (id Identity) Allows(requested, routed string) bool {
	if len(id.Models) == 0 {
		return true
	}
	for _, m := range id.Models {
		if strings.EqualFold(m, requested) || strings.EqualFold(m, routed) {
			return true
		}
		if _, model, ok := strings.Cut(routed, "/"); ok && strings.EqualFold(m, model) {
			return true
		}
	}
	return false
}

// Auditor records a change in the audit log (*audit.Log is one): action,
// the object's kind and id, and its state before (nil: created) and after.
// It reports its own failures; a change that is made stays made.
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// Manager keeps applications and keys, with an in-memory index of the
// keys in force for the gateway.
type Manager struct {
	st    store.AccessStore
	now   func() time.Time
	audit Auditor

	mu    sync.Mutex // serialises changes
	index atomic.Pointer[index]
}

type index struct {
	byHash map[[32]byte]entry
	apps   map[string]Application
	// forever: a key in force never expires; until: the latest expiry.
	forever bool
	until   time.Time
}

type entry struct {
	key store.StoredKey
	app Application
}

// New loads applications and keys.
func New(ctx context.Context, st store.AccessStore, now func() time.Time) (*Manager, error) {
	if now == nil {
		now = time.Now
	}
	m := &Manager{st: st, now: now}
	return m, m.Refresh(ctx)
}

// SetAuditor makes m record its changes with a (nil: not at all). Call it
// before m is used.
func (m *Manager) SetAuditor(a Auditor) { m.audit = a }

// record writes an audit entry; the Auditor reports its own failures.
func (m *Manager) record(ctx context.Context, action, kind, id string, before, after any) {
	if m.audit != nil {
		_ = m.audit.Record(ctx, action, kind, id, before, after)
	}
}

// keyView is what the audit log keeps of a key: its metadata, never its
// secret or hash.
func keyView(k store.StoredKey) store.StoredKey {
	k.Hash = nil
	return k
}

// Refresh reloads applications and keys from the store.
func (m *Manager) Refresh(ctx context.Context) error {
	apps, err := m.applications(ctx)
	if err != nil {
		return err
	}
	keys, err := m.st.Keys(ctx)
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	ix := &index{byHash: map[[32]byte]entry{}, apps: map[string]Application{}}
	for _, a := range apps {
		ix.apps[a.Name] = a
	}
	for _, k := range keys {
		if k.RevokedAt != nil || len(k.Hash) != 32 {
			continue
		}
		ix.byHash[[32]byte(k.Hash)] = entry{key: k, app: ix.apps[k.App]}
		if k.ExpiresAt == nil {
			ix.forever = true
		} else if k.ExpiresAt.After(ix.until) {
			ix.until = *k.ExpiresAt
		}
	}
	m.index.Store(ix)
	return nil
}

// Run refreshes every RefreshInterval until ctx is done, to see changes
// made by other processes (the CLI, other replicas).
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Refresh(ctx)
		}
	}
}

func (m *Manager) applications(ctx context.Context) ([]Application, error) {
	docs, err := m.st.Applications(ctx)
	if err != nil {
		return nil, fmt.Errorf("load applications: %w", err)
	}
	var out []Application
	for _, d := range docs {
		var a Application
		if err := json.Unmarshal(d.Doc, &a); err != nil {
			return nil, fmt.Errorf("application %s: %w", d.Name, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// Active reports whether any key is in force: the gateway then requires
// one.
func (m *Manager) Active() bool {
	ix := m.index.Load()
	return ix.forever || m.now().Before(ix.until)
}

// Resolve returns the identity of a presented secret, if it is a key in
// force.
func (m *Manager) Resolve(secret string) (Identity, bool) {
	if !strings.HasPrefix(secret, secretPrefix) {
		return Identity{}, false
	}
	e, ok := m.index.Load().byHash[sha256.Sum256([]byte(secret))]
	if !ok || e.key.ExpiresAt != nil && !m.now().Before(*e.key.ExpiresAt) {
		return Identity{}, false
	}
	return Identity{KeyID: e.key.ID, Application: e.app.Name, Team: e.app.Team, Models: e.app.Models}, true
}

// PutApplication creates or replaces an application; its keys take its
// new defaults at once.
func (m *Manager) PutApplication(ctx context.Context, a Application, by string) (Application, error) {
	if err := a.Validate(); err != nil {
		return a, err
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return a, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var before *Application
	if m.audit != nil {
		apps, err := m.applications(ctx)
		if err != nil {
			return a, err
		}
		if i := slices.IndexFunc(apps, func(x Application) bool { return x.Name == a.Name }); i >= 0 {
			before = &apps[i]
		}
	}
	if _, err := m.st.PutApplication(ctx, store.ApplicationDoc{Name: a.Name, Doc: doc, ChangedBy: by}); err != nil {
		return a, err
	}
	m.record(ctx, "application.put", "application", a.Name, before, a)
	return a, m.Refresh(ctx)
}

// ApplicationView is an application with its keys (no secrets).
type ApplicationView struct {
	Application
	Keys []store.StoredKey `json:"keys"`
}

// Applications lists applications with their keys.
func (m *Manager) Applications(ctx context.Context) ([]ApplicationView, error) {
	apps, err := m.applications(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := m.st.Keys(ctx)
	if err != nil {
		return nil, err
	}
	out := []ApplicationView{}
	for _, a := range apps {
		v := ApplicationView{Application: a, Keys: []store.StoredKey{}}
		for _, k := range keys {
			if k.App == a.Name {
				v.Keys = append(v.Keys, k)
			}
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// secretPrefix starts every key, so that it is recognisable in a leak scan.
const secretPrefix = "weir_"

var secretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey is a key just created: its secret is shown once.
type NewKey struct {
	store.StoredKey
	Secret string `json:"secret"`
}

// CreateKey creates a key for app, valid until expires (zero: no expiry).
// An application holds at most MaxActiveKeys keys in force: revoke one to
// rotate.
func (m *Manager) CreateKey(ctx context.Context, app string, expires time.Time, by string) (NewKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UTC()
	if !expires.IsZero() && !expires.After(now) {
		return NewKey{}, fmt.Errorf("%w: expiry %s is not in the future", ErrInvalid, expires.Format(time.RFC3339))
	}
	keys, err := m.st.Keys(ctx)
	if err != nil {
		return NewKey{}, err
	}
	active := slices.DeleteFunc(keys, func(k store.StoredKey) bool {
		return k.App != app || k.RevokedAt != nil || k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)
	})
	if len(active) >= MaxActiveKeys {
		return NewKey{}, fmt.Errorf("application %s already has %d keys in force: revoke one first (%w)", app, len(active), store.ErrConflict)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return NewKey{}, err
	}
	secret := secretPrefix + strings.ToLower(secretEncoding.EncodeToString(raw[:]))
	hash := sha256.Sum256([]byte(secret))
	k := store.StoredKey{ID: ids.New("key_", now), App: app, Prefix: secret[:len(secretPrefix)+6], Hash: hash[:], CreatedAt: now, CreatedBy: by}
	if !expires.IsZero() {
		e := expires.UTC()
		k.ExpiresAt = &e
	}
	if err := m.st.AddKey(ctx, k); err != nil {
		return NewKey{}, err
	}
	m.record(ctx, "key.create", "key", k.ID, nil, keyView(k))
	return NewKey{StoredKey: k, Secret: secret}, m.Refresh(ctx)
}

// RevokeKey revokes a key at once.
func (m *Manager) RevokeKey(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var before *store.StoredKey
	if m.audit != nil {
		keys, err := m.st.Keys(ctx)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(keys, func(k store.StoredKey) bool { return k.ID == id }); i >= 0 {
			k := keyView(keys[i])
			before = &k
		}
	}
	at := m.now().UTC()
	if err := m.st.RevokeKey(ctx, id, at); err != nil {
		return err
	}
	if m.audit != nil {
		after := store.StoredKey{ID: id}
		if before != nil {
			after = *before
		}
		after.RevokedAt = &at
		m.record(ctx, "key.revoke", "key", id, before, after)
	}
	return m.Refresh(ctx)
}

// Package credential manages the provider keys kept in the store
// (providers whose api_key is "stored" in the configuration): sealed with
// internal/secret under WEIR_MASTER_KEY before they reach the store,
// opened into memory at start, set and removed through the management API
// (Handler) with effect on the next call, never returned, never logged.
// The app builds a Manager and hands each stored provider's adapter
// Manager.Key(name); it imports store, secret, audit and httpjson.
package credential

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/weirhq/weir/internal/audit"
	"github.com/weirhq/weir/internal/secret"
	"github.com/weirhq/weir/internal/store"
)

// RefreshInterval is how often Run reloads credentials changed by another
// process sharing the store.
const RefreshInterval = 5 * time.Second

// MaxKeyBytes bounds a credential.
const MaxKeyBytes = 8 << 10

// AuditKind is the object kind of credential changes in the audit log;
// the actions are provider_credential.put and provider_credential.delete.
const AuditKind = "provider_credential"

// Errors the Manager wraps; Handler maps them to statuses.
var (
	// ErrUnknownProvider: the provider is not in the configuration.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrNotStored: the provider takes its key from the configuration.
	ErrNotStored = errors.New("the provider's key is not stored")
	// ErrNoMasterKey: WEIR_MASTER_KEY is not set, so nothing can be sealed.
	ErrNoMasterKey = secret.ErrNoMasterKey
	// ErrInvalid: the credential offered is not acceptable.
	ErrInvalid = errors.New("invalid credential")
	// ErrNotFound: no credential is stored for the provider.
	ErrNotFound = store.ErrNotFound
)

// Auditor records changes in the audit log (*audit.Log). before and after
// carry Info, never a credential.
type Auditor interface {
	Record(ctx context.Context, action, kind, id string, before, after any) error
}

// Info is what is said about a stored credential: never the credential,
// not even part of it.
type Info struct {
	Provider string `json:"provider"`
	// KeyID is the id of the master key that sealed it.
	KeyID     string    `json:"key_id"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	// Status is "active" (in use), or "unreadable" (sealed under a master
	// key this process does not have, or altered: store it again).
	Status string `json:"status"`
}

// Statuses of a stored credential.
const (
	StatusActive     = "active"
	StatusUnreadable = "unreadable"
)

// Options configure a Manager.
type Options struct {
	Store store.CredentialStore
	// Box seals and opens credentials; nil when WEIR_MASTER_KEY is not set
	// (then nothing can be stored, and no provider may be "stored").
	Box *secret.Box
	// Providers are the configured provider names; Stored those of them
	// whose api_key is "stored".
	Providers []string
	Stored    []string
	// Audit, when set, records every change.
	Audit Auditor
	Log   *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// slot holds one stored provider's credential in memory.
type slot struct {
	key  atomic.Pointer[string]
	info Info // guarded by Manager.mu
	has  bool // guarded by Manager.mu
}

// Manager keeps the stored providers' credentials: sealed in the store,
// open in memory.
type Manager struct {
	opt   Options
	log   *slog.Logger
	known map[string]bool
	slots map[string]*slot // the stored providers; fixed after New
	// mu serialises changes, so the store and memory agree.
	mu sync.Mutex
}

// New loads and opens every stored provider's credential. A credential
// sealed under WEIR_MASTER_KEY_PREVIOUS is sealed again under
// WEIR_MASTER_KEY (the rotation completes on start). One that cannot be
// opened is logged and left "unreadable": its provider's calls fail until
// it is stored again; the rest of Weir starts.
func New(ctx context.Context, opt Options) (*Manager, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Store == nil {
		return nil, errors.New("credentials: no store")
	}
	if len(opt.Stored) > 0 && opt.Box == nil {
		return nil, fmt.Errorf("providers %s have api_key: stored: %w", strings.Join(opt.Stored, ", "), ErrNoMasterKey)
	}
	m := &Manager{opt: opt, log: opt.Log, known: map[string]bool{}, slots: map[string]*slot{}}
	for _, n := range opt.Providers {
		m.known[n] = true
	}
	for _, n := range opt.Stored {
		if !m.known[n] {
			return nil, fmt.Errorf("credentials: stored provider %q is not configured", n)
		}
		m.slots[n] = &slot{}
	}
	if _, err := m.Rotate(ctx); err != nil {
		return nil, err
	}
	if err := m.Refresh(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Key returns the function the provider's adapter reads its key with on
// every request (provider.Config.Key): "" until a credential is stored.
// It is nil for a provider that is not stored.
func (m *Manager) Key(provider string) func() string {
	s := m.slots[provider]
	if s == nil {
		return nil
	}
	return func() string {
		if k := s.key.Load(); k != nil {
			return *k
		}
		return ""
	}
}

// Refresh reloads the credentials another process changed. It is cheap
// when nothing changed: one query of metadata.
func (m *Manager) Refresh(ctx context.Context) error {
	if len(m.slots) == 0 {
		return nil
	}
	list, err := m.opt.Store.ListCredentials(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for _, ci := range list {
		s := m.slots[ci.Provider]
		if s == nil {
			continue // not (or no longer) a stored provider: left alone
		}
		seen[ci.Provider] = true
		if s.has && s.info.KeyID == ci.KeyID && s.info.UpdatedAt.Equal(ci.UpdatedAt) && s.info.UpdatedBy == ci.UpdatedBy {
			continue
		}
		sc, err := m.opt.Store.Credential(ctx, ci.Provider)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since the list: the next refresh clears it
		}
		if err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
		m.load(s, sc)
	}
	for name, s := range m.slots {
		if !seen[name] && s.has {
			m.log.Info("stored provider key removed by another process", "provider", name)
			s.key.Store(nil)
			s.has, s.info = false, Info{}
		}
	}
	return nil
}

// load opens sc into s; m.mu is held.
func (m *Manager) load(s *slot, sc store.SealedCredential) {
	info := Info{Provider: sc.Provider, KeyID: sc.KeyID, UpdatedAt: sc.UpdatedAt, UpdatedBy: sc.UpdatedBy, Status: StatusActive}
	pt, err := m.opt.Box.Open(sc.Provider, secret.Sealed{Ciphertext: sc.Ciphertext, Nonce: sc.Nonce, KeyID: sc.KeyID})
	if err != nil {
		m.log.Error("stored provider key cannot be opened: its calls fail until it is stored again",
			"provider", sc.Provider, "key_id", sc.KeyID, "master_key_id", m.opt.Box.KeyID(), "err", err)
		info.Status = StatusUnreadable
		s.key.Store(nil)
	} else {
		k := string(pt)
		clear(pt)
		s.key.Store(&k)
	}
	s.info, s.has = info, true
}

// Run refreshes every RefreshInterval until ctx is done, for credentials
// changed by other processes sharing the store.
func (m *Manager) Run(ctx context.Context) {
	if len(m.slots) == 0 {
		return
	}
	t := time.NewTicker(RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("refresh stored provider keys", "err", err)
			}
		}
	}
}

// Rotate seals again under WEIR_MASTER_KEY every stored credential sealed
// under WEIR_MASTER_KEY_PREVIOUS, keeping its metadata, and returns how
// many it resealed. New calls it, so a start completes a rotation.
func (m *Manager) Rotate(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Rotate(ctx, m.opt.Store, m.opt.Box, m.log)
}

// Rotate is Manager.Rotate without a Manager, for a CLI command
// (weir credentials rotate): every credential in st, those of providers no
// longer configured included, so that none is left under a retired key.
// One that cannot be opened is logged and skipped. A nil box does nothing.
func Rotate(ctx context.Context, st store.CredentialStore, box *secret.Box, log *slog.Logger) (int, error) {
	if box == nil {
		return 0, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	list, err := st.ListCredentials(ctx)
	if err != nil {
		return 0, fmt.Errorf("credentials: %w", err)
	}
	n := 0
	for _, ci := range list {
		if ci.KeyID == box.KeyID() {
			continue
		}
		sc, err := st.Credential(ctx, ci.Provider)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("credentials: %w", err)
		}
		sealed, err := box.Reseal(sc.Provider, secret.Sealed{Ciphertext: sc.Ciphertext, Nonce: sc.Nonce, KeyID: sc.KeyID})
		if err != nil {
			log.Error("stored provider key not resealed: it cannot be opened", "provider", sc.Provider, "key_id", sc.KeyID, "err", err)
			continue
		}
		sc.Ciphertext, sc.Nonce, sc.KeyID = sealed.Ciphertext, sealed.Nonce, sealed.KeyID
		if err := st.PutCredential(ctx, sc); err != nil {
			return n, fmt.Errorf("credentials: reseal %s: %w", sc.Provider, err)
		}
		log.Info("stored provider key sealed under the new master key", "provider", sc.Provider, "from_key_id", ci.KeyID, "key_id", sealed.KeyID)
		n++
	}
	return n, nil
}

// check says whether provider's credential may be managed here.
func (m *Manager) check(provider string) (*slot, error) {
	if !m.known[provider] {
		return nil, fmt.Errorf("provider %q: %w", provider, ErrUnknownProvider)
	}
	if m.opt.Box == nil {
		return nil, fmt.Errorf("%w: set it to 32 random bytes, base64 or hex, to store provider keys", ErrNoMasterKey)
	}
	s := m.slots[provider]
	if s == nil {
		return nil, fmt.Errorf("provider %q: %w: its key comes from the configuration; set its api_key to %q to manage it here", provider, ErrNotStored, "stored")
	}
	return s, nil
}

// validKey reports what is wrong with a key; it never repeats the key.
func validKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: api_key is required", ErrInvalid)
	case len(k) > MaxKeyBytes:
		return fmt.Errorf("%w: api_key is over %d bytes", ErrInvalid, MaxKeyBytes)
	case strings.TrimSpace(k) != k:
		return fmt.Errorf("%w: api_key starts or ends with white space", ErrInvalid)
	case strings.ContainsFunc(k, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }):
		return fmt.Errorf("%w: api_key contains control characters or invalid UTF-8", ErrInvalid)
	}
	return nil
}

// Put seals key and stores it as provider's credential, in effect for the
// provider's next call.
func (m *Manager) Put(ctx context.Context, provider, key string) (Info, error) {
	s, err := m.check(provider)
	if err != nil {
		return Info{}, err
	}
	if err := validKey(key); err != nil {
		return Info{}, err
	}
	sealed, err := m.opt.Box.Seal(provider, []byte(key))
	if err != nil {
		return Info{}, fmt.Errorf("credentials: %w", err)
	}
	sc := store.SealedCredential{
		CredentialInfo: store.CredentialInfo{Provider: provider, KeyID: sealed.KeyID, UpdatedAt: m.opt.Now().UTC(), UpdatedBy: actorName(ctx)},
		Ciphertext:     sealed.Ciphertext, Nonce: sealed.Nonce,
	}
	m.mu.Lock()
	before, had := s.info, s.has
	if err := m.opt.Store.PutCredential(ctx, sc); err != nil {
		m.mu.Unlock()
		return Info{}, fmt.Errorf("credentials: %w", err)
	}
	k := key
	s.key.Store(&k)
	s.info = Info{Provider: provider, KeyID: sc.KeyID, UpdatedAt: sc.UpdatedAt, UpdatedBy: sc.UpdatedBy, Status: StatusActive}
	s.has = true
	after := s.info
	m.mu.Unlock()
	var b any
	if had {
		b = before
	}
	m.audit(ctx, "put", provider, b, after)
	return after, nil
}

// Get returns the metadata of provider's credential.
func (m *Manager) Get(ctx context.Context, provider string) (Info, error) {
	s, err := m.check(provider)
	if err != nil {
		return Info{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !s.has {
		return Info{}, fmt.Errorf("provider %q: no key is stored: %w", provider, ErrNotFound)
	}
	return s.info, nil
}

// Delete removes provider's credential: its next calls fail until another
// is stored.
func (m *Manager) Delete(ctx context.Context, provider string) error {
	s, err := m.check(provider)
	if err != nil {
		return err
	}
	m.mu.Lock()
	before := s.info
	if err := m.opt.Store.DeleteCredential(ctx, provider); err != nil {
		m.mu.Unlock()
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("provider %q: no key is stored: %w", provider, ErrNotFound)
		}
		return fmt.Errorf("credentials: %w", err)
	}
	s.key.Store(nil)
	s.info, s.has = Info{}, false
	m.mu.Unlock()
	m.audit(ctx, "delete", provider, before, nil)
	return nil
}

func (m *Manager) audit(ctx context.Context, verb, provider string, before, after any) {
	if m.opt.Audit == nil {
		return
	}
	if err := m.opt.Audit.Record(ctx, AuditKind+"."+verb, AuditKind, provider, before, after); err != nil {
		m.log.Error("audit provider key change", "provider", provider, "action", verb, "err", err)
	}
}

// Stored lists the stored providers, sorted.
func (m *Manager) Stored() []string {
	out := make([]string, 0, len(m.slots))
	for n := range m.slots {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func actorName(ctx context.Context) string {
	a := audit.ActorFrom(ctx)
	if a.Name != "" {
		return a.Name
	}
	return a.Kind
}

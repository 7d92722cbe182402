package limits

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/weirhq/weir/internal/apierror"
	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
)

// Store is what limits need of the store.
type Store interface {
	store.LimitStore
	CostTotals(ctx context.Context, q store.CostQuery) ([]store.CostTotal, error)
}

// Counters hold the spend of each limit key in its window: what was used
// and what calls in flight have reserved. The memory implementation serves
// one process; a shared one (Redis) serves several replicas.
type Counters interface {
	// Reserve adds amount to key's reservation when used + reserved +
	// amount <= limit (or always, with force), and reports whether it did
	// and the counter after. load gives the used amount of a key not seen
	// yet.
	Reserve(ctx context.Context, key string, amount, limit int64, force bool, load func() (int64, error)) (ok bool, c Counter, err error)
	// Settle releases a reservation and adds the amount actually used.
	Settle(ctx context.Context, key string, reserved, used int64) (Counter, error)
	// Get returns key's counter, loading it when absent.
	Get(ctx context.Context, key string, load func() (int64, error)) (Counter, error)
	// Drop forgets every key with the prefix (a reset, a changed limit).
	Drop(ctx context.Context, prefix string) error
}

// Counter is one key's spend, and the calls it refused.
type Counter struct {
	Used, Reserved, Refused int64
}

// Alerter is told when a limit crosses its threshold or its cap.
type Alerter func(l Limit, key string, c Counter, state string)

// Auditor records a change in the audit log (*audit.Log is one): action,
// the object's kind and id, and its state before (nil: created) and after
// (nil: deleted). It reports its own failures; a change that is made stays
// made.
type Auditor interface {
	Record(ctx context.Context, action, objectKind, objectID string, before, after any) error
}

// Manager keeps the limits in force and admits calls against them.
type Manager struct {
	st       Store
	counters Counters
	alert    Alerter
	audit    Auditor
	now      func() time.Time
	log      *slog.Logger

	mu     sync.RWMutex
	limits []Limit
	resets map[string]time.Time // latest reset per limit
	// gen counts each limit's changes and resets: part of its counter
	// keys, so that calls in flight settle into the counters they
	// reserved in, and a store load begun before a change cannot revive
	// old spend.
	gen map[string]int
	// writes serialises changes, so that the store and memory agree.
	writes sync.Mutex
}

// Options configure a Manager.
type Options struct {
	Store    Store
	Counters Counters // default: in memory
	Alert    Alerter  // optional
	Audit    Auditor  // optional: records changes and resets
	Now      func() time.Time
	Log      *slog.Logger
}

// New loads the limits in force.
func New(ctx context.Context, opt Options) (*Manager, error) {
	m := &Manager{st: opt.Store, counters: opt.Counters, alert: opt.Alert, audit: opt.Audit, now: opt.Now, log: opt.Log, resets: map[string]time.Time{}, gen: map[string]int{}}
	if m.counters == nil {
		m.counters = NewMemory()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	docs, err := m.st.Limits(ctx)
	if err != nil {
		return nil, fmt.Errorf("load limits: %w", err)
	}
	for _, d := range docs {
		l, err := Parse(d.Doc)
		if err == nil {
			err = l.compile()
		}
		if err != nil {
			return nil, fmt.Errorf("limit %s: %w", d.Name, err)
		}
		m.limits = append(m.limits, l)
		if err := m.loadResets(ctx, l.Name); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) loadResets(ctx context.Context, name string) error {
	rs, err := m.st.LimitResets(ctx, name)
	if err != nil {
		return fmt.Errorf("limit %s resets: %w", name, err)
	}
	if len(rs) > 0 {
		m.resets[name] = rs[len(rs)-1].At
	}
	return nil
}

// List returns the limits in force, by name.
func (m *Manager) List() []Limit {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.limits)
}

// Put adds or replaces a limit; its counters start again from the store.
func (m *Manager) Put(ctx context.Context, l Limit, by string) (Limit, error) {
	if err := l.Validate(); err != nil {
		return l, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	doc, err := json.Marshal(l)
	if err != nil {
		return l, err
	}
	m.writes.Lock()
	defer m.writes.Unlock()
	if _, err := m.st.PutLimit(ctx, store.LimitDoc{Name: l.Name, Doc: doc, ChangedBy: by}); err != nil {
		return l, err
	}
	before, existed := m.get(l.Name)
	m.mu.Lock()
	m.limits = slices.DeleteFunc(m.limits, func(x Limit) bool { return x.Name == l.Name })
	m.limits = append(m.limits, l)
	slices.SortFunc(m.limits, func(a, b Limit) int { return cmp.Compare(a.Name, b.Name) })
	m.gen[l.Name]++
	m.mu.Unlock()
	if existed {
		m.record(ctx, "limit.put", l.Name, before, l)
	} else {
		m.record(ctx, "limit.put", l.Name, nil, l)
	}
	return l, nil
}

// record writes an audit entry about limit name; the Auditor reports its
// own failures.
func (m *Manager) record(ctx context.Context, action, name string, before, after any) {
	if m.audit != nil {
		_ = m.audit.Record(ctx, action, "limit", name, before, after)
	}
}

// Delete removes a limit.
func (m *Manager) Delete(ctx context.Context, name, by string) error {
	m.writes.Lock()
	defer m.writes.Unlock()
	if _, err := m.st.PutLimit(ctx, store.LimitDoc{Name: name, ChangedBy: by}); err != nil {
		return err
	}
	before, existed := m.get(name)
	m.mu.Lock()
	m.limits = slices.DeleteFunc(m.limits, func(x Limit) bool { return x.Name == name })
	m.gen[name]++
	m.mu.Unlock()
	if existed {
		m.record(ctx, "limit.delete", name, before, nil)
	} else { // deleted by another process: known only by name
		m.record(ctx, "limit.delete", name, Limit{Name: name}, nil)
	}
	return nil
}

// Get returns a limit and its resets, oldest first.
func (m *Manager) Get(ctx context.Context, name string) (Limit, []store.LimitReset, error) {
	l, ok := m.get(name)
	if !ok {
		return l, nil, fmt.Errorf("limit %s: %w", name, store.ErrNotFound)
	}
	rs, err := m.st.LimitResets(ctx, name)
	return l, rs, err
}

// Reset makes a limit's spend count from now on, keeping the history.
func (m *Manager) Reset(ctx context.Context, name, by, note string) error {
	if _, ok := m.get(name); !ok {
		return fmt.Errorf("limit %s: %w", name, store.ErrNotFound)
	}
	m.writes.Lock()
	defer m.writes.Unlock()
	at := m.now().UTC()
	var before *store.LimitReset
	if m.audit != nil {
		rs, err := m.st.LimitResets(ctx, name)
		if err != nil {
			return err
		}
		if len(rs) > 0 {
			before = &rs[len(rs)-1]
		}
	}
	after := store.LimitReset{Name: name, At: at, By: by, Note: note}
	if err := m.st.ResetLimit(ctx, after); err != nil {
		return err
	}
	m.mu.Lock()
	m.resets[name] = at
	m.gen[name]++
	m.mu.Unlock()
	// Before and after are the latest reset: spend counts from its time.
	m.record(ctx, "limit.reset", name, before, after)
	return nil
}

func (m *Manager) get(name string) (Limit, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i := slices.IndexFunc(m.limits, func(l Limit) bool { return l.Name == name })
	if i < 0 {
		return Limit{}, false
	}
	return m.limits[i], true
}

// key names a limit's counter for one generation, Per value and window.
// Counters of earlier generations are left to settle their calls in
// flight and are forgotten when idle.
func key(l *Limit, gen int, per string, window time.Time) string {
	return l.Name + "\x00" + strconv.Itoa(gen) + "\x00" + per + "\x00" + window.UTC().Format(time.RFC3339)
}

func (m *Manager) generation(name string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.gen[name]
}

// loader returns the spend of l's calls for per since its window start
// (or the latest reset, when later), from the store.
func (m *Manager) loader(ctx context.Context, l *Limit, per string, window time.Time) func() (int64, error) {
	return func() (int64, error) {
		from := window
		m.mu.RLock()
		if r, ok := m.resets[l.Name]; ok && r.After(from) {
			from = r
		}
		m.mu.RUnlock()
		q := store.CostQuery{From: from, UseCase: l.Match.UseCase, Team: l.Match.Team, User: l.Match.User,
			Account: l.Match.Account, Provider: l.Match.Provider, Model: l.Match.Model, Application: l.Match.Application}
		switch l.Per {
		case PerInstance:
			q.UseCaseInstance = per
		case PerUseCase:
			q.UseCase = per
		case PerTeam:
			q.Team = per
		case PerUser:
			q.User = per
		case PerAccount:
			q.Account = per
		case PerApplication:
			q.Application = per
		case PerAPIKey:
			q.APIKeyID = per
		}
		rows, err := m.st.CostTotals(ctx, q)
		if err != nil || len(rows) == 0 {
			return 0, err
		}
		if l.Tokens != nil {
			return rows[0].InputTokens + rows[0].OutputTokens, nil
		}
		d, f := rows[0].CostUSD.Parts()
		return d*1_000_000_000 + ceilNano(f), nil
	}
}

// Ticket is a call admitted against some limits: Settle it when the call
// ends, with its real cost.
type Ticket struct {
	m     *Manager
	holds []hold
}

type hold struct {
	limit    Limit
	key      string
	reserved int64
}

// Admit checks the call rec (attribution, provider, model, time) against
// the limits that match it. estimate gives the call's pre-call cost and
// tokens; it runs only when some limit applies. A block-mode limit whose
// spent + reserved + estimate would pass its cap refuses the call with a
// BudgetExceeded error naming it. A nil Ticket means no limit applies.
func (m *Manager) Admit(ctx context.Context, rec *record.Record, estimate func() (pricing.Money, int64)) (*Ticket, error) {
	m.mu.RLock()
	var apply []Limit
	for _, l := range m.limits {
		if l.Match.matches(rec) && (l.Per == PerNone || l.perValue(rec) != "") {
			apply = append(apply, l)
		}
	}
	m.mu.RUnlock()
	if len(apply) == 0 {
		return nil, nil
	}
	cost, tokens := estimate()
	t := &Ticket{m: m}
	at := rec.ReceivedAt
	if at.IsZero() {
		at = m.now()
	}
	// Block-mode limits first: a refusal reserves nothing anywhere.
	blockFirst := func(l Limit) int {
		if l.Mode == ModeBlock {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(apply, func(a, b Limit) int { return cmp.Compare(blockFirst(a), blockFirst(b)) })
	for i := range apply {
		l := &apply[i]
		per := l.perValue(rec)
		window := l.windowStart(at)
		k := key(l, m.generation(l.Name), per, window)
		amount := l.units(cost, tokens)
		ok, c, err := m.counters.Reserve(ctx, k, amount, l.cap(), l.Mode == ModeWarn, m.loader(ctx, l, per, window))
		if err != nil {
			if l.Mode == ModeWarn { // a warning never stops a call
				m.log.Warn("limit not checked", "limit", l.Name, "err", err)
				continue
			}
			t.release(ctx)
			return nil, apierror.Wrap(apierror.Internal, err, "limit %q could not be checked, so the call was not sent", l.Name)
		}
		if !ok {
			t.release(ctx)
			m.notify(*l, k, c, "blocked")
			return nil, &apierror.Error{Kind: apierror.BudgetExceeded, Code: "budget_exceeded",
				Message: fmt.Sprintf("limit %q reached: %s of %s used %s%s, and this call could take %s more; it was not sent to the provider", l.Name,
					l.format(c.Used+c.Reserved), l.format(l.cap()), l.windowName(), l.scopeText(per), l.format(amount))}
		}
		t.holds = append(t.holds, hold{limit: *l, key: k, reserved: amount})
	}
	return t, nil
}

// release gives back what t reserved, used nothing.
func (t *Ticket) release(ctx context.Context) {
	for _, h := range t.holds {
		t.m.counters.Settle(ctx, h.key, h.reserved, 0)
	}
	t.holds = nil
}

// Settle ends the call: its reservations are released and its real cost
// and tokens counted. Crossing a limit's threshold or cap raises an alert.
func (t *Ticket) Settle(cost pricing.Money, tokens int64) {
	if t == nil {
		return
	}
	ctx := context.Background()
	holds := t.holds
	t.holds = nil // settled once
	for _, h := range holds {
		used := h.limit.units(cost, tokens)
		c, err := t.m.counters.Settle(ctx, h.key, h.reserved, used)
		if err != nil {
			t.m.log.Warn("settle limit", "limit", h.limit.Name, "err", err)
			continue
		}
		before, after := c.Used-used, c.Used
		capv := h.limit.cap()
		thr := int64(float64(capv) * h.limit.threshold())
		switch {
		case before < capv && after >= capv:
			t.m.notify(h.limit, h.key, c, "exceeded")
		case before < thr && after >= thr:
			t.m.notify(h.limit, h.key, c, "warning")
		}
	}
}

func (m *Manager) notify(l Limit, k string, c Counter, state string) {
	if m.alert != nil {
		m.alert(l, k, c, state)
	}
}

func (l *Limit) format(units int64) string {
	if l.USD != nil {
		return "$" + (pricing.Money(units) * pricing.Nano).Format(6)
	}
	return fmt.Sprintf("%d tokens", units)
}

func (l *Limit) windowName() string {
	switch l.Window {
	case WindowDay:
		return "today"
	case WindowLifetime:
		return "in all"
	}
	return "this " + l.Window
}

func (l *Limit) scopeText(per string) string {
	if l.Per == PerNone {
		return ""
	}
	return fmt.Sprintf(" for %s %q", l.Per, per)
}

// State is a limit's standing in its current window, for one Per value
// (or all calls).
type State struct {
	Limit  string  `json:"limit"`
	Per    string  `json:"per,omitempty"`
	Value  string  `json:"value,omitempty"`
	Window string  `json:"window_start,omitempty"`
	Used   string  `json:"used"`
	InUse  string  `json:"reserved"`
	Cap    string  `json:"cap"`
	Share  float64 `json:"share"`
	// Refused counts the calls the limit refused in this window.
	Refused int64 `json:"refused,omitempty"`
	// State is ok, warning (past the threshold), exceeded (past the cap,
	// warn mode) or blocked (past the cap, block mode).
	State string `json:"state"`
}

// States returns every limit's state in its current window: one for a
// limit without Per, and one per value seen since the process started (or
// since the limit changed) for the others, most used first.
func (m *Manager) States(ctx context.Context) ([]State, error) {
	out := []State{}
	now := m.now()
	for _, l := range m.List() {
		window := l.windowStart(now)
		var values []string
		if l.Per == PerNone {
			values = []string{""}
		} else {
			prefix := l.Name + "\x00" + strconv.Itoa(m.generation(l.Name)) + "\x00"
			suffix := "\x00" + window.UTC().Format(time.RFC3339)
			for _, k := range m.keys() {
				if len(k) > len(prefix)+len(suffix) && k[:len(prefix)] == prefix && k[len(k)-len(suffix):] == suffix {
					values = append(values, k[len(prefix):len(k)-len(suffix)])
				}
			}
		}
		var states []State
		for _, v := range values {
			c, err := m.counters.Get(ctx, key(&l, m.generation(l.Name), v, window), m.loader(ctx, &l, v, window))
			if err != nil {
				return nil, err
			}
			states = append(states, l.state(v, window, c))
		}
		slices.SortStableFunc(states, func(a, b State) int { return cmp.Compare(b.Share, a.Share) })
		out = append(out, states...)
	}
	return out, nil
}

func (m *Manager) keys() []string {
	if mem, ok := m.counters.(*Memory); ok {
		return mem.Keys()
	}
	return nil
}

func (l *Limit) state(per string, window time.Time, c Counter) State {
	s := State{Limit: l.Name, Per: l.Per, Value: per, Used: l.format(c.Used), InUse: l.format(c.Reserved), Cap: l.format(l.cap())}
	if !window.IsZero() {
		s.Window = window.Format(time.RFC3339)
	}
	s.Share = float64(c.Used) / float64(l.cap())
	s.Refused = c.Refused
	switch {
	case l.Mode == ModeBlock && (s.Share >= 1 || c.Refused > 0):
		s.State = "blocked"
	case s.Share >= 1:
		s.State = "exceeded"
	case s.Share >= l.threshold():
		s.State = "warning"
	default:
		s.State = "ok"
	}
	return s
}

// IsInvalid reports whether err is a refused definition.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

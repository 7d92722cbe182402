package alert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// openSQLite returns a migrated database file; single makes it one
// connection, as Weir's own writer is.
func openSQLite(t *testing.T, single bool) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "weir.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if single {
		db.SetMaxOpenConns(1)
	}
	t.Cleanup(func() { db.Close() })
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// stores are the backends the conformance suite runs against.
var stores = []struct {
	name string
	open func(t *testing.T) Store
}{
	{"memory", func(*testing.T) Store { return NewMemoryStore() }},
	{"sqlite", func(t *testing.T) Store { return NewSQLiteStore(openSQLite(t, true)) }},
	{"sqlite_pool", func(t *testing.T) Store { return NewSQLiteStore(openSQLite(t, false)) }},
}

// TestStoreConformance runs the same contract against every Store.
func TestStoreConformance(t *testing.T) {
	tests := []struct {
		name string
		f    func(t *testing.T, s Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"SaveReplacesKeepsDeliveries", testSaveReplaces},
		{"Deliveries", testDeliveries},
		{"DeliveryUnknownAlert", testDeliveryUnknownAlert},
		{"Filters", testFilters},
		{"OrderAndLimit", testOrderAndLimit},
		{"InvalidQuery", testInvalidQuery},
		{"LastByDedupKey", testLastByDedupKey},
		{"RefusesInvalid", testRefusesInvalid},
		{"Concurrent", testConcurrentStore},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.f(t, st.open(t)) })
			}
		})
	}
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)

// sample is a complete alert as the engine stores it.
func sample(id string, at time.Time) Alert {
	return Alert{
		ID: id, Rule: "team-budget", Kind: KindLimitExceeded, Severity: SeverityCritical,
		Scope: map[string]string{"team": "payments", "use_case": "chat"},
		Title: "Budget exceeded", Message: "Team payments spent $120.50 of $100.",
		Value: 120.5, Threshold: 100, At: at, DedupKey: "k-" + id,
		Fields: map[string]any{"period": "month", "calls": float64(42), "nested": map[string]any{"a": []any{"x", 1.5}}},
		Count:  1, LastAt: at, LastValue: 120.5,
	}
}

func mustSave(t *testing.T, s Store, as ...Alert) {
	t.Helper()
	for _, a := range as {
		if err := s.SaveAlert(context.Background(), a); err != nil {
			t.Fatalf("SaveAlert(%s): %v", a.ID, err)
		}
	}
}

func list(t *testing.T, s Store, q ListQuery) []Alert {
	t.Helper()
	got, err := s.ListAlerts(context.Background(), q)
	if err != nil {
		t.Fatalf("ListAlerts(%+v): %v", q, err)
	}
	return got
}

func ids(as []Alert) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func testRoundTrip(t *testing.T, s Store) {
	// A time with a zone and a monotonic reading comes back in UTC.
	at := time.Now().In(time.FixedZone("x", 3600))
	full := sample("a1", at)
	full.Fields["int"] = 7 // any JSON number comes back as float64
	minimal := Alert{ID: "a2", Kind: "custom", Severity: SeverityInfo, At: t0, Count: 1}
	mustSave(t, s, full, minimal)

	wantFull := sample("a1", time.Unix(0, at.UnixNano()).UTC())
	wantFull.Fields["int"] = float64(7)
	got := list(t, s, ListQuery{})
	if diff := cmp.Diff([]Alert{wantFull, minimal}, got); diff != "" {
		t.Errorf("ListAlerts mismatch (-want +got):\n%s", diff)
	}
	if got[0].At.Location() != time.UTC {
		t.Errorf("At location = %v, want UTC", got[0].At.Location())
	}
	// What is returned is a copy.
	got[0].Scope["team"] = "changed"
	if again := list(t, s, ListQuery{}); again[0].Scope["team"] != "payments" {
		t.Errorf("store shares its Scope map with callers")
	}
}

func testSaveReplaces(t *testing.T, s Store) {
	ctx := context.Background()
	a := sample("a1", t0)
	mustSave(t, s, a)
	d := Delivery{Webhook: "ops", State: DeliveryDelivered, Attempts: 2, LastStatus: 200, DeliveredAt: t0.Add(time.Second)}
	if err := s.UpdateDelivery(ctx, "a1", d); err != nil {
		t.Fatal(err)
	}
	a.Count, a.LastAt, a.LastValue = 3, t0.Add(time.Minute), 130
	a.Deliveries = []Delivery{{Webhook: "ignored"}}
	mustSave(t, s, a)

	got, ok, err := s.LastByDedupKey(ctx, a.DedupKey)
	if err != nil || !ok {
		t.Fatalf("LastByDedupKey = %v, %v", ok, err)
	}
	want := a
	want.Deliveries = []Delivery{d}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after replace (-want +got):\n%s", diff)
	}
}

func testDeliveries(t *testing.T, s Store) {
	ctx := context.Background()
	mustSave(t, s, sample("a1", t0), sample("a2", t0.Add(time.Second)))
	updates := []struct {
		id string
		d  Delivery
	}{
		{"a1", Delivery{Webhook: "slack", State: DeliveryPending}},
		{"a1", Delivery{Webhook: "json", State: DeliveryPending}},
		{"a1", Delivery{Webhook: "slack", State: DeliveryPending, Attempts: 1, LastStatus: 503, LastError: "HTTP 503"}},
		{"a1", Delivery{Webhook: "slack", State: DeliveryDelivered, Attempts: 2, LastStatus: 200, DeliveredAt: t0.Add(3 * time.Second)}},
		{"a2", Delivery{Webhook: "json", State: DeliveryFailed, Attempts: 1, LastStatus: 400, LastError: "HTTP 400: bad"}},
	}
	for _, u := range updates {
		if err := s.UpdateDelivery(ctx, u.id, u.d); err != nil {
			t.Fatalf("UpdateDelivery(%s, %+v): %v", u.id, u.d, err)
		}
	}
	want := map[string][]Delivery{
		"a1": {updates[1].d, updates[3].d}, // by webhook name
		"a2": {updates[4].d},
	}
	for _, a := range list(t, s, ListQuery{}) {
		if diff := cmp.Diff(want[a.ID], a.Deliveries); diff != "" {
			t.Errorf("deliveries of %s (-want +got):\n%s", a.ID, diff)
		}
	}
}

func testDeliveryUnknownAlert(t *testing.T, s Store) {
	err := s.UpdateDelivery(context.Background(), "nope", Delivery{Webhook: "w", State: DeliveryPending})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateDelivery(unknown) = %v, want ErrNotFound", err)
	}
	mustSave(t, s, sample("a1", t0))
	if err := s.UpdateDelivery(context.Background(), "a1", Delivery{}); err == nil {
		t.Errorf("UpdateDelivery without a webhook name succeeded")
	}
}

func testFilters(t *testing.T, s Store) {
	mk := func(id string, min int, kind string, sev Severity, scope map[string]string) Alert {
		a := Alert{ID: id, Kind: kind, Severity: sev, Scope: scope, At: t0.Add(time.Duration(min) * time.Minute), Count: 1}
		a.LastAt = a.At
		return a
	}
	mustSave(t, s,
		mk("a", 0, KindLimitThreshold, SeverityWarning, map[string]string{"team": "payments"}),
		mk("b", 1, KindLimitExceeded, SeverityCritical, map[string]string{"team": "payments", "use_case": "chat"}),
		mk("c", 2, KindSpendSpike, SeverityWarning, map[string]string{"use_case": "chat"}),
		mk("d", 3, KindErrorRate, SeverityInfo, nil),
		mk("e", 4, KindLimitExceeded, SeverityCritical, map[string]string{"team": "search", "x'y\"z": "q"}),
	)
	tests := []struct {
		q    ListQuery
		want []string
	}{
		{ListQuery{}, []string{"e", "d", "c", "b", "a"}},
		{ListQuery{Kind: KindLimitExceeded}, []string{"e", "b"}},
		{ListQuery{Kind: "nothing"}, []string{}},
		{ListQuery{Severity: SeverityWarning}, []string{"c", "a"}},
		{ListQuery{Severity: SeverityCritical, Kind: KindLimitExceeded}, []string{"e", "b"}},
		{ListQuery{Since: t0.Add(time.Minute)}, []string{"e", "d", "c", "b"}},
		{ListQuery{Until: t0.Add(time.Minute)}, []string{"a"}},
		{ListQuery{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"c", "b"}},
		{ListQuery{Since: t0.Add(time.Minute), Until: t0.Add(time.Minute)}, []string{}},
		{ListQuery{ScopeKey: "team"}, []string{"e", "b", "a"}},
		{ListQuery{ScopeKey: "team", ScopeValue: "payments"}, []string{"b", "a"}},
		{ListQuery{ScopeKey: "use_case", ScopeValue: "chat", Kind: KindSpendSpike}, []string{"c"}},
		{ListQuery{ScopeKey: "x'y\"z", ScopeValue: "q"}, []string{"e"}},
		{ListQuery{ScopeKey: "team", ScopeValue: "nobody"}, []string{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ids(list(t, s, tt.q))); diff != "" {
			t.Errorf("ListAlerts(%+v) (-want +got):\n%s", tt.q, diff)
		}
	}
}

func testOrderAndLimit(t *testing.T, s Store) {
	// Same time: ID breaks the tie, descending.
	var as []Alert
	for i := range 60 {
		as = append(as, sample(fmt.Sprintf("id%02d", i), t0.Add(time.Duration(i/2)*time.Second)))
	}
	mustSave(t, s, as...)
	got := ids(list(t, s, ListQuery{Limit: 3}))
	if diff := cmp.Diff([]string{"id59", "id58", "id57"}, got); diff != "" {
		t.Errorf("limit 3 (-want +got):\n%s", diff)
	}
	if n := len(list(t, s, ListQuery{})); n != DefaultLimit {
		t.Errorf("default limit gave %d alerts, want %d", n, DefaultLimit)
	}
	if n := len(list(t, s, ListQuery{Limit: MaxLimit + 5})); n != 60 {
		t.Errorf("limit above the maximum gave %d alerts, want all 60", n)
	}
}

func testInvalidQuery(t *testing.T, s Store) {
	for _, q := range []ListQuery{
		{Limit: -1},
		{Severity: "fatal"},
		{ScopeValue: "x"},
		{Since: t0, Until: t0.Add(-time.Second)},
		{Since: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := s.ListAlerts(context.Background(), q); !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("ListAlerts(%+v) = %v, want ErrInvalidQuery", q, err)
		}
	}
}

func testLastByDedupKey(t *testing.T, s Store) {
	ctx := context.Background()
	if _, ok, err := s.LastByDedupKey(ctx, "k"); ok || err != nil {
		t.Fatalf("LastByDedupKey on an empty store = %v, %v", ok, err)
	}
	a, b, c := sample("a", t0), sample("b", t0.Add(time.Hour)), sample("c", t0.Add(2*time.Hour))
	a.DedupKey, b.DedupKey, c.DedupKey = "k", "k", "other"
	mustSave(t, s, b, a, c)
	got, ok, err := s.LastByDedupKey(ctx, "k")
	if err != nil || !ok || got.ID != "b" {
		t.Errorf("LastByDedupKey(k) = %s, %v, %v; want b", got.ID, ok, err)
	}
	if _, ok, _ := s.LastByDedupKey(ctx, "missing"); ok {
		t.Errorf("LastByDedupKey(missing) found an alert")
	}
}

func testRefusesInvalid(t *testing.T, s Store) {
	bad := func(f func(a *Alert)) Alert {
		a := sample("x", t0)
		f(&a)
		return a
	}
	for name, a := range map[string]Alert{
		"no id":         bad(func(a *Alert) { a.ID = "" }),
		"no kind":       bad(func(a *Alert) { a.Kind = "" }),
		"bad severity":  bad(func(a *Alert) { a.Severity = "fatal" }),
		"zero time":     bad(func(a *Alert) { a.At = time.Time{} }),
		"NaN value":     bad(func(a *Alert) { a.Value = math.NaN() }),
		"inf threshold": bad(func(a *Alert) { a.Threshold = math.Inf(1) }),
		"bad fields":    bad(func(a *Alert) { a.Fields = map[string]any{"ch": make(chan int)} }),
	} {
		if err := s.SaveAlert(context.Background(), a); err == nil {
			t.Errorf("SaveAlert(%s) succeeded", name)
		}
	}
	if got := list(t, s, ListQuery{}); len(got) != 0 {
		t.Errorf("invalid alerts were stored: %v", ids(got))
	}
}

func testConcurrentStore(t *testing.T, s Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("g%d-%d", g, i)
				a := sample(id, t0.Add(time.Duration(i)*time.Second))
				if err := s.SaveAlert(ctx, a); err != nil {
					t.Errorf("SaveAlert: %v", err)
					return
				}
				if err := s.UpdateDelivery(ctx, id, Delivery{Webhook: "w", State: DeliveryPending}); err != nil {
					t.Errorf("UpdateDelivery: %v", err)
				}
				if _, err := s.ListAlerts(ctx, ListQuery{Limit: 5}); err != nil {
					t.Errorf("ListAlerts: %v", err)
				}
			}
		})
	}
	wg.Wait()
	got := list(t, s, ListQuery{Limit: MaxLimit})
	if len(got) != 80 {
		t.Errorf("stored %d alerts, want 80", len(got))
	}
	for _, a := range got {
		if len(a.Deliveries) != 1 {
			t.Errorf("%s has %d deliveries, want 1", a.ID, len(a.Deliveries))
		}
	}
}

func TestMigrateIdempotent(t *testing.T) {
	db := openSQLite(t, true)
	s := NewSQLiteStore(db)
	mustSave(t, s, sample("a1", t0))
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if got := ids(list(t, s, ListQuery{})); !cmp.Equal(got, []string{"a1"}) {
		t.Errorf("after a second Migrate the alerts are %v", got)
	}
}

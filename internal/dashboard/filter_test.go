package dashboard

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	f := func(query string, wantFrom, wantTo time.Time, wantErr string) {
		t.Helper()
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseFilter(q, now)
		if wantErr != "" {
			if err == nil || !errors.Is(err, errFilter) || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%s: error %v, want one wrapping errFilter with %q", query, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if !got.from.Equal(wantFrom) || !got.to.Equal(wantTo) {
			t.Errorf("%s: [%v, %v), want [%v, %v)", query, got.from, got.to, wantFrom, wantTo)
		}
	}
	var zero time.Time
	paris, _ := time.LoadLocation("Europe/Paris")
	f("", zero, zero, "")
	f("range=24h", now.Add(-24*time.Hour), zero, "")
	f("range=all", zero, zero, "")
	f("from=2026-03-01&to=2026-03-02", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), "")
	f("from=2026-03-01&tz=Europe/Paris", time.Date(2026, 3, 1, 0, 0, 0, 0, paris), zero, "")
	f("from=2026-03-01T10:00:00Z&range=1h", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), zero, "") // bounds win over the preset
	f("range=2h", zero, zero, "unknown range")
	f("status=99", zero, zero, "not an HTTP status")
	f("status=abc", zero, zero, "not an HTTP status")
	f("limit=0", zero, zero, "limit")
	f("limit=201", zero, zero, "limit")
	f("tz=Mars/Olympus", zero, zero, "unknown time zone")
	f("tz=Local", zero, zero, "unknown time zone")
	f("from=yesterday", zero, zero, "neither a day")
	f("from=2026-03-02&to=2026-03-01T00:00:00Z", zero, zero, "ends before it starts")
	f("cursor=nope", zero, zero, "page link")
	f("use_case="+strings.Repeat("x", maxFilterLen+1), zero, zero, "more than 256 bytes")
}

func TestFilterValues(t *testing.T) {
	q, _ := url.ParseQuery("use_case=+a+&use_case_instance=run-1&team=cx&status=429&range=7d&tz=Europe/Paris&limit=20&ignored=1")
	f, err := parseFilter(q, now)
	if err != nil {
		t.Fatal(err)
	}
	// Spaces trimmed, the zone dropped without a typed day, unknown keys gone.
	if got, want := f.values().Encode(), "limit=20&range=7d&status=429&team=cx&use_case=a&use_case_instance=run-1"; got != want {
		t.Errorf("values %s, want %s", got, want)
	}
	if got := f.query("growth"); got.Team != "growth" || got.UseCaseInstance != "run-1" || got.Limit != 20 {
		t.Errorf("query for a team-limited viewer: %+v", got)
	}
	if !f.Filtered() {
		t.Error("a filtered list says it is not")
	}
	if g, _ := parseFilter(url.Values{"limit": {"10"}, "tz": {"UTC"}}, now); g.Filtered() {
		t.Error("a list with a page size only says it is filtered")
	}
}

// FuzzParseFilter checks that any query either fails with errFilter or
// gives a filter whose canonical query parses back to the same filter,
// with bounds in order and a page size in range.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"", "range=24h", "use_case=a&team=b&status=500&error_kind=x", "from=2026-01-01&to=2026-01-31&tz=America/New_York",
		"from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00.5%2B01:00", "limit=200&cursor=", "status=%20429%20", "tz=Local",
		"from=1899-12-31T00:00:00Z", "range=all&from=2026-02-30",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := parseFilter(q, now)
		if err != nil {
			if !errors.Is(err, errFilter) {
				t.Fatalf("%q: error %v does not wrap errFilter", raw, err)
			}
			return
		}
		if !got.from.IsZero() && !got.to.IsZero() && got.to.Before(got.from) {
			t.Fatalf("%q: range ends before it starts", raw)
		}
		if got.Limit < 0 || got.Limit > maxPageSize {
			t.Fatalf("%q: limit %d", raw, got.Limit)
		}
		if got.query("").Limit < 1 {
			t.Fatalf("%q: store query without a page size", raw)
		}
		again, err := parseFilter(got.values(), now)
		if err != nil {
			t.Fatalf("%q: canonical query %q fails: %v", raw, got.values().Encode(), err)
		}
		if again.values().Encode() != got.values().Encode() || !again.from.Equal(got.from) || !again.to.Equal(got.to) {
			t.Fatalf("%q: canonical query %q parses to %q [%v %v), not [%v %v)", raw, got.values().Encode(), again.values().Encode(), again.from, again.to, got.from, got.to)
		}
	})
}

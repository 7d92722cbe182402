package dashboard

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/store"
)

// callFilter is the calls list's filters as the URL carries them.
type callFilter struct {
	UseCase, Team, User, Model, Provider, ErrorKind string
	// Tag is one of the calls' tags (x-weir-tags).
	Tag string
	// UseCaseInstance is one run of a use case (x-weir-use-case-instance).
	UseCaseInstance string
	// Status is the HTTP status answered to the caller; 0 does not filter.
	Status int
	// Range is a preset ("1h", "24h", "7d", "30d") or "" for any time;
	// ignored when From or To is set.
	Range string
	// FromText and ToText are the bounds as given: a day (YYYY-MM-DD, in
	// TZ; To's day is included) or an RFC 3339 instant.
	FromText, ToText string
	// TZ is the viewer's IANA time zone (sent by static/app.js), in which
	// days are read; "" is UTC.
	TZ     string
	Cursor string
	// Limit is the page size, 0 for the default.
	Limit int

	// from and to are the resolved bounds (zero: unbounded).
	from, to time.Time
}

// Page sizes of the calls list.
const (
	defaultPageSize = 50
	maxPageSize     = 200
	maxFilterLen    = 256
)

var ranges = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// errFilter marks a filter the list cannot apply; its message is shown.
var errFilter = errors.New("filter")

// parseFilter reads the calls list's filters from q, resolving the time
// range against now. Unknown parameters are ignored; a malformed value is
// an error wrapping errFilter.
func parseFilter(q url.Values, now time.Time) (callFilter, error) {
	f := callFilter{
		UseCase: q.Get("use_case"), UseCaseInstance: q.Get("use_case_instance"), Team: q.Get("team"), User: q.Get("user"), Model: q.Get("model"),
		Provider: q.Get("provider"), ErrorKind: q.Get("error_kind"), Tag: q.Get("tag"), Range: q.Get("range"),
		FromText: strings.TrimSpace(q.Get("from")), ToText: strings.TrimSpace(q.Get("to")), TZ: q.Get("tz"), Cursor: q.Get("cursor"),
	}
	for name, s := range map[string]*string{"use case": &f.UseCase, "use case instance": &f.UseCaseInstance, "team": &f.Team, "user": &f.User, "model": &f.Model,
		"provider": &f.Provider, "error kind": &f.ErrorKind, "tag": &f.Tag, "time zone": &f.TZ, "cursor": &f.Cursor} {
		*s = strings.TrimSpace(*s)
		if len(*s) > maxFilterLen {
			return f, fmt.Errorf("%w: the %s has more than %d bytes", errFilter, name, maxFilterLen)
		}
	}
	if s := strings.TrimSpace(q.Get("status")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 599 {
			return f, fmt.Errorf("%w: status %q is not an HTTP status (100-599)", errFilter, s)
		}
		f.Status = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return f, fmt.Errorf("%w: limit %q: 1 to %d", errFilter, s, maxPageSize)
		}
		f.Limit = n
	}
	var err error
	if f.from, f.to, f.Range, err = parseWindow(f.TZ, f.FromText, f.ToText, f.Range, ranges, "1h, 24h, 7d or 30d", now); err != nil {
		return f, err
	}
	if f.Cursor != "" {
		if _, err := store.ParseCursor(f.Cursor); err != nil {
			return f, fmt.Errorf("%w: the page link is malformed", errFilter)
		}
	}
	return f, nil
}

// parseBound reads a day in loc (the day's start, or the next day's start
// when end is set, so that the day is included) or an RFC 3339 instant.
func parseBound(s string, loc *time.Location, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1900 || t.Year() > 2200 {
		return time.Time{}, fmt.Errorf("%q is neither a day (YYYY-MM-DD) nor an RFC 3339 time", s)
	}
	return t, nil
}

// query is the store query of f for a principal limited to team (""
// for none): the team always wins over the filter.
func (f callFilter) query(team string) store.RequestQuery {
	q := store.RequestQuery{UseCase: f.UseCase, UseCaseInstance: f.UseCaseInstance, Team: f.Team, User: f.User, Model: f.Model, Provider: f.Provider,
		ErrorKind: f.ErrorKind, Tag: f.Tag, Status: f.Status, From: f.from, To: f.to, Limit: f.Limit, Cursor: f.Cursor}
	if team != "" {
		q.Team = team
	}
	if q.Limit == 0 {
		q.Limit = defaultPageSize
	}
	return q
}

// values is f as a canonical query (empty fields left out): for links,
// the pushed URL and the CSV export.
func (f callFilter) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("use_case", f.UseCase)
	set("use_case_instance", f.UseCaseInstance)
	set("team", f.Team)
	set("user", f.User)
	set("model", f.Model)
	set("provider", f.Provider)
	set("error_kind", f.ErrorKind)
	set("tag", f.Tag)
	if f.Status != 0 {
		v.Set("status", strconv.Itoa(f.Status))
	}
	set("range", f.Range)
	set("from", f.FromText)
	set("to", f.ToText)
	if f.FromText != "" || f.ToText != "" {
		set("tz", f.TZ)
	}
	if f.Limit != 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	set("cursor", f.Cursor)
	return v
}

// Filtered reports whether f narrows the list at all (time included).
func (f callFilter) Filtered() bool {
	g := f
	g.Cursor, g.Limit, g.TZ = "", 0, ""
	return len(g.values()) > 0
}

// parseWindow reads a filter's time window: from and to days in the time
// zone tz (UTC when empty), or else a preset range out of ranges (""
// and "all" mean none; names lists them for the error). It returns the
// bounds and the range in force ("" when from or to were given).
func parseWindow(tz, fromText, toText, rng string, ranges map[string]time.Duration, names string, now time.Time) (from, to time.Time, _ string, err error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return from, to, rng, fmt.Errorf("%w: unknown time zone %q", errFilter, tz)
		}
		loc = l
	}
	if from, err = parseBound(fromText, loc, false); err != nil {
		return from, to, rng, fmt.Errorf("%w: from: %w", errFilter, err)
	}
	if to, err = parseBound(toText, loc, true); err != nil {
		return from, to, rng, fmt.Errorf("%w: to: %w", errFilter, err)
	}
	switch {
	case fromText != "" || toText != "", rng == "" || rng == "all":
		rng = ""
	default:
		d, ok := ranges[rng]
		if !ok {
			return from, to, rng, fmt.Errorf("%w: unknown range %q (%s)", errFilter, rng, names)
		}
		from = now.Add(-d)
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return from, to, rng, fmt.Errorf("%w: the range ends before it starts", errFilter)
	}
	return from, to, rng, nil
}

package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/pricing"
	"github.com/weirhq/weir/internal/store"
)

// navItem is one entry of the navigation. Pages of the dashboard issue
// that are not built yet are simply absent.
type navItem struct {
	Name, Path string
}

// nav lists the pages, in the order the navigation shows them.
var nav = []navItem{
	{"Overview", Prefix},
	{"Use cases", Prefix + "usecases"},
	{"Calls", Prefix + "calls"},
	{"Latency", Prefix + "latency"},
	{"Providers", Prefix + "providers"},
	{"Costs", Prefix + "costs"},
	{"Limits", Prefix + "limits"},
	{"Settings", Prefix + "settings"},
	{"Evaluation", Prefix + "evaluation"},
	{"Drift", Prefix + "drift"},
	{"Review", Prefix + "review"},
}

// pages are the parsed page templates, each with the layout.
type pages map[string]*template.Template

// parsePages parses every templates/*.html but the layout and partials
// into its own set together with them.
func parsePages() (pages, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("parse dashboard layout: %w", err)
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := pages{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, fmt.Errorf("parse dashboard page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// view is what every page template gets.
type view struct {
	Title string
	// Active is the Path of the nav item the page belongs to.
	Active string
	Nav    []navItem
	// Viewer is nil on pages shown before sign-in.
	Viewer *viewer
	Data   any
}

// render writes page name with the layout (or only its block named
// block, for htmx, when block is not empty).
func (d *Dashboard) render(w http.ResponseWriter, status int, name, block string, v view) {
	t := d.pages[name]
	if t == nil {
		d.log.Error("no dashboard template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if v.Nav == nil {
		v.Nav = d.navFor(v.Viewer)
	}
	if block == "" {
		block = "layout"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, v); err != nil {
		d.log.Error("render dashboard page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "HX-Request, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage shows msg with status.
func (d *Dashboard) errorPage(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	d.render(w, status, "error", "", view{Title: http.StatusText(status), Viewer: v, Data: struct {
		Status  int
		Message string
	}{status, msg}})
}

var funcs = template.FuncMap{
	"when":     when,
	"money":    money,
	"amount":   func(a store.Amount) string { return "$" + a.Format(2) },
	"amountp":  ucAmountPrecise,
	"ms":       ms,
	"msp":      func(p *float64) string { return msPtr(p) },
	"count":    count,
	"percent":  func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"statusOK": func(s int, kind string) bool { return s < 400 && kind == "" },
	"with":     withParam,
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"int64":    func(n int) int64 { return int64(n) },
	"inc":      func(n int) int { return n + 1 },
	"addf":     func(a, b float64) float64 { return a + b },
	"fixed":    func(f float64, places int) string { return strconv.FormatFloat(f, 'f', places, 64) },
	// query is "?" and the encoded values ("" for none): write it right
	// after a path, where html/template keeps its ? = and & as they are.
	"query": encodeQuery,
}

// when renders t in a <time> element: the UTC time as text (what a
// browser without JavaScript shows) and the instant in datetime, which
// static/app.js formats in the viewer's time zone.
func when(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339Nano) + `">` + u.Format("2006-01-02 15:04:05") + ` UTC</time>`)
}

// money formats a call's cost to Weir's display precision (micro-dollars);
// nil is an unpriced call.
func money(m *pricing.Money) string {
	if m == nil {
		return "unpriced"
	}
	return "$" + m.String()
}

// ms formats milliseconds for people: 850 ms, 1.24 s, 2 min 3 s.
func ms(v float64) string {
	switch {
	case v < 0:
		return "—"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case v < 60_000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	}
	m := int(v / 60_000)
	return fmt.Sprintf("%d min %d s", m, int(v/1000)-m*60)
}

func msPtr(p *float64) string {
	if p == nil {
		return "—"
	}
	return ms(*p)
}

// count formats n with thousands separators.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// withParam returns the query q with key set to value (removed when value
// is empty) and the cursor dropped unless key is the cursor: what a link
// that changes one filter needs.
func withParam(q url.Values, key, value string) string {
	n := url.Values{}
	for k, vs := range q {
		if k != "cursor" || key == "cursor" {
			n[k] = vs
		}
	}
	if value == "" {
		n.Del(key)
	} else {
		n.Set(key, value)
	}
	if len(n) == 0 {
		return ""
	}
	return "?" + n.Encode()
}

func queryEscape(s string) string { return url.QueryEscape(s) }

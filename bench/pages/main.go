// Command pages measures how fast the dashboard renders over a store
// filled by `weir seed`: the bar is every page under 300 ms with
// 10 million recorded calls.
//
//	weir seed --calls 10000000 --data /tmp/seed10m     # once: about 20 minutes
//	go run ./bench/pages -data /tmp/seed10m            # writes bench/results/pages-<time>.json and pages-latest.md
//
// It serves Weir over the data directory in-process on a loopback
// listener, background loops included (no people: the dashboard's open
// mode sees everything as an admin), waits for the use case reports it
// keeps warm, crawls the dashboard from /ui/ (every page the navigation links
// to, and one of each kind of page they link to: a use case, an instance,
// a call), then requests each page -n times after a warm-up and reports
// the median, 95th percentile and maximum time of each (over loopback).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/weirhq/weir/internal/app"
	"github.com/weirhq/weir/internal/config"
)

type pageResult struct {
	URL    string  `json:"url"`
	Kind   string  `json:"kind"`
	Status int     `json:"status"`
	Bytes  int     `json:"bytes"`
	P50Ms  float64 `json:"p50_ms"`
	P95Ms  float64 `json:"p95_ms"`
	MaxMs  float64 `json:"max_ms"`
	Runs   int     `json:"runs"`
	Over   bool    `json:"over_budget"`
}

type report struct {
	Started  time.Time    `json:"started"`
	Data     string       `json:"data"`
	DBBytes  int64        `json:"db_bytes"`
	Calls    int64        `json:"calls"`
	GoMax    int          `json:"gomaxprocs"`
	BudgetMs float64      `json:"budget_ms"`
	Pages    []pageResult `json:"pages"`
}

func main() {
	data := flag.String("data", "", "data directory written by weir seed (required)")
	n := flag.Int("n", 15, "timed requests per page")
	out := flag.String("out", "bench/results", "directory for the results")
	budget := flag.Float64("budget", 300, "the per-page budget in ms, flagged in the report")
	flag.Parse()
	if *data == "" {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/pages -data DIR [-n N] [-out DIR]")
		os.Exit(2)
	}
	if err := run(*data, *n, *out, *budget); err != nil {
		fmt.Fprintln(os.Stderr, "pages:", err)
		os.Exit(1)
	}
}

func run(data string, n int, out string, budget float64) error {
	ctx := context.Background()
	cfg, err := config.FromEnv(func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	cfg.DataDir = data
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opened := time.Now()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "opened %s in %s\n", data, time.Since(opened).Round(time.Millisecond))
	// Weir serves as it does in production (its background loops too: the
	// use case reports it keeps warm), on a loopback listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	ready := make(chan string, 1)
	go func() { served <- a.ServeListener(sctx, ln, func(addr string) { ready <- addr }) }()
	base := "http://" + <-ready
	defer func() { stop(); <-served }()
	rep := report{Started: time.Now().UTC(), Data: data, GoMax: runtime.GOMAXPROCS(0), BudgetMs: budget}
	if fi, err := os.Stat(filepath.Join(data, "weir.db")); err == nil {
		rep.DBBytes = fi.Size()
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	get := func(u string) (int, string, time.Duration) {
		start := time.Now()
		resp, err := client.Get(base + u)
		if err != nil {
			return 0, err.Error(), time.Since(start)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b), time.Since(start)
	}
	// Wait for the first warm-up of the use case reports: a report part
	// says "as of" once it is served from the kept ones.
	if warm := firstReport(get); warm != "" {
		w0 := time.Now()
		for deadline := w0.Add(15 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
			if _, body, _ := get(warm); strings.Contains(body, "report figures are as of") {
				break
			}
		}
		fmt.Fprintf(os.Stderr, "reports kept warm after %s\n", time.Since(w0).Round(time.Second))
	}
	for _, u := range crawl(get) {
		code, body, _ := get(u) // warm-up
		var times []float64
		for range n {
			_, _, d := get(u)
			times = append(times, float64(d.Microseconds())/1000)
		}
		slices.Sort(times)
		r := pageResult{URL: u, Kind: kind(u), Status: code, Bytes: len(body), Runs: n,
			P50Ms: times[len(times)/2], P95Ms: times[min(len(times)-1, int(float64(len(times))*0.95))], MaxMs: times[len(times)-1]}
		r.Over = r.P95Ms > budget
		rep.Pages = append(rep.Pages, r)
		fmt.Fprintf(os.Stderr, "%-60s %3d  p50 %8.1f ms  p95 %8.1f ms  max %8.1f ms\n", u, code, r.P50Ms, r.P95Ms, r.MaxMs)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	name := filepath.Join(out, "pages-"+rep.Started.Format("20060102T150405Z")+".json")
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(name, append(b, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "Dashboard pages over %s (%.1f GB), run %s, GOMAXPROCS %d, %d timed requests each after one warm-up ([%s](%s)).\n\n",
		data, float64(rep.DBBytes)/1e9, rep.Started.Format("2006-01-02 15:04 UTC"), rep.GoMax, n, filepath.Base(name), filepath.Base(name))
	md.WriteString("| page | status | p50 ms | p95 ms | max ms | under budget |\n|---|---|---|---|---|---|\n")
	for _, r := range rep.Pages {
		ok := "yes"
		if r.Over {
			ok = "**no**"
		}
		fmt.Fprintf(&md, "| `%s` | %d | %.1f | %.1f | %.1f | %s |\n", r.URL, r.Status, r.P50Ms, r.P95Ms, r.MaxMs, ok)
	}
	if err := os.WriteFile(filepath.Join(out, "pages-latest.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "wrote", name)
	return nil
}

// hrefRE finds links and the parts a page loads by htmx after it
// renders (hx-get), which count as the page's too.
var hrefRE = regexp.MustCompile(`(?:href|hx-get)="(/ui/[^"#]*)"`)

// crawl returns the pages to measure: /ui/, every page it links to, and
// the first link of each new kind found on those (a use case, an
// instance, a call), breadth first, at most 60.
func crawl(get func(string) (int, string, time.Duration)) []string {
	seen := map[string]bool{"/ui/": true}
	kinds := map[string]bool{kind("/ui/"): true}
	queue := []string{"/ui/"}
	var out []string
	for len(queue) > 0 && len(out) < 60 {
		u := queue[0]
		queue = queue[1:]
		code, body, _ := get(u)
		out = append(out, u)
		if code != http.StatusOK {
			continue
		}
		for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
			l := strings.ReplaceAll(m[1], "&amp;", "&")
			if seen[l] || skip(l) {
				continue
			}
			seen[l] = true
			k := kind(l)
			if kinds[k] {
				continue
			}
			kinds[k] = true
			queue = append(queue, l)
		}
	}
	return out
}

func skip(u string) bool {
	for _, p := range []string{"/ui/static/", "/ui/logout", "/ui/login", "/ui/password"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return strings.Contains(u, ".csv")
}

// kind is a page's path with its variable segments and query removed:
// /ui/calls/abc → /ui/calls/{}, /ui/calls?x=y&a=b → /ui/calls?a&x.
func kind(u string) string {
	path, q, _ := strings.Cut(u, "?")
	segs := strings.Split(strings.TrimPrefix(path, "/ui/"), "/")
	for i := 1; i < len(segs); i++ {
		if i%2 == 1 {
			segs[i] = "{}"
		}
	}
	k := "/ui/" + strings.Join(segs, "/")
	if q != "" {
		// The query's parameter names: ?report=1 is another part of a
		// page than ?range=7d.
		vals, _ := url.ParseQuery(q)
		var names []string
		for n := range vals {
			names = append(names, n)
		}
		slices.Sort(names)
		k += "?" + strings.Join(names, "&")
	}
	return k
}

var useCaseRE = regexp.MustCompile(`href="(/ui/usecases/[^"/?#]+)"`)

// firstReport is the 30-day report part of the first use case the use
// case list links to ("" when none).
func firstReport(get func(string) (int, string, time.Duration)) string {
	_, body, _ := get("/ui/usecases")
	m := useCaseRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1] + "?range=30d&report=1"
}

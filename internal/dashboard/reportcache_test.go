package dashboard

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWarmReports: with ReportRefresh set, the refresher computes the
// reports of every defined use case over the warm ranges, and the page
// shows a kept one (saying when it was made) with the same figures as a
// report made for the page; a team viewer's report is made for the page.
func TestWarmReports(t *testing.T) {
	e := newValueEnv(t, true)
	fresh := get(t, e.env, "/ui/usecases/support-reply?range=7d&report=1", "admin-secret", http.StatusOK)
	if strings.Contains(fresh, "as of") {
		t.Fatal("a kept report without ReportRefresh")
	}
	e.d.opt.ReportRefresh = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.d.RefreshReports(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.d.reports.mu.Lock()
		n := len(e.d.reports.m)
		e.d.reports.mu.Unlock()
		if n >= 4*len(warmRanges) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	kept := get(t, e.env, "/ui/usecases/support-reply?range=7d&report=1", "admin-secret", http.StatusOK)
	if !strings.Contains(kept, "These report figures are as of") {
		t.Fatal("the page did not show the kept report")
	}
	// The same figures: the report section without the "as of" line.
	section := func(body string) string {
		i := strings.Index(body, `id="report"`)
		if i < 0 {
			t.Fatalf("no report section: %.300s", body)
		}
		s := body[i:]
		if j := strings.Index(s, `<p class="small muted">These report figures are as of`); j >= 0 {
			k := strings.Index(s[j:], "</p>") + len("</p>")
			s = s[:j] + s[j+k:]
		}
		return s
	}
	if a, b := section(fresh), section(kept); stripSpace(a) != stripSpace(b) {
		t.Errorf("a kept report differs from a fresh one:\n%.800s\n---\n%.800s", a, b)
	}
	// A team's viewer gets the report kept for their team (the same as one
	// made for their page).
	team := get(t, e.env, "/ui/usecases/support-reply?range=7d&report=1", "cx-secret", http.StatusOK)
	e.d.opt.ReportRefresh = 0 // made for the page
	teamFresh := get(t, e.env, "/ui/usecases/support-reply?range=7d&report=1", "cx-secret", http.StatusOK)
	if !strings.Contains(team, "as of") || stripSpace(section(team)) != stripSpace(section(teamFresh)) {
		t.Errorf("team cx's kept report:\n%.600s\nfresh:\n%.600s", section(team), section(teamFresh))
	}
}

func stripSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

package recorder

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/internal/record"
	"github.com/weirhq/weir/internal/store"
	"github.com/weirhq/weir/internal/store/sqlite"
)

const (
	helperEnv      = "WEIR_RECORDER_CRASH_HELPER"
	helperStartEnv = "WEIR_RECORDER_CRASH_START"
)

// TestHelperProcess is the child of TestCrash: it records calls as fast as
// it can, printing a line after each, until the parent kills it.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	start, _ := strconv.Atoi(os.Getenv(helperStartEnv))
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "weir.db"), sqlite.Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	r, err := Open(ctx, filepath.Join(dir, "journal"), s, Options{QueueSize: 64, BatchSize: 32, BatchDelay: time.Millisecond, SegmentSize: 256 << 10}, nil)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := start + g; i < start+4_000_000; i += 4 {
				b := begin(i)
				if err := r.Begin(&b); err != nil {
					fmt.Println("ERROR", err)
					os.Exit(1)
				}
				kind := "b"
				if i%7 != 3 {
					c := call(i)
					if err := r.Finish(&c); err != nil {
						fmt.Println("ERROR", err)
						os.Exit(1)
					}
					kind = "f"
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "CALL %s %d\n", kind, i) // unbuffered: one write(2)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	select {} // never reached in practice: the parent kills us first
}

// TestCrash kills a recording process with SIGKILL mid-stream, twice, then
// checks that every call it reported is in the store exactly once: finished
// calls complete, begun-only calls as interrupted.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	reported := map[int]string{} // call -> "f" or "b"
	for round, start := range []int{0, 50_000_000} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir, helperStartEnv+"="+strconv.Itoa(start))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := 3000 + 2000*round
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "ERROR") {
				t.Fatalf("helper: %s", line)
			}
			kind, num, ok := strings.Cut(strings.TrimPrefix(line, "CALL "), " ")
			if !ok {
				continue
			}
			i, err := strconv.Atoi(num)
			if err != nil {
				t.Fatalf("helper line %q", line)
			}
			reported[i] = kind
			n++
			if n == killAt {
				if err := cmd.Process.Kill(); err != nil { // SIGKILL
					t.Fatal(err)
				}
			}
		}
		err = cmd.Wait()
		if n < killAt {
			t.Fatalf("round %d: helper printed %d lines and exited (%v) before the kill", round, n, err)
		}
		t.Logf("round %d: killed with SIGKILL after reading %d lines; %d lines printed in all (%v)", round, killAt, n, err)
	}

	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "weir.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := countAll(t, s)
	r := openRec(t, filepath.Join(dir, "journal"), s, Options{BatchDelay: time.Millisecond})
	st := r.Stats()
	closeRec(t, r)

	stored := map[string]record.Record{}
	q := store.RequestQuery{Limit: store.MaxLimit}
	for {
		p, err := s.ListRequests(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range p.Requests {
			if _, dup := stored[rec.ID]; dup {
				t.Errorf("%s listed twice", rec.ID)
			}
			stored[rec.ID] = rec
		}
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
	}
	var finished, interrupted, extraFinished, extraInterrupted int
	for i, kind := range reported {
		_, ok := stored[call(i).ID]
		var rec record.Record
		if ok {
			rec, err = s.GetRequest(ctx, call(i).ID) // with bodies
			if err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case !ok:
			t.Errorf("call %d (%s) reported but not stored", i, kind)
		case kind == "f" && (rec.ErrorKind != "" || rec.Status != 200 || rec.Response != "ok"):
			t.Errorf("finished call %d stored as %+v", i, rec)
		case kind == "b" && (rec.ErrorKind != ErrorKindInterrupted || rec.Status != 0 || rec.Request != begin(i).Request):
			t.Errorf("begun call %d stored as %+v", i, rec)
		case kind == "f":
			finished++
		default:
			interrupted++
		}
	}
	// Calls the child did but had not reported when it died.
	for id, rec := range stored {
		i, err := strconv.Atoi(strings.TrimPrefix(id, "call-"))
		if err != nil {
			t.Errorf("unexpected record %q", id)
			continue
		}
		if _, ok := reported[i]; ok {
			continue
		}
		switch {
		case rec.ErrorKind == ErrorKindInterrupted:
			extraInterrupted++
		case i%7 == 3:
			t.Errorf("begun-only call %d stored as finished", i)
		default:
			extraFinished++
		}
	}
	t.Logf("reported: %d finished, %d begun only; in the store before replay: %d; replay: %d finished entries, %d interrupted; "+
		"stored: %d finished and %d interrupted as reported, plus %d finished and %d interrupted done but unreported at the kill",
		finished, interrupted, before, st.Replayed, st.Interrupted, finished, interrupted, extraFinished, extraInterrupted)
}

func countAll(t *testing.T, s *sqlite.Store) int {
	t.Helper()
	n := 0
	q := store.RequestQuery{Limit: store.MaxLimit}
	for {
		p, err := s.ListRequests(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Requests)
		if p.NextCursor == "" {
			return n
		}
		q.Cursor = p.NextCursor
	}
}

// Package apptest runs the real weir binary for end-to-end tests: it builds
// cmd/weir once, starts `weir mock` and `weir serve` as child processes on
// loopback ports, and stops them (gracefully, or with SIGKILL for crash
// tests). Only tests import it.
package apptest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/weir once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(file))
		dir, err := os.MkdirTemp("", "weir-apptest-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "weir")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/weir")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/weir: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// FreeAddr returns a loopback address that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Process is a running weir command.
type Process struct {
	Addr string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start runs `weir args...` with env added to the environment, waits until
// GET http://addr/healthPath answers, and stops the process when the test
// ends.
func Start(t testing.TB, addr, healthPath string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{Addr: addr, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(Binary(t), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + healthPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("weir %s exited early: %v\n%s", strings.Join(args, " "), p.err, p.out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("weir %s not ready after 30s\n%s", strings.Join(args, " "), p.out)
		}
	}
}

// Output is what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Stop sends SIGTERM and waits up to 20s for a clean exit.
func (p *Process) Stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("weir did not stop within 20s of SIGTERM\n%s", p.out)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Mock starts `weir mock` with the given profile file ("" for the built-in
// models) and returns it.
func Mock(t testing.TB, profiles string) *Process {
	t.Helper()
	addr := FreeAddr(t)
	args := []string{"mock", "--listen", addr}
	if profiles != "" {
		args = append(args, "--config", profiles)
	}
	return Start(t, addr, "/v1/models", nil, args...)
}

// Gateway starts `weir serve` with config (YAML text; "{{mock}}" is
// replaced by the mock's base address, e.g. http://127.0.0.1:1234) in
// dataDir, and returns it.
func Gateway(t testing.TB, mock *Process, dataDir, config string, env ...string) *Process {
	t.Helper()
	addr := FreeAddr(t)
	config = strings.ReplaceAll(config, "{{mock}}", "http://"+mock.Addr)
	path := filepath.Join(t.TempDir(), "weir.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return Start(t, addr, "/healthz", env, "serve", "--config", path, "--listen", addr, "--data", dataDir)
}

// Context returns a context bounded by the test's deadline or a minute.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

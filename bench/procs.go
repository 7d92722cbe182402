package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// profilesYAML is the simulator configuration: no jitter anywhere, so the
// chunk schedule of a stream is the same on every request.
const profilesYAML = `# weir bench simulator profiles: deterministic, no jitter, no failures
seed: 1
models:
  zero:       # answers at once: measures pure relay overhead
    output_tokens: 16
  realistic:  # a typical small chat model
    ttft: 150ms
    itl: 10ms
    output_tokens: 64
  long:       # a slow stream that stays open for 100 s
    ttft: 50ms
    itl: 500ms
    output_tokens: 200
`

// gatewayConfigTemplate is weir's configuration: one OpenAI-compatible
// provider on the simulator; recorder and gateway defaults.
const gatewayConfigTemplate = `# weir bench gateway config: defaults except the one provider
providers:
  - name: openai
    type: openai
    base_url: {{mock}}/v1
    models: [zero, realistic, long]
`

// buildWeir compiles cmd/weir into dir.
func buildWeir(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "weir")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/weir")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/weir: %w\n%s", err, out)
	}
	return bin, nil
}

// process is a running weir child process.
type process struct {
	name    string
	addr    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// tail is the end of the process's log, for error messages.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// startProcess runs bin with args, logging to dir/name.log, and waits until
// GET http://addr/healthPath answers below 500.
func startProcess(ctx context.Context, name, bin, dir, addr, healthPath string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &process{name: name, addr: addr, logPath: logPath, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// The children die with the harness even if it is killed.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.err = p.cmd.Wait(); logFile.Close(); close(p.done) }()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + healthPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited early: %v\n%s", name, p.err, p.tail())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not ready after 30s\n%s", name, p.tail())
		}
	}
}

// stop sends SIGTERM and waits up to 20 s, then SIGKILL.
func (p *process) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within 20s of SIGTERM", p.name)
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// env is the simulator and the gateway in front of it.
type env struct {
	mock, weir    *process
	gatewayConfig string
}

func startEnv(ctx context.Context, bin, dir string) (*env, error) {
	profiles := filepath.Join(dir, "profiles.yaml")
	if err := os.WriteFile(profiles, []byte(profilesYAML), 0o600); err != nil {
		return nil, err
	}
	mockAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	m, err := startProcess(ctx, "mock", bin, dir, mockAddr, "/v1/models", "mock", "--listen", mockAddr, "--config", profiles)
	if err != nil {
		return nil, err
	}
	cfg := strings.ReplaceAll(gatewayConfigTemplate, "{{mock}}", "http://"+mockAddr)
	cfgPath := filepath.Join(dir, "weir.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		m.stop()
		return nil, err
	}
	weirAddr, err := freeAddr()
	if err != nil {
		m.stop()
		return nil, err
	}
	data := filepath.Join(dir, "data")
	w, err := startProcess(ctx, "weir", bin, dir, weirAddr, "/healthz", "serve", "--config", cfgPath, "--listen", weirAddr, "--data", data)
	if err != nil {
		m.stop()
		return nil, err
	}
	return &env{mock: m, weir: w, gatewayConfig: cfg}, nil
}

func (e *env) stop(logf func(string, ...any)) {
	for _, p := range []*process{e.weir, e.mock} {
		if err := p.stop(); err != nil {
			logf("%v", err)
		}
	}
}

// ProcStatus is the memory of a process, from /proc/PID/status, in bytes.
type ProcStatus struct {
	VmRSS   int64 `json:"vm_rss_bytes"`
	VmHWM   int64 `json:"vm_hwm_bytes"`
	Threads int   `json:"threads"`
}

func readProcStatus(pid int) (ProcStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcStatus{}, err
	}
	var st ProcStatus
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			st.VmRSS = n * 1024
		case "VmHWM":
			st.VmHWM = n * 1024
		case "Threads":
			st.Threads = int(n)
		}
	}
	if st.VmRSS == 0 {
		return st, errors.New("no VmRSS in /proc status")
	}
	return st, nil
}

// clockTick is USER_HZ, 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// readProcCPU is the user plus system CPU time a process has used, from
// /proc/PID/stat (10 ms resolution).
func readProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: fields start after
	// the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * clockTick, nil
}

// selfCPU is the CPU time the harness itself has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Machine describes where the numbers were taken.
type Machine struct {
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	CPUModel   string `json:"cpu_model"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	GitCommit  string `json:"git_commit"`
	GitDirty   bool   `json:"git_dirty"`
}

func machineInfo(ctx context.Context, root string) Machine {
	m := Machine{GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := gitOutput(ctx, root, "rev-parse", "HEAD"); err == nil {
		m.GitCommit = out
	}
	if out, err := gitOutput(ctx, root, "status", "--porcelain", "--untracked-files=no"); err == nil {
		m.GitDirty = out != ""
	}
	return m
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// machineBusy is the CPU time all processes have used, from /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, v := range f[1:8] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * clockTick
}

// loadAvg is the first field of /proc/loadavg.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

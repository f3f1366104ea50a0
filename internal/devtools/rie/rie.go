// Package rie runs a function's real bootstrap under AWS's own Runtime Interface Emulator
// (github.com/aws/aws-lambda-runtime-interface-emulator, cmd/aws-lambda-rie), in its classic
// mode (one invocation at a time, as Lambda on demand) or its managed-instances mode
// (AWS_LAMBDA_MAX_CONCURRENCY invocations at once in one process, as Lambda Managed Instances).
//
// The emulator is built from the module cache with `go install module@Version` into a
// directory of the caller's: it never enters this module's go.mod or a shipped binary.
package rie

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// Module and Version pin the emulator: a pseudo-version the module proxy serves.
const (
	Module  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	Version = "v0.0.0-20261030222936-bef5c4ba774d"
)

// invocations is the emulator's invoke path, the one Lambda's Invoke API uses.
const invocations = "/2015-03-31/functions/function/invocations"

// Build installs the emulator's command into dir and returns its path.
func Build(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "install", Module+"/cmd/aws-lambda-rie@"+Version)
	// Outside any module: `go install pkg@version` then reads only the emulator's own go.mod.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %v\n%s", Module, Version, err, strings.TrimSpace(string(out)))
	}
	return filepath.Join(dir, "aws-lambda-rie"), nil
}

// Emulator is one running emulator with its function process.
type Emulator struct {
	url    string
	cmd    *exec.Cmd
	output *testenv.SyncBuffer
	exited chan struct{}
	client *http.Client
	// unavailable counts the invocations refused for want of a free slot (managed instances).
	unavailable atomic.Int64
}

// Options are how the function is set up in the emulator.
type Options struct {
	// MaxConcurrency > 0 starts the managed-instances mode with that many invocations at once;
	// 0 is the classic mode.
	MaxConcurrency int
	// Timeout is the function's timeout (the deadline each invocation sees).
	Timeout time.Duration
	// MemoryMB is the function's memory size as the function reads it.
	MemoryMB int
}

// Start runs bootstrap under the emulator binary rieBin with env (and nothing else of this
// process's environment but PATH and HOME) and waits until it accepts invocations.
func Start(rieBin, bootstrap string, env []string, opt Options) (*Emulator, error) {
	addr, err := testenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	runtimeAddr, err := testenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	if opt.Timeout == 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.MemoryMB == 0 {
		opt.MemoryMB = 256
	}
	args := []string{rieBin, "--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAddr, "--log-level", "warn", bootstrap}
	if opt.MaxConcurrency > 0 {
		// The managed-instances mode runs a zip function's bootstrap from Lambda's own places
		// only (/var/runtime, /var/task, /opt; working directory /var/task), whatever the command
		// line names: in a mount namespace of its own, an empty /var gets the bootstrap's folder
		// as /var/task, so that two emulators can run two functions at once and nothing outside
		// the namespace changes.
		if _, err := exec.LookPath("unshare"); err != nil {
			return nil, fmt.Errorf("the managed-instances mode needs util-linux's unshare (apt-get install util-linux): %v", err)
		}
		ns := []string{"unshare", "--mount", "--propagation", "private"}
		if os.Geteuid() != 0 {
			ns = []string{"unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"}
		}
		args = append(append(ns, "--", "sh", "-c", `mount -t tmpfs tmpfs /var && mkdir /var/task && mount --bind "$0" /var/task && exec "$@"`, filepath.Dir(bootstrap)), args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"AWS_LAMBDA_FUNCTION_NAME=local",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(opt.Timeout/time.Second)),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(opt.MemoryMB),
	}, env...)
	if opt.MaxConcurrency > 0 {
		cmd.Env = append(cmd.Env, "AWS_LAMBDA_MAX_CONCURRENCY="+strconv.Itoa(opt.MaxConcurrency))
	}
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that Close ends the function with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &Emulator{url: "http://" + addr + invocations, cmd: cmd, output: out, exited: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}}
	go func() { cmd.Wait(); close(e.exited) }()
	for start := time.Now(); !listening(addr); time.Sleep(20 * time.Millisecond) {
		select {
		case <-e.exited:
			return nil, fmt.Errorf("the emulator exited on start:\n%s", out.String())
		default:
		}
		if time.Since(start) > 30*time.Second {
			e.Close()
			return nil, fmt.Errorf("the emulator does not listen on %s after 30 s:\n%s", addr, out.String())
		}
	}
	return e, nil
}

func listening(addr string) bool {
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// Invoke sends payload as one invocation and returns the emulator's answer: the function's
// response, or its error document with a non-200 status. In the managed-instances mode the
// emulator does not queue: with every slot of the process busy (or one just answered and not
// yet asking for more) it refuses at once with Runtime.Unavailable, where Lambda's router would
// pick another execution environment; Invoke then waits for a slot and sends it again, and
// counts it (Unavailable).
func (e *Emulator) Invoke(ctx context.Context, payload []byte) (status int, body []byte, err error) {
	for {
		status, body, err = e.post(ctx, payload)
		if err != nil || status != http.StatusBadRequest || !bytes.Contains(body, []byte(`"Runtime.Unavailable"`)) {
			return status, body, err
		}
		e.unavailable.Add(1)
		select {
		case <-ctx.Done():
			return status, body, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Unavailable is how many invocations the emulator refused for want of a free slot, and
// Invoke sent again.
func (e *Emulator) Unavailable() int64 { return e.unavailable.Load() }

func (e *Emulator) post(ctx context.Context, payload []byte) (status int, body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// PID is the emulator's process id; the function runs as its child.
func (e *Emulator) PID() int { return e.cmd.Process.Pid }

// Output is everything the emulator and the function printed so far.
func (e *Emulator) Output() string { return e.output.String() }

// FunctionPIDs are the processes the emulator started (the function's bootstrap), read from
// /proc.
func (e *Emulator) FunctionPIDs() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(e.cmd.Process.Pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Close ends the emulator and its function (the whole process group).
func (e *Emulator) Close() {
	syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	<-e.exited
}

// Package runtimeapi implements the documented AWS Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) well enough to run a real
// `bootstrap` binary outside AWS: the tests drive functions through it, and `make invoke` uses it
// to run one event, as `sam local invoke` would, without Docker.
package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

const prefix = "/2018-06-01/runtime/"

// Result is how one invocation ended.
type Result struct {
	RequestID string
	Payload   []byte // the function's response, when it succeeded
	Error     []byte // the function's error document, when it reported one
	// Late is how long after the invocation's deadline the answer arrived (0 when in time): on
	// Lambda, a late answer is lost to "Task timed out".
	Late time.Duration
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan Result
}

// Server is a Runtime API endpoint for one function process at a time.
type Server struct {
	ln      net.Listener
	srv     *http.Server
	queue   chan *invocation
	mu      sync.Mutex
	pending map[string]*invocation
	seq     int
	initErr []byte
	// polling counts the /invocation/next requests waiting for an event. A killed process's
	// request waits on until the server sees its connection close; an event handed to it then
	// would be lost, so Kill waits for it to go.
	polling atomic.Int32
}

// Start listens on a free loopback port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, queue: make(chan *invocation), pending: map[string]*invocation{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// InitError is what the function reported through /runtime/init/error, if anything.
func (s *Server) InitError() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initErr
}

// ErrTimeout is returned when the function did not answer by the deadline plus Grace, as Lambda
// would time the invocation out.
var ErrTimeout = errors.New("runtimeapi: invocation timed out")

// Grace is how long past its deadline a function's answer is still waited for. It absorbs a
// starved test machine (a race-instrumented harness under load has been seen to take over a
// second to read an answer), and it stays far below the minute-long stalls that the tests use to
// prove a function honours its deadline: a function that ignored it would answer a minute late.
const Grace = 10 * time.Second

// Invoke hands payload to the next /invocation/next call and waits for the function's answer.
// The function sees a deadline of timeout from now.
func (s *Server) Invoke(ctx context.Context, payload []byte, timeout time.Duration) (Result, error) {
	s.mu.Lock()
	s.seq++
	inv := &invocation{
		id:       fmt.Sprintf("%08d-0000-4000-8000-%012d", s.seq, s.seq),
		payload:  payload,
		deadline: time.Now().Add(timeout),
		done:     make(chan Result, 1),
	}
	s.pending[inv.id] = inv
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, inv.id)
		s.mu.Unlock()
	}()
	grace := time.NewTimer(timeout + Grace)
	defer grace.Stop()
	select {
	case s.queue <- inv:
	case <-grace.C:
		return Result{RequestID: inv.id}, fmt.Errorf("%w: the function never asked for the event", ErrTimeout)
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case r := <-inv.done:
		return r, nil
	case <-grace.C:
		return Result{RequestID: inv.id}, ErrTimeout
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 7<<20))
	switch {
	case path == "invocation/next" && r.Method == http.MethodGet:
		s.polling.Add(1)
		defer s.polling.Add(-1)
		select {
		case inv := <-s.queue:
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:local")
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
			h.Set("Content-Type", "application/json")
			w.Write(inv.payload)
		case <-r.Context().Done():
		}
	case path == "init/error" && r.Method == http.MethodPost:
		s.mu.Lock()
		s.initErr = body
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		s.mu.Lock()
		inv := s.pending[id]
		s.mu.Unlock()
		if inv == nil {
			http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		switch kind {
		case "response":
			inv.done <- Result{RequestID: id, Payload: body, Late: max(0, time.Since(inv.deadline))}
		case "error":
			inv.done <- Result{RequestID: id, Error: body, Late: max(0, time.Since(inv.deadline))}
		default:
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

// Process is a function binary running against a Server.
type Process struct {
	server *Server
	cmd    *exec.Cmd
	output *testenv.SyncBuffer
	exited chan struct{}
}

// StartProcess runs binary with env (plus AWS_LAMBDA_RUNTIME_API and the variables Lambda
// always sets); its stdout and stderr are kept for Output.
func (s *Server) StartProcess(binary string, env []string) (*Process, error) {
	cmd := exec.Command(binary)
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + s.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=local",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"PATH=" + os.Getenv("PATH"),
	}, env...)
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{server: s, cmd: cmd, output: out, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	return p, nil
}

// PID is the process id (to read its resource use from /proc).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// PeakRSS is the most resident memory the process has had so far (VmHWM), in bytes.
func (p *Process) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", p.PID())
}

// CPUTime is the CPU time the process has run so far, summed over its threads, in nanoseconds
// as the scheduler counts them (/proc/<pid>/stat counts in 10 ms ticks, too coarse for one
// request).
func (p *Process) CPUTime() time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", p.PID()))
	var ns int64
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that has just exited
		}
		if fields := strings.Fields(string(b)); len(fields) > 0 {
			n, _ := strconv.ParseInt(fields[0], 10, 64)
			ns += n
		}
	}
	return time.Duration(ns)
}

// Output is everything the process printed so far.
func (p *Process) Output() string { return p.output.String() }

// Kill ends the process at once (a crash, or the end of a test). It returns once the server has
// let go of the process's wait for an event, so the next event goes to the next process.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.exited
	for deadline := time.Now().Add(5 * time.Second); p.server.polling.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/rie"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// upstreamWait is how long the emulated upstream takes to answer: the order of a real
// recognition call, so that the function spends its life waiting, as it does deployed.
const upstreamWait = time.Second

// managedLevels are the requests in flight measured, each in a fresh process.
var managedLevels = []int{1, 16, 64, 256}

// procSample is a process's CPU time so far and its peak resident memory.
type procSample struct {
	cpu  time.Duration
	peak int64 // bytes
}

// readProc reads /proc/<pid>: utime+stime (in clock ticks of 1/100 s on Linux) and VmHWM.
func readProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	s := procSample{cpu: time.Duration(utime+stime) * 10 * time.Millisecond}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			s.peak = kb << 10
		}
	}
	return s, nil
}

type managedRow struct {
	inFlight, requests int
	wall               time.Duration
	fnCPU, rieCPU      time.Duration
	peak               int64
	failed             int
	busy               int64 // invocations the emulator refused at once for want of a free slot, sent again
}

// managedFigures runs the HTTPS function under AWS's Runtime Interface Emulator in its
// managed-instances mode (AWS_LAMBDA_MAX_CONCURRENCY), the upstream answering after 1 s, at each
// level of requests in flight, and reports throughput per CPU second and peak memory; the
// reference is the same binary at one request in flight, in the same run.
func managedFigures(dir string) string {
	head := "\n## Many requests in one process (Lambda Managed Instances)\n\n"
	ctx := context.Background()
	rieBin, err := rie.Build(ctx, dir)
	if err != nil {
		return head + "Not measured: " + err.Error() + "\n"
	}
	sub := filepath.Join(dir, "managed")
	check(os.MkdirAll(sub, 0o755))
	bin, err := testenv.Build(ctx, "github.com/recaptcha-recognizer/recognizer/functions/api", sub)
	check(err)
	memLimit, err := testenv.TemplateMemoryLimit("template.yaml")
	check(err)

	const tok = "bench-managed-token"
	emu := emulator.New(tok)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(upstreamWait)
		emu.ServeHTTP(w, r)
	})}
	go slow.Serve(ln)
	defer slow.Close()
	upstream := "http://" + ln.Addr().String() + emulator.Path

	ch := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 4, 8}, Seed: 61}
	body, _ := json.Marshal(map[string]string{"image": base64.StdEncoding.EncodeToString(ch.JPEG(90)), "question": "/m/0k4j"})
	payload, _ := json.Marshal(apiEvent("", "application/json", body, false))

	load, _ := os.ReadFile("/proc/loadavg")
	var rows []managedRow
	for _, level := range managedLevels {
		env := []string{"AWS_REGION=us-east-1", "AUTH_MODE=off", "RECOGNITION_TOKEN=" + tok, "RECOGNITION_API_URL=" + upstream, "GOMEMLIMIT=" + memLimit}
		em, err := rie.Start(rieBin, bin, env, rie.Options{MaxConcurrency: level, Timeout: 29 * time.Second, MemoryMB: 2048}) // a managed instance's environment
		check(err)
		row := managedRun(em, payload, level)
		em.Close()
		rows = append(rows, row)
	}

	var b strings.Builder
	b.WriteString(head)
	fmt.Fprintf(&b, "`make bench` (this section alone: `make bench-managed`). The HTTPS function's real `bootstrap` (built for this machine) under AWS's own Runtime Interface Emulator (`%s` at `%s`, `cmd/aws-lambda-rie`) in its managed-instances mode, `AWS_LAMBDA_MAX_CONCURRENCY` set to the requests in flight, `GOMEMLIMIT=%s` as deployed; the upstream emulator answers each request after %v, as a real recognition call takes about that long. Each request is a 300×300 JPEG in JSON (the common case); every answer is checked (status 200, tiles 0, 4, 8). Each level runs in a fresh process for %d rounds of its requests in flight (at least 64 requests). CPU is the function process's own user+system time from /proc (the emulator's is shown apart: deployed, it is Lambda's); peak memory is its VmHWM. The reference is the same binary at 1 in flight, in the same run.\n\n",
		rie.Module, rie.Version, memLimit, upstreamWait, managedRounds)
	b.WriteString("| in flight | requests | wall req/s | function CPU per request | requests per second per vCPU | ratio to 1 in flight | emulator CPU per request | function peak memory | failed | no free slot, sent again |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	ref := rows[0]
	perVCPU := func(r managedRow) float64 { return float64(r.requests) / r.fnCPU.Seconds() }
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d | %d | %.1f | %.2f ms | %.0f | %.2f× | %.2f ms | %.1f MB | %d | %d |\n", r.inFlight, r.requests,
			float64(r.requests)/r.wall.Seconds(), msOf(float64(r.fnCPU)/float64(r.requests)), perVCPU(r), perVCPU(r)/perVCPU(ref),
			msOf(float64(r.rieCPU)/float64(r.requests)), float64(r.peak)/(1<<20), r.failed, r.busy)
	}
	last := rows[len(rows)-1]
	verdict := "met"
	if last.peak >= 256<<20 || last.failed > 0 {
		verdict = "NOT met"
	}
	fmt.Fprintf(&b, "\nGoal: %d in flight in one process under 256 MB: **%s** (peak %.1f MB, %d failed). CPU time is counted in the kernel's 10 ms ticks, so a level's CPU per request is good to about 10 ms over its requests. Requests per second per vCPU is what one vCPU would carry if the function were the only thing on it and the upstream kept its 1 s: the waiting costs no CPU, so it is bounded by the work per request, not by the requests in flight. The emulator does not queue: an invocation that finds every slot busy (or a slot that has just answered and not yet asked for the next) is refused at once with Runtime.Unavailable, where Lambda's router would try another execution environment; the harness sends it again after 2 ms, and the last column counts those. The wall rate is bounded by this machine (%d CPUs, load average %s at the start), shared with the harness, the emulator and the upstream emulator, not by the function.\n",
		last.inFlight, verdict, float64(last.peak)/(1<<20), last.failed, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	return b.String()
}

// managedRounds is how many times each level's requests in flight are sent.
const managedRounds = 4

// managedRun keeps level requests in flight until managedRounds×level (at least 64) have been
// answered, and measures the function process and the emulator.
func managedRun(em *rie.Emulator, payload []byte, level int) managedRow {
	total := max(managedRounds*level, 64)
	// One request first, so that the process is up and the token read: a warm process is measured.
	if _, _, err := em.Invoke(context.Background(), payload); err != nil {
		fail("managed: warm-up: " + err.Error())
	}
	pids := em.FunctionPIDs()
	if len(pids) != 1 {
		fail(fmt.Sprintf("managed: %d function processes under the emulator", len(pids)))
	}
	fnBefore, err := readProc(pids[0])
	check(err)
	rieBefore, err := readProc(em.PID())
	check(err)
	busyBefore := em.Unavailable()
	var next, failed atomic.Int64
	var sample atomic.Value // the first failure, said on stderr
	var wg sync.WaitGroup
	start := time.Now()
	for range level {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				status, body, err := em.Invoke(context.Background(), payload)
				var resp struct {
					StatusCode int    `json:"statusCode"`
					Body       string `json:"body"`
				}
				if err != nil || status != 200 || json.Unmarshal(body, &resp) != nil || resp.StatusCode != 200 ||
					!strings.Contains(resp.Body, `"objects":[0,4,8]`) {
					failed.Add(1)
					sample.CompareAndSwap(nil, fmt.Sprintf("%d %s %v", status, body, err))
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if s := sample.Load(); s != nil {
		fmt.Fprintf(os.Stderr, "managed: %d in flight: %d of %d failed, the first: %s\n", level, failed.Load(), total, s)
	}
	fnAfter, err := readProc(pids[0])
	check(err)
	rieAfter, err := readProc(em.PID())
	check(err)
	return managedRow{inFlight: level, requests: total, wall: wall, fnCPU: fnAfter.cpu - fnBefore.cpu,
		rieCPU: rieAfter.cpu - rieBefore.cpu, peak: fnAfter.peak, failed: int(failed.Load()), busy: em.Unavailable() - busyBefore}
}

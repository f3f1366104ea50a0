//go:build e2e

package rie_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/rie"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// The managed-instances variant of the template (.ci/managed-instances.py): 2048 MB a process,
// GOMEMLIMIT three quarters of it, 64 invocations at once.
const (
	managedMemoryMB   = 2048
	managedGoMemLimit = "1536MiB"
	worstInFlight     = 64
	// peakBound is what one process of managedMemoryMB may reach with worstInFlight worst-case
	// bodies in flight: the collector's limit (GOMEMLIMIT) and 64 MB for the goroutines' stacks
	// and the runtime, 448 MB short of the environment's memory.
	peakBound = 1536<<20 + 64<<20
	// maxEvent is Lambda's limit on a synchronous invocation's payload: the event, its body
	// included (escaped as a JSON string, or base64).
	maxEvent = 6 << 20
)

// worstKind is one kind of worst-case request, and how to tell its answer when it is served.
type worstKind struct {
	name   string
	event  events.APIGatewayV2HTTPRequest
	served func(status int, body string) bool
}

// largest is the event of the largest body body(n) makes whose event fits in maxEvent.
func largest(event func(body []byte) events.APIGatewayV2HTTPRequest, body func(n int) []byte) events.APIGatewayV2HTTPRequest {
	n := maxEvent
	for {
		ev := event(body(n))
		payload, _ := json.Marshal(ev)
		if len(payload) <= maxEvent {
			return ev
		}
		n = n * (maxEvent - 4096) / len(payload)
	}
}

// repeated is head, then item with %d as its index until n bytes, then tail.
func repeated(head, item, tail string) func(n int) []byte {
	return func(n int) []byte {
		var b strings.Builder
		b.WriteString(head)
		for i := 0; b.Len() < n-len(tail)-16; i++ {
			b.WriteString(strings.ReplaceAll(item, "%d", strconv.Itoa(i)))
		}
		b.WriteString(tail)
		return []byte(b.String())
	}
}

// worstKinds are the costliest bodies of every front, each the largest whose event Lambda
// accepts: the largest picture of the native API near the body limit and the picture that takes
// the whole decode budget, a native body of one huge field, and the protocol bodies whose forms
// parse into many small values.
func worstKinds() []worstKind {
	photo := testimage.Challenge{Grid: 3, Tile: 800, Label: "/m/0k4j", Targets: []int{4}}
	costly := testimage.FlatJPEG{Width: 4096, Height: 4096, Components: 3, Subsampled: true}.Bytes()
	text := func(path, contentType string) func([]byte) events.APIGatewayV2HTTPRequest {
		return func(body []byte) events.APIGatewayV2HTTPRequest {
			return httpEvent("POST", path, "", contentType, body, false)
		}
	}
	protocolError := func(status int, body string) bool {
		return status == 200 && strings.Contains(body, "ERROR_") && !strings.Contains(body, "ERROR_NO_SLOT_AVAILABLE")
	}
	return []worstKind{
		{"native: photo near the body limit", jsonCall("/recognize", map[string]any{"image": b64(photo.JPEG(95)), "question": photo.Label, "grid": "3x3"}),
			func(status int, body string) bool {
				return status == 200 && check([]byte(body), &photo, "", "acedata") == ""
			}},
		{"native: the whole decode budget", httpEvent("POST", "/recognize", "question=cars&grid=3x3", "image/jpeg", costly, true),
			func(status int, body string) bool { return status == 200 && strings.Contains(body, `"solution"`) }},
		{"native: one field of the whole body", largest(text("/recognize", "application/json"), repeated(`{"image":"AAAA","question":"`, "a", `"}`)),
			func(status int, body string) bool {
				return status == 400 && check([]byte(body), nil, "unsupported_question") == ""
			}},
		{"res.php: ids", largest(text("/res.php", "application/x-www-form-urlencoded"), repeated("key=k&action=get&ids=1", ",1", "")), protocolError},
		{"in.php: JSON of many parameters", largest(text("/in.php", "application/json"), repeated(`{"key":"k","method":"base64","json":1`, `,"p%d":1`, "}")), protocolError},
		{"createTask: empty images", largest(text("/createTask", "application/json"),
			repeated(`{"clientKey":"k","task":{"type":"ComplexImageTask","class":"recaptcha","imagesBase64":[""`, `,""`, "]}}")), protocolError},
	}
}

// refused reports whether an answer is the budget's refusal in the front's own shape: the native
// 503 server_busy with Retry-After, or the protocols' ERROR_NO_SLOT_AVAILABLE.
func refused(resp events.APIGatewayV2HTTPResponse) bool {
	if resp.StatusCode == 503 {
		return check([]byte(resp.Body), nil, "server_busy") == "" && resp.Headers["retry-after"] == "1"
	}
	return resp.StatusCode == 200 && strings.Contains(resp.Body, "ERROR_NO_SLOT_AVAILABLE")
}

// peakRSS is a process's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// One process of the managed-instances variant (2048 MB, 64 invocations at once) gets 64
// worst-case bodies at once, of each kind in turn and then all kinds mixed, each run in a fresh
// process: every request is answered, served or refused by the memory budget in its front's
// own shape (never a crash, a 5xx of another kind or a lost invocation), and the process's peak
// stays under half its memory.
func TestManagedInstancesMemoryBudget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rieBin, err := rie.Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "api"), 0o755)
	bin, err := testenv.Build(ctx, module+"functions/api", filepath.Join(dir, "api"))
	if err != nil {
		t.Fatal(err)
	}
	emu := emulator.New(token)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The upstream answers after a second, as a real recognition does: served requests stay in
	// flight, holding what they hold while they wait.
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second)
		emu.ServeHTTP(w, r)
	})}
	go slow.Serve(ln)
	defer slow.Close()
	env := []string{"AWS_REGION=us-east-1", "AUTH_MODE=off", "RECOGNITION_TOKEN=" + token,
		"RECOGNITION_API_URL=http://" + ln.Addr().String() + emulator.Path, "GOMEMLIMIT=" + managedGoMemLimit}

	kinds := worstKinds()
	runs := [][]worstKind{}
	for _, k := range kinds {
		runs = append(runs, []worstKind{k})
	}
	runs = append(runs, kinds)
	for _, run := range runs {
		name := run[0].name
		if len(run) > 1 {
			name = "every kind, mixed"
		}
		t.Run(name, func(t *testing.T) {
			em, err := rie.Start(rieBin, bin, env, rie.Options{MaxConcurrency: worstInFlight, Timeout: maxLatency, MemoryMB: managedMemoryMB})
			if err != nil {
				t.Fatal(err)
			}
			defer em.Close()
			served, busy := burst(t, em, run)
			pids := em.FunctionPIDs()
			if len(pids) != 1 {
				t.Fatalf("%d function processes, want 1", len(pids))
			}
			peak := peakRSS(t, pids[0])
			t.Logf("%d in flight, bodies of %d bytes: %d served, %d refused (server_busy); peak RSS %.0f MB", worstInFlight, len(run[0].event.Body), served, busy, float64(peak)/(1<<20))
			if peak >= peakBound {
				t.Errorf("peak RSS %.0f MB, want under %d MB", float64(peak)/(1<<20), peakBound>>20)
			}
			if served == 0 {
				t.Errorf("nothing served: the budget refused every request")
			}
			if out := em.Output(); strings.Contains(out, "panic") || strings.Contains(out, "out of memory") {
				t.Errorf("the function panicked or ran out of memory:\n%.4000s", out)
			}
		})
	}
}

// burst sends worstInFlight requests at once, cycling through kinds, and counts those served and
// those refused by the budget; any other answer fails the test.
func burst(t *testing.T, em *rie.Emulator, kinds []worstKind) (served, busy int) {
	t.Helper()
	payloads := make([][]byte, len(kinds))
	for i, k := range kinds {
		payloads[i], _ = json.Marshal(k.event)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range worstInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			k := kinds[i%len(kinds)]
			status, body, err := em.Invoke(context.Background(), payloads[i%len(kinds)])
			var resp events.APIGatewayV2HTTPResponse
			if err == nil && status == 200 {
				err = json.Unmarshal(body, &resp)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil || status != 200:
				t.Errorf("%s: invoke: %d %.300s %v", k.name, status, body, err)
			case refused(resp):
				busy++
			case k.served(resp.StatusCode, resp.Body):
				served++
			default:
				t.Errorf("%s: neither served nor refused by the budget: %d %.300s", k.name, resp.StatusCode, resp.Body)
			}
		}()
	}
	close(start)
	wg.Wait()
	return served, busy
}

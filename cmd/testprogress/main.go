// Command testprogress turns `go test -json` into what a person waiting on a long suite wants:
// each package's verdict as it ends, every failing test's whole output, and every 30 seconds a
// line naming the tests still running, so minutes of end-to-end tests are never silent. It
// exits 1 when anything failed.
//
//	go test -json ./... | go run ./cmd/testprogress
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json), build events included.
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

type progress struct {
	out      io.Writer
	start    time.Time
	running  map[string]map[string]bool // package → running tests
	outputs  map[string][]string        // package/test → output lines
	failures []string
	passed   int
	module   string
}

func main() {
	every := flag.Duration("every", 30*time.Second, "how often to name what is still running")
	module := flag.String("module", "github.com/recaptcha-recognizer/recognizer/", "prefix to drop from package names")
	flag.Parse()
	p := &progress{out: os.Stdout, start: time.Now(), running: map[string]map[string]bool{}, outputs: map[string][]string{}, module: *module}
	events := make(chan event)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var e event
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				fmt.Fprintln(p.out, sc.Text()) // not JSON: a vet or build message, shown as it is
				continue
			}
			events <- e
		}
	}()
	tick := time.NewTicker(*every)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				os.Exit(p.summary())
			}
			p.handle(e)
		case <-tick.C:
			p.heartbeat()
		}
	}
}

func (p *progress) name(pkg string) string { return strings.TrimPrefix(pkg, p.module) }

func (p *progress) handle(e event) {
	key := e.Package + "/" + e.Test
	switch e.Action {
	case "build-output":
		p.outputs["build "+e.ImportPath] = append(p.outputs["build "+e.ImportPath], e.Output)
	case "build-fail":
		fmt.Fprintf(p.out, "BUILD FAIL %s\n%s", p.name(e.ImportPath), strings.Join(p.outputs["build "+e.ImportPath], ""))
		p.failures = append(p.failures, "build "+p.name(e.ImportPath))
	case "start":
		p.running[e.Package] = map[string]bool{}
	case "run":
		if p.running[e.Package] == nil {
			p.running[e.Package] = map[string]bool{}
		}
		p.running[e.Package][e.Test] = true
	case "output":
		p.outputs[key] = append(p.outputs[key], e.Output)
	case "pass", "fail", "skip":
		p.end(e, key)
	}
}

func (p *progress) end(e event, key string) {
	if e.Test != "" {
		delete(p.running[e.Package], e.Test)
		if e.Action == "fail" {
			fmt.Fprintf(p.out, "--- FAIL %s %s (%.1fs)\n%s", p.name(e.Package), e.Test, e.Elapsed, strings.Join(p.outputs[key], ""))
			p.failures = append(p.failures, p.name(e.Package)+" "+e.Test)
		}
		delete(p.outputs, key)
		return
	}
	delete(p.running, e.Package)
	switch e.Action {
	case "pass":
		p.passed++
		fmt.Fprintf(p.out, "ok   %-48s %6.1fs\n", p.name(e.Package), e.Elapsed)
	case "skip":
		fmt.Fprintf(p.out, "     %-48s (no tests)\n", p.name(e.Package))
	case "fail":
		// Output outside any test (a panic in TestMain, a timeout) is shown with the verdict.
		fmt.Fprintf(p.out, "FAIL %-48s %6.1fs\n%s", p.name(e.Package), e.Elapsed, strings.Join(p.outputs[key], ""))
		if !slices.ContainsFunc(p.failures, func(f string) bool { return strings.HasPrefix(f, p.name(e.Package)+" ") }) {
			p.failures = append(p.failures, p.name(e.Package))
		}
	}
	delete(p.outputs, key)
}

func (p *progress) heartbeat() {
	var parts []string
	for pkg, tests := range p.running {
		names := make([]string, 0, len(tests))
		for t := range tests {
			if !strings.Contains(t, "/") {
				names = append(names, t)
			}
		}
		slices.Sort(names)
		if len(names) > 3 {
			names = append(names[:3], fmt.Sprintf("+%d", len(names)-3))
		}
		parts = append(parts, p.name(pkg)+" ("+strings.Join(names, ", ")+")")
	}
	if len(parts) == 0 {
		// Test binaries are compiled before any test starts, which with -race takes minutes.
		fmt.Fprintf(p.out, "... %s: compiling test binaries (%d packages done)\n", time.Since(p.start).Round(time.Second), p.passed+len(p.failures))
		return
	}
	slices.Sort(parts)
	fmt.Fprintf(p.out, "... %s: still running %s\n", time.Since(p.start).Round(time.Second), strings.Join(parts, "; "))
}

func (p *progress) summary() int {
	took := time.Since(p.start).Round(time.Second)
	if len(p.failures) > 0 {
		fmt.Fprintf(p.out, "\nFAILED after %s: %s\n", took, strings.Join(p.failures, ", "))
		return 1
	}
	fmt.Fprintf(p.out, "\nall %d packages passed in %s\n", p.passed, took)
	return 0
}

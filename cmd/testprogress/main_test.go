package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFailuresAreShownWholeAndCounted(t *testing.T) {
	var out bytes.Buffer
	p := &progress{out: &out, start: time.Now(), running: map[string]map[string]bool{}, outputs: map[string][]string{}, module: "m/"}
	for _, e := range []event{
		{Action: "start", Package: "m/a"},
		{Action: "run", Package: "m/a", Test: "TestOK"},
		{Action: "run", Package: "m/a", Test: "TestBad"},
		{Action: "output", Package: "m/a", Test: "TestBad", Output: "    a_test.go:9: got 1, want 2\n"},
		{Action: "pass", Package: "m/a", Test: "TestOK"},
	} {
		p.handle(e)
	}
	p.heartbeat()
	if !strings.Contains(out.String(), "still running a (TestBad)") {
		t.Errorf("the heartbeat does not name the running test:\n%s", out.String())
	}
	p.handle(event{Action: "fail", Package: "m/a", Test: "TestBad", Elapsed: 1})
	p.handle(event{Action: "fail", Package: "m/a", Elapsed: 2})
	p.handle(event{Action: "start", Package: "m/b"})
	p.handle(event{Action: "pass", Package: "m/b", Elapsed: 1})
	if code := p.summary(); code != 1 {
		t.Errorf("summary exit code %d with a failure, want 1", code)
	}
	got := out.String()
	for _, want := range []string{"--- FAIL a TestBad", "got 1, want 2", "FAIL a ", "ok   b", "FAILED after"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "FAILED after 0s: a TestBad\n") != 1 {
		t.Errorf("the summary should name the failing test once, not the package again:\n%s", got)
	}
}

func TestBuildFailureFails(t *testing.T) {
	var out bytes.Buffer
	p := &progress{out: &out, start: time.Now(), running: map[string]map[string]bool{}, outputs: map[string][]string{}, module: "m/"}
	p.handle(event{Action: "build-output", ImportPath: "m/c [m/c.test]", Output: "c.go:1: syntax error\n"})
	p.handle(event{Action: "build-fail", ImportPath: "m/c [m/c.test]"})
	if p.summary() != 1 || !strings.Contains(out.String(), "syntax error") {
		t.Errorf("a build failure passed or was not shown:\n%s", out.String())
	}
}

func TestHeartbeatSpeaksWhileCompiling(t *testing.T) {
	var out bytes.Buffer
	p := &progress{out: &out, start: time.Now(), running: map[string]map[string]bool{}, outputs: map[string][]string{}, module: "m/"}
	p.heartbeat()
	if !strings.Contains(out.String(), "compiling test binaries (0 packages done)") {
		t.Errorf("a heartbeat with no test running printed %q; the compile phase must not be silent", out.String())
	}
}

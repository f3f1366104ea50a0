//go:build e2e

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/rie"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
)

// The project's own Runtime API (internal/devtools/runtimeapi, what make invoke and the tests
// use) held to AWS's: every events/ fixture, set up as make invoke sets it up, runs once through
// each, in a fresh process and on an emptied moto, and both give the same answer and write the
// same results. Only what is new per invocation differs (trace ids, and the request id they
// hold), and is blanked before the comparison.
func TestRuntimeAPIConformance(t *testing.T) {
	localShell(t)
	all, err := fixtures("../../events")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	rieBin, err := rie.Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	s := &session{cfg: repoConfig(all...), stdout: io.Discard, stderr: &log, dir: dir, bins: map[string]string{}, said: map[string]bool{}}
	defer s.close()
	functions := map[string]bool{}
	for _, path := range all {
		f, err := readFixture(path, "")
		if err != nil {
			t.Fatal(err)
		}
		functions[f.function] = true
		name := filepath.Base(path)
		timeout, err := templateTimeout("../../template.yaml", logicalIDs[f.function])
		if err != nil {
			t.Fatal(err)
		}
		ours, oursResults := conformanceRun(t, s, f, func(bin string, e env) []byte {
			rt, err := runtimeapi.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			proc, err := rt.StartProcess(bin, e.list())
			if err != nil {
				t.Fatal(err)
			}
			defer proc.Kill()
			res, err := rt.Invoke(ctx, f.event, timeout)
			if err != nil || res.Error != nil {
				t.Fatalf("%s through our Runtime API: %v %s\n%s", name, err, res.Error, proc.Output())
			}
			return res.Payload
		})
		theirs, theirsResults := conformanceRun(t, s, f, func(bin string, e env) []byte {
			em, err := rie.Start(rieBin, bin, e.list(), rie.Options{Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			defer em.Close()
			status, body, err := em.Invoke(ctx, f.event)
			if err != nil || status != 200 {
				t.Fatalf("%s through AWS's emulator: %d %s %v\n%s", name, status, body, err, em.Output())
			}
			return body
		})
		if ours != theirs {
			t.Errorf("%s: the answers differ\nour Runtime API: %s\nAWS's emulator:  %s", name, ours, theirs)
		}
		if oursResults != theirsResults {
			t.Errorf("%s: the results written differ\nour Runtime API: %s\nAWS's emulator:  %s", name, oursResults, theirsResults)
		}
		if f.function == "api" && !strings.Contains(ours, `"statusCode":200`) {
			t.Errorf("%s: not a 200, so the comparison proves little: %s", name, ours)
		}
		if f.function == "s3event" && !strings.Contains(oursResults, `"solution"`) {
			t.Errorf("%s: no solution written, so the comparison proves little: %s", name, oursResults)
		}
	}
	if !functions["api"] || !functions["s3event"] {
		t.Errorf("the fixtures do not cover both functions: %v", functions)
	}
	if t.Failed() {
		t.Logf("set-up:\n%s", log.String())
	}
}

// conformanceRun sets f up afresh (moto emptied, its objects put), runs it with invoke, and
// returns the answer and the results it wrote, each with what is new per invocation blanked.
func conformanceRun(t *testing.T, s *session, f fixture, invoke func(bin string, e env) []byte) (answer, results string) {
	t.Helper()
	ctx := context.Background()
	e, err := s.environment(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := s.binary(ctx, f.function)
	if err != nil {
		t.Fatal(err)
	}
	payload := invoke(bin, e)
	var r report
	if f.function == "api" {
		s.checkAnswer(ctx, &r, payload, e)
	} else {
		s.checkResults(ctx, &r, f, e)
	}
	written := map[string]any{}
	for url, body := range r.results {
		written[blankTraces(url)] = normalized(t, body)
	}
	return canonical(t, normalized(t, payload)), canonical(t, written)
}

// traceKeys hold what is new per invocation (traces, and timings, which vary run to run).
var traceKeys = map[string]bool{"trace_id": true, "x-trace-id": true, "result": true, "timing": true}

// normalized decodes a JSON document, and the JSON documents inside its strings (an HTTP API
// response's body), with every trace blanked.
func normalized(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	return blank(v)
}

func blank(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, inner := range x {
			if traceKeys[strings.ToLower(k)] {
				x[k] = "(per invocation)"
			} else {
				x[k] = blank(inner)
			}
		}
	case []any:
		for i := range x {
			x[i] = blank(x[i])
		}
	case string:
		var inner any
		if strings.HasPrefix(x, "{") && json.Unmarshal([]byte(x), &inner) == nil {
			return blank(inner)
		}
	}
	return v
}

// blankTraces blanks a trace id inside a stored answer's URL (STORE_PREFIX<trace_id>.json).
func blankTraces(url string) string {
	if i := strings.LastIndex(url, "/"); i >= 0 && strings.Contains(url, "/stored/") {
		return url[:i+1] + "(per invocation).json"
	}
	return url
}

func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v) // map keys sorted
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

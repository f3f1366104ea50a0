package main

import (
	"errors"
	"strings"
	"testing"
)

func TestListIsWellFormed(t *testing.T) {
	if err := check(List); err != nil {
		t.Fatal(err)
	}
	if len(List) < 40 {
		t.Fatalf("%d mutations; the list keeps at least 40", len(List))
	}
}

func TestCheckFindsListMistakes(t *testing.T) {
	ok := Mutation{ID: "a", File: "x.go", From: "1", To: "2", Why: "w"}
	for name, list := range map[string][]Mutation{
		"repeated id":     {ok, ok},
		"no-op":           {{ID: "a", File: "x.go", From: "1", To: "1", Why: "w"}},
		"missing why":     {{ID: "a", File: "x.go", From: "1", To: "2"}},
		"outside module":  {{ID: "a", File: "../x.go", From: "1", To: "2", Why: "w"}},
		"absolute path":   {{ID: "a", File: "/x.go", From: "1", To: "2", Why: "w"}},
		"missing from":    {{ID: "a", File: "x.go", To: "2", Why: "w"}},
		"missing file":    {{ID: "a", From: "1", To: "2", Why: "w"}},
		"missing id":      {{File: "x.go", From: "1", To: "2", Why: "w"}},
		"one bad of many": {ok, {ID: "b", File: "x.go", From: "1", To: "1", Why: "w"}},
	} {
		if check(list) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := check([]Mutation{ok}); err != nil {
		t.Errorf("a good entry: %v", err)
	}
}

func TestMutate(t *testing.T) {
	m := Mutation{From: "a < b", To: "a <= b"}
	if got, err := mutate("if a < b {", m); err != nil || got != "if a <= b {" {
		t.Errorf("once: %q, %v", got, err)
	}
	if _, err := mutate("if a > b {", m); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("absent: %v, want stale", err)
	}
	if _, err := mutate("a < b && a < b", m); err == nil || !strings.Contains(err.Error(), "2 times") {
		t.Errorf("twice: %v, want stale", err)
	}
}

func TestVerdict(t *testing.T) {
	fail := errors.New("exit status 1")
	for _, c := range []struct {
		err        error
		out        string
		verdict    string
		detailPart string
	}{
		{nil, "ok  \tpkg\t0.1s\n", Survived, ""},
		{fail, "--- FAIL: TestSmall (0.00s)\n    x_test.go:3: got 1\nFAIL\nFAIL\tpkg\t0.1s\n", Killed, "TestSmall"},
		{fail, "    --- FAIL: TestTable/case_1 (0.00s)\n", Killed, "TestTable/case_1"},
		{fail, "# pkg\n./x.go:3:2: undefined: y\nFAIL\tpkg [build failed]\n", Broken, "# pkg"},
		{fail, "FAIL\tpkg [setup failed]\n", Broken, "setup failed"},
		{fail, "panic: test timed out after 1m0s\n", Killed, "timed out"},
		{fail, "panic: runtime error: index out of range\n", Killed, "panic"},
		{fail, "FAIL\tpkg\t0.1s\n", Killed, "tests failed"},
	} {
		v, d := verdict(c.err, []byte(c.out))
		if v != c.verdict || !strings.Contains(d, c.detailPart) {
			t.Errorf("%q: %s %q, want %s with %q", c.out, v, d, c.verdict, c.detailPart)
		}
	}
}

func TestReportCountsAndExitCode(t *testing.T) {
	killed := Result{Mutation: Mutation{ID: "k"}, Verdict: Killed}
	equivalent := Result{Mutation: Mutation{ID: "e", Equivalent: "same for every input"}, Verdict: Survived}
	survivor := Result{Mutation: Mutation{ID: "s"}, Verdict: Survived}
	stale := Result{Mutation: Mutation{ID: "t"}, Verdict: Stale}
	var b strings.Builder
	if code := report(&b, []Result{killed, equivalent}, false); code != 0 {
		t.Errorf("killed and equivalent: exit %d\n%s", code, b.String())
	}
	if !strings.Contains(b.String(), "kill rate 1/2 = 50.0%") {
		t.Errorf("rate: %s", b.String())
	}
	for name, rs := range map[string][]Result{"survivor": {killed, survivor}, "stale": {killed, stale}} {
		b.Reset()
		if code := report(&b, rs, true); code != 1 || !strings.Contains(b.String(), "Needs attention") {
			t.Errorf("%s: exit %d\n%s", name, code, b.String())
		}
	}
}

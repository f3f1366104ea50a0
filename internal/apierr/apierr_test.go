package apierr

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// Every code declared has a row in the table: a code without one would answer 500 and be retried.
func TestEveryCodeHasAClass(t *testing.T) {
	src, err := os.ReadFile("../../api/api.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`(?m)^\s+Code\w+\s+Code = "(\w+)"`).FindAllSubmatch(src, -1)
	if len(declared) < 20 {
		t.Fatalf("found %d code constants; the pattern no longer matches api/api.go", len(declared))
	}
	for _, m := range declared {
		if c := Code(m[1]); !slices.Contains(Codes(), c) {
			t.Errorf("code %s has no row in the table", c)
		}
	}
	if len(Codes()) != len(declared) {
		t.Errorf("%d rows for %d codes", len(Codes()), len(declared))
	}
}

// The README's error table names every code, so callers can rely on it.
func TestREADMEListsEveryCode(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Codes() {
		if !regexp.MustCompile("`" + string(c) + "`").Match(readme) {
			t.Errorf("README.md does not list %s", c)
		}
	}
}

func TestStatusAndRetry(t *testing.T) {
	cases := []struct {
		err       *Error
		status    int
		retryable bool
	}{
		{New(CodeInvalidImage, "x"), 400, false},
		{New(CodeTooComplex, "x"), 413, false},
		{New(CodeTooManyRequests, "x"), 429, true},
		{New(CodeConfiguration, "x"), 500, true},
		{New(CodeStorageUnavailable, "x"), 503, true},
		{New(CodeStorageUnavailable, "x").AtDeadline(), 504, true},
		{As(os.ErrNotExist), 500, true}, // anything unexpected is an opaque internal error
	}
	for _, c := range cases {
		if c.err.Status() != c.status || c.err.Retryable() != c.retryable {
			t.Errorf("%v: status %d retryable %v, want %d %v", c.err, c.err.Status(), c.err.Retryable(), c.status, c.retryable)
		}
	}
}

func TestAtDeadlineLeavesTheSentinelAlone(t *testing.T) {
	sentinel := New(CodeUpstreamError, "shared")
	late := sentinel.AtDeadline()
	if late.Status() != 504 {
		t.Fatalf("AtDeadline status = %d, want 504", late.Status())
	}
	if sentinel.Status() != StatusOf(CodeUpstreamError) {
		t.Fatalf("the sentinel became %d after AtDeadline on it", sentinel.Status())
	}
}

func TestClip(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven cha…"},
		{"汽车汽车汽车", 2, "汽车…"},
		{"bad\xffbyte", 10, "badbyte"},
	}
	for _, c := range cases {
		if got := Clip(c.in, c.max); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

package apierr

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
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

// The API reference's error table ("**Errors**" in docs/api.md) names every code in a row whose
// status cell holds the code's status, so callers can rely on it. A code named only elsewhere in
// the page (the upstream's own codes share some names) does not count.
func TestAPIReferenceListsEveryCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := errorTableRows(t, string(doc))
	for _, c := range Codes() {
		status := strconv.Itoa(StatusOf(c))
		if !slices.ContainsFunc(rows, func(r errorRow) bool {
			return slices.Contains(r.statuses, status) && slices.Contains(r.codes, string(c))
		}) {
			t.Errorf("docs/api.md's error table has no row of status %s listing %s", status, c)
		}
	}
}

type errorRow struct{ statuses, codes []string }

// errorTableRows reads the rows of the table that follows "**Errors**": each row's statuses
// (every three-digit number of its first cell) and the backquoted names of its second.
func errorTableRows(t *testing.T, doc string) []errorRow {
	_, table, found := strings.Cut(doc, "**Errors**")
	if !found {
		t.Fatal(`docs/api.md has no "**Errors**" table`)
	}
	var rows []errorRow
	inTable := false
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		switch {
		case len(cells) >= 4 && strings.HasPrefix(line, "|"):
			inTable = true
			rows = append(rows, errorRow{
				statuses: regexp.MustCompile(`\b\d{3}\b`).FindAllString(cells[1], -1),
				codes:    backquoted(cells[2]),
			})
		case inTable:
			return rows
		}
	}
	return rows
}

func backquoted(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
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

// A hint follows the message in what the native caller reads and in logs; WithHint leaves the
// error it was given as it was, so a shared error keeps no other request's hint.
func TestHint(t *testing.T) {
	plain := New(CodeTooLarge, "the body is over the limit of %d bytes", 10)
	hinted := plain.WithHint("send larger images by S3 reference")
	if plain.Text() != "the body is over the limit of 10 bytes" || plain.Hint != "" {
		t.Errorf("without a hint: %q (hint %q)", plain.Text(), plain.Hint)
	}
	if got := hinted.Text(); got != "the body is over the limit of 10 bytes; send larger images by S3 reference" {
		t.Errorf("with a hint: %q", got)
	}
	if got := hinted.Error(); got != "payload_too_large: "+hinted.Text() {
		t.Errorf("Error() = %q", got)
	}
}

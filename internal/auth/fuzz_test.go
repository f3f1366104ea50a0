package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// FuzzAuthorization builds a header from parts whose answer is known by construction: a caller
// is let in exactly when the scheme is Bearer in any case, one space and any blanks follow, then a
// configured key, then only blanks; anything else is a 401 that never echoes a key.
func FuzzAuthorization(f *testing.F) {
	keys := map[string]string{"alice": "alice-key-0123456789", "bob": "bob-key-abcdefghijkl"}
	names := []string{"alice", "bob"}
	for _, c := range []struct {
		scheme, gap string
		which       int
		own, tail   string
	}{
		{"Bearer", " ", 0, "", ""}, {"bearer", " ", 1, "", ""}, {"BEARER", "  ", 0, "", " "}, {"bEaReR", " \t", 1, "", "\t "},
		{"Bearer", "", 0, "", ""}, {"Bearer", "\t", 0, "", ""}, {"Basic", " ", 0, "", ""}, {"Bearer", " ", -1, "alice-key-012345678", ""},
		{"Bearer", " ", -1, "", ""}, {"Bearer", " ", 0, "", "x"}, {"Bearer", " ", 0, "", "\x00"}, {"Bearerx", " ", 1, "", ""},
		{"", " ", 0, "", ""}, {"Bearer", " ", 0, "", "\n"}, {"Bearer", " ", -1, "alice-key-0123456789bob-key-abcdefghijkl", ""},
	} {
		f.Add(c.scheme, c.gap, c.which, c.own, c.tail)
	}
	c, err := New(ModeKeys, secrets.NewSecret(fakeSecrets{`{"alice": "alice-key-0123456789", "bob": "bob-key-abcdefghijkl"}`}, "keys", time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	blank := func(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }
	f.Fuzz(func(t *testing.T, scheme, gap string, which int, own, tail string) {
		if strings.ContainsFunc(scheme, unicode.IsSpace) || strings.ContainsFunc(own, unicode.IsSpace) ||
			tail != "" && !unicode.IsSpace([]rune(tail)[0]) {
			return // the parts would not be the parts: the boundary between them would move
		}
		presented, wantCaller := own, ""
		if which >= 0 && which < len(names) {
			presented, wantCaller = keys[names[which]], names[which]
		}
		for name, k := range keys {
			if presented == k {
				wantCaller = name
			}
		}
		if !strings.EqualFold(scheme, "bearer") || !strings.HasPrefix(gap, " ") || !blank(gap) || !blank(tail) {
			wantCaller = ""
		}
		header := scheme + gap + presented + tail
		caller, err := c.Authenticate(context.Background(), header, "")
		if caller != wantCaller || (err == nil) != (wantCaller != "") {
			t.Fatalf("header %q: caller %q, %v; want %q", header, caller, err, wantCaller)
		}
		if err == nil {
			return
		}
		var e *apierr.Error
		if !errors.As(err, &e) || e.Status() != 401 || e.Code != apierr.CodeInvalidToken {
			t.Fatalf("header %q: %v, want a 401", header, err)
		}
		for _, k := range keys {
			if strings.Contains(e.Message, k) {
				t.Fatalf("message %q holds a key", e.Message)
			}
		}
	})
}

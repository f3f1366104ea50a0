package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// FuzzAuthorization: a header lets a caller in only if it carries a configured key exactly
// (after the scheme Bearer, in any case, and surrounding spaces); anything else is a 401 that
// never echoes a key.
func FuzzAuthorization(f *testing.F) {
	keys := map[string]string{"alice": "alice-key-0123456789", "bob": "bob-key-abcdefghijkl"}
	for _, h := range []string{"Bearer alice-key-0123456789", "bearer bob-key-abcdefghijkl", "Bearer  bob-key-abcdefghijkl ",
		"", "Bearer", "Bearer ", "Basic YWxpY2U6eA==", "Bearer alice-key-012345678", "Bearer alice-key-0123456789\x00", "BEARER alice-key-0123456789",
		"bEaReR bob-key-abcdefghijkl", "BEARERalice-key-0123456789", "Bearer\talice-key-0123456789"} {
		f.Add(h)
	}
	c, err := New(ModeKeys, secrets.NewSecret(fakeSecrets{`{"alice": "alice-key-0123456789", "bob": "bob-key-abcdefghijkl"}`}, "keys", time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		caller, err := c.Authenticate(context.Background(), header, "")
		presented := ""
		if len(header) > 7 && strings.EqualFold(header[:7], "bearer ") {
			presented = strings.TrimSpace(header[7:])
		}
		if err == nil {
			if keys[caller] == "" || keys[caller] != presented || !strings.HasPrefix(strings.ToLower(header), "bearer ") {
				t.Fatalf("header %q let in %q", header, caller)
			}
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

package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// The shortest key the secret may hold is 16 characters: 15 is refused as a configuration error
// (the whole secret, so the operator sees it at once), 16 works.
func TestKeyLengthBoundary(t *testing.T) {
	ctx := context.Background()
	fifteen, sixteen := strings.Repeat("k", 15), strings.Repeat("k", 16)
	_, err := keysChecker(t, `{"short": "`+fifteen+`"}`).Authenticate(ctx, "Bearer "+fifteen, "")
	if e := apierr.As(err); e.Code != apierr.CodeConfiguration || !strings.Contains(e.Unwrap().Error(), "shorter than 16") {
		t.Errorf("a 15-character key: %v, want configuration_error", err)
	}
	if got, err := keysChecker(t, `{"edge": "`+sixteen+`"}`).Authenticate(ctx, "Bearer "+sixteen, ""); err != nil || got != "edge" {
		t.Errorf("a 16-character key: %q, %v", got, err)
	}
}

package observe

import (
	"log/slog"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

// A fault is an error; a request the memory budget turned away is a warning (the process is
// full, not broken); a refusal of the caller's request is information.
func TestLevel(t *testing.T) {
	for code, want := range map[apierr.Code]slog.Level{apierr.CodeServerBusy: slog.LevelWarn,
		apierr.CodeStorageUnavailable: slog.LevelError, apierr.CodeInvalidImage: slog.LevelInfo} {
		if got := Level(apierr.New(code, "x")); got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
}

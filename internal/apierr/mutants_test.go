package apierr

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// An error that is not ours is shown as an opaque 500: its text (a path, an SDK message) stays in
// the logs, reachable through Unwrap.
func TestAsHidesUnexpectedErrors(t *testing.T) {
	cause := errors.New("open /var/task/secret.json: permission denied")
	e := As(cause)
	if e.Code != CodeInternal || e.Status() != 500 || e.Message != "internal error" || strings.Contains(e.Message, "/var/task") {
		t.Errorf("As(%v) = %+v", cause, e)
	}
	if !errors.Is(e, cause) {
		t.Error("the cause is lost for the logs")
	}
	if own := New(CodeInvalidImage, "image is empty"); As(own) != own {
		t.Error("As changed one of our own errors")
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Trace ids have the upstream's form, a random UUIDv4, so clients that check it accept ours.
func TestTraceIDsAreUUIDv4(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id := NewTraceID()
		if !uuidV4.MatchString(id) || seen[id] {
			t.Fatalf("trace id %q is not a new UUIDv4", id)
		}
		seen[id] = true
	}
}

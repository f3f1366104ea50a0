package recognition

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain links no AWS package: the ports are its own, and the adapters (storage, secrets,
// upstream, the functions' handlers) depend on it, not the other way round.
func TestDomainLinksNoAWS(t *testing.T) {
	domain := []string{"recognizer/internal/recognition", "recognizer/internal/question", "recognizer/internal/imaging", "recognizer/internal/uploads"}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, domain...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/aws/") {
			t.Errorf("the domain links %s", dep)
		}
	}
}

package recognition

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain links no AWS package: the ports are its own, and the adapters (storage, secrets,
// upstream, the functions' handlers) depend on it, not the other way round.
func TestDomainLinksNoAWS(t *testing.T) {
	domain := []string{"github.com/recaptcha-recognizer/recognizer/internal/recognition", "github.com/recaptcha-recognizer/recognizer/internal/question", "github.com/recaptcha-recognizer/recognizer/internal/imaging", "github.com/recaptcha-recognizer/recognizer/internal/uploads"}
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

// What ships in a Lambda links no development tool: the emulator, the Runtime API harness and the
// test environments stay out of the bootstrap binaries.
func TestShippedPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../functions/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "/internal/devtools/") {
			t.Errorf("a function links %s", dep)
		}
	}
}

// The fast tier (go test ./..., no tags) compiles no OpenAPI validator: on an empty build cache it
// is two thirds of the compile. Only the e2e-tagged suites check answers against the contract.
func TestFastTierCompilesNoContractValidator(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/pb33f/") {
			t.Errorf("the fast tier compiles %s", dep)
		}
	}
}

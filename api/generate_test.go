//go:build e2e

package api_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The generators people use on this document produce clients that compile, and say nothing
// while doing it: oapi-codegen (Go), openapi-typescript with tsc (TypeScript), and Redocly's
// recommended lint. Their versions are pinned here and in generators/package-lock.json.
const (
	oapiCodegen    = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"
	oapiRuntime    = "github.com/oapi-codegen/runtime@v1.9.0"
	generatedGoMod = "module generated\n\ngo 1.26\n"
)

func run(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func TestOapiCodegenGeneratesACleanGoClient(t *testing.T) {
	doc, err := filepath.Abs("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, warnings := run(t, dir, nil, "go", "run", oapiCodegen, "-generate", "types,client", "-package", "generated", doc)
	if strings.TrimSpace(warnings) != "" {
		t.Errorf("oapi-codegen warned:\n%s", warnings)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(generatedGoMod), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"GOFLAGS=-mod=mod"}
	run(t, dir, env, "go", "get", oapiRuntime)
	run(t, dir, env, "go", "vet", ".")
	for _, want := range []string{"func (c *Client) Recognize(", "type Answer struct", "type GridRequest struct"} {
		if !strings.Contains(code, want) {
			t.Errorf("the generated client has no %q", want)
		}
	}
}

func TestTypeScriptTypesAndLint(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm is needed to check the document with openapi-typescript and Redocly (Node.js 20 or later)")
	}
	run(t, "generators", nil, "npm", "ci", "--no-audit", "--no-fund", "--silent")
	types := filepath.Join(t.TempDir(), "api.d.ts")
	_, warnings := run(t, "generators", nil, "npx", "openapi-typescript", "../openapi.json", "-o", types)
	if strings.Contains(strings.ToLower(warnings), "warn") {
		t.Errorf("openapi-typescript warned:\n%s", warnings)
	}
	use, err := os.ReadFile("generators/use.ts")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(types)
	if err := os.WriteFile(filepath.Join(dir, "use.ts"), use, 0o644); err != nil {
		t.Fatal(err)
	}
	tsc, _ := filepath.Abs("generators/node_modules/.bin/tsc")
	run(t, dir, nil, tsc, "--noEmit", "--strict", "use.ts")

	out, errOut := run(t, "generators", nil, "npx", "redocly", "lint", "--format", "summary", "--config", "../redocly.yaml", "../openapi.json")
	// The summary has a line "warning <rule>: <count>" per rule that warned (a Node.js notice
	// may say "warning" in a box of its own).
	if all := out + errOut; !strings.Contains(all, "Your API description is valid") || regexp.MustCompile(`(?m)^(warning|error) `).MatchString(all) {
		t.Errorf("redocly lint:\n%s", all)
	}
}

package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The real bootstrap, built and run once on a fixture, with the emulator as upstream.
func TestInvokeFixture(t *testing.T) {
	t.Setenv("RECOGNITION_TOKEN", "")
	t.Setenv("TOKEN_SECRET_ID", "")
	t.Setenv("AWS_REGION", "us-east-1")
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = out
	err = run("api", "../../events/api-binary.json", 20*time.Second)
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	printed, _ := os.ReadFile(out.Name())
	if !strings.Contains(string(printed), `"statusCode": 200`) || !strings.Contains(string(printed), `\"objects\":[0,4,8]`) {
		t.Fatalf("printed:\n%s", printed)
	}
}

func TestInvokeNeedsAnEvent(t *testing.T) {
	if err := run("api", "", time.Second); err == nil {
		t.Fatal("no event accepted")
	}
	if err := run("api", "no-such-file.json", time.Second); err == nil {
		t.Fatal("missing file accepted")
	}
}

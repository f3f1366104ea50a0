//go:build e2e

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// localServer is `make run`'s binary, built and started as a user would: no token, no AWS.
type localServer struct {
	addr   string
	cmd    *exec.Cmd
	exited chan error // receives Wait's result once the process has ended
	log    *testenv.SyncBuffer
}

func startLocal(t *testing.T) *localServer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	s := &localServer{addr: addr, exited: make(chan error, 1), log: &testenv.SyncBuffer{}}
	s.cmd = exec.Command(bin, "-addr", s.addr)
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() { s.cmd.Process.Kill() })
	if err := testenv.WaitListening(s.addr, 20*time.Second); err != nil {
		t.Fatalf("the local server did not start: %v\n%s", err, s.log.String())
	}
	return s
}

// carsForm is a multipart form asking the widget's cars question about image.
func carsForm(image []byte) (body []byte, contentType string) {
	return testenv.MultipartForm(map[string]string{"question": "Select all images with <strong>cars</strong>"}, "shot.jpg", image)
}

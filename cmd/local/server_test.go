package main

import (
	"bytes"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"recognizer/internal/testenv"
)

// localServer is `make run`'s binary, built and started as a user would: no token, no AWS.
type localServer struct {
	addr   string
	cmd    *exec.Cmd
	exited chan error // receives Wait's result once the process has ended
	log    *lockedBuffer
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
	s := &localServer{addr: addr, exited: make(chan error, 1), log: &lockedBuffer{}}
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

// lockedBuffer is a log the process writes while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// carsForm is a multipart form asking the widget's cars question about image.
func carsForm(image []byte) (body []byte, contentType string) {
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("question", "Select all images with <strong>cars</strong>")
	p, _ := mw.CreateFormFile("image", "shot.jpg")
	p.Write(image)
	mw.Close()
	return form.Bytes(), mw.FormDataContentType()
}

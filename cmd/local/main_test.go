package main

// `make run` end to end: the real local binary, started with no token and no AWS, must start its
// emulator, say so, and serve the API.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"recognizer/internal/testimage"
)

func TestLocalServer(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", addr)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()} // no AWS, no token
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	banner := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var head strings.Builder
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "Serving ") {
				banner <- head.String()
			}
			head.WriteString(line + "\n")
		}
	}()
	select {
	case b := <-banner:
		if !strings.Contains(b, "EMULATOR") || !strings.Contains(b, "development tool") {
			t.Fatalf("the banner does not say the upstream is emulated:\n%s", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the local server did not start")
	}
	base := "http://" + addr
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("not listening")
		}
	}

	shot := testimage.Challenge{Grid: 4, Tile: 93, Separator: 4, Margin: 2, Label: "/m/0k4j", Targets: []int{2, 7}, Seed: 9}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("question", "Select all images with <strong>cars</strong>")
	p, _ := mw.CreateFormFile("image", "shot.jpg")
	p.Write(shot.JPEG(85))
	mw.Close()

	cases := []struct {
		name, path, ct string
		body           []byte
		status         int
		objects        []int
	}{
		{"multipart", "/recognize", mw.FormDataContentType(), form.Bytes(), 200, []int{2, 7}},
		{"binary", "/recognize?question=cars", "image/jpeg", shot.JPEG(85), 200, []int{2, 7}},
		{"unknown question", "/recognize?question=llamas", "image/jpeg", shot.JPEG(85), 400, nil},
		{"wrong route", "/nope", "image/jpeg", nil, 404, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(base+c.path, c.ct, bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var a struct {
				Solution struct{ Objects []int }
				TraceID  string `json:"trace_id"`
			}
			json.Unmarshal(body, &a)
			if resp.StatusCode != c.status || a.TraceID == "" || (c.objects != nil && !slices.Equal(a.Solution.Objects, c.objects)) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

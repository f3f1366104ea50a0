//go:build e2e

package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/contracttest"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// loadCase is one kind of request in the mix and the only answer that is right for it.
type loadCase struct {
	name, path, contentType string
	body                    []byte
	status                  int
	code                    string // error code, for errors
	objects                 []int  // tiles, for answers
}

func loadMix() []loadCase {
	single := testimage.Challenge{Grid: 1, Tile: 100, Label: "/m/0k4j", Targets: []int{0}, Seed: 71}
	std := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/015qff", Targets: []int{2, 6}, Seed: 72}
	grid4 := testimage.Challenge{Grid: 4, Tile: 112, Margin: 1, Label: "/m/01bjv", Targets: []int{0, 15}, Seed: 73}
	shot := testimage.Challenge{Grid: 3, Tile: 126, Separator: 4, Label: "/m/0k4j", Targets: []int{4}, Seed: 74}
	form, formType := carsForm(shot.JPEG(85))
	js := func(doc map[string]any) []byte { b, _ := json.Marshal(doc); return b }
	var parts bytes.Buffer
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&parts, "--x\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i)
	}
	parts.WriteString("--x--\r\n")
	return []loadCase{
		{"binary single tile", "/recognize?question=cars", "image/png", single.PNG(), 200, "", []int{0}},
		{"JSON 3x3", "/recognize", "application/json", js(map[string]any{"image": base64.StdEncoding.EncodeToString(std.PNG()), "question": "traffic lights"}), 200, "", []int{2, 6}},
		{"data URL 4x4", "/captcha/recognition/recaptcha2", "application/json", js(map[string]any{"image": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(grid4.JPEG(90)), "question": "/m/01bjv"}), 200, "", []int{0, 15}},
		{"multipart screenshot", "/recognize", formType, form, 200, "", []int{4}},
		{"unknown question", "/recognize?question=llamas", "image/png", single.PNG(), 400, "unsupported_question", nil},
		{"not an image", "/recognize?question=cars", "image/png", []byte("this is plain text, not a picture"), 400, "invalid_image", nil},
		{"pixel bomb", "/recognize?question=cars", "image/png", testimage.PNGHeader(50000, 50000), 413, "payload_too_large", nil},
		{"JPEG header bomb", "/recognize?question=cars", "image/jpeg", testimage.JPEGHeader(65535, 65535), 413, "payload_too_large", nil},
		{"animated GIF of 5000 frames", "/recognize?question=cars", "image/gif", std.AnimatedGIF(5000), 400, "invalid_image", nil},
		{"broken JSON", "/recognize", "application/json", []byte(`{"image": "AAAA", "question": `), 400, "invalid_request", nil},
		{"bad base64", "/recognize", "application/json", js(map[string]any{"image": "@@@@", "question": "cars"}), 400, "invalid_image", nil},
		{"deep JSON", "/recognize", "application/json", []byte(`{"image":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`), 400, "invalid_request", nil},
		{"2000 multipart parts", "/recognize", "multipart/form-data; boundary=x", parts.Bytes(), 400, "invalid_request", nil},
		{"wrong route", "/solve", "image/png", single.PNG(), 404, "not_found", nil},
	}
}

// check says what is wrong with an answer to c, or "".
func (c loadCase) check(status int, body []byte) string {
	var a struct {
		Solution struct{ Objects []int }
		Error    struct{ Code string }
		TraceID  string `json:"trace_id"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.TraceID == "" {
		return fmt.Sprintf("%s: %d %.200s", c.name, status, body)
	}
	if status != c.status || a.Error.Code != c.code || (c.objects != nil && !slices.Equal(a.Solution.Objects, c.objects)) {
		return fmt.Sprintf("%s: %d %.200s; want %d %s %v", c.name, status, body, c.status, c.code, c.objects)
	}
	return ""
}

// TestLoad: `make run`'s binary with its emulator, 10,000 requests from 32 clients at once, a mix
// of valid and invalid input: no crash, no wrong answer, and memory flat from the first thousand
// requests to the last.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 requests")
	}
	const total, clients = 10000, 32
	srv := startLocal(t)
	addr := srv.addr

	mix := loadMix()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	var next, doneCount atomic.Int64
	var mu sync.Mutex
	var wrong []string
	rss := map[int]int{}
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				c := mix[i%len(mix)]
				problem := ""
				resp, err := client.Post("http://"+addr+c.path, c.contentType, bytes.NewReader(c.body))
				if err != nil {
					problem = c.name + ": " + err.Error()
				} else {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					problem = c.check(resp.StatusCode, body)
					if err := contracttest.CheckHTTP(resp.Request, resp, body); problem == "" && err != nil {
						problem = c.name + ": " + err.Error()
					}
				}
				n := int(doneCount.Add(1))
				mu.Lock()
				if problem != "" {
					wrong = append(wrong, problem)
				}
				if n%1000 == 0 {
					rss[n] = rssKB(t, srv.cmd.Process.Pid)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-srv.exited:
		t.Fatalf("the server exited under load: %v\n%s", err, srv.log.String())
	default:
	}
	if len(wrong) > 0 {
		t.Fatalf("%d of %d answers were wrong, first: %s", len(wrong), total, strings.Join(wrong[:min(5, len(wrong))], "\n"))
	}
	var samples []string
	for n := 1000; n <= total; n += 1000 {
		samples = append(samples, fmt.Sprintf("%d: %d KB", n, rss[n]))
	}
	t.Logf("server RSS after n requests: %s", strings.Join(samples, ", "))
	// Flat: what the first thousand requests warmed up is all the server keeps. The allowance is
	// one large request's buffers, not growth per request (10,000 requests leaking even 2 KB
	// each would exceed it).
	if growth := rss[total] - rss[1000]; growth > 16<<10 {
		t.Fatalf("RSS grew by %d KB from request 1000 to %d", growth, total)
	}
	if strings.Contains(srv.log.String(), "panic") {
		t.Fatalf("the server logged a panic:\n%s", srv.log.String())
	}
}

func rssKB(t *testing.T, pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Errorf("read RSS: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}

//go:build e2e

package playground_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// browser is a headless Chromium driven by Debian's chromedriver over the W3C WebDriver
// protocol: plain JSON over HTTP on a loopback port, so the test needs no Go dependency, and the
// driver always matches the browser (both come from the same Debian source package).
type browser struct {
	t       *testing.T
	base    string // the driver's session URL
	driver  *exec.Cmd
	session string
}

const elementKey = "element-6066-11e4-a52e-4f735466cecf" // the W3C WebDriver element reference

// startBrowser starts chromedriver and a Chromium session, or skips the test, saying why, when
// either is not installed.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("browser test skipped: chromium is not installed (apt-get install chromium chromium-driver; .ci/run installs both)")
	}
	driverBin, err := exec.LookPath("chromedriver")
	if err != nil {
		t.Skip("browser test skipped: chromedriver is not installed (apt-get install chromium-driver; .ci/run installs it)")
	}
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	b := &browser{t: t, base: "http://" + addr}
	profile := t.TempDir() // names this test's Chromium processes: no other has it
	log := &testenv.SyncBuffer{}
	b.driver = exec.Command(driverBin, "--port="+port, "--allowed-ips=127.0.0.1")
	b.driver.Stdout, b.driver.Stderr = log, log
	if err := b.driver.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b.session != "" {
			b.call("DELETE", "", nil) // chromedriver closes the browser
		}
		b.driver.Process.Signal(syscall.SIGTERM)
		b.driver.Wait()
		// Chromium's processes are not the driver's to reap: wait until every one of this
		// test's has exited, so the test (and the temporary profile's removal) ends after them.
		if left := waitGone(profile, 20*time.Second); len(left) > 0 {
			for _, pid := range left {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("Chromium processes %v were still running 20 s after the session ended", left)
		}
		if t.Failed() {
			t.Logf("chromedriver:\n%s", log.String())
		}
	})
	if err := testenv.WaitListening(addr, 20*time.Second); err != nil {
		t.Fatalf("chromedriver: %v\n%s", err, log.String())
	}
	// The flags keep a headless Chromium from reaching for the network (it has none here, and
	// would wait on lookups) and from keeping state between runs.
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--disable-dev-shm-usage", "--window-size=1280,1000", "--user-data-dir=" + profile},
		},
	}}}
	var created struct{ SessionID string }
	b.decode(b.call("POST", "/session", caps), &created)
	if created.SessionID == "" {
		t.Fatal("no WebDriver session")
	}
	b.session = created.SessionID
	return b
}

// waitGone waits until no process has profile on its command line, and returns those left when
// the wait ends.
func waitGone(profile string, wait time.Duration) []int {
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		left := processesWith("--user-data-dir=" + profile)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
	}
}

// processesWith lists the processes with arg on their command line (Linux's /proc).
func processesWith(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// call sends one WebDriver command (path relative to the session, or absolute from "/session")
// and returns its value.
func (b *browser) call(method, path string, body any) json.RawMessage {
	b.t.Helper()
	url := b.base + path
	if b.session != "" && !strings.HasPrefix(path, "/session") {
		url = b.base + "/session/" + b.session + path
	}
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		b.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &out); err != nil || resp.StatusCode != 200 {
		b.t.Fatalf("webdriver %s %s: %d %.500s", method, path, resp.StatusCode, data)
	}
	return out.Value
}

func (b *browser) decode(v json.RawMessage, into any) {
	b.t.Helper()
	if err := json.Unmarshal(v, into); err != nil {
		b.t.Fatalf("webdriver value %.300s: %v", v, err)
	}
}

func (b *browser) open(url string) { b.call("POST", "/url", map[string]string{"url": url}) }

func (b *browser) element(css string) string {
	b.t.Helper()
	var el map[string]string
	b.decode(b.call("POST", "/element", map[string]string{"using": "css selector", "value": css}), &el)
	return el[elementKey]
}

// typeInto sends keys to an element; for a file input, the keys are the file's path.
func (b *browser) typeInto(css, text string) {
	b.call("POST", "/element/"+b.element(css)+"/value", map[string]string{"text": text})
}

func (b *browser) click(css string) {
	b.call("POST", "/element/"+b.element(css)+"/click", map[string]any{})
}

// script runs JavaScript in the page and decodes what it returns into out.
func (b *browser) script(out any, js string, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	v := b.call("POST", "/execute/sync", map[string]any{"script": js, "args": args})
	if out != nil {
		b.decode(v, out)
	}
}

// waitState waits until the page's body data-state is one of want, and returns it.
func (b *browser) waitState(want ...string) string {
	b.t.Helper()
	var s string
	b.waitFor(fmt.Sprintf("the page's state to be one of %v", want), func() bool {
		b.script(&s, "return document.body.dataset.state")
		return slices.Contains(want, s)
	})
	return s
}

// waitTrue waits until the JavaScript expression js is true in the page.
func (b *browser) waitTrue(js string) {
	b.t.Helper()
	b.waitFor(js, func() bool {
		var ok bool
		b.script(&ok, "return Boolean("+js+")")
		return ok
	})
}

// waitFor asks the page through WebDriver, every 50 ms, until done says yes; the page loads and
// answers in its own time, so what a test reads is waited for, for up to 30 s.
func (b *browser) waitFor(what string, done func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			b.t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) screenshot(path string) {
	b.t.Helper()
	var png64 string
	b.decode(b.call("GET", "/screenshot", nil), &png64)
	png, err := base64.StdEncoding.DecodeString(png64)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "playground screenshot: %s (%d bytes)\n", path, len(png))
}

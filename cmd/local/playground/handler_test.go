package playground_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/cmd/local/playground"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

func TestHandler(t *testing.T) {
	h := playground.Handler()
	for path, ctype := range map[string]string{"/": "text/html", "/playground/app.js": "text/javascript", "/playground/style.css": "text/css", "/playground/labels.json": "application/json", "/playground/favicon.svg": "image/svg+xml"} {
		resp, body := get(t, h, path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || body == "" {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		// The browser is told too: the page may use its own server and the user's pictures only.
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
	}
	_, body := get(t, h, "/playground/labels.json")
	var labels []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(body), &labels); err != nil || len(labels) < 17 || labels[0].ID == "" || labels[0].Name == "" {
		t.Fatalf("labels %s: %v", body, err)
	}
	// The page names its icon, so a browser never asks for /favicon.ico, which nothing serves.
	if _, page := get(t, h, "/"); !strings.Contains(page, `rel="icon" href="/playground/favicon.svg"`) {
		t.Error("the page names no icon of its own")
	}
	if resp, _ := get(t, h, "/playground/nope.js"); resp.StatusCode != 404 {
		t.Errorf("a missing file answered %d", resp.StatusCode)
	}
}

// Nothing in the page names another host: no CDN, no web font, no absolute URL (the SVG
// namespace is a name that is never fetched).
func TestNoOutsideAddress(t *testing.T) {
	url := regexp.MustCompile(`(?i:(https?:)?//[a-z0-9.-]+\.[a-z]{2,})|@import|@font-face|\burl\(`)
	fs.WalkDir(os.DirFS("static"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile("static/" + path)
		text := strings.ReplaceAll(string(b), `"http://www.w3.org/2000/svg"`, "")
		if m := url.FindString(text); m != "" {
			t.Errorf("%s names %q", path, m)
		}
		return nil
	})
}

//go:build e2e

package main

// Pictures already at a provider's size, through the real bootstrap: each is checked as a decoded
// one would be, refused before any provider call when it is hostile, and forwarded without its
// metadata when it is not.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// Five 300x300 progressive JPEGs of 70,000 scans (which made providers time out, and their
// timeouts open the shared breaker), then pictures whose structure made the service panic, then
// another caller's valid request: the hostile ones are refused without a provider call, the valid
// one answered, and nothing panicked.
func TestHostileStandardPicturesNeverReachAProvider(t *testing.T) {
	f := start(t)
	scans := testimage.FlatJPEG{Width: 300, Height: 300, Components: 1, Progressive: true, ExtraScans: 70000}.Bytes()
	for i := 0; i < 5; i++ {
		a := wantError(t, f.invoke(event("POST", "/recognize", "question=cars", "image/jpeg", scans, true)), 413, "image_too_complex")
		if i == 0 {
			t.Logf("%d bytes: %s", len(scans), a.Error.Message)
		}
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"JPEG segment of length 0", testimage.JPEGShortSegment(0)},
		{"JPEG segment of length 1", testimage.JPEGShortSegment(1)},
		{"GIF whose first frame is 0x0", testimage.GIFEmptyFrame()},
	} {
		a := wantError(t, f.invoke(event("POST", "/recognize", "question=cars", "application/octet-stream", c.data, true)), 400, "invalid_image")
		t.Logf("%s: %s", c.name, a.Error.Message)
	}
	if n := f.emu.Requests(); n != 0 {
		t.Fatalf("hostile pictures reached the provider %d times", n)
	}
	wantSolved(t, f.invoke(event("POST", "/recognize", "question=cars", "image/png", std3x3.PNG(), true)), std3x3)
	if out := f.proc.Output(); strings.Contains(out, `"msg":"panic"`) {
		t.Fatalf("the function recovered a panic:\n%s", out)
	}
}

// A caller's 300x300 JPEG and PNG carrying EXIF with a GPS position, XMP, an ICC profile and
// comments reach the provider without any of it, and are recognized.
func TestForwardedPictureCarriesNoMetadata(t *testing.T) {
	f := start(t)
	var seen [][]byte
	f.emu.Close()
	inner := emulator.New(token)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var doc struct{ Image string }
		json.Unmarshal(body, &doc)
		img, _ := base64.StdEncoding.DecodeString(doc.Image)
		seen = append(seen, img)
		r.Body = io.NopCloser(bytes.NewReader(body))
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	f2 := restart(t, f, "RECOGNITION_API_URL="+srv.URL+emulator.Path)
	for _, c := range []struct {
		name, contentType string
		data              []byte
	}{
		{"JPEG", "image/jpeg", testimage.JPEGWithMetadata(std3x3.JPEG(92))},
		{"PNG", "image/png", testimage.PNGWithMetadata(std3x3.PNG())},
	} {
		seen = nil
		wantSolved(t, f2.invoke(event("POST", "/recognize", "question=cars", c.contentType, c.data, true)), std3x3)
		if len(seen) != 1 {
			t.Fatalf("%s: %d upstream requests", c.name, len(seen))
		}
		for _, secret := range []string{testimage.MetadataGPS, testimage.MetadataComment, "Exif", "ICC_PROFILE", "iCCP"} {
			if bytes.Contains(seen[0], []byte(secret)) {
				t.Errorf("%s: the provider received %q", c.name, secret)
			}
		}
		t.Logf("%s: %d bytes sent, %d forwarded", c.name, len(c.data), len(seen[0]))
	}
}

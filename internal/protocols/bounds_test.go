package protocols

import (
	"context"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// boundSlack is what answering may allocate beyond twice the body: the log line, the answer,
// the form's field list.
const boundSlack = 256 << 10

// distinctKeys is n JSON members with distinct three-character names, `"abc":1,` each.
func distinctKeys(n int) string {
	var alphabet []byte
	for c := byte(' '); c < 0x7f; c++ {
		if c != '"' && c != '\\' {
			alphabet = append(alphabet, c)
		}
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		a := len(alphabet)
		b.Write([]byte{'"', alphabet[i%a], alphabet[i/a%a], alphabet[i/a/a%a], '"', ':', '1', ','})
	}
	return b.String()
}

// The bodies that cost most when forms were read whole before their limits: each is answered
// in the protocol's own shape, and answering allocates at most twice the body (the body itself
// is already held, and bounded, before this).
func TestProtocolBodiesWithinBounds(t *testing.T) {
	f := newFixture(t)
	ids := "key=" + aliceKey + "&action=get&ids=" + strings.Repeat("1,", 2950000)
	keys := `{"key":"` + aliceKey + `",` + distinctKeys(700000) + `"method":"base64"}`
	images := `{"clientKey":"` + aliceKey + `","task":{"type":"ComplexImageTask","class":"recaptcha","imagesBase64":[` + strings.Repeat(`"",`, 1950000) + `""]}}`
	longString := strings.Repeat("A", 6<<20-200)
	for _, c := range []struct {
		name, path, contentType, body, want string
	}{
		{"res.php ids of 5.9 MB", ResPath, "application/x-www-form-urlencoded", ids, "ERROR_BAD_PARAMETERS"},
		{"in.php JSON of 700k keys", InPath, "application/json", keys, "ERROR_BAD_PARAMETERS"},
		{"in.php a 6 MB question", InPath, "application/json", `{"key":"` + aliceKey + `","textinstructions":"` + longString + `"}`, "ERROR_BAD_PARAMETERS"},
		{"in.php a 6 MB picture that is none", InPath, "application/json", `{"key":"` + aliceKey + `","recaptcha":1,"textinstructions":"cars","body":"` + longString + `"}`, "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
		{"in.php a 6 MB url-encoded picture", InPath, "application/x-www-form-urlencoded", "key=" + aliceKey + "&recaptcha=1&textinstructions=cars&body=" + longString, "ERROR_IMAGE_TYPE_NOT_SUPPORTED"},
		{"createTask 2M empty images", CreateTaskPath, "application/json", images, `"errorCode":"ERROR_INVALID_TASK_DATA"`},
		{"createTask a 6 MB picture that is none", CreateTaskPath, "application/json", `{"clientKey":"` + aliceKey + `","task":{"type":"GridTask","comment":"cars","body":"` + longString + `"}}`, `"errorCode":"ERROR_IMAGE_TYPE_NOT_SUPPORTED"`},
		{"createTask a 6 MB ignored field", CreateTaskPath, "application/json", `{"clientKey":"` + aliceKey + `","task":{"type":"GridTask","websiteURL":"` + longString + `"}}`, `"errorCode":"ERROR_INVALID_TASK_DATA"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.body) > f.h.Config.MaxBodyBytes {
				t.Fatalf("the body is %d bytes, over the limit", len(c.body))
			}
			req := wire.Request{Method: "POST", Path: c.path, Query: url.Values{}, Header: http.Header{"Content-Type": {c.contentType}}, Body: []byte(c.body)}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			resp := f.h.Serve(context.Background(), req)
			runtime.ReadMemStats(&after)
			if !strings.Contains(string(resp.Body), c.want) {
				t.Fatalf("%.300s, want %s", resp.Body, c.want)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes: %d bytes allocated (%.2f× the body)", len(c.body), alloc, float64(alloc)/float64(len(c.body)))
			if alloc > 2*uint64(len(c.body))+boundSlack {
				t.Fatalf("answering a %d-byte body allocated %d bytes (%.1f×)", len(c.body), alloc, float64(alloc)/float64(len(c.body)))
			}
		})
	}
}

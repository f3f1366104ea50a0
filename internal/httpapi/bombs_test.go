package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// Body bombs: each is refused with a clear 4xx, and parsing it allocates at most about twice
// its own size (the body is already bounded by MaxBodyBytes before parsing).
func TestBodyBombs(t *testing.T) {
	var parts bytes.Buffer
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&parts, "--x\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i)
	}
	parts.WriteString("--x--\r\n")
	var bigPart bytes.Buffer
	bigPart.WriteString("--x\r\nContent-Disposition: form-data; name=\"question\"\r\n\r\n")
	bigPart.WriteString(strings.Repeat("cars ", 1<<20))
	bigPart.WriteString("\r\n--x--\r\n")
	spaced := strings.Join(strings.Split(strings.Repeat("QUFB", 1000), ""), " \r\n\t") + "A==="
	cases := []struct {
		name, contentType string
		body              []byte
		status            int
		code              apierr.Code
	}{
		{"JSON nested 100000 deep", "application/json", []byte(`{"image":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`), 400, apierr.CodeInvalidRequest},
		{"JSON nested objects", "application/json", []byte(strings.Repeat(`{"a":`, 50000) + "1" + strings.Repeat("}", 50000)), 400, apierr.CodeInvalidRequest},
		{"JSON with a 5 MB question", "application/json", []byte(`{"image":"AAAA","question":"` + strings.Repeat("x", 5<<20) + `"}`), 0, ""},
		{"multipart with 5000 parts", "multipart/form-data; boundary=x", parts.Bytes(), 400, apierr.CodeInvalidRequest},
		{"multipart field of 5 MB", "multipart/form-data; boundary=x", bigPart.Bytes(), 400, apierr.CodeInvalidRequest},
		{"base64 full of whitespace with bad padding", "application/json", []byte(`{"image":"` + strings.NewReplacer("\r", `\r`, "\n", `\n`, "\t", `\t`).Replace(spaced) + `","question":"cars"}`), 400, apierr.CodeInvalidImage},
		{"data URL without base64", "application/json", []byte(`{"image":"data:image/png,` + strings.Repeat("%00", 100000) + `"}`), 400, apierr.CodeInvalidImage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := parse(wire.Request{Header: http.Header{"Content-Type": {c.contentType}}, Body: c.body}, 4<<20)
			runtime.ReadMemStats(&after)
			if c.status == 0 {
				// Accepted by the parser: the question's own limit refuses it later, unread.
				if err != nil {
					t.Fatalf("%v", err)
				}
			} else if e := apierr.As(err); e.Status() != c.status || e.Code != c.code {
				t.Fatalf("%v, want %d %s", err, c.status, c.code)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*uint64(len(c.body))+256<<10 {
				t.Fatalf("parsing %d bytes allocated %d", len(c.body), alloc)
			}
		})
	}
}

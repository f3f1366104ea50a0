package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// The JSON form's own cost: parse the body and decode the image (make bench reports it against
// the floor program end to end).
func BenchmarkParseJSON(b *testing.B) {
	img := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Seed: 51}.PNG()
	body, _ := json.Marshal(map[string]string{"image": base64.StdEncoding.EncodeToString(img), "question": "/m/0k4j"})
	req := wire.Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(req, 10<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// How long refusing each body bomb takes (TestBodyBombs checks the answers and the memory).
func BenchmarkRefuseBodyBomb(b *testing.B) {
	var parts strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&parts, "--x\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i)
	}
	parts.WriteString("--x--\r\n")
	for _, c := range []struct{ name, contentType, body string }{
		{"json-nested-100000", "application/json", `{"image":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`},
		{"multipart-5000-parts", "multipart/form-data; boundary=x", parts.String()},
		{"base64-bad-padding-1MB", "application/json", `{"image":"` + strings.Repeat("QUFB", 1<<18) + `A===","question":"cars"}`},
	} {
		req := wire.Request{Header: http.Header{"Content-Type": {c.contentType}}, Body: []byte(c.body)}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parse(req, 4<<20); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

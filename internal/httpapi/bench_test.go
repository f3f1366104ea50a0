package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"recognizer/internal/testimage"
)

// The JSON form's own cost: parse the body and decode the image (make bench reports it against
// the floor program end to end).
func BenchmarkParseJSON(b *testing.B) {
	img := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Seed: 51}.PNG()
	body, _ := json.Marshal(map[string]string{"image": base64.StdEncoding.EncodeToString(img), "question": "/m/0k4j"})
	req := Request{Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseCall(req, 10<<20); err != nil {
			b.Fatal(err)
		}
	}
}

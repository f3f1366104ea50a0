package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/app"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// BenchmarkServeJPEG1000 is one request at a time of the 1000×1000 JPEG resized for a 4×4 grid
// (the picture of make bench's "binary body" figure) through net/http, the handler and the
// upstream client, against an upstream that answers at once. Its instruction count under
// callgrind, old tree against new, is how docs/performance.md compares two commits on a busy
// machine. The file stands alone (no set-up shared with BenchmarkServe) because that comparison
// copies it into the old tree.
func BenchmarkServeJPEG1000(b *testing.B) {
	answer := []byte(`{"solution":{"size":450,"label":"/m/0k4j","confidences":[1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1],"objects":[0,5,10,15],"type":"multi"}}`)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	defer upstream.Close()
	env := map[string]string{"RECOGNITION_TOKEN": "bench", "RECOGNITION_API_URL": upstream.URL, "AUTH_MODE": "off"}
	awsCfg, err := app.AWS(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(adapter{app.NewAPI(func(k string) string { return env[k] }, awsCfg, app.NewLogger(io.Discard), io.Discard)})
	defer srv.Close()
	img := testimage.Challenge{Grid: 4, Tile: 250, Label: "/m/0k4j", Targets: []int{0, 5, 10, 15}, Seed: 33}.JPEG(90)
	b.SetBytes(int64(len(img)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.Post(srv.URL+"/recognize?question=%2Fm%2F0k4j&grid=4x4", "image/jpeg", bytes.NewReader(img))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status, string(body))
		}
	}
}

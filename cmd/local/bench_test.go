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

// BenchmarkServe is the local server's own cost per request: a 300×300 PNG as a binary body
// through net/http, the handler and the upstream client, against an upstream that answers at
// once without looking at the image. `make bench` compares the whole with the emulator alone.
func BenchmarkServe(b *testing.B) {
	answer := []byte(`{"solution":{"size":300,"label":"/m/0k4j","confidences":[0,1,0,0,0,0,0,0,0],"objects":[1],"type":"multi"}}`)
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
	img := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{1}, Seed: 61}.PNG()
	b.SetBytes(int64(len(img)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Post(srv.URL+"/recognize?question=cars", "image/png", bytes.NewReader(img))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
}

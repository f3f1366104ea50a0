//go:build e2e

package main

// `make run` end to end: the real local binary, started with no token and no AWS, must start its
// emulator, say so, and serve the API.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/contracttest"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

func TestLocalServer(t *testing.T) {
	srv := startLocal(t)
	// The banner comes through a pipe: it may arrive just after the port opens.
	for start := time.Now(); !strings.Contains(srv.log.String(), "Serving "); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("no banner:\n%s", srv.log.String())
		}
	}
	if b := srv.log.String(); !strings.Contains(b, "EMULATOR") || !strings.Contains(b, "development tool") {
		t.Fatalf("the banner does not say the upstream is emulated:\n%s", b)
	}
	base := "http://" + srv.addr

	shot := testimage.Challenge{Grid: 4, Tile: 93, Separator: 4, Margin: 2, Label: "/m/0k4j", Targets: []int{2, 7}, Seed: 9}
	form, formType := carsForm(shot.JPEG(85))

	cases := []struct {
		name, path, ct string
		body           []byte
		status         int
		objects        []int
	}{
		{"multipart", "/recognize", formType, form, 200, []int{2, 7}},
		{"binary", "/recognize?question=cars", "image/jpeg", shot.JPEG(85), 200, []int{2, 7}},
		{"unknown question", "/recognize?question=llamas", "image/jpeg", shot.JPEG(85), 400, nil},
		{"wrong route", "/nope", "image/jpeg", nil, 404, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(base+c.path, c.ct, bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if err := contracttest.CheckHTTP(resp.Request, resp, body); err != nil {
				t.Error(err)
			}
			var a struct {
				Solution struct{ Objects []int }
				TraceID  string `json:"trace_id"`
			}
			json.Unmarshal(body, &a)
			if resp.StatusCode != c.status || a.TraceID == "" || (c.objects != nil && !slices.Equal(a.Solution.Objects, c.objects)) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

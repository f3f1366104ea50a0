//go:build e2e

package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/contracttest"
)

// The local server serves the contract, and the routes it adds leave the API's own answers to
// other methods and paths as they were (and as the contract says).
func TestLocalServerServesTheContract(t *testing.T) {
	srv := startLocal(t)
	base := "http://" + srv.addr
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", api.OpenAPIPath, 200, ""},
		{"POST", api.OpenAPIPath, 404, "not_found"},
		{"GET", api.RecognizePath, 405, "method_not_allowed"},
		{"PUT", api.UpstreamPath, 405, "method_not_allowed"},
		{"GET", "/nope", 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, base+c.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if c.code != "" && !bytes.Contains(body, []byte(`"code":"`+c.code+`"`)) {
				t.Fatalf("%s, want code %s", body, c.code)
			}
			if c.status == 200 && !bytes.Equal(body, api.OpenAPI) {
				t.Fatalf("GET %s is not the embedded document", c.path)
			}
			if err := contracttest.CheckHTTP(req, resp, body); err != nil {
				t.Error(err)
			}
		})
	}
}

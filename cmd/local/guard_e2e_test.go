//go:build e2e

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// make run's binary refuses a request addressed to another name (DNS rebinding) and one sent by
// another site's page, in the error shape, and serves the same request from its own origin.
func TestLocalServerRefusesForeignCallers(t *testing.T) {
	srv := startLocal(t)
	pic := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{1}}.PNG()
	post := func(host, origin string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+srv.addr+"/recognize?question=cars", bytes.NewReader(pic))
		req.Header.Set("Content-Type", "image/png")
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var e struct {
			Error   struct{ Code string }
			TraceID string `json:"trace_id"`
		}
		json.Unmarshal(body, &e)
		if resp.StatusCode != 200 && (e.Error.Code != "invalid_request" || e.TraceID == "") {
			t.Fatalf("%d %s: not the error shape", resp.StatusCode, body)
		}
		return resp.StatusCode, string(body)
	}
	if status, body := post("rebound.example:3000", ""); status != http.StatusBadRequest {
		t.Fatalf("foreign Host: %d %s", status, body)
	}
	if status, body := post("", "https://evil.example"); status != http.StatusBadRequest {
		t.Fatalf("foreign Origin: %d %s", status, body)
	}
	if status, body := post("", "http://"+srv.addr); status != http.StatusOK {
		t.Fatalf("own origin: %d %s", status, body)
	}
}

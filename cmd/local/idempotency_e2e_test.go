//go:build e2e

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

// make run's binary refuses an Idempotency-Key sent twice, as two headers or as one holding a
// comma (what API Gateway makes of two), with the documented 400, before it looks for a store.
func TestLocalServerRefusesAnIdempotencyKeySentTwice(t *testing.T) {
	srv := startLocal(t)
	pic := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{1}}.PNG()
	post := func(keys ...string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+srv.addr+"/recognize?question=cars", bytes.NewReader(pic))
		req.Header.Set("Content-Type", "image/png")
		for _, k := range keys {
			req.Header.Add("Idempotency-Key", k)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(body, &e)
		return resp.StatusCode, e.Error.Code, e.Error.Message
	}
	for name, keys := range map[string][]string{"two headers": {"a", "b"}, "one header holding a comma": {"a,b"}} {
		status, code, msg := post(keys...)
		if status != http.StatusBadRequest || code != "invalid_idempotency_key" || !strings.Contains(msg, "Idempotency-Key") {
			t.Errorf("%s: %d %s %q, want 400 invalid_idempotency_key", name, status, code, msg)
		}
	}
	// One key is well formed: make run keeps no answers, and says so.
	if status, code, _ := post("8e03978e-40d5-43e8-bc93-6894a57f9324"); status != http.StatusBadRequest || code != "store_not_configured" {
		t.Errorf("one key: %d %s, want 400 store_not_configured", status, code)
	}
}

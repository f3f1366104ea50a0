//go:build e2e

package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/protocolcases"
)

// The solver protocols through make run's binary, at the root of its address, as a client
// library given http://127.0.0.1:3000 sends them (authentication is off in a local run, so any
// key is accepted).
func TestLocalServerSpeaksTheProtocols(t *testing.T) {
	s := startLocal(t)
	send := func(t *testing.T, r protocolcases.Request) protocolcases.Answer {
		t.Helper()
		u := "http://" + s.addr + r.Path
		if r.Query != "" {
			u += "?" + r.Query
		}
		req, err := http.NewRequest(r.Method, u, bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		if r.ContentType != "" {
			req.Header.Set("Content-Type", r.ContentType)
		}
		if r.Authorization != "" {
			req.Header.Set("Authorization", r.Authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return protocolcases.Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}
	}
	protocolcases.Run(t, send, protocolcases.Options{Events: "../../events", Key: "any-key-in-a-local-run"})
}

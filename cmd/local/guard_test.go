package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The local server answers only requests addressed to it by a loopback name (or a name it was
// told to accept) and pages it serves itself: a DNS-rebinding name or another site's page is
// refused before the API sees the request.
func TestGuardRefusesForeignHostAndOrigin(t *testing.T) {
	var served atomic.Int64
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) })
	for _, c := range []struct {
		allow        []string
		host, origin string
		ok           bool
	}{
		{host: "127.0.0.1:3000", ok: true},
		{host: "localhost:3000", origin: "http://localhost:3000", ok: true},
		{host: "[::1]:3000", ok: true},
		{host: "LOCALHOST", ok: true},
		{host: "rebound.example:3000", ok: false},
		{host: "127.0.0.1:3000", origin: "https://evil.example", ok: false},
		{host: "127.0.0.1:3000", origin: "null", ok: false},
		{host: "127.0.0.1:3000", origin: "http://127.0.0.1.evil.example:3000", ok: false},
		{allow: []string{"devbox"}, host: "devbox:3000", origin: "http://devbox:3000", ok: true},
		{allow: []string{"*"}, host: "anything:1", origin: "http://elsewhere", ok: true},
		{allow: []string{"devbox"}, host: "other:3000", ok: false},
	} {
		served.Store(0)
		g := newGuard(next, "127.0.0.1:3000", c.allow, 2)
		r := httptest.NewRequest(http.MethodPost, "/recognize", nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if got := served.Load() == 1; got != c.ok || (!c.ok && (w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"invalid_request"`))) {
			t.Errorf("host %q origin %q allow %v: served %v, status %d; want served %v", c.host, c.origin, c.allow, got, w.Code, c.ok)
		}
		// The refusal names what is accepted: "localhost only" is said only when it is so.
		if !c.ok && strings.Contains(w.Body.String(), "localhost only") != (len(c.allow) == 0) {
			t.Errorf("host %q allow %v: %s", c.host, c.allow, w.Body)
		}
	}
}

// At most the configured number of requests are served at once; the others wait their turn.
func TestGuardBoundsConcurrency(t *testing.T) {
	var inflight, peak, entered atomic.Int64
	gate := make(chan struct{})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		entered.Add(1)
		<-gate
		inflight.Add(-1)
	})
	g := newGuard(next, "127.0.0.1:3000", nil, 2)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "http://127.0.0.1:3000/recognize", nil))
		}()
	}
	for released := 0; released < 8; released++ {
		for entered.Load() < int64(min(released+2, 8)) {
			time.Sleep(time.Millisecond)
		}
		gate <- struct{}{}
	}
	wg.Wait()
	if peak.Load() != 2 {
		t.Fatalf("%d requests served at once, want 2", peak.Load())
	}
}

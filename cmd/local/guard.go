package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// guard keeps the local server to its developer: it holds a real token, so a web page the
// developer visits (its fetch carries a foreign Origin) or a DNS-rebinding name pointing at
// 127.0.0.1 (a foreign Host) must not be able to spend it. It also bounds how many requests are
// served at once, so a burst of costly pictures decodes a few at a time.
type guard struct {
	next  http.Handler
	hosts map[string]bool // host names accepted in Host and Origin, lower case, without port
	extra []string        // the names -allow-hosts added, as refusals name them
	slots chan struct{}   // one per request being served
}

// newGuard accepts the loopback names, the listening host and the extra names given (-allow-hosts);
// "*" among them accepts any host and origin.
func newGuard(next http.Handler, listen string, extra []string, concurrent int) *guard {
	g := &guard{next: next, hosts: map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true},
		slots: make(chan struct{}, max(1, concurrent))}
	if h, _, err := net.SplitHostPort(listen); err == nil && h != "" {
		g.hosts[strings.ToLower(h)] = true
	}
	for _, h := range extra {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			g.hosts[h] = true
			g.extra = append(g.extra, h)
		}
	}
	return g
}

func (g *guard) allows(host string) bool {
	if g.hosts["*"] {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return g.hosts[strings.Trim(strings.ToLower(host), "[]")]
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.allows(r.Host) {
		refuse(w, "this local server answers requests to %s, not to host %q; add that name to -allow-hosts to accept it", g.accepted(), r.Host)
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !g.allows(u.Host) {
			refuse(w, "this local server answers pages it serves itself and pages of %s, not pages from %q; add that name to -allow-hosts to accept it", g.accepted(), origin)
			return
		}
	}
	if !g.acquire(r.Context()) {
		return // the caller went away while waiting
	}
	defer func() { <-g.slots }()
	g.next.ServeHTTP(w, r)
}

func (g *guard) acquire(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// accepted names the hosts a refusal says are served.
func (g *guard) accepted() string {
	if len(g.extra) == 0 {
		return "localhost only"
	}
	return "localhost and " + strings.Join(g.extra, ", ")
}

// refuse answers invalid_request with its documented status (400), as a server refuses a Host
// it does not serve: the request is not one this server takes, whoever sends it.
func refuse(w http.ResponseWriter, format string, args ...any) {
	e := apierr.New(apierr.CodeInvalidRequest, format, args...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status())
	w.Write(wire.ErrorBody(e, apierr.NewTraceID()))
}

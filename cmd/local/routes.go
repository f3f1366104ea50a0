package main

import (
	"net/http"
	"path"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/cmd/local/playground"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// routes serves the API as the Lambda does, and two things only the local server has: the
// contract at GET /openapi.json and the playground page at GET /. Every other request, GET
// /recognize included, reaches the API handler, so its 404 and 405 answers are the function's.
func routes(h wire.Server) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.OpenAPIPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(api.OpenAPI)
	})
	page := playground.Handler()
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /playground/", page)
	api := adapter{h}
	mux.Handle("/", api)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux answers a path it would clean (//recognize, /x/../recognize) with a redirect of
		// its own, not in the API's error shape; the function has no such answer, so those paths
		// reach the API as they are.
		if r.URL.Path != cleanPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// cleanPath is the path ServeMux would redirect to: dot segments and doubled slashes removed,
// a trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

package main

import (
	"net/http"

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
	mux.Handle("/", adapter{h})
	return mux
}

// Package playground is the page `make run` serves at GET /: choose, drop or paste a picture,
// type the question, and see the answer drawn on it, with the raw JSON and the same request as a
// curl command. Plain HTML, CSS and JavaScript embedded in the binary, no build step; it loads
// nothing from any other host, and its Content-Security-Policy says so to the browser too.
//
// Only the local server links it: the deployed function serves the API alone (its HTTP API has
// only the POST routes), so the page adds nothing to what a deployment exposes.
package playground

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"

	"github.com/recaptcha-recognizer/recognizer/internal/question"
)

//go:embed static
var static embed.FS

// csp lets the page use its own server and the pictures the user picks (blob: URLs), nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the page at "/" and its files under "/playground/".
func Handler() http.Handler {
	files, _ := fs.Sub(static, "static")
	labels := labelsJSON()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "index.html")
	})
	mux.Handle("GET /playground/", http.StripPrefix("/playground/", http.FileServerFS(files)))
	mux.HandleFunc("GET /playground/labels.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(labels)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		mux.ServeHTTP(w, r)
	})
}

// labelsJSON is the question table's labels for the page's question box.
func labelsJSON() []byte {
	type label struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	var out []label
	for _, l := range question.Default.Labels() {
		out = append(out, label{l.ID, l.Name()})
	}
	b, _ := json.Marshal(out)
	return b
}

package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A path ServeMux would clean reaches the API as it came, which answers it in its own shape, as
// the function does; the mux's own redirect (307, no body the caller can read) never answers.
func TestUncleanPathsReachTheAPI(t *testing.T) {
	for _, p := range []string{"//recognize", "/x/../recognize", "/./recognize", "/recognize//", "//"} {
		s := &recordingServer{}
		w := httptest.NewRecorder()
		routes(s).ServeHTTP(w, httptest.NewRequest(http.MethodPost, p+"?question=cars", nil))
		if w.Code != http.StatusOK || s.got.Path != p {
			t.Errorf("POST %s: %d %v, the API saw %q; want it served by the API as it came", p, w.Code, w.Header(), s.got.Path)
		}
	}
	// Clean paths are routed as before: the page and the contract are the local server's own.
	for p, want := range map[string]string{"/": "", "/openapi.json": "", "/recognize": "/recognize"} {
		s := &recordingServer{}
		routes(s).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
		if s.got.Path != want {
			t.Errorf("GET %s: the API saw %q, want %q", p, s.got.Path, want)
		}
	}
}

package acedata_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// A redirect to another origin is not followed (the token is in the Authorization header it
// would re-send) and is the API's failure, not the caller's: upstream_error, not retried.
func TestRedirectNotFollowed(t *testing.T) {
	var foreign, calls atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreign.Add(1) }))
	defer elsewhere.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	c := acedata.New(api.URL, acedata.NewHTTPClient(), secrets.Static("token-never-elsewhere"))
	_, err := c.Recognize(context.Background(), []byte("picture"), "/m/0k4j", 300)
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != apierr.CodeUpstreamError || !strings.Contains(e.Error(), "redirect") {
		t.Fatalf("answered %v, want upstream_error naming the redirect", err)
	}
	if foreign.Load() != 0 || calls.Load() != 1 {
		t.Fatalf("the other origin got %d requests, the API %d (want 0 and 1)", foreign.Load(), calls.Load())
	}
}

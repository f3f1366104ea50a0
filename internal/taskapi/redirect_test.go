package taskapi_test

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
	"github.com/recaptcha-recognizer/recognizer/internal/taskapi"
)

// A 3xx is the provider's failure whatever its body says, and with the functions' client
// (acedata.NewHTTPClient) its Location is never visited: the token is in the request body.
func TestRedirectIsProviderFailure(t *testing.T) {
	for _, kind := range []taskapi.Kind{taskapi.CapSolver, taskapi.YesCaptcha, taskapi.CapMonster} {
		var foreign atomic.Int64
		elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreign.Add(1) }))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", elsewhere.URL+r.URL.Path)
			w.WriteHeader(http.StatusPermanentRedirect)
			w.Write([]byte(`{"errorId":0,"taskId":1,"status":"ready","solution":{"objects":[0],"type":"multi","size":3}}`))
		}))
		c := taskapi.New(kind, srv.URL, acedata.NewHTTPClient(), secrets.Static("key-never-elsewhere"))
		_, err := c.Recognize(context.Background(), []byte("picture"), "/m/0k4j", 300)
		srv.Close()
		elsewhere.Close()
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != apierr.CodeUpstreamError || !strings.Contains(e.Error(), "redirect") {
			t.Errorf("%s: answered %v, want upstream_error naming the redirect", kind, err)
		}
		if foreign.Load() != 0 {
			t.Errorf("%s: the other origin got %d requests", kind, foreign.Load())
		}
	}
}

//go:build e2e

package protocols

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/contracttest"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// checkContract holds every answer the protocol tests get to the OpenAPI document. It is in the
// e2e tier only: the validator is slow to compile, and the fast tier needs it nowhere else.
func checkContract(t testing.TB, req wire.Request, resp wire.Response) {
	t.Helper()
	if err := contracttest.CheckHTTP(&http.Request{Method: req.Method, URL: &url.URL{Path: req.Path, RawQuery: req.Query.Encode()}, Header: req.Header},
		&http.Response{StatusCode: resp.Status, Header: resp.Header}, resp.Body); err != nil {
		t.Error(err)
	}
}

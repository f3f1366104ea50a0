package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

type recordingServer struct{ got wire.Request }

func (s *recordingServer) Serve(_ context.Context, req wire.Request) wire.Response {
	s.got = req
	return wire.Response{Status: http.StatusOK}
}

// The local server reads the query as the Lambda front does: a pair that does not parse is
// reported to the routes, which refuse it, rather than dropped.
func TestAdapterReportsAQueryThatDoesNotParse(t *testing.T) {
	for query, bad := range map[string]bool{"question=cars&min_confidence=0.9": false, "question=cars&min_confidence=0.9%zz": true, "question=cars&grid=4x4;store=1": true} {
		s := &recordingServer{}
		adapter{api: s}.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/recognize?"+query, nil))
		if (s.got.QueryError != nil) != bad || s.got.Query.Get("question") != "cars" {
			t.Errorf("?%s: query %v, error %v; want an error %v", query, s.got.Query, s.got.QueryError, bad)
		}
	}
}

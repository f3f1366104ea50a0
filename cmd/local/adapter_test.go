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

// The API gets a header sent twice as API Gateway hands it to the function, one value joined
// with a comma, so it refuses the request on both fronts instead of reading the first here.
func TestAdapterJoinsAHeaderSentTwice(t *testing.T) {
	s := &recordingServer{}
	r := httptest.NewRequest(http.MethodPost, "/recognize", nil)
	r.Header.Add("Authorization", "Bearer first")
	r.Header.Add("Authorization", "Bearer second")
	r.Header.Add("Content-Type", "application/json")
	r.Header.Add("Content-Type", "image/png")
	r.Header.Set("Accept", "application/json")
	adapter{api: s}.ServeHTTP(httptest.NewRecorder(), r)
	for name, want := range map[string]string{"Authorization": "Bearer first,Bearer second", "Content-Type": "application/json,image/png", "Accept": "application/json"} {
		if got := s.got.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want the one value %q", name, got, want)
		}
	}
}

package acedata_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// answerOnly is an http.RoundTripper that answers every request with one fixed response, so the
// fuzzer drives the client's whole reading of an answer without a network.
type answerOnly struct {
	status     int
	retryAfter string
	body       []byte
}

func (a answerOnly) RoundTrip(*http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader(a.body))}, nil
}

const fuzzToken = "fuzz-secret-token"

// FuzzAnswer: whatever the upstream answers, the client returns a solution that matches what
// was asked (size; one confidence in [0, 1] per tile when there are confidences at all, since
// resellers of the engine omit them; distinct objects that are tiles), or an error in our error
// shape that a caller may see: 429, 502 or 504, never the token, never more than a short quote of
// the answer.
func FuzzAnswer(f *testing.F) {
	f.Add(200, "", []byte(`{"solution":{"size":300,"label":"/m/0k4j","confidences":[0,0,0,0,0.9,0,0,0,0],"objects":[4],"type":"multi"}}`), 300)
	f.Add(200, "", []byte(`{"solution":{"size":100,"label":"x","confidences":[1],"objects":[],"type":"single"}}`), 100)
	f.Add(200, "", []byte(`{"solution":{"size":450,"confidences":[],"objects":[16]}}`), 450)
	f.Add(200, "", []byte(`{"solution":[]}`), 300)
	f.Add(200, "", []byte(`{"solution":{"size":300,"size":300}}`), 300)
	f.Add(429, "2", []byte(`{"success":false,"error":{"code":"too_many_requests","message":"slow down"}}`), 300)
	f.Add(429, "Wed, 21 Oct 2015 07:28:00 GMT", []byte(``), 300)
	f.Add(400, "", []byte(`{"error":{"code":"token_mismatched"}}`), 300)
	f.Add(400, "", []byte(`{"error":{"code":"Bearer fuzz-secret-token","message":"Bearer fuzz-secret-token"}}`), 300)
	f.Add(200, "", []byte(`{"solution":{"size":100,"label":"fuzz-secret-token","label":"/m/0k4j","confidences":[1],"objects":[0],"x":"fuzz-secret-token"}}`), 100)
	f.Add(401, "", []byte(`{"error":{"code":"invalid_token"}}`), 300)
	f.Add(503, "-1", []byte(`<html>`), 450)
	f.Add(302, "", []byte(``), 100)
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte, size int) {
		if status < 100 || status > 999 || !validHeader(retryAfter) {
			return // net/http would not hand such a response to the client
		}
		tiles := map[int]int{100: 1, 300: 9, 450: 16}[size]
		if tiles == 0 {
			return
		}
		c := acedata.New("http://upstream.invalid/recognize", &http.Client{Transport: answerOnly{status, retryAfter, body}}, secrets.Static(fuzzToken))
		c.MaxAttempts = 1
		s, err := c.Recognize(context.Background(), []byte("image"), cars, size)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || (e.Status() != 429 && e.Status() != 502 && e.Status() != 504) {
				t.Fatalf("status %d: error %v, want a 429, 502 or 504 in the error shape", status, err)
			}
			if strings.Contains(e.Message, fuzzToken) || !utf8.ValidString(e.Message) || len(e.Message) > 300 {
				t.Fatalf("message %q", e.Message)
			}
			return
		}
		if status != 200 || s.Size != size || s.Confidences != nil && len(s.Confidences) != tiles {
			t.Fatalf("status %d accepted as %+v", status, s)
		}
		for _, f := range s.Fields {
			if bytes.Contains(f.Value, []byte(fuzzToken)) {
				t.Fatalf("field %s passes on the token: %s", f.Key, f.Value)
			}
		}
		seen := map[int]bool{}
		for _, o := range s.Objects {
			if o < 0 || o >= tiles || seen[o] {
				t.Fatalf("objects %v for %d tiles", s.Objects, tiles)
			}
			seen[o] = true
		}
		for _, c := range s.Confidences {
			if c < 0 || c > 1 {
				t.Fatalf("confidence %v", c)
			}
		}
	})
}

func validHeader(v string) bool {
	for _, r := range v {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

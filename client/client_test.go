//go:build e2e

package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/client"
)

func local() *client.Client { return &client.Client{BaseURL: os.Getenv("RECOGNIZER_URL")} }

func wantError(t *testing.T, err error, status int, code api.Code) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code || e.Message == "" {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
	return e
}

// Every source and option against the local server, and its errors as typed errors.
func TestAgainstLocalServer(t *testing.T) {
	ctx := context.Background()
	cars, err := os.ReadFile("../events/images/cars-3x3.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() (*api.Answer, error){
		"bytes with grid": func() (*api.Answer, error) {
			return local().Recognize(ctx, client.Bytes(cars), "汽车", client.Grid("3x3"))
		},
		"file at upstream": func() (*api.Answer, error) {
			return local().Recognize(ctx, client.File("../events/images/cars-3x3.jpg"), "/m/0k4j", client.UpstreamPath())
		},
		"s3 reference": func() (*api.Answer, error) {
			return local().Recognize(ctx, client.S3(sourceBucket, "challenges/cars.jpg"), "Cars")
		},
		"base URL with a slash": func() (*api.Answer, error) {
			return (&client.Client{BaseURL: os.Getenv("RECOGNIZER_URL") + "/"}).Recognize(ctx, client.Bytes(cars), "cars")
		},
	} {
		t.Run(name, func(t *testing.T) {
			a, err := run()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Solution.Objects, []int{0, 4, 8}) || len(a.Solution.Clicks) != 3 || a.TraceID == "" || a.Result != "" {
				t.Fatalf("%+v", a)
			}
			if !strings.Contains(string(a.Solution.Raw), `"confidences"`) {
				t.Fatalf("Raw %s", a.Solution.Raw)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		_, err := local().Recognize(ctx, client.Bytes([]byte("not a picture at all")), "cars")
		wantError(t, err, 400, api.CodeInvalidImage)
		_, err = local().Recognize(ctx, client.Bytes(cars), "cars", client.Grid("5x5"))
		wantError(t, err, 400, api.CodeInvalidGrid)
		_, err = local().Recognize(ctx, client.S3(sourceBucket, "nope.jpg"), "cars")
		e := wantError(t, err, 404, api.CodeS3NotFound)
		if e.TraceID == "" || !strings.Contains(e.Error(), e.TraceID) {
			t.Fatalf("no trace id in %v", e)
		}
		_, err = local().Recognize(ctx, client.S3("someone-elses", "x.jpg"), "cars")
		wantError(t, err, 403, api.CodeS3Forbidden)
	})
	t.Run("refused before sending", func(t *testing.T) {
		if _, err := local().Recognize(ctx, client.File("does-not-exist.png"), "cars"); err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("missing file: %v", err)
		}
		if _, err := local().Recognize(ctx, client.Bytes(make([]byte, client.MaxImageBytes+1)), "cars"); err == nil || !strings.Contains(err.Error(), "client.S3") {
			t.Fatalf("large picture: %v", err)
		}
		if _, err := (&client.Client{BaseURL: "127.0.0.1:3000"}).Recognize(ctx, client.Bytes(cars), "cars"); err == nil {
			t.Fatal("a base URL without a scheme was used")
		}
	})
}

func TestClientKeys(t *testing.T) {
	ctx := context.Background()
	src := client.File("../events/images/cars-3x3.jpg")
	for name, key := range map[string]string{"no key": "", "wrong key": "example-key-0123456789abcdeX"} {
		_, err := (&client.Client{BaseURL: keyedURL, Key: key}).Recognize(ctx, src, "cars")
		e := wantError(t, err, 401, api.CodeInvalidToken)
		if key != "" && strings.Contains(e.Error(), key) {
			t.Fatalf("%s: the key is in the error: %v", name, e)
		}
	}
	a, err := (&client.Client{BaseURL: keyedURL, Key: exampleKey}).Recognize(ctx, src, "cars")
	if err != nil || !slices.Equal(a.Solution.Objects, []int{0, 4, 8}) {
		t.Fatalf("%+v, %v", a, err)
	}
}

// reply is one scripted answer.
type reply struct {
	status     int
	retryAfter string
	body       string
}

// scripted answers requests with its replies in turn, repeating the last.
type scripted struct {
	n       atomic.Int32
	replies []reply
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1)) - 1
	rep := s.replies[min(i, len(s.replies)-1)]
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	w.Write([]byte(rep.body))
}

func errBody(code api.Code) string {
	return `{"success":false,"error":{"code":"` + string(code) + `","message":"m"},"trace_id":"t-1"}`
}

const okBody = `{"solution":{"size":100,"label":"/m/0k4j","confidences":[1],"objects":[0],"type":"multi","grid":"1x1","clicks":[{"index":0,"x":50,"y":50}]},"trace_id":"t-2"}`

// Retries: what is temporary is sent again, at least Retry-After later; the rest is not.
func TestRetries(t *testing.T) {
	cases := []struct {
		name     string
		replies  []reply
		timeout  time.Duration
		requests int32
		status   int      // 0: success
		code     api.Code // of the final error
		minWait  time.Duration
	}{
		{"429 then success after Retry-After", []reply{{429, "1", errBody("too_many_requests")}, {200, "", okBody}}, 0, 2, 0, "", time.Second},
		{"gateway throttling, HTTP date", []reply{{429, "Thu, 01 Jan 1970 00:00:00 GMT", `{"message":"Too Many Requests"}`}, {200, "", okBody}}, 0, 2, 0, "", 0},
		{"outage persists", []reply{{503, "", errBody("token_unavailable")}}, 0, 3, 503, "token_unavailable", 0},
		{"upstream error then success", []reply{{502, "", errBody("upstream_error")}, {504, "", errBody("upstream_timeout")}, {200, "", okBody}}, 0, 3, 0, "", 0},
		{"bad input is not retried", []reply{{400, "", errBody("invalid_image")}}, 0, 1, 400, "invalid_image", 0},
		{"our token refused is not retried", []reply{{502, "", errBody("upstream_auth_failed")}}, 0, 1, 502, "upstream_auth_failed", 0},
		{"configuration is not retried", []reply{{500, "", errBody("configuration_error")}}, 0, 1, 500, "configuration_error", 0},
		{"Retry-After past MaxWait ends it", []reply{{429, "120", errBody("too_many_requests")}}, 0, 1, 429, "too_many_requests", 0},
		{"Retry-After past the deadline ends it", []reply{{429, "5", errBody("too_many_requests")}}, 2 * time.Second, 1, 429, "too_many_requests", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &scripted{replies: c.replies}
			srv := httptest.NewServer(s)
			defer srv.Close()
			ctx := context.Background()
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.timeout)
				defer cancel()
			}
			start := time.Now()
			a, err := (&client.Client{BaseURL: srv.URL}).Recognize(ctx, client.Bytes([]byte("x")), "cars")
			waited := time.Since(start)
			if n := s.n.Load(); n != c.requests {
				t.Fatalf("%d requests, want %d (%v)", n, c.requests, err)
			}
			if c.status == 0 {
				if err != nil || a.TraceID != "t-2" {
					t.Fatalf("%+v, %v", a, err)
				}
			} else {
				e := wantError(t, err, c.status, c.code)
				if c.code == "too_many_requests" && e.RetryAfter == 0 {
					t.Errorf("RetryAfter not kept: %+v", e)
				}
			}
			if waited < c.minWait {
				t.Fatalf("retried after %v, before Retry-After's %v", waited, c.minWait)
			}
		})
	}
}

func TestGatewayErrors(t *testing.T) {
	s := &scripted{replies: []reply{{403, "", `{"message":"Forbidden"}`}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	_, err := (&client.Client{BaseURL: srv.URL}).Recognize(context.Background(), client.Bytes([]byte("x")), "cars")
	e := wantError(t, err, 403, "")
	if e.Message != "Forbidden" || e.Temporary() || !strings.Contains(e.Error(), "gateway") {
		t.Fatalf("%+v %v", e, e)
	}
}

// With a Signer, the request carries a SigV4 signature for execute-api in the region, and no key.
func TestSigV4(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(okBody))
	}))
	defer srv.Close()
	c := &client.Client{BaseURL: srv.URL, Key: "not-sent-with-a-signer",
		Signer: &client.SigV4{Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session"), Region: "eu-west-1"}}
	if _, err := c.Recognize(context.Background(), client.Bytes([]byte("x")), "cars"); err != nil {
		t.Fatal(err)
	}
	auth := got.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/execute-api/aws4_request") ||
		!strings.Contains(auth, "Signature=") || got.Get("X-Amz-Date") == "" || got.Get("X-Amz-Security-Token") != "session" {
		t.Fatalf("headers %v", got)
	}
}

// A request's threshold and consensus, in the query (a picture) and in JSON (an S3 reference);
// a report of the answer by its AnswerID where reports are forwarded, and the typed refusal
// where they are not.
func TestAccuracyOptionsAndReport(t *testing.T) {
	ctx := context.Background()
	keyed := &client.Client{BaseURL: keyedURL, Key: exampleKey}
	a, err := keyed.Recognize(ctx, client.File("../events/images/cars-3x3.jpg"), "cars", client.MinConfidence(0.99), client.Consensus(true))
	if err != nil || len(a.Solution.Objects) != 0 || !slices.Equal(a.Solution.Uncertain, []int{0, 4, 8}) || a.AnswerID == "" {
		t.Fatalf("threshold 0.99 in the query: %+v %v", a, err)
	}
	b, err := local().Recognize(ctx, client.S3(sourceBucket, "challenges/cars.jpg"), "cars", client.MinConfidence(0.5))
	if err != nil || !slices.Equal(b.Solution.Objects, []int{0, 4, 8}) || b.Solution.Uncertain == nil || b.AnswerID != "" {
		t.Fatalf("threshold 0.5 in JSON: %+v %v", b, err)
	}
	r, err := keyed.Report(ctx, a.AnswerID, true)
	if err != nil || len(r.Reports) != 1 || r.Reports[0] != (api.ProviderReport{Provider: "acedata", Outcome: "no_method"}) || r.TraceID == "" {
		t.Fatalf("report: %+v %v", r, err)
	}
	_, err = keyed.Report(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false)
	wantError(t, err, 404, api.CodeUnknownAnswer)
	_, err = local().Report(ctx, a.AnswerID, true)
	wantError(t, err, 400, api.CodeReportsNotConfigured)
}

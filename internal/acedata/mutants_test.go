package acedata_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// The upstream's Retry-After reaches the caller bounded: never more than 30 s (API Gateway's
// limit), never negative, in seconds or as an HTTP date.
func TestRetryAfterIsBounded(t *testing.T) {
	for header, want := range map[string]time.Duration{
		"7":    7 * time.Second,
		"3600": 30 * time.Second,
		"-5":   0,
		time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat): 30 * time.Second,
		"Wed, 21 Oct 2015 07:28:00 GMT":                             0,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", header)
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		c := acedata.New(srv.URL, http.DefaultClient, secrets.Static("secret-token"))
		c.MaxAttempts = 1
		_, err := c.Recognize(context.Background(), challenge.PNG(), cars, 300)
		srv.Close()
		if e := apierr.As(err); e.Code != apierr.CodeTooManyRequests || e.RetryAfter != want {
			t.Errorf("Retry-After %q: %v with Retry-After %v, want %v", header, err, e.RetryAfter, want)
		}
	}
}

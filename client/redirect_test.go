package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/recaptcha-recognizer/recognizer/api"
	"github.com/recaptcha-recognizer/recognizer/client"
)

// A 307 or 308 to another host is never followed: the picture, the key and the session token
// stay with the service's own host, and the client does not try again.
func TestForeignRedirectNotFollowed(t *testing.T) {
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer elsewhere.Close()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for name, c := range map[string]*client.Client{
			"key": {Key: "client-key-0123456789"},
			"sigv4": {Signer: &client.SigV4{Region: "us-east-1",
				Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "SESSION-TOKEN")}},
		} {
			var calls atomic.Int64
			svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				http.Redirect(w, r, elsewhere.URL+"/recognize", status)
			}))
			c.BaseURL = svc.URL
			_, err := c.Recognize(context.Background(), client.Bytes([]byte("\x89PNG picture")), "cars")
			svc.Close()
			if !errors.Is(err, client.ErrForeignRedirect) || leaked.Load() != 0 || calls.Load() != 1 {
				t.Fatalf("%d with %s: %v; %d requests reached the other host, %d the service", status, name, err, leaked.Load(), calls.Load())
			}
		}
	}
}

// A redirect within the service's own origin is still followed.
func TestSameOriginRedirectFollowed(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/old/recognize", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new/recognize", http.StatusPermanentRedirect)
	})
	mux.HandleFunc("/new/recognize", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"solution":{"objects":[1],"clicks":[]},"trace_id":"t"}`))
	})
	svc := httptest.NewServer(mux)
	defer svc.Close()
	a, err := (&client.Client{BaseURL: svc.URL + "/old"}).Recognize(context.Background(), client.Bytes([]byte("x")), "cars")
	if err != nil || a.TraceID != "t" {
		t.Fatalf("%+v %v", a, err)
	}
}

// A provider's refusal of the picture is permanent: the client asks once.
func TestRejectedPictureNotRetried(t *testing.T) {
	var calls atomic.Int64
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(`{"error":{"code":"` + string(api.CodeUpstreamRejected) + `","message":"refused"},"trace_id":"t"}`))
	}))
	defer svc.Close()
	_, err := (&client.Client{BaseURL: svc.URL}).Recognize(context.Background(), client.Bytes([]byte("x")), "cars")
	var e *client.Error
	if !errors.As(err, &e) || e.Code != api.CodeUpstreamRejected || e.Temporary() || calls.Load() != 1 {
		t.Fatalf("got %v after %d requests, want upstream_rejected after 1", err, calls.Load())
	}
	// The same service's passing trouble is retried.
	calls.Store(0)
	svc2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(`{"error":{"code":"upstream_error","message":"down"},"trace_id":"t"}`))
	}))
	defer svc2.Close()
	(&client.Client{BaseURL: svc2.URL}).Recognize(context.Background(), client.Bytes([]byte("x")), "cars")
	if calls.Load() != 3 {
		t.Fatalf("upstream_error asked %d times, want 3", calls.Load())
	}
}

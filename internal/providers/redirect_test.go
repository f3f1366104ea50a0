package providers_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/acedata"
	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/providers"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
	"github.com/recaptcha-recognizer/recognizer/internal/taskapi"
)

// A provider that answers with a redirect to another origin (a listener on another port) is a
// provider failure: nothing reaches that listener, the provider token included, the call is
// counted against the provider's breaker as an error, and the token is in no error text. Every
// provider, built as the functions build it (acedata.NewHTTPClient shared by all).
func TestProviderRedirectIsNeverFollowed(t *testing.T) {
	const token = "provider-token-5d1c-never-elsewhere"
	build := map[string]func(url string) recognition.Provider{
		"acedata": func(url string) recognition.Provider {
			return acedata.New(url, acedata.NewHTTPClient(), secrets.Static(token))
		},
	}
	for _, k := range []taskapi.Kind{taskapi.CapSolver, taskapi.YesCaptcha, taskapi.CapMonster} {
		build[string(k)] = func(url string) recognition.Provider {
			return taskapi.New(k, url, acedata.NewHTTPClient(), secrets.Static(token))
		}
	}
	for name, newProvider := range build {
		for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			var foreign atomic.Int64
			elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				foreign.Add(1)
				w.Write([]byte(`{"errorId":0,"taskId":1,"status":"ready","solution":{"objects":[0]}}`))
			}))
			provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.URL+r.URL.Path, status)
			}))
			var outcomes []string
			breaker := providers.NewBreaker(1, time.Hour)
			chain := &providers.Chain{
				Members: []providers.Member{{Provider: newProvider(provider.URL), Breaker: breaker}},
				OnCall:  func(ev providers.Event) { outcomes = append(outcomes, ev.Outcome) },
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_, err := chain.Recognize(ctx, []byte("picture"), "/m/0k4j", 300)
			cancel()
			provider.Close()
			elsewhere.Close()
			var e *apierr.Error
			switch {
			case foreign.Load() != 0:
				t.Errorf("%s, %d: the other origin got %d requests", name, status, foreign.Load())
			case !errors.As(err, &e) || e.Code != apierr.CodeUpstreamError || !strings.Contains(e.Error(), "redirect"):
				t.Errorf("%s, %d: answered %v, want upstream_error naming the redirect", name, status, err)
			case strings.Contains(e.Error(), token) || strings.Contains(string(e.Code), token):
				t.Errorf("%s, %d: the token is in the error", name, status)
			case len(outcomes) != 1 || outcomes[0] != providers.KindError || breaker.State() != providers.Open:
				t.Errorf("%s, %d: outcomes %v, breaker %s: want one error, counted against the provider", name, status, outcomes, breaker.State())
			}
		}
	}
}

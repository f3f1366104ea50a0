package taskapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/taskapi"
)

// scripted answers each path with its body and status, whatever was asked.
func scripted(t *testing.T, status int, bodies map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, bodies[r.URL.Path])
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// countingKey is a token source that counts the refusals it is told of.
type countingKey struct{ refused int }

func (c *countingKey) Token(context.Context) (string, error) { return "key-1", nil }
func (c *countingKey) Refused(string)                        { c.refused++ }

// Answers that must not be trusted: a task still processing read as done, or more (or fewer)
// booleans than the grid has tiles.
func TestUntrustworthyAnswers(t *testing.T) {
	png := testimage.Challenge{Grid: 3, Tile: 100, Label: cars}.PNG()
	const ready9 = `{"errorId":0,"taskId":7}`
	for _, c := range []struct {
		kind   taskapi.Kind
		bodies map[string]string
	}{
		{taskapi.CapSolver, map[string]string{"/createTask": `{"errorId":0,"status":"processing","solution":{"objects":[1]}}`}},
		{taskapi.YesCaptcha, map[string]string{"/createTask": `{"errorId":0,"status":"","solution":{"objects":[1]}}`}},
		{taskapi.CapMonster, map[string]string{"/createTask": ready9,
			"/getTaskResult": `{"errorId":0,"status":"ready","solution":{"answer":[true,false,false,false,false,false,false,false,false,true]}}`}},
		{taskapi.CapMonster, map[string]string{"/createTask": ready9,
			"/getTaskResult": `{"errorId":0,"status":"ready","solution":{"answer":[true,false,false,false,false,false,false,false]}}`}},
	} {
		client := taskapi.New(c.kind, scripted(t, 200, c.bodies), http.DefaultClient, &countingKey{})
		client.PollInterval = time.Millisecond
		s, err := client.Recognize(context.Background(), png, cars, 300)
		if apierr.As(err).Code != apierr.CodeUpstreamBadResponse {
			t.Errorf("%s %v: %+v, %v; want upstream_bad_response", c.kind, c.bodies, s, err)
		}
	}
}

// A 401 or a 403 refuses our key, whatever the body: the key is re-read once, then the answer
// is an auth failure (ours to fix), never the caller's refused request.
func TestForbiddenIsOurKey(t *testing.T) {
	png := testimage.Challenge{Grid: 3, Tile: 100, Label: cars}.PNG()
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		key := &countingKey{}
		client := taskapi.New(taskapi.CapSolver, scripted(t, status, map[string]string{"/createTask": "<html>denied</html>"}), http.DefaultClient, key)
		_, err := client.Recognize(context.Background(), png, cars, 300)
		if apierr.As(err).Code != apierr.CodeUpstreamAuth || key.refused != 1 {
			t.Errorf("status %d: %v after %d re-reads, want upstream_auth_failed after 1", status, err, key.refused)
		}
	}
}

package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

// The solver protocols are served beside the API in keys and off modes, and not at all in IAM
// mode (nor when the configuration is refused in IAM mode).
func TestProtocolsFollowAuthMode(t *testing.T) {
	for _, c := range []struct {
		mode, token string
		status      int
		body        string
	}{
		{"off", "tok", 200, `"errorId":0`},
		{"iam", "tok", 404, `"not_found"`},
		{"off", "", 200, `"ERROR_SERVICE_UNAVALIABLE"`}, // refused configuration: the protocol's shape
		{"iam", "", 500, `"configuration_error"`},
	} {
		env := map[string]string{"AUTH_MODE": c.mode, "RECOGNITION_TOKEN": c.token}
		api := NewAPI(func(k string) string { return env[k] }, aws.Config{Region: "us-east-1"}, NewLogger(io.Discard), io.Discard)
		resp := api.Serve(context.Background(), wire.Request{Method: "POST", Path: "/getBalance", Header: http.Header{}, Body: []byte(`{"clientKey":"k"}`)})
		if resp.Status != c.status || !strings.Contains(string(resp.Body), c.body) {
			t.Errorf("AUTH_MODE=%s token %q: POST /getBalance answered %d %s, want %d with %s", c.mode, c.token, resp.Status, resp.Body, c.status, c.body)
		}
	}
}

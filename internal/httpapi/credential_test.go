package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/auth"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
	"github.com/recaptcha-recognizer/recognizer/internal/wire"
)

const aliceKey = "alice-key-0123456789abcdef"

type aliceKeys struct{}

func (aliceKeys) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"alice": "` + aliceKey + `"}`)}, nil
}

// An Authorization header sent twice is refused on the native routes, whichever value is a key:
// API Gateway joins the two into one value, which matches no key, and the local server must not
// let in the first instead.
func TestAuthorizationSentTwiceIsRefused(t *testing.T) {
	checker, err := auth.New(auth.ModeKeys, secrets.NewSecret(aliceKeys{}, "client-keys", time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, values := range [][]string{{"Bearer " + aliceKey}, {"Bearer " + aliceKey, "Bearer someone-else-0123456789"}, {"Bearer someone-else-0123456789", "Bearer " + aliceKey}} {
		req := wire.Request{Header: http.Header{"Authorization": values}}
		for route, credential := range map[string]string{"recognize": recognizeCall{req: req}.Credential(), "report": reportCall{req: req}.Credential()} {
			caller, err := checker.Authenticate(context.Background(), credential, "")
			if len(values) == 1 && (err != nil || caller != "alice") {
				t.Errorf("%s, one header: %q, %v; want alice", route, caller, err)
			}
			if e := apierr.As(err); len(values) > 1 && (err == nil || e.Status() != 401) {
				t.Errorf("%s, the header sent as %q: %q, %v; want 401", route, values, caller, err)
			}
		}
	}
}

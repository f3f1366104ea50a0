// Package token supplies the upstream API token: from AWS Secrets Manager, read on first use and
// cached across invocations, or a fixed value for local runs. The token never appears in an
// error or log line produced here.
package token

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"recognizer/internal/apierr"
)

// Source yields the token for the upstream's authorization header.
type Source interface {
	// Token returns the current token; errors are *apierr.Error.
	Token(ctx context.Context) (string, error)
	// Refused tells the source the upstream rejected tok, so the next Token reads it afresh.
	Refused(tok string)
}

// Static is a fixed token (RECOGNITION_TOKEN, for local runs).
type Static string

// Token returns the fixed token.
func (s Static) Token(context.Context) (string, error) { return string(s), nil }

// Refused does nothing: a fixed token cannot be re-read.
func (Static) Refused(string) {}

// SecretReader is the one Secrets Manager call the source needs.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretReader = (*secretsmanager.Client)(nil)

// DefaultTTL bounds how stale a cached token may get when nothing refuses it; a rotation is
// normally noticed sooner, by the upstream's 401.
const DefaultTTL = time.Hour

// SecretsManager reads the token from one secret: the secret string is the token itself, or JSON
// with a "token" field.
type SecretsManager struct {
	client   SecretReader
	secretID string
	ttl      time.Duration
	now      func() time.Time

	mu      sync.Mutex
	token   string
	fetched time.Time
}

// NewSecretsManager returns a source that reads secretID through client. Nothing is read until
// the first Token call.
func NewSecretsManager(client SecretReader, secretID string, ttl time.Duration) *SecretsManager {
	return &SecretsManager{client: client, secretID: secretID, ttl: ttl, now: time.Now}
}

// Token returns the cached token, reading the secret when there is none or it has expired.
// Concurrent callers share one read.
func (s *SecretsManager) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Sub(s.fetched) < s.ttl {
		return s.token, nil
	}
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.secretID})
	if err != nil {
		return "", classify(err)
	}
	tok, err := parse(out)
	if err != nil {
		return "", err
	}
	s.token, s.fetched = tok, s.now()
	return tok, nil
}

// Refused drops tok from the cache if it is still the cached one.
func (s *SecretsManager) Refused(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == tok {
		s.token = ""
	}
}

func parse(out *secretsmanager.GetSecretValueOutput) (string, error) {
	var raw string
	switch {
	case out.SecretString != nil:
		raw = *out.SecretString
	case out.SecretBinary != nil:
		raw = string(out.SecretBinary)
	}
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(raw, "{") {
		var doc struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			return "", configError(errors.New("secret is JSON but does not parse"))
		}
		raw = strings.TrimSpace(doc.Token)
		if raw == "" {
			return "", configError(errors.New(`secret JSON has no "token" field`))
		}
	}
	if raw == "" {
		return "", configError(errors.New("secret is empty"))
	}
	if strings.ContainsAny(raw, "\r\n") {
		return "", configError(errors.New("secret holds a line break"))
	}
	return raw, nil
}

func configError(cause error) error {
	return apierr.Wrap(cause, http.StatusInternalServerError, apierr.CodeConfiguration,
		"the service's recognition token is not configured correctly")
}

// classify separates a secret that cannot be read as configured (permanent: retrying will not
// help) from Secrets Manager being unreachable or throttling (transient).
func classify(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ResourceNotFoundException", "AccessDeniedException", "AccessDenied", "DecryptionFailure",
			"InvalidRequestException", "InvalidParameterException", "UnrecognizedClientException":
			return configError(err)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return apierr.Wrap(err, http.StatusGatewayTimeout, apierr.CodeTokenUnavailable,
			"timed out reading the service's recognition token")
	}
	return apierr.Wrap(err, http.StatusServiceUnavailable, apierr.CodeTokenUnavailable,
		"the service's recognition token cannot be read right now; try again")
}

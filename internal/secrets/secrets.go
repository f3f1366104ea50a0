// Package secrets reads this service's secrets from AWS Secrets Manager and caches them across
// invocations: the upstream API token (a Source, or a fixed value for local runs) and the client
// keys. A missing or malformed secret is remembered for a short time, so a flood of requests
// makes a bounded number of reads. No secret value appears in an error or log line produced here.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
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

// DefaultFailureTTL is how long a missing or malformed secret is remembered: a flood of
// requests then costs one read per period, and an operator's fix counts within it.
const DefaultFailureTTL = 30 * time.Second

// Secret is one Secrets Manager secret's value, read on first use and cached for a TTL.
// Concurrent callers share one read. A configuration failure (the secret missing, not
// readable as configured, empty or malformed) is remembered too, for a shorter time; a
// transient one (throttling, an outage) is not.
type Secret struct {
	client SecretReader
	id     string
	ttl    time.Duration
	now    func() time.Time
	reads  atomic.Int64

	mu       sync.Mutex
	value    string
	fetched  time.Time
	check    func(value string) error
	failTTL  time.Duration
	failure  *apierr.Error
	failedAt time.Time
}

// NewSecret returns a cached reader of the secret id through client. Nothing is read until the
// first Value call.
func NewSecret(client SecretReader, id string, ttl time.Duration) *Secret {
	return &Secret{client: client, id: id, ttl: ttl, now: time.Now, failTTL: DefaultFailureTTL}
}

// RememberFailures sets how long a configuration failure is answered without a read (0: never
// remembered).
func (s *Secret) RememberFailures(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTTL = d
}

// Value returns the secret's string (or binary) value, trimmed. Errors are *apierr.Error; one
// answered from memory of a recent failure also matches apierr.ErrRemembered.
func (s *Secret) Value(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.value != "" && now.Sub(s.fetched) < s.ttl {
		return s.value, nil
	}
	if s.failure != nil && now.Sub(s.failedAt) < s.failTTL {
		f := s.failure
		return "", apierr.Wrap(fmt.Errorf("%w: %v", apierr.ErrRemembered, f.Unwrap()), f.Code, f.Message)
	}
	raw, err := s.read(ctx)
	if err != nil {
		if e := apierr.As(err); e.Code == apierr.CodeConfiguration {
			s.failure, s.failedAt = e, now
		}
		return "", err
	}
	s.failure = nil
	s.value, s.fetched = raw, now
	return raw, nil
}

func (s *Secret) read(ctx context.Context) (string, error) {
	s.reads.Add(1)
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.id})
	if err != nil {
		return "", classify(err)
	}
	var raw string
	switch {
	case out.SecretString != nil:
		raw = *out.SecretString
	case out.SecretBinary != nil:
		raw = string(out.SecretBinary)
	}
	if raw = strings.TrimSpace(raw); raw == "" {
		return "", configError(errors.New("secret is empty"))
	}
	if s.check != nil {
		if err := s.check(raw); err != nil {
			return "", err
		}
	}
	return raw, nil
}

// Check makes Value refuse a value that check rejects. The refusal is remembered like a missing
// secret's (RememberFailures), not cached like a value: an operator's fix counts within
// seconds, not after the TTL.
func (s *Secret) Check(check func(value string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.check = check
}

// Forget drops the cached value if stale reports it stale, so the next Value reads it afresh.
func (s *Secret) Forget(stale func(value string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.value != "" && stale(s.value) {
		s.value = ""
	}
}

// Reads is how many times the secret was read from Secrets Manager (for cache metrics).
func (s *Secret) Reads() int64 { return s.reads.Load() }

// ProviderNames are the keys a token secret's JSON object may hold, one per recognition provider;
// "token" is AceData's too (the secret's first form).
var ProviderNames = []string{"acedata", "capsolver", "yescaptcha", "capmonster"}

// ErrNoToken is the cause of a provider's token error when the secret holds no token for it: the
// provider is skipped, not failed.
var ErrNoToken = errors.New("the token secret holds no token for this provider")

// ParseTokens reads a token secret's value: a plain string (AceData's token), JSON with a "token"
// field (AceData's), or a JSON object of tokens by provider name ({"acedata": "...",
// "capsolver": "..."}). Unknown keys are ignored; at least one token must be there. Other JSON
// (an array, a quoted string, null, true, false) is refused, naming what it is: no provider's
// token looks like that, and sent as one it would fail later as a refused key.
func ParseTokens(raw string) (map[string]string, error) {
	raw = strings.TrimSpace(raw)
	out := map[string]string{}
	if !strings.HasPrefix(raw, "{") {
		if raw == "" {
			return nil, configError(errors.New("secret is empty"))
		}
		if kind := jsonKind(raw); kind != "" {
			return nil, configError(fmt.Errorf(`token secret is %s, not a token: write the plain token, {"token": "..."} or {"acedata": "...", "capsolver": "...", ...}`, kind))
		}
		out["acedata"] = raw
	} else {
		var doc map[string]any
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			return nil, configError(errors.New("secret is JSON but does not parse"))
		}
		for _, k := range append([]string{"token"}, ProviderNames...) {
			v, _ := doc[k].(string)
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			if k == "token" {
				k = "acedata"
			}
			out[k] = v
		}
		if len(out) == 0 {
			return nil, configError(errors.New(`secret JSON has no "token" field and no token for any provider`))
		}
	}
	for _, v := range out {
		if strings.ContainsAny(v, "\r\n") {
			return nil, configError(errors.New("secret holds a line break"))
		}
	}
	return out, nil
}

// Tokens yields every provider's token from one secret.
type Tokens interface {
	// Tokens returns the tokens by provider name; errors are *apierr.Error.
	Tokens(ctx context.Context) (map[string]string, error)
	// Refused tells the source the provider name rejected tok, so the next read is afresh.
	Refused(name, tok string)
}

// For is the Source of one provider's token out of tokens. A secret without a token for it
// answers a configuration error whose cause is ErrNoToken.
func For(tokens Tokens, name string) Source { return providerSource{tokens, name} }

type providerSource struct {
	tokens Tokens
	name   string
}

func (p providerSource) Token(ctx context.Context) (string, error) {
	m, err := p.tokens.Tokens(ctx)
	if err != nil {
		return "", err
	}
	if t, ok := m[p.name]; ok {
		return t, nil
	}
	return "", apierr.Wrap(ErrNoToken, apierr.CodeConfiguration,
		"no recognition provider of this service has a token")
}

func (p providerSource) Refused(tok string) { p.tokens.Refused(p.name, tok) }

// StaticTokens are fixed tokens (RECOGNITION_TOKEN, for local runs), in any form ParseTokens reads.
type StaticTokens map[string]string

// Tokens returns the fixed tokens.
func (s StaticTokens) Tokens(context.Context) (map[string]string, error) { return s, nil }

// Refused does nothing: fixed tokens cannot be re-read.
func (StaticTokens) Refused(string, string) {}

// SecretsManager reads the tokens from one secret, in any form ParseTokens reads.
type SecretsManager struct{ *Secret }

var _ Tokens = (*SecretsManager)(nil)

// NewSecretsManager returns a token source reading secretID through client, lazily.
func NewSecretsManager(client SecretReader, secretID string, ttl time.Duration) *SecretsManager {
	s := NewSecret(client, secretID, ttl)
	s.Check(func(raw string) error { _, err := ParseTokens(raw); return err })
	return &SecretsManager{s}
}

// Tokens returns the cached tokens, reading the secret when there are none or they expired.
func (s *SecretsManager) Tokens(ctx context.Context) (map[string]string, error) {
	raw, err := s.Value(ctx)
	if err != nil {
		return nil, err
	}
	return ParseTokens(raw)
}

// Token returns AceData's token (the secret's first form).
func (s *SecretsManager) Token(ctx context.Context) (string, error) {
	return For(s, "acedata").Token(ctx)
}

// Refused drops the cached secret if it still holds tok for the provider name.
func (s *SecretsManager) Refused(name, tok string) {
	s.Forget(func(raw string) bool {
		m, err := ParseTokens(raw)
		return err == nil && m[name] == tok
	})
}

// jsonKind names the JSON value raw is when it is an array, a string or a literal, else "".
func jsonKind(raw string) string {
	switch {
	case strings.HasPrefix(raw, "["):
		return "a JSON array"
	case strings.HasPrefix(raw, `"`):
		return "a quoted JSON string"
	case raw == "null", raw == "true", raw == "false":
		return "JSON " + raw
	}
	return ""
}

func configError(cause error) error {
	return apierr.Wrap(cause, apierr.CodeConfiguration,
		"a secret of this service is not configured correctly")
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
		return apierr.Wrap(err, apierr.CodeTokenUnavailable,
			"timed out reading a secret of this service").AtDeadline()
	}
	return apierr.Wrap(err, apierr.CodeTokenUnavailable,
		"a secret of this service cannot be read right now; try again")
}

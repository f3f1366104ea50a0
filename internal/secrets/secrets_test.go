package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
)

type fakeSecrets struct {
	calls int
	value *secretsmanager.GetSecretValueOutput
	err   error
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if aws.ToString(in.SecretId) != "svc/token" {
		return nil, errors.New("wrong secret id " + aws.ToString(in.SecretId))
	}
	return f.value, f.err
}

func str(s string) *secretsmanager.GetSecretValueOutput {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s)}
}

func TestSecretForms(t *testing.T) {
	for in, want := range map[string]string{
		"abc123":                     "abc123",
		" abc123\n":                  "abc123",
		`{"token":"abc123"}`:         "abc123",
		`{"token":"abc123","x":"y"}`: "abc123",
		`  {"token": " abc123 "}  `:  "abc123",
	} {
		src := NewSecretsManager(&fakeSecrets{value: str(in)}, "svc/token", time.Hour)
		got, err := src.Token(context.Background())
		if err != nil || got != want {
			t.Errorf("secret %q: got %q, %v; want %q", in, got, err, want)
		}
	}
	bin := &secretsmanager.GetSecretValueOutput{SecretBinary: []byte("bin-token")}
	if got, err := NewSecretsManager(&fakeSecrets{value: bin}, "svc/token", time.Hour).Token(context.Background()); err != nil || got != "bin-token" {
		t.Errorf("binary secret: %q, %v", got, err)
	}
}

func TestBadSecretsAreConfigurationErrors(t *testing.T) {
	for _, in := range []string{"", "   ", `{"other":"x"}`, `{"token":""}`, `{not json`, "a\nb",
		`["abc123"]`, `"abc123"`, "null", " null\n", "true", `[{"token":"abc123"}]`} {
		_, err := NewSecretsManager(&fakeSecrets{value: str(in)}, "svc/token", time.Hour).Token(context.Background())
		e := apierr.As(err)
		if err == nil || e.Code != apierr.CodeConfiguration || e.Status() != 500 {
			t.Errorf("secret %q: got %v, want configuration_error", in, err)
		}
		if s := strings.TrimSpace(in); s != "" && strings.Contains(e.Message, s) {
			t.Errorf("message %q shows the secret", e.Message)
		}
	}
}

// A token secret that is JSON but neither a token nor an object of tokens is refused, and the
// cause (for the log) names what it is.
func TestMalformedTokenSecretNamed(t *testing.T) {
	for in, want := range map[string]string{`["abc123"]`: "a JSON array", `"abc123"`: "a quoted JSON string", "null": "JSON null"} {
		_, err := ParseTokens(in)
		if e := apierr.As(err); e.Code != apierr.CodeConfiguration || !strings.Contains(e.Unwrap().Error(), "token secret is "+want) {
			t.Errorf("%s: %v (cause %v), want configuration_error naming %s", in, err, errors.Unwrap(err), want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   apierr.Code
	}{
		{&smithy.GenericAPIError{Code: "ResourceNotFoundException"}, 500, apierr.CodeConfiguration},
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, 500, apierr.CodeConfiguration},
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, 503, apierr.CodeTokenUnavailable},
		{errors.New("dial tcp: connection refused"), 503, apierr.CodeTokenUnavailable},
		{context.DeadlineExceeded, 504, apierr.CodeTokenUnavailable},
	}
	for _, c := range cases {
		_, err := NewSecretsManager(&fakeSecrets{err: c.err}, "svc/token", time.Hour).Token(context.Background())
		if e := apierr.As(err); e.Status() != c.status || e.Code != c.code {
			t.Errorf("%v: got %d %s, want %d %s", c.err, e.Status(), e.Code, c.status, c.code)
		}
	}
}

func TestCachingAndRefusal(t *testing.T) {
	f := &fakeSecrets{value: str("one")}
	src := NewSecretsManager(f, "svc/token", time.Hour)
	now := time.Unix(1000, 0)
	src.Secret.now = func() time.Time { return now }
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if tok, _ := src.Token(ctx); tok != "one" {
			t.Fatalf("token %q", tok)
		}
	}
	if f.calls != 1 {
		t.Fatalf("%d reads for three calls, want 1", f.calls)
	}
	src.Refused("acedata", "stale-other") // not the cached token: nothing happens
	src.Token(ctx)
	if f.calls != 1 {
		t.Fatalf("refusing another token re-read the secret")
	}
	f.value = str("two")
	src.Refused("acedata", "one")
	if tok, _ := src.Token(ctx); tok != "two" || f.calls != 2 {
		t.Fatalf("after refusal: %q after %d reads, want two after 2", tok, f.calls)
	}
	now = now.Add(time.Hour)
	f.value = str("three")
	if tok, _ := src.Token(ctx); tok != "three" || f.calls != 3 {
		t.Fatalf("after TTL: %q after %d reads, want three after 3", tok, f.calls)
	}
}

// A missing or malformed secret is remembered for the failure TTL: a flood of calls makes one
// read, every call still fails closed, and an operator's fix counts once the period is over.
// A transient failure is not remembered.
func TestFailuresAreRememberedBriefly(t *testing.T) {
	for name, f := range map[string]*fakeSecrets{
		"malformed": {value: str(`{"other":"x"}`)},
		"empty":     {value: str("  ")},
		"missing":   {err: &smithy.GenericAPIError{Code: "ResourceNotFoundException"}},
	} {
		t.Run(name, func(t *testing.T) {
			src := NewSecretsManager(f, "svc/token", time.Hour)
			now := time.Unix(1000, 0)
			src.Secret.now = func() time.Time { return now }
			for i := 0; i < 20; i++ {
				_, err := src.Token(context.Background())
				if e := apierr.As(err); err == nil || e.Code != apierr.CodeConfiguration {
					t.Fatalf("call %d: %v, want configuration_error", i, err)
				}
				if remembered := errors.Is(err, apierr.ErrRemembered); remembered != (i > 0) {
					t.Fatalf("call %d: remembered %v", i, remembered)
				}
				now = now.Add(time.Second)
			}
			if f.calls != 1 {
				t.Fatalf("%d reads for 20 calls within %v, want 1", f.calls, DefaultFailureTTL)
			}
			f.value, f.err = str(`{"token":"fixed"}`), nil
			now = now.Add(DefaultFailureTTL - 20*time.Second) // the period is over
			if got, err := src.Token(context.Background()); err != nil || got != "fixed" || f.calls != 2 {
				t.Fatalf("after the fix: %q, %v, %d reads", got, err, f.calls)
			}
		})
	}
	f := &fakeSecrets{err: &smithy.GenericAPIError{Code: "ThrottlingException"}}
	src := NewSecretsManager(f, "svc/token", time.Hour)
	for i := 0; i < 3; i++ {
		if _, err := src.Token(context.Background()); apierr.As(err).Code != apierr.CodeTokenUnavailable || errors.Is(err, apierr.ErrRemembered) {
			t.Fatalf("throttling: %v", err)
		}
	}
	if f.calls != 3 {
		t.Fatalf("a transient failure was remembered: %d reads for 3 calls", f.calls)
	}
}

// The token secret as a plain string (AceData's), {"token": ...} (AceData's), or tokens by
// provider; a provider without one is told apart (ErrNoToken) so the chain skips it.
func TestTokensByProvider(t *testing.T) {
	for in, want := range map[string]map[string]string{
		"abc":             {"acedata": "abc"},
		`{"token":"abc"}`: {"acedata": "abc"},
		`{"capsolver":" cs ","capmonster":"cm","other":"x","yescaptcha":7}`: {"capsolver": "cs", "capmonster": "cm"},
		`{"acedata":"a","token":"t"}`:                                       {"acedata": "a"},
	} {
		got, err := ParseTokens(in)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%s: %v, %v", in, got, err)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: %v, want %v", in, got, want)
			}
		}
	}
	src := NewSecretsManager(&fakeSecrets{value: str(`{"capsolver":"cs"}`)}, "svc/token", time.Hour)
	if tok, err := For(src, "capsolver").Token(context.Background()); err != nil || tok != "cs" {
		t.Fatalf("capsolver: %q %v", tok, err)
	}
	_, err := For(src, "acedata").Token(context.Background())
	if !errors.Is(err, ErrNoToken) || apierr.As(err).Code != apierr.CodeConfiguration {
		t.Fatalf("acedata without a token: %v", err)
	}
}

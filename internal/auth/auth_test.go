package auth

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

type fakeSecrets struct{ value string }

func (f fakeSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, nil
}

func keysChecker(t *testing.T, secret string) *Checker {
	t.Helper()
	c, err := New(ModeKeys, secrets.NewSecret(fakeSecrets{secret}, "keys", time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeys(t *testing.T) {
	c := keysChecker(t, `{"alice": "alice-key-0123456789", "bob": "bob-key-abcdefghijkl", "carol": "sixteen-chars-xy"}`)
	ctx := context.Background()
	for header, want := range map[string]string{
		"Bearer sixteen-chars-xy":       "carol", // the shortest key accepted
		"Bearer alice-key-0123456789":   "alice",
		"bearer bob-key-abcdefghijkl":   "bob",
		"Bearer  bob-key-abcdefghijkl ": "bob",
		"BEARER alice-key-0123456789":   "alice",
		"bEaReR alice-key-0123456789":   "alice",
	} {
		if got, err := c.Authenticate(ctx, header, ""); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", header, got, err, want)
		}
	}
	for _, header := range []string{"", "Bearer ", "BEARER", "Bearerx alice-key-0123456789", "Bear alice-key-0123456789", "alice-key-0123456789", "Basic alice-key-0123456789", "Bearer alice-key-012345678", "Bearer alice-key-0123456789x"} {
		_, err := c.Authenticate(ctx, header, "arn:aws:iam::1:user/x")
		if e := apierr.As(err); e.Status() != 401 || e.Code != apierr.CodeInvalidToken {
			t.Errorf("%q: %v, want 401 invalid_token", header, err)
		}
	}
}

func TestBadKeySecrets(t *testing.T) {
	for _, secret := range []string{`["a"]`, `{}`, `{"a": "short"}`, `{"a": "fifteen-chars-x"}`, `not json`, `{"a": " alice-key-0123456789"}`, `{"a": "alice-key-0123456789\t"}`, `{"ok": "bob-key-abcdefghijkl", "a": "alice-key-0123456789 "}`} {
		_, err := keysChecker(t, secret).Authenticate(context.Background(), "Bearer whatever-key-123456", "")
		if e := apierr.As(err); e.Status() != 500 || e.Code != apierr.CodeConfiguration {
			t.Errorf("secret %q: %v, want configuration_error", secret, err)
		}
	}
}

func TestIAMAndOff(t *testing.T) {
	iam, _ := New(ModeIAM, nil)
	if _, err := iam.Authenticate(context.Background(), "Bearer anything-at-all-here", ""); apierr.As(err).Status() != 401 {
		t.Errorf("iam without a verified caller: %v", err)
	}
	if got, err := iam.Authenticate(context.Background(), "", "arn:aws:iam::123456789012:user/ci"); err != nil || got != "arn:aws:iam::123456789012:user/ci" {
		t.Errorf("iam: %q, %v", got, err)
	}
	off, _ := New(ModeOff, nil)
	if got, err := off.Authenticate(context.Background(), "", ""); err != nil || got != "anonymous" {
		t.Errorf("off: %q, %v", got, err)
	}
	for _, mode := range []string{"", "none", "KEYS"} {
		if _, err := New(mode, nil); err == nil {
			t.Errorf("mode %q accepted", mode)
		}
	}
	if _, err := New(ModeKeys, nil); err == nil {
		t.Error("keys mode without a secret accepted")
	}
}

type countingSecrets struct {
	value *string
	reads int
}

func (c *countingSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.reads++
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(*c.value)}, nil
}

// A keys secret that does not parse is remembered: a flood of requests makes one read, and the
// operator's fix works once the memory is gone. The period is an hour so that the flood is inside
// it however slow the machine; the period's end is secrets' to keep (TestFailuresAreRememberedBriefly
// there, on a fake clock), and ending the memory here stands for it.
func TestBadKeySecretIsRememberedBriefly(t *testing.T) {
	value := `{"alice": "short"}`
	src := &countingSecrets{value: &value}
	keys := secrets.NewSecret(src, "keys", time.Hour)
	keys.RememberFailures(time.Hour)
	c, err := New(ModeKeys, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := c.Authenticate(context.Background(), "Bearer junk-key-0123456789", ""); apierr.As(err).Code != apierr.CodeConfiguration {
			t.Fatalf("a bad keys secret: %v", err)
		}
	}
	if src.reads != 1 {
		t.Fatalf("%d reads for 20 requests", src.reads)
	}
	value = `{"alice": "alice-key-0123456789"}`
	keys.RememberFailures(0)
	if got, err := c.Authenticate(context.Background(), "Bearer alice-key-0123456789", ""); err != nil || got != "alice" || src.reads != 2 {
		t.Fatalf("after the fix: %q, %v, %d reads", got, err, src.reads)
	}
}

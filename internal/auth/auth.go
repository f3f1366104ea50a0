// Package auth decides whether a caller may use the HTTPS API. Three modes, chosen explicitly:
//
//   - keys: the caller presents one of our client keys as "authorization: Bearer <key>", exactly as
//     the upstream's own clients do, so its SDKs work unchanged. Keys live in one Secrets Manager
//     secret, a JSON object of client name to key, cached like the token, compared in constant time.
//   - iam: API Gateway has verified a SigV4 signature; the function requires its verdict in the
//     event, so a route left open by mistake is still refused.
//   - off: no check, for local runs and tests only. A deployed stack has no way to choose it.
//
// The caller's key is never forwarded anywhere: the upstream always gets our token.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/secrets"
)

// Modes.
const (
	ModeKeys = "keys"
	ModeIAM  = "iam"
	ModeOff  = "off"
)

// minKeyLength refuses guessable client keys in the secret.
const minKeyLength = 16

// Checker authenticates requests in one mode.
type Checker struct {
	mode string
	keys *secrets.Secret
}

// New returns a Checker for mode; keys is required for ModeKeys.
func New(mode string, keys *secrets.Secret) (*Checker, error) {
	switch mode {
	case ModeKeys:
		if keys == nil {
			return nil, errors.New("AUTH_MODE=keys needs CLIENT_KEYS_SECRET_ID")
		}
		keys.Check(func(raw string) error { _, err := parseKeys(raw); return err })
	case ModeIAM, ModeOff:
	default:
		return nil, fmt.Errorf("AUTH_MODE must be keys, iam or off, not %q", mode)
	}
	return &Checker{mode: mode, keys: keys}, nil
}

// Mode is the checker's mode.
func (c *Checker) Mode() string { return c.mode }

func unauthorized(msg string) error {
	return apierr.New(apierr.CodeInvalidToken, "%s", msg)
}

// Authenticate returns the caller's name (a client name, an IAM ARN, or "anonymous" when off).
// authorization is the request's header; iamCaller is API Gateway's verified caller, if any.
func (c *Checker) Authenticate(ctx context.Context, authorization, iamCaller string) (string, error) {
	switch c.mode {
	case ModeOff:
		return "anonymous", nil
	case ModeIAM:
		if iamCaller == "" {
			return "", unauthorized("this API needs AWS SigV4 (IAM) authorization")
		}
		return iamCaller, nil
	}
	// The scheme is case-insensitive (RFC 7235 §2.1): Bearer, bearer and BEARER are one.
	scheme, presented, ok := strings.Cut(authorization, " ")
	ok = ok && strings.EqualFold(scheme, "Bearer")
	presented = strings.TrimSpace(presented)
	if !ok || presented == "" {
		return "", unauthorized("missing authorization: send 'authorization: Bearer <your key>'")
	}
	raw, err := c.keys.Value(ctx)
	if err != nil {
		return "", err
	}
	keys, err := parseKeys(raw)
	if err != nil {
		return "", err
	}
	if name := match(keys, presented); name != "" {
		return name, nil
	}
	return "", unauthorized("invalid authorization key")
}

// match compares the presented key with every key, in constant time over equal-length digests
// and without stopping at the first match, so timing says nothing about which key came close.
func match(keys map[string]string, presented string) string {
	p := sha256.Sum256([]byte(presented))
	found := ""
	for name, key := range keys {
		k := sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(p[:], k[:]) == 1 {
			found = name
		}
	}
	return found
}

func parseKeys(raw string) (map[string]string, error) {
	var keys map[string]string
	if err := json.Unmarshal([]byte(raw), &keys); err != nil || len(keys) == 0 {
		return nil, apierr.Wrap(errors.New(`client keys secret must be a JSON object {"client name": "key", ...}`),
			apierr.CodeConfiguration, "a secret of this service is not configured correctly")
	}
	for name, key := range keys {
		// A presented key is trimmed, so one stored with spaces around it could never match.
		if strings.TrimSpace(key) != key {
			return nil, apierr.Wrap(fmt.Errorf("client key %q has leading or trailing white space", name),
				apierr.CodeConfiguration, "a secret of this service is not configured correctly")
		}
		if len(key) < minKeyLength {
			return nil, apierr.Wrap(fmt.Errorf("client key %q is shorter than %d characters", name, minKeyLength),
				apierr.CodeConfiguration, "a secret of this service is not configured correctly")
		}
	}
	return keys, nil
}

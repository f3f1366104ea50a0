//go:build e2e

package client_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
)

// The examples and tests run against `make run`'s real binary (with its upstream emulator) and
// moto_server for S3 and Secrets Manager: RECOGNIZER_URL is a server without authentication,
// keyedURL one with AuthMode=keys.
var keyedURL string

const (
	sourceBucket  = "examples"
	resultsBucket = "examples-results"
	exampleKey    = "example-key-0123456789abcdef"
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "client")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	bin, err := testenv.BuildLocal(ctx, dir)
	if err != nil {
		return 1, err
	}
	moto, err := testenv.StartMoto()
	if err != nil {
		return 1, fmt.Errorf("the client's tests need moto_server: %w", err)
	}
	defer moto.Close()
	cfg := testenv.AWSConfig(moto.URL)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	for _, b := range []string{sourceBucket, resultsBucket} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			return 1, err
		}
	}
	img, err := os.ReadFile("../events/images/cars-3x3.jpg")
	if err != nil {
		return 1, err
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(sourceBucket), Key: aws.String("challenges/cars.jpg"), Body: bytes.NewReader(img)}); err != nil {
		return 1, err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("client-keys"),
		SecretString: aws.String(`{"example": "` + exampleKey + `"}`)}); err != nil {
		return 1, err
	}
	env := append(testenv.AWSEnv(moto.URL), "SOURCE_BUCKETS="+sourceBucket, "RESULTS_BUCKET="+resultsBucket)
	open, err := testenv.StartLocal(bin, env...)
	if err != nil {
		return 1, err
	}
	defer open.Close()
	// The keyed server also forwards reports; the open one does not.
	keyed, err := testenv.StartLocal(bin, append(env, "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID=client-keys", "FORWARD_REPORTS=on")...)
	if err != nil {
		return 1, err
	}
	defer keyed.Close()
	os.Setenv("RECOGNIZER_URL", open.URL)
	keyedURL = keyed.URL
	return m.Run(), nil
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// s3At is a client for the S3 emulator the function talks to, with the function's region and
// credentials, path-style as the function addresses an emulator.
func s3At(e env) *s3.Client {
	endpoint := e.get("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = e.get("AWS_ENDPOINT_URL")
	}
	cfg := aws.Config{
		Region:       region(e),
		Credentials:  credentials.NewStaticCredentialsProvider(e.get("AWS_ACCESS_KEY_ID"), e.get("AWS_SECRET_ACCESS_KEY"), e.get("AWS_SESSION_TOKEN")),
		BaseEndpoint: aws.String(endpoint),
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// createSecret makes a Secrets Manager secret on the emulator at AWS_ENDPOINT_URL.
func createSecret(ctx context.Context, e env, name, value string) error {
	c := secretsmanager.New(secretsmanager.Options{
		Region:       region(e),
		Credentials:  credentials.NewStaticCredentialsProvider(e.get("AWS_ACCESS_KEY_ID"), e.get("AWS_SECRET_ACCESS_KEY"), ""),
		BaseEndpoint: aws.String(e.get("AWS_ENDPOINT_URL")),
	})
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	return err
}

func region(e env) string {
	if r := e.get("AWS_REGION"); r != "" {
		return r
	}
	return e.get("AWS_DEFAULT_REGION")
}

// createBucket makes a bucket in the client's region; one that exists already is fine.
func createBucket(ctx context.Context, c *s3.Client, bucket string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if r := c.Options().Region; r != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(r)}
	}
	_, err := c.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) {
		return nil
	}
	return err
}

func putFile(ctx context.Context, c *s3.Client, bucket, key, file string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b)})
	return len(b), err
}

// getObject reads an object; found is false when it does not exist.
func getObject(ctx context.Context, c *s3.Client, bucket, key string) (body []byte, found bool, err error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound") {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err = io.ReadAll(out.Body)
	return body, err == nil, err
}

// Package storage reads callers' images from S3 and writes answers back, translating S3's
// failures into errors a caller can act on (403, 404, 413) or that say "try again" (5xx).
package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/uploads"
)

// S3API is the part of the S3 client the store uses.
type S3API interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// Store reads and writes objects.
type Store struct{ client S3API }

// New returns a Store using client.
func New(client S3API) *Store { return &Store{client: client} }

// Object is what a HeadObject tells about an object: the uploads domain's type, which this S3
// adapter fills.
type Object = uploads.Object

var _ uploads.Store = (*Store)(nil)

// Stat describes an object without downloading it.
func (s *Store) Stat(ctx context.Context, bucket, key string) (*Object, error) {
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, classify(err, bucket, key)
	}
	meta := map[string]string{}
	for k, v := range head.Metadata {
		meta[strings.ToLower(k)] = v
	}
	return &Object{Size: aws.ToInt64(head.ContentLength), ETag: aws.ToString(head.ETag), VersionID: aws.ToString(head.VersionId), Metadata: meta}, nil
}

// Get downloads at most maxBytes of an object. A larger one is refused from the answer's
// Content-Length, before its body is read: one round trip, nothing large downloaded.
func (s *Store) Get(ctx context.Context, bucket, key string, maxBytes int) ([]byte, error) {
	data, _, err := s.GetWithETag(ctx, bucket, key, maxBytes)
	return data, err
}

// GetWithETag is Get, also returning the object's ETag (for a later PutIf).
func (s *Store) GetWithETag(ctx context.Context, bucket, key string, maxBytes int) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, "", classify(err, bucket, key)
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); n > int64(maxBytes) {
		return nil, "", apierr.New(apierr.CodeTooLarge,
			"s3://%s/%s is %d bytes; the limit is %d", bucket, key, n, maxBytes)
	}
	// Sized from Content-Length, the body is read into one buffer: io.ReadAll's doubling would
	// hold about twice a large object while reading it.
	buf := bytes.NewBuffer(make([]byte, 0, min(aws.ToInt64(out.ContentLength), int64(maxBytes))+bytes.MinRead))
	_, err = buf.ReadFrom(io.LimitReader(out.Body, int64(maxBytes)+1))
	data := buf.Bytes()
	if err != nil {
		return nil, "", classify(err, bucket, key) // a stalled body times out as 504, a broken one is 503
	}
	if len(data) > maxBytes { // no Content-Length, and more than the limit
		return nil, "", apierr.New(apierr.CodeTooLarge,
			"s3://%s/%s is larger than %d bytes", bucket, key, maxBytes)
	}
	return data, aws.ToString(out.ETag), nil
}

// Write stores a JSON document.
func (s *Store) Write(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.put(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
	return err
}

// ErrConflict is returned by WriteConditional when the precondition failed: someone else wrote
// the object first (the uploads domain's sentinel).
var ErrConflict = uploads.ErrConflict

// WriteConditional stores a JSON document with user metadata only if the object does not exist
// (ifMatch "") or still has ETag ifMatch, so two concurrent writers cannot both succeed.
func (s *Store) WriteConditional(ctx context.Context, bucket, key string, body []byte, metadata map[string]string, ifMatch string) error {
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), Metadata: metadata}
	if ifMatch == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(ifMatch)
	}
	_, err := s.put(ctx, in)
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict") {
		return ErrConflict
	}
	return err
}

// PutIf stores a JSON document only if no object is there (ifMatch "") or the object there still
// has ETag ifMatch, and returns the new object's ETag. written is false when the condition did
// not hold: another writer came first, or the object is gone since it was read (S3 answers a
// 404 to If-Match), so the caller only has to read again.
func (s *Store) PutIf(ctx context.Context, bucket, key string, body []byte, ifMatch string) (etag string, written bool, err error) {
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}
	if ifMatch == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(ifMatch)
	}
	out, err := s.put(ctx, in)
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "NotFound":
			return "", false, nil
		}
	}
	if err != nil {
		return "", false, err
	}
	return aws.ToString(out.ETag), true, nil
}

func (s *Store) put(ctx context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
	n := int64(in.Body.(*bytes.Reader).Len())
	in.ContentType, in.ContentLength = aws.String("application/json"), &n
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict") {
			return nil, err
		}
		return nil, apierr.Wrap(err, apierr.CodeStorageUnavailable,
			"storing the result in S3 failed; try again")
	}
	return out, nil
}

func classify(err error, bucket, key string) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NotFound", "NoSuchKey", "NoSuchBucket":
			return apierr.Wrap(err, apierr.CodeS3NotFound,
				fmt.Sprintf("s3://%s/%s does not exist", bucket, key))
		case "Forbidden", "AccessDenied":
			return apierr.Wrap(err, apierr.CodeS3Forbidden,
				fmt.Sprintf("this service may not read s3://%s/%s", bucket, key))
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return apierr.Wrap(err, apierr.CodeStorageUnavailable, "reading the image from S3 timed out").AtDeadline()
	}
	return apierr.Wrap(err, apierr.CodeStorageUnavailable, "S3 is unavailable; try again")
}

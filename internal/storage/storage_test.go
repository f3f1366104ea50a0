//go:build e2e

package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/storage"
)

// Against moto_server's S3, through the real SDK.
func TestStoreAgainstMoto(t *testing.T) {
	moto, err := testenv.StartMoto()
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Close()
	client := s3.NewFromConfig(testenv.AWSConfig(moto.URL), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	st := storage.New(client)

	// Writers of a new object: exactly one wins, every other gets ErrConflict. They run one after
	// another: moto checks the condition and writes in two steps, so concurrent writers can both
	// win there (seen once in many runs); S3 itself evaluates the condition atomically.
	errs := make([]error, 8)
	for i := range errs {
		errs[i] = st.WriteConditional(ctx, "bkt", "results/x.json", []byte(`{"n":1}`), map[string]string{"source-tag": "e:1"}, "")
	}
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrConflict):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want exactly 1", wins)
	}

	obj, err := st.Stat(ctx, "bkt", "results/x.json")
	if err != nil || obj.Metadata["source-tag"] != "e:1" || obj.ETag == "" {
		t.Fatalf("stat %+v, %v", obj, err)
	}
	// Replacing needs the current ETag.
	if err := st.WriteConditional(ctx, "bkt", "results/x.json", []byte(`{"n":2}`), nil, `"stale"`); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("write with a stale ETag: %v", err)
	}
	if err := st.WriteConditional(ctx, "bkt", "results/x.json", []byte(`{"n":2}`), nil, obj.ETag); err != nil {
		t.Fatalf("write with the current ETag: %v", err)
	}
	if data, err := st.Get(ctx, "bkt", "results/x.json", 100); err != nil || string(data) != `{"n":2}` {
		t.Fatalf("read %q, %v", data, err)
	}
	if _, err := st.Get(ctx, "bkt", "results/x.json", 3); apierr.As(err).Code != apierr.CodeTooLarge {
		t.Fatalf("read over the limit: %v", err)
	}
	if _, err := st.Stat(ctx, "bkt", "missing"); apierr.As(err).Status() != 404 {
		t.Fatalf("missing object: %v", err)
	}
	if _, err := st.Stat(ctx, "no-such-bucket", "k"); apierr.As(err).Status() != 404 {
		t.Fatalf("missing bucket: %v", err)
	}
}

// PutIf creates only where nothing is, replaces only the version read, and tells a lost race
// (someone else's write, or an object gone since it was read) from a fault.
func TestPutIfAgainstMoto(t *testing.T) {
	moto, err := testenv.StartMoto()
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Close()
	client := s3.NewFromConfig(testenv.AWSConfig(moto.URL), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	st := storage.New(client)
	first, ok, err := st.PutIf(ctx, "bkt", "k.json", []byte(`{"n":1}`), "")
	if err != nil || !ok || first == "" {
		t.Fatalf("create: %q %v %v", first, ok, err)
	}
	if _, ok, err := st.PutIf(ctx, "bkt", "k.json", []byte(`{"n":2}`), ""); err != nil || ok {
		t.Fatalf("a second create: written %v, %v", ok, err)
	}
	data, etag, err := st.GetWithETag(ctx, "bkt", "k.json", 100)
	if err != nil || string(data) != `{"n":1}` || etag != first {
		t.Fatalf("read %q %q %v, want the first write and its ETag %q", data, etag, err, first)
	}
	second, ok, err := st.PutIf(ctx, "bkt", "k.json", []byte(`{"n":3}`), first)
	if err != nil || !ok || second == first {
		t.Fatalf("replace with the ETag read: %q %v %v", second, ok, err)
	}
	if _, ok, err := st.PutIf(ctx, "bkt", "k.json", []byte(`{"n":4}`), first); err != nil || ok {
		t.Fatalf("replace with a stale ETag: written %v, %v", ok, err)
	}
	if _, ok, err := st.PutIf(ctx, "bkt", "gone.json", []byte(`{}`), first); err != nil || ok {
		t.Fatalf("replace of a missing object: written %v, %v", ok, err)
	}
	if _, _, err := st.GetWithETag(ctx, "bkt", "gone.json", 100); apierr.As(err).Code != apierr.CodeS3NotFound {
		t.Fatalf("missing object: %v", err)
	}
	if _, _, err := st.PutIf(ctx, "no-such-bucket", "k.json", []byte(`{}`), ""); apierr.As(err).Code != apierr.CodeStorageUnavailable {
		t.Fatalf("a fault must be an error, not a lost race: %v", err)
	}
}

package uploads

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

// versionedBucket keeps what S3 keeps: each put of a key is a new version, its ETag the MD5 of
// its bytes and, when versioning is on, a version id of its own ("null" while it is suspended);
// a conditional write fails when the object exists (no If-Match) or has another ETag.
type versionedBucket struct {
	versioning string // "off", "on" or "suspended"
	objects    map[string]*storedObject
	versions   int
	gets       int
	writes     []string
}

type storedObject struct {
	body      []byte
	etag      string
	versionID string
	metadata  map[string]string
}

func newVersionedBucket(versioning string) *versionedBucket {
	return &versionedBucket{versioning: versioning, objects: map[string]*storedObject{}}
}

func (b *versionedBucket) put(key string, body []byte, metadata map[string]string) {
	o := &storedObject{body: body, etag: fmt.Sprintf(`"%x"`, md5.Sum(body)), metadata: metadata}
	switch b.versioning {
	case "on":
		b.versions++
		o.versionID = fmt.Sprintf("v%d", b.versions)
	case "suspended":
		o.versionID = "null"
	}
	b.objects[key] = o
}

func (b *versionedBucket) Stat(_ context.Context, _, key string) (*Object, error) {
	o, ok := b.objects[key]
	if !ok {
		return nil, apierr.New(apierr.CodeS3NotFound, "no such object")
	}
	return &Object{Size: int64(len(o.body)), ETag: o.etag, VersionID: o.versionID, Metadata: o.metadata}, nil
}

func (b *versionedBucket) Get(_ context.Context, _, key string, _ int) ([]byte, error) {
	b.gets++
	o, ok := b.objects[key]
	if !ok {
		return nil, apierr.New(apierr.CodeS3NotFound, "no such object")
	}
	return o.body, nil
}

func (b *versionedBucket) WriteConditional(_ context.Context, _, key string, body []byte, metadata map[string]string, ifMatch string) error {
	o, exists := b.objects[key]
	if (ifMatch == "" && exists) || (ifMatch != "" && (!exists || o.etag != ifMatch)) {
		return ErrConflict
	}
	b.put(key, body, metadata)
	b.writes = append(b.writes, key)
	return nil
}

func versionedProcessor(store Store, up recognition.Upstream) *Processor {
	return &Processor{
		Service: &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: up},
		Store:   store,
		Config:  Config{InputPrefix: "incoming/", ResultsPrefix: "results/"},
	}
}

// Two versions of one object each get their own answer: the second upload is not a redelivery
// of the first, its answer replaces the first's, and only a redelivery of the same version
// writes nothing. In a bucket whose versioning is suspended every version is "null", so the
// ETag tells them apart.
func TestEveryVersionOfAnObjectIsAnswered(t *testing.T) {
	first := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{4}}.PNG()
	second := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{0, 8}}.PNG()
	const key, resultKey = "incoming/cars/x.png", "results/cars/x.png.json"
	for _, versioning := range []string{"off", "on", "suspended"} {
		t.Run("versioning "+versioning, func(t *testing.T) {
			bucket := newVersionedBucket(versioning)
			p := versionedProcessor(bucket, fixedAnswer{})
			for i, body := range [][]byte{first, second} {
				bucket.put(key, body, nil)
				current := *bucket.objects[key]
				bucket.writes = nil
				out := p.Process(context.Background(), Record{Bucket: "b", Key: key, ETag: current.etag, VersionID: current.versionID}, "trace")
				if out.Status != "done" || len(bucket.writes) != 1 {
					t.Fatalf("version %d: %+v, writes %q; want its own answer written", i+1, out, bucket.writes)
				}
				var doc result
				if err := json.Unmarshal(bucket.objects[resultKey].body, &doc); err != nil {
					t.Fatal(err)
				}
				if doc.Source.ETag != current.etag[1:len(current.etag)-1] || doc.Source.VersionID != current.versionID {
					t.Fatalf("version %d: the answer's source is %+v, want etag %s version %q", i+1, doc.Source, current.etag, current.versionID)
				}
				bucket.writes = nil
				if again := p.Process(context.Background(), Record{Bucket: "b", Key: key}, "trace"); again.Status != "duplicate" || len(bucket.writes) != 0 {
					t.Fatalf("version %d redelivered: %+v, writes %q", i+1, again, bucket.writes)
				}
			}
		})
	}
}

// What can be refused from the object's size or its question is refused before it is read.
func TestRefusedBeforeDownload(t *testing.T) {
	small := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j"}.PNG()
	for _, c := range []struct {
		key  string
		body []byte
		code apierr.Code
	}{
		{"incoming/cars/big.png", make([]byte, imaging.DefaultLimits.MaxBytes+1), apierr.CodeTooLarge},
		{"incoming/giraffes/x.png", small, apierr.CodeUnsupportedQuestion},
	} {
		bucket := newVersionedBucket("off")
		bucket.put(c.key, c.body, nil)
		out := versionedProcessor(bucket, fixedAnswer{}).Process(context.Background(), Record{Bucket: "b", Key: c.key}, "trace")
		if out.Status != "failed" || out.Code != c.code || bucket.gets != 0 {
			t.Errorf("%s: %+v after %d downloads; want %s before any", c.key, out, bucket.gets, c.code)
		}
	}
}

type busyUpstream struct{}

func (busyUpstream) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	return nil, apierr.New(apierr.CodeTooManyRequests, "rate limited")
}

// A provider's passing trouble is retried by Lambda; no final answer is written for it.
func TestTransientFailureWritesNothing(t *testing.T) {
	bucket := newVersionedBucket("off")
	bucket.put("incoming/cars/x.png", testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j"}.PNG(), nil)
	out := versionedProcessor(bucket, busyUpstream{}).Process(context.Background(), Record{Bucket: "b", Key: "incoming/cars/x.png"}, "trace")
	if out.Status != "retry" || out.Code != apierr.CodeTooManyRequests || out.Err == nil || len(bucket.writes) != 0 {
		t.Fatalf("%+v, writes %q; want a retry and nothing written", out, bucket.writes)
	}
}

package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
)

func TestFirstFolder(t *testing.T) {
	for in, want := range map[string]string{
		"cars/x.jpg":               "cars",
		"traffic lights/a/b.png":   "traffic lights",
		"x.jpg":                    "",
		"school bus/deep/er/x.png": "school bus",
	} {
		if got := firstFolder(in); got != want {
			t.Errorf("firstFolder(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVersionTag(t *testing.T) {
	if got := versionTag(&Object{ETag: `"abc"`, VersionID: "null"}); got != "e:abc" {
		t.Errorf("unversioned: %q", got)
	}
	if got := versionTag(&Object{ETag: `"abc"`, VersionID: "v7"}); got != "v:v7" {
		t.Errorf("versioned: %q", got)
	}
}

// countingStore fails the test on any S3 call: a broken configuration must read and write nothing.
type countingStore struct{ calls int }

func (c *countingStore) Stat(context.Context, string, string) (*Object, error) {
	c.calls++
	return &Object{}, nil
}

func (c *countingStore) Get(context.Context, string, string, int) ([]byte, error) {
	c.calls++
	return nil, nil
}

func (c *countingStore) WriteConditional(context.Context, string, string, []byte, map[string]string, string) error {
	c.calls++
	return nil
}

func TestBrokenConfigurationFailsClosed(t *testing.T) {
	for name, make := range map[string]func(Store) RecordProcessor{
		"overlapping prefixes": func(s Store) RecordProcessor {
			return &Processor{Store: s, Config: Config{InputPrefix: "data/", ResultsPrefix: "data/out/"}}
		},
		"results contain inputs": func(s Store) RecordProcessor {
			return &Processor{Store: s, Config: Config{InputPrefix: "data/out/", ResultsPrefix: "data/"}}
		},
		"empty input prefix": func(s Store) RecordProcessor {
			return &Processor{Store: s, Config: Config{InputPrefix: "", ResultsPrefix: "results/"}}
		},
		"configuration refused at start": func(Store) RecordProcessor {
			return Misconfigured{Cause: errors.New("TOKEN_SECRET_ID must be set")}
		},
	} {
		t.Run(name, func(t *testing.T) {
			store := &countingStore{}
			p := make(store)
			for _, key := range []string{"data/out/x.json", "data/x.png", "incoming/cars/x.png", "elsewhere/x"} {
				out := p.Process(context.Background(), Record{Bucket: "b", Key: key}, "trace")
				if out.Status != Retry || out.Code != apierr.CodeConfiguration || out.Err == nil {
					t.Fatalf("%s: %+v, want a retry with configuration_error", key, out)
				}
			}
			if store.calls != 0 {
				t.Fatalf("%d S3 calls with a broken configuration", store.calls)
			}
		})
	}
}

// deniedResults answers a look at any result with 403, as S3 may for a missing key when the
// role's ListBucket grant does not count for it.
type deniedResults struct{ memStore }

func (d *deniedResults) Stat(ctx context.Context, bucket, key string) (*Object, error) {
	if strings.HasPrefix(key, "results/") {
		return nil, apierr.New(apierr.CodeS3Forbidden, "denied")
	}
	return d.memStore.Stat(ctx, bucket, key)
}

func TestResultHeadDeniedMeansNotYetWritten(t *testing.T) {
	store := &deniedResults{memStore{image: testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{4}}.PNG(), results: map[string]memObject{}}}
	p := &Processor{
		Service: &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: fixedAnswer{}},
		Store:   store,
		Config:  Config{InputPrefix: "incoming/", ResultsPrefix: "results/"},
	}
	out := p.Process(context.Background(), Record{Bucket: "b", Key: "incoming/cars/x.png"}, "trace")
	if out.Status != Done || len(store.writes) != 1 || store.writes[0] != "results/cars/x.png.json" {
		t.Fatalf("%+v, writes %v", out, store.writes)
	}
}

// digestKey is the result key named by digest for the upload incoming/<rest>.
func digestKey(rest string) string {
	sum := sha256.Sum256([]byte(rest))
	return "results/~" + hex.EncodeToString(sum[:]) + ".json"
}

// Which keys are the processor's, by example: under the input prefix, naming an object and not a
// folder. A result goes to the same path under the results prefix, with .json added, unless that
// would be over S3's 1024 bytes or keep a . or .. segment: then it is named by the digest.
func TestKeyRules(t *testing.T) {
	image := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{4}}.PNG()
	long := "cars/" + strings.Repeat("x", 1024-len("incoming/cars/"))
	fits := "cars/" + strings.Repeat("x", 1024-len("results/cars/.json"))
	for key, want := range map[string]string{
		"incoming/" + long:                  digestKey(long),
		"incoming/" + fits + "x":            digestKey(fits + "x"), // 1021 bytes: its result would be 1025
		"incoming/" + fits:                  "results/" + fits + ".json",
		"incoming/cars/../x.png":            digestKey("cars/../x.png"),
		"incoming/cars/./x.png":             digestKey("cars/./x.png"),
		"incoming/cars/..x.png":             "results/cars/..x.png.json",
		"incoming/~" + digestKey("x")[9:73]: digestKey("~" + digestKey("x")[9:73]),
		"incoming/cars/\xff.png":            "",
		"incoming/cars/x.png":               "results/cars/x.png.json",
		"incoming/cars/ü x+y.jpg":           "results/cars/ü x+y.jpg.json",
		"incoming/x.png":                    "results/x.png.json", // ours; fails for want of a question
		"incoming/":                         "",
		"incoming/cars/":                    "",
		"results/cars/x.png.json":           "",
		"elsewhere/cars/x.png":              "",
		"incomingcars/x.png":                "",
	} {
		store := &memStore{image: image, results: map[string]memObject{}}
		out := newTestProcessor(store).Process(context.Background(), Record{Bucket: "b", Key: key}, "t")
		if len(out.ResultKey) > MaxKeyBytes || (want == "" && out.Status != "skipped") {
			t.Errorf("key %.40q: outcome %+v", key, out)
		}
		got := ""
		if len(store.writes) == 1 {
			got = store.writes[0]
		}
		if got != want || len(store.writes) > 1 {
			t.Errorf("key %q: writes %q, want %q", key, store.writes, want)
		}
	}
}

type refusingUpstream struct{ calls int }

func (r *refusingUpstream) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	r.calls++
	return nil, apierr.Wrap(recognition.ErrRejected, apierr.CodeUpstreamRejected, "the recognition provider refused the picture")
}

// A provider's refusal of the picture is permanent: one call, an error result, no retry.
func TestRefusedPictureIsAnErrorResult(t *testing.T) {
	store := &memStore{image: testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j"}.PNG(), results: map[string]memObject{}}
	up := &refusingUpstream{}
	p := newTestProcessor(store)
	p.Service.Upstream = up
	out := p.Process(context.Background(), Record{Bucket: "b", Key: "incoming/cars/x.png"}, "t")
	if out.Status != "failed" || out.Err != nil || out.Code != apierr.CodeUpstreamRejected || up.calls != 1 || len(store.writes) != 1 {
		t.Fatalf("%+v after %d calls, writes %v", out, up.calls, store.writes)
	}
}

// countingUpstream answers like fixedAnswer and counts the calls a paid provider would bill.
type countingUpstream struct {
	fixedAnswer
	calls int
}

func (c *countingUpstream) Recognize(ctx context.Context, img []byte, label string, size int) (*recognition.Solution, error) {
	c.calls++
	return c.fixedAnswer.Recognize(ctx, img, label, size)
}

// A picture too thin for its grid (400×3, 3×400) is the uploader's mistake, answered before any
// provider is paid for it.
func TestTooSmallPictureReachesNoProvider(t *testing.T) {
	for _, size := range [][2]int{{400, 3}, {3, 400}, {23, 300}} {
		var buf bytes.Buffer
		png.Encode(&buf, image.NewGray(image.Rect(0, 0, size[0], size[1])))
		store := &memStore{image: buf.Bytes(), results: map[string]memObject{}, meta: map[string]string{"grid": "3x3"}}
		up := &countingUpstream{}
		p := newTestProcessor(store)
		p.Service.Upstream = up
		out := p.Process(context.Background(), Record{Bucket: "b", Key: "incoming/cars/x.png"}, "t")
		if out.Status != "failed" || out.Code != apierr.CodeInvalidImage || up.calls != 0 {
			t.Errorf("%dx%d: %+v after %d provider calls", size[0], size[1], out, up.calls)
		}
	}
}

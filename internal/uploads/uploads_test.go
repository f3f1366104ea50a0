package uploads

import (
	"context"
	"errors"
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

// Which keys are the processor's, by example: under the input prefix, naming an object and not a
// folder. A result goes to the same path under the results prefix, with .json added.
func TestKeyRules(t *testing.T) {
	image := testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{4}}.PNG()
	for key, want := range map[string]string{
		"incoming/cars/x.png":     "results/cars/x.png.json",
		"incoming/cars/ü x+y.jpg": "results/cars/ü x+y.jpg.json",
		"incoming/x.png":          "results/x.png.json", // ours; fails for want of a question
		"incoming/":               "",
		"incoming/cars/":          "",
		"results/cars/x.png.json": "",
		"elsewhere/cars/x.png":    "",
		"incomingcars/x.png":      "",
	} {
		store := &memStore{image: image, results: map[string]memObject{}}
		newTestProcessor(store).Process(context.Background(), Record{Bucket: "b", Key: key}, "t")
		got := ""
		if len(store.writes) == 1 {
			got = store.writes[0]
		}
		if got != want || len(store.writes) > 1 {
			t.Errorf("key %q: writes %q, want %q", key, store.writes, want)
		}
	}
}

package main

// The fast tier: the handler in process (lambda.NewHandler(h).Invoke) over every events/ fixture
// of this function, with in-memory fakes for S3 and the upstream. The end-to-end tier runs the
// real bootstrap against moto.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/recaptcha-recognizer/recognizer/internal/apierr"
	"github.com/recaptcha-recognizer/recognizer/internal/app"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/imaging"
	"github.com/recaptcha-recognizer/recognizer/internal/metrics"
	"github.com/recaptcha-recognizer/recognizer/internal/observe"
	"github.com/recaptcha-recognizer/recognizer/internal/question"
	"github.com/recaptcha-recognizer/recognizer/internal/recognition"
	"github.com/recaptcha-recognizer/recognizer/internal/uploads"
)

func fastHandler(t *testing.T, store uploads.Store, upstream recognition.Upstream, out *strings.Builder) handler {
	t.Helper()
	getenv, err := testenv.FastTierEnv("../../events", "S3EventFunction")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := app.UploadsConfigFromEnv(getenv, "us-east-1")
	if err != nil {
		t.Fatalf("events/env.json: %v", err)
	}
	return handler{
		proc: &uploads.Processor{
			Service: &recognition.Service{Questions: question.Default, Limits: imaging.DefaultLimits, Upstream: upstream},
			Store:   store,
			Config:  uploads.Config{InputPrefix: cfg.InputPrefix, ResultsPrefix: cfg.ResultsPrefix, ResultsBucket: cfg.ResultsBucket},
		},
		observe: &observe.Observer{Log: app.NewLogger(out), Metrics: metrics.New(out, "s3event", nil)},
	}
}

// Every record of every S3 fixture ends with a result holding a solution, at the key the input's
// decoded key gives, one log line and one metrics line each.
func TestHandlerOverEveryFixture(t *testing.T) {
	fixtures, _ := filepath.Glob("../../events/s3-*.json")
	if len(fixtures) < 3 {
		t.Fatalf("%d S3 fixtures in events/", len(fixtures))
	}
	image, err := os.ReadFile("../../events/images/cars-3x3.jpg")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range fixtures {
		t.Run(filepath.Base(file), func(t *testing.T) {
			payload, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.S3Event
			if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) == 0 {
				t.Fatalf("%s: %v", file, err)
			}
			var out strings.Builder
			store := &testenv.MemStore{Fallback: image}
			if _, err := lambda.NewHandler(fastHandler(t, store, testenv.FakeUpstream{}, &out).Handle).Invoke(context.Background(), payload); err != nil {
				t.Fatalf("the invocation failed: %v\n%s", err, out.String())
			}
			for _, rec := range ev.Records {
				r := recordOf(rec)
				key := r.Bucket + "/results/" + strings.TrimPrefix(r.Key, "incoming/") + ".json"
				var doc struct {
					Solution *struct{ Objects []int }
					Error    *struct{ Code string }
				}
				body, ok := store.Objects()[key]
				if !ok || json.Unmarshal(body, &doc) != nil || doc.Solution == nil {
					t.Fatalf("record %q: result at %s: %s (store: %v)\nlog:\n%s", r.Key, key, body, keys(store), out.String())
				}
			}
			if n := strings.Count(out.String(), `"msg":"record"`); n != len(ev.Records) {
				t.Fatalf("%d record lines for %d records:\n%s", n, len(ev.Records), out.String())
			}
		})
	}
}

func keys(s *testenv.MemStore) []string {
	var out []string
	for k := range s.Objects() {
		out = append(out, k)
	}
	return out
}

// A transient failure fails the invocation (Lambda retries) and writes no result; a panic in one
// record is that record's retry, not the end of the others.
func TestHandlerRetryAndPanic(t *testing.T) {
	payload, _ := os.ReadFile("../../events/s3-put.json")
	image, _ := os.ReadFile("../../events/images/cars-3x3.jpg")
	for name, upstream := range map[string]recognition.Upstream{"upstream down": down{}, "panic": panicking{}} {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			store := &testenv.MemStore{Fallback: image}
			_, err := lambda.NewHandler(fastHandler(t, store, upstream, &out).Handle).Invoke(context.Background(), payload)
			if err == nil {
				t.Fatal("the invocation succeeded; it must fail so Lambda retries")
			}
			if len(store.Objects()) != 0 {
				t.Fatalf("wrote %v", keys(store))
			}
			if !strings.Contains(out.String(), `"outcome":"retry"`) {
				t.Fatalf("log:\n%s", out.String())
			}
		})
	}
}

type down struct{}

func (down) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	return nil, apierr.New(apierr.CodeUpstreamError, "the upstream is down")
}

type panicking struct{}

func (panicking) Recognize(context.Context, []byte, string, int) (*recognition.Solution, error) {
	panic("boom")
}

//go:build e2e

package main

// End to end: the real bootstrap of this function, driven through the Lambda Runtime API, with
// moto_server's S3 and Secrets Manager and the upstream emulator.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/recaptcha-recognizer/recognizer/internal/devtools/contracttest"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/emulator"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/runtimeapi"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testenv"
	"github.com/recaptcha-recognizer/recognizer/internal/devtools/testimage"
)

var (
	bootstrap string
	moto      *testenv.Moto
	awsProxy  *testenv.AWSProxy // between the function and moto, to inject AWS faults
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, "github.com/recaptcha-recognizer/recognizer/functions/s3event", &bootstrap, &moto, &awsProxy))
}

const secretFailureTTL = 300 * time.Millisecond

const (
	token    = "tok-s3path-5c1e9d"
	secretID = "github.com/recaptcha-recognizer/recognizer/upstream-token"
	bucket   = "uploads"
)

type fn struct {
	t    *testing.T
	rt   *runtimeapi.Server
	proc *runtimeapi.Process
	emu  *emulator.Server
	s3   *s3.Client
	env  []string
}

func start(t *testing.T, extraEnv ...string) *fn {
	t.Helper()
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	awsProxy.Clear()
	cfg := testenv.AWSConfig(moto.URL)
	f := &fn{t: t, s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}
	ctx := context.Background()
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretID), SecretString: aws.String(token)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.emu, err = emulator.New(token).Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if f.rt, err = runtimeapi.Start(); err != nil {
		t.Fatal(err)
	}
	// A missing or malformed secret is remembered for SECRET_FAILURE_TTL (30 s deployed); Lambda
	// retries a minute later, so the tests' retries wait out a shorter one.
	f.env = append(append(testenv.AWSEnv(awsProxy.URL), "TOKEN_SECRET_ID="+secretID, "RECOGNITION_API_URL="+f.emu.URL,
		"SECRET_FAILURE_TTL="+secretFailureTTL.String()), extraEnv...)
	if f.proc, err = f.rt.StartProcess(bootstrap, f.env); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.proc.Kill()
		f.rt.Close()
		f.emu.Close()
		if t.Failed() {
			t.Logf("function output:\n%s", f.proc.Output())
		}
		if strings.Contains(f.proc.Output(), token) {
			t.Error("the token appears in the function's output")
		}
	})
	return f
}

// put uploads an object and returns the event record S3 would send for it.
func (f *fn) put(key string, body []byte, meta map[string]string) events.S3EventRecord {
	f.t.Helper()
	out, err := f.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body), Metadata: meta})
	if err != nil {
		f.t.Fatal(err)
	}
	return record(key, strings.Trim(aws.ToString(out.ETag), `"`), int64(len(body)))
}

// record is an ObjectCreated record; S3 URL-encodes keys in events, spaces as '+'.
func record(key, etag string, size int64) events.S3EventRecord {
	var r events.S3EventRecord
	r.EventSource, r.EventName, r.AWSRegion = "aws:s3", "ObjectCreated:Put", "us-east-1"
	r.S3.Bucket.Name = bucket
	r.S3.Bucket.Arn = "arn:aws:s3:::" + bucket
	r.S3.Object.Key = url.QueryEscape(key)
	r.S3.Object.Key = strings.ReplaceAll(r.S3.Object.Key, "%2F", "/")
	r.S3.Object.ETag, r.S3.Object.Size = etag, size
	return r
}

// invoke sends an event; it reports whether the invocation failed (Lambda would retry).
func (f *fn) invoke(recs ...events.S3EventRecord) (failed bool) {
	f.t.Helper()
	payload, _ := json.Marshal(events.S3Event{Records: recs})
	res, err := f.rt.Invoke(context.Background(), payload, 20*time.Second)
	if err != nil {
		f.t.Fatalf("invoke: %v", err)
	}
	return res.Error != nil
}

type stored struct {
	Solution *struct {
		Objects []int
		Grid    string
		Label   string
		Clicks  []struct{ Index, X, Y int }
	} `json:"solution"`
	Success *bool `json:"success"`
	Error   *struct{ Code, Message string }
	TraceID string `json:"trace_id"`
	Source  struct {
		Bucket, Key string
		ETag        string `json:"etag"`
	} `json:"source"`
	Timing struct {
		TotalMS float64 `json:"total_ms"`
	} `json:"timing"`
}

func (f *fn) result(key string) (*stored, bool) {
	f.t.Helper()
	out, err := f.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, false
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		f.t.Fatalf("%s: %v", key, err)
	}
	if err := contracttest.CheckSchema("S3Result", body); err != nil {
		f.t.Error(err)
	}
	var s stored
	if err := json.Unmarshal(body, &s); err != nil {
		f.t.Fatalf("%s: %v", key, err)
	}
	return &s, true
}

func (f *fn) wantSolved(resultKey, sourceKey string, ch testimage.Challenge) {
	f.t.Helper()
	s, ok := f.result(resultKey)
	if !ok {
		f.t.Fatalf("no result at %s", resultKey)
	}
	if s.Solution == nil || !slices.Equal(s.Solution.Objects, ch.Targets) || s.Solution.Label != ch.Label || len(s.Solution.Clicks) != len(ch.Targets) {
		f.t.Fatalf("%s: %+v", resultKey, s)
	}
	if s.Source.Bucket != bucket || s.Source.Key != sourceKey || s.Source.ETag == "" || s.TraceID == "" || s.Timing.TotalMS <= 0 {
		f.t.Fatalf("%s: source %+v trace %q timing %+v", resultKey, s.Source, s.TraceID, s.Timing)
	}
}

func (f *fn) wantFailed(resultKey, code string) {
	f.t.Helper()
	s, ok := f.result(resultKey)
	if !ok {
		f.t.Fatalf("no error result at %s", resultKey)
	}
	if s.Solution != nil || s.Success == nil || *s.Success || s.Error == nil || s.Error.Code != code {
		f.t.Fatalf("%s: %+v, want error %s", resultKey, s, code)
	}
}

var (
	cars3   = testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/0k4j", Targets: []int{1, 5}, Seed: 21}
	lights4 = testimage.Challenge{Grid: 4, Tile: 93, Separator: 4, Margin: 2, Label: "/m/015qff", Targets: []int{0, 10}, Seed: 22}
	bus3    = testimage.Challenge{Grid: 3, Tile: 100, Label: "/m/01bjv", Targets: []int{7}, Seed: 23}
)

func TestQuestionFromFolderAndMetadata(t *testing.T) {
	f := start(t)
	a := f.put("incoming/cars/x.jpg", cars3.JPEG(85), nil)
	b := f.put("incoming/traffic lights/日本 shot.png", lights4.PNG(), nil)
	c := f.put("incoming/any/where.png", bus3.PNG(), map[string]string{"question": "Select all images with <b>buses</b>", "grid": "3x3"})
	if f.invoke(a, b, c) {
		t.Fatal("the invocation failed")
	}
	f.wantSolved("results/cars/x.jpg.json", "incoming/cars/x.jpg", cars3)
	f.wantSolved("results/traffic lights/日本 shot.png.json", "incoming/traffic lights/日本 shot.png", lights4)
	f.wantSolved("results/any/where.png.json", "incoming/any/where.png", bus3)
}

// Some emitters encode '/' as %2F; the key must still decode to the object.
func TestEncodedSlash(t *testing.T) {
	f := start(t)
	r := f.put("incoming/cars/a+b.jpg", cars3.JPEG(85), nil)
	r.S3.Object.Key = "incoming%2Fcars%2Fa%2Bb.jpg"
	if f.invoke(r) {
		t.Fatal("the invocation failed")
	}
	f.wantSolved("results/cars/a+b.jpg.json", "incoming/cars/a+b.jpg", cars3)
}

func TestBatchWithBadRecords(t *testing.T) {
	f := start(t)
	good := f.put("incoming/cars/good.jpg", cars3.JPEG(85), nil)
	text := f.put("incoming/cars/notes.txt", []byte("not an image at all"), nil)
	unknown := f.put("incoming/giraffes/g.png", cars3.PNG(), nil)
	noQuestion := f.put("incoming/loose.png", cars3.PNG(), nil)
	big := f.put("incoming/cars/huge.png", bytes.Repeat([]byte{0x89}, 11<<20), nil)
	gone := record("incoming/cars/deleted.jpg", "0123456789abcdef", 1000)
	before := f.emu.Requests()
	if f.invoke(text, unknown, good, noQuestion, big, gone) {
		t.Fatal("permanent failures must not fail the invocation")
	}
	f.wantSolved("results/cars/good.jpg.json", "incoming/cars/good.jpg", cars3)
	f.wantFailed("results/cars/notes.txt.json", "invalid_image")
	f.wantFailed("results/giraffes/g.png.json", "unsupported_question")
	f.wantFailed("results/loose.png.json", "unsupported_question")
	f.wantFailed("results/cars/huge.png.json", "payload_too_large")
	f.wantFailed("results/cars/deleted.jpg.json", "s3_object_not_found")
	if n := f.emu.Requests() - before; n != 1 {
		t.Fatalf("%d upstream calls for one good record", n)
	}
}

func TestIgnoresKeysOutsideThePrefix(t *testing.T) {
	f := start(t)
	own := f.put("results/cars/x.jpg.json", []byte(`{}`), nil)
	other := f.put("elsewhere/cars/x.jpg", cars3.JPEG(85), nil)
	folder := f.put("incoming/cars/", nil, nil)
	if f.invoke(own, other, folder) {
		t.Fatal("the invocation failed")
	}
	if f.emu.Requests() != 0 {
		t.Fatal("an ignored key reached the upstream")
	}
	if _, ok := f.result("results/results/cars/x.jpg.json.json"); ok {
		t.Fatal("the function acted on its own output")
	}
	if _, ok := f.result("results/cars/.json"); ok {
		t.Fatal("a folder marker was processed")
	}
}

func TestRedeliveryDoesNotPayTwice(t *testing.T) {
	f := start(t)
	r := f.put("incoming/cars/x.jpg", cars3.JPEG(85), nil)
	for i := 0; i < 3; i++ {
		if f.invoke(r) {
			t.Fatal("the invocation failed")
		}
	}
	if n := f.emu.Recognized(); n != 1 {
		t.Fatalf("three deliveries of one version reached the upstream %d times, want 1", n)
	}
	// A new version of the same key is a new question.
	r2 := f.put("incoming/cars/x.jpg", bus3.JPEG(85), map[string]string{"question": "bus"})
	if f.invoke(r2) {
		t.Fatal("the invocation failed")
	}
	f.wantSolved("results/cars/x.jpg.json", "incoming/cars/x.jpg", bus3)
	if n := f.emu.Recognized(); n != 2 {
		t.Fatalf("%d upstream calls after a new version, want 2", n)
	}
}

func TestOutageThenRetry(t *testing.T) {
	f := start(t)
	r := f.put("incoming/cars/x.jpg", cars3.JPEG(85), nil)
	other := f.put("incoming/cars/y.jpg", cars3.JPEG(85), nil)
	f.emu.Inject(emulator.Fault{Status: 503}, emulator.Fault{Status: 503}, emulator.Fault{Status: 503})
	if !f.invoke(r, other) {
		t.Fatal("an upstream outage must fail the invocation so Lambda retries it")
	}
	if _, ok := f.result("results/cars/x.jpg.json"); ok {
		t.Fatal("a final result was written for a transient failure")
	}
	f.wantSolved("results/cars/y.jpg.json", "incoming/cars/y.jpg", cars3) // the outage ended for the next record
	before := f.emu.Recognized()
	if f.invoke(r, other) { // Lambda's retry of the same event
		t.Fatal("the retry failed")
	}
	f.wantSolved("results/cars/x.jpg.json", "incoming/cars/x.jpg", cars3)
	if n := f.emu.Recognized() - before; n != 1 {
		t.Fatalf("the retry made %d upstream calls, want 1 (y was already answered)", n)
	}
}

// Every events/ fixture for this function is accepted.
func TestEventFixtures(t *testing.T) {
	f := start(t)
	for _, name := range []string{"s3-put.json", "s3-put-unicode.json", "s3-batch.json"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile("../../events/" + name)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.S3Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			for _, r := range ev.Records {
				if r.S3.Bucket.Name != "example-uploads-bucket" {
					t.Fatalf("fixture bucket %q", r.S3.Bucket.Name)
				}
			}
			// Point the fixture at the test bucket and upload what it names.
			for i := range ev.Records {
				ev.Records[i].S3.Bucket.Name = bucket
				f.put(ev.Records[i].S3.Object.URLDecodedKey, cars3.JPEG(85), nil)
			}
			if f.invoke(ev.Records...) {
				t.Fatal("the invocation failed")
			}
			for _, r := range ev.Records {
				rest := strings.TrimPrefix(r.S3.Object.URLDecodedKey, "incoming/")
				if res, ok := f.result("results/" + rest + ".json"); !ok || res.Solution == nil || res.Error != nil {
					t.Fatalf("result for %s: %+v, want a solution", r.S3.Object.URLDecodedKey, res)
				}
			}
		})
	}
}

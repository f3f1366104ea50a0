//go:build e2e

package main

// End to end: the real bootstrap binary, driven through the Lambda Runtime API (internal/
// runtimeapi), reading its token from moto_server's Secrets Manager and images from its S3, and
// calling the upstream emulator.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
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
	// awsEnvs holds the package's moto servers, each behind its fault proxy: a test takes one
	// for its whole run, so the longest tests run two at a time (t.Parallel) on separate state.
	awsEnvs = make(chan awsEnv, 2)
)

type awsEnv struct {
	moto  *testenv.Moto
	proxy *testenv.AWSProxy
}

func TestMain(m *testing.M) {
	var first awsEnv
	os.Exit(testenv.Main(withSecondEnv{m, &first}, "github.com/recaptcha-recognizer/recognizer/functions/api", &bootstrap, &first.moto, &first.proxy))
}

// held is the environment each running test has taken: a test that starts several functions
// one after another keeps its one moto.
var held sync.Map // testing.TB → awsEnv

// takeEnv gives t a moto of its own until it ends, waiting while both are taken.
func takeEnv(t testing.TB) awsEnv {
	if e, ok := held.Load(t); ok {
		return e.(awsEnv)
	}
	e := <-awsEnvs
	held.Store(t, e)
	// Registered before the first process's clean-up, so it runs after the process is gone.
	t.Cleanup(func() {
		held.Delete(t)
		awsEnvs <- e
	})
	return e
}

// withSecondEnv starts a second moto and proxy beside the one testenv.Main starts, and offers both.
type withSecondEnv struct {
	m     *testing.M
	first *awsEnv
}

func (w withSecondEnv) Run() int {
	second, err := testenv.StartMoto()
	if err != nil {
		fmt.Fprintln(os.Stderr, "end-to-end tests need moto_server:", err)
		return 1
	}
	defer second.Close()
	proxy := testenv.StartAWSProxy(second.URL)
	defer proxy.Close()
	awsEnvs <- *w.first
	awsEnvs <- awsEnv{second, proxy}
	return w.m.Run()
}

const (
	cars        = "/m/0k4j"
	token       = "tok-3f9a1c77e2d04b5f"
	secretID    = "github.com/recaptcha-recognizer/recognizer/upstream-token"
	inBucket    = "challenges"
	otherBucket = "someone-elses"
	outBucket   = "answers"
)

// fn is one running function with its own emulator.
type fn struct {
	t    testing.TB
	rt   *runtimeapi.Server
	proc *runtimeapi.Process
	emu  *emulator.Server
	s3   *s3.Client
	sm   *secretsmanager.Client
	aws  *testenv.AWSProxy // in front of this test's moto
}

// start resets moto, creates the secret and buckets, and starts the bootstrap.
func start(t testing.TB, extraEnv ...string) *fn {
	t.Helper()
	e := takeEnv(t)
	if err := e.moto.Reset(); err != nil {
		t.Fatal(err)
	}
	e.proxy.SecretReads.Store(0)
	e.proxy.Clear()
	cfg := testenv.AWSConfig(e.moto.URL)
	f := &fn{t: t, aws: e.proxy,
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		sm: secretsmanager.NewFromConfig(cfg),
	}
	ctx := context.Background()
	if _, err := f.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(secretID), SecretString: aws.String(`{"token":"` + token + `"}`)}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{inBucket, otherBucket, outBucket} {
		if _, err := f.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if f.emu, err = emulator.New(token).Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if f.rt, err = runtimeapi.Start(); err != nil {
		t.Fatal(err)
	}
	env := append(testenv.AWSEnv(e.proxy.URL),
		"TOKEN_SECRET_ID="+secretID,
		"RECOGNITION_API_URL="+f.emu.URL,
		"SOURCE_BUCKETS="+inBucket,
		"RESULTS_BUCKET="+outBucket,
		"STORE_PREFIX=stored/",
		"AUTH_MODE=off",
	)
	if f.proc, err = f.rt.StartProcess(bootstrap, append(env, extraEnv...)); err != nil {
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
			t.Errorf("the token appears in the function's output")
		}
	})
	return f
}

func (f *fn) invokeTimeout(ev events.APIGatewayV2HTTPRequest, timeout time.Duration) events.APIGatewayV2HTTPResponse {
	f.t.Helper()
	payload, _ := json.Marshal(ev)
	res, err := f.rt.Invoke(context.Background(), payload, timeout)
	if err != nil {
		f.t.Fatalf("invoke: %v", err)
	}
	if res.Error != nil {
		f.t.Fatalf("the function failed instead of answering: %s", res.Error)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		f.t.Fatalf("response %s: %v", res.Payload, err)
	}
	if resp.Headers["content-type"] != "application/json" {
		f.t.Errorf("content-type %q", resp.Headers["content-type"])
	}
	if err := contracttest.CheckEvent(ev, resp); err != nil {
		f.t.Error(err)
	}
	return resp
}

// waitOutput waits until the function's output satisfies ok: its stdout reaches us through a
// pipe, so a line written just before an answer may arrive just after it.
func (f *fn) waitOutput(ok func(string) bool) string {
	f.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := f.proc.Output()
		if ok(out) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *fn) invoke(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	f.t.Helper()
	return f.invokeTimeout(ev, 20*time.Second)
}

func (f *fn) put(bucket, key string, body []byte) {
	f.t.Helper()
	if _, err := f.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
		f.t.Fatal(err)
	}
}

func event(method, path, query, contentType string, body []byte, binary bool) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query,
		Headers: map[string]string{"content-type": contentType},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: fmt.Sprintf("req-%d", time.Now().UnixNano()),
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
	if contentType == "" {
		delete(ev.Headers, "content-type")
	}
	if binary {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	} else {
		ev.Body = string(body)
	}
	return ev
}

func jsonEvent(path string, doc map[string]any) events.APIGatewayV2HTTPRequest {
	b, _ := json.Marshal(doc)
	return event("POST", path, "", "application/json", b, false)
}

func multipartEvent(fields map[string]string, image []byte) events.APIGatewayV2HTTPRequest {
	body, contentType := testenv.MultipartForm(fields, "challenge.bin", image)
	return event("POST", "/recognize", "", contentType, body, true)
}

type answer struct {
	Solution struct {
		Size        int                         `json:"size"`
		Label       string                      `json:"label"`
		Confidences []float64                   `json:"confidences"`
		Objects     []int                       `json:"objects"`
		Type        string                      `json:"type"`
		Grid        string                      `json:"grid"`
		Clicks      []struct{ Index, X, Y int } `json:"clicks"`
	} `json:"solution"`
	TraceID string                         `json:"trace_id"`
	Result  string                         `json:"result"`
	Success *bool                          `json:"success"`
	Error   struct{ Code, Message string } `json:"error"`
}

func decode(t *testing.T, resp events.APIGatewayV2HTTPResponse) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	if a.TraceID == "" {
		t.Errorf("no trace_id in %s", resp.Body)
	}
	return a
}

// wantSolved checks the tiles and that every click lands in the middle of its tile in the
// caller's own picture.
func wantSolved(t *testing.T, resp events.APIGatewayV2HTTPResponse, ch testimage.Challenge) answer {
	t.Helper()
	a := decode(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	s := a.Solution
	wantGrid := fmt.Sprintf("%dx%d", ch.Grid, ch.Grid)
	if !slices.Equal(s.Objects, ch.Targets) || s.Grid != wantGrid || s.Label != ch.Label || len(s.Confidences) != ch.Grid*ch.Grid {
		t.Fatalf("solution %+v, want objects %v grid %s", s, ch.Targets, wantGrid)
	}
	if len(s.Clicks) != len(ch.Targets) {
		t.Fatalf("%d clicks for %d objects", len(s.Clicks), len(ch.Targets))
	}
	for i, c := range s.Clicks {
		tile := ch.Targets[i]
		cx := ch.Margin + (tile%ch.Grid)*(ch.Tile+ch.Separator) + ch.Tile/2
		cy := ch.Margin + (tile/ch.Grid)*(ch.Tile+ch.Separator) + ch.Tile/2
		if c.Index != tile || abs(c.X-cx) > 2 || abs(c.Y-cy) > 2 {
			t.Errorf("click %+v, want tile %d at about (%d,%d)", c, tile, cx, cy)
		}
	}
	return a
}

func wantError(t *testing.T, resp events.APIGatewayV2HTTPResponse, status int, code string) answer {
	t.Helper()
	a := decode(t, resp)
	if resp.StatusCode != status || a.Error.Code != code || a.Success == nil || *a.Success {
		t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, status, code)
	}
	if a.Error.Message == "" {
		t.Errorf("no message")
	}
	if internals.MatchString(a.Error.Message) {
		t.Errorf("message shows internals: %q", a.Error.Message)
	}
	return a
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

var (
	std3x3   = testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Targets: []int{0, 4, 8}, Seed: 1}
	std4x4   = testimage.Challenge{Grid: 4, Tile: 112, Margin: 1, Label: cars, Targets: []int{1, 2, 13}, Seed: 2}
	single   = testimage.Challenge{Grid: 1, Tile: 100, Label: cars, Targets: []int{0}, Seed: 3}
	shot4x4  = testimage.Challenge{Grid: 4, Tile: 93, Separator: 4, Margin: 2, Label: cars, Targets: []int{3, 6, 9, 12}, Seed: 4}
	shot3x3  = testimage.Challenge{Grid: 3, Tile: 126, Separator: 4, Margin: 3, Label: "/m/02yvhj", Targets: []int{4}, Seed: 5}
	big4x4   = testimage.Challenge{Grid: 4, Tile: 250, Label: cars, Targets: []int{0, 15}, Seed: 6}
	noTarget = testimage.Challenge{Grid: 3, Tile: 100, Label: cars, Seed: 7}
)

func TestRequestForms(t *testing.T) {
	f := start(t)
	dataURL := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(std4x4.JPEG(90))
	cases := []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
		ch   testimage.Challenge
	}{
		{"JSON base64 3x3 PNG", jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}), std3x3},
		{"JSON data URL 4x4 JPEG", jsonEvent("/recognize", map[string]any{"image": dataURL, "question": "Select all images with <strong>cars</strong>"}), std4x4},
		{"JSON single tile", jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(single.PNG()), "question": "汽车"}), single},
		{"JSON grid as number", jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(big4x4.JPEG(85)), "question": "/m/0k4j", "grid": 4}), big4x4},
		{"JSON screenshot GIF", jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(shot3x3.GIF()), "question": "school buses"}), shot3x3},
		{"JSON lossy WebP", jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(testimage.WebPLossy300.Bytes()), "question": "traffic lights"}), testimage.WebPLossy300.Challenge},
		{"JSON no targets", jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(noTarget.PNG()), "question": "cars"}), noTarget},
		{"multipart screenshot", multipartEvent(map[string]string{"question": "cars"}, shot4x4.JPEG(88)), shot4x4},
		{"multipart with grid", multipartEvent(map[string]string{"question": "Cars", "grid": "4x4"}, big4x4.JPEG(85)), big4x4},
		{"multipart lossless WebP", multipartEvent(map[string]string{"question": "红绿灯"}, testimage.WebPLossless387.Bytes()), testimage.WebPLossless387.Challenge},
		{"binary body", event("POST", "/recognize", "question=cars&grid=4x4", "image/jpeg", big4x4.JPEG(85), true), big4x4},
		{"binary screenshot", event("POST", "/recognize", "question=fire+hydrants", "image/png", withLabel(shot4x4, "/m/01pns0").PNG(), true), withLabel(shot4x4, "/m/01pns0")},
		{"upstream path with bearer", withHeader(jsonEvent("/captcha/recognition/recaptcha2", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "/m/0k4j"}), "authorization", "Bearer caller-key"), std3x3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantSolved(t, f.invoke(c.ev), c.ch)
		})
	}
}

func withLabel(c testimage.Challenge, label string) testimage.Challenge { c.Label = label; return c }

func withHeader(ev events.APIGatewayV2HTTPRequest, k, v string) events.APIGatewayV2HTTPRequest {
	ev.Headers[k] = v
	return ev
}

// An image already at the upstream's size and format reaches it byte for byte.
func TestStandardImageGoesThroughUntouched(t *testing.T) {
	f := start(t)
	var seen []byte
	f.emu.Close()
	inner := emulator.New(token)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var doc struct{ Image string }
		json.Unmarshal(body, &doc)
		seen, _ = base64.StdEncoding.DecodeString(doc.Image)
		r.Body = io.NopCloser(bytes.NewReader(body))
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	f2 := restart(t, f, "RECOGNITION_API_URL="+srv.URL+emulator.Path)
	img := std3x3.PNG()
	wantSolved(t, f2.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(img), "question": "cars"})), std3x3)
	if !bytes.Equal(seen, img) {
		t.Fatalf("the upstream got %d bytes, not the caller's %d", len(seen), len(img))
	}
}

// restart replaces f's process with one that has extra environment.
func restart(t *testing.T, f *fn, extraEnv ...string) *fn {
	t.Helper()
	f.proc.Kill()
	env := append(testenv.AWSEnv(f.aws.URL), "TOKEN_SECRET_ID="+secretID, "RECOGNITION_API_URL="+f.emu.URL,
		"SOURCE_BUCKETS="+inBucket, "RESULTS_BUCKET="+outBucket, "STORE_PREFIX=stored/", "AUTH_MODE=off")
	p, err := f.rt.StartProcess(bootstrap, append(env, extraEnv...))
	if err != nil {
		t.Fatal(err)
	}
	f.proc = p
	return f
}

func TestS3References(t *testing.T) {
	f := start(t)
	f.put(inBucket, "shots/a b/日本 shot.jpg", shot4x4.JPEG(88))
	f.put(otherBucket, "x.png", std3x3.PNG())
	f.put(inBucket, "big.bin", bytes.Repeat([]byte{0}, 11<<20))

	t.Run("s3 URL", func(t *testing.T) {
		wantSolved(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": "s3://" + inBucket + "/shots/a b/日本 shot.jpg", "question": "cars"})), shot4x4)
	})
	t.Run("bucket and key", func(t *testing.T) {
		wantSolved(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": map[string]string{"bucket": inBucket, "key": "shots/a b/日本 shot.jpg"}, "question": "cars"})), shot4x4)
	})
	t.Run("bucket not allowed", func(t *testing.T) {
		wantError(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": "s3://" + otherBucket + "/x.png", "question": "cars"})), 403, "s3_forbidden")
	})
	t.Run("missing object", func(t *testing.T) {
		wantError(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": "s3://" + inBucket + "/nope.png", "question": "cars"})), 404, "s3_object_not_found")
	})
	t.Run("object too large is not downloaded", func(t *testing.T) {
		wantError(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": "s3://" + inBucket + "/big.bin", "question": "cars"})), 413, "payload_too_large")
	})
	t.Run("malformed reference", func(t *testing.T) {
		wantError(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": "https://example.com/x.png", "question": "cars"})), 400, "invalid_s3_reference")
	})
	t.Run("store", func(t *testing.T) {
		a := wantSolved(t, f.invoke(jsonEvent("/recognize", map[string]any{"s3": "s3://" + inBucket + "/shots/a b/日本 shot.jpg", "question": "cars", "store": true})), shot4x4)
		want := "s3://" + outBucket + "/stored/" + a.TraceID + ".json"
		if a.Result != want {
			t.Fatalf("result %q, want %q", a.Result, want)
		}
		out, err := f.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(outBucket), Key: aws.String("stored/" + a.TraceID + ".json")})
		if err != nil {
			t.Fatal(err)
		}
		var stored answer
		json.NewDecoder(out.Body).Decode(&stored)
		if !slices.Equal(stored.Solution.Objects, shot4x4.Targets) || stored.TraceID != a.TraceID || len(stored.Solution.Clicks) != len(shot4x4.Targets) {
			t.Fatalf("stored %+v", stored)
		}
	})
	t.Run("store from query on a binary body", func(t *testing.T) {
		a := wantSolved(t, f.invoke(event("POST", "/recognize", "question=cars&store=true", "image/png", std3x3.PNG(), true)), std3x3)
		if !strings.HasPrefix(a.Result, "s3://"+outBucket+"/stored/") {
			t.Fatalf("result %q", a.Result)
		}
	})
}

func TestBadInput(t *testing.T) {
	f := start(t)
	png := base64.StdEncoding.EncodeToString(std3x3.PNG())
	bomb := base64.StdEncoding.EncodeToString(testimage.PNGHeader(60000, 60000))
	cases := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"not JSON", event("POST", "/recognize", "", "application/json", []byte("{nope"), false), 400, "invalid_request"},
		{"wrong field type", event("POST", "/recognize", "", "application/json", []byte(`{"image": 5, "question": "cars"}`), false), 400, "invalid_request"},
		{"no image", jsonEvent("/recognize", map[string]any{"question": "cars"}), 400, "invalid_request"},
		{"image and s3", jsonEvent("/recognize", map[string]any{"question": "cars", "image": png, "s3": "s3://challenges/x"}), 400, "invalid_request"},
		{"bad base64", jsonEvent("/recognize", map[string]any{"question": "cars", "image": "%%%not base64%%%"}), 400, "invalid_image"},
		{"not an image", jsonEvent("/recognize", map[string]any{"question": "cars", "image": base64.StdEncoding.EncodeToString([]byte("just some text, honestly"))}), 400, "invalid_image"},
		{"empty image", jsonEvent("/recognize", map[string]any{"question": "cars", "image": ""}), 400, "invalid_image"},
		{"no question", jsonEvent("/recognize", map[string]any{"image": png}), 400, "unsupported_question"},
		{"unknown question", jsonEvent("/recognize", map[string]any{"image": png, "question": "giraffes"}), 400, "unsupported_question"},
		{"bad grid", jsonEvent("/recognize", map[string]any{"image": png, "question": "cars", "grid": "5x5"}), 400, "invalid_grid"},
		{"grid needed", jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(big4x4.JPEG(80)), "question": "cars"}), 400, "grid_required"},
		{"pixel bomb", jsonEvent("/recognize", map[string]any{"image": bomb, "question": "cars"}), 413, "payload_too_large"},
		{"body too large", event("POST", "/recognize", "question=cars", "image/png", bytes.Repeat([]byte{1}, 6<<20+1), true), 413, "payload_too_large"},
		{"bad store", event("POST", "/recognize", "question=cars&store=maybe", "image/png", std3x3.PNG(), true), 400, "invalid_request"},
		{"unsupported type", event("POST", "/recognize", "", "text/plain", []byte("cars"), false), 415, "unsupported_media_type"},
		{"multipart without image", multipartEvent(map[string]string{"question": "cars"}, nil), 400, "invalid_request"},
		{"wrong route", jsonEvent("/solve", map[string]any{"image": png, "question": "cars"}), 404, "not_found"},
		{"wrong method", event("GET", "/recognize", "", "", nil, false), 405, "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := wantError(t, f.invoke(c.ev), c.status, c.code)
			if c.code == "unsupported_question" && c.name == "unknown question" && !strings.Contains(a.Error.Message, "/m/0k4j (cars)") {
				t.Errorf("message does not list the supported labels: %s", a.Error.Message)
			}
		})
	}
	if f.emu.Requests() != 0 {
		t.Fatalf("bad input reached the upstream %d times", f.emu.Requests())
	}
}

func TestUpstreamFaults(t *testing.T) {
	t.Parallel()
	f := start(t)
	ev := func() events.APIGatewayV2HTTPRequest {
		return jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
	}
	t.Run("429 then success", func(t *testing.T) {
		before := f.emu.Requests()
		f.emu.Inject(emulator.Fault{Status: 429, RetryAfter: "1"})
		wantSolved(t, f.invoke(ev()), std3x3)
		if n := f.emu.Requests() - before; n != 2 {
			t.Fatalf("%d upstream requests, want 2", n)
		}
	})
	t.Run("429 persists", func(t *testing.T) {
		f.emu.Inject(emulator.Fault{Status: 429}, emulator.Fault{Status: 429}, emulator.Fault{Status: 429, RetryAfter: "9"})
		resp := f.invoke(ev())
		wantError(t, resp, 429, "too_many_requests")
		if resp.Headers["retry-after"] != "9" {
			t.Fatalf("retry-after %q, want 9", resp.Headers["retry-after"])
		}
	})
	t.Run("500 persists", func(t *testing.T) {
		f.emu.Inject(emulator.Fault{Status: 500}, emulator.Fault{Status: 500}, emulator.Fault{Status: 500})
		wantError(t, f.invoke(ev()), 502, "upstream_error")
	})
	t.Run("broken answer", func(t *testing.T) {
		f.emu.Inject(emulator.Fault{Body: `{"solution":{"size":300,"confidences":[1],"objects":[12]}}`})
		wantError(t, f.invoke(ev()), 502, "upstream_bad_response")
	})
	t.Run("hung upstream answers 504 before the deadline", func(t *testing.T) {
		f.emu.Inject(emulator.Fault{Delay: time.Minute}, emulator.Fault{Delay: time.Minute}, emulator.Fault{Delay: time.Minute})
		start := time.Now()
		// invokeTimeout fails the test if the function does not answer by the deadline.
		wantError(t, f.invokeTimeout(ev(), 3*time.Second), 504, "upstream_timeout")
		// The function aims 300 ms before the deadline; the harness's grace absorbs a starved
		// machine while still proving the answer does not wait for the upstream's minute.
		if d := time.Since(start); d > 3*time.Second+runtimeapi.Grace {
			t.Fatalf("answered after %v, past the 3s deadline", d)
		}
	})
}

func TestTokenCachingAndRotation(t *testing.T) {
	f := start(t)
	ev := func() events.APIGatewayV2HTTPRequest {
		return jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
	}
	if n := f.aws.SecretReads.Load(); n != 0 {
		t.Fatalf("the function read the secret %d times at init; it must read it on first use", n)
	}
	wantSolved(t, f.invoke(ev()), std3x3)
	wantSolved(t, f.invoke(ev()), std3x3)
	wantSolved(t, f.invoke(ev()), std3x3)
	if n := f.aws.SecretReads.Load(); n != 1 {
		t.Fatalf("three invocations read the secret %d times; warm invocations must use the cache", n)
	}

	// Rotation: the secret and the upstream move to a new token together.
	const rotated = "tok-rotated-0b8d2e41"
	if _, err := f.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretID), SecretString: aws.String(rotated)}); err != nil {
		t.Fatal(err)
	}
	f.emu.SetTokens(rotated)
	wantSolved(t, f.invoke(ev()), std3x3)
	if n := f.aws.SecretReads.Load(); n != 2 {
		t.Fatalf("after rotation the secret was read %d times in all, want 2", n)
	}
	wantSolved(t, f.invoke(ev()), std3x3)
	if n := f.aws.SecretReads.Load(); n != 2 {
		t.Fatalf("the rotated token was not cached (%d reads)", n)
	}

	// A token the upstream refuses even after a re-read is a configuration problem, said so.
	f.emu.SetTokens("something-else")
	a := wantError(t, f.invoke(ev()), 502, "upstream_auth_failed")
	if !strings.Contains(a.Error.Message, "configuration") {
		t.Fatalf("message %q does not say it is a configuration problem", a.Error.Message)
	}
	if strings.Contains(f.proc.Output(), rotated) {
		t.Fatal("the rotated token appears in the function's output")
	}
}

func TestSecretsProblems(t *testing.T) {
	f := start(t, "TOKEN_SECRET_ID=does-not-exist")
	ev := jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
	wantError(t, f.invoke(ev), 500, "configuration_error")

	g := start(t, "TOKEN_SECRET_ID=", "RECOGNITION_TOKEN=")
	wantError(t, g.invoke(ev), 500, "configuration_error")
	if !strings.Contains(g.waitOutput(func(o string) bool { return strings.Contains(o, "TOKEN_SECRET_ID") }), "TOKEN_SECRET_ID") {
		t.Fatalf("the log does not say what is missing:\n%s", g.proc.Output())
	}
}

// Every request leaves one JSON log line with its outcome and one CloudWatch EMF document; none
// carries the token.
func TestLogsAndMetrics(t *testing.T) {
	f := start(t)
	wantSolved(t, f.invoke(jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})), std3x3)
	wantError(t, f.invoke(jsonEvent("/recognize", map[string]any{"image": "bm90IGFuIGltYWdl", "question": "cars"})), 400, "invalid_image")
	out := f.waitOutput(func(o string) bool {
		return strings.Count(o, `"msg":"request"`) >= 2 && strings.Count(o, `"CloudWatchMetrics"`) >= 2
	})
	var logs, emf, providerEMF []map[string]any
	for _, l := range strings.Split(out, "\n") {
		var doc map[string]any
		switch {
		case strings.Contains(l, `"msg":"request"`):
			if err := json.Unmarshal([]byte(l), &doc); err != nil {
				t.Fatalf("log line is not JSON: %s", l)
			}
			logs = append(logs, doc)
		case strings.Contains(l, `"CloudWatchMetrics"`):
			if err := json.Unmarshal([]byte(l), &doc); err != nil {
				t.Fatalf("EMF line is not JSON: %s", l)
			}
			if doc["Provider"] != nil {
				providerEMF = append(providerEMF, doc)
				continue
			}
			emf = append(emf, doc)
		}
	}
	if len(logs) != 2 || len(emf) != 2 {
		t.Fatalf("%d log lines and %d EMF lines for 2 requests", len(logs), len(emf))
	}
	// One provider call (the second request never reached one), by provider and outcome.
	if len(providerEMF) != 1 || providerEMF[0]["Provider"] != "acedata" || providerEMF[0]["Outcome"] != "ok" || providerEMF[0]["ProviderCalls"] != 1.0 {
		t.Fatalf("provider EMF lines %v, want one ok call to acedata", providerEMF)
	}
	for _, k := range []string{"level", "time", "requestId", "status", "label", "grid", "total_ms", "upstream_ms", "caller"} {
		if _, ok := logs[0][k]; !ok {
			t.Errorf("log line lacks %q: %v", k, logs[0])
		}
	}
	if logs[1]["code"] != "invalid_image" || logs[1]["status"] != 400.0 {
		t.Errorf("error log line %v", logs[1])
	}
	if emf[0]["Code"] != "ok" || emf[0]["TokenCacheMisses"] != 1.0 || emf[0]["Function"] != "api" || emf[0]["UpstreamLatency"] == nil {
		t.Errorf("first EMF %v", emf[0])
	}
	if emf[1]["Code"] != "invalid_image" || emf[1]["TokenCacheMisses"] != 0.0 {
		t.Errorf("second EMF %v", emf[1])
	}
}

func TestClientKeys(t *testing.T) {
	const keysSecret = "github.com/recaptcha-recognizer/recognizer/client-keys"
	const aliceKey = "alice-0f3b9c2d7e4a1f68"
	f := start(t)
	if _, err := f.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(keysSecret),
		SecretString: aws.String(`{"alice": "` + aliceKey + `", "bob": "bob-7d1e0c9a4b3f2e85"}`)}); err != nil {
		t.Fatal(err)
	}
	f = restart(t, f, "AUTH_MODE=keys", "CLIENT_KEYS_SECRET_ID="+keysSecret)
	body := map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}

	for name, header := range map[string]string{"none": "", "wrong key": "Bearer alice-0f3b9c2d7e4a1f6", "not bearer": aliceKey} {
		t.Run(name, func(t *testing.T) {
			ev := jsonEvent("/recognize", body)
			if header != "" {
				ev.Headers["authorization"] = header
			}
			resp := f.invoke(ev)
			wantError(t, resp, 401, "invalid_token")
			if resp.Headers["www-authenticate"] != "Bearer" {
				t.Errorf("www-authenticate %q", resp.Headers["www-authenticate"])
			}
		})
	}
	if f.emu.Requests() != 0 {
		t.Fatal("an unauthenticated request reached the upstream")
	}
	// The upstream's own request with our key works, and the emulator accepting only our token
	// proves the caller's key was not forwarded.
	ev := withHeader(jsonEvent("/captcha/recognition/recaptcha2", body), "authorization", "Bearer "+aliceKey)
	wantSolved(t, f.invoke(ev), std3x3)
	if strings.Contains(f.proc.Output(), aliceKey) {
		t.Fatal("a client key appears in the function's output")
	}
	if !strings.Contains(f.waitOutput(func(o string) bool { return strings.Contains(o, `"caller":"alice"`) }), `"caller":"alice"`) {
		t.Fatal("the log does not name the caller")
	}
}

func TestIAMMode(t *testing.T) {
	f := start(t, "AUTH_MODE=iam")
	body := map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"}
	wantError(t, f.invoke(jsonEvent("/recognize", body)), 401, "invalid_token")
	ev := jsonEvent("/recognize", body)
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/ci"},
	}
	wantSolved(t, f.invoke(ev), std3x3)
}

// A deployed function never runs open: without an explicit, valid AUTH_MODE it refuses everyone.
func TestAuthFailsClosed(t *testing.T) {
	for _, mode := range []string{"AUTH_MODE=", "AUTH_MODE=none", "AUTH_MODE=keys"} { // keys without a secret
		t.Run(mode, func(t *testing.T) {
			f := start(t, mode)
			ev := jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
			wantError(t, f.invoke(ev), 500, "configuration_error")
			if !strings.Contains(f.waitOutput(func(o string) bool { return strings.Contains(o, "AUTH_MODE") }), "AUTH_MODE") {
				t.Fatalf("the log does not say what is wrong:\n%s", f.proc.Output())
			}
		})
	}
}

// A missing region is a configuration error that names the setting, not "S3 is unavailable".
func TestMissingRegionIsNamed(t *testing.T) {
	f := start(t, "AWS_REGION=", "AWS_DEFAULT_REGION=")
	ev := jsonEvent("/recognize", map[string]any{"image": base64.StdEncoding.EncodeToString(std3x3.PNG()), "question": "cars"})
	wantError(t, f.invoke(ev), 500, "configuration_error")
	if !strings.Contains(f.waitOutput(func(o string) bool { return strings.Contains(o, "AWS_REGION") }), "AWS_REGION") {
		t.Fatalf("the log does not name AWS_REGION:\n%s", f.proc.Output())
	}
}
